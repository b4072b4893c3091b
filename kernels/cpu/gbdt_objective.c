/* C reference of the objectives' gradients and of their fixed-point quantization (see
 * kernels/gbdt_objective.h). Float arithmetic on purpose: it is what XGBoost computes. */
#include "kernels/gbdt_objective.h"

#include <math.h>

void bt_gbdt_grad_ref(bt_gbdt_objective obj, const float *margin, const float *y, int64_t n,
                      int32_t k_outputs, float scale_pos_weight, float *g, float *h) {
    if (obj == BT_GBDT_OBJ_SQUARED) {
        for (int64_t i = 0; i < n; i++) {
            const float w = y[i] == 1.0f ? scale_pos_weight : 1.0f;
            g[i] = (margin[i] - y[i]) * w;
            h[i] = 1.0f * w;
        }
    } else if (obj == BT_GBDT_OBJ_LOGISTIC) {
        for (int64_t i = 0; i < n; i++) {
            const float w = y[i] == 1.0f ? scale_pos_weight : 1.0f;
            float p = bt_gbdt_sigmoid(margin[i]);
            g[i] = (p - y[i]) * w;
            h[i] = fmaxf(p * (1.0f - p), 1e-16f) * w;
        }
    } else {
        int32_t K = k_outputs;
        for (int64_t i = 0; i < n; i++) {
            const float *m = margin + i * K;
            float wmax = m[0];
            for (int32_t k = 1; k < K; k++) wmax = fmaxf(m[k], wmax);
            double wsum = 0.0;
            for (int32_t k = 0; k < K; k++) {
                float ex = expf(m[k] - wmax);
                g[(int64_t)k * n + i] = ex;
                wsum += ex;
            }
            int32_t label = (int32_t)y[i];
            for (int32_t k = 0; k < K; k++) {
                float q = g[(int64_t)k * n + i] / (float)wsum;
                float hk = fmaxf(2.0f * q * (1.0f - q), 1e-16f);
                if (label == k) q = q - 1.0f;
                g[(int64_t)k * n + i] = q;
                h[(int64_t)k * n + i] = hk;
            }
        }
    }
}

int32_t bt_gbdt_quant_exponent(double max_abs, int64_t n) {
    if (!(max_abs > 0) || !isfinite(max_abs)) return 0;
    int e;
    frexp(max_abs * (double)(n > 0 ? n : 1), &e); /* max_abs * n = m * 2^e, m in [0.5, 1) */
    int32_t x = 61 - e;                           /* one bit of headroom for rounding */
    if (x > 1000) x = 1000;
    if (x < -1000) x = -1000;
    return x;
}

void bt_gbdt_quantize_ref(const float *g, const float *h, int64_t n, int32_t eg, int32_t eh,
                          bt_gbdt_gh *out) {
    double sg = ldexp(1.0, eg), sh = ldexp(1.0, eh);
    for (int64_t i = 0; i < n; i++) {
        out[i].g = llrint((double)g[i] * sg);
        out[i].h = llrint((double)h[i] * sh);
    }
}
