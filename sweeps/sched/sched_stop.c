/* Stopping mode (sched.h, bt_sched_set_stopping): the schedulers as stopping rules for program
 * sweeps, whose trials are processes that run on while they report. A report at a rung is judged
 * at once against the reports that rung has so far -- within the top ceil(n / eta) goes on, the
 * rest stop (Ray Tune's ASHA cut, the (1 - 1/eta) quantile, for distinct values) -- and a trial
 * that goes on starts its next rung's job in the same call. SHA is one such bracket of n trials,
 * Hyperband its brackets side by side, ASHA one bracket handing out new trials as slots free. */
#include "sweeps/sched/sched_impl.h"

#include <math.h>

bt_status bt_sched_set_stopping(bt_sched *s) {
    if (!s) return BT_FAIL(BT_STATUS_INTERNAL, "bt_sched_set_stopping: NULL scheduler");
    if (s->n_dec > 0 || s->n_outstanding > 0 || (s->n_started > 0 && s->kind == BT_SCHED_ASHA))
        return BT_FAIL(BT_STATUS_INTERNAL, "bt_sched_set_stopping: the scheduler has started");
    s->stopping = 1;
    return BT_STATUS_OK;
}

void bt_sched_stop_continue(bt_sched *s, int64_t trial) {
    bt_sched_trial *t = &s->trials[trial];
    bt_sched_bracket *b = &s->brackets[t->bracket];
    bt_sched_rung *next = &b->rungs[t->rung + 1];
    next->n_entered++;
    bt_job job = {.kind = BT_JOB_RUN,
                  .trial = trial,
                  .resource = next->resource,
                  .bracket = t->bracket,
                  .rung = t->rung + 1};
    bt_sched_job_start(s, &job);
}

bt_status bt_sched_stop_report(bt_sched *s, int64_t trial, int64_t idx) {
    bt_sched_trial *t = &s->trials[trial];
    int32_t bi = t->bracket, i = t->rung;
    bt_sched_bracket *b = &s->brackets[bi];
    bt_sched_rung *r = &b->rungs[i];
    double m = r->metric[idx];
    if (isnan(m)) return bt_sched_log(s, bi, i, trial, r->resource, m, 0);
    if (i == b->n_rungs - 1) {
        t->status = BT_TRIAL_COMPLETED;
        return bt_sched_log(s, bi, i, trial, r->resource, m, 1);
    }
    int64_t rank = r->last_pos; /* idx is the latest report */
    int64_t keep = (int64_t)ceil((double)r->n_finite / s->eta - 1e-9);
    if (keep < 1) keep = 1;
    int go_on = rank < keep;
    r->promoted[idx] = (unsigned char)go_on;
    BT_TRY(bt_sched_log(s, bi, i, trial, r->resource, m, go_on));
    if (!go_on)
        t->status = BT_TRIAL_PRUNED;
    else
        bt_sched_stop_continue(s, trial);
    return BT_STATUS_OK;
}

bt_status bt_sched_stop_next(bt_sched *s, bt_job *job) {
    if (s->n_started < s->n_trials) {
        bt_sched_job_enter(s, job, s->n_started, 0);
        return BT_STATUS_OK;
    }
    bt_sched_job_idle(s, job);
    return BT_STATUS_OK;
}

bt_status bt_sched_finish(bt_sched *s, int64_t trial, double metric) {
    if (!s || !s->stopping)
        return BT_FAIL(BT_STATUS_INTERNAL, "bt_sched_finish: only in stopping mode");
    if (trial < 0 || trial >= s->n_started || s->trials[trial].outstanding < 0)
        return BT_FAIL(BT_STATUS_INTERNAL, "bt_sched_finish: trial %lld has no job in flight",
                       (long long)trial);
    bt_sched_trial *t = &s->trials[trial];
    t->outstanding = -1;
    s->n_outstanding--;
    t->status = isnan(metric) ? BT_TRIAL_FAILED : BT_TRIAL_COMPLETED;
    return BT_STATUS_OK;
}

int64_t bt_sched_trial_job(const bt_sched *s, int64_t trial) {
    if (!s || trial < 0 || trial >= s->n_started) return -1;
    return s->trials[trial].outstanding;
}
