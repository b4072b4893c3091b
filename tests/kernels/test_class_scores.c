/* Precision, recall and F1 (kernels/class_scores.h) on small cases worked out by hand, as
 * scikit-learn defines them: binary (class 1 positive), macro over the classes present in labels
 * or predictions (an absent class is left out; one present only in the predictions scores 0), and
 * the gbdt metrics (kernels/gbdt_metric.h) that count the predicted classes of margins. The same
 * numbers against scikit-learn itself on real data: tests/py/test_metric_names.py. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/class_scores.h"
#include "kernels/gbdt_metric.h"
#include "tests/bt_test.h"

/* counts (3 k) of label / prediction pairs */
static void count(const int *y, const int *p, int n, int k, double *c) {
    memset(c, 0, 3 * (size_t)k * sizeof *c);
    for (int i = 0; i < n; i++) {
        c[p[i]] += 1;
        c[k + y[i]] += 1;
        if (p[i] == y[i]) c[2 * k + y[i]] += 1;
    }
}

static double score(bt_class_score w, const double *c, int k) {
    return bt_class_score_of(w, c, k);
}

static void test_binary(void) {
    /* tp 3 (rows 0, 2, 7), fp 2 (3, 6), fn 1 (1) */
    static const int y[8] = {1, 1, 1, 0, 0, 0, 0, 1}, p[8] = {1, 0, 1, 1, 0, 0, 1, 1};
    double c[6];
    count(y, p, 8, 2, c);
    CHECK_NEAR(score(BT_CLASS_PRECISION, c, 2), 3.0 / 5.0, 1e-15);
    CHECK_NEAR(score(BT_CLASS_RECALL, c, 2), 3.0 / 4.0, 1e-15);
    CHECK_NEAR(score(BT_CLASS_F1, c, 2), 6.0 / 9.0, 1e-15);
    /* nothing predicted positive, nothing labelled positive: 0 (zero_division=0) */
    static const int z[3] = {0, 0, 0};
    count(z, z, 3, 2, c);
    CHECK(score(BT_CLASS_PRECISION, c, 2) == 0 && score(BT_CLASS_RECALL, c, 2) == 0 &&
          score(BT_CLASS_F1, c, 2) == 0);
    CHECK(isnan(score(BT_CLASS_F1, c, 1)));
}

static void test_macro(void) {
    /* class 0: tp 1, 2 predicted, 2 labelled; class 1: tp 2 of 3 predicted, 2 labelled; class 2:
     * tp 1 of 1 predicted, 2 labelled; class 3 appears nowhere and is left out */
    static const int y[6] = {0, 0, 1, 1, 2, 2}, p[6] = {0, 1, 1, 1, 2, 0};
    double c[12];
    count(y, p, 6, 4, c);
    CHECK_NEAR(score(BT_CLASS_PRECISION, c, 4), (0.5 + 2.0 / 3.0 + 1.0) / 3.0, 1e-15);
    CHECK_NEAR(score(BT_CLASS_RECALL, c, 4), (0.5 + 1.0 + 0.5) / 3.0, 1e-15);
    CHECK_NEAR(score(BT_CLASS_F1, c, 4), (0.5 + 0.8 + 2.0 / 3.0) / 3.0, 1e-15);
    /* class 2 only predicted: it counts, with precision, recall and F1 0 */
    static const int y2[3] = {0, 0, 1}, p2[3] = {0, 2, 1};
    double d[9];
    count(y2, p2, 3, 3, d);
    CHECK_NEAR(score(BT_CLASS_PRECISION, d, 3), (1.0 + 1.0 + 0.0) / 3.0, 1e-15);
    CHECK_NEAR(score(BT_CLASS_RECALL, d, 3), (0.5 + 1.0 + 0.0) / 3.0, 1e-15);
    CHECK_NEAR(score(BT_CLASS_F1, d, 3), (2.0 / 3.0 + 1.0 + 0.0) / 3.0, 1e-15);
}

static double gbdt(bt_gbdt_metric m, bt_gbdt_objective obj, const float *margin, const float *y,
                   int n, int k) {
    void *scratch = malloc(bt_gbdt_metric_scratch_bytes(n, k));
    double v = bt_gbdt_metric_ref(m, obj, margin, y, n, k, scratch);
    free(scratch);
    return v;
}

static void test_gbdt(void) {
    /* the binary case above as margins: predicted 1 iff sigmoid(margin) > 0.5 */
    static const float yb[8] = {1, 1, 1, 0, 0, 0, 0, 1};
    static const float mb[8] = {2.0f, -1.0f, 0.5f, 3.0f, -2.0f, -0.5f, 1.0f, 0.1f};
    CHECK_NEAR(gbdt(BT_GBDT_METRIC_PRECISION, BT_GBDT_OBJ_LOGISTIC, mb, yb, 8, 1), 0.6, 1e-15);
    CHECK_NEAR(gbdt(BT_GBDT_METRIC_RECALL, BT_GBDT_OBJ_LOGISTIC, mb, yb, 8, 1), 0.75, 1e-15);
    CHECK_NEAR(gbdt(BT_GBDT_METRIC_F1, BT_GBDT_OBJ_LOGISTIC, mb, yb, 8, 1), 6.0 / 9.0, 1e-15);
    /* a margin of exactly 0 (p = 0.5) predicts 0, as the error metric's threshold */
    static const float y0[2] = {1, 0}, m0[2] = {0.0f, 0.0f};
    CHECK(gbdt(BT_GBDT_METRIC_RECALL, BT_GBDT_OBJ_LOGISTIC, m0, y0, 2, 1) == 0.0);
    /* a label of 0.5 is half a positive: tp 0.5 + 1, fp 0.5, fn 0 */
    static const float ys[3] = {0.5f, 1, 0}, ms[3] = {1.0f, 1.0f, -1.0f};
    CHECK_NEAR(gbdt(BT_GBDT_METRIC_PRECISION, BT_GBDT_OBJ_LOGISTIC, ms, ys, 3, 1), 0.75, 1e-15);
    CHECK_NEAR(gbdt(BT_GBDT_METRIC_RECALL, BT_GBDT_OBJ_LOGISTIC, ms, ys, 3, 1), 1.0, 1e-15);
    /* the macro case above: softmax margins whose largest entry is the prediction; ties in the
     * probabilities go to the first class, as merror's */
    static const int p[6] = {0, 1, 1, 1, 2, 0};
    static const float ym[6] = {0, 0, 1, 1, 2, 2};
    float mm[6 * 4];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 4; j++) mm[4 * i + j] = j == p[i] ? 1.5f : -0.25f * (float)j;
    mm[4 * 0 + 1] = 1.5f; /* row 0: classes 0 and 1 tie, class 0 wins */
    CHECK_NEAR(gbdt(BT_GBDT_METRIC_PRECISION, BT_GBDT_OBJ_SOFTPROB, mm, ym, 6, 4),
               (0.5 + 2.0 / 3.0 + 1.0) / 3.0, 1e-15);
    CHECK_NEAR(gbdt(BT_GBDT_METRIC_RECALL, BT_GBDT_OBJ_SOFTPROB, mm, ym, 6, 4),
               (0.5 + 1.0 + 0.5) / 3.0, 1e-15);
    CHECK_NEAR(gbdt(BT_GBDT_METRIC_F1, BT_GBDT_OBJ_SOFTPROB, mm, ym, 6, 4),
               (0.5 + 0.8 + 2.0 / 3.0) / 3.0, 1e-15);
    /* softprob with two classes is a binary problem: class 1 positive */
    float m2[16];
    for (int i = 0; i < 8; i++) {
        m2[2 * i] = 0.0f;
        m2[2 * i + 1] = mb[i];
    }
    CHECK_NEAR(gbdt(BT_GBDT_METRIC_F1, BT_GBDT_OBJ_SOFTPROB, m2, yb, 8, 2), 6.0 / 9.0, 1e-15);
}

int main(void) {
    test_binary();
    test_macro();
    test_gbdt();
    return bt_test_finish("test_class_scores");
}
