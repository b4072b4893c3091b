/* The residual connection of a resnet block, batched over trial slots (one pointer per slot):
 * y = x + shortcut, and its backward pass, which hands the same gradient to both branches
 * (accumulated into the shortcut's gradient, which may already hold the main path's share).
 * Ownership: callers own every buffer. */
#ifndef BT_KERNEL_NN_RESIDUAL_H
#define BT_KERNEL_NN_RESIDUAL_H

#include <stdint.h>

/* y[s] = x[s] + shortcut[s] over n elements (y may alias either input). */
void bt_nn_residual_fwd_ref(int n_slots, int64_t n, const float *const *x,
                            const float *const *shortcut, float *const *y);
/* dx[s] = dy[s] (skipped when dx is NULL); dshortcut[s] += dy[s]. */
void bt_nn_residual_bwd_ref(int n_slots, int64_t n, const float *const *dy, float *const *dx,
                            float *const *dshortcut);

#if BT_HAVE_CUDA
/* ---- CUDA twins (kernels/cuda/nn_residual.cu): device arrays of device pointers; stream is a
 * cudaStream_t. One add per element: bit-identical to the reference. ------------------------- */
#include "base/status.h"
#ifdef __cplusplus
extern "C" {
#endif

bt_status bt_nn_residual_fwd_cuda(int n_slots, int64_t n, const float *const *x,
                                  const float *const *shortcut, float *const *y, void *stream);
bt_status bt_nn_residual_bwd_cuda(int n_slots, int64_t n, const float *const *dy, float *const *dx,
                                  float *const *dshortcut, void *stream);

#ifdef __cplusplus
}
#endif
#endif /* BT_HAVE_CUDA */

#endif
