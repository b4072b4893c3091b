/* Op table suite gbdt_metric (kernels/optest.h): bt_gbdt_metric_cuda and bt_gbdt_auc_cuda against
 * bt_gbdt_metric_ref on fresh random margins and labels: every metric (AUC through its own
 * launcher, with tied scores and a single-class set), trials of different objectives and class
 * counts in one launch, 0 / 1 / 257 / 3001 rows, extreme margins (logloss clipping). The per-row
 * terms are the reference's floats (exp/log as (float)exp((double)x), 1 ulp from glibc on ~1e-4 of
 * inputs) and the double sum runs in a tree order instead of row order, so results are compared to
 * relative 1e-6 (float terms of a few thousand rows summed in double: the expected gap is ~1e-9).
 * AUC follows the reference's order and arithmetic and differs only where a score is 1 ulp apart;
 * same tolerance (the case's tol; the worst relative error is reported). */
#include "kernels/cuda/optest/optest.cuh"

extern "C" {
#include "kernels/gbdt_metric.h"
}

static bool close_rel(double a, double b, double rel) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return fabs(a - b) <= rel * fmax(fabs(a), fabs(b)) + 1e-12;
}

/* The relative error close_rel bounds (past its absolute 1e-12; NaN where one side alone is). */
static double rel_error(double a, double b) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b) ? 0 : NAN;
    const double d = fabs(a - b) - 1e-12;
    return d <= 0 ? 0 : d / fmax(fabs(a), fabs(b));
}

static void run_case(bt_gbdt_metric metric, int64_t n, double tol) {
    /* trials: (objective, classes); binary labels in {0, 1} fit every objective */
    const int32_t objs[] = {BT_GBDT_OBJ_SQUARED, BT_GBDT_OBJ_LOGISTIC, BT_GBDT_OBJ_SOFTPROB,
                            BT_GBDT_OBJ_SOFTPROB, BT_GBDT_OBJ_LOGISTIC};
    const int32_t ks[] = {1, 1, 3, 5, 1};
    const int n_items = 5;
    std::vector<bt_gbdt_metric_item> items(n_items);
    int64_t off = 0;
    for (int i = 0; i < n_items; i++) {
        items[i].margin_offset = off;
        items[i].objective = objs[i];
        items[i].k_outputs = ks[i];
        off += n * ks[i];
    }
    std::vector<float> margin((size_t)off), y((size_t)n);
    for (auto &m : margin) m = (float)((urand() * 2 - 1) * (urand() < 0.05 ? 60 : 3));
    for (auto &v : y) v = (float)irand(2);
    size_t sb = bt_gbdt_metric_scratch_bytes(n, 5);
    std::vector<char> scratch(sb);
    std::vector<double> ref(n_items);
    for (int i = 0; i < n_items; i++)
        ref[i] = bt_gbdt_metric_ref(metric, (bt_gbdt_objective)objs[i],
                                    margin.data() + items[i].margin_offset, y.data(), n, ks[i],
                                    scratch.data());
    float *m_d = dev_from(margin), *y_d = dev_from(y);
    bt_gbdt_metric_item *items_d = dev_from(items);
    double *out_d = dev_zero<double>(n_items);
    CHECK_OK(bt_gbdt_metric_cuda(metric, m_d, y_d, n, items_d, n_items, out_d, NULL));
    std::vector<double> got = host_from(out_d, n_items);
    for (int i = 0; i < n_items; i++) {
        bt_optest_error(rel_error(got[i], ref[i]));
        CHECK_MSG(close_rel(got[i], ref[i], tol), "metric %d item %d n %lld: %.17g vs %.17g",
                  (int)metric, i, (long long)n, got[i], ref[i]);
    }
    cudaFree(m_d);
    cudaFree(y_d);
    cudaFree(items_d);
    cudaFree(out_d);
}

/* AUC: trials with continuous scores, heavily tied scores (a few distinct margins), and, with
 * all labels 0 in the last case, the single-class NaN. */
static void run_auc(int64_t n, bool one_class, double tol) {
    const int n_items = 4;
    std::vector<bt_gbdt_metric_item> items(n_items);
    std::vector<float> margin((size_t)(n * n_items)), y((size_t)n);
    for (int i = 0; i < n_items; i++) {
        items[i].margin_offset = (int64_t)i * n;
        items[i].objective = BT_GBDT_OBJ_LOGISTIC;
        items[i].k_outputs = 1;
        for (int64_t r = 0; r < n; r++) {
            const float few[] = {-1.0f, 0.0f, 0.5f, 2.0f};
            margin[(size_t)(i * n + r)] =
                i % 2 ? few[irand(4)] : (float)((urand() * 2 - 1) * (i == 2 ? 30 : 3));
        }
    }
    for (auto &v : y) v = one_class ? 0.0f : (float)irand(2);
    std::vector<char> scratch(bt_gbdt_metric_scratch_bytes(n, 1));
    std::vector<double> ref(n_items);
    for (int i = 0; i < n_items; i++)
        ref[i] = bt_gbdt_metric_ref(BT_GBDT_METRIC_AUC, BT_GBDT_OBJ_LOGISTIC,
                                    margin.data() + items[i].margin_offset, y.data(), n, 1,
                                    scratch.data());
    float *m_d = dev_from(margin), *y_d = dev_from(y);
    bt_gbdt_metric_item *items_d = dev_from(items);
    double *out_d = dev_zero<double>(n_items);
    size_t sb = bt_gbdt_auc_cuda_scratch_bytes(n, n_items);
    CHECK(sb > 0);
    void *scr = NULL;
    CUDA_OK(cudaMalloc(&scr, sb ? sb : 1));
    CHECK_OK(bt_gbdt_auc_cuda(m_d, y_d, n, items_d, n_items, out_d, scr, sb, NULL));
    std::vector<double> got = host_from(out_d, n_items);
    for (int i = 0; i < n_items; i++) {
        bt_optest_error(rel_error(got[i], ref[i]));
        CHECK_MSG(close_rel(got[i], ref[i], tol), "auc item %d n %lld: %.17g vs %.17g", i,
                  (long long)n, got[i], ref[i]);
    }
    /* too little scratch is refused */
    CHECK(bt_gbdt_auc_cuda(m_d, y_d, n, items_d, n_items, out_d, scr, sb - 1, NULL) ==
          BT_STATUS_INTERNAL);
    bt_status_clear();
    cudaFree(m_d);
    cudaFree(y_d);
    cudaFree(items_d);
    cudaFree(out_d);
    cudaFree(scr);
}

static const int64_t sizes[] = {0, 1, 257, 3001};

/* p: metric (0, 1, 257 and 3001 rows each); tol: relative */
BT_OPTEST_RUNNER(run) {
    for (int64_t n : sizes) run_case((bt_gbdt_metric)c->p[0], n, c->tol);
}

/* p: rows (-1: each of 0, 1, 257 and 3001), all labels 0; tol: relative */
BT_OPTEST_RUNNER(run_auc_case) {
    if (c->p[0] >= 0)
        run_auc(c->p[0], c->p[1] != 0, c->tol);
    else
        for (int64_t n : sizes) run_auc(n, c->p[1] != 0, c->tol);
}

/* bad arguments are refused, not launched: AUC has a launcher of its own; F1, precision and
 * recall are computed on the host (the packs copy the margins back) */
BT_OPTEST_RUNNER(run_args) {
    for (bt_gbdt_metric m :
         {BT_GBDT_METRIC_AUC, BT_GBDT_METRIC_F1, BT_GBDT_METRIC_PRECISION, BT_GBDT_METRIC_RECALL}) {
        CHECK(bt_gbdt_metric_cuda(m, NULL, NULL, 10, NULL, 1, NULL, NULL) == BT_STATUS_BAD_INPUT);
        bt_status_clear();
    }
}

static const bt_op_case cases[] = {
    {"rmse: 5 mixed trials, 0 / 1 / 257 / 3001 rows", run, {BT_GBDT_METRIC_RMSE}, 1e-6},
    {"mse: 5 mixed trials, 0 / 1 / 257 / 3001 rows", run, {BT_GBDT_METRIC_MSE}, 1e-6},
    {"mae: 5 mixed trials, 0 / 1 / 257 / 3001 rows", run, {BT_GBDT_METRIC_MAE}, 1e-6},
    {"logloss: 5 mixed trials, 0 / 1 / 257 / 3001 rows", run, {BT_GBDT_METRIC_LOGLOSS}, 1e-6},
    {"error: 5 mixed trials, 0 / 1 / 257 / 3001 rows", run, {BT_GBDT_METRIC_ERROR}, 1e-6},
    {"mlogloss: 5 mixed trials, 0 / 1 / 257 / 3001 rows", run, {BT_GBDT_METRIC_MLOGLOSS}, 1e-6},
    {"merror: 5 mixed trials, 0 / 1 / 257 / 3001 rows", run, {BT_GBDT_METRIC_MERROR}, 1e-6},
    {"accuracy: 5 mixed trials, 0 / 1 / 257 / 3001 rows", run, {BT_GBDT_METRIC_ACCURACY}, 1e-6},
    {"auc, f1, precision, recall are refused by the metric launcher", run_args, {0}, 0},
    {"auc: tied and continuous scores, 0 / 1 / 257 / 3001 rows", run_auc_case, {-1, 0}, 1e-6},
    {"auc: a single class (NaN), 500 rows", run_auc_case, {500, 1}, 1e-6},
};
BT_OPTEST_SUITE(gbdt_metric, cases);
