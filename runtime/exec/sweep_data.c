/* A sweep's data and one trial trained alone: loads the dataset a plan names and prepares the
 * family's shared structures (runtime/exec/sweep_data.h), and trains one trial to a resource for
 * export. The plan itself (sweeps/plan.h) reads no file and trains nothing. */
#include "runtime/exec/sweep_data.h"

#include <stdlib.h>
#include <string.h>

/* AUC ranks positives against negatives: a validation set of one class gives no value, and
 * every trial would fail with no reason given. */
static bt_status check_auc(const bt_sweep *sw) {
    if (sw->task != BT_TASK_BINARY || !sw->metric || strcmp(sw->metric, "auc") != 0 ||
        sw->valid.n_rows == 0)
        return BT_STATUS_OK;
    for (int64_t i = 1; i < sw->valid.n_rows; i++)
        if (sw->valid.y[i] != sw->valid.y[0]) return BT_STATUS_OK;
    return BT_FAIL(BT_STATUS_BAD_INPUT,
                   "metric auc needs both classes in the validation data, but every label of %s "
                   "is %g; choose another metric or data with both classes",
                   sw->valid.source ? sw->valid.source : "the validation set",
                   (double)sw->valid.y[0]);
}

bt_status bt_sweep_load_data(bt_sweep *sw, int threads) {
    if (sw->data_loaded) return BT_STATUS_OK;
    /* data already given (an MPI rank's, broadcast by rank 0: execution.broadcast_data) */
    if (!sw->train.X)
        BT_TRY(bt_dataset_from_spec(&sw->spec->dataset, sw->task, sw->n_classes, &sw->train,
                                    &sw->valid));
    BT_TRY(check_auc(sw));
    if (sw->task == BT_TASK_MULTICLASS && sw->n_classes <= 0) {
        float mx = 0;
        for (int64_t i = 0; i < sw->train.n_rows; i++)
            if (sw->train.y[i] > mx) mx = sw->train.y[i];
        for (int64_t i = 0; i < sw->valid.n_rows; i++)
            if (sw->valid.y[i] > mx) mx = sw->valid.y[i];
        sw->n_classes = (int32_t)mx + 1;
    }
    sw->data.train = &sw->train;
    sw->data.valid = &sw->valid;
    sw->data.task = sw->task;
    sw->data.n_classes = sw->n_classes;
    sw->data.threads = threads > 0 ? threads : 1;
    sw->data.metric = sw->metric;
    /* an eager plan's trials are checked now, an incremental plan's as each gets ready */
    if (sw->eager && sw->family->check) {
        bt_value *v = calloc((size_t)sw->family->n_params, sizeof *v);
        BT_CHECK_ALLOC(v);
        const bt_hparams hp = {v};
        bt_status st = BT_STATUS_OK;
        for (int64_t t = 0; t < sw->n_trials && st == BT_STATUS_OK; t++) {
            st = bt_sweep_hp(sw, t, v);
            if (st == BT_STATUS_OK) st = sw->family->check(&hp, sw->task);
        }
        free(v);
        BT_TRY(st);
    }
    if (sw->family->data_prepare) {
        const bt_hparams hp0 = {sw->proto_hp};
        BT_TRY(sw->family->data_prepare(&sw->data, &hp0));
    }
    sw->data_loaded = 1;
    return BT_STATUS_OK;
}

bt_status bt_sweep_train_export(bt_sweep *sw, int64_t trial, int64_t resource, const char *format,
                                char **out, size_t *len, double *metric) {
    *out = NULL;
    *len = 0;
    if (trial < 0 || trial >= sw->n_trials)
        return BT_FAIL(BT_STATUS_USAGE, "no trial %lld in this sweep (0..%lld)", (long long)trial,
                       (long long)sw->n_trials - 1);
    if (!sw->family->export_model)
        return BT_FAIL(BT_STATUS_USAGE, "%s models cannot be exported", sw->family->name);
    /* an incremental plan makes trials ready in order (a configuration depends on the id only) */
    while (!sw->eager && !sw->lazy && sw->n_ready <= trial) BT_TRY(bt_sweep_ready(sw, sw->n_ready));
    const bt_sweep_trial *tr = &sw->trials[trial];
    const bt_hparams shape = {sw->pack_hp[tr->pack]};
    bt_value *v = calloc((size_t)sw->family->n_params, sizeof *v);
    BT_CHECK_ALLOC(v);
    const bt_hparams hp = {v};
    bt_pack *pack = NULL;
    bt_status st = bt_sweep_hp(sw, tr->leader, v);
    if (st == BT_STATUS_OK) st = sw->packs->pack_init(&pack, &sw->data, &shape, 1);
    if (st != BT_STATUS_OK) {
        free(v);
        return st;
    }
    st = sw->packs->slot_start(pack, 0, &hp, bt_sweep_trial_key(sw, trial));
    int slot = 0;
    for (int64_t r = 0; st == BT_STATUS_OK && r < resource; r++)
        st = sw->packs->step(pack, &slot, 1);
    if (st == BT_STATUS_OK && metric) st = sw->packs->eval(pack, 0, sw->metric, metric);
    if (st == BT_STATUS_OK) st = sw->family->export_model(pack, 0, format, out, len);
    sw->packs->pack_free(pack);
    free(v);
    return st;
}
