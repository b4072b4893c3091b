/* Global average pooling over the spatial positions of an NHWC activation, batched over trial
 * slots (one pointer per slot): the step from a resnet's last block to its classifier.
 * Ownership: callers own every buffer. */
#ifndef BT_KERNEL_NN_POOL_H
#define BT_KERNEL_NN_POOL_H

/* y[s] (rows x c) = mean over the hw positions of x[s] (rows x hw x c), summed in position order.
 */
void bt_nn_gap_fwd_ref(int n_slots, int rows, int hw, int c, const float *const *x,
                       float *const *y);
/* dx[s] = dy[s] / hw broadcast over the positions. */
void bt_nn_gap_bwd_ref(int n_slots, int rows, int hw, int c, const float *const *dy,
                       float *const *dx);

#if BT_HAVE_CUDA
/* ---- CUDA twins (kernels/cuda/nn_pool.cu): device arrays of device pointers; stream is a
 * cudaStream_t. One thread per output sums the positions in order: bit-identical. ----------- */
#include "base/status.h"
#ifdef __cplusplus
extern "C" {
#endif

bt_status bt_nn_gap_fwd_cuda(int n_slots, int rows, int hw, int c, const float *const *x,
                             float *const *y, void *stream);
bt_status bt_nn_gap_bwd_cuda(int n_slots, int rows, int hw, int c, const float *const *dy,
                             float *const *dx, void *stream);

#ifdef __cplusplus
}
#endif
#endif /* BT_HAVE_CUDA */

#endif
