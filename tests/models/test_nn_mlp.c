/* The mlp family through its pack ops: a trial trained alone and the same trial trained in a pack
 * of 20 on 3 threads (other slots with other optimizers, dropout, schedules; a slot that joins
 * epochs later; a slot that diverges) end bit-identical; training learns a synthetic classification
 * and a regression task; a diverging trial is marked failed alone; parameters and metrics behave;
 * the parameter layout is 16-byte aligned and its initial weights do not depend on the padding. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/nn_linear.h"
#include "kernels/philox.h"
#include "models/nn/nn.h"
#include "tests/bt_test.h"

static uint64_t rs;
static double urand(void) {
    rs ^= rs >> 12;
    rs ^= rs << 25;
    rs ^= rs >> 27;
    return (double)((rs * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}
static double gauss(void) {
    double u = urand() + 1e-12, v = urand();
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* Three Gaussian blobs in 6 dimensions (classification) or a noisy nonlinear target. */
static void make_data(bt_dataset *d, int64_t n, int reg) {
    memset(d, 0, sizeof *d);
    d->n_rows = n;
    d->n_features = 6;
    d->X = malloc((size_t)n * 6 * sizeof(float));
    d->y = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        int c = (int)(i % 3);
        double s = 0;
        for (int f = 0; f < 6; f++) {
            double x = gauss() + (reg ? 0 : (f == c ? 3.5 : 0.0));
            d->X[i * 6 + f] = (float)(x * 10 + 5); /* unstandardized on purpose */
            s += (f + 1) * x;
        }
        d->y[i] = reg ? (float)(3 * sin(s / 4) + s + 0.1 * gauss() + 100) : (float)c;
    }
    d->X[7] = NAN; /* a missing cell becomes the mean */
}

static void defaults(bt_value *hp) {
    for (int i = 0; i < BT_MLP_N_PARAMS; i++) hp[i] = bt_mlp_params[i].def;
    hp[BT_MLP_WIDTH] = bt_value_int(16);
    hp[BT_MLP_DEPTH] = bt_value_int(2);
    hp[BT_MLP_BATCH_SIZE] = bt_value_int(32);
}

/* Variety for the other slots of a pack. */
static void variant(bt_value *hp, int k) {
    static const char *const opts[] = {"sgd", "adam", "adamw", "rmsprop"};
    static const char *const sched[] = {"constant", "step", "cosine"};
    hp[BT_MLP_OPTIMIZER] = bt_value_string(opts[k % 4]);
    hp[BT_MLP_LR] = bt_value_float(k % 4 == 0 ? 0.05 : 0.003 * (1 + k % 3));
    hp[BT_MLP_DROPOUT] = bt_value_float(0.1 * (k % 3));
    hp[BT_MLP_LR_SCHEDULE] = bt_value_string(sched[k % 3]);
    hp[BT_MLP_WARMUP_EPOCHS] = bt_value_int(k % 2);
    hp[BT_MLP_LABEL_SMOOTHING] = bt_value_float(0.05 * (k % 2));
    hp[BT_MLP_NESTEROV] = bt_value_bool(k % 8 == 4);
    hp[BT_MLP_WEIGHT_DECAY] = bt_value_float(k % 5 == 0 ? 1e-3 : 0);
}

typedef struct trained {
    double metric[4];
    float *w;
    int failed;
} trained;

/* Trains the trial (hp, key) for `epochs`, alone (pack size 1, one thread) or at slot 13 of a
 * pack of 20 on 3 threads whose other slots run variants (one joining 2 epochs late, one
 * diverging). */
static trained train(bt_model_data *data, const bt_value *hp_shape, const bt_value *hp,
                     uint64_t key, int epochs, int packed) {
    const bt_pack_ops *vt = &bt_mlp_cpu_packs;
    bt_hparams shape = {hp_shape}, h = {hp};
    bt_pack *p = NULL;
    trained out = {{0}, NULL, 0};
    int cap = packed ? 20 : 1, me = packed ? 13 : 0;
    data->threads = packed ? 3 : 1; /* the pack's slots split over threads */
    CHECK_OK(vt->pack_init(&p, data, &shape, cap));
    if (!p) return out;
    bt_value *others = malloc(sizeof(bt_value) * BT_MLP_N_PARAMS * 20);
    for (int k = 0; k < cap; k++) {
        bt_value *o = others + (size_t)k * BT_MLP_N_PARAMS;
        memcpy(o, hp_shape, sizeof(bt_value) * BT_MLP_N_PARAMS);
        variant(o, k);
        if (k == 5) { /* diverges */
            o[BT_MLP_OPTIMIZER] = bt_value_string("sgd");
            o[BT_MLP_LR] = bt_value_float(100.0);
            o[BT_MLP_MOMENTUM] = bt_value_float(0.99);
        }
    }
    int slots[20], n = 0;
    for (int k = 0; k < cap; k++) {
        if (k == 17) continue; /* joins later */
        bt_hparams ho = {others + (size_t)k * BT_MLP_N_PARAMS};
        CHECK_OK(vt->slot_start(p, k, k == me ? &h : &ho, k == me ? key : bt_philox_key(3, k)));
        slots[n++] = k;
    }
    for (int e = 0; e < epochs; e++) {
        if (packed && e == 2) {
            bt_hparams ho = {others + (size_t)17 * BT_MLP_N_PARAMS};
            CHECK_OK(vt->slot_start(p, 17, &ho, bt_philox_key(3, 17)));
            slots[n++] = 17;
        }
        /* list order varies too */
        int order[20];
        for (int i = 0; i < n; i++) order[i] = slots[(i + e) % n];
        CHECK_OK(vt->step(p, order, n));
    }
    static const char *const names[4] = {"accuracy", "mlogloss", "rmse", "mae"};
    int reg = p->sh->regression;
    for (int m = 0; m < 2; m++) CHECK_OK(vt->eval(p, me, names[m + 2 * reg], &out.metric[m]));
    memcpy(out.metric + 2, p->slots[me]->metric, 2 * sizeof(double));
    out.failed = vt->slot_failed(p, me);
    out.w = malloc((size_t)p->n_params * sizeof(float));
    memcpy(out.w, p->slots[me]->w, (size_t)p->n_params * sizeof(float));
    if (packed) {
        CHECK_MSG(vt->slot_failed(p, 5), "the lr=100 sgd slot diverged");
        double x = 0;
        CHECK_OK(vt->eval(p, 5, names[2 * reg], &x));
        CHECK(isnan(x));
        for (int k = 0; k < cap; k++)
            if (k != 5) CHECK_MSG(!vt->slot_failed(p, k), "slot %d failed", k);
    }
    free(others);
    vt->pack_free(p);
    return out;
}

static void test_packing(int reg, int bn, const char *act) {
    bt_dataset tr, va;
    make_data(&tr, 300, reg);
    make_data(&va, 90, reg);
    bt_model_data data = {.train = &tr,
                          .valid = &va,
                          .task = reg ? BT_TASK_REGRESSION : BT_TASK_MULTICLASS,
                          .n_classes = reg ? 0 : 3,
                          .threads = 1};
    bt_value shape[BT_MLP_N_PARAMS], hp[BT_MLP_N_PARAMS];
    defaults(shape);
    shape[BT_MLP_OBJECTIVE] = bt_value_string(reg ? "regression" : "classification");
    shape[BT_MLP_BATCH_NORM] = bt_value_bool(bn);
    shape[BT_MLP_ACTIVATION] = bt_value_string(act);
    memcpy(hp, shape, sizeof hp);
    hp[BT_MLP_OPTIMIZER] = bt_value_string("adam");
    hp[BT_MLP_LR] = bt_value_float(0.01);
    hp[BT_MLP_DROPOUT] = bt_value_float(reg ? 0.0 : 0.2);
    hp[BT_MLP_LR_SCHEDULE] = bt_value_string("cosine");
    hp[BT_MLP_EPOCHS] = bt_value_int(6);
    uint64_t key = bt_philox_key(42, (uint64_t)(urand() * 1e9));
    trained a = train(&data, shape, hp, key, 6, 0);
    trained b = train(&data, shape, hp, key, 6, 1);
    CHECK(!a.failed && !b.failed);
    CHECK_MSG(memcmp(a.metric, b.metric, sizeof a.metric) == 0,
              "alone %.17g %.17g vs packed %.17g %.17g", a.metric[0], a.metric[1], b.metric[0],
              b.metric[1]);
    int64_t P = 6 * 16 + 16 + 16 * 16 + 16 + 16 * (reg ? 1 : 3) + (reg ? 1 : 3) + (bn ? 64 : 0);
    CHECK_MSG(a.w && b.w && memcmp(a.w, b.w, (size_t)P * sizeof(float)) == 0,
              "weights differ between alone and packed");
    if (reg)
        CHECK_MSG(a.metric[0] < 4.0, "regression rmse %g (target std ~ %d)", a.metric[0], 11);
    else
        CHECK_MSG(a.metric[0] > 0.9, "blob accuracy %g", a.metric[0]);
    /* another key is another trial */
    trained c = train(&data, shape, hp, key ^ 1, 6, 0);
    CHECK(memcmp(a.w, c.w, (size_t)P * sizeof(float)) != 0);
    free(a.w);
    free(b.w);
    free(c.w);
    bt_mlp_family.data_free(&data);
    bt_dataset_free(&tr);
    bt_dataset_free(&va);
}

static void test_family(void) {
    const bt_model_family *fam = bt_model_find("mlp");
    CHECK(fam == &bt_mlp_family && fam->cpu == &bt_mlp_cpu_packs);
    CHECK(bt_model_find("nn") == &bt_mlp_family);
    CHECK(bt_model_param_index(fam, "learning_rate") == BT_MLP_LR);
    CHECK(bt_model_param_index(fam, "hidden_layers") == BT_MLP_DEPTH);
    CHECK(bt_model_param_index(fam, "task") == BT_MLP_OBJECTIVE);
    CHECK(fam->budget_param == BT_MLP_EPOCHS);
    const bt_pack_ops *vt = fam->cpu;
    int n_shape = 0;
    for (int i = 0; i < bt_mlp_family.n_params; i++) n_shape += bt_mlp_family.params[i].shape;
    CHECK_EQ_INT(n_shape, 5);
    bt_value hp[BT_MLP_N_PARAMS];
    defaults(hp);
    bt_hparams h = {hp};
    bt_task t;
    int32_t k;
    CHECK_OK(bt_mlp_family.task_of(&h, &t, &k));
    CHECK(t == BT_TASK_MULTICLASS && k == 0);
    hp[BT_MLP_OBJECTIVE] = bt_value_string("reg:squarederror");
    CHECK_OK(bt_mlp_family.task_of(&h, &t, &k));
    CHECK(t == BT_TASK_REGRESSION);
    CHECK(bt_mlp_family.metric_ok("rmse", BT_TASK_REGRESSION) &&
          !bt_mlp_family.metric_ok("rmse", BT_TASK_MULTICLASS));
    CHECK(bt_mlp_family.metric_ok("accuracy", BT_TASK_MULTICLASS) &&
          !bt_mlp_family.metric_ok("logloss", BT_TASK_MULTICLASS));
    CHECK(bt_mlp_family.metric_maximize("accuracy") && !bt_mlp_family.metric_maximize("mlogloss"));
    CHECK_STR(bt_mlp_family.default_metric(BT_TASK_MULTICLASS), "mlogloss");
    hp[BT_MLP_LR] = bt_value_float(0.0);
    CHECK(bt_mlp_family.check(&h, BT_TASK_REGRESSION) == BT_STATUS_BAD_INPUT);

    /* metrics: error = 1 - accuracy, rmse = sqrt(mse); a bad label is reported */
    bt_dataset tr;
    make_data(&tr, 60, 0);
    bt_model_data data = {.train = &tr, .task = BT_TASK_MULTICLASS, .n_classes = 0, .threads = 1};
    defaults(hp);
    bt_pack *p = NULL;
    CHECK_OK(vt->pack_init(&p, &data, &h, 2));
    CHECK(p && p->sh->n_out == 3 && p->sh->n_valid == 60);
    CHECK_OK(vt->slot_start(p, 1, &h, 9));
    int s = 1;
    CHECK_OK(vt->step(p, &s, 1));
    double acc = 0, err = 0, ll = 0, mll = 0;
    CHECK_OK(vt->eval(p, 1, "accuracy", &acc));
    CHECK_OK(vt->eval(p, 1, "merror", &err));
    CHECK_OK(vt->eval(p, 1, "mlogloss", &ll));
    CHECK_OK(vt->eval(p, 1, "mlogloss", &mll));
    CHECK(acc + err == 1.0 && ll == mll && ll > 0);
    CHECK(vt->eval(p, 1, "auc", &acc) == BT_STATUS_BAD_INPUT);
    s = 0;
    CHECK(vt->step(p, &s, 1) == BT_STATUS_INTERNAL); /* slot 0 never started */
    vt->slot_clear(p, 1);
    CHECK(vt->eval(p, 1, "accuracy", &acc) == BT_STATUS_INTERNAL);
    vt->pack_free(p);
    bt_mlp_family.data_free(&data);
    tr.y[3] = 1.5f;
    CHECK(bt_mlp_family.data_prepare(&data, &h) == BT_STATUS_BAD_INPUT);
    bt_mlp_family.data_free(&data);
    bt_dataset_free(&tr);
    vt->pack_free(NULL);
}

/* The parameter layout: every tensor of a slot's block (W, b, gamma, beta) and the block itself
 * (n_params) at a multiple of 4 floats, the 16-byte alignment the GPU's GEMMs need
 * (kernels/nn_blas.h), with odd sizes everywhere; the initial weights keyed by the parameter's
 * logical index (its place without the gaps: the draws of the unpadded layout, so trials start
 * where they always did); the gaps 0, and still 0 after training (no layer writes them, the
 * optimizer leaves zeros alone). */
static void test_layout(void) {
    bt_dataset tr;
    make_data(&tr, 45, 0);
    bt_model_data data = {.train = &tr, .task = BT_TASK_MULTICLASS, .n_classes = 3, .threads = 1};
    bt_value hp[BT_MLP_N_PARAMS];
    defaults(hp);
    hp[BT_MLP_WIDTH] = bt_value_int(5);
    hp[BT_MLP_BATCH_NORM] = bt_value_bool(1);
    hp[BT_MLP_BATCH_SIZE] = bt_value_int(7);
    hp[BT_MLP_OPTIMIZER] = bt_value_string("adamw");
    hp[BT_MLP_WEIGHT_DECAY] = bt_value_float(0.01);
    bt_hparams h = {hp};
    bt_pack *p = NULL;
    CHECK_OK(bt_mlp_cpu_packs.pack_init(&p, &data, &h, 1));
    if (!p) return;
    CHECK_OK(bt_mlp_cpu_packs.slot_start(p, 0, &h, bt_philox_key(9, 4)));
    const bt_nn_slot *s = p->slots[0];
    const int64_t P = p->n_params;
    CHECK_MSG(P % 4 == 0, "n_params %lld", (long long)P);
    unsigned char *used = calloc((size_t)P, 1);
    int64_t q = 0, prev_end = 0; /* logical index; end of the previous tensor */
    for (int l = 0; l <= p->D; l++) {
        const int64_t in = p->in_dim[l], o = p->out_dim[l], nw = in * o;
        const int bn = p->bn && l < p->D;
        const int64_t off[4] = {p->w_off[l], p->b_off[l], bn ? p->gam_off[l] : 0,
                                bn ? p->bet_off[l] : 0};
        const int64_t len[4] = {nw, o, bn ? o : 0, bn ? o : 0};
        for (int t = 0; t < 4; t++) {
            if (!len[t]) continue;
            CHECK_MSG(off[t] % 4 == 0 && off[t] >= prev_end && off[t] + len[t] <= P,
                      "layer %d tensor %d at %lld (previous ends at %lld)", l, t, (long long)off[t],
                      (long long)prev_end);
            prev_end = off[t] + len[t];
            memset(used + off[t], 1, (size_t)len[t]);
        }
        const float bound = 1.0f / sqrtf((float)in);
        int bad = 0;
        for (int64_t i = 0; i < nw + o; i++, q++) {
            double u = bt_philox_uniform(s->key, (uint64_t)q, BT_NN_STREAM_INIT);
            float want = (float)(2.0 * u - 1.0) * bound;
            float got = s->w[i < nw ? off[0] + i : off[1] + (i - nw)];
            bad += memcmp(&want, &got, sizeof want) != 0;
        }
        CHECK_MSG(bad == 0, "layer %d: %d initial weights not the logical index's draws", l, bad);
        for (int64_t j = 0; bn && j < o; j++)
            CHECK(s->w[off[2] + j] == 1.0f && s->w[off[3] + j] == 0.0f);
        if (bn) q += 2 * o;
    }
    int step_slot = 0;
    CHECK_OK(bt_mlp_cpu_packs.step(p, &step_slot, 1));
    CHECK(!s->failed && s->epoch == 1);
    int64_t gaps = 0, nonzero = 0;
    for (int64_t i = 0; i < P; i++) {
        if (used[i]) continue;
        gaps++;
        nonzero += s->w[i] != 0.0f || s->g[i] != 0.0f || s->m[i] != 0.0f || s->v[i] != 0.0f;
    }
    CHECK_MSG(gaps > 0 && nonzero == 0, "%lld of %lld gap entries not 0 after an epoch",
              (long long)nonzero, (long long)gaps);
    free(used);
    bt_mlp_cpu_packs.pack_free(p);
    bt_mlp_family.data_free(&data);
    bt_dataset_free(&tr);
}

/* f1, precision and recall of a linear mlp (depth 0) after one epoch on noisy labels, against
 * the predictions recomputed here from its weights: binary (class 1 positive) with 2 classes,
 * macro over the classes present with 3. */
static void test_class_scores(int classes) {
    bt_dataset tr;
    make_data(&tr, 120, 0);
    for (int64_t i = 0; i < tr.n_rows; i++) {
        int c = (int)tr.y[i] % classes;
        tr.y[i] = (float)(urand() < 0.3 ? (int)(urand() * classes) % classes : c);
    }
    bt_model_data data = {.train = &tr, .task = BT_TASK_MULTICLASS, .n_classes = 0, .threads = 1};
    bt_value hp[BT_MLP_N_PARAMS];
    defaults(hp);
    hp[BT_MLP_DEPTH] = bt_value_int(0);
    hp[BT_MLP_LR] = bt_value_float(0.002);
    bt_hparams h = {hp};
    const bt_pack_ops *vt = bt_mlp_family.cpu;
    bt_pack *p = NULL;
    CHECK_OK(vt->pack_init(&p, &data, &h, 1));
    if (!p) return;
    CHECK_OK(vt->slot_start(p, 0, &h, 77));
    int s = 0;
    CHECK_OK(vt->step(p, &s, 1));
    const int K = p->sh->n_out, F = p->F;
    const int64_t n = p->sh->n_valid;
    CHECK_EQ_INT(K, classes);
    float *z = malloc((size_t)n * (size_t)K * sizeof *z);
    const float *x = p->sh->x_valid, *w = p->slots[0]->w + p->w_off[0],
                *b = p->slots[0]->w + p->b_off[0];
    bt_nn_linear_fwd_ref(1, (int)n, F, K, &x, &w, &b, &z);
    double tp[3] = {0}, pred[3] = {0}, lab[3] = {0}, acc = 0;
    for (int64_t r = 0; r < n; r++) {
        int best = 0, y = p->sh->c_valid[r];
        for (int j = 1; j < K; j++)
            if (z[r * K + j] > z[r * K + best]) best = j;
        pred[best]++;
        lab[y]++;
        tp[y] += best == y;
        acc += best == y;
    }
    double want[3] = {0, 0, 0}; /* precision, recall, f1 */
    int used = 0;
    for (int j = classes == 2 ? 1 : 0; j < K; j++) {
        if (pred[j] == 0 && lab[j] == 0) continue;
        double pr = pred[j] > 0 ? tp[j] / pred[j] : 0, re = lab[j] > 0 ? tp[j] / lab[j] : 0;
        want[0] += pr;
        want[1] += re;
        want[2] += pr + re > 0 ? 2 * pr * re / (pr + re) : 0;
        used++;
    }
    static const char *const names[3] = {"precision", "recall", "f1"};
    for (int m = 0; m < 3; m++) {
        double got = NAN;
        CHECK_OK(vt->eval(p, 0, names[m], &got));
        CHECK_MSG(fabs(got - want[m] / used) < 1e-12, "%d classes: %s %.17g, recomputed %.17g",
                  classes, names[m], got, want[m] / used);
    }
    double a = NAN;
    CHECK_OK(vt->eval(p, 0, "accuracy", &a));
    CHECK_MSG(a == acc / (double)n && a < 1.0, "accuracy %g (recomputed %g)", a, acc / (double)n);
    CHECK(bt_mlp_family.metric_maximize("f1") &&
          bt_mlp_family.metric_ok("recall", BT_TASK_MULTICLASS));
    free(z);
    vt->pack_free(p);
    bt_mlp_family.data_free(&data);
    bt_dataset_free(&tr);
}

int main(void) {
    const char *seed = getenv("BT_TEST_SEED");
    rs = seed ? strtoull(seed, NULL, 10) : (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull | 1;
    printf("seed %llu\n", (unsigned long long)rs);
    test_family();
    test_layout();
    test_class_scores(2);
    test_class_scores(3);
    test_packing(0, 0, "relu");
    test_packing(0, 1, "gelu");
    test_packing(1, 1, "tanh");
    return bt_test_finish("test_nn_mlp");
}
