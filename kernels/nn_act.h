/* Elementwise activations of the neural-net families (relu, tanh, gelu with the exact erf form as
 * PyTorch's default), forward and backward. The activation is a shape parameter, so one call
 * covers the contiguous activations of every slot of a pack. Ownership: callers own buffers. */
#ifndef BT_KERNEL_NN_ACT_H
#define BT_KERNEL_NN_ACT_H

#include <stdint.h>

typedef enum bt_nn_act { BT_NN_ACT_RELU = 0, BT_NN_ACT_TANH, BT_NN_ACT_GELU } bt_nn_act;

/* The activation named `name` ("relu", "tanh", "gelu"), or -1. */
int bt_nn_act_from_name(const char *name);

/* y = act(x) over n elements (y may alias x). */
void bt_nn_act_fwd_ref(bt_nn_act act, int64_t n, const float *x, float *y);
/* dx = act'(x) * dy, x being the forward pass's input (dx may alias dy). */
void bt_nn_act_bwd_ref(bt_nn_act act, int64_t n, const float *x, const float *dy, float *dx);

#if BT_HAVE_CUDA
/* ---- CUDA twins (kernels/cuda/nn_act.cu). Device pointers; stream is a cudaStream_t. ----------
 * Device tanhf/erff/expf are within 2 ulp of the host's; relu is exact. */
#include "base/status.h"
#ifdef __cplusplus
extern "C" {
#endif

bt_status bt_nn_act_fwd_cuda(bt_nn_act act, int64_t n, const float *x, float *y, void *stream);
bt_status bt_nn_act_bwd_cuda(bt_nn_act act, int64_t n, const float *x, const float *dy, float *dx,
                             void *stream);
/* The same over n elements of each of n_slots slots (device arrays of device pointers), one
 * launch: y[s] = act(x[s]); dx[s] = act'(x[s]) dy[s]. Aliasing as above, per slot. */
bt_status bt_nn_act_fwd_slots_cuda(bt_nn_act act, int n_slots, int64_t n, const float *const *x,
                                   float *const *y, void *stream);
bt_status bt_nn_act_bwd_slots_cuda(bt_nn_act act, int n_slots, int64_t n, const float *const *x,
                                   const float *const *dy, float *const *dx, void *stream);

#ifdef __cplusplus
}
#endif
#endif /* BT_HAVE_CUDA */

#endif
