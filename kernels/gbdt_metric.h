/* Evaluation metrics of boosted models on float margins, with XGBoost 1.7's definitions: the
 * objective's transform in float (sigmoid, softmax), per-row terms in float, sums in double,
 * logloss clipped at 1e-16, error at threshold 0.5, AUC with tied scores sharing credit (the
 * trapezoid rule, as sklearn's roc_auc_score). Ownership: callers own every buffer. */
#ifndef BT_KERNEL_GBDT_METRIC_H
#define BT_KERNEL_GBDT_METRIC_H

#include <stddef.h>
#include <stdint.h>

#include "gbdt_objective.h"

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
    BT_GBDT_METRIC_COUNT
} bt_gbdt_metric;

/* Bytes of scratch bt_gbdt_metric_ref needs for n rows and k_outputs margins per row. */
size_t bt_gbdt_metric_scratch_bytes(int64_t n, int32_t k_outputs);

/* Metric over rows [0, n) of margins (row-major n x k_outputs) against labels y. Returns NaN when
 * the metric is undefined (no rows; AUC with a single class present). */
double bt_gbdt_metric_ref(bt_gbdt_metric metric, bt_gbdt_objective obj, const float *margin,
                          const float *y, int64_t n, int32_t k_outputs, void *scratch);

#endif
