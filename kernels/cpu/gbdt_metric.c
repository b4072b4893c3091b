/* C reference of the evaluation metrics (see kernels/gbdt_metric.h). */
#include "kernels/gbdt_metric.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/class_scores.h"

/* Scratch: n AUC items (two floats each), then k softmax probabilities, then (at an 8-byte
 * boundary) the 3 k class counts of the F1 family. */
static size_t probs_offset(int64_t n) {
    return (size_t)(n > 0 ? n : 1) * (sizeof(float) + sizeof(float));
}

static size_t counts_offset(int64_t n, int32_t k) {
    size_t end = probs_offset(n) + (size_t)(k > 0 ? k : 1) * sizeof(float);
    return (end + sizeof(double) - 1) / sizeof(double) * sizeof(double);
}

size_t bt_gbdt_metric_scratch_bytes(int64_t n, int32_t k_outputs) {
    int32_t k = k_outputs > 2 ? k_outputs : 2;
    return counts_offset(n, k_outputs) + 3 * (size_t)k * sizeof(double);
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

/* Precision, recall or F1 of the predicted class: the error's prediction (probability above 0.5;
 * the most probable class, first on ties) against the labels, counted per class. */
static double class_score(bt_gbdt_metric metric, bt_gbdt_objective obj, const float *margin,
                          const float *y, int64_t n, int32_t k_outputs, void *scratch) {
    const int softmax_k = obj == BT_GBDT_OBJ_SOFTPROB;
    const int32_t k = softmax_k ? k_outputs : 2;
    if (k < 2) return NAN;
    float *p = (float *)((char *)scratch + probs_offset(n));
    double *counts = (double *)((char *)scratch + counts_offset(n, k_outputs));
    memset(counts, 0, 3 * (size_t)k * sizeof *counts);
    for (int64_t i = 0; i < n; i++) {
        if (!softmax_k) { /* a label y in [0, 1] is y of class 1 and 1 - y of class 0 */
            int32_t pred = bt_gbdt_sigmoid(margin[i]) > 0.5f;
            double w1 = y[i], w[2] = {1.0 - w1, w1};
            counts[pred] += 1.0;
            counts[2] += w[0];
            counts[3] += w[1];
            counts[4 + pred] += w[pred];
            continue;
        }
        softmax(margin + i * k_outputs, k_outputs, p);
        int32_t best = 0, label = (int32_t)y[i];
        for (int32_t j = 1; j < k_outputs; j++)
            if (p[j] > p[best]) best = j;
        counts[best] += 1.0;
        counts[k + label] += 1.0;
        counts[2 * k + label] += best == label;
    }
    bt_class_score which = metric == BT_GBDT_METRIC_PRECISION ? BT_CLASS_PRECISION
                           : metric == BT_GBDT_METRIC_RECALL  ? BT_CLASS_RECALL
                                                              : BT_CLASS_F1;
    return bt_class_score_of(which, counts, k);
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
    case BT_GBDT_METRIC_F1:
    case BT_GBDT_METRIC_PRECISION:
    case BT_GBDT_METRIC_RECALL:
        return class_score(metric, obj, margin, y, n, k_outputs, scratch);
    case BT_GBDT_METRIC_ERROR:
    case BT_GBDT_METRIC_MERROR:
    case BT_GBDT_METRIC_ACCURACY:
    case BT_GBDT_METRIC_MLOGLOSS:
        if (obj == BT_GBDT_OBJ_SOFTPROB) {
            float *p = (float *)((char *)scratch + probs_offset(n));
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
