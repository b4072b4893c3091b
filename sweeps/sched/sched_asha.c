/* ASHA: asynchronous successive halving (Li et al. 2020, "A System for Massively Parallel
 * Hyperparameter Tuning", Algorithm 2). No rung barrier: whenever a job is asked for, the highest
 * rung with a promotable trial (in the top 1/eta of those that reported there, not yet promoted)
 * gives one; otherwise a new trial starts at the bottom rung. */
#include "sweeps/sched/sched_impl.h"

#include <math.h>
#include <string.h>

#include "base/grow.h"

bt_status bt_sched_asha_setup(bt_sched *s, int64_t n_trials) {
    BT_TRY(bt_sched_brackets_alloc(s, 1));
    bt_sched_bracket *b = &s->brackets[0];
    BT_TRY(bt_sched_geometric_rungs(s, b));
    b->first_trial = 0;
    b->n_trials = n_trials;
    /* Nominal sizes n * eta^-k, what ASHA tends to; not a bound: a trial promoted early stays
     * promoted when better ones arrive later, so a rung can end up with more. */
    for (int i = 0; i < b->n_rungs; i++)
        b->rungs[i].n_planned = i == 0 ? n_trials : bt_sched_div_eta(s, b->rungs[i - 1].n_planned);
    s->n_trials = n_trials;
    return BT_STATUS_OK;
}

/* The first place in arr[lo .. hi) (report indices of rung r, best first) whose report does not
 * rank above report e: e's place among them. */
static int64_t place_of(const bt_sched *s, const bt_sched_rung *r, const int64_t *arr, int64_t lo,
                        int64_t hi, int64_t e) {
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2, o = arr[mid];
        if (bt_sched_better(s, r->metric[o], r->trial[o], r->metric[e], r->trial[e]))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The best not-yet-promoted, not-failed trial, when it lies within the top floor(n / eta) of
 * rung r; -1 if none. */
static int64_t promotable(const bt_sched *s, const bt_sched_rung *r) {
    if (r->unprom_head == r->n_unprom) return -1;
    int64_t e = r->unprom[r->unprom_head];
    int64_t rank = place_of(s, r, r->order, 0, r->n_reported, e); /* reports above e */
    return rank < bt_sched_div_eta(s, r->n_reported) ? e : -1;
}

/* Files report idx of rung r among the unpromoted ones, in rank order. */
static bt_status unprom_add(const bt_sched *s, bt_sched_rung *r, int64_t idx) {
    if (r->unprom_head > 0 && r->n_unprom == r->cap_unprom) { /* reuse the promoted prefix */
        r->n_unprom -= r->unprom_head;
        memmove(r->unprom, r->unprom + r->unprom_head, (size_t)r->n_unprom * sizeof *r->unprom);
        r->unprom_head = 0;
    }
    int64_t *u = bt_grow(r->unprom, &r->cap_unprom, r->n_unprom + 1, sizeof *u, 16);
    BT_CHECK_ALLOC(u);
    r->unprom = u;
    int64_t lo = place_of(s, r, r->unprom, r->unprom_head, r->n_unprom, idx);
    memmove(r->unprom + lo + 1, r->unprom + lo, (size_t)(r->n_unprom - lo) * sizeof *r->unprom);
    r->unprom[lo] = idx;
    r->n_unprom++;
    return BT_STATUS_OK;
}

/* No job outstanding and nothing promotable: every trial left waiting below the top rung stops. */
static bt_status asha_finish(bt_sched *s) {
    bt_sched_bracket *b = &s->brackets[0];
    for (int k = 0; k < b->n_rungs - 1; k++) {
        bt_sched_rung *r = &b->rungs[k];
        for (int64_t e = 0; e < r->n_reported; e++) {
            if (r->promoted[e] || isnan(r->metric[e])) continue;
            s->trials[r->trial[e]].status = BT_TRIAL_PRUNED;
            BT_TRY(bt_sched_log(s, 0, k, r->trial[e], r->resource, r->metric[e], 0));
        }
    }
    s->finished = 1;
    return BT_STATUS_OK;
}

bt_status bt_sched_asha_next(bt_sched *s, bt_job *job) {
    bt_sched_bracket *b = &s->brackets[0];
    if (!s->finished) {
        for (int k = b->n_rungs - 2; k >= 0; k--) {
            bt_sched_rung *r = &b->rungs[k];
            int64_t e = promotable(s, r);
            if (e < 0) continue;
            r->promoted[e] = 1;
            r->unprom_head++;
            BT_TRY(bt_sched_log(s, 0, k, r->trial[e], r->resource, r->metric[e], 1));
            bt_sched_job_enter(s, job, r->trial[e], k + 1);
            return BT_STATUS_OK;
        }
        if (s->n_started < s->n_trials) {
            bt_sched_job_enter(s, job, s->n_started, 0);
            return BT_STATUS_OK;
        }
        /* Promotions only become possible after a report, so with nothing out we are done. */
        if (s->n_outstanding == 0) BT_TRY(asha_finish(s));
    }
    bt_sched_job_idle(s, job);
    return BT_STATUS_OK;
}

bt_status bt_sched_asha_report(bt_sched *s, int64_t trial, int64_t idx) {
    bt_sched_trial *t = &s->trials[trial];
    bt_sched_bracket *b = &s->brackets[0];
    bt_sched_rung *r = &b->rungs[t->rung];
    double m = r->metric[idx];
    if (isnan(m)) return bt_sched_log(s, 0, t->rung, trial, r->resource, m, 0);
    if (t->rung == b->n_rungs - 1) {
        t->status = BT_TRIAL_COMPLETED;
        return bt_sched_log(s, 0, t->rung, trial, r->resource, m, 1);
    }
    return unprom_add(s, r, idx); /* decided when promoted, or at the end */
}
