/* Internal to the schedulers (sweeps/sched/): the state behind bt_sched, the helpers the
 * scheduler files share (sched_core.c: ranking, decisions log, job queue, integer-safe eta
 * arithmetic) and the entry points of each scheduler. Not a public header: nothing outside
 * sweeps/sched/ includes it.
 * Ownership: everything hangs off struct bt_sched and is released by bt_sched_free. */
#ifndef BT_SCHED_IMPL_H
#define BT_SCHED_IMPL_H

#include <stdint.h>

#include "sweeps/sched/sched.h"

#define BT_SCHED_MAX_RUNGS 64    /* = the size of bt_sched_bracket_plan.rungs */
#define BT_SCHED_MAX_BRACKETS 64 /* Hyperband: s_max + 1 */
#define BT_SCHED_MAX_TRIALS BT_SPEC_MAX_TRIALS

typedef struct bt_sched_trial {
    bt_trial_status status;
    int32_t bracket, rung; /* rung of the latest job; -1 before the first */
    int64_t outstanding;   /* resource of the job in flight, -1 when none */
    double best;           /* W&B non-strict: best key (minimize form) reported so far */
} bt_sched_trial;

/* One rung: the reports that arrived at it, in arrival order. */
typedef struct bt_sched_rung {
    int64_t resource;
    int64_t n_planned;  /* trials entering (SHA/Hyperband/none); an upper bound (ASHA/W&B) */
    int64_t n_entered;  /* jobs created for this rung */
    int64_t n_reported; /* entries below */
    int64_t cap;
    int64_t *trial;
    double *metric;
    unsigned char *promoted;
    int64_t *order;   /* report indices, best first, kept sorted as reports arrive */
    int64_t n_finite; /* reports with a finite metric */
    int64_t last_pos; /* where the latest report went in order (its rank when it arrived) */
    /* ASHA: the finite reports not yet promoted, best first, from unprom[unprom_head] on (a
     * promotion always takes the best of them, so it only moves the head) */
    int64_t *unprom;
    int64_t unprom_head, n_unprom, cap_unprom;
} bt_sched_rung;

typedef struct bt_sched_bracket {
    int32_t n_rungs;
    int64_t first_trial, n_trials; /* synchronous brackets own ids [first, first + n) */
    bt_sched_rung rungs[BT_SCHED_MAX_RUNGS];
} bt_sched_bracket;

struct bt_sched {
    bt_sched_kind kind;
    int maximize, strict;
    double eta;
    int eta_int; /* eta is a whole number: use exact integer arithmetic */
    int64_t min_resource, max_resource;
    int spec_s;
    int spec_max_given; /* the sweep set max_resource (W&B: max_iter) itself */

    int64_t n_trials;  /* ids 0..n_trials-1 exist */
    int64_t n_started; /* ids handed out so far (always a prefix) */
    int64_t n_outstanding;
    /* a bt_table for every trial; the entries of trials 0 .. n_started-1 are set (the others
     * are pending: see bt_sched_job_start), so the memory follows the trials started */
    bt_sched_trial *trials;

    bt_sched_bracket *brackets;
    int n_brackets;

    /* FIFO of ready jobs. The synchronous schedulers' rung-0 jobs, one per trial of every
     * bracket, come first: they are not stored but counted off (bracket q0_bracket, trial
     * q0_next), so a sweep of 10^8 trials does not queue 10^8 jobs up front. */
    bt_job *queue;
    int64_t q_head, q_len, q_cap;
    int q0, q0_bracket; /* q0: rung-0 jobs are counted off first */
    int64_t q0_next;

    bt_rung_decision *dec;
    int64_t n_dec, cap_dec;

    int finished; /* ASHA: end-of-sweep pruning done */
    int stopping; /* stopping mode (bt_sched_set_stopping, sched_stop.c) */
};

/* ---- shared helpers (sched_core.c) ---- */

/* The bracket whose trial ids hold `trial` (0 for the one-bracket schedulers). */
int32_t bt_sched_bracket_of(const bt_sched *s, int64_t trial);

/* 1 if (ma, ta) ranks before (mb, tb): better metric first, NaN last, ties by lower trial id. */
int bt_sched_better(const bt_sched *s, double ma, int64_t ta, double mb, int64_t tb);

bt_status bt_sched_log(bt_sched *s, int32_t bracket, int32_t rung, int64_t trial, int64_t resource,
                       double metric, int promoted);
bt_status bt_sched_queue_push(bt_sched *s, int64_t trial, int64_t resource, int32_t bracket,
                              int32_t rung);
int bt_sched_queue_pop(bt_sched *s, bt_job *job);
/* Marks job's trial running at job's place and counts it outstanding. */
void bt_sched_job_start(bt_sched *s, const bt_job *job);
/* Enters `trial` into rung `rung` of bracket 0 (single-bracket schedulers) and starts it there. */
void bt_sched_job_enter(bt_sched *s, bt_job *job, int64_t trial, int32_t rung);
/* WAIT while jobs are out, else DONE. */
void bt_sched_job_idle(const bt_sched *s, bt_job *job);
/* floor(n / eta), exact for whole eta. */
int64_t bt_sched_div_eta(const bt_sched *s, int64_t n);
/* Rungs min*eta^k (rounded, strictly increasing) below max, then max itself. */
bt_status bt_sched_geometric_rungs(const bt_sched *s, bt_sched_bracket *b);
/* Adds a report to a rung's arrival list (index in *idx) and to its ranking r->order; a binary
 * search and one memmove, so no decision ever sorts a whole rung again. */
bt_status bt_sched_rung_add(const bt_sched *s, bt_sched_rung *r, int64_t trial, double metric,
                            int64_t *idx);
/* Allocates s->brackets (zeroed). */
bt_status bt_sched_brackets_alloc(bt_sched *s, int n);

/* ---- per scheduler ---- */

/* none, SHA and Hyperband: synchronous brackets (sched_none.c, sched_sha.c). */
bt_status bt_sched_none_setup(bt_sched *s, int64_t n_trials);
bt_status bt_sched_sha_setup(bt_sched *s, int64_t n_trials);
bt_status bt_sched_hyperband_setup(bt_sched *s, int64_t n_trials);
bt_status bt_sched_sync_start(bt_sched *s); /* queues every rung-0 job */
bt_status bt_sched_sync_next(bt_sched *s, bt_job *job);
bt_status bt_sched_sync_report(bt_sched *s, int64_t trial, int64_t idx);

bt_status bt_sched_asha_setup(bt_sched *s, int64_t n_trials);
bt_status bt_sched_asha_next(bt_sched *s, bt_job *job);
bt_status bt_sched_asha_report(bt_sched *s, int64_t trial, int64_t idx);

bt_status bt_sched_wandb_setup(bt_sched *s, int64_t n_trials);
bt_status bt_sched_wandb_next(bt_sched *s, bt_job *job);
bt_status bt_sched_wandb_report(bt_sched *s, int64_t trial, int64_t idx);

/* Stopping mode (sched_stop.c): SHA, Hyperband and ASHA judge at report time; ASHA hands out
 * only new trials. */
bt_status bt_sched_stop_report(bt_sched *s, int64_t trial, int64_t idx);
bt_status bt_sched_stop_next(bt_sched *s, bt_job *job);
/* Starts trial's job at rung `rung` + 1 of its bracket at once (a running process goes on). */
void bt_sched_stop_continue(bt_sched *s, int64_t trial);

#endif
