/* Fully connected layer, forward and backward, batched over trial slots the way cuBLAS's batched
 * GEMM is: every argument is an array of one pointer per slot, so the slots of a pack may live
 * anywhere (their parameters in the pack's per-slot blocks, activations in scratch).
 * Shapes per slot: X rows x in, W in x out (input-major, so a row of the output is a sum of axpys
 * and each output element is accumulated over k = 0..in-1 in order), b out, Y rows x out.
 * Ownership: callers own every buffer. */
#ifndef BT_KERNEL_NN_LINEAR_H
#define BT_KERNEL_NN_LINEAR_H

/* Y[s] = X[s] W[s] + b[s] for s in [0, n_slots). */
void bt_nn_linear_fwd_ref(int n_slots, int rows, int in, int out, const float *const *X,
                          const float *const *W, const float *const *b, float *const *Y);

/* Gradients of a linear layer given dY: dW[s] = X[s]^T dY[s], db[s] = column sums of dY[s] (both
 * overwritten, summed over rows in order), dX[s] = dY[s] W[s]^T (skipped when dX is NULL).
 * scratch: in * out floats (a transposed copy of W, so dX is also a sum of axpys). */
void bt_nn_linear_bwd_ref(int n_slots, int rows, int in, int out, const float *const *X,
                          const float *const *W, const float *const *dY, float *const *dX,
                          float *const *dW, float *const *db, float *scratch);

#if BT_HAVE_CUDA
/* ---- CUDA twins (kernels/cuda/nn_linear.cu) -----------------------------------------------------
 * Same shapes and meaning; every pointer array is a device array of device pointers (one per
 * slot), work is enqueued on the blas handle's stream, nothing synchronizes. The GEMMs run as one
 * cublasGemmBatchedEx each, in the handle's math mode (kernels/nn_blas.h: TF32 by default). */
#include "kernels/nn_blas.h"
#ifdef __cplusplus
extern "C" {
#endif

/* b may be NULL (no bias). */
bt_status bt_nn_linear_fwd_cuda(bt_nn_blas *blas, int n_slots, int rows, int in, int out,
                                const float *const *X, const float *const *W, const float *const *b,
                                float *const *Y);
/* No scratch needed; db is summed over rows in row order in float (bit-identical to the
 * reference); dW and dX come from GEMMs. */
bt_status bt_nn_linear_bwd_cuda(bt_nn_blas *blas, int n_slots, int rows, int in, int out,
                                const float *const *X, const float *const *W,
                                const float *const *dY, float *const *dX, float *const *dW,
                                float *const *db);

#ifdef __cplusplus
}
#endif
#endif /* BT_HAVE_CUDA */

#endif
