/* Vtable rules the nn families share: the task from `objective` and `num_class` (parameters 0
 * and 1 of every nn table), the metric names and their directions, the checks of the shared
 * training block, and the choice lists of that block. */
#include <math.h>
#include <string.h>

#include "models/nn/nn.h"

const char *const bt_nn_optimizer_names[] = {"sgd", "nesterov", "adam", "adamw", "rmsprop", NULL};
const char *const bt_nn_schedule_names[] = {"constant", "step", "cosine", NULL};

static int is_regression(const char *obj) {
    return obj && (strcmp(obj, "regression") == 0 || strcmp(obj, "reg:squarederror") == 0);
}

bt_status bt_nn_task_of(const bt_hparams *hp, bt_task *task, int32_t *n_classes) {
    const char *obj = hp->v[BT_NN_P_OBJECTIVE].s;
    if (is_regression(obj)) {
        *task = BT_TASK_REGRESSION;
        *n_classes = 0;
    } else if (!obj || strcmp(obj, "classification") == 0 || strcmp(obj, "multi:softprob") == 0) {
        *task = BT_TASK_MULTICLASS;
        *n_classes = (int32_t)hp->v[BT_NN_P_NUM_CLASS].i;
    } else {
        return BT_FAIL(BT_STATUS_BAD_INPUT, "objective: unknown \"%s\"", obj);
    }
    return BT_STATUS_OK;
}

const char *bt_nn_default_metric(bt_task task) {
    return task == BT_TASK_REGRESSION ? "rmse" : "mlogloss";
}

const char *const bt_nn_metrics_on_request[] = {"f1", "precision", "recall", NULL};

int bt_nn_metric_maximize(const char *metric) {
    static const char *const up[] = {"accuracy", "f1", "precision", "recall", NULL};
    for (int i = 0; metric && up[i]; i++)
        if (strcmp(metric, up[i]) == 0) return 1;
    return 0;
}

/* Which stored metric a name reads, and whether it is 1 - x (merror) or sqrt(x) (rmse). */
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
    if (strcmp(m, "f1") == 0) return BT_NN_M_F1;
    if (strcmp(m, "precision") == 0) return BT_NN_M_PRECISION;
    if (strcmp(m, "recall") == 0) return BT_NN_M_RECALL;
    if (strcmp(m, "mse") == 0) return BT_NN_M_MSE;
    if (strcmp(m, "rmse") == 0) {
        *root = 1;
        return BT_NN_M_MSE;
    }
    if (strcmp(m, "mae") == 0) return BT_NN_M_MAE;
    return -1;
}

int bt_nn_metric_ok(const char *metric, bt_task task) {
    int c, r;
    int id = metric_id(metric, &c, &r);
    if (id < 0) return 0;
    if (id == BT_NN_M_MSE || id == BT_NN_M_MAE) return task == BT_TASK_REGRESSION;
    return task != BT_TASK_REGRESSION;
}

bt_status bt_nn_slot_metric(bt_nn_slot *const *slots, int capacity, int slot, const char *metric,
                            double *out) {
    if (slot < 0 || slot >= capacity || !slots[slot])
        return BT_FAIL(BT_STATUS_INTERNAL, "eval: slot %d is not started", slot);
    const bt_nn_slot *s = slots[slot];
    int complement, root;
    int id = metric_id(metric, &complement, &root);
    if (id < 0) return BT_FAIL(BT_STATUS_BAD_INPUT, "unknown metric \"%s\"", metric);
    double x = s->failed ? NAN : s->metric[id];
    if (complement) x = 1.0 - x;
    if (root) x = sqrt(x);
    *out = x;
    return BT_STATUS_OK;
}

bt_status bt_nn_check_common(const bt_hparams *hp, const bt_value *c, bt_task task) {
    if (task == BT_TASK_MULTICLASS && hp->v[BT_NN_P_NUM_CLASS].i == 1)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "num_class: classification needs >= 2 classes (or 0 "
                                            "to infer), got 1");
    if (!(c[BT_NN_C_LR].f > 0))
        return BT_FAIL(BT_STATUS_BAD_INPUT, "lr: must be > 0, got %g", c[BT_NN_C_LR].f);
    return BT_STATUS_OK;
}

int bt_nn_budget_prefix(const bt_value *c) {
    const char *sched = c[BT_NN_C_LR_SCHEDULE].s;
    return !(sched && strcmp(sched, "cosine") == 0 && c[BT_NN_C_T_MAX].i <= 0);
}
