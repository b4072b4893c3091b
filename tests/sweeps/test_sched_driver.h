/* Shared by the scheduler tests: a fake executor that drives a bt_sched to the end with a
 * deterministic objective, a bounded number of jobs in flight and a seeded completion order,
 * records every call, and can replay the record into a fresh scheduler. Header-only. */
#ifndef BT_TEST_SCHED_DRIVER_H
#define BT_TEST_SCHED_DRIVER_H

#include <stdint.h>

#include "sweeps/sched/sched.h"
#include "tests/bt_test.h"

typedef double (*sd_objective)(int64_t trial, int64_t resource, void *ctx);

typedef struct sd_op {
    int is_report;
    bt_job job; /* !is_report: what bt_sched_next returned */
    int64_t trial, resource;
    double metric;
} sd_op;

typedef struct sd_log {
    sd_op *ops;
    int64_t n, cap;
    int64_t jobs[8][64]; /* RUN jobs per (bracket, rung), brackets < 8 */
    int64_t n_jobs;
    int sync_violation; /* a job at rung i+1 left before rung i had fully reported */
} sd_log;

static inline uint64_t sd_mix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* A trial's quality in [0, 1), fixed per (trial, salt). */
static inline double sd_base(int64_t trial, uint64_t salt) {
    return (double)(sd_mix((uint64_t)trial * 1315423911u + salt) >> 11) / 9007199254740992.0;
}

/* base + 1/resource: rankings agree across rungs, and the metric improves with resource. */
static inline double sd_objective_default(int64_t trial, int64_t resource, void *ctx) {
    (void)ctx;
    return sd_base(trial, 7) + 1.0 / (double)resource;
}

static inline void sd_push(sd_log *L, sd_op op) {
    if (L->n == L->cap) {
        L->cap = L->cap ? 2 * L->cap : 256;
        L->ops = (sd_op *)realloc(L->ops, (size_t)L->cap * sizeof *L->ops);
        if (!L->ops) abort();
    }
    L->ops[L->n++] = op;
}

static inline void sd_log_free(sd_log *L) {
    free(L->ops);
    memset(L, 0, sizeof *L);
}

/* Runs s to DONE. concurrency: jobs in flight at most; seed 0 = reports in job order, else a
 * seeded pseudo-random pick among the jobs in flight. Returns 0 on success. Checks on the way that
 * new trial ids come in increasing order from 0 and each trial's resources strictly increase. */
static inline int sd_run(bt_sched *s, int64_t concurrency, uint64_t seed, sd_objective f, void *ctx,
                         sd_log *L) {
    int64_t n_trials = bt_sched_n_trials(s);
    bt_job *fly = (bt_job *)calloc((size_t)concurrency, sizeof *fly);
    int64_t *last_res = (int64_t *)calloc((size_t)(n_trials + 1), sizeof *last_res);
    int64_t nfly = 0, next_new = 0, steps = 0;
    int done = 0, rc = 0;
    uint64_t rng = seed;
    /* reports seen per (bracket, rung), for the synchronous-bracket check */
    static int64_t seen[8][64];
    memset(seen, 0, sizeof seen);
    while (!done && rc == 0) {
        if (++steps > 10000000) {
            rc = 1;
            break;
        }
        int waited = 0;
        while (nfly < concurrency) {
            bt_job j;
            if (bt_sched_next(s, &j) != BT_STATUS_OK) {
                rc = 2;
                break;
            }
            sd_op op = {0};
            op.job = j;
            sd_push(L, op);
            if (j.kind == BT_JOB_DONE) {
                done = 1;
                break;
            }
            if (j.kind == BT_JOB_WAIT) {
                waited = 1;
                break;
            }
            if (j.trial < 0 || j.trial > next_new || j.trial >= n_trials) {
                rc = 3;
                break;
            }
            if (j.trial == next_new) next_new++;
            if (j.resource <= last_res[j.trial]) {
                rc = 4;
                break;
            }
            if (j.bracket >= 0 && j.bracket < 8 && j.rung >= 0 && j.rung < 64) {
                L->jobs[j.bracket][j.rung]++;
                if (j.rung > 0 && seen[j.bracket][j.rung - 1] < L->jobs[j.bracket][j.rung - 1])
                    L->sync_violation = 1;
            }
            L->n_jobs++;
            fly[nfly++] = j;
        }
        if (rc || done) break;
        if (nfly == 0) {
            rc = waited ? 5 : 6; /* WAIT with nothing in flight: a deadlock */
            break;
        }
        int64_t pick = 0;
        if (seed) {
            rng = sd_mix(rng);
            pick = (int64_t)(rng % (uint64_t)nfly);
        }
        bt_job j = fly[pick];
        memmove(fly + pick, fly + pick + 1, (size_t)(nfly - pick - 1) * sizeof *fly);
        nfly--;
        double m = f(j.trial, j.resource, ctx);
        sd_op op = {0};
        op.is_report = 1;
        op.trial = j.trial;
        op.resource = j.resource;
        op.metric = m;
        sd_push(L, op);
        last_res[j.trial] = j.resource;
        if (j.bracket >= 0 && j.bracket < 8 && j.rung >= 0 && j.rung < 64)
            seen[j.bracket][j.rung]++;
        if (bt_sched_report(s, j.trial, j.resource, m) != BT_STATUS_OK) rc = 7;
    }
    if (rc) fprintf(stderr, "sd_run: failed with code %d: %s\n", rc, bt_status_message());
    free(fly);
    free(last_res);
    return rc;
}

static inline int sd_same_metric(double a, double b) {
    return (isnan(a) && isnan(b)) || a == b;
}

/* Replays L into a fresh scheduler built like the original; checks every job and decision. */
static inline void sd_check_replay(const bt_sched *orig, const bt_sched_spec *spec,
                                   int64_t n_trials, int64_t max_resource, int maximize,
                                   const sd_log *L) {
    bt_sched *r = NULL;
    CHECK_OK(bt_sched_init(&r, spec, n_trials, max_resource, maximize));
    if (!r) return;
    int64_t bad = 0;
    for (int64_t i = 0; i < L->n; i++) {
        const sd_op *op = &L->ops[i];
        if (op->is_report) {
            if (bt_sched_report(r, op->trial, op->resource, op->metric) != BT_STATUS_OK) bad++;
        } else {
            bt_job j;
            if (bt_sched_next(r, &j) != BT_STATUS_OK) bad++;
            if (j.kind != op->job.kind) bad++;
            if (j.kind == BT_JOB_RUN &&
                (j.trial != op->job.trial || j.resource != op->job.resource ||
                 j.bracket != op->job.bracket || j.rung != op->job.rung))
                bad++;
        }
    }
    CHECK_EQ_INT(bad, 0);
    int64_t na, nb;
    const bt_rung_decision *da = bt_sched_decisions(orig, &na);
    const bt_rung_decision *db = bt_sched_decisions(r, &nb);
    CHECK_EQ_INT(na, nb);
    int64_t diff = 0;
    for (int64_t i = 0; i < na && i < nb; i++) {
        if (da[i].bracket != db[i].bracket || da[i].rung != db[i].rung ||
            da[i].trial != db[i].trial || da[i].resource != db[i].resource ||
            !sd_same_metric(da[i].metric, db[i].metric) || da[i].promoted != db[i].promoted)
            diff++;
    }
    CHECK_EQ_INT(diff, 0);
    for (int64_t t = 0; t < bt_sched_n_trials(orig); t++)
        if (bt_sched_trial_status(orig, t) != bt_sched_trial_status(r, t)) diff++;
    CHECK_EQ_INT(diff, 0);
    bt_sched_free(r);
}

/* Every trial that started ends COMPLETED, PRUNED or FAILED; returns how many COMPLETED. */
static inline int64_t sd_check_final(const bt_sched *s) {
    int64_t completed = 0, open = 0;
    for (int64_t t = 0; t < bt_sched_n_trials(s); t++) {
        bt_trial_status st = bt_sched_trial_status(s, t);
        if (st == BT_TRIAL_COMPLETED) completed++;
        if (st == BT_TRIAL_RUNNING) open++;
    }
    CHECK_EQ_INT(open, 0);
    return completed;
}

/* Every report produced exactly one decision row. */
static inline void sd_check_one_decision_per_report(const bt_sched *s, const sd_log *L) {
    int64_t reports = 0, n;
    for (int64_t i = 0; i < L->n; i++) reports += L->ops[i].is_report;
    bt_sched_decisions(s, &n);
    CHECK_EQ_INT(n, reports);
}

static inline bt_sched_spec sd_spec(bt_sched_kind kind, int64_t min_r, int64_t max_r, double eta) {
    bt_sched_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.kind = kind;
    sp.min_resource = min_r;
    sp.max_resource = max_r;
    sp.eta = eta;
    return sp;
}

#endif
