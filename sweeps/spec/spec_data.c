/* The `dataset` block (files resolved against the sweep file's folder, exactly one source, types
 * and ranges of every option) and the `execution` block (device, pack size, streams, threads). */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweeps/spec/didyoumean.h"
#include "sweeps/spec/spec_internal.h"

/* A synthetic table is generated in memory: 2^32 cells are 16 GiB of floats. */
#define BT_SYNTHETIC_MAX_CELLS 4294967296.0

static char *resolve(const bt_spec *s, char *p) {
    if (!p || p[0] == '/' || !s->dir || strcmp(s->dir, ".") == 0) return p;
    size_t n = strlen(s->dir) + strlen(p) + 2;
    char *r = malloc(n);
    if (!r) return p;
    snprintf(r, n, "%s%s%s", s->dir, s->dir[strlen(s->dir) - 1] == '/' ? "" : "/", p);
    free(p);
    return r;
}

static void read_enum(bt_spec_ctx *c, const cJSON *obj, const char *key, const char *path,
                      const char *const *allowed, char **out) {
    if (bt_spec_read_string(c, obj, key, path, out) != 1) return;
    for (int i = 0; allowed[i]; i++)
        if (strcmp(allowed[i], *out) == 0) return;
    char list[256] = "", p[BT_PATH_MAX];
    for (int i = 0; allowed[i]; i++) {
        size_t len = strlen(list);
        snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", allowed[i]);
    }
    const char *dym = bt_didyoumean(*out, allowed, -1);
    bt_spec_err(c, bt_spec_get(obj, key), 0, bt_spec_path(p, path, key),
                "unknown %s \"%s\"%s%s%s; one of %s", key, *out, dym ? " (did you mean '" : "",
                dym ? dym : "", dym ? "'?)" : "", list);
    free(*out);
    *out = NULL;
}

void bt_spec_parse_dataset(bt_spec_ctx *c, const cJSON *ds) {
    bt_dataset_spec *d = &c->spec->dataset;
    if (!cJSON_IsObject(ds)) {
        bt_spec_err(c, ds, 0, "dataset", "must be an object such as {\"path\": \"data.csv\"}");
        return;
    }
    static const char *const keys[] = {"train",      "train_labels", "valid",  "valid_labels",
                                       "path",       "format",       "target", "valid_fraction",
                                       "split_seed", "synthetic",    "rows",   "features",
                                       "classes",    "seed",         "noise",  NULL};
    bt_spec_check_keys(c, ds, "dataset", keys);
    static const char *const sources[] = {"train", "path", "synthetic"};
    const cJSON *first = NULL;
    int n_src = 0;
    for (int i = 0; i < 3; i++) {
        const cJSON *it = bt_spec_get(ds, sources[i]);
        if (!it) continue;
        if (n_src++ == 0) {
            first = it;
            continue;
        }
        char p[BT_PATH_MAX];
        bt_spec_err(c, it, 1, bt_spec_path(p, "dataset", sources[i]),
                    "give exactly one of train, path, synthetic (already given: %s)",
                    first->string);
    }
    if (n_src == 0)
        bt_spec_err(c, ds, 0, "dataset",
                    "needs one of train (with optional valid), path (split by valid_fraction) "
                    "or synthetic");

    bt_spec_read_string(c, ds, "train", "dataset", &d->train);
    bt_spec_read_string(c, ds, "train_labels", "dataset", &d->train_labels);
    bt_spec_read_string(c, ds, "valid", "dataset", &d->valid);
    bt_spec_read_string(c, ds, "valid_labels", "dataset", &d->valid_labels);
    bt_spec_read_string(c, ds, "path", "dataset", &d->path);
    static const char *const formats[] = {"csv", "libsvm", "npy", "hdf5", "idx", "cifar", NULL};
    read_enum(c, ds, "format", "dataset", formats, &d->format);
    static const char *const synth[] = {"friedman1", "classification", NULL};
    read_enum(c, ds, "synthetic", "dataset", synth, &d->synthetic);
    char p[BT_PATH_MAX];

    /* Keys that only make sense with one kind of source. */
    static const char *const train_only[] = {"train_labels", "valid", "valid_labels", NULL};
    for (int i = 0; train_only[i]; i++) {
        const cJSON *it = bt_spec_get(ds, train_only[i]);
        if (it && !bt_spec_get(ds, "train"))
            bt_spec_err(c, it, 1, bt_spec_path(p, "dataset", train_only[i]), "'%s' goes with train",
                        train_only[i]);
    }
    if (bt_spec_get(ds, "valid_labels") && !bt_spec_get(ds, "valid") && bt_spec_get(ds, "train"))
        bt_spec_err(c, bt_spec_get(ds, "valid_labels"), 1, "dataset.valid_labels",
                    "'valid_labels' goes with valid");
    static const char *const synth_only[] = {"rows", "features", "classes", "seed", "noise", NULL};
    for (int i = 0; synth_only[i]; i++) {
        const cJSON *it = bt_spec_get(ds, synth_only[i]);
        if (it && !bt_spec_get(ds, "synthetic"))
            bt_spec_err(c, it, 1, bt_spec_path(p, "dataset", synth_only[i]),
                        "'%s' applies to synthetic datasets only", synth_only[i]);
    }
    const cJSON *vf = bt_spec_get(ds, "valid_fraction");
    if (vf && bt_spec_get(ds, "valid"))
        bt_spec_err(c, vf, 1, "dataset.valid_fraction",
                    "valid_fraction is unused when a valid file is given");

    const cJSON *target = bt_spec_get(ds, "target");
    if (target) {
        int64_t ti;
        if (bt_spec_get(ds, "synthetic"))
            bt_spec_err(c, target, 1, "dataset.target", "synthetic datasets have no target column");
        else if (cJSON_IsString(target) && target->valuestring[0])
            d->target_name = bt_spec_strdup(target->valuestring);
        else if (cJSON_IsNumber(target) && bt_spec_int_of(c, target, &ti) && ti >= INT32_MIN &&
                 ti <= INT32_MAX)
            d->target_index = (int)ti;
        else
            bt_spec_err(c, target, 0, "dataset.target",
                        "must be a column name (string) or a column index (integer; negative "
                        "counts from the end)");
    }
    double v;
    if (bt_spec_read_number(c, ds, "valid_fraction", "dataset", &v) == 1) {
        if (!(v > 0 && v < 1))
            bt_spec_err(c, vf, 0, "dataset.valid_fraction", "must lie in (0, 1), got %g", v);
        else
            d->valid_fraction = v;
    }
    int64_t iv;
    if (bt_spec_read_int(c, ds, "split_seed", "dataset", 0, INT64_MAX, &iv) == 1)
        d->split_seed = (uint64_t)iv;

    if (d->synthetic) {
        int friedman = strcmp(d->synthetic, "friedman1") == 0;
        d->rows = 1000;
        d->features = 10;
        d->classes = friedman ? 0 : 2;
        d->noise = 0;
        if (bt_spec_read_int(c, ds, "rows", "dataset", 2, INT32_MAX, &iv) == 1) d->rows = iv;
        if (bt_spec_read_int(c, ds, "features", "dataset", friedman ? 5 : 1, 1 << 20, &iv) == 1)
            d->features = (int32_t)iv;
        if ((double)d->rows * (double)d->features > BT_SYNTHETIC_MAX_CELLS)
            bt_spec_err(
                c, bt_spec_get(ds, "rows") ? bt_spec_get(ds, "rows") : bt_spec_get(ds, "features"),
                0, "dataset.rows",
                "%lld rows x %d features is more than %.3g cells (%.0f GiB of floats), "
                "the limit for a synthetic set",
                (long long)d->rows, d->features, BT_SYNTHETIC_MAX_CELLS,
                BT_SYNTHETIC_MAX_CELLS * 4 / (1 << 30));
        const cJSON *cl = bt_spec_get(ds, "classes");
        if (cl && friedman)
            bt_spec_err(c, cl, 1, "dataset.classes", "friedman1 is a regression set; no classes");
        else if (bt_spec_read_int(c, ds, "classes", "dataset", 2, BT_MAX_CLASSES, &iv) == 1)
            d->classes = (int32_t)iv;
        if (bt_spec_read_int(c, ds, "seed", "dataset", 0, INT64_MAX, &iv) == 1)
            d->seed = (uint64_t)iv;
        if (bt_spec_read_number(c, ds, "noise", "dataset", &v) == 1) {
            if (!(v >= 0) || !isfinite(v))
                bt_spec_err(c, bt_spec_get(ds, "noise"), 0, "dataset.noise", "must be >= 0, got %g",
                            v);
            else
                d->noise = v;
        }
        /* The synthetic set fixes the task; the objective must agree. */
        int want = friedman          ? 1 << BT_TASK_REGRESSION
                   : d->classes == 2 ? 1 << BT_TASK_BINARY
                                     : 1 << BT_TASK_MULTICLASS;
        if (c->task_mask && (c->task_mask & ~want))
            bt_spec_err(c, bt_spec_get(ds, "synthetic"), 0, "dataset.synthetic",
                        "synthetic \"%s\"%s is a %s task but the objective asks for another; "
                        "set model.objective accordingly",
                        d->synthetic, friedman ? "" : (d->classes == 2 ? " with 2 classes" : ""),
                        friedman          ? "regression"
                        : d->classes == 2 ? "binary"
                                          : "multiclass");
    }
    d->train = resolve(c->spec, d->train);
    d->train_labels = resolve(c->spec, d->train_labels);
    d->valid = resolve(c->spec, d->valid);
    d->valid_labels = resolve(c->spec, d->valid_labels);
    d->path = resolve(c->spec, d->path);
}

/* What the device resolver (runtime/devices: ids 0..65535, at most 16 GPUs, its BT_MAX_GPUS) and
 * program mode (up to 256 ids, processes spread over them) take, so `run` never refuses what
 * `validate` passed. */
static int device_ok(const char *s, int max_ids) {
    if (strcmp(s, "auto") == 0 || strcmp(s, "cpu") == 0 || strcmp(s, "cuda") == 0 ||
        strcmp(s, "cuda:all") == 0)
        return 1;
    if (strncmp(s, "cuda:", 5) != 0) return 0;
    s += 5;
    for (int n = 1; n <= max_ids; n++) {
        long v = 0;
        if (!isdigit((unsigned char)*s)) return 0;
        while (isdigit((unsigned char)*s) && v <= 65535) v = v * 10 + (*s++ - '0');
        if (v > 65535) return 0;
        if (*s == '\0') return 1;
        if (*s++ != ',') return 0;
    }
    return 0;
}

void bt_spec_parse_exec(bt_spec_ctx *c, const cJSON *ex) {
    bt_exec_spec *e = &c->spec->exec;
    e->max_pack = 256;
    e->streams = 0; /* unset: 4 per GPU */
    e->threads = 0;
    if (ex && !cJSON_IsObject(ex)) {
        bt_spec_err(c, ex, 0, "execution", "must be an object such as {\"device\": \"cuda\"}");
        ex = NULL;
    }
    if (ex) {
        static const char *const keys[] = {"device",  "gpu_packs",      "max_pack", "streams",
                                           "threads", "concurrency",    "per_gpu",  "mps",
                                           "wandb",   "grace",          "retries",  "trial_timeout",
                                           "log_cap", "broadcast_data", NULL};
        bt_spec_check_keys(c, ex, "execution", keys);
        int max_ids = c->spec->prog.on ? 256 : 16;
        if (bt_spec_read_string(c, ex, "device", "execution", &e->device) == 1 &&
            !device_ok(e->device, max_ids))
            bt_spec_err(
                c, bt_spec_get(ex, "device"), 0, "execution.device",
                "must be \"auto\", \"cpu\", \"cuda\", \"cuda:all\" or \"cuda:0,1,...\" (ids "
                "0..65535, at most %d), got \"%s\"",
                max_ids, e->device);
        if (bt_spec_read_string(c, ex, "gpu_packs", "execution", &e->gpu_packs) == 1 &&
            strcmp(e->gpu_packs, "stable") != 0 && strcmp(e->gpu_packs, "all") != 0)
            bt_spec_err(c, bt_spec_get(ex, "gpu_packs"), 0, "execution.gpu_packs",
                        "must be \"stable\" (GPU packs verified on a GPU) or \"all\" "
                        "(experimental ones too), got \"%s\"",
                        e->gpu_packs);
        int64_t v;
        int b;
        if (bt_spec_read_bool(c, ex, "broadcast_data", "execution", &b) == 1) e->broadcast_data = b;
        if (bt_spec_read_int(c, ex, "max_pack", "execution", 1, 1 << 20, &v) == 1) e->max_pack = v;
        if (bt_spec_read_int(c, ex, "streams", "execution", 1, 64, &v) == 1) e->streams = (int)v;
        if (bt_spec_read_int(c, ex, "threads", "execution", 0, 4096, &v) == 1) e->threads = (int)v;
        if (bt_spec_read_int(c, ex, "concurrency", "execution", 1, 1 << 20, &v) == 1)
            e->concurrency = v;
    }
    /* XGBoost's n_jobs (nthread) fixed in the model block sets the threads when execution does
     * not (-1 and 0: every core) */
    for (int i = 0; i < c->spec->n_model_fixed && !bt_spec_get(ex, "threads"); i++)
        if (strcmp(c->spec->model_fixed[i].key, "n_jobs") == 0 &&
            c->spec->model_fixed[i].value.kind == BT_VALUE_INT &&
            c->spec->model_fixed[i].value.i > 0)
            e->threads = (int)c->spec->model_fixed[i].value.i;
    if (!e->device) e->device = bt_spec_strdup("auto");
}

int64_t bt_spec_concurrency(const bt_spec *s) {
    if (s->exec.concurrency > 0) return s->exec.concurrency;
    if (s->prog.on) return 0; /* per GPU slot, else per core: the runtime's to say */
    if (bt_method_is_model(s->method))
        return s->model_concurrency > 0 ? s->model_concurrency : BT_SPEC_MODEL_CONCURRENCY;
    return s->exec.max_pack > 0 ? s->exec.max_pack : 256;
}
