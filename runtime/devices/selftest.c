/* The GPU self-test (selftest.h): the module's op table case by case, then per family a short
 * pack round -- a few trials, a few resource units, on small synthetic data -- trained by the CPU
 * pack and by the GPU pack from the same keys, whose validation metrics must agree (gbdt to
 * rounding, the nn packs within what TF32 GEMMs allow). */
#include "runtime/devices/selftest.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "datasets/dataset.h"
#include "kernels/philox.h"
#include "models/model.h"
#include "models/pack.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Whether name is selected by o->only (a substring, or the whole name with only_exact). */
static int selected(const bt_selftest_opts *o, const char *name) {
    if (!o->only || !*o->only) return 1;
    return o->only_exact ? strcmp(name, o->only) == 0 : strstr(name, o->only) != NULL;
}

static void report(bt_selftest_cb cb, void *ctx, bt_selftest_summary *sum, bt_selftest_row *row) {
    row->passed = row->r.status == BT_STATUS_OK && row->r.failures == 0;
    sum->rows++;
    if (!row->passed && sum->failed++ == 0)
        snprintf(sum->first_failure, sizeof sum->first_failure, "%s %s (%s): %s", row->part,
                 row->name, row->desc,
                 row->r.status != BT_STATUS_OK ? row->r.status_msg : row->r.first);
    if (cb) cb(ctx, row);
}

/* ---- the op table ------------------------------------------------------------------------- */

static void run_ops(const bt_cuda_module *m, const bt_selftest_opts *o, bt_selftest_cb cb,
                    void *ctx, bt_selftest_summary *sum) {
    for (int s = 0; m->op_suites && m->op_suites[s]; s++) {
        const bt_op_suite *suite = m->op_suites[s];
        if (!selected(o, suite->op)) continue;
        for (int k = 0; k < suite->n_cases; k++) {
            const bt_op_case *c = &suite->cases[k];
            bt_selftest_row row = {.part = "op", .name = suite->op, .desc = c->desc};
            double t0 = now_s();
            bt_status st = c->run(c, o->seed + (uint64_t)k, &row.r);
            if (st != BT_STATUS_OK && row.r.status == BT_STATUS_OK) {
                row.r.status = st;
                snprintf(row.r.status_msg, sizeof row.r.status_msg, "%s", bt_status_message());
            }
            bt_status_clear();
            row.seconds = now_s() - t0;
            report(cb, ctx, sum, &row);
        }
    }
}

/* ---- one short pack round per family ------------------------------------------------------- */

typedef struct setting {
    const char *name;
    bt_value v;
} setting;

/* A family's check: its data, shape, per-trial variation, rounds and tolerance. */
typedef struct family_check {
    const char *family;
    const char *desc;
    const char *synthetic; /* "friedman1" | "classification" */
    int64_t rows;
    int32_t features, classes;
    setting shape[6]; /* fixed parameters (name NULL ends) */
    const char *vary; /* the parameter each trial sets differently */
    double vary_values[3];
    int steps;
    double tol; /* relative, on the validation metric */
} family_check;

static const family_check checks[] = {
    {"gbdt",
     "3 trials x 4 rounds, squared error, 2000 rows x 8 features",
     "friedman1",
     2000,
     8,
     0,
     {{"objective", {BT_VALUE_STRING, 0, 0, "reg:squarederror"}},
      {"max_depth", {BT_VALUE_INT, 5, 5.0, 0}},
      {"subsample", {BT_VALUE_FLOAT, 0, 0.8, 0}}},
     "eta",
     {0.1, 0.3, 0.6},
     4,
     1e-6},
    {"gbdt",
     "3 trials x 4 rounds, logistic, 2000 rows x 10 features",
     "classification",
     2000,
     10,
     2,
     {{"objective", {BT_VALUE_STRING, 0, 0, "binary:logistic"}},
      {"max_depth", {BT_VALUE_INT, 4, 4.0, 0}},
      {"colsample_bytree", {BT_VALUE_FLOAT, 0, 0.7, 0}}},
     "eta",
     {0.1, 0.3, 0.6},
     4,
     1e-5},
    {"mlp",
     "3 trials x 2 epochs, width 32, 600 rows x 16 features, 3 classes",
     "classification",
     600,
     16,
     3,
     {{"width", {BT_VALUE_INT, 32, 32.0, 0}},
      {"depth", {BT_VALUE_INT, 2, 2.0, 0}},
      {"batch_size", {BT_VALUE_INT, 64, 64.0, 0}}},
     "lr",
     {0.001, 0.003, 0.01},
     2,
     2e-2},
    {"resnet",
     "2 trials x 1 epoch, ResNet-8 width 8, 1x8x8 images, 3 classes",
     "classification",
     300,
     64,
     3,
     {{"depth", {BT_VALUE_INT, 8, 8.0, 0}},
      {"width", {BT_VALUE_INT, 8, 8.0, 0}},
      {"batch_size", {BT_VALUE_INT, 32, 32.0, 0}},
      {"input_shape", {BT_VALUE_STRING, 0, 0, "1x8x8"}}},
     "lr",
     {0.001, 0.003, 0},
     1,
     2e-2},
};

static bt_status set_param(const bt_model_family *f, bt_value *hp, const char *name, bt_value v) {
    int i = bt_model_param_index(f, name);
    if (i < 0)
        return BT_FAIL(BT_STATUS_INTERNAL, "selftest: %s has no parameter %s", f->name, name);
    hp[i] = v;
    return BT_STATUS_OK;
}

/* Trains n trials in one pack of `ops` for `steps` units; metric[k] afterwards. */
static bt_status train(const bt_pack_ops *ops, bt_model_data *data, const bt_value *hp, int n_p,
                       int n, int steps, uint64_t seed, const char *metric, double *out) {
    const bt_hparams shape = {hp};
    bt_pack *pk = NULL;
    BT_TRY(ops->pack_init(&pk, data, &shape, n));
    bt_status st = BT_STATUS_OK;
    int slots[3];
    for (int k = 0; k < n && st == BT_STATUS_OK; k++) {
        const bt_hparams h = {hp + (size_t)k * n_p};
        st = ops->slot_start(pk, k, &h, bt_philox_key(seed, (uint64_t)k));
        slots[k] = k;
    }
    for (int r = 0; r < steps && st == BT_STATUS_OK; r++) st = ops->step(pk, slots, n);
    for (int k = 0; k < n && st == BT_STATUS_OK; k++) st = ops->eval(pk, k, metric, &out[k]);
    ops->pack_free(pk);
    return st;
}

/* One check: the CPU pack's metrics and the GPU pack's, compared. */
static bt_status run_check(const family_check *fc, const bt_pack_ops *gpu_ops, int gpu,
                           uint64_t seed, bt_op_result *r) {
    const bt_model_family *f = bt_model_find(fc->family);
    if (!f) return BT_FAIL(BT_STATUS_INTERNAL, "selftest: no family %s", fc->family);
    const int n_p = f->n_params, n = fc->vary_values[2] > 0 ? 3 : 2;
    bt_value hp[3 * 64];
    if (n_p > 64)
        return BT_FAIL(BT_STATUS_INTERNAL, "selftest: %s has too many parameters", f->name);
    for (int k = 0; k < n; k++) {
        bt_value *h = hp + (size_t)k * n_p;
        for (int p = 0; p < n_p; p++) h[p] = f->params[p].def;
        for (int s = 0; s < 6 && fc->shape[s].name; s++)
            BT_TRY(set_param(f, h, fc->shape[s].name, fc->shape[s].v));
        BT_TRY(set_param(f, h, fc->vary, bt_value_float(fc->vary_values[k])));
    }
    bt_dataset_spec ds = {.synthetic = (char *)fc->synthetic,
                          .rows = fc->rows,
                          .features = fc->features,
                          .classes = fc->classes,
                          .seed = seed,
                          .noise = 0.1,
                          .valid_fraction = 0.25,
                          .split_seed = seed,
                          .target_index = -1};
    bt_model_data data = {.threads = 1};
    const bt_hparams h0 = {hp};
    BT_TRY(f->task_of(&h0, &data.task, &data.n_classes));
    bt_dataset tr = {0}, va = {0};
    bt_status st = bt_dataset_from_spec(&ds, data.task, data.n_classes, &tr, &va);
    data.train = &tr;
    data.valid = &va;
    if (st == BT_STATUS_OK && data.task == BT_TASK_MULTICLASS && data.n_classes <= 0)
        data.n_classes = fc->classes;
    if (st == BT_STATUS_OK) st = f->data_prepare(&data, &h0);
    const char *metric = f->default_metric(data.task);
    double cpu[3] = {0}, dev[3] = {0};
    if (st == BT_STATUS_OK) st = train(f->cpu, &data, hp, n_p, n, fc->steps, seed, metric, cpu);
    if (st == BT_STATUS_OK) st = bt_gpu_select(gpu);
    if (st == BT_STATUS_OK) st = train(gpu_ops, &data, hp, n_p, n, fc->steps, seed, metric, dev);
    if (gpu_ops->data_release) gpu_ops->data_release(&data);
    f->data_free(&data);
    bt_dataset_free(&tr);
    bt_dataset_free(&va);
    BT_TRY(st);
    for (int k = 0; k < n; k++) {
        double err = fabs(dev[k] - cpu[k]) / fmax(fabs(cpu[k]), 1e-12);
        r->checks++;
        if (!(err <= fc->tol) && r->failures++ == 0)
            snprintf(r->first, sizeof r->first, "trial %d: %s %.9g on the GPU, %.9g on the CPU", k,
                     metric, dev[k], cpu[k]);
        if (err > r->worst || isnan(err)) r->worst = err;
    }
    return BT_STATUS_OK;
}

static void run_packs(const bt_cuda_module *m, const bt_selftest_opts *o, bt_selftest_cb cb,
                      void *ctx, bt_selftest_summary *sum) {
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        const family_check *fc = &checks[i];
        if (!selected(o, fc->family)) continue;
        const bt_pack_ops *ops = m->pack_ops(fc->family);
        if (!ops || (ops->experimental && !o->experimental)) continue;
        bt_selftest_row row = {.part = "pack", .name = fc->family, .desc = fc->desc};
        double t0 = now_s();
        bt_status st = run_check(fc, ops, o->gpu, o->seed, &row.r);
        if (st != BT_STATUS_OK) {
            row.r.status = st;
            snprintf(row.r.status_msg, sizeof row.r.status_msg, "%s", bt_status_message());
            bt_status_clear();
        }
        row.seconds = now_s() - t0;
        report(cb, ctx, sum, &row);
    }
}

/* The module and GPU o->gpu, or BT_STATUS_NO_DEVICE saying why there is none. */
static bt_status usable_gpu(int gpu, const bt_cuda_module **m) {
    *m = bt_cuda_module_get();
    const bt_gpu_probe *p = bt_gpu_probe_get();
    if (!*m || p->kind != BT_GPU_PROBE_OK)
        return BT_FAIL(BT_STATUS_NO_DEVICE, "no usable GPU: %s", p->why);
    if (gpu < 0 || gpu >= p->count)
        return BT_FAIL(BT_STATUS_NO_DEVICE, "no GPU %d: %d visible", gpu, p->count);
    return bt_gpu_select(gpu) == BT_STATUS_OK
               ? BT_STATUS_OK
               : BT_FAIL(BT_STATUS_NO_DEVICE, "GPU %d: %s", gpu, bt_status_message());
}

bt_status bt_selftest_run(const bt_selftest_opts *o, bt_selftest_cb cb, void *ctx,
                          bt_selftest_summary *sum) {
    memset(sum, 0, sizeof *sum);
    const bt_cuda_module *m;
    BT_TRY(usable_gpu(o->gpu, &m));
    if (o->ops) run_ops(m, o, cb, ctx, sum);
    if (o->packs) run_packs(m, o, cb, ctx, sum);
    return BT_STATUS_OK;
}

bt_status bt_selftest_family(const char *family, int gpu, uint64_t seed, int *ok, char *why,
                             size_t why_n) {
    *ok = 0;
    const bt_cuda_module *m;
    BT_TRY(usable_gpu(gpu, &m));
    bt_selftest_opts o = {
        .gpu = gpu, .seed = seed, .packs = 1, .only = family, .only_exact = 1, .experimental = 1};
    bt_selftest_summary sum;
    memset(&sum, 0, sizeof sum);
    run_packs(m, &o, NULL, NULL, &sum);
    *ok = sum.failed == 0;
    snprintf(why, why_n, "%s", sum.first_failure);
    return BT_STATUS_OK;
}
