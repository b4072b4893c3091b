/* XGBoost's knobs in the gbdt family: what batchtune accepts but does differently is said once in
 * the pack's note; max_leaves and eval_metric names that do not fit the task are refused by the
 * family's check; scale_pos_weight changes training (1 changes nothing); early stopping watches
 * the last eval_metric, else the sweep's metric, in its own direction. XGBoost parity of both:
 * tests/py/test_gbdt_knobs_parity.py. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/philox.h"
#include "models/gbdt/gbdt.h"
#include "models/gbdt/trainer.h"
#include "tests/bt_test.h"
#include "tests/gbdt_fixtures.h"

static const bt_pack_ops *vt = &bt_gbdt_cpu_packs;

static double urand(void) {
    return (double)rand() / ((double)RAND_MAX + 1.0);
}

static void defaults(bt_value *v, const char *obj) {
    for (int p = 0; p < BT_GBDT_N_PARAMS; p++) v[p] = bt_gbdt_params[p].def;
    v[BT_GBDT_OBJECTIVE] = bt_value_string(obj);
}

static void free_data(bt_model_data *data, bt_dataset *tr, bt_dataset *va) {
    bt_gbdt_family.data_free(data);
    free(tr->X);
    free(tr->y);
    free(va->X);
    free(va->y);
}

static int count(const char *s, const char *part) {
    int k = 0;
    for (const char *q = s ? strstr(s, part) : NULL; q; q = strstr(q + 1, part)) k++;
    return k;
}

/* tree_method, device and n_jobs batchtune does not follow are said once per pack. */
static void test_notes(void) {
    bt_dataset tr = {0}, va = {0};
    bt_test_gbdt_make_data(urand, &tr, &va, BT_TASK_BINARY, 2, 200, 50, 4, -1);
    bt_model_data data = {&tr, &va, BT_TASK_BINARY, 2, NULL, 2, NULL};
    bt_value t[3][BT_GBDT_N_PARAMS];
    for (int i = 0; i < 3; i++) defaults(t[i], "binary:logistic");
    bt_hparams h[3] = {{t[0]}, {t[1]}, {t[2]}};
    CHECK_OK(bt_gbdt_family.data_prepare(&data, &h[0]));
    bt_pack *p = NULL;
    CHECK_OK(vt->pack_init(&p, &data, &h[0], 3));
    CHECK_OK(vt->slot_start(p, 0, &h[0], 1));
    CHECK(vt->note(p) == NULL); /* the defaults need no note */
    t[1][BT_GBDT_TREE_METHOD] = bt_value_string("exact");
    t[1][BT_GBDT_DEVICE] = bt_value_string("cuda");
    t[1][BT_GBDT_N_JOBS] = bt_value_int(2); /* what the pack uses: nothing to say */
    CHECK_OK(vt->slot_start(p, 1, &h[1], 2));
    const char *n = vt->note(p);
    CHECK(n && strstr(n, "tree_method 'exact' accepted") && strstr(n, "here the CPU"));
    CHECK(n && strstr(n, "device 'cuda' accepted"));
    CHECK(n && !strstr(n, "n_jobs"));
    t[2][BT_GBDT_TREE_METHOD] = bt_value_string("exact"); /* said already */
    t[2][BT_GBDT_N_JOBS] = bt_value_int(8);
    CHECK_OK(vt->slot_start(p, 2, &h[2], 3));
    n = vt->note(p);
    CHECK(n && strstr(n, "n_jobs 8 not applied: this pack uses 2 CPU threads"));
    CHECK_EQ_INT(count(n, "tree_method"), 1);
    vt->pack_free(p);
    free_data(&data, &tr, &va);
}

/* max_leaves other than 0 and eval_metric names that do not fit the task are refused. */
static void test_check(void) {
    bt_value v[BT_GBDT_N_PARAMS];
    defaults(v, "binary:logistic");
    bt_hparams h = {v};
    CHECK_OK(bt_gbdt_family.check(&h, BT_TASK_BINARY));
    v[BT_GBDT_MAX_LEAVES] = bt_value_int(31);
    CHECK(bt_gbdt_family.check(&h, BT_TASK_BINARY) == BT_STATUS_BAD_INPUT);
    CHECK(strstr(bt_status_message(), "max_leaves: 31 is not supported") &&
          strstr(bt_status_message(), "depthwise"));
    v[BT_GBDT_MAX_LEAVES] = bt_value_int(0);
    v[BT_GBDT_EVAL_METRIC] = bt_value_string("logloss,auc,error");
    CHECK_OK(bt_gbdt_family.check(&h, BT_TASK_BINARY));
    v[BT_GBDT_EVAL_METRIC] = bt_value_string("auc,rmse");
    CHECK(bt_gbdt_family.check(&h, BT_TASK_BINARY) == BT_STATUS_BAD_INPUT);
    CHECK(strstr(bt_status_message(), "'rmse' does not fit the objective binary:logistic"));
}

/* Trains trials t[0..n) together for `rounds` rounds; metric[i][r] = trial i's `m` at round r. */
static void train(bt_model_data *data, bt_value (*t)[BT_GBDT_N_PARAMS], int n, int rounds,
                  const char *m, double (*metric)[60]) {
    bt_hparams h0 = {t[0]};
    bt_pack *p = NULL;
    CHECK_OK(vt->pack_init(&p, data, &h0, n));
    if (!p) return;
    int slots[8];
    for (int i = 0; i < n; i++) {
        bt_hparams h = {t[i]};
        CHECK_OK(vt->slot_start(p, i, &h, bt_philox_key(5, (uint64_t)i)));
        slots[i] = i;
    }
    for (int r = 0; r < rounds; r++) {
        CHECK_OK(vt->step(p, slots, n));
        for (int i = 0; i < n; i++) CHECK_OK(vt->eval(p, i, m, &metric[i][r]));
    }
    vt->pack_free(p);
}

/* scale_pos_weight 1 is the default's training bit for bit; another value changes it. */
static void test_scale_pos_weight(void) {
    bt_dataset tr = {0}, va = {0};
    bt_test_gbdt_make_data(urand, &tr, &va, BT_TASK_BINARY, 2, 300, 100, 5, -1);
    bt_model_data data = {&tr, &va, BT_TASK_BINARY, 2, NULL, 1, NULL};
    bt_value t[3][BT_GBDT_N_PARAMS];
    for (int i = 0; i < 3; i++) defaults(t[i], "binary:logistic");
    t[1][BT_GBDT_SCALE_POS_WEIGHT] = bt_value_float(1.0);
    t[2][BT_GBDT_SCALE_POS_WEIGHT] = bt_value_float(4.0);
    bt_hparams h0 = {t[0]};
    CHECK_OK(bt_gbdt_family.data_prepare(&data, &h0));
    static double m[3][60];
    train(&data, t, 3, 6, "logloss", m);
    int same = 1, differ = 0;
    for (int r = 0; r < 6; r++) {
        same &= m[0][r] == m[1][r];
        differ |= m[0][r] != m[2][r];
    }
    CHECK(same);
    CHECK(differ);
    free_data(&data, &tr, &va);
}

/* Early stopping watches the last eval_metric, else the sweep's metric (data->metric), else the
 * objective's default; auc is maximized. A trial watching auc through data->metric stops where one
 * naming it in eval_metric does, and reverts to its best auc. */
static void test_early_stopping_metric(void) {
    bt_dataset tr = {0}, va = {0};
    /* a linear rule with label noise: first better, then overfitting, so that it stops */
    bt_test_gbdt_alloc_data(&tr, &va, 300, 150, 4);
    for (int s = 0; s < 2; s++) {
        bt_dataset *d = s ? &va : &tr;
        for (int64_t i = 0; i < d->n_rows; i++) {
            float *x = d->X + i * 4;
            for (int f = 0; f < 4; f++) x[f] = (float)(urand() * 2 - 1);
            d->y[i] = (float)(x[0] + 0.5 * x[1] + 0.6 * (urand() - 0.5) > 0);
        }
    }
    bt_model_data data = {&tr, &va, BT_TASK_BINARY, 2, NULL, 1, "auc"};
    bt_value t[3][BT_GBDT_N_PARAMS];
    for (int i = 0; i < 3; i++) {
        defaults(t[i], "binary:logistic");
        t[i][BT_GBDT_ETA] = bt_value_float(0.3);
        t[i][BT_GBDT_EARLY_STOPPING_ROUNDS] = bt_value_int(3);
    }
    t[1][BT_GBDT_EVAL_METRIC] = bt_value_string("logloss,auc");
    t[2][BT_GBDT_EVAL_METRIC] = bt_value_string("auc,logloss"); /* watches logloss */
    bt_hparams h0 = {t[0]};
    CHECK_OK(bt_gbdt_family.data_prepare(&data, &h0));
    static double auc[3][60], ll[3][60];
    train(&data, t, 3, 60, "auc", auc);
    train(&data, t, 3, 60, "logloss", ll);
    int same = 1;
    for (int r = 0; r < 60; r++) same &= auc[0][r] == auc[1][r];
    CHECK(same);
    /* the watched metric ends at its best value (max for auc, min for logloss), flat after */
    double best_auc = -1, best_ll = INFINITY;
    for (int r = 0; r < 60; r++) {
        best_auc = fmax(best_auc, auc[0][r]);
        best_ll = fmin(best_ll, ll[2][r]);
    }
    CHECK(auc[0][59] == best_auc && auc[0][58] == best_auc);
    CHECK(ll[2][59] == best_ll && ll[2][58] == best_ll);
    CHECK(auc[0][0] != auc[0][59] && ll[2][0] != ll[2][59]);
    free_data(&data, &tr, &va);
}

/* gblinear: a trial's metrics and export do not depend on its pack mates or the thread count;
 * selectors shuffle and random follow the trial's key (so its seed), and cyclic does not; early
 * stopping reverts the weights to the best round's; a gbtree trial in a gblinear pack is
 * refused. */
static void test_gblinear(void) {
    bt_dataset tr = {0}, va = {0};
    bt_test_gbdt_make_data(urand, &tr, &va, BT_TASK_MULTICLASS, 3, 300, 100, 6, -1);
    static const char *const sel[] = {"cyclic", "shuffle", "random", "greedy", "thrifty"};
    bt_value t[6][BT_GBDT_N_PARAMS];
    for (int i = 0; i < 6; i++) {
        defaults(t[i], "multi:softprob");
        t[i][BT_GBDT_NUM_CLASS] = bt_value_int(3);
        t[i][BT_GBDT_BOOSTER] = bt_value_string("gblinear");
        t[i][BT_GBDT_UPDATER] = bt_value_string("coord_descent");
        t[i][BT_GBDT_FEATURE_SELECTOR] = bt_value_string(sel[i % 5]);
        t[i][BT_GBDT_ALPHA] = bt_value_float(0.1 * i);
    }
    t[5][BT_GBDT_EARLY_STOPPING_ROUNDS] = bt_value_int(2);
    t[5][BT_GBDT_ETA] = bt_value_float(1.0);
    static double together[6][60], alone[60], two[6][60];
    bt_model_data d1 = {&tr, &va, BT_TASK_MULTICLASS, 3, NULL, 1, NULL};
    bt_hparams h0 = {t[0]};
    CHECK_OK(bt_gbdt_family.data_prepare(&d1, &h0));
    train(&d1, t, 6, 30, "mlogloss", together);
    bt_model_data d2 = {&tr, &va, BT_TASK_MULTICLASS, 3, d1.shared, 2, NULL};
    train(&d2, t, 6, 30, "mlogloss", two);
    int same = 1;
    for (int i = 0; i < 6; i++) {
        train(&d1, &t[i], 1, 30, "mlogloss", (double(*)[60])alone);
        const int keyed = i == 1 || i == 2; /* alone it is slot 0: another key (train()) */
        for (int r = 0; r < 30; r++)
            same &= (keyed || alone[r] == together[i][r]) && two[i][r] == together[i][r];
        CHECK(together[i][29] < together[i][0]); /* it learns */
    }
    CHECK(same);
    /* the random selectors follow the key: another seed, another curve; cyclic's does not move */
    bt_value u[2][BT_GBDT_N_PARAMS];
    memcpy(u[0], t[1], sizeof u[0]);
    memcpy(u[1], t[0], sizeof u[1]);
    u[0][BT_GBDT_SEED] = bt_value_int(99);
    u[1][BT_GBDT_SEED] = bt_value_int(99);
    static double reseeded[2][60];
    train(&d1, u, 2, 5, "mlogloss", reseeded);
    CHECK(reseeded[0][4] != together[1][4]);
    /* early stopping: flat at the best round's value once stopped */
    double best = INFINITY;
    for (int r = 0; r < 30; r++) best = fmin(best, together[5][r]);
    CHECK(together[5][29] == best);
    /* a gbtree trial cannot join a gblinear pack */
    bt_pack *p = NULL;
    CHECK_OK(vt->pack_init(&p, &d1, &h0, 1));
    bt_value g[BT_GBDT_N_PARAMS];
    memcpy(g, t[0], sizeof g);
    g[BT_GBDT_BOOSTER] = bt_value_string("gbtree");
    bt_hparams hg = {g};
    CHECK(vt->slot_start(p, 0, &hg, 1) != BT_STATUS_OK);
    vt->pack_free(p);
    free_data(&d1, &tr, &va);
}

int main(void) {
    srand(11);
    test_notes();
    test_check();
    test_scale_pos_weight();
    test_early_stopping_metric();
    test_gblinear();
    return bt_test_finish("test_gbdt_knobs");
}
