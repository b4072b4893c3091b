/* Random gbdt fixtures shared by the gbdt pack tests (test_gbdt_pack.c, test_gbdt_cols.c,
 * cuda/test_gbdt_pack_cuda.c, emu/test_gbdt_pack_emu.c): random trial hyperparameters drawn by a
 * table of rules, and small train / validation sets with missing values. Every draw comes from
 * the caller's own generator (`u01`, uniform in [0, 1)), in a fixed order, so each test keeps
 * its random stream and its seeds replay what they always did. Header-only; include after
 * models/gbdt/gbdt.h. */
#ifndef BT_TEST_GBDT_FIXTURES_H
#define BT_TEST_GBDT_FIXTURES_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

typedef double (*bt_test_urand_fn)(void);

/* One float parameter: with chance p (drawn only when p > 0) the plain value, else
 * lo + u * span. */
typedef struct bt_test_gbdt_rule {
    double p, plain, lo, span;
} bt_test_gbdt_rule;

/* How a test draws its trials; the parameters are drawn in this order. */
typedef struct bt_test_gbdt_trials {
    bt_test_gbdt_rule eta;
    int depth_span; /* max_depth 1 + (int)(u * depth_span) */
    bt_test_gbdt_rule min_child_weight, gamma, lambda, alpha, subsample, colsample_bytree,
        colsample_bylevel;
    double early_stop_p; /* > 0: early_stopping_rounds 1 with this chance, else 0; 0: not drawn */
} bt_test_gbdt_trials;

/* The pack tests' trials (mixed depths, regularization, row and column sampling). */
static const bt_test_gbdt_trials bt_test_gbdt_pack_trials = {
    .eta = {0, 0, 0.05, 0.9},
    .depth_span = 7,
    .min_child_weight = {0.3, 0, 0, 3},
    .gamma = {0.5, 0, 0, 1},
    .lambda = {0, 0, 0, 3},
    .alpha = {0.5, 0, 0, 1},
    .subsample = {0.5, 1, 0.5, 0.5},
    .colsample_bytree = {0.5, 1, 0.4, 0.6},
    .colsample_bylevel = {0.5, 1, 0.4, 0.6},
};

static inline double bt_test_gbdt_draw(bt_test_urand_fn u01, const bt_test_gbdt_rule *r) {
    return r->p > 0 && u01() < r->p ? r->plain : r->lo + u01() * r->span;
}

/* v: the defaults, objective `obj`, num_class K (K < 0: the default) and a random draw of the
 * rest by `d`, then a random seed. */
static inline void bt_test_gbdt_random_trial(bt_value *v, const bt_test_gbdt_trials *d,
                                             bt_test_urand_fn u01, const char *obj, int K) {
    for (int p = 0; p < BT_GBDT_N_PARAMS; p++) v[p] = bt_gbdt_params[p].def;
    v[BT_GBDT_OBJECTIVE] = bt_value_string(obj);
    if (K >= 0) v[BT_GBDT_NUM_CLASS] = bt_value_int(K);
    v[BT_GBDT_ETA] = bt_value_float(bt_test_gbdt_draw(u01, &d->eta));
    v[BT_GBDT_MAX_DEPTH] = bt_value_int(1 + (int)(u01() * d->depth_span));
    v[BT_GBDT_MIN_CHILD_WEIGHT] = bt_value_float(bt_test_gbdt_draw(u01, &d->min_child_weight));
    v[BT_GBDT_GAMMA] = bt_value_float(bt_test_gbdt_draw(u01, &d->gamma));
    v[BT_GBDT_LAMBDA] = bt_value_float(bt_test_gbdt_draw(u01, &d->lambda));
    v[BT_GBDT_ALPHA] = bt_value_float(bt_test_gbdt_draw(u01, &d->alpha));
    v[BT_GBDT_SUBSAMPLE] = bt_value_float(bt_test_gbdt_draw(u01, &d->subsample));
    v[BT_GBDT_COLSAMPLE_BYTREE] = bt_value_float(bt_test_gbdt_draw(u01, &d->colsample_bytree));
    v[BT_GBDT_COLSAMPLE_BYLEVEL] = bt_value_float(bt_test_gbdt_draw(u01, &d->colsample_bylevel));
    if (d->early_stop_p > 0)
        v[BT_GBDT_EARLY_STOPPING_ROUNDS] = bt_value_int(u01() < d->early_stop_p ? 1 : 0);
    v[BT_GBDT_SEED] = bt_value_int((int)(u01() * 1000));
}

/* Allocates n train and nv validation rows of F features (the caller fills and frees them). */
static inline void bt_test_gbdt_alloc_data(bt_dataset *tr, bt_dataset *va, int64_t n, int64_t nv,
                                           int32_t F) {
    tr->n_rows = n;
    va->n_rows = nv;
    tr->n_features = va->n_features = F;
    tr->X = malloc(sizeof(float) * (size_t)(n * F));
    tr->y = malloc(sizeof(float) * (size_t)n);
    va->X = malloc(sizeof(float) * (size_t)(nv * F));
    va->y = malloc(sizeof(float) * (size_t)nv);
}

/* n train and nv validation rows of F (>= 4) features, 10% missing: binned values with few (f <
 * 3) or many repeats, feature `cont` (-1: none) continuous in [0, 1); the target a noisy function
 * of features 0 and 3 for `task` (K classes for multiclass). */
static inline void bt_test_gbdt_make_data(bt_test_urand_fn u01, bt_dataset *tr, bt_dataset *va,
                                          bt_task task, int K, int64_t n, int64_t nv, int32_t F,
                                          int cont) {
    bt_test_gbdt_alloc_data(tr, va, n, nv, F);
    for (int s = 0; s < 2; s++) {
        bt_dataset *d = s ? va : tr;
        for (int64_t r = 0; r < d->n_rows; r++) {
            float *x = d->X + r * F;
            for (int f = 0; f < F; f++)
                x[f] = u01() < 0.1 ? NAN
                       : f == cont ? (float)u01() /* continuous: many bins */
                                   : (float)(int)(u01() * (f < 3 ? 12 : 300)) / 7.0f;
            double z = (isnan(x[0]) ? 1 : x[0]) - (isnan(x[3]) ? 0 : x[3] / 20) + u01();
            if (task == BT_TASK_REGRESSION) d->y[r] = (float)z;
            if (task == BT_TASK_BINARY) d->y[r] = (float)(z > 1.5);
            if (task == BT_TASK_MULTICLASS) d->y[r] = (float)((int)fabs(z * 1.3) % K);
        }
    }
}

#endif
