/* A model family (gbdt, mlp, resnet): what is true of it on every device -- its parameter table,
 * task and metric rules, trial checks, the shared data it prepares once per process, whether its
 * training is a budget prefix, and export. How its trials train on a device is its packs'
 * business: models/pack.h, one table of pack operations per device (`cpu` here; a GPU's come
 * from the CUDA module). The parameter table drives sweep validation (names, aliases, types,
 * ranges, did-you-mean) so models and spec never disagree.
 * Ownership: families are static tables; bt_model_data's `shared` cache belongs to the data and
 * is freed by the family's data_free (after every device's pack ops data_release). */
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
    /* STRING with choices: 1 if it takes a list of choices (a string or, in the model block, an
     * array of strings), kept as one comma-separated string (XGBoost's eval_metric). */
    int list;
    /* STRING with choices: NULL-terminated values known (XGBoost's) but not implemented, refused
     * as such rather than with a did-you-mean, or NULL. */
    const char *const *unsupported;
    /* STRING without choices: NULL when s is well formed, else what a value should look like,
     * so a sweep file's bad string is refused at validate, with its place; or NULL. */
    const char *(*syntax)(const char *s);
} bt_model_param;

/* Resolved hyperparameters of one trial: one value per entry of the model's parameter table, in
 * table order (defaults, then the model block's fixed values, then the trial's sampled values). */
typedef struct bt_hparams {
    const bt_value *v; /* borrowed, n = family->n_params */
} bt_hparams;

/* What a model reads: train and valid sets (borrowed) and derived shared structures the model
 * builds once per process (e.g. the binned matrix), cached in `shared` by the model itself. */
typedef struct bt_model_data {
    const bt_dataset *train;
    const bt_dataset *valid;
    bt_task task;
    int32_t n_classes;
    void *shared; /* model-owned cache, freed by the family's data_free */
    int threads;  /* CPU threads to use (>= 1) */
    /* The sweep's metric (normalized, borrowed), or NULL: what a family's early stopping watches
     * unless the trial names another (gbdt: eval_metric). */
    const char *metric;
} bt_model_data;

typedef struct bt_pack bt_pack;         /* opaque, per model family and device (models/pack.h) */
typedef struct bt_pack_ops bt_pack_ops; /* models/pack.h */

typedef struct bt_model_family {
    const char *name;           /* "gbdt" */
    const char *const *aliases; /* NULL-terminated, e.g. {"xgboost", NULL} */
    const bt_model_param *params;
    int n_params;
    int budget_param;           /* index of the resource parameter (num_round, epochs) */
    const char *const *metrics; /* NULL-terminated metric names this family can compute */
    /* NULL-terminated metrics it also computes, but only for a sweep that names one (f1,
     * precision, recall): /history records them only then. May be NULL. */
    const char *const *metrics_on_request;

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

    /* Optional (NULL: always 1). Whether training hp for B resource units is, for every larger
     * budget, the first B units of that training, so trials that differ only in the budget may
     * share one run (budget-prefix groups). nn: not with a cosine schedule whose horizon is the
     * budget itself (t_max unset). */
    int (*budget_prefix)(const bt_hparams *hp);
    /* Optional (NULL: the family cannot export). Serializes the trained model of a slot of any of
     * the family's packs, whatever its device (a device pack keeps the host copy export reads).
     * format: "xgboost-json" for gbdt. *out is malloc'd. */
    bt_status (*export_model)(bt_pack *p, int slot, const char *format, char **out, size_t *len);

    const bt_pack_ops *cpu; /* the family's CPU pack (every family has one) */
} bt_model_family;

/* Registry of model families. */
const bt_model_family *bt_model_find(const char *type);
/* NULL-terminated list of every family, for help and did-you-mean. */
const bt_model_family *const *bt_model_all(void);
/* Whether f computes metric `name` (canonical; metrics or metrics_on_request). */
int bt_model_has_metric(const bt_model_family *f, const char *name);
/* Index of parameter `name` (canonical or alias) in f->params, or -1. */
int bt_model_param_index(const bt_model_family *f, const char *name);

#endif
