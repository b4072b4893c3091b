/* The model-family interface: a small vtable every family (gbdt, mlp, resnet) implements.
 * A pack holds up to `capacity` trials in slots that share one dataset and one shape; the executor
 * puts trials into slots, advances the active ones one resource unit (a boosting round, an epoch)
 * at a time and reads their validation metrics. The parameter table drives sweep validation
 * (names, aliases, types, ranges, did-you-mean) so models and spec never disagree.
 * Ownership: a pack owns its per-trial state; it borrows the bt_model_data it was created with,
 * which must outlive it. */
#ifndef BT_MODEL_H
#define BT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "datasets/dataset.h"
#include "base/status.h"
#include "base/value.h"

typedef enum bt_ptype { BT_PTYPE_FLOAT = 0, BT_PTYPE_INT, BT_PTYPE_STRING, BT_PTYPE_BOOL } bt_ptype;

typedef struct bt_model_param {
    const char *name;       /* canonical name, e.g. "eta" */
    const char *aliases[4]; /* NULL-terminated, e.g. {"learning_rate", NULL} */
    bt_ptype type;
    double min, max;            /* valid closed range for numbers */
    bt_value def;               /* default */
    const char *const *choices; /* STRING: NULL-terminated allowed values, or NULL */
    int shape;                  /* 1 if trials differing in it cannot share a pack (max_bin) */
    const char *doc;
} bt_model_param;

/* Resolved hyperparameters of one trial: one value per entry of the model's parameter table, in
 * table order (defaults, then the model block's fixed values, then the trial's sampled values). */
typedef struct bt_hparams {
    const bt_value *v; /* borrowed, n = vtable->n_params */
} bt_hparams;

/* What a model reads: train and valid sets (borrowed) and derived shared structures the model
 * builds once per process (e.g. the binned matrix), cached in `shared` by the model itself. */
typedef struct bt_model_data {
    const bt_dataset *train;
    const bt_dataset *valid;
    bt_task task;
    int32_t n_classes;
    void *shared; /* model-owned cache, freed by vtable->data_free */
    int threads;  /* CPU threads to use (>= 1) */
} bt_model_data;

typedef struct bt_pack bt_pack; /* opaque, per model family */

typedef struct bt_model_vtable {
    const char *name;           /* "gbdt" */
    const char *const *aliases; /* NULL-terminated, e.g. {"xgboost", NULL} */
    const bt_model_param *params;
    int n_params;
    int budget_param;           /* index of the resource parameter (num_round, epochs) */
    const char *const *metrics; /* NULL-terminated metric names this family can compute */

    /* Task and class count from resolved hyperparameters (objective, num_class) and labels. */
    bt_status (*task_of)(const bt_hparams *hp, bt_task *task, int32_t *n_classes);
    /* Metric the model reports when the sweep names none (e.g. "rmse", "logloss"). */
    const char *(*default_metric)(bt_task task);
    /* Whether `metric` is maximized (auc, accuracy) or minimized. */
    int (*metric_maximize)(const char *metric);
    /* Whether `metric` makes sense for `task` (auc needs binary, rmse needs regression...). */
    int (*metric_ok)(const char *metric, bt_task task);
    /* Checks a trial's hyperparameters beyond per-parameter ranges (e.g. num_class >= 2 for
     * multi:softprob); message goes through BT_FAIL(BT_STATUS_BAD_INPUT). */
    bt_status (*check)(const bt_hparams *hp, bt_task task);

    /* Shared per-dataset structures (binning); called once, before any pack. */
    bt_status (*data_prepare)(bt_model_data *data, const bt_hparams *shape_hp);
    void (*data_free)(bt_model_data *data);

    /* A pack of `capacity` slots; shape_hp fixes the shape parameters every slot shares. */
    bt_status (*pack_init)(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                           int capacity);
    void (*pack_free)(bt_pack *p);
    /* Starts a fresh trial in slot (resource 0); key = bt_philox_key(sweep seed, trial id). */
    bt_status (*slot_start)(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key);
    void (*slot_clear)(bt_pack *p, int slot);
    /* Advances the listed slots by one resource unit each, together. A slot that diverges (NaN)
     * is marked failed (see slot_failed) without failing the call. */
    bt_status (*step)(bt_pack *p, const int *slots, int n_slots);
    int (*slot_failed)(const bt_pack *p, int slot);
    /* Validation value of `metric` for slot at its current resource. */
    bt_status (*eval)(bt_pack *p, int slot, const char *metric, double *out);
    /* Serializes a slot's trained model. format: "xgboost-json" for gbdt. *out is malloc'd. */
    bt_status (*export_model)(bt_pack *p, int slot, const char *format, char **out, size_t *len);

    /* Optional (NULL: `wanted`). The largest pack capacity <= wanted that fits the device now,
     * from its free memory and the family's per-trial estimate; at least 1. Device families only.
     */
    int (*pack_capacity)(const bt_model_data *data, const bt_hparams *shape_hp, int wanted);
    /* 1 when packs of this family may be stepped from different host threads at once (each pack
     * owns its stream and scratch: GPU packs); 0 for CPU packs, which thread internally. */
    int concurrent_steps;

    /* Optional snapshots (both NULL: a resume retrains the family's runs instead, e.g. gbdt).
     * slot_save: slot's whole training state -- everything a further step or eval reads -- as a
     * malloc'd blob (*buf, *len), versioned and tagged with the family and the pack's shape.
     * slot_restore: starts slot from such a blob of the same trial (hp, key), in place of
     * slot_start; the slot is then exactly where it was saved, so stepping it on gives the same
     * bits as a slot never interrupted. A blob that does not fit (another family, shape, trial or
     * format version; truncated) is refused with BT_STATUS_BAD_INPUT and leaves the slot empty. */
    bt_status (*slot_save)(bt_pack *p, int slot, void **buf, size_t *len);
    bt_status (*slot_restore)(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key,
                              const void *buf, size_t len);
    /* Optional (NULL: always 1). Whether training hp for B resource units is, for every larger
     * budget, the first B units of that training, so trials that differ only in the budget may
     * share one run (budget-prefix groups). nn: not with a cosine schedule whose horizon is the
     * budget itself (t_max unset). */
    int (*budget_prefix)(const bt_hparams *hp);
} bt_model_vtable;

/* Registry of model families. */
const bt_model_vtable *bt_model_find(const char *type);
/* NULL-terminated list of every family, for help and did-you-mean. */
const bt_model_vtable *const *bt_model_all(void);
/* The variant of family vt that trains on a CUDA device when cuda != 0 (vt itself otherwise), or
 * NULL when the family has no CUDA pack or the build has no CUDA. */
const bt_model_vtable *bt_model_for_device(const bt_model_vtable *vt, int cuda);
/* Index of parameter `name` (canonical or alias) in vt->params, or -1. */
int bt_model_param_index(const bt_model_vtable *vt, const char *name);

#endif
