/* bt_sweep, the trial plan: a sweep made concrete -- the model family, every trial's
 * configuration and resolved model hyperparameters, the budget-prefix groups (runs), the shape
 * packs, the scheduler, and (once runtime/exec/sweep_data.h loaded it) the data. `run`, `bench`,
 * `validate` and `export` all start from one of these, so they can never disagree about what
 * trial N is or which trials share a run or a pack. The executor (runtime/exec/executor.h)
 * drives it.
 *
 * A plan is made one of two ways:
 *  - incremental (the default for `run`): a trial is made ready -- its pack found, its run and
 *    budget set -- when the scheduler first hands it out (bt_sweep_ready), in id order, so
 *    trials 0 .. n_ready-1 are the ready ones. The per-trial tables are bt_tables reserved for
 *    every trial but backed only where written, so the plan's memory follows the trials started,
 *    not run_cap or the grid's size. Each trial is a run of its own.
 *  - eager (a swept budget without a scheduler in a sweep of at most BT_SWEEP_GROUP_MAX trials,
 *    whose budget-prefix groups need every configuration; bench's fixed plans; validate's
 *    previews): every trial is planned at init, n_ready == n_trials. A larger sweep with a swept
 *    budget is planned incrementally, each trial training to its own budget in a run of its own:
 *    the groups would hold state for every trial from the start.
 * A configuration is a pure function of the seed and the trial id (bt_space_config) except in
 * bayes and tpe sweeps, whose proposals are stored; hyperparameters are resolved from the
 * configuration when asked for (bt_sweep_hp), and only each pack's shape is kept.
 * Ownership: bt_sweep_init allocates everything it points to except `spec`, which is borrowed and
 * must outlive it; bt_sweep_free releases it. */
#ifndef BT_PLAN_H
#define BT_PLAN_H

#include <stdint.h>

#include "models/model.h"
#include "models/pack.h"
#include "sweeps/sched/sched.h"
#include "sweeps/spec/spec.h"
#include "base/status.h"

/* Budget-prefix groups (trials that differ only in a swept budget share one run) are formed in
 * sweeps of up to this many trials (a fixed bound, so whether a sweep groups never depends on the
 * machine). */
#define BT_SWEEP_GROUP_MAX ((int64_t)1 << 20)

typedef struct bt_sweep_trial {
    /* spec->n_params values of a proposed (bayes/tpe) or set (bt_sweep_set_config) trial, NULL
     * for one that bt_space_config gives (strings borrowed from the spec) */
    bt_value *config;
    int64_t leader; /* first trial of its budget-prefix group (itself when not grouped) */
    int64_t run;    /* index of its group's run: sw->run_leader[run] == leader */
    int64_t budget; /* its own budget when the budget parameter is swept, else -1 */
    int pack;       /* index of the shape pack it belongs to */
} bt_sweep_trial;

typedef struct bt_sweep {
    const bt_spec *spec;
    const bt_model_family *family;
    /* the pack ops trials train with: family->cpu, or a device's (set by the executor) */
    const bt_pack_ops *packs;
    bt_sched *sched;
    int64_t n_trials;
    int64_t n_total; /* trials the sweep has: n_trials, except in a preview (bt_sweep_preview) */
    bt_sweep_trial *trials;
    int budget_param; /* index in spec->params of the swept budget parameter, or -1 */
    int64_t max_resource;
    const char *metric; /* the metric the scheduler ranks by (normalized name) */
    int maximize;
    bt_task task;
    int32_t n_classes;
    int n_packs;
    int64_t *pack_leader; /* per pack: the first trial of its shape */
    bt_value **pack_hp;   /* per pack: that trial's hyperparameters, which fix the shape */
    /* The runs: one per budget-prefix group, trained once for all its members, numbered in the
     * order of their leaders. A leader is its group's first trial, so the runs of trials
     * 0 .. K-1 are runs 0 .. R-1 for some R, and a run's members among them come first. */
    int64_t n_runs;
    int64_t *run_leader; /* per run: its leader trial (ascending) */
    int64_t *mem_ptr;    /* CSR per run: members[mem_ptr[r] .. mem_ptr[r + 1]), ascending trials */
    int64_t *members;
    int64_t *pack_run_ptr; /* CSR per pack: pack_runs[pack_run_ptr[p] .. pack_run_ptr[p + 1]) */
    int64_t *pack_runs;    /* its runs, ascending */
    bt_dataset train, valid;
    bt_model_data data;
    int data_loaded;
    int eager;   /* planned at init (above); else incremental */
    int grouped; /* budget-prefix groups are formed (a swept budget, at most GROUP_MAX trials) */
    /* bayes and tpe: a trial's configuration is proposed when it is made ready, from the reports
     * before it (sweeps/propose/propose.h). */
    int lazy;
    struct bt_proposer *prop;
    int64_t n_ready;
    int64_t *pack_size; /* incremental: per pack, its runs (all of them when counts_exact, else
                         * those ready so far) */
    int counts_exact;   /* incremental: a scan at init counted every trial's shape */
    int64_t n_config;   /* trials below this may have a stored config (bt_sweep_free) */
    int *param_index;   /* per spec parameter: its index in family->params */
    int *fixed_index;   /* per spec->model_fixed entry: its index in family->params */
    /* trial 0's configuration and hyperparameters (the seeded random draw in a bayes/tpe sweep):
     * the task and the data's preparation */
    bt_value *proto_config, *proto_hp;
} bt_sweep;

/* Builds configurations, hyperparameters, groups, runs, packs and the scheduler (no data is
 * read). A bayes or tpe sweep is lazy (above) unless `fixed`, which plans the seeded random draws
 * random search would make instead (bench measures throughput on a plan fixed in advance). */
bt_status bt_sweep_init(bt_sweep *sw, const bt_spec *spec);
bt_status bt_sweep_init_fixed(bt_sweep *sw, const bt_spec *spec);
/* The plan of the first `limit` trials only (n_trials <= limit; n_total says how many the sweep
 * has), with a scheduler that only plans (bt_sched_init_plan): what `validate` prints, in memory
 * and time independent of run_cap and grid size. Not for running. */
bt_status bt_sweep_preview(bt_sweep *sw, const bt_spec *spec, int64_t limit);
void bt_sweep_free(bt_sweep *sw);

/* Makes trial t ready (above): in an incremental plan t must be the next trial (n_ready), and in
 * a bayes or tpe sweep its configuration is proposed now from the reports observed so far; a
 * no-op for a trial already ready. Once the data is loaded the family checks the trial's
 * hyperparameters here. The executor calls it when the scheduler first hands the trial out. */
bt_status bt_sweep_ready(bt_sweep *sw, int64_t t);

/* Trial t's configuration (spec->n_params values) / its model hyperparameters
 * (family->n_params values) into the caller's array; t must be ready, set, or (where configs
 * are not proposed) any trial of the sweep. */
bt_status bt_sweep_config(const bt_sweep *sw, int64_t t, bt_value *out);
bt_status bt_sweep_hp(const bt_sweep *sw, int64_t t, bt_value *out);

/* Gives trial t the configuration `config` (spec->n_params values as a results file stores them;
 * strings are matched to the spec's values): how `export` retrains a trial of a lazy sweep. */
bt_status bt_sweep_set_config(bt_sweep *sw, int64_t t, const bt_value *config);

/* A report, in the executor's report order: the proposer of a lazy sweep learns from it. */
bt_status bt_sweep_observe(bt_sweep *sw, int64_t t, int64_t resource, double metric);

/* How many runs pack `shape` may have to hold: its runs, or in a lazy sweep its ready runs plus
 * every trial not proposed yet (an upper bound). */
int64_t bt_sweep_shape_runs(const bt_sweep *sw, int shape);

/* Whether bt_sweep_init plans every trial up front (a grouped sweep), asked of its preview; and
 * that plan's bytes per trial, which with n_total `run` checks against the machine's memory
 * first. */
int bt_sweep_is_eager(const bt_sweep *preview);
size_t bt_sweep_trial_bytes(const bt_sweep *sw);

/* Whether trial t leads its run: in an incremental plan every trial does, ready or not. */
static inline int bt_sweep_is_leader(const bt_sweep *sw, int64_t t) {
    return !sw->eager || sw->trials[t].leader == t;
}

/* The Philox key a trial trains with (its group's leader's, so a budget-prefix trial is exactly
 * the leader's run stopped early). */
uint64_t bt_sweep_trial_key(const bt_sweep *sw, int64_t trial);

#endif
