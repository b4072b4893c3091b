/* Mean squared error, the regression loss of the neural-net families, batched over trial slots
 * (one pointer per slot). Ownership: callers own every buffer. */
#ifndef BT_KERNEL_NN_MSE_H
#define BT_KERNEL_NN_MSE_H

/* loss[s] = mean over rows of (pred - target)^2 (double sum); when dpred is non-NULL,
 * dpred[s] = 2 (pred - target) / rows. One output per row. */
void bt_nn_mse_ref(int n_slots, int rows, const float *const *pred, const float *const *target,
                   double *loss, float *const *dpred);

#if BT_HAVE_CUDA
/* ---- CUDA twin (kernels/cuda/nn_mse.cu): pred, target, dpred device arrays of device pointers,
 * loss a device array of n_slots doubles; stream is a cudaStream_t. dpred is bit-identical; the
 * loss is the double sum of the same float terms in a fixed tree order. ---------------------- */
#include "base/status.h"
#ifdef __cplusplus
extern "C" {
#endif

bt_status bt_nn_mse_cuda(int n_slots, int rows, const float *const *pred,
                         const float *const *target, double *loss, float *const *dpred,
                         void *stream);

#ifdef __cplusplus
}
#endif
#endif /* BT_HAVE_CUDA */

#endif
