/* bt_sweep: a sweep made concrete -- the model family, every trial's configuration and resolved
 * model hyperparameters, the budget-prefix groups, the scheduler, and (once loaded) the data.
 * `run`, `validate` and `export` all start from one of these, so they can never disagree about
 * what trial N is. The executor (executor.h) drives it.
 * Ownership: bt_sweep_init allocates everything it points to except `spec`, which is borrowed and
 * must outlive it; bt_sweep_free releases it. */
#ifndef BT_SWEEP_H
#define BT_SWEEP_H

#include <stdint.h>

#include "models/model.h"
#include "sweeps/sched/sched.h"
#include "sweeps/spec/spec.h"
#include "base/status.h"

typedef struct bt_sweep_trial {
    bt_value *config; /* spec->n_params values, as sampled (strings borrowed from the spec) */
    bt_value *hp;     /* vt->n_params resolved model hyperparameters */
    int64_t leader;   /* first trial of its budget-prefix group (itself when not grouped) */
    int64_t budget;   /* its own budget when the budget parameter is swept, else -1 */
    int pack;         /* index of the shape pack it belongs to */
} bt_sweep_trial;

typedef struct bt_sweep {
    const bt_spec *spec;
    const bt_model_vtable *vt;
    bt_sched *sched;
    int64_t n_trials;
    bt_sweep_trial *trials;
    int budget_param; /* index in spec->params of the swept budget parameter, or -1 */
    int64_t max_resource;
    const char *metric; /* the metric the scheduler ranks by (normalized name) */
    int maximize;
    bt_task task;
    int32_t n_classes;
    int n_packs;
    int64_t *pack_leader; /* per pack: a trial whose hp fixes the pack's shape */
    bt_dataset train, valid;
    bt_model_data data;
    int data_loaded;
} bt_sweep;

/* Builds configurations, hyperparameters, groups and the scheduler (no data is read). */
bt_status bt_sweep_init(bt_sweep *sw, const bt_spec *spec);
/* Reads the dataset and prepares the model's shared structures (binning). threads >= 1. */
bt_status bt_sweep_load_data(bt_sweep *sw, int threads);
void bt_sweep_free(bt_sweep *sw);

/* The Philox key a trial trains with (its group's leader's, so a budget-prefix trial is exactly
 * the leader's run stopped early). */
uint64_t bt_sweep_trial_key(const bt_sweep *sw, int64_t trial);

/* Trains one trial alone to `resource` and serializes it (export, best model). */
bt_status bt_sweep_train_export(bt_sweep *sw, int64_t trial, int64_t resource, const char *format,
                                char **out, size_t *len, double *metric);

#endif
