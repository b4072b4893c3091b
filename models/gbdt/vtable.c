/* The gbdt family's vtable: wires the trainer (pack.c) into the model interface. */
#include <string.h>

#include "gbdt.h"

static const char *const gbdt_aliases[] = {"xgboost", NULL};
static const char *const gbdt_metrics[] = {"rmse",  "mse",      "mae",    "logloss",  "error",
                                           "auc",   "mlogloss", "merror", "accuracy", NULL};

const bt_model_vtable bt_gbdt_vtable = {
    .name = "gbdt",
    .aliases = gbdt_aliases,
    .params = bt_gbdt_params,
    .n_params = BT_GBDT_N_PARAMS,
    .budget_param = BT_GBDT_NUM_ROUND,
    .metrics = gbdt_metrics,
};
