/* Synchronous successive halving, and Hyperband as several SHA brackets run side by side
 * (Li et al. 2018, JMLR, Algorithm 1). One engine serves none, SHA and Hyperband: every bracket
 * owns a contiguous range of trial ids, all rung-0 jobs are queued up front (bracket by bracket,
 * counted off rather than stored: sched_impl.h),
 * and a rung is decided only once every trial that entered it has reported. */
#include "sweeps/sched/sched_impl.h"

#include <math.h>
#include <stdlib.h>

/* Rung sizes n_{i+1} = max(1, floor(n_i / eta)); for whole eta this equals floor(n_0 / eta^(i+1)),
 * Hyperband's n_i = floor(n * eta^-i). */
static void rung_sizes(const bt_sched *s, bt_sched_bracket *b, int64_t n0) {
    b->n_trials = n0;
    for (int i = 0; i < b->n_rungs; i++) {
        int64_t n;
        if (i == 0) {
            n = n0;
        } else {
            n = bt_sched_div_eta(s, b->rungs[i - 1].n_planned);
            if (n < 1 && n0 > 0) n = 1;
        }
        b->rungs[i].n_planned = n;
    }
}

bt_status bt_sched_sha_setup(bt_sched *s, int64_t n_trials) {
    BT_TRY(bt_sched_brackets_alloc(s, 1));
    BT_TRY(bt_sched_geometric_rungs(s, &s->brackets[0]));
    s->brackets[0].first_trial = 0;
    rung_sizes(s, &s->brackets[0], n_trials);
    s->n_trials = n_trials;
    return BT_STATUS_OK;
}

/* s_max = floor(log_eta(max / min)) without floating-point logs: the largest s with
 * min * eta^s <= max. */
static int hyperband_s_max(const bt_sched *s) {
    int k = 0;
    if (s->eta_int) {
        int64_t e = (int64_t)s->eta, lim = s->max_resource / s->min_resource, p = 1;
        while (p <= lim / e && k < BT_SCHED_MAX_BRACKETS - 1) {
            p *= e;
            k++;
        }
    } else {
        double p = 1.0;
        while ((double)s->min_resource * p * s->eta <= (double)s->max_resource * (1.0 + 1e-12) &&
               k < BT_SCHED_MAX_BRACKETS - 1) {
            p *= s->eta;
            k++;
        }
    }
    return k;
}

/* eta^k as a double; exact for whole eta while it fits in 2^53. */
static double eta_pow(const bt_sched *s, int k) {
    double p = 1.0;
    for (int i = 0; i < k; i++) p *= s->eta;
    return p;
}

/* Resource of rung i in the bracket with parameter sb: max * eta^(i - sb) (= r * eta^i times
 * min_resource in the paper's units), rounded to the nearest integer when it is not whole. */
static int64_t hyperband_resource(const bt_sched *s, int sb, int i) {
    int64_t r;
    if (s->eta_int) {
        int64_t p = 1, e = (int64_t)s->eta;
        for (int k = 0; k < sb - i; k++) p *= e; /* <= max / min, cannot overflow */
        r = s->max_resource % p == 0 ? s->max_resource / p : llround((double)s->max_resource / p);
    } else {
        r = llround((double)s->max_resource / eta_pow(s, sb - i));
    }
    if (r < s->min_resource) r = s->min_resource;
    if (r > s->max_resource) r = s->max_resource;
    return r;
}

bt_status bt_sched_hyperband_setup(bt_sched *s, int64_t n_trials) {
    int s_max = hyperband_s_max(s);
    int nb = s_max + 1;
    if (s->spec_s > 0 && s->spec_s < nb)
        nb = s->spec_s; /* keep the s_max.. end: most exploratory */
    BT_TRY(bt_sched_brackets_alloc(s, nb));

    int64_t want[BT_SCHED_MAX_BRACKETS], total = 0;
    for (int b = 0; b < nb; b++) {
        int sb = s_max - b;
        /* n = ceil((s_max + 1) / (sb + 1) * eta^sb) */
        double approx = (double)(s_max + 1) * eta_pow(s, sb) / (double)(sb + 1);
        if (approx > (double)BT_SCHED_MAX_TRIALS)
            return BT_FAIL(BT_STATUS_BAD_INPUT,
                           "hyperband: bracket s=%d wants %.0f trials (min_resource %lld, "
                           "max_resource %lld, eta %g); raise min_resource or eta",
                           sb, approx, (long long)s->min_resource, (long long)s->max_resource,
                           s->eta);
        if (s->eta_int) {
            int64_t num = (int64_t)(s_max + 1) * (int64_t)eta_pow(s, sb);
            want[b] = (num + sb) / (sb + 1);
        } else {
            want[b] = (int64_t)ceil(approx - 1e-9);
        }
        total += want[b];
        bt_sched_bracket *br = &s->brackets[b];
        br->n_rungs = sb + 1;
        for (int i = 0; i <= sb; i++) br->rungs[i].resource = hyperband_resource(s, sb, i);
    }

    int64_t got[BT_SCHED_MAX_BRACKETS];
    if ((n_trials <= 0 || n_trials >= total) && total > BT_SCHED_MAX_TRIALS)
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "hyperband: the plan wants %lld trials, more than the limit of %lld; set "
                       "run_cap (its brackets shrink in proportion), or raise min_resource or eta",
                       (long long)total, (long long)BT_SCHED_MAX_TRIALS);
    if (n_trials > 0 && n_trials < total) {
        /* Truncation: shrink every bracket in proportion (largest-remainder apportionment, ties
         * to the more exploratory bracket), so a small run_cap still hedges across brackets. */
        int64_t given = 0, rem[BT_SCHED_MAX_BRACKETS];
        for (int b = 0; b < nb; b++) {
            /* want * n_trials < 1e8 * 1e8 fits in int64 */
            got[b] = want[b] * n_trials / total;
            rem[b] = want[b] * n_trials % total;
            given += got[b];
        }
        while (given < n_trials) {
            int best = 0;
            for (int b = 1; b < nb; b++)
                if (rem[b] > rem[best]) best = b;
            got[best]++;
            rem[best] = -1;
            given++;
        }
        total = n_trials;
    } else {
        for (int b = 0; b < nb; b++) got[b] = want[b];
    }

    int64_t first = 0;
    for (int b = 0; b < nb; b++) {
        s->brackets[b].first_trial = first;
        rung_sizes(s, &s->brackets[b], got[b]);
        first += got[b];
    }
    s->n_trials = total;
    return BT_STATUS_OK;
}

bt_status bt_sched_sync_start(bt_sched *s) {
    for (int b = 0; b < s->n_brackets; b++)
        s->brackets[b].rungs[0].n_entered = s->brackets[b].n_trials;
    s->q0 = 1; /* every trial's rung-0 job, bracket by bracket (bt_sched_queue_pop) */
    s->q0_bracket = 0;
    s->q0_next = s->n_brackets > 0 ? s->brackets[0].first_trial : 0;
    return BT_STATUS_OK;
}

bt_status bt_sched_sync_next(bt_sched *s, bt_job *job) {
    if (bt_sched_queue_pop(s, job)) {
        bt_sched_job_start(s, job);
        return BT_STATUS_OK;
    }
    bt_sched_job_idle(s, job);
    return BT_STATUS_OK;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Every trial of rung i has reported: the best n_{i+1} go on, the rest stop. */
static bt_status sync_decide(bt_sched *s, int32_t b, int32_t i) {
    bt_sched_bracket *br = &s->brackets[b];
    bt_sched_rung *r = &br->rungs[i], *next = &br->rungs[i + 1];
    int64_t n = r->n_reported;
    const int64_t *order = r->order;
    int64_t *ids = malloc((size_t)(n > 0 ? n : 1) * sizeof *ids);
    BT_CHECK_ALLOC(ids);
    bt_status st = BT_STATUS_OK;
    int64_t k = next->n_planned < r->n_finite ? next->n_planned : r->n_finite;
    for (int64_t j = 0; j < n && st == BT_STATUS_OK; j++) {
        int64_t e = order[j], t = r->trial[e];
        if (isnan(r->metric[e])) continue; /* logged as failed when it reported */
        int up = j < k;
        r->promoted[e] = (unsigned char)up;
        if (!up)
            s->trials[t].status = BT_TRIAL_PRUNED;
        else
            ids[j] = t;
        st = bt_sched_log(s, b, i, t, r->resource, r->metric[e], up);
    }
    if (st == BT_STATUS_OK) {
        qsort(ids, (size_t)k, sizeof *ids, cmp_i64); /* survivors run in id order */
        for (int64_t j = 0; j < k && st == BT_STATUS_OK; j++)
            st = bt_sched_queue_push(s, ids[j], next->resource, b, i + 1);
        next->n_entered = k;
    }
    free(ids);
    return st;
}

bt_status bt_sched_sync_report(bt_sched *s, int64_t trial, int64_t idx) {
    bt_sched_trial *t = &s->trials[trial];
    int32_t b = t->bracket, i = t->rung;
    bt_sched_bracket *br = &s->brackets[b];
    bt_sched_rung *r = &br->rungs[i];
    double m = r->metric[idx];
    int last = i == br->n_rungs - 1;
    if (isnan(m)) {
        BT_TRY(bt_sched_log(s, b, i, trial, r->resource, m, 0));
    } else if (last) {
        t->status = BT_TRIAL_COMPLETED;
        BT_TRY(bt_sched_log(s, b, i, trial, r->resource, m, 1));
    }
    if (!last && r->n_reported == r->n_entered) BT_TRY(sync_decide(s, b, i));
    return BT_STATUS_OK;
}
