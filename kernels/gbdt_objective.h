/* Objectives of gradient boosting and the fixed-point quantization of their gradients.
 * Gradients are computed in float exactly as XGBoost 1.7 does (regression_loss.h,
 * multiclass_obj.cu); quantization maps them to int64 with a power-of-two unit chosen from the
 * trial's own largest magnitude and row count, so that no sum of n values can overflow and the
 * unit never depends on other trials. Ownership: callers own every buffer. */
#ifndef BT_KERNEL_GBDT_OBJECTIVE_H
#define BT_KERNEL_GBDT_OBJECTIVE_H

#include <stdint.h>

#include "kernels/gbdt_hist.h"

typedef enum bt_gbdt_objective {
    BT_GBDT_OBJ_SQUARED = 0, /* reg:squarederror */
    BT_GBDT_OBJ_LOGISTIC,    /* binary:logistic */
    BT_GBDT_OBJ_SOFTPROB,    /* multi:softprob */
} bt_gbdt_objective;

/* Gradients of rows [0, n): margin is row-major n x k_outputs (k_outputs = 1 except softprob),
 * g and h are class-major k_outputs x n. scale_pos_weight multiplies the gradient and hessian of
 * rows labelled exactly 1 (XGBoost's RegLossObj: reg:squarederror and binary:logistic; softprob
 * ignores it); 1 leaves every value as it is. */
void bt_gbdt_grad_ref(bt_gbdt_objective obj, const float *margin, const float *y, int64_t n,
                      int32_t k_outputs, float scale_pos_weight, float *g, float *h);

/* Sigmoid as XGBoost computes it in float. */
static inline float bt_gbdt_sigmoid(float x) {
    return 1.0f / (1.0f + __builtin_expf(-x));
}

/* Exponent e such that values up to max_abs scaled by 2^e sum over n rows below 2^62. */
int32_t bt_gbdt_quant_exponent(double max_abs, int64_t n);

/* out[i] = (round(g[i] * 2^eg), round(h[i] * 2^eh)) for i in [0, n). */
void bt_gbdt_quantize_ref(const float *g, const float *h, int64_t n, int32_t eg, int32_t eh,
                          bt_gbdt_gh *out);

#if BT_HAVE_CUDA
/* ---- CUDA twins (kernels/cuda/gbdt_objective.cu). Device pointers; stream is a cudaStream_t. */
#include <stddef.h>

#include "base/status.h"
#ifdef __cplusplus
extern "C" {
#endif

/* One trial's gradients over the shared labels y[0..n): margin[margin_offset + i * k_outputs + k]
 * in, g/h[gh_offset + k * n + i] out; objective is a bt_gbdt_objective. */
typedef struct bt_gbdt_grad_item {
    int64_t margin_offset, gh_offset;
    int32_t objective, k_outputs;
    float scale_pos_weight; /* as bt_gbdt_grad_ref's (1: none) */
} bt_gbdt_grad_item;

/* bt_gbdt_grad_ref for every item. expf/logf are evaluated as (float)exp((double)x), which equals
 * glibc's expf for all but about 1e-4 of inputs (1 ulp apart there). */
bt_status bt_gbdt_grad_cuda(const float *margin, const float *y, int64_t n, float *g, float *h,
                            const bt_gbdt_grad_item *items, int32_t n_items, void *stream);

/* One tree's gradients to quantize: g/h[offset .. offset + n) -> out[offset ..]. */
typedef struct bt_gbdt_quant_item {
    int64_t offset, n;
} bt_gbdt_quant_item;

size_t bt_gbdt_quantize_cuda_scratch_bytes(int32_t n_items);

/* models/gbdt/pack.c's per-tree quantization: max |g|, max |h| over the item's rows, then
 * eg/eh[i] = bt_gbdt_quant_exponent(max, n) and bt_gbdt_quantize_ref. finite[i] = 0 (and out is
 * left untouched, eg = eh = 0) when a value is NaN or infinite -- the trial diverged. */
bt_status bt_gbdt_quantize_cuda(const float *g, const float *h, bt_gbdt_gh *out,
                                const bt_gbdt_quant_item *items, int32_t n_items, int32_t *eg,
                                int32_t *eh, int32_t *finite, void *scratch, void *stream);

#ifdef __cplusplus
}
#endif
#endif /* BT_HAVE_CUDA */

#endif
