/* Evaluation metrics of boosted models on float margins, with XGBoost 1.7's definitions: the
 * objective's transform in float (sigmoid, softmax), per-row terms in float, sums in double,
 * logloss clipped at 1e-16, error at threshold 0.5, AUC with tied scores sharing credit (the
 * trapezoid rule, as sklearn's roc_auc_score); and scikit-learn's precision, recall and F1 of the
 * predicted class (the error's: probability above 0.5, or the most probable class, first on ties;
 * kernels/class_scores.h). Ownership: callers own every buffer. */
#ifndef BT_KERNEL_GBDT_METRIC_H
#define BT_KERNEL_GBDT_METRIC_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/gbdt_objective.h"

typedef enum bt_gbdt_metric {
    BT_GBDT_METRIC_RMSE = 0,
    BT_GBDT_METRIC_MSE,
    BT_GBDT_METRIC_MAE,
    BT_GBDT_METRIC_LOGLOSS,
    BT_GBDT_METRIC_ERROR,
    BT_GBDT_METRIC_AUC,
    BT_GBDT_METRIC_MLOGLOSS,
    BT_GBDT_METRIC_MERROR,
    BT_GBDT_METRIC_ACCURACY,
    /* scikit-learn's scores of the predicted class (kernels/class_scores.h) */
    BT_GBDT_METRIC_F1,
    BT_GBDT_METRIC_PRECISION,
    BT_GBDT_METRIC_RECALL,
    BT_GBDT_METRIC_COUNT
} bt_gbdt_metric;

/* Bytes of scratch bt_gbdt_metric_ref needs for n rows and k_outputs margins per row. */
size_t bt_gbdt_metric_scratch_bytes(int64_t n, int32_t k_outputs);

/* Metric over rows [0, n) of margins (row-major n x k_outputs) against labels y. Returns NaN when
 * the metric is undefined (no rows; AUC with a single class present). */
double bt_gbdt_metric_ref(bt_gbdt_metric metric, bt_gbdt_objective obj, const float *margin,
                          const float *y, int64_t n, int32_t k_outputs, void *scratch);

#if BT_HAVE_CUDA
/* ---- CUDA twin (kernels/cuda/gbdt_metric.cu). Device pointers; stream is a cudaStream_t. ---- */
#include "base/status.h"
#ifdef __cplusplus
extern "C" {
#endif

/* One trial's margins margin[margin_offset + i * k_outputs + k] against the shared y[0..n). */
typedef struct bt_gbdt_metric_item {
    int64_t margin_offset;
    int32_t objective, k_outputs;
} bt_gbdt_metric_item;

/* out[i] = bt_gbdt_metric_ref(metric, ...) of item i, per-row terms as the reference computes
 * them, the double sum in a fixed (deterministic) tree order rather than row order. AUC is
 * refused here (BT_STATUS_BAD_INPUT): it needs a sort, see bt_gbdt_auc_cuda; so are F1,
 * precision and recall, which the packs compute on the host from the margins like AUC. */
bt_status bt_gbdt_metric_cuda(bt_gbdt_metric metric, const float *margin, const float *y, int64_t n,
                              const bt_gbdt_metric_item *items, int32_t n_items, double *out,
                              void *stream);

/* Scratch bytes bt_gbdt_auc_cuda needs (0 when the CUDA runtime cannot size its sort). */
size_t bt_gbdt_auc_cuda_scratch_bytes(int64_t n, int32_t n_items);

/* out[i] = the AUC of item i as bt_gbdt_metric_ref computes it (margin[margin_offset + r],
 * r < n, against y): scores sorted per trial on the device (cub segmented sort), then one thread
 * per trial sums the tie-sharing trapezoids in the reference's order and arithmetic.
 * Synchronous above a few hundred items: cub's segmented sort (CCCL 13) then copies segment
 * sizes to the host and waits on the stream, so this call must not be captured in a graph (the
 * pack does not use it; AUC is computed on the host from the copied margins). */
bt_status bt_gbdt_auc_cuda(const float *margin, const float *y, int64_t n,
                           const bt_gbdt_metric_item *items, int32_t n_items, double *out,
                           void *scratch, size_t scratch_bytes, void *stream);

#ifdef __cplusplus
}
#endif
#endif /* BT_HAVE_CUDA */

#endif
