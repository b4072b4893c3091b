/* Metrics of a gbdt slot: name lookup, defaults per objective, and evaluation on the valid
 * margins (the train margins when there is no valid set). */
#include <string.h>

#include "models/gbdt/trainer.h"

static const char *const metric_names[BT_GBDT_METRIC_COUNT] = {
    [BT_GBDT_METRIC_RMSE] = "rmse",
    [BT_GBDT_METRIC_MSE] = "mse",
    [BT_GBDT_METRIC_MAE] = "mae",
    [BT_GBDT_METRIC_LOGLOSS] = "logloss",
    [BT_GBDT_METRIC_ERROR] = "error",
    [BT_GBDT_METRIC_AUC] = "auc",
    [BT_GBDT_METRIC_MLOGLOSS] = "mlogloss",
    [BT_GBDT_METRIC_MERROR] = "merror",
    [BT_GBDT_METRIC_ACCURACY] = "accuracy",
    [BT_GBDT_METRIC_F1] = "f1",
    [BT_GBDT_METRIC_PRECISION] = "precision",
    [BT_GBDT_METRIC_RECALL] = "recall",
};

int bt_gbdt_metric_id(const char *name) {
    if (!name) return -1;
    for (int m = 0; m < BT_GBDT_METRIC_COUNT; m++)
        if (strcmp(metric_names[m], name) == 0) return m;
    return -1;
}

bt_gbdt_metric bt_gbdt_default_metric_id(bt_gbdt_objective obj) {
    if (obj == BT_GBDT_OBJ_LOGISTIC) return BT_GBDT_METRIC_LOGLOSS;
    if (obj == BT_GBDT_OBJ_SOFTPROB) return BT_GBDT_METRIC_MLOGLOSS;
    return BT_GBDT_METRIC_RMSE;
}

double bt_gbdt_slot_metric(const bt_pack *p, const bt_gbdt_slot *s, int metric, void *scratch) {
    const bt_dataset *va = p->data->valid;
    if (va && va->n_rows > 0)
        return bt_gbdt_metric_ref((bt_gbdt_metric)metric, s->obj, s->margin_valid, va->y,
                                  va->n_rows, s->n_out, scratch);
    const bt_dataset *tr = p->data->train;
    return bt_gbdt_metric_ref((bt_gbdt_metric)metric, s->obj, s->margin_train, tr->y, tr->n_rows,
                              s->n_out, scratch);
}
