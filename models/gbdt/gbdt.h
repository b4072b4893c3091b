/* The gbdt model family: XGBoost-style depth-wise histogram boosting, trials packed so that one
 * pass over the shared binned matrix advances every active trial by one round.
 * This header names the parameter table's indices, shared by every file of the family. */
#ifndef BT_GBDT_H
#define BT_GBDT_H

#include "../model.h"

/* Indices into bt_gbdt_params (same order). */
enum {
    BT_GBDT_OBJECTIVE = 0,
    BT_GBDT_NUM_CLASS,
    BT_GBDT_ETA,
    BT_GBDT_MAX_DEPTH,
    BT_GBDT_MIN_CHILD_WEIGHT,
    BT_GBDT_GAMMA,
    BT_GBDT_LAMBDA,
    BT_GBDT_ALPHA,
    BT_GBDT_SUBSAMPLE,
    BT_GBDT_COLSAMPLE_BYTREE,
    BT_GBDT_COLSAMPLE_BYLEVEL,
    BT_GBDT_MAX_BIN,
    BT_GBDT_NUM_ROUND,
    BT_GBDT_BASE_SCORE,
    BT_GBDT_EARLY_STOPPING_ROUNDS,
    BT_GBDT_SEED,
    BT_GBDT_N_PARAMS
};

extern const bt_model_param bt_gbdt_params[BT_GBDT_N_PARAMS];
extern const bt_model_vtable bt_gbdt_vtable;

#endif
