/* Precision, recall and F1 from per-class counts (kernels/class_scores.h). */
#include "kernels/class_scores.h"

#include <math.h>

static double ratio(double num, double den) {
    return den > 0 ? num / den : 0.0;
}

static double score(bt_class_score which, const double *counts, int k, int j) {
    const double pred = counts[j], lab = counts[k + j], hit = counts[2 * k + j];
    switch (which) {
    case BT_CLASS_PRECISION:
        return ratio(hit, pred);
    case BT_CLASS_RECALL:
        return ratio(hit, lab);
    default: /* scikit-learn's (1 + b^2) tp / ((1 + b^2) tp + b^2 fn + fp), b = 1 */
        return ratio(2.0 * hit, lab + pred);
    }
}

double bt_class_score_of(bt_class_score which, const double *counts, int k) {
    if (k < 2 || (int)which < 0 || which >= BT_CLASS_SCORE_COUNT) return NAN;
    if (k == 2) return score(which, counts, k, 1);
    double sum = 0.0;
    int present = 0;
    for (int j = 0; j < k; j++) {
        if (!(counts[j] > 0) && !(counts[k + j] > 0)) continue;
        sum += score(which, counts, k, j);
        present++;
    }
    return present > 0 ? sum / present : 0.0;
}
