/* The gbdt family: task and metric rules, trial checks, data preparation and export
 * (bt_gbdt_family), and its CPU pack's operations (bt_gbdt_cpu_packs: pack.c, eval.c). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models/gbdt/trainer.h"

static const char *const gbdt_aliases[] = {"xgboost", NULL};
static const char *const gbdt_metrics[] = {"rmse", "mse",      "mae",    "logloss",  "error",
                                           "auc",  "mlogloss", "merror", "accuracy", NULL};

static bt_status gbdt_task_of(const bt_hparams *hp, bt_task *task, int32_t *n_classes) {
    const char *obj = hp->v[BT_GBDT_OBJECTIVE].s;
    if (!obj || strcmp(obj, "reg:squarederror") == 0) {
        *task = BT_TASK_REGRESSION;
        *n_classes = 0;
    } else if (strcmp(obj, "binary:logistic") == 0) {
        *task = BT_TASK_BINARY;
        *n_classes = 2;
    } else if (strcmp(obj, "multi:softprob") == 0) {
        *task = BT_TASK_MULTICLASS;
        *n_classes = (int32_t)hp->v[BT_GBDT_NUM_CLASS].i;
    } else {
        return BT_FAIL(BT_STATUS_BAD_INPUT, "objective: unknown \"%s\"", obj);
    }
    return BT_STATUS_OK;
}

static const char *gbdt_default_metric(bt_task task) {
    return task == BT_TASK_BINARY ? "logloss" : task == BT_TASK_MULTICLASS ? "mlogloss" : "rmse";
}

static int gbdt_metric_ok(const char *metric, bt_task task) {
    int m = bt_gbdt_metric_id(metric);
    switch (m) {
    case BT_GBDT_METRIC_RMSE:
    case BT_GBDT_METRIC_MSE:
    case BT_GBDT_METRIC_MAE:
        return task == BT_TASK_REGRESSION;
    case BT_GBDT_METRIC_LOGLOSS:
    case BT_GBDT_METRIC_ERROR:
    case BT_GBDT_METRIC_AUC:
        return task == BT_TASK_BINARY;
    case BT_GBDT_METRIC_MLOGLOSS:
    case BT_GBDT_METRIC_MERROR:
        return task == BT_TASK_MULTICLASS;
    case BT_GBDT_METRIC_ACCURACY:
        return task == BT_TASK_BINARY || task == BT_TASK_MULTICLASS;
    default:
        return 0;
    }
}

static bt_status gbdt_check(const bt_hparams *hp, bt_task task) {
    const bt_value *v = hp->v;
    if (task == BT_TASK_MULTICLASS && v[BT_GBDT_NUM_CLASS].i == 1)
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "num_class: multi:softprob needs >= 2 classes (or 0 to infer), got 1");
    double bs = v[BT_GBDT_BASE_SCORE].f;
    if (task == BT_TASK_BINARY && !isnan(bs) && !(bs > 0 && bs < 1))
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "base_score: binary:logistic needs a probability in (0, 1), got %g", bs);
    if (task != BT_TASK_BINARY && isinf(bs))
        return BT_FAIL(BT_STATUS_BAD_INPUT, "base_score: must be finite, got %g", bs);
    if (v[BT_GBDT_MAX_LEAVES].i != 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "max_leaves: %lld is not supported: batchtune grows trees depth-wise "
                       "(grow_policy depthwise), bounded by max_depth only; leave max_leaves at 0",
                       (long long)v[BT_GBDT_MAX_LEAVES].i);
    const char *upd = v[BT_GBDT_UPDATER].s, *sel = v[BT_GBDT_FEATURE_SELECTOR].s;
    if (upd && strcmp(upd, "shotgun") == 0 && sel && strcmp(sel, "cyclic") != 0 &&
        strcmp(sel, "shuffle") != 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "feature_selector: updater shotgun supports cyclic and shuffle, not %s "
                       "(as XGBoost); use updater coord_descent",
                       sel);
    /* eval_metric's names are the family's (the spec checked them); they must fit the task */
    char name[64];
    for (const char *q = v[BT_GBDT_EVAL_METRIC].s; q && *q;) {
        size_t len = strcspn(q, ",");
        snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), q);
        q += len + (q[len] == ',');
        if (!gbdt_metric_ok(name, task))
            return BT_FAIL(BT_STATUS_BAD_INPUT,
                           "eval_metric: '%s' does not fit the objective %s (a %s task)", name,
                           v[BT_GBDT_OBJECTIVE].s,
                           task == BT_TASK_REGRESSION ? "regression"
                           : task == BT_TASK_BINARY   ? "binary"
                                                      : "multiclass");
    }
    return BT_STATUS_OK;
}

static bt_status check_labels(const bt_dataset *d, const char *which, bt_task task,
                              int32_t n_classes) {
    if (!d) return BT_STATUS_OK;
    for (int64_t i = 0; i < d->n_rows; i++) {
        float y = d->y[i];
        if (!isfinite(y))
            return BT_FAIL(BT_STATUS_BAD_INPUT, "%s label of row %lld is not finite", which,
                           (long long)i + 1);
        if (task == BT_TASK_BINARY && !(y >= 0.0f && y <= 1.0f))
            return BT_FAIL(BT_STATUS_BAD_INPUT,
                           "%s label of row %lld is %g: binary:logistic needs labels in [0, 1]",
                           which, (long long)i + 1, (double)y);
        if (task == BT_TASK_MULTICLASS &&
            (y != floorf(y) || y < 0 || (n_classes > 0 && y >= (float)n_classes)))
            return BT_FAIL(BT_STATUS_BAD_INPUT,
                           "%s label of row %lld is %g: multi:softprob needs integer labels in "
                           "[0, %d)",
                           which, (long long)i + 1, (double)y, n_classes);
    }
    return BT_STATUS_OK;
}

static bt_status gbdt_data_prepare(bt_model_data *data, const bt_hparams *shape_hp) {
    BT_TRY(check_labels(data->train, "train", data->task, data->n_classes));
    BT_TRY(check_labels(data->valid, "valid", data->task, data->n_classes));
    const bt_gbdt_binning *b = NULL;
    BT_TRY(bt_gbdt_binning_get(data, (int32_t)shape_hp->v[BT_GBDT_MAX_BIN].i, &b));
    const bt_gbdt_shared *sh = data->shared;
    if (data->task == BT_TASK_MULTICLASS && data->n_classes <= 0)
        BT_TRY(check_labels(data->valid, "valid", data->task, sh->n_classes));
    return BT_STATUS_OK;
}

const bt_pack_ops bt_gbdt_cpu_packs = {
    .device = "cpu",
    .pack_init = bt_gbdt_pack_init,
    .pack_free = bt_gbdt_pack_free,
    .slot_start = bt_gbdt_slot_start,
    .slot_clear = bt_gbdt_slot_clear,
    .step = bt_gbdt_step,
    .slot_failed = bt_gbdt_slot_failed,
    .eval = bt_gbdt_eval,
    .note = bt_gbdt_note,
};

const bt_model_family bt_gbdt_family = {
    .name = "gbdt",
    .aliases = gbdt_aliases,
    .params = bt_gbdt_params,
    .n_params = BT_GBDT_N_PARAMS,
    .budget_param = BT_GBDT_NUM_ROUND,
    .metrics = gbdt_metrics,
    .task_of = gbdt_task_of,
    .default_metric = gbdt_default_metric,
    .metric_maximize = bt_gbdt_metric_maximize,
    .metric_ok = gbdt_metric_ok,
    .check = gbdt_check,
    .data_prepare = gbdt_data_prepare,
    .data_free = bt_gbdt_data_free,
    .export_model = bt_gbdt_export,
    .cpu = &bt_gbdt_cpu_packs,
};
