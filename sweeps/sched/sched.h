/* bt_sched: the trial scheduler (none, SHA, Hyperband, ASHA, W&B hyperband stopping rule).
 * Pure C, no I/O, no device code: its state is a pure function of its spec and the ordered
 * sequence of calls made on it, which is what makes journal replay reproduce a sweep exactly.
 * The executor asks for jobs ("train trial t until resource r, then report") with bt_sched_next,
 * and feeds back one report per job with bt_sched_report. New trial ids are handed out in
 * increasing order from 0; the executor maps an id to its configuration through the space.
 * Ownership: bt_sched_init allocates; bt_sched_free releases (NULL is a no-op). */
#ifndef BT_SCHED_H
#define BT_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "sweeps/spec/spec.h"
#include "base/status.h"

typedef struct bt_sched bt_sched;

typedef enum bt_job_kind {
    BT_JOB_RUN = 0, /* train `trial` up to `resource` and report there */
    BT_JOB_WAIT,    /* nothing to hand out until outstanding jobs report */
    BT_JOB_DONE,    /* the sweep is complete */
} bt_job_kind;

typedef struct bt_job {
    bt_job_kind kind;
    int64_t trial;
    int64_t resource;
    int32_t bracket; /* 0 for single-bracket schedulers */
    int32_t rung;    /* rung this job reports at */
} bt_job;

typedef enum bt_trial_status {
    BT_TRIAL_PENDING = 0,
    BT_TRIAL_RUNNING,   /* has a job outstanding or awaits a rung decision */
    BT_TRIAL_COMPLETED, /* reached its maximum resource */
    BT_TRIAL_PRUNED,    /* stopped by the scheduler */
    BT_TRIAL_FAILED,    /* reported NaN/failure */
} bt_trial_status;

/* One rung decision, for /rungs in the results. */
typedef struct bt_rung_decision {
    int32_t bracket, rung;
    int64_t trial, resource;
    double metric;
    int promoted; /* 1 promoted (or continued), 0 stopped */
} bt_rung_decision;

/* The plan, for `batchtune validate`: brackets, each with rungs of (trials, resource). */
typedef struct bt_sched_rung_plan {
    int64_t n_trials; /* trials entering the rung (ASHA: nominal n*eta^-k, early promotions can
                         exceed it; W&B: an upper bound) */
    int64_t resource;
} bt_sched_rung_plan;

typedef struct bt_sched_bracket_plan {
    int n_rungs;
    bt_sched_rung_plan rungs[64];
} bt_sched_bracket_plan;

/* n_trials: trials the space offers (grid size, or run_cap for random search); Hyperband sizes
 * its own brackets and uses at most this many (n_trials <= 0: as many as the brackets want).
 * max_resource: the budget when spec->max_resource is unset (the model's default). */
bt_status bt_sched_init(bt_sched **out, const bt_sched_spec *spec, int64_t n_trials,
                        int64_t max_resource, int maximize);
/* A scheduler that only plans: bt_sched_n_trials, bt_sched_plan and bt_sched_free answer as
 * bt_sched_init's would, with no per-trial state (memory independent of n_trials: `validate`
 * of a sweep of 10^8 trials); nothing else may be called on it. */
bt_status bt_sched_init_plan(bt_sched **out, const bt_sched_spec *spec, int64_t n_trials,
                             int64_t max_resource, int maximize);
void bt_sched_free(bt_sched *s);

bt_status bt_sched_next(bt_sched *s, bt_job *job);
/* metric NaN means the trial failed at that resource. */
bt_status bt_sched_report(bt_sched *s, int64_t trial, int64_t resource, double metric);

/* Stopping mode, for program sweeps (docs/program-mode.md): a trial's process cannot wait at a
 * rung for its rung to fill, so every scheduler judges a trial when it reports at a rung, as
 * W&B's early_terminate and Ray Tune's ASHA do: within its bracket, it goes on when it ranks in
 * the top ceil(n / eta) of the n reports that rung has so far (W&B's rule for wandb-hyperband),
 * else it stops. Going on starts its next rung's job inside bt_sched_report (see
 * bt_sched_trial_job); bt_sched_next only ever hands out new trials. Call before anything else. */
bt_status bt_sched_set_stopping(bt_sched *s);
/* Stopping mode: trial's program ended on its own with its job in flight: completed with metric
 * as its last value (NaN: failed). No rung decision is made. */
bt_status bt_sched_finish(bt_sched *s, int64_t trial, double metric);
/* The resource trial's job in flight runs to, or -1 when it has none. */
int64_t bt_sched_trial_job(const bt_sched *s, int64_t trial);

/* Memory a scheduler (bt_sched_init) holds per trial, at most: its state and a queued job. */
size_t bt_sched_trial_bytes(void);

/* Total trials the plan creates (ids are 0..n-1). */
int64_t bt_sched_n_trials(const bt_sched *s);
bt_trial_status bt_sched_trial_status(const bt_sched *s, int64_t trial);
void bt_sched_trial_place(const bt_sched *s, int64_t trial, int32_t *bracket, int32_t *rung);
/* Decisions so far, in the order they were made; borrowed until the next call on s. */
const bt_rung_decision *bt_sched_decisions(const bt_sched *s, int64_t *n);
/* Brackets and rungs; *n_brackets <= cap. */
bt_status bt_sched_plan(const bt_sched *s, bt_sched_bracket_plan *brackets, int cap,
                        int *n_brackets);
/* Name for messages: "none", "sha", "hyperband", "asha", "wandb-hyperband". */
const char *bt_sched_kind_name(bt_sched_kind k);

#endif
