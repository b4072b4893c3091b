/* The resnet family (bt_resnet_family): the shared nn task and metric rules, its own checks
 * (depth 6n + 2, an input shape that fits the data); and its CPU pack's operations
 * (bt_resnet_cpu_packs) with the epoch: a step trains the listed slots in groups of
 * the pack's group size, each group through the shared epoch driver with the resnet's forward,
 * backward and evaluation. */
#include <stdlib.h>

#include "models/nn/resnet.h"

static const char *const resnet_aliases[] = {"cnn", NULL};
static const char *const resnet_metrics[] = {"accuracy", "merror", "mlogloss", NULL};

static bt_status resnet_check(const bt_hparams *hp, bt_task task) {
    if (task != BT_TASK_MULTICLASS)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "resnet: classification only");
    BT_TRY(bt_nn_check_common(hp, hp->v + BT_RESNET_COMMON, task));
    int64_t d = hp->v[BT_RESNET_DEPTH].i;
    if (d < 8 || (d - 2) % 6 != 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "depth: must be 6n + 2 (8, 14, 20, 32, ...), got %lld",
                       (long long)d);
    return BT_STATUS_OK;
}

static bt_status resnet_data_prepare(bt_model_data *data, const bt_hparams *shape_hp) {
    int32_t c, h, w;
    BT_TRY(bt_resnet_input_shape(data->train, shape_hp->v[BT_RESNET_INPUT_SHAPE].s, &c, &h, &w));
    return bt_nn_data_prepare_labels(data);
}

static void fwd_bwd(void *ctx, bt_nn_slot *const *act, int n, const int32_t *const *idx, int rows,
                    uint32_t batch, double *loss) {
    bt_resnet_fwd_bwd(ctx, act, n, idx, rows, batch, loss);
}

static void evaluate(void *ctx, bt_nn_slot *const *act, int n) {
    bt_resnet_evaluate(ctx, act, n);
}

bt_status bt_resnet_step(bt_pack *pk, const int *slots, int n_slots) {
    bt_resnet_pack *p = (bt_resnet_pack *)pk;
    bt_nn_slot **act = NULL;
    int n = 0;
    BT_TRY(bt_nn_active_slots(p->slots, p->capacity, slots, n_slots, &act, &n));
    bt_nn_epoch_ops ops = {.ctx = p,
                           .n_train = p->sh->n_train,
                           .n_params = p->n_params,
                           .batch = p->B,
                           .threads = p->threads,
                           .fwd_bwd = fwd_bwd,
                           .evaluate = evaluate};
    bt_status st = BT_STATUS_OK;
    for (int g0 = 0; g0 < n && st == BT_STATUS_OK; g0 += p->group)
        st = bt_nn_run_epoch(&ops, act + g0, n - g0 < p->group ? n - g0 : p->group);
    free(act);
    return st;
}

bt_status bt_resnet_eval(bt_pack *pk, int slot, const char *metric, double *out) {
    bt_resnet_pack *p = (bt_resnet_pack *)pk;
    return bt_nn_slot_metric(p->slots, p->capacity, slot, metric, out);
}

static int resnet_budget_prefix(const bt_hparams *hp) {
    return bt_nn_budget_prefix(hp->v + BT_RESNET_COMMON);
}

const bt_pack_ops bt_resnet_cpu_packs = {
    .device = "cpu",
    .pack_init = bt_resnet_pack_init,
    .pack_free = bt_resnet_pack_free,
    .slot_start = bt_resnet_slot_start,
    .slot_clear = bt_resnet_slot_clear,
    .step = bt_resnet_step,
    .slot_failed = bt_resnet_slot_failed,
    .eval = bt_resnet_eval,
    .slot_save = bt_resnet_slot_save,
    .slot_restore = bt_resnet_slot_restore,
};

const bt_model_family bt_resnet_family = {
    .name = "resnet",
    .aliases = resnet_aliases,
    .params = bt_resnet_params,
    .n_params = BT_RESNET_N_PARAMS,
    .budget_param = BT_RESNET_EPOCHS,
    .metrics = resnet_metrics,
    .metrics_on_request = bt_nn_metrics_on_request,
    .task_of = bt_nn_task_of,
    .default_metric = bt_nn_default_metric,
    .metric_maximize = bt_nn_metric_maximize,
    .metric_ok = bt_nn_metric_ok,
    .check = resnet_check,
    .data_prepare = resnet_data_prepare,
    .data_free = bt_nn_data_free,
    .budget_prefix = resnet_budget_prefix,
    .cpu = &bt_resnet_cpu_packs,
};
