/* Objectives of gradient boosting and the fixed-point quantization of their gradients.
 * Gradients are computed in float exactly as XGBoost 1.7 does (regression_loss.h,
 * multiclass_obj.cu); quantization maps them to int64 with a power-of-two unit chosen from the
 * trial's own largest magnitude and row count, so that no sum of n values can overflow and the
 * unit never depends on other trials. Ownership: callers own every buffer. */
#ifndef BT_KERNEL_GBDT_OBJECTIVE_H
#define BT_KERNEL_GBDT_OBJECTIVE_H

#include <stdint.h>

#include "gbdt_hist.h"

typedef enum bt_gbdt_objective {
    BT_GBDT_OBJ_SQUARED = 0, /* reg:squarederror */
    BT_GBDT_OBJ_LOGISTIC,    /* binary:logistic */
    BT_GBDT_OBJ_SOFTPROB,    /* multi:softprob */
} bt_gbdt_objective;

/* Gradients of rows [0, n): margin is row-major n x k_outputs (k_outputs = 1 except softprob),
 * g and h are class-major k_outputs x n. */
void bt_gbdt_grad_ref(bt_gbdt_objective obj, const float *margin, const float *y, int64_t n,
                      int32_t k_outputs, float *g, float *h);

/* Sigmoid as XGBoost computes it in float. */
static inline float bt_gbdt_sigmoid(float x) {
    return 1.0f / (1.0f + __builtin_expf(-x));
}

/* Exponent e such that values up to max_abs scaled by 2^e sum over n rows below 2^62. */
int32_t bt_gbdt_quant_exponent(double max_abs, int64_t n);

/* out[i] = (round(g[i] * 2^eg), round(h[i] * 2^eh)) for i in [0, n). */
void bt_gbdt_quantize_ref(const float *g, const float *h, int64_t n, int32_t eg, int32_t eh,
                          bt_gbdt_gh *out);

#endif
