/* Internals of the gbdt family shared by its files: the per-dataset binning cache, a pack of trial
 * slots and the level-synchronous tree growth that advances every active slot of a pack together.
 * Ownership: the shared cache belongs to bt_model_data (freed by data_free); a pack owns its slots
 * and every buffer in them; slots borrow the pack's binning and the datasets. */
#ifndef BT_GBDT_TRAINER_H
#define BT_GBDT_TRAINER_H

#include <stdint.h>

#include "../../datasets/binning.h"
#include "../../kernels/gbdt_hist.h"
#include "../../kernels/gbdt_metric.h"
#include "../../kernels/gbdt_objective.h"
#include "../../kernels/gbdt_predict.h"
#include "../../kernels/gbdt_split.h"
#include "gbdt.h"

/* Train set binned with one max_bin, shared by every pack of that shape. */
typedef struct bt_gbdt_binning {
    int32_t max_bin;
    bt_bin_cuts cuts;
    bt_binned train;
    uint32_t *off;        /* n_features + 1 histogram offsets (each feature: bins + missing) */
    int32_t *missing_bin; /* missing code per feature (= its bin count) */
} bt_gbdt_binning;

typedef struct bt_gbdt_shared {
    bt_gbdt_binning **binnings;
    int n_binnings;
    int32_t n_classes; /* classes for multiclass (from the labels when the data says 0) */
} bt_gbdt_shared;

/* The binning for max_bin, computed and cached on first use (not thread-safe). */
bt_status bt_gbdt_binning_get(bt_model_data *data, int32_t max_bin, const bt_gbdt_binning **out);
void bt_gbdt_data_free(bt_model_data *data);

typedef struct bt_gbdt_tree {
    bt_gbdt_node *nodes;
    int32_t n_nodes;
} bt_gbdt_tree;

/* One trial. Parameters are resolved at slot_start; buffers of the model (margins, trees) live as
 * long as the trial, growth buffers (gradients, row lists) are allocated at its first step. */
typedef struct bt_gbdt_slot {
    int used, failed, stopped;
    /* parameters */
    bt_gbdt_objective obj;
    int32_t n_out; /* trees per round: classes for softprob, else 1 */
    float eta, gamma;
    int32_t max_depth;
    bt_gbdt_split_param sp;
    double subsample, colsample_bytree, colsample_bylevel;
    float base_score;  /* as XGBoost stores it (a probability for binary:logistic) */
    float base_margin; /* the margin every prediction starts from */
    int32_t early_stopping_rounds;
    uint64_t key;
    /* model */
    int32_t round;                      /* rounds trained */
    float *margin_train, *margin_valid; /* n x n_out, row-major */
    bt_gbdt_tree *trees;                /* round-major, n_out per round */
    int64_t n_trees, cap_trees;
    /* early stopping: best round so far and the valid margins there */
    int32_t best_round;
    double best_metric;
    float *best_valid;
    /* growth buffers */
    float *g, *h;       /* n_out x n */
    bt_gbdt_gh *gh;     /* n_out x n */
    int32_t *rows;      /* n_out x n */
    int64_t *n_sampled; /* n_out */
    int32_t *eg, *eh;   /* n_out quantization exponents */
} bt_gbdt_slot;

struct bt_pack {
    bt_model_data *data;
    const bt_gbdt_binning *bin;
    int capacity;
    bt_gbdt_slot **slots; /* NULL until used */
    int threads;
    void *grow; /* growth workspace (grow.c) */
};

/* Grows one round of trees for the listed slots together (gradients already in s->gh and row
 * lists in s->rows), appending n_out trees to each and updating train margins. */
bt_status bt_gbdt_grow_round(bt_pack *p, bt_gbdt_slot **slots, int n_slots);
void bt_gbdt_grow_free(void *grow);

/* Metric id of a name, or -1. */
int bt_gbdt_metric_id(const char *name);
/* Metric value of a slot's current valid margins. */
double bt_gbdt_slot_metric(const bt_pack *p, const bt_gbdt_slot *s, int metric, void *scratch);
bt_gbdt_metric bt_gbdt_default_metric_id(bt_gbdt_objective obj);

/* Pack entry points of the vtable (pack.c). */
bt_status bt_gbdt_pack_init(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                            int capacity);
void bt_gbdt_pack_free(bt_pack *p);
bt_status bt_gbdt_slot_start(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key);
void bt_gbdt_slot_clear(bt_pack *p, int slot);
bt_status bt_gbdt_step(bt_pack *p, const int *slots, int n_slots);
int bt_gbdt_slot_failed(const bt_pack *p, int slot);
bt_status bt_gbdt_eval(bt_pack *p, int slot, const char *metric, double *out);
bt_status bt_gbdt_export(bt_pack *p, int slot, const char *format, char **out, size_t *len);

/* xgboost-json export of a slot (malloc'd text). */
bt_status bt_gbdt_export_json(const bt_pack *p, const bt_gbdt_slot *s, char **out, size_t *len);

#endif
