/* W&B's `early_terminate: {type: hyperband}` stopping rule (wandb/sweeps hyperband_stopping.py),
 * driven as a scheduler: every trial runs towards max_resource band by band; at each band it is
 * compared with the threshold W&B computes from every trial that has reached that band so far
 * (the value at index floor(n / eta) of their sorted metrics) and stopped if it is worse.
 * Differences from W&B's polling service are listed in docs/schedulers.md. */
#include "sweeps/sched/sched_impl.h"

#include <math.h>

/* Bands, in resource units, strictly increasing and below max_resource. */
static bt_status wandb_bands(const bt_sched *s, int64_t *bands, int *n_out) {
    int n = 0;
    int64_t tmp[128];
    if (s->spec_s > 0 && s->spec_max_given) {
        /* max_iter form: max_iter / eta, / eta^2, ... (s of them, while >= 1), ascending */
        double band = (double)s->max_resource;
        for (int i = 0; i < s->spec_s && n < 128; i++) {
            band /= s->eta;
            if (band < 1.0) break;
            tmp[n++] = (int64_t)band;
        }
        for (int i = 0; i < n / 2; i++) { /* they came out descending */
            int64_t x = tmp[i];
            tmp[i] = tmp[n - 1 - i];
            tmp[n - 1 - i] = x;
        }
    } else {
        /* min_iter form: min_iter * eta^k, truncated to integers */
        double band = (double)s->min_resource;
        for (int i = 0; i < 100 && band < (double)s->max_resource; i++) {
            tmp[n++] = (int64_t)band;
            band *= s->eta;
        }
    }
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (tmp[i] >= s->max_resource || tmp[i] < 1) continue;
        if (m > 0 && tmp[i] <= bands[m - 1]) continue; /* a repeated band adds no check */
        if (m == BT_SCHED_MAX_RUNGS - 1)
            return BT_FAIL(BT_STATUS_BAD_INPUT, "wandb-hyperband: more than %d bands below %lld",
                           BT_SCHED_MAX_RUNGS - 1, (long long)s->max_resource);
        bands[m++] = tmp[i];
    }
    *n_out = m;
    return BT_STATUS_OK;
}

bt_status bt_sched_wandb_setup(bt_sched *s, int64_t n_trials) {
    int64_t bands[BT_SCHED_MAX_RUNGS];
    int nb = 0;
    BT_TRY(wandb_bands(s, bands, &nb));
    BT_TRY(bt_sched_brackets_alloc(s, 1));
    bt_sched_bracket *b = &s->brackets[0];
    for (int i = 0; i < nb; i++) b->rungs[i].resource = bands[i];
    b->rungs[nb].resource = s->max_resource;
    b->n_rungs = nb + 1;
    b->first_trial = 0;
    b->n_trials = n_trials;
    /* The first trial at a band always passes it, so n_trials is the only sound upper bound. */
    for (int i = 0; i < b->n_rungs; i++) b->rungs[i].n_planned = n_trials;
    s->n_trials = n_trials;
    return BT_STATUS_OK;
}

bt_status bt_sched_wandb_next(bt_sched *s, bt_job *job) {
    if (bt_sched_queue_pop(s, job)) { /* trials that passed a band go first */
        bt_sched_job_start(s, job);
        return BT_STATUS_OK;
    }
    if (s->n_started < s->n_trials) {
        bt_sched_job_enter(s, job, s->n_started, 0);
        return BT_STATUS_OK;
    }
    bt_sched_job_idle(s, job);
    return BT_STATUS_OK;
}

bt_status bt_sched_wandb_report(bt_sched *s, int64_t trial, int64_t idx) {
    bt_sched_trial *t = &s->trials[trial];
    bt_sched_bracket *b = &s->brackets[0];
    int32_t i = t->rung;
    bt_sched_rung *r = &b->rungs[i];
    double m = r->metric[idx];
    if (isnan(m)) return bt_sched_log(s, 0, i, trial, r->resource, m, 0);
    /* W&B negates the history for goal: maximize and then always minimizes. */
    double key = s->maximize ? -m : m;
    if (isnan(t->best) || key < t->best) t->best = key;
    if (i == b->n_rungs - 1) {
        t->status = BT_TRIAL_COMPLETED;
        return bt_sched_log(s, 0, i, trial, r->resource, m, 1);
    }

    /* Threshold from every finite value at this band, this one too (W&B drops invalid values).
     * r->order ranks best first with NaN last, which is W&B's ascending sort of the (negated for
     * maximize) values, so the threshold is the entry at W&B's index int(r * len(values)). */
    int64_t at = (int64_t)((1.0 / s->eta) * (double)r->n_finite);
    if (at >= r->n_finite) at = r->n_finite - 1;
    double tm = r->metric[r->order[at]];
    double threshold = s->maximize ? -tm : tm;

    /* strict: the value at this band; otherwise the trial's best value so far (stops fewer). */
    double mine = s->strict ? key : t->best;
    int go_on = !(mine > threshold);
    r->promoted[idx] = (unsigned char)go_on;
    BT_TRY(bt_sched_log(s, 0, i, trial, r->resource, m, go_on));
    if (!go_on) {
        t->status = BT_TRIAL_PRUNED;
        return BT_STATUS_OK;
    }
    if (s->stopping) { /* a running process goes on at once */
        bt_sched_stop_continue(s, trial);
        return BT_STATUS_OK;
    }
    b->rungs[i + 1].n_entered++;
    return bt_sched_queue_push(s, trial, b->rungs[i + 1].resource, 0, i + 1);
}
