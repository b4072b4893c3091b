/* The gbdt parameter table: XGBoost's names, aliases, defaults and valid ranges. Sweep validation,
 * results columns and the trainer all read this one table. */
#include <math.h>

#include "gbdt.h"

static const char *const objectives[] = {"reg:squarederror", "binary:logistic", "multi:softprob",
                                         NULL};

#define F(x) {BT_VALUE_FLOAT, 0, (x), 0}
#define I(x) {BT_VALUE_INT, (x), (double)(x), 0}
#define S(x) {BT_VALUE_STRING, 0, 0.0, (x)}

const bt_model_param bt_gbdt_params[BT_GBDT_N_PARAMS] = {
    [BT_GBDT_OBJECTIVE] = {"objective", {NULL}, BT_PTYPE_STRING, 0, 0, S("reg:squarederror"),
                           objectives, 0, "learning task: regression, binary or multiclass"},
    [BT_GBDT_NUM_CLASS] = {"num_class", {NULL}, BT_PTYPE_INT, 0, 1 << 20, I(0), NULL, 0,
                           "classes for multi:softprob (0 = from the labels)"},
    [BT_GBDT_ETA] = {"eta", {"learning_rate", NULL}, BT_PTYPE_FLOAT, 0, 1, F(0.3), NULL, 0,
                     "shrinkage applied to each tree's leaf values"},
    [BT_GBDT_MAX_DEPTH] = {"max_depth", {NULL}, BT_PTYPE_INT, 1, 16, I(6), NULL, 0,
                           "depth of each tree (depth-wise growth)"},
    [BT_GBDT_MIN_CHILD_WEIGHT] = {"min_child_weight", {NULL}, BT_PTYPE_FLOAT, 0, INFINITY, F(1),
                                  NULL, 0, "minimum hessian sum in a child"},
    [BT_GBDT_GAMMA] = {"gamma", {"min_split_loss", NULL}, BT_PTYPE_FLOAT, 0, INFINITY, F(0), NULL,
                       0, "minimum loss reduction to split a node"},
    [BT_GBDT_LAMBDA] = {"lambda", {"reg_lambda", NULL}, BT_PTYPE_FLOAT, 0, INFINITY, F(1), NULL, 0,
                        "L2 regularization on leaf weights"},
    [BT_GBDT_ALPHA] = {"alpha", {"reg_alpha", NULL}, BT_PTYPE_FLOAT, 0, INFINITY, F(0), NULL, 0,
                       "L1 regularization on leaf weights"},
    [BT_GBDT_SUBSAMPLE] = {"subsample", {NULL}, BT_PTYPE_FLOAT, 1e-6, 1, F(1), NULL, 0,
                           "fraction of rows drawn (without replacement) for each tree"},
    [BT_GBDT_COLSAMPLE_BYTREE] = {"colsample_bytree", {NULL}, BT_PTYPE_FLOAT, 1e-6, 1, F(1), NULL,
                                  0, "fraction of features drawn for each tree"},
    [BT_GBDT_COLSAMPLE_BYLEVEL] = {"colsample_bylevel", {NULL}, BT_PTYPE_FLOAT, 1e-6, 1, F(1),
                                   NULL, 0, "fraction of the tree's features drawn for each level"},
    [BT_GBDT_MAX_BIN] = {"max_bin", {NULL}, BT_PTYPE_INT, 2, 65535, I(256), NULL, 1,
                         "histogram bins per feature (a shape parameter: one pack per value)"},
    [BT_GBDT_NUM_ROUND] = {"num_round", {"n_estimators", "num_boost_round", NULL}, BT_PTYPE_INT, 1,
                           1e7, I(100), NULL, 0, "boosting rounds: the resource"},
    [BT_GBDT_BASE_SCORE] = {"base_score", {NULL}, BT_PTYPE_FLOAT, -INFINITY, INFINITY, F(NAN),
                            NULL, 0,
                            "initial prediction (default: label mean, or log-odds of the positive "
                            "rate for binary:logistic)"},
    [BT_GBDT_EARLY_STOPPING_ROUNDS] = {"early_stopping_rounds", {NULL}, BT_PTYPE_INT, 0, 1e7, I(0),
                                       NULL, 0,
                                       "stop after this many rounds without improvement (0 = off)"},
    [BT_GBDT_SEED] = {"seed", {"random_state", NULL}, BT_PTYPE_INT, 0, 4294967295.0, I(0), NULL, 0,
                      "extra seed mixed into the trial's sampling key"},
};
