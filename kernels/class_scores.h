/* Precision, recall and F1 of a classifier from its per-class counts, as scikit-learn's
 * precision_score / recall_score / f1_score compute them with zero_division=0: two classes are a
 * binary problem with class 1 positive (average="binary"); more are macro-averaged over the classes
 * present in the labels or the predictions (average="macro"). Shared by the gbdt metrics
 * (kernels/cpu/gbdt_metric.c) and the nn families' validation metrics.
 * Ownership: callers own every buffer. */
#ifndef BT_KERNEL_CLASS_SCORES_H
#define BT_KERNEL_CLASS_SCORES_H

typedef enum bt_class_score {
    BT_CLASS_PRECISION = 0,
    BT_CLASS_RECALL,
    BT_CLASS_F1,
    BT_CLASS_SCORE_COUNT
} bt_class_score;

/* counts holds 3 * k values: predicted[0..k), labelled[k..2k), correct[2k..3k) -- rows predicted
 * as class j, rows labelled j, rows labelled j and predicted j (weights may be fractional: a
 * binary label y in [0, 1] counts y towards class 1 and 1 - y towards class 0). A class's
 * precision is correct / predicted, its recall correct / labelled, its F1
 * 2 correct / (predicted + labelled), each 0 when its denominator is 0. NaN for k < 2. */
double bt_class_score_of(bt_class_score which, const double *counts, int k);

#endif
