/* The gbdt model family: XGBoost-style depth-wise histogram boosting, trials packed so that one
 * step advances every listed trial by one round over the shared binned train set.
 * This header names the parameter table's indices, shared by every file of the family.
 * For the executor (details in docs/gbdt.md):
 *  - data_prepare bins the train set for the shape's max_bin; pack_init bins it for another
 *    max_bin on first use (not thread-safe against a concurrent pack_init on the same data).
 *  - a pack uses data->threads OpenMP threads (read at pack_init); results never depend on it,
 *    nor on the slot, nor on the other trials of the pack.
 *  - one step = one round; a multi:softprob round grows num_class trees.
 *  - slot_start allocates the trial's margins ((train + valid rows) x classes floats); growth
 *    buffers (~28 bytes per train row and class) are pooled per pack and lent to the slots of
 *    each wave of a step, so a large capacity costs little.
 *  - a diverging trial (NaN/inf) is marked failed during step; eval then gives NaN with status OK.
 *  - early_stopping_rounds: after k rounds without improvement of the default metric the trial
 *    reverts to its best round (metrics, export) and further steps are no-ops for it. */
#ifndef BT_GBDT_H
#define BT_GBDT_H

#include "models/model.h"
#include "models/pack.h"

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
    /* XGBoost knobs W&B sweeps carry (docs/sweep-format.md says what each does here) */
    BT_GBDT_BOOSTER,
    BT_GBDT_SCALE_POS_WEIGHT,
    BT_GBDT_EVAL_METRIC,
    BT_GBDT_TREE_METHOD,
    BT_GBDT_DEVICE,
    BT_GBDT_N_JOBS,
    BT_GBDT_VERBOSITY,
    BT_GBDT_SILENT,
    BT_GBDT_USE_LABEL_ENCODER,
    BT_GBDT_GROW_POLICY,
    BT_GBDT_MAX_LEAVES,
    /* gblinear's (linear.c) */
    BT_GBDT_UPDATER,
    BT_GBDT_FEATURE_SELECTOR,
    BT_GBDT_TOP_K,
    BT_GBDT_N_PARAMS
};

extern const bt_model_param bt_gbdt_params[BT_GBDT_N_PARAMS];
extern const bt_model_family bt_gbdt_family;
/* The CPU pack (pack.c, eval.c). */
extern const bt_pack_ops bt_gbdt_cpu_packs;
/* The pack on the current CUDA device (cuda/): part of the CUDA module only. */
extern const bt_pack_ops bt_gbdt_cuda_packs;

#endif
