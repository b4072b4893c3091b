/* Inverted dropout, batched over trial slots: an element is kept with probability 1 - p and then
 * scaled by 1 / (1 - p). Whether element e of layer `layer` is kept at (epoch, step) is a pure
 * function of the slot's trial key (bt_nn_dropout_keep, shared with CUDA), so a trial draws the
 * same masks in any pack, on any device. Ownership: callers own every buffer. */
#ifndef BT_KERNEL_NN_DROPOUT_H
#define BT_KERNEL_NN_DROPOUT_H

#include <stdint.h>

#include "kernels/philox.h"

/* Philox stream tag of dropout draws, so they never collide with init or shuffle draws. */
#define BT_NN_STREAM_DROPOUT 0x44524f50ull /* "DROP" */

/* 1 if element e survives; p in [0, 1). counter: (e, tag | layer | step | epoch). */
BT_HD int bt_nn_dropout_keep(uint64_t key, float p, uint32_t epoch, uint32_t step, uint32_t layer,
                             uint64_t e) {
    uint64_t hi = (BT_NN_STREAM_DROPOUT << 32) ^ ((uint64_t)epoch << 40) ^ ((uint64_t)step << 8) ^
                  (uint64_t)(layer & 0xffu);
    uint32_t u = bt_philox_u32(key, e, hi);
    uint32_t threshold = (uint32_t)((double)p * 4294967296.0);
    return u >= threshold;
}

/* y[s] = x[s] * mask[s] over n elements per slot (slot s at its own epoch[s]), mask[s] being 0 or 1
 * / (1 - p[s]) (all 1 when p[s] == 0). y may alias x. */
void bt_nn_dropout_fwd_ref(int n_slots, int64_t n, const uint64_t *key, const float *p,
                           const uint32_t *epoch, uint32_t step, uint32_t layer,
                           const float *const *x, float *const *y, float *const *mask);
/* dx[s] = dy[s] * mask[s] (dx may alias dy). */
void bt_nn_dropout_bwd_ref(int n_slots, int64_t n, const float *const *mask, const float *const *dy,
                           float *const *dx);

#if BT_HAVE_CUDA
/* ---- CUDA twins (kernels/cuda/nn_dropout.cu). Device pointers (key, p, epoch are device arrays
 * of n_slots entries; x, y, mask, dy, dx device arrays of device pointers); stream is a
 * cudaStream_t. Masks come from bt_nn_dropout_keep: bit-identical to the reference. ---------- */
#include "base/status.h"
#ifdef __cplusplus
extern "C" {
#endif

bt_status bt_nn_dropout_fwd_cuda(int n_slots, int64_t n, const uint64_t *key, const float *p,
                                 const uint32_t *epoch, uint32_t step, uint32_t layer,
                                 const float *const *x, float *const *y, float *const *mask,
                                 void *stream);
bt_status bt_nn_dropout_bwd_cuda(int n_slots, int64_t n, const float *const *mask,
                                 const float *const *dy, float *const *dx, void *stream);

#ifdef __cplusplus
}
#endif
#endif /* BT_HAVE_CUDA */

#endif
