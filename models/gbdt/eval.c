/* Metrics of a gbdt slot: name lookup, defaults per objective, evaluation on the valid margins
 * (the train margins when there is no valid set), and early stopping on them. */
#include <stdlib.h>
#include <string.h>

#include "models/gbdt/trainer.h"

static const char *const metric_names[BT_GBDT_METRIC_COUNT] = {
    [BT_GBDT_METRIC_RMSE] = "rmse",         [BT_GBDT_METRIC_MSE] = "mse",
    [BT_GBDT_METRIC_MAE] = "mae",           [BT_GBDT_METRIC_LOGLOSS] = "logloss",
    [BT_GBDT_METRIC_ERROR] = "error",       [BT_GBDT_METRIC_AUC] = "auc",
    [BT_GBDT_METRIC_MLOGLOSS] = "mlogloss", [BT_GBDT_METRIC_MERROR] = "merror",
    [BT_GBDT_METRIC_ACCURACY] = "accuracy",
};

int bt_gbdt_metric_id(const char *name) {
    if (!name) return -1;
    for (int m = 0; m < BT_GBDT_METRIC_COUNT; m++)
        if (strcmp(metric_names[m], name) == 0) return m;
    return -1;
}

int bt_gbdt_metric_maximize(const char *metric) {
    return metric && (strcmp(metric, "auc") == 0 || strcmp(metric, "accuracy") == 0);
}

const char *bt_gbdt_metric_name(int metric) {
    return metric >= 0 && metric < BT_GBDT_METRIC_COUNT ? metric_names[metric] : NULL;
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

void bt_gbdt_early_stop(const bt_pack *p, bt_gbdt_slot *s, void *scratch, int *stopped_now) {
    const bt_dataset *va = p->data->valid && p->data->valid->n_rows > 0 ? p->data->valid : NULL;
    *stopped_now = 0;
    double x = bt_gbdt_slot_metric(p, s, s->es_metric, scratch);
    int64_t nv = va ? va->n_rows : 0;
    size_t bytes = (size_t)nv * (size_t)s->n_out * sizeof(float);
    if (s->round == 1 || (s->es_maximize ? x > s->best_metric : x < s->best_metric)) {
        s->best_metric = x;
        s->best_round = s->round;
        if (bytes) memcpy(s->best_valid, s->margin_valid, bytes);
        return;
    }
    if (s->round - s->best_round < s->early_stopping_rounds) return;
    /* stop: the model and its metrics are those of the best round */
    s->stopped = 1;
    *stopped_now = 1;
    if (bytes) memcpy(s->margin_valid, s->best_valid, bytes);
    int64_t keep = (int64_t)s->best_round * s->n_out;
    for (int64_t t = keep; t < s->n_trees; t++) free(s->trees[t].nodes);
    s->n_trees = keep;
    s->round = s->best_round;
}
