/* The mlp family's vtable: task and metric rules, trial checks, data preparation, and the pack
 * entry points of pack.c wired into the model interface. Classification trains softmax
 * cross-entropy (any class count, binary included: two outputs); regression trains squared error
 * on standardized targets. */
#include <math.h>
#include <string.h>

#include "nn.h"

static const char *const mlp_aliases[] = {"nn", NULL};
/* Binary sets train as 2-class softmax, so classification reports the multiclass names only
 * (one name per quantity keeps the results' history free of duplicates). */
static const char *const mlp_metrics[] = {"accuracy", "merror", "mlogloss", "rmse",
                                          "mse",      "mae",    NULL};

static int is_regression(const char *obj) {
    return obj && (strcmp(obj, "regression") == 0 || strcmp(obj, "reg:squarederror") == 0);
}

static bt_status mlp_task_of(const bt_hparams *hp, bt_task *task, int32_t *n_classes) {
    const char *obj = hp->v[BT_MLP_OBJECTIVE].s;
    if (is_regression(obj)) {
        *task = BT_TASK_REGRESSION;
        *n_classes = 0;
    } else if (!obj || strcmp(obj, "classification") == 0 || strcmp(obj, "multi:softprob") == 0) {
        *task = BT_TASK_MULTICLASS;
        *n_classes = (int32_t)hp->v[BT_MLP_NUM_CLASS].i;
    } else {
        return BT_FAIL(BT_STATUS_BAD_INPUT, "objective: unknown \"%s\"", obj);
    }
    return BT_STATUS_OK;
}

static const char *mlp_default_metric(bt_task task) {
    return task == BT_TASK_REGRESSION ? "rmse" : "mlogloss";
}

static int mlp_metric_maximize(const char *metric) {
    return metric && strcmp(metric, "accuracy") == 0;
}

static int metric_id(const char *m, int *complement, int *root) {
    *complement = 0;
    *root = 0;
    if (!m) return -1;
    if (strcmp(m, "accuracy") == 0) return BT_NN_M_ACCURACY;
    if (strcmp(m, "merror") == 0) {
        *complement = 1;
        return BT_NN_M_ACCURACY;
    }
    if (strcmp(m, "mlogloss") == 0) return BT_NN_M_LOGLOSS;
    if (strcmp(m, "mse") == 0) return BT_NN_M_MSE;
    if (strcmp(m, "rmse") == 0) {
        *root = 1;
        return BT_NN_M_MSE;
    }
    if (strcmp(m, "mae") == 0) return BT_NN_M_MAE;
    return -1;
}

static int mlp_metric_ok(const char *metric, bt_task task) {
    int c, r;
    int id = metric_id(metric, &c, &r);
    if (id < 0) return 0;
    if (id == BT_NN_M_MSE || id == BT_NN_M_MAE) return task == BT_TASK_REGRESSION;
    return task != BT_TASK_REGRESSION;
}

static bt_status mlp_check(const bt_hparams *hp, bt_task task) {
    const bt_value *v = hp->v;
    if (task == BT_TASK_MULTICLASS && v[BT_MLP_NUM_CLASS].i == 1)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "num_class: classification needs >= 2 classes (or 0 "
                                            "to infer), got 1");
    if (!(v[BT_MLP_LR].f > 0))
        return BT_FAIL(BT_STATUS_BAD_INPUT, "lr: must be > 0, got %g", v[BT_MLP_LR].f);
    if (v[BT_MLP_DEPTH].i > 0 && v[BT_MLP_WIDTH].i < 1)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "width: must be >= 1");
    return BT_STATUS_OK;
}

static bt_status mlp_data_prepare(bt_model_data *data, const bt_hparams *shape_hp) {
    (void)shape_hp;
    return bt_nn_data_prepare(data);
}

bt_status bt_mlp_eval(bt_pack *p, int slot, const char *metric, double *out) {
    if (slot < 0 || slot >= p->capacity || !p->slots[slot])
        return BT_FAIL(BT_STATUS_INTERNAL, "eval: slot %d is not started", slot);
    int complement, root;
    int id = metric_id(metric, &complement, &root);
    if (id < 0) return BT_FAIL(BT_STATUS_BAD_INPUT, "mlp: unknown metric \"%s\"", metric);
    const bt_mlp_slot *s = p->slots[slot];
    double x = s->failed ? NAN : s->metric[id];
    if (complement) x = 1.0 - x;
    if (root) x = sqrt(x);
    *out = x;
    return BT_STATUS_OK;
}

const bt_model_vtable bt_mlp_vtable = {
    .name = "mlp",
    .aliases = mlp_aliases,
    .params = bt_mlp_params,
    .n_params = BT_MLP_N_PARAMS,
    .budget_param = BT_MLP_EPOCHS,
    .metrics = mlp_metrics,
    .task_of = mlp_task_of,
    .default_metric = mlp_default_metric,
    .metric_maximize = mlp_metric_maximize,
    .metric_ok = mlp_metric_ok,
    .check = mlp_check,
    .data_prepare = mlp_data_prepare,
    .data_free = bt_nn_data_free,
    .pack_init = bt_mlp_pack_init,
    .pack_free = bt_mlp_pack_free,
    .slot_start = bt_mlp_slot_start,
    .slot_clear = bt_mlp_slot_clear,
    .step = bt_mlp_step,
    .slot_failed = bt_mlp_slot_failed,
    .eval = bt_mlp_eval,
    .export_model = NULL,
};
