/* Softmax cross-entropy with label smoothing, batched over trial slots (one pointer per slot):
 * the classification loss of the neural-net families and its gradient with respect to the logits.
 * The target of a row with label y is (1 - eps) onehot(y) + eps / k, eps = smoothing[s].
 * Ownership: callers own every buffer. */
#ifndef BT_KERNEL_NN_SOFTMAX_CE_H
#define BT_KERNEL_NN_SOFTMAX_CE_H

#include <stdint.h>

/* loss[s] = mean over rows of -sum_j target_j log softmax(logits)_j (double sums, float per-row
 * terms); when dlogits is non-NULL, dlogits[s] = (softmax - target) / rows. Labels must lie in
 * [0, k). */
void bt_nn_softmax_ce_ref(int n_slots, int rows, int k, const float *const *logits,
                          const int32_t *const *labels, const float *smoothing, double *loss,
                          float *const *dlogits);

/* Row-wise softmax of one logits matrix (rows x k) into probs, max-subtracted. */
void bt_nn_softmax_ref(int rows, int k, const float *logits, float *probs);

#if BT_HAVE_CUDA
/* ---- CUDA twin (kernels/cuda/nn_softmax_ce.cu): logits, labels, dlogits are device arrays of
 * device pointers; smoothing (may be NULL) and loss are device arrays of n_slots entries; stream
 * is a cudaStream_t. One block per slot, one warp per row: per-row sums over classes in another
 * order than the reference (float rounding), row terms summed in double in a fixed order. ---- */
#include "base/status.h"
#ifdef __cplusplus
extern "C" {
#endif

bt_status bt_nn_softmax_ce_cuda(int n_slots, int rows, int k, const float *const *logits,
                                const int32_t *const *labels, const float *smoothing, double *loss,
                                float *const *dlogits, void *stream);

#ifdef __cplusplus
}
#endif
#endif /* BT_HAVE_CUDA */

#endif
