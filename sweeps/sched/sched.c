/* The scheduler front: validation, the trial table, and the dispatch to none/SHA/Hyperband
 * (synchronous brackets), ASHA and the W&B hyperband stopping rule, plus the public queries. The
 * helpers every scheduler shares are sched_core.c's. See docs/schedulers.md. */
#include "sweeps/sched/sched_impl.h"

#include "base/table.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *bt_sched_kind_name(bt_sched_kind k) {
    switch (k) {
    case BT_SCHED_NONE:
        return "none";
    case BT_SCHED_SHA:
        return "sha";
    case BT_SCHED_HYPERBAND:
        return "hyperband";
    case BT_SCHED_ASHA:
        return "asha";
    case BT_SCHED_WANDB_HYPERBAND:
        return "wandb-hyperband";
    }
    return "unknown";
}

static bt_status sched_setup(bt_sched *s, const bt_sched_spec *spec, int64_t n_trials,
                             int64_t max_resource, int plan_only) {
    s->kind = spec->kind;
    s->strict = spec->strict;
    s->spec_s = spec->s;
    s->spec_max_given = spec->max_resource > 0;
    s->eta = spec->eta == 0.0 ? 3.0 : spec->eta; /* 0 = unset: the documented default */
    s->min_resource = spec->min_resource > 0 ? spec->min_resource : 1;
    s->max_resource = spec->max_resource > 0 ? spec->max_resource : max_resource;
    const char *name = bt_sched_kind_name(s->kind);

    if ((unsigned)s->kind > (unsigned)BT_SCHED_WANDB_HYPERBAND)
        return BT_FAIL(BT_STATUS_INTERNAL, "scheduler: unknown kind %d", (int)s->kind);
    if (s->max_resource < 1)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: max_resource must be >= 1 (got %lld)", name,
                       (long long)s->max_resource);
    if (s->kind != BT_SCHED_NONE) {
        if (!(s->eta > 1.0) || !isfinite(s->eta))
            return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: eta must be > 1 (got %g)", name, s->eta);
        if (s->min_resource > s->max_resource)
            return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: min_resource %lld > max_resource %lld", name,
                           (long long)s->min_resource, (long long)s->max_resource);
        s->eta_int = s->eta == floor(s->eta) && s->eta <= 1e9;
    }
    if (s->kind != BT_SCHED_HYPERBAND && n_trials < 1)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: needs at least one trial (got %lld)", name,
                       (long long)n_trials);
    if (n_trials > BT_SCHED_MAX_TRIALS)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: %lld trials is more than the limit %lld", name,
                       (long long)n_trials, (long long)BT_SCHED_MAX_TRIALS);

    switch (s->kind) {
    case BT_SCHED_NONE:
        BT_TRY(bt_sched_none_setup(s, n_trials));
        break;
    case BT_SCHED_SHA:
        BT_TRY(bt_sched_sha_setup(s, n_trials));
        break;
    case BT_SCHED_HYPERBAND:
        BT_TRY(bt_sched_hyperband_setup(s, n_trials));
        break;
    case BT_SCHED_ASHA:
        BT_TRY(bt_sched_asha_setup(s, n_trials));
        break;
    case BT_SCHED_WANDB_HYPERBAND:
        BT_TRY(bt_sched_wandb_setup(s, n_trials));
        break;
    }

    if (plan_only) return BT_STATUS_OK; /* brackets and rungs only: no per-trial state */
    s->trials = bt_table_alloc((size_t)s->n_trials, sizeof *s->trials);
    BT_CHECK_ALLOC(s->trials);
    if (s->kind == BT_SCHED_NONE || s->kind == BT_SCHED_SHA || s->kind == BT_SCHED_HYPERBAND)
        BT_TRY(bt_sched_sync_start(s));
    return BT_STATUS_OK;
}

static bt_status sched_init(bt_sched **out, const bt_sched_spec *spec, int64_t n_trials,
                            int64_t max_resource, int maximize, int plan_only) {
    if (!out || !spec) return BT_FAIL(BT_STATUS_INTERNAL, "bt_sched_init: NULL argument");
    *out = NULL;
    bt_sched *s = calloc(1, sizeof *s);
    BT_CHECK_ALLOC(s);
    s->maximize = maximize != 0;
    bt_status st = sched_setup(s, spec, n_trials, max_resource, plan_only);
    if (st != BT_STATUS_OK) {
        bt_sched_free(s);
        return st;
    }
    *out = s;
    return BT_STATUS_OK;
}

bt_status bt_sched_init(bt_sched **out, const bt_sched_spec *spec, int64_t n_trials,
                        int64_t max_resource, int maximize) {
    return sched_init(out, spec, n_trials, max_resource, maximize, 0);
}

bt_status bt_sched_init_plan(bt_sched **out, const bt_sched_spec *spec, int64_t n_trials,
                             int64_t max_resource, int maximize) {
    return sched_init(out, spec, n_trials, max_resource, maximize, 1);
}

void bt_sched_free(bt_sched *s) {
    if (!s) return;
    for (int b = 0; b < s->n_brackets; b++) {
        for (int i = 0; i < BT_SCHED_MAX_RUNGS; i++) {
            bt_sched_rung *r = &s->brackets[b].rungs[i];
            free(r->trial);
            free(r->metric);
            free(r->promoted);
            free(r->order);
            free(r->unprom);
        }
    }
    free(s->brackets);
    bt_table_free(s->trials);
    free(s->queue);
    free(s->dec);
    free(s);
}

bt_status bt_sched_next(bt_sched *s, bt_job *job) {
    if (!s || !job) return BT_FAIL(BT_STATUS_INTERNAL, "bt_sched_next: NULL argument");
    switch (s->kind) {
    case BT_SCHED_NONE:
    case BT_SCHED_SHA:
    case BT_SCHED_HYPERBAND:
        return bt_sched_sync_next(s, job);
    case BT_SCHED_ASHA:
        return s->stopping ? bt_sched_stop_next(s, job) : bt_sched_asha_next(s, job);
    case BT_SCHED_WANDB_HYPERBAND:
        return bt_sched_wandb_next(s, job);
    }
    return BT_FAIL(BT_STATUS_INTERNAL, "bt_sched_next: unknown kind %d", (int)s->kind);
}

bt_status bt_sched_report(bt_sched *s, int64_t trial, int64_t resource, double metric) {
    if (!s) return BT_FAIL(BT_STATUS_INTERNAL, "bt_sched_report: NULL scheduler");
    const char *name = bt_sched_kind_name(s->kind);
    if (trial < 0 || trial >= s->n_started)
        return BT_FAIL(BT_STATUS_INTERNAL,
                       "%s: report for trial %lld, which has no job (trials started: %lld)", name,
                       (long long)trial, (long long)s->n_started);
    bt_sched_trial *t = &s->trials[trial];
    if (t->outstanding < 0)
        return BT_FAIL(BT_STATUS_INTERNAL, "%s: report for trial %lld, which has no job in flight",
                       name, (long long)trial);
    if (t->outstanding != resource)
        return BT_FAIL(BT_STATUS_INTERNAL,
                       "%s: trial %lld reported at resource %lld, its job runs to %lld", name,
                       (long long)trial, (long long)resource, (long long)t->outstanding);
    t->outstanding = -1;
    s->n_outstanding--;
    if (isnan(metric)) t->status = BT_TRIAL_FAILED;
    bt_sched_rung *r = &s->brackets[t->bracket].rungs[t->rung];
    int64_t idx;
    BT_TRY(bt_sched_rung_add(s, r, trial, metric, &idx));
    if (s->stopping && s->kind != BT_SCHED_NONE && s->kind != BT_SCHED_WANDB_HYPERBAND)
        return bt_sched_stop_report(s, trial, idx);
    switch (s->kind) {
    case BT_SCHED_NONE:
    case BT_SCHED_SHA:
    case BT_SCHED_HYPERBAND:
        return bt_sched_sync_report(s, trial, idx);
    case BT_SCHED_ASHA:
        return bt_sched_asha_report(s, trial, idx);
    case BT_SCHED_WANDB_HYPERBAND:
        return bt_sched_wandb_report(s, trial, idx);
    }
    return BT_FAIL(BT_STATUS_INTERNAL, "bt_sched_report: unknown kind %d", (int)s->kind);
}

size_t bt_sched_trial_bytes(void) {
    return sizeof(bt_sched_trial) + sizeof(bt_job);
}

int64_t bt_sched_n_trials(const bt_sched *s) {
    return s ? s->n_trials : 0;
}

bt_trial_status bt_sched_trial_status(const bt_sched *s, int64_t trial) {
    if (!s || trial < 0 || trial >= s->n_started) return BT_TRIAL_PENDING;
    return s->trials[trial].status;
}

void bt_sched_trial_place(const bt_sched *s, int64_t trial, int32_t *bracket, int32_t *rung) {
    int32_t b = -1, r = -1;
    if (s && trial >= 0 && trial < s->n_started) {
        b = s->trials[trial].bracket;
        r = s->trials[trial].rung;
    } else if (s && trial >= 0 && trial < s->n_trials) {
        b = bt_sched_bracket_of(s, trial);
    }
    if (bracket) *bracket = b;
    if (rung) *rung = r;
}

const bt_rung_decision *bt_sched_decisions(const bt_sched *s, int64_t *n) {
    if (n) *n = s ? s->n_dec : 0;
    return s ? s->dec : NULL;
}

bt_status bt_sched_plan(const bt_sched *s, bt_sched_bracket_plan *brackets, int cap,
                        int *n_brackets) {
    if (!s || !n_brackets || (cap > 0 && !brackets))
        return BT_FAIL(BT_STATUS_INTERNAL, "bt_sched_plan: NULL argument");
    int n = s->n_brackets < cap ? s->n_brackets : cap;
    if (n < 0) n = 0;
    for (int b = 0; b < n; b++) {
        const bt_sched_bracket *br = &s->brackets[b];
        memset(&brackets[b], 0, sizeof brackets[b]);
        brackets[b].n_rungs = br->n_rungs;
        for (int i = 0; i < br->n_rungs; i++) {
            brackets[b].rungs[i].n_trials = br->rungs[i].n_planned;
            brackets[b].rungs[i].resource = br->rungs[i].resource;
        }
    }
    *n_brackets = n;
    if (n < s->n_brackets)
        return BT_FAIL(BT_STATUS_INTERNAL, "bt_sched_plan: the plan has %d brackets, room for %d",
                       s->n_brackets, cap);
    return BT_STATUS_OK;
}
