/* The tick (exec_internal.h): hand out jobs, advance every active run one resource unit, record
 * the learning curves, report to the scheduler in trial-id order, free what finished, journal the
 * tick. Replaying a journal runs the same ticks without training, reading the values back. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/exec/exec_internal.h"
#include "base/grow.h"

/* Appends v to the growing array *a of *n entries (*cap allocated). */
static bt_status push(int64_t **a, int64_t *n, int64_t *cap, int64_t v) {
    int64_t *na = bt_grow(*a, cap, *n + 1, sizeof *na, 64);
    BT_CHECK_ALLOC(na);
    *a = na;
    (*a)[(*n)++] = v;
    return BT_STATUS_OK;
}

/* Lists run L among the open ones, keeping them ascending (a new run is nearly always the
 * highest). */
static bt_status open_run(bt_exec *e, int64_t L) {
    if (e->runs[L].open) return BT_STATUS_OK;
    BT_TRY(push(&e->open, &e->n_open, &e->cap_open, L));
    int64_t i = e->n_open - 1;
    for (; i > 0 && e->open[i - 1] > L; i--) e->open[i] = e->open[i - 1];
    e->open[i] = L;
    e->runs[L].open = 1;
    return BT_STATUS_OK;
}

static int by_id(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int run_done(const bt_exec *e, int64_t leader) {
    const bt_sweep *sw = &e->sw;
    const int64_t run = sw->trials[leader].run;
    for (int64_t k = sw->mem_ptr[run]; k < sw->mem_ptr[run + 1]; k++) {
        bt_trial_status s = bt_sched_trial_status(sw->sched, sw->members[k]);
        if (s == BT_TRIAL_PENDING || s == BT_TRIAL_RUNNING) return 0;
    }
    return 1;
}

/* 1. Hands out jobs while fewer than `concurrency` runs are active; *job is the last answer. */
static bt_status hand_out_jobs(bt_exec *e, bt_job *job) {
    bt_sweep *sw = &e->sw;
    while (e->n_active < e->concurrency) {
        BT_TRY(bt_sched_next(sw->sched, job));
        if (job->kind != BT_JOB_RUN) break;
        BT_TRY(bt_sweep_ready(sw, job->trial)); /* bayes/tpe propose it now */
        bt_exec_trials_ready(e);
        int64_t t = job->trial, L = sw->trials[t].leader;
        bt_jrec jr = {BT_JREC_JOB, e->tick, t, job->resource, 0, 0, ""};
        BT_TRY(bt_exec_jrec(e, &jr));
        bt_exec_trial *ts = &e->ts[t];
        ts->has_job = 1;
        ts->job_resource = job->resource;
        ts->report_at = sw->trials[t].budget >= 0 ? sw->trials[t].budget : job->resource;
        bt_exec_run *r = &e->runs[L];
        BT_TRY(open_run(e, L));
        if (!r->active) {
            r->active = 1;
            e->n_active++;
        }
        if (ts->report_at > r->target) r->target = ts->report_at;
        if (!ts->started) {
            ts->started = 1;
            char f[96];
            snprintf(f, sizeof f, "\"trial\":%" PRId64 ",\"leader\":%" PRId64, t, L);
            bt_progress_event(&e->prog, "trial_start", f);
        }
    }
    return BT_STATUS_OK;
}

/* 3. The learning curves of the n runs (leaders) this tick advanced: each member whose budget
 * reaches the run's new resource records the sweep metric there, and its other metrics where it
 * reports. */
static bt_status record_curves(bt_exec *e, const int64_t *leaders, int64_t n, double now) {
    bt_sweep *sw = &e->sw;
    for (int64_t i = 0; i < n; i++) {
        int64_t L = leaders[i];
        bt_exec_run *r = &e->runs[L];
        const int64_t run = sw->trials[L].run;
        r->resource++;
        double value = NAN;
        int have = 0;
        /* the run's share of this tick's time goes to the members it trained this tick, split
         * evenly: a budget-prefix group's run is paid for once, not once per member */
        int64_t m = 0;
        for (int64_t k = sw->mem_ptr[run]; k < sw->mem_ptr[run + 1]; k++) {
            int64_t budget = sw->trials[sw->members[k]].budget;
            m += !(budget >= 0 && budget < r->resource);
        }
        double weight = m > 0 ? 1.0 / ((double)n * (double)m) : 0;
        for (int64_t k = sw->mem_ptr[run]; k < sw->mem_ptr[run + 1]; k++) {
            int64_t t = sw->members[k];
            int64_t budget = sw->trials[t].budget;
            if (budget >= 0 && budget < r->resource) continue;
            if (!e->jnl.replaying && !have) {
                value = r->failed ? NAN : r->step_value; /* read by bt_exec_step_leaders */
                have = 1;
            }
            bt_jrec h = {BT_JREC_HIST, e->tick, t, r->resource, value, now, ""};
            snprintf(h.metric, sizeof h.metric, "%s", sw->metric);
            BT_TRY(bt_exec_jrec(e, &h));
            BT_TRY(bt_exec_hist_add(e, t, r->resource, sw->metric, h.value, h.time));
            bt_exec_trial *ts = &e->ts[t];
            ts->resource = r->resource;
            ts->metric = h.value;
            if (ts->pending == 0 && weight > 0) BT_TRY(push(&e->paid, &e->n_paid, &e->cap_paid, t));
            ts->pending += weight;
            if (bt_exec_better(e, h.value, ts->best)) ts->best = h.value;
            /* the task's other metrics where this trial reports: its own budget, or its job's
             * resource -- decided by the run alone, so packing never changes the history */
            int64_t at = budget >= 0 ? budget : ts->has_job ? ts->report_at : -1;
            if (r->resource == at) BT_TRY(bt_exec_extra_metrics(e, L, t, now));
        }
    }
    return BT_STATUS_OK;
}

/* 4. Reports, in trial-id order, of every trial whose run reached its report point; a run whose
 * members have no job left goes idle. A trial with a job belongs to an active run, so the open
 * runs' members are all there is to look at. */
static bt_status send_reports(bt_exec *e) {
    bt_sweep *sw = &e->sw;
    int64_t n_due = 0;
    for (int64_t i = 0; i < e->n_open; i++) {
        int64_t L = e->open[i];
        if (!e->runs[L].active) continue;
        const int64_t run = sw->trials[L].run;
        for (int64_t k = sw->mem_ptr[run]; k < sw->mem_ptr[run + 1]; k++) {
            int64_t t = sw->members[k];
            if (e->ts[t].has_job && e->runs[L].resource >= e->ts[t].report_at)
                BT_TRY(push(&e->due, &n_due, &e->cap_due, t));
        }
    }
    if (n_due > 1) qsort(e->due, (size_t)n_due, sizeof *e->due, by_id);
    for (int64_t i = 0; i < n_due; i++) {
        int64_t t = e->due[i];
        bt_exec_trial *ts = &e->ts[t];
        int64_t L = sw->trials[t].leader;
        bt_exec_run *r = &e->runs[L];
        bt_jrec rep = {BT_JREC_REPORT, e->tick, t, ts->job_resource, ts->metric, 0, ""};
        BT_TRY(bt_exec_jrec(e, &rep));
        BT_TRY(bt_sched_report(sw->sched, t, ts->job_resource, ts->metric));
        BT_TRY(bt_sweep_observe(sw, t, ts->job_resource, ts->metric));
        ts->has_job = 0;
        char f[160];
        snprintf(f, sizeof f, "\"trial\":%" PRId64 ",\"resource\":%" PRId64 ",\"metric\":%.17g", t,
                 ts->resource, isnan(ts->metric) ? -1.0 : ts->metric);
        if (isnan(ts->metric))
            snprintf(f, sizeof f, "\"trial\":%" PRId64 ",\"resource\":%" PRId64 ",\"metric\":null",
                     t, ts->resource);
        bt_progress_event(&e->prog, "report", f);
        /* the run goes idle when no member has a job left */
        const int64_t run = sw->trials[L].run;
        int any = 0;
        for (int64_t k = sw->mem_ptr[run]; k < sw->mem_ptr[run + 1]; k++)
            any |= e->ts[sw->members[k]].has_job;
        if (!any && r->active) {
            r->active = 0;
            r->target = r->resource;
            e->n_active--;
        }
    }
    return BT_STATUS_OK;
}

/* 5. Frees the state of runs whose trials are all finished (they leave the open runs: no job
 * comes for them again); 6. bounds the idle ones'. */
static void release_runs(bt_exec *e) {
    int64_t kept = 0;
    for (int64_t i = 0; i < e->n_open; i++) {
        int64_t t = e->open[i];
        if (!e->runs[t].active && run_done(e, t)) {
            bt_exec_log_trial_stops(e, t);
            bt_exec_ranks_release(e, t);
            bt_exec_snap_drop(e, t);
            e->runs[t].open = 0;
        } else {
            e->open[kept++] = t;
        }
    }
    e->n_open = kept;
    /* 6. bound memory: runs waiting for a promotion (ASHA, W&B) keep their state only while
     * fewer than 2 x concurrency runs hold a slot; beyond that the earliest idle ones give theirs
     * up and are retrained if promoted later (deterministic, so results do not change) */
    if (e->jnl.replaying) return;
    int64_t resident = 0;
    for (int64_t i = 0; i < e->n_open; i++) resident += e->runs[e->open[i]].slot >= 0;
    for (int64_t i = 0; i < e->n_open && resident > 2 * e->concurrency; i++) {
        int64_t t = e->open[i];
        if (e->runs[t].slot < 0 || e->runs[t].active) continue;
        bt_exec_ranks_release(e, t);
        resident--;
    }
}

/* Journals the tick and pays each trial its share of the tick's wall time. */
static bt_status end_tick(bt_exec *e) {
    bt_jrec tk = {
        BT_JREC_TICK, e->tick, -1, -1, 0, bt_clock() - e->prog.t0 + e->jnl.time_offset, ""};
    BT_TRY(bt_exec_jrec(e, &tk));
    /* this tick's wall time, from the journal's clock (so a replay attributes exactly what the
     * first run did, and a resumed sweep keeps the time spent before it stopped) */
    double dur = tk.time - e->last_tick_time;
    if (!(dur > 0)) dur = 0;
    e->last_tick_time = tk.time;
    for (int64_t i = 0; i < e->n_paid; i++) {
        bt_exec_trial *ts = &e->ts[e->paid[i]];
        ts->seconds += ts->pending * dur;
        ts->pending = 0;
    }
    e->n_paid = 0;
    e->tick++;
    return BT_STATUS_OK;
}

/* One tick; *finished set when the scheduler is done. buf holds 2 x n_trials + 1 leaders. */
bt_status bt_exec_tick(bt_exec *e, int64_t *buf, int *finished) {
    bt_job job = {BT_JOB_WAIT, 0, 0, 0, 0};
    BT_TRY(hand_out_jobs(e, &job));
    if (e->n_active == 0) {
        if (job.kind == BT_JOB_DONE) {
            *finished = 1;
            return BT_STATUS_OK;
        }
        return BT_FAIL(BT_STATUS_INTERNAL, "scheduler waits with no job outstanding");
    }

    /* 2. advance every active run that has further to go */
    int64_t n = 0;
    for (int64_t i = 0; i < e->n_open; i++) {
        int64_t t = e->open[i];
        bt_exec_run *r = &e->runs[t];
        if (r->active && r->resource < r->target) buf[n++] = t;
    }
    if (!e->jnl.replaying) {
        BT_TRY(bt_exec_catch_up(e, buf + n));
        for (int64_t i = 0; i < n; i++) BT_TRY(bt_exec_ranks_acquire(e, buf[i]));
        BT_TRY(bt_exec_ranks_step(e, buf, n, 1)); /* one process: bt_exec_step_leaders */
    }
    double now = bt_clock() - e->prog.t0 + e->jnl.time_offset;

    BT_TRY(record_curves(e, buf, n, now));
    BT_TRY(send_reports(e));
    release_runs(e);
    return end_tick(e);
}
