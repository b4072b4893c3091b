/* C reference of the evaluation metrics (see kernels/gbdt_metric.h). */
#include "kernels/gbdt_metric.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t bt_gbdt_metric_scratch_bytes(int64_t n, int32_t k_outputs) {
    size_t a = (size_t)(n > 0 ? n : 1) * (sizeof(float) + sizeof(float));
    size_t b = (size_t)(k_outputs > 0 ? k_outputs : 1) * sizeof(float);
    return a + b;
}

static void softmax(const float *m, int32_t K, float *p) {
    float wmax = m[0];
    for (int32_t k = 1; k < K; k++) wmax = fmaxf(m[k], wmax);
    double wsum = 0.0;
    for (int32_t k = 0; k < K; k++) {
        p[k] = expf(m[k] - wmax);
        wsum += p[k];
    }
    for (int32_t k = 0; k < K; k++) p[k] /= (float)wsum;
}

typedef struct auc_item {
    float p, y;
} auc_item;

static int cmp_desc(const void *a, const void *b) {
    float x = ((const auc_item *)a)->p, z = ((const auc_item *)b)->p;
    return (x < z) - (x > z);
}

static double binary_auc(const float *margin, const float *y, int64_t n, void *scratch) {
    auc_item *it = scratch;
    for (int64_t i = 0; i < n; i++) {
        it[i].p = bt_gbdt_sigmoid(margin[i]);
        it[i].y = y[i];
    }
    qsort(it, (size_t)n, sizeof *it, cmp_desc);
    double tp = 0, fp = 0, area = 0;
    int64_t i = 0;
    while (i < n) {
        double tp0 = tp, fp0 = fp;
        int64_t j = i;
        while (j < n && it[j].p == it[i].p) {
            tp += it[j].y;
            fp += 1.0 - it[j].y;
            j++;
        }
        area += (fp - fp0) * (tp + tp0) * 0.5;
        i = j;
    }
    if (tp <= 0 || fp <= 0) return NAN;
    return area / (tp * fp);
}

double bt_gbdt_metric_ref(bt_gbdt_metric metric, bt_gbdt_objective obj, const float *margin,
                          const float *y, int64_t n, int32_t k_outputs, void *scratch) {
    if (n <= 0) return NAN;
    double sum = 0.0;
    const float eps = 1e-16f;
    switch (metric) {
    case BT_GBDT_METRIC_RMSE:
    case BT_GBDT_METRIC_MSE:
        for (int64_t i = 0; i < n; i++) {
            float d = y[i] - margin[i];
            sum += d * d;
        }
        sum /= (double)n;
        return metric == BT_GBDT_METRIC_RMSE ? sqrt(sum) : sum;
    case BT_GBDT_METRIC_MAE:
        for (int64_t i = 0; i < n; i++) sum += fabsf(y[i] - margin[i]);
        return sum / (double)n;
    case BT_GBDT_METRIC_LOGLOSS:
        for (int64_t i = 0; i < n; i++) {
            float py = bt_gbdt_sigmoid(margin[i]), yy = y[i], pneg = 1.0f - py;
            float t;
            if (py < eps)
                t = -yy * logf(eps) - (1.0f - yy) * logf(1.0f - eps);
            else if (pneg < eps)
                t = -yy * logf(1.0f - eps) - (1.0f - yy) * logf(eps);
            else
                t = -yy * logf(py) - (1.0f - yy) * logf(pneg);
            sum += t;
        }
        return sum / (double)n;
    case BT_GBDT_METRIC_AUC:
        return binary_auc(margin, y, n, scratch);
    case BT_GBDT_METRIC_ERROR:
    case BT_GBDT_METRIC_MERROR:
    case BT_GBDT_METRIC_ACCURACY:
    case BT_GBDT_METRIC_MLOGLOSS:
        if (obj == BT_GBDT_OBJ_SOFTPROB) {
            float *p = (float *)((char *)scratch + (size_t)n * 2 * sizeof(float));
            for (int64_t i = 0; i < n; i++) {
                softmax(margin + i * k_outputs, k_outputs, p);
                int32_t label = (int32_t)y[i];
                if (metric == BT_GBDT_METRIC_MLOGLOSS) {
                    float q = p[label];
                    sum += q > eps ? -logf(q) : -logf(eps);
                } else {
                    int32_t best = 0;
                    for (int32_t k = 1; k < k_outputs; k++)
                        if (p[k] > p[best]) best = k;
                    sum += best != label;
                }
            }
        } else {
            if (metric == BT_GBDT_METRIC_MLOGLOSS) return NAN;
            for (int64_t i = 0; i < n; i++) {
                float py = bt_gbdt_sigmoid(margin[i]);
                sum += py > 0.5f ? 1.0f - y[i] : y[i];
            }
        }
        sum /= (double)n;
        return metric == BT_GBDT_METRIC_ACCURACY ? 1.0 - sum : sum;
    default:
        return NAN;
    }
}
