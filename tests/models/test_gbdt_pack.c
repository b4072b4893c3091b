/* The packed gbdt trainer through its pack ops: a trial's per-round metrics and exported model
 * are identical (==) whether it trains alone, in a pack with 100 random other trials, in another
 * slot order, or with 1 vs 2 threads -- for regression, binary and multiclass, with missing
 * values, row and column sampling; and identical between the two ways of finding splits
 * (histograms, sorted column lists). A diverging trial fails alone; early stopping keeps the best
 * round's model and metric. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

#include "kernels/philox.h"
#include "models/gbdt/gbdt.h"
#include "models/gbdt/trainer.h"
#include "tests/bt_test.h"
#include "tests/gbdt_fixtures.h"

#define ROUNDS 8
#define OTHERS 100

static const bt_pack_ops *vt = &bt_gbdt_cpu_packs;

static double urand(void) {
    return (double)rand() / ((double)RAND_MAX + 1.0);
}

static void defaults(bt_value *v) {
    for (int p = 0; p < bt_gbdt_family.n_params; p++) v[p] = bt_gbdt_family.params[p].def;
}

static void make_data(bt_dataset *tr, bt_dataset *va, bt_task task, int K) {
    bt_test_gbdt_make_data(urand, tr, va, task, K, 400, 150, 6, -1);
}

static void random_trial(bt_value *v, const char *obj, int K) {
    bt_test_gbdt_random_trial(v, &bt_test_gbdt_pack_trials, urand, obj, K);
}

typedef struct run_out {
    double metric[ROUNDS][2];
    char *model;
    size_t len;
} run_out;

/* Trains trials[0..n) in slots slot_of[i] of one pack for ROUNDS rounds; records trial `target`. */
static void train(bt_model_data *data, bt_value (*trials)[BT_GBDT_N_PARAMS], const int *slot_of,
                  int n, int capacity, int target, const char *const *metrics, run_out *out) {
    bt_hparams h0 = {trials[target]};
    bt_pack *p = NULL;
    CHECK_OK(vt->pack_init(&p, data, &h0, capacity));
    if (!p) return;
    int *slots = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) {
        bt_hparams h = {trials[i]};
        /* trial ids: the target is always trial 0 of the sweep, the others 1.. */
        uint64_t id = i == target ? 0 : (uint64_t)(i + 1);
        CHECK_OK(vt->slot_start(p, slot_of[i], &h, bt_philox_key(42, id)));
        slots[i] = slot_of[i];
    }
    for (int r = 0; r < ROUNDS; r++) {
        CHECK_OK(vt->step(p, slots, n));
        for (int m = 0; m < 2; m++)
            CHECK_OK(vt->eval(p, slot_of[target], metrics[m], &out->metric[r][m]));
    }
    CHECK_OK(
        bt_gbdt_family.export_model(p, slot_of[target], "xgboost-json", &out->model, &out->len));
    CHECK(!vt->slot_failed(p, slot_of[target]));
    free(slots);
    vt->pack_free(p);
}

static int same(const run_out *a, const run_out *b) {
    return memcmp(a->metric, b->metric, sizeof a->metric) == 0 && a->len == b->len && a->model &&
           b->model && memcmp(a->model, b->model, a->len) == 0;
}

static void test_determinism(bt_task task, const char *obj, int K, const char *const *metrics) {
    bt_dataset tr = {0}, va = {0};
    make_data(&tr, &va, task, K);
    bt_model_data data = {&tr, &va, task, K, NULL, 1, NULL};
    static bt_value trials[OTHERS + 1][BT_GBDT_N_PARAMS];
    for (int i = 0; i <= OTHERS; i++) random_trial(trials[i], obj, K);
    /* the target: sampling on, so the Philox streams are part of what must not move */
    trials[0][BT_GBDT_SUBSAMPLE] = bt_value_float(0.8);
    trials[0][BT_GBDT_COLSAMPLE_BYTREE] = bt_value_float(0.8);
    trials[0][BT_GBDT_COLSAMPLE_BYLEVEL] = bt_value_float(0.7);
    trials[0][BT_GBDT_MAX_DEPTH] = bt_value_int(5);
    bt_hparams h0 = {trials[0]};
    CHECK_OK(bt_gbdt_family.data_prepare(&data, &h0));

    if (task == BT_TASK_MULTICLASS) {
        /* a trial asking for fewer classes than the labels need is refused at slot_start */
        float top = 0;
        for (int64_t i = 0; i < tr.n_rows; i++) top = tr.y[i] > top ? tr.y[i] : top;
        bt_value few[BT_GBDT_N_PARAMS];
        memcpy(few, trials[0], sizeof few);
        few[BT_GBDT_NUM_CLASS] = bt_value_int((int)top);
        bt_hparams hf = {few};
        bt_pack *pk = NULL;
        CHECK_OK(vt->pack_init(&pk, &data, &hf, 1));
        CHECK(vt->slot_start(pk, 0, &hf, 1) == BT_STATUS_BAD_INPUT);
        vt->pack_free(pk);
    }
    run_out alone = {0}, packed = {0}, shuffled = {0}, threaded = {0}, packed_col = {0};
    int slot_of[OTHERS + 1];
    slot_of[0] = 0;
    train(&data, trials, slot_of, 1, 1, 0, metrics, &alone);
    for (int i = 0; i <= OTHERS; i++) slot_of[i] = i;
    train(&data, trials, slot_of, OTHERS + 1, OTHERS + 1, 0, metrics, &packed);
    /* another order: a random permutation of slots in a larger pack */
    int perm[OTHERS + 1 + 20];
    for (int i = 0; i < OTHERS + 21; i++) perm[i] = i;
    for (int i = OTHERS + 20; i > 0; i--) {
        int j = (int)(urand() * (i + 1)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    train(&data, trials, perm, OTHERS + 1, OTHERS + 21, 0, metrics, &shuffled);
    data.threads = 2;
    bt_gbdt_set_wave_cap(7);     /* the pack advances in several waves of slots */
    bt_gbdt_set_par_min_work(0); /* and every phase really runs on 2 threads */
    train(&data, trials, perm, OTHERS + 1, OTHERS + 21, 0, metrics, &threaded);
    bt_gbdt_set_par_min_work(1 << 18);
    bt_gbdt_set_wave_cap(0);
    data.threads = 1;
    /* the other split finder: a fresh binning in column mode (histograms for the runs above) */
    run_out col = {0};
    bt_gbdt_family.data_free(&data);
    bt_gbdt_set_mode(2);
    CHECK_OK(bt_gbdt_family.data_prepare(&data, &h0));
    slot_of[0] = 0;
    train(&data, trials, slot_of, 1, 1, 0, metrics, &col);
    data.threads = 2;
    bt_gbdt_set_par_min_work(0);
    train(&data, trials, perm, OTHERS + 1, OTHERS + 21, 0, metrics, &packed_col);
    bt_gbdt_set_par_min_work(1 << 18);
    data.threads = 1;
    bt_gbdt_set_mode(1);
    CHECK_MSG(same(&alone, &col), "%s: histograms vs column lists", obj);
    CHECK_MSG(same(&alone, &packed_col), "%s: column lists, packed, 2 threads", obj);
    free(col.model);
    free(packed_col.model);
    CHECK_MSG(same(&alone, &packed), "%s: alone vs pack of %d", obj, OTHERS + 1);
    CHECK_MSG(same(&alone, &shuffled), "%s: alone vs shuffled slots", obj);
    CHECK_MSG(same(&alone, &threaded), "%s: alone vs 2 threads, waves of 7 slots", obj);
    /* and the metric moved: training happened */
    CHECK(alone.metric[ROUNDS - 1][0] != alone.metric[0][0]);
    free(alone.model);
    free(packed.model);
    free(shuffled.model);
    free(threaded.model);
    bt_gbdt_family.data_free(&data);
    free(tr.X);
    free(tr.y);
    free(va.X);
    free(va.y);
}

/* A trial that diverges is marked failed; its neighbours train exactly as without it. */
static void test_nan_fails_alone(void) {
    bt_dataset tr = {0}, va = {0};
    make_data(&tr, &va, BT_TASK_REGRESSION, 0);
    bt_model_data data = {&tr, &va, BT_TASK_REGRESSION, 0, NULL, 2, NULL};
    bt_value t[3][BT_GBDT_N_PARAMS];
    for (int i = 0; i < 3; i++) random_trial(t[i], "reg:squarederror", 0);
    t[1][BT_GBDT_BASE_SCORE] = bt_value_float(INFINITY);
    bt_hparams h0 = {t[0]};
    CHECK_OK(bt_gbdt_family.data_prepare(&data, &h0));
    bt_pack *p = NULL, *q = NULL;
    CHECK_OK(vt->pack_init(&p, &data, &h0, 3));
    CHECK_OK(vt->pack_init(&q, &data, &h0, 3));
    for (int i = 0; i < 3; i++) {
        bt_hparams h = {t[i]};
        CHECK_OK(vt->slot_start(p, i, &h, bt_philox_key(1, (uint64_t)i)));
        if (i != 1) CHECK_OK(vt->slot_start(q, i, &h, bt_philox_key(1, (uint64_t)i)));
    }
    int all[3] = {0, 1, 2}, two[2] = {0, 2};
    for (int r = 0; r < 4; r++) {
        CHECK_OK(vt->step(p, all, 3));
        CHECK_OK(vt->step(q, two, 2));
    }
    CHECK(vt->slot_failed(p, 1));
    CHECK(!vt->slot_failed(p, 0) && !vt->slot_failed(p, 2));
    double a, b, x;
    CHECK_OK(vt->eval(p, 1, "rmse", &x));
    CHECK(isnan(x));
    for (int s = 0; s < 3; s += 2) {
        CHECK_OK(vt->eval(p, s, "rmse", &a));
        CHECK_OK(vt->eval(q, s, "rmse", &b));
        CHECK(a == b && isfinite(a));
    }
    CHECK(vt->eval(p, 0, "nonsense", &x) != BT_STATUS_OK);
    int dup[2] = {0, 0}, bad[1] = {2};
    CHECK(vt->step(q, dup, 2) != BT_STATUS_OK);
    vt->slot_clear(q, 2);
    CHECK(vt->step(q, bad, 1) != BT_STATUS_OK); /* not started */
    CHECK_OK(vt->step(q, two, 1));              /* slot 0 alone still steps */
    vt->pack_free(p);
    vt->pack_free(q);
    bt_gbdt_family.data_free(&data);
    free(tr.X);
    free(tr.y);
    free(va.X);
    free(va.y);
}

/* Early stopping: the metric after stopping is the best one seen, and the exported model is the
 * best round's model (the same text as a trial trained for exactly that many rounds). */
static void test_early_stopping(void) {
    bt_dataset tr = {0}, va = {0};
    make_data(&tr, &va, BT_TASK_REGRESSION, 0);
    for (int64_t r = 0; r < va.n_rows; r++) va.y[r] = (float)(urand() * 10); /* pure noise */
    bt_model_data data = {&tr, &va, BT_TASK_REGRESSION, 0, NULL, 1, NULL};
    bt_value t[2][BT_GBDT_N_PARAMS];
    random_trial(t[0], "reg:squarederror", 0);
    t[0][BT_GBDT_SUBSAMPLE] = bt_value_float(1);
    t[0][BT_GBDT_ETA] = bt_value_float(0.9);
    t[0][BT_GBDT_MAX_DEPTH] = bt_value_int(6);
    memcpy(t[1], t[0], sizeof t[0]);
    t[0][BT_GBDT_EARLY_STOPPING_ROUNDS] = bt_value_int(3);
    bt_hparams h0 = {t[0]}, h1 = {t[1]};
    CHECK_OK(bt_gbdt_family.data_prepare(&data, &h0));
    bt_pack *p = NULL;
    CHECK_OK(vt->pack_init(&p, &data, &h0, 2));
    CHECK_OK(vt->slot_start(p, 0, &h0, 5));
    CHECK_OK(vt->slot_start(p, 1, &h1, 5));
    int both[2] = {0, 1};
    double hist[40], best = INFINITY, x;
    int best_r = 0, stop_r = -1;
    for (int r = 0; r < 40; r++) {
        CHECK_OK(vt->step(p, both, 2));
        CHECK_OK(vt->eval(p, 1, "rmse", &hist[r]));
        CHECK_OK(vt->eval(p, 0, "rmse", &x));
        if (stop_r < 0) {
            if (hist[r] < best) {
                best = hist[r];
                best_r = r;
            }
            if (r - best_r >= 3) stop_r = r;
        }
        if (stop_r < 0)
            CHECK(x == hist[r]);
        else
            CHECK(x == best);
    }
    CHECK_MSG(stop_r > 0 && stop_r < 40, "stopped at %d", stop_r);
    char *m0 = NULL, *m1 = NULL;
    size_t l0 = 0, l1 = 0;
    CHECK_OK(bt_gbdt_family.export_model(p, 0, "xgboost-json", &m0, &l0));
    vt->pack_free(p);
    /* a plain trial trained for best_r + 1 rounds exports the same model */
    CHECK_OK(vt->pack_init(&p, &data, &h0, 1));
    CHECK_OK(vt->slot_start(p, 0, &h1, 5));
    for (int r = 0; r <= best_r; r++) CHECK_OK(vt->step(p, both, 1));
    CHECK_OK(bt_gbdt_family.export_model(p, 0, "xgboost-json", &m1, &l1));
    CHECK(l0 == l1 && m0 && m1 && memcmp(m0, m1, l0) == 0);
    CHECK(bt_gbdt_family.export_model(p, 0, "onnx", &m1, &l1) != BT_STATUS_OK);
    free(m0);
    free(m1);
    vt->pack_free(p);
    bt_gbdt_family.data_free(&data);
    free(tr.X);
    free(tr.y);
    free(va.X);
    free(va.y);
}

static void test_family_rules(void) {
    bt_value v[BT_GBDT_N_PARAMS];
    defaults(v);
    bt_hparams h = {v};
    bt_task task;
    int32_t nc;
    CHECK_OK(bt_gbdt_family.task_of(&h, &task, &nc));
    CHECK(task == BT_TASK_REGRESSION);
    v[BT_GBDT_OBJECTIVE] = bt_value_string("multi:softprob");
    v[BT_GBDT_NUM_CLASS] = bt_value_int(1);
    CHECK_OK(bt_gbdt_family.task_of(&h, &task, &nc));
    CHECK(task == BT_TASK_MULTICLASS && nc == 1);
    CHECK(bt_gbdt_family.check(&h, task) != BT_STATUS_OK);
    v[BT_GBDT_OBJECTIVE] = bt_value_string("binary:logistic");
    v[BT_GBDT_BASE_SCORE] = bt_value_float(1.5);
    CHECK_OK(bt_gbdt_family.task_of(&h, &task, &nc));
    CHECK(bt_gbdt_family.check(&h, task) != BT_STATUS_OK);
    CHECK_STR(bt_gbdt_family.default_metric(BT_TASK_BINARY), "logloss");
    CHECK_STR(bt_gbdt_family.default_metric(BT_TASK_MULTICLASS), "mlogloss");
    CHECK_STR(bt_gbdt_family.default_metric(BT_TASK_REGRESSION), "rmse");
    CHECK(bt_gbdt_family.metric_maximize("auc") && bt_gbdt_family.metric_maximize("accuracy"));
    CHECK(!bt_gbdt_family.metric_maximize("rmse") && !bt_gbdt_family.metric_maximize("logloss"));
    CHECK(bt_gbdt_family.metric_ok("auc", BT_TASK_BINARY) &&
          !bt_gbdt_family.metric_ok("auc", BT_TASK_REGRESSION));
    CHECK(bt_gbdt_family.metric_ok("merror", BT_TASK_MULTICLASS) &&
          !bt_gbdt_family.metric_ok("rmse", BT_TASK_BINARY));
    CHECK(!bt_gbdt_family.metric_ok("bogus", BT_TASK_BINARY));
    for (int i = 0; bt_gbdt_family.metrics[i]; i++)
        CHECK(bt_gbdt_family.metric_ok(bt_gbdt_family.metrics[i], BT_TASK_REGRESSION) ||
              bt_gbdt_family.metric_ok(bt_gbdt_family.metrics[i], BT_TASK_BINARY) ||
              bt_gbdt_family.metric_ok(bt_gbdt_family.metrics[i], BT_TASK_MULTICLASS));
}

int main(int argc, char **argv) {
    (void)argc;
    /* OpenMP threads spin at barriers by default; on a machine whose cores are shared (CI, a dev
     * box running other jobs) the many tiny parallel phases of this test then wait for
     * descheduled partners and run 30x slower. Passive waiting changes no result; libgomp reads
     * the policy at load time, hence the re-exec. */
    if (!getenv("OMP_WAIT_POLICY")) {
        setenv("OMP_WAIT_POLICY", "passive", 1);
        execv("/proc/self/exe", argv);
    }
    /* fresh inputs each run; BT_TEST_SEED=<printed seed> replays a failure */
    unsigned seed = getenv("BT_TEST_SEED") ? (unsigned)strtoul(getenv("BT_TEST_SEED"), NULL, 10)
                                           : 2024u ^ (unsigned)time(NULL);
    printf("seed %u\n", seed);
    srand(seed);
    bt_gbdt_set_mode(1); /* histograms; test_determinism also runs column lists */
    static const char *const reg_m[2] = {"rmse", "mae"};
    static const char *const bin_m[2] = {"logloss", "auc"};
    static const char *const mc_m[2] = {"mlogloss", "merror"};
    test_determinism(BT_TASK_REGRESSION, "reg:squarederror", 0, reg_m);
    test_determinism(BT_TASK_BINARY, "binary:logistic", 2, bin_m);
    test_determinism(BT_TASK_MULTICLASS, "multi:softprob", 4, mc_m);
    test_nan_fails_alone();
    test_early_stopping();
    test_family_rules();
    return bt_test_finish("test_gbdt_pack");
}
