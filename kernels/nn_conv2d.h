/* 2-D convolution (any square kernel, stride, zero padding), forward and backward, batched over
 * trial slots with one pointer per slot per buffer: the building block of the resnet family.
 * Layout NHWC (rows x height x width x channels) so that batch norm is the row-wise kernel of
 * nn_batchnorm.h applied to (rows * height * width) x channels, and weights are
 * [k][k][c_in][c_out] (kh, kw, input channel, output channel) so every output pixel is a sum of
 * axpys over output channels, like the linear layer. Ownership: callers own every buffer. */
#ifndef BT_KERNEL_NN_CONV2D_H
#define BT_KERNEL_NN_CONV2D_H

#include <stddef.h>

typedef struct bt_nn_conv2d_shape {
    int rows;        /* images per slot */
    int h, w;        /* input height, width */
    int c_in, c_out; /* channels */
    int k;           /* kernel size (1, 3, ...) */
    int stride;      /* >= 1 */
    int pad;         /* zero padding on each side */
} bt_nn_conv2d_shape;

/* Output height and width: (h + 2 pad - k) / stride + 1. */
int bt_nn_conv2d_out_h(const bt_nn_conv2d_shape *s);
int bt_nn_conv2d_out_w(const bt_nn_conv2d_shape *s);

/* Y[s] = conv(X[s], W[s]) + b[s] (b may be NULL: no bias). Accumulation per output element: bias,
 * then kh, kw, c_in in order. */
void bt_nn_conv2d_fwd_ref(int n_slots, const bt_nn_conv2d_shape *shape, const float *const *X,
                          const float *const *W, const float *const *b, float *const *Y);

/* dW[s], db[s] (db may be NULL) overwritten with sums over images and output pixels in order;
 * dX[s] (skipped when dX is NULL) overwritten. scratch: k * k * c_in * c_out floats. */
void bt_nn_conv2d_bwd_ref(int n_slots, const bt_nn_conv2d_shape *shape, const float *const *X,
                          const float *const *W, const float *const *dY, float *const *dX,
                          float *const *dW, float *const *db, float *scratch);

/* The same convolution, fast on a CPU: OpenMP over (slot, image, output row) for the forward pass
 * and dX, over (slot, tap, block of 8 input channels) for dW, with register-tiled vector inner
 * loops over NHWC's contiguous channels. Deterministic for any thread count (every output element
 * is summed by one thread in a fixed order). Y and dW (and db) are bit-identical to the _ref
 * functions up to the sign of zero (same summation order); dX sums the same terms in another order.
 * scratch: n_slots * k * k * c_in * c_out floats. threads: OpenMP threads (>= 1). */
void bt_nn_conv2d_fwd_cpu(int n_slots, const bt_nn_conv2d_shape *shape, const float *const *X,
                          const float *const *W, const float *const *b, float *const *Y,
                          int threads);
void bt_nn_conv2d_bwd_cpu(int n_slots, const bt_nn_conv2d_shape *shape, const float *const *X,
                          const float *const *W, const float *const *dY, float *const *dX,
                          float *const *dW, float *const *db, float *scratch, int threads);

#if BT_HAVE_CUDA
/* ---- CUDA twins (kernels/cuda/nn_conv2d.cu) ----------------------------------------------------
 * Same shapes; X, W, b, Y, dY, dX, dW, db are device arrays of device pointers (b, db, dX may be
 * NULL as above); work goes on the blas handle's stream in its math mode (TF32 by default).
 * im2col + one cublasGemmBatchedEx per group of slots: forward Y = col(X) W; backward
 * dW = col(X)^T dY, dcol = dY W^T gathered back into dX (col2im as a gather, no atomics). A 1x1,
 * stride-1, unpadded convolution skips im2col (the activation is its own column matrix).
 * scratch: device memory of scratch_bytes, 16-byte aligned (BT_NN_GEMM_ALIGN; cudaMalloc's is);
 * at least bt_nn_conv2d_cuda_scratch_bytes(shape, 1) (0 for the 1x1 case); more lets more slots
 * share one GEMM launch. */
#include "kernels/nn_blas.h"
#ifdef __cplusplus
extern "C" {
#endif

/* Scratch for slots_at_once slots per GEMM group (bytes). */
size_t bt_nn_conv2d_cuda_scratch_bytes(const bt_nn_conv2d_shape *shape, int slots_at_once);

bt_status bt_nn_conv2d_fwd_cuda(bt_nn_blas *blas, int n_slots, const bt_nn_conv2d_shape *shape,
                                const float *const *X, const float *const *W, const float *const *b,
                                float *const *Y, void *scratch, size_t scratch_bytes);
bt_status bt_nn_conv2d_bwd_cuda(bt_nn_blas *blas, int n_slots, const bt_nn_conv2d_shape *shape,
                                const float *const *X, const float *const *W,
                                const float *const *dY, float *const *dX, float *const *dW,
                                float *const *db, void *scratch, size_t scratch_bytes);

#ifdef __cplusplus
}
#endif
#endif /* BT_HAVE_CUDA */

#endif
