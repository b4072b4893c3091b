/* The helpers every scheduler file shares (sched_impl.h): ranking, the decisions log, the job
 * queue, starting jobs, integer-safe eta arithmetic, geometric rungs and sorted rung entry. They
 * know no scheduler; the dispatch to the schedulers is sched.c's. */
#include "sweeps/sched/sched_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"

int bt_sched_better(const bt_sched *s, double ma, int64_t ta, double mb, int64_t tb) {
    int na = isnan(ma), nb = isnan(mb);
    if (na != nb) return nb; /* a failed trial ranks below every finite one */
    if (!na && ma != mb) return s->maximize ? ma > mb : ma < mb;
    return ta < tb;
}

bt_status bt_sched_log(bt_sched *s, int32_t bracket, int32_t rung, int64_t trial, int64_t resource,
                       double metric, int promoted) {
    if (s->n_dec == s->cap_dec) {
        int64_t cap = s->cap_dec ? 2 * s->cap_dec : 64;
        bt_rung_decision *d = realloc(s->dec, (size_t)cap * sizeof *d);
        BT_CHECK_ALLOC(d);
        s->dec = d;
        s->cap_dec = cap;
    }
    s->dec[s->n_dec++] = (bt_rung_decision){.bracket = bracket,
                                            .rung = rung,
                                            .trial = trial,
                                            .resource = resource,
                                            .metric = metric,
                                            .promoted = promoted};
    return BT_STATUS_OK;
}

bt_status bt_sched_queue_push(bt_sched *s, int64_t trial, int64_t resource, int32_t bracket,
                              int32_t rung) {
    if (s->q_head + s->q_len == s->q_cap) {
        if (s->q_head > 0) { /* reuse the consumed front before growing */
            memmove(s->queue, s->queue + s->q_head, (size_t)s->q_len * sizeof *s->queue);
            s->q_head = 0;
        }
        bt_job *q = bt_grow(s->queue, &s->q_cap, s->q_len + 1, sizeof *q, 64);
        BT_CHECK_ALLOC(q);
        s->queue = q;
    }
    s->queue[s->q_head + s->q_len++] = (bt_job){
        .kind = BT_JOB_RUN, .trial = trial, .resource = resource, .bracket = bracket, .rung = rung};
    return BT_STATUS_OK;
}

/* The next rung-0 job counted off (sched_impl.h), or 0 when they are all handed out. */
static int queue_pop_first(bt_sched *s, bt_job *job) {
    while (s->q0 && s->q0_bracket < s->n_brackets) {
        const bt_sched_bracket *br = &s->brackets[s->q0_bracket];
        if (s->q0_next < br->first_trial + br->n_trials) {
            *job = (bt_job){.kind = BT_JOB_RUN,
                            .trial = s->q0_next++,
                            .resource = br->rungs[0].resource,
                            .bracket = s->q0_bracket,
                            .rung = 0};
            return 1;
        }
        if (++s->q0_bracket < s->n_brackets) s->q0_next = s->brackets[s->q0_bracket].first_trial;
    }
    s->q0 = 0;
    return 0;
}

int32_t bt_sched_bracket_of(const bt_sched *s, int64_t trial) {
    for (int b = 0; b < s->n_brackets; b++) {
        const bt_sched_bracket *br = &s->brackets[b];
        if (trial >= br->first_trial && trial < br->first_trial + br->n_trials) return b;
    }
    return 0;
}

int bt_sched_queue_pop(bt_sched *s, bt_job *job) {
    if (queue_pop_first(s, job)) return 1;
    if (s->q_len == 0) return 0;
    *job = s->queue[s->q_head++];
    s->q_len--;
    if (s->q_len == 0) s->q_head = 0;
    return 1;
}

void bt_sched_job_start(bt_sched *s, const bt_job *job) {
    for (; s->n_started <= job->trial; s->n_started++) /* its entry (and any skipped) is set now */
        s->trials[s->n_started] = (bt_sched_trial){.status = BT_TRIAL_PENDING,
                                                   .bracket = bt_sched_bracket_of(s, s->n_started),
                                                   .rung = -1,
                                                   .outstanding = -1,
                                                   .best = NAN};
    bt_sched_trial *t = &s->trials[job->trial];
    t->status = BT_TRIAL_RUNNING;
    t->bracket = job->bracket;
    t->rung = job->rung;
    t->outstanding = job->resource;
    s->n_outstanding++;
}

void bt_sched_job_enter(bt_sched *s, bt_job *job, int64_t trial, int32_t rung) {
    bt_sched_rung *r = &s->brackets[0].rungs[rung];
    r->n_entered++;
    *job = (bt_job){
        .kind = BT_JOB_RUN, .trial = trial, .resource = r->resource, .bracket = 0, .rung = rung};
    bt_sched_job_start(s, job);
}

void bt_sched_job_idle(const bt_sched *s, bt_job *job) {
    memset(job, 0, sizeof *job);
    job->kind = s->n_outstanding > 0 ? BT_JOB_WAIT : BT_JOB_DONE;
    job->trial = -1;
}

int64_t bt_sched_div_eta(const bt_sched *s, int64_t n) {
    if (s->eta_int) return n / (int64_t)s->eta;
    /* a tiny slack so that e.g. 5 / 2.5 is 2, not 1.9999999 */
    return (int64_t)floor((double)n / s->eta + 1e-9);
}

bt_status bt_sched_geometric_rungs(const bt_sched *s, bt_sched_bracket *b) {
    int n = 0;
    int64_t prev = 0;
    double p = (double)s->min_resource;
    int64_t pi = s->min_resource;
    for (;;) {
        int64_t r;
        if (s->eta_int) {
            r = pi;
        } else {
            r = llround(p);
        }
        if (r >= s->max_resource) break;
        if (r > prev) {
            if (n == BT_SCHED_MAX_RUNGS - 1)
                return BT_FAIL(BT_STATUS_BAD_INPUT,
                               "scheduler: more than %d rungs between min_resource %lld and "
                               "max_resource %lld with eta %g",
                               BT_SCHED_MAX_RUNGS, (long long)s->min_resource,
                               (long long)s->max_resource, s->eta);
            b->rungs[n++].resource = r;
            prev = r;
        }
        if (s->eta_int) {
            if (pi > s->max_resource / (int64_t)s->eta) break; /* next one passes max */
            pi *= (int64_t)s->eta;
        } else {
            p *= s->eta;
        }
    }
    b->rungs[n++].resource = s->max_resource;
    b->n_rungs = n;
    return BT_STATUS_OK;
}

bt_status bt_sched_rung_add(const bt_sched *s, bt_sched_rung *r, int64_t trial, double metric,
                            int64_t *idx) {
    if (r->n_reported == r->cap) {
        int64_t cap = r->cap ? 2 * r->cap : 16;
        int64_t *t = realloc(r->trial, (size_t)cap * sizeof *t);
        BT_CHECK_ALLOC(t);
        r->trial = t;
        double *m = realloc(r->metric, (size_t)cap * sizeof *m);
        BT_CHECK_ALLOC(m);
        r->metric = m;
        unsigned char *p = realloc(r->promoted, (size_t)cap);
        BT_CHECK_ALLOC(p);
        r->promoted = p;
        int64_t *o = realloc(r->order, (size_t)cap * sizeof *o);
        BT_CHECK_ALLOC(o);
        r->order = o;
        r->cap = cap;
    }
    int64_t i = r->n_reported++;
    r->trial[i] = trial;
    r->metric[i] = metric;
    r->promoted[i] = 0;
    r->n_finite += !isnan(metric);
    /* first position whose entry the new report beats */
    int64_t lo = 0, hi = i;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2, e = r->order[mid];
        if (bt_sched_better(s, metric, trial, r->metric[e], r->trial[e]))
            hi = mid;
        else
            lo = mid + 1;
    }
    memmove(r->order + lo + 1, r->order + lo, (size_t)(i - lo) * sizeof *r->order);
    r->order[lo] = i;
    r->last_pos = lo;
    *idx = i;
    return BT_STATUS_OK;
}

bt_status bt_sched_brackets_alloc(bt_sched *s, int n) {
    s->brackets = calloc((size_t)n, sizeof *s->brackets);
    BT_CHECK_ALLOC(s->brackets);
    s->n_brackets = n;
    return BT_STATUS_OK;
}
