/* The bookkeeping around a neural-net training step, batched over trial slots (one pointer per
 * slot): gathering each slot's mini-batch rows from the shared data, the divergence check that
 * takes a slot whose loss is not finite out of the epoch, and the per-slot sums behind the
 * validation metrics. Small, but on a GPU they keep a whole epoch on the device (one host sync
 * per epoch), so each has a reference here and a CUDA twin. Ownership: callers own every buffer.
 */
#ifndef BT_KERNEL_NN_TRAIN_H
#define BT_KERNEL_NN_TRAIN_H

#include <stdint.h>

/* dst[s][r * width + j] = src[idx[s][first + r] * width + j] for r < rows, j < width. */
void bt_nn_gather_f32_ref(int n_slots, int rows, int width, const float *src,
                          const int32_t *const *idx, int64_t first, float *const *dst);
void bt_nn_gather_i32_ref(int n_slots, int rows, int width, const int32_t *src,
                          const int32_t *const *idx, int64_t first, int32_t *const *dst);

/* After a batch of `rows` rows: for each slot with alive[s] != 0, a loss that is not finite sets
 * alive[s] = 0; otherwise t[s] += 1 (the optimizer step about to be taken) and
 * loss_sum[s] += loss[s] * rows. */
void bt_nn_loss_check_ref(int n_slots, int rows, const double *loss, int32_t *alive, int64_t *t,
                          double *loss_sum);

/* Classification metrics of `rows` rows whose labels (shared by every slot) are labels[0..rows):
 * acc[2 s] += rows whose largest logit (first on ties) is the label; acc[2 s + 1] += -log p_y with
 * p = softmax(logits) in float (bt_nn_softmax_ref) and p_y below 1e-15 taken as 1e-15. */
void bt_nn_class_metrics_ref(int n_slots, int rows, int k, const float *const *logits,
                             const int32_t *labels, double *acc);
/* Per-class counts behind precision, recall and F1 (kernels/class_scores.h), onto counts (3 k per
 * slot): a row labelled y whose largest logit (first on ties) is class p adds 1 to
 * counts[3 k s + p] (predicted), to counts[3 k s + k + y] (labelled) and, when p == y, to
 * counts[3 k s + 2 k + y] (correct). */
void bt_nn_class_counts_ref(int n_slots, int rows, int k, const float *const *logits,
                            const int32_t *labels, double *counts);
/* Regression metrics in the label's units, pred and target standardized (x y_std + y_mean):
 * acc[2 s] += squared errors, acc[2 s + 1] += absolute errors. */
void bt_nn_reg_metrics_ref(int n_slots, int rows, const float *const *pred, const float *target,
                           double y_mean, double y_std, double *acc);

#if BT_HAVE_CUDA
/* ---- CUDA twins (kernels/cuda/nn_train.cu): device pointers and device arrays of device
 * pointers; stream is a cudaStream_t. Gathers, the loss check and the class counts are exact; the
 * metric sums are doubles in a fixed order (one block per slot), with float softmax terms as the
 * reference. -- */
#include "base/status.h"
#ifdef __cplusplus
extern "C" {
#endif

bt_status bt_nn_gather_f32_cuda(int n_slots, int rows, int width, const float *src,
                                const int32_t *const *idx, int64_t first, float *const *dst,
                                void *stream);
bt_status bt_nn_gather_i32_cuda(int n_slots, int rows, int width, const int32_t *src,
                                const int32_t *const *idx, int64_t first, int32_t *const *dst,
                                void *stream);
bt_status bt_nn_loss_check_cuda(int n_slots, int rows, const double *loss, int32_t *alive,
                                int64_t *t, double *loss_sum, void *stream);
bt_status bt_nn_class_metrics_cuda(int n_slots, int rows, int k, const float *const *logits,
                                   const int32_t *labels, double *acc, void *stream);
bt_status bt_nn_class_counts_cuda(int n_slots, int rows, int k, const float *const *logits,
                                  const int32_t *labels, double *counts, void *stream);
bt_status bt_nn_reg_metrics_cuda(int n_slots, int rows, const float *const *pred,
                                 const float *target, double y_mean, double y_std, double *acc,
                                 void *stream);

#ifdef __cplusplus
}
#endif
#endif /* BT_HAVE_CUDA */

#endif
