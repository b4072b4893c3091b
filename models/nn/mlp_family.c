/* The mlp family: the shared nn task and metric rules (nn_family.c), the mlp's own trial checks
 * and data preparation (bt_mlp_family), and its CPU pack's operations (bt_mlp_cpu_packs:
 * mlp_pack.c, nn_snapshot.c). Classification trains softmax cross-entropy (any class count, binary
 * included: two outputs); regression trains squared error on standardized targets. */
#include "models/nn/nn.h"

static const char *const mlp_aliases[] = {"nn", NULL};
/* Binary sets train as 2-class softmax, so classification reports the multiclass names only
 * (one name per quantity keeps the results' history free of duplicates). */
static const char *const mlp_metrics[] = {"accuracy", "merror", "mlogloss", "rmse",
                                          "mse",      "mae",    NULL};

static bt_status mlp_check(const bt_hparams *hp, bt_task task) {
    BT_TRY(bt_nn_check_common(hp, hp->v + BT_MLP_COMMON, task));
    if (hp->v[BT_MLP_DEPTH].i > 0 && hp->v[BT_MLP_WIDTH].i < 1)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "width: must be >= 1");
    return BT_STATUS_OK;
}

static bt_status mlp_data_prepare(bt_model_data *data, const bt_hparams *shape_hp) {
    (void)shape_hp;
    return bt_nn_data_prepare(data);
}

bt_status bt_mlp_eval(bt_pack *p, int slot, const char *metric, double *out) {
    return bt_nn_slot_metric(p->slots, p->capacity, slot, metric, out);
}

static int mlp_budget_prefix(const bt_hparams *hp) {
    return bt_nn_budget_prefix(hp->v + BT_MLP_COMMON);
}

const bt_pack_ops bt_mlp_cpu_packs = {
    .device = "cpu",
    .pack_init = bt_mlp_pack_init,
    .pack_free = bt_mlp_pack_free,
    .slot_start = bt_mlp_slot_start,
    .slot_clear = bt_mlp_slot_clear,
    .step = bt_mlp_step,
    .slot_failed = bt_mlp_slot_failed,
    .eval = bt_mlp_eval,
    .slot_save = bt_mlp_slot_save,
    .slot_restore = bt_mlp_slot_restore,
};

const bt_model_family bt_mlp_family = {
    .name = "mlp",
    .aliases = mlp_aliases,
    .params = bt_mlp_params,
    .n_params = BT_MLP_N_PARAMS,
    .budget_param = BT_MLP_EPOCHS,
    .metrics = mlp_metrics,
    .metrics_on_request = bt_nn_metrics_on_request,
    .task_of = bt_nn_task_of,
    .default_metric = bt_nn_default_metric,
    .metric_maximize = bt_nn_metric_maximize,
    .metric_ok = bt_nn_metric_ok,
    .check = mlp_check,
    .data_prepare = mlp_data_prepare,
    .data_free = bt_nn_data_free,
    .budget_prefix = mlp_budget_prefix,
    .cpu = &bt_mlp_cpu_packs,
};
