/* The sweep loop: deterministic ticks over packs of trials, journaled, resumable (executor.h). */
#include "executor.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices.h"
#include "journal.h"
#include "progress.h"
#include "results.h"
#include "sweep.h"

typedef struct run_state {
    int active;        /* some member has an outstanding job */
    int64_t resource;  /* logical resource reached */
    int64_t target;    /* furthest resource an outstanding job needs */
    int64_t state_res; /* resource the model state in `slot` is at */
    int slot;          /* slot in its pack, -1 if none */
    int failed;
} run_state;

typedef struct trial_state {
    int has_job, started, stop_logged;
    int64_t job_resource; /* resource the scheduler asked for */
    int64_t report_at;    /* resource the report is due at (own budget for prefix trials) */
    int64_t resource;     /* last resource with a recorded metric */
    double metric, best, seconds;
} trial_state;

typedef struct exec {
    bt_sweep sw;
    const bt_run_opts *o;
    run_state *runs; /* indexed by leader trial id */
    trial_state *ts;
    int64_t *members; /* CSR: trials of each leader's group, ascending */
    int64_t *mem_ptr;
    bt_pack **packs;
    int **free_slots; /* per pack, a stack of free slot indices */
    int *n_free;
    int64_t n_active;
    int64_t concurrency;
    /* journal replay */
    bt_journal_log log;
    int64_t ri;
    int replaying;
    bt_journal *jn;
    /* history */
    bt_history_row *hist;
    int64_t n_hist, cap_hist;
    char **metric_names;
    int n_metric_names;
    const char *extra_metrics[16];
    int n_extra;
    int64_t tick;
    bt_progress prog;
    double last_checkpoint;
    int64_t checkpoint_decisions; /* scheduler decisions at the last checkpoint */
    char *journal_path;
    int threads;
} exec;

/* ---- history ------------------------------------------------------------------------------ */

static int metric_id(exec *e, const char *name) {
    for (int i = 0; i < e->n_metric_names; i++)
        if (strcmp(e->metric_names[i], name) == 0) return i;
    char **nm = realloc(e->metric_names, (size_t)(e->n_metric_names + 1) * sizeof *nm);
    if (!nm) return -1;
    e->metric_names = nm;
    e->metric_names[e->n_metric_names] = strdup(name);
    if (!e->metric_names[e->n_metric_names]) return -1;
    return e->n_metric_names++;
}

static bt_status hist_add(exec *e, int64_t trial, int64_t resource, const char *metric,
                          double value, double time) {
    if (e->n_hist == e->cap_hist) {
        int64_t cap = e->cap_hist ? 2 * e->cap_hist : 4096;
        bt_history_row *nh = realloc(e->hist, (size_t)cap * sizeof *nh);
        BT_CHECK_ALLOC(nh);
        e->hist = nh;
        e->cap_hist = cap;
    }
    int id = metric_id(e, metric);
    if (id < 0) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    bt_history_row *h = &e->hist[e->n_hist++];
    h->trial_id = trial;
    h->resource = resource;
    h->metric = id;
    h->value = value;
    h->time = time;
    return BT_STATUS_OK;
}

/* ---- journal: write when live, read back and check when replaying -------------------------- */

static bt_status jrec(exec *e, bt_jrec *r) {
    if (!e->replaying) return bt_journal_append(e->jn, r);
    if (e->ri >= e->log.n)
        return BT_FAIL(BT_STATUS_INTERNAL, "journal ended inside tick %" PRId64, e->tick);
    const bt_jrec *j = &e->log.recs[e->ri];
    if (j->kind != r->kind || j->trial != r->trial || j->resource != r->resource ||
        (r->kind == BT_JREC_HIST && strcmp(j->metric, r->metric) != 0))
        return BT_FAIL(BT_STATUS_INTERNAL,
                       "%s does not match this sweep at record %" PRId64
                       " (the code or data changed since it was written); rerun with --fresh",
                       e->journal_path, e->ri + 2);
    r->value = j->value;
    r->time = j->time;
    e->ri++;
    return BT_STATUS_OK;
}

/* ---- slots and model state ------------------------------------------------------------------ */

static bt_status ensure_pack(exec *e, int pack) {
    if (e->packs[pack]) return BT_STATUS_OK;
    bt_sweep *sw = &e->sw;
    int64_t cap = 0;
    for (int64_t t = 0; t < sw->n_trials; t++)
        if (sw->trials[t].leader == t && sw->trials[t].pack == pack) cap++;
    const bt_hparams shape = {sw->trials[sw->pack_leader[pack]].hp};
    BT_TRY(sw->vt->pack_init(&e->packs[pack], &sw->data, &shape, (int)cap));
    e->free_slots[pack] = malloc((size_t)cap * sizeof(int));
    BT_CHECK_ALLOC(e->free_slots[pack]);
    for (int64_t i = 0; i < cap; i++) e->free_slots[pack][i] = (int)(cap - 1 - i);
    e->n_free[pack] = (int)cap;
    return BT_STATUS_OK;
}

static bt_status slot_acquire(exec *e, int64_t leader) {
    run_state *r = &e->runs[leader];
    if (r->slot >= 0) return BT_STATUS_OK;
    int pack = e->sw.trials[leader].pack;
    BT_TRY(ensure_pack(e, pack));
    if (e->n_free[pack] == 0) return BT_FAIL(BT_STATUS_INTERNAL, "pack %d is full", pack);
    r->slot = e->free_slots[pack][--e->n_free[pack]];
    const bt_hparams hp = {e->sw.trials[leader].hp};
    BT_TRY(e->sw.vt->slot_start(e->packs[pack], r->slot, &hp, bt_sweep_trial_key(&e->sw, leader)));
    r->state_res = 0;
    return BT_STATUS_OK;
}

static void slot_release(exec *e, int64_t leader) {
    run_state *r = &e->runs[leader];
    if (r->slot < 0) return;
    int pack = e->sw.trials[leader].pack;
    e->sw.vt->slot_clear(e->packs[pack], r->slot);
    e->free_slots[pack][e->n_free[pack]++] = r->slot;
    r->slot = -1;
    r->state_res = 0;
}

/* Steps every listed leader's slot once, one model call per pack. */
static bt_status step_leaders(exec *e, const int64_t *leaders, int64_t n) {
    if (n == 0) return BT_STATUS_OK;
    int *slots = malloc((size_t)n * sizeof *slots);
    BT_CHECK_ALLOC(slots);
    bt_status st = BT_STATUS_OK;
    for (int pack = 0; pack < e->sw.n_packs && st == BT_STATUS_OK; pack++) {
        int k = 0;
        for (int64_t i = 0; i < n; i++)
            if (e->sw.trials[leaders[i]].pack == pack) slots[k++] = e->runs[leaders[i]].slot;
        if (k > 0) st = e->sw.vt->step(e->packs[pack], slots, k);
    }
    free(slots);
    if (st != BT_STATUS_OK) return st;
    for (int64_t i = 0; i < n; i++) e->runs[leaders[i]].state_res++;
    return BT_STATUS_OK;
}

/* After a replay, runs still in flight have no model state: retrain them (all together) to where
 * the journal says they were. Training is deterministic, so this reproduces their state. */
static bt_status catch_up(exec *e, int64_t *buf) {
    for (;;) {
        int64_t n = 0;
        for (int64_t t = 0; t < e->sw.n_trials; t++) {
            run_state *r = &e->runs[t];
            if (e->sw.trials[t].leader != t || !r->active || r->failed) continue;
            if (r->slot < 0 && r->resource > 0) BT_TRY(slot_acquire(e, t));
            if (r->slot >= 0 && r->state_res < r->resource) buf[n++] = t;
        }
        if (n == 0) return BT_STATUS_OK;
        BT_TRY(step_leaders(e, buf, n));
    }
}

/* ---- results ------------------------------------------------------------------------------- */

static bt_value_kind column_kind(const bt_param_spec *p) {
    if (p->dist == BT_DIST_CONSTANT || p->dist == BT_DIST_CATEGORICAL) {
        int any_str = 0, any_float = 0, all_bool = p->n_values > 0;
        for (int i = 0; i < p->n_values; i++) {
            any_str |= p->values[i].kind == BT_VALUE_STRING;
            any_float |= p->values[i].kind == BT_VALUE_FLOAT;
            all_bool &= p->values[i].kind == BT_VALUE_BOOL;
        }
        if (any_str) return BT_VALUE_STRING;
        if (any_float) return BT_VALUE_FLOAT;
        return all_bool ? BT_VALUE_BOOL : BT_VALUE_INT;
    }
    return p->is_int ? BT_VALUE_INT : BT_VALUE_FLOAT;
}

static int better(const exec *e, double a, double b) {
    if (isnan(b)) return !isnan(a);
    if (isnan(a)) return 0;
    return e->sw.maximize ? a > b : a < b;
}

static int64_t best_trial(const exec *e) {
    int64_t best = -1;
    for (int pass = 0; pass < 2 && best < 0; pass++)
        for (int64_t t = 0; t < e->sw.n_trials; t++) {
            if (pass == 0 && bt_sched_trial_status(e->sw.sched, t) != BT_TRIAL_COMPLETED) continue;
            if (isnan(e->ts[t].metric)) continue;
            if (best < 0 || better(e, e->ts[t].metric, e->ts[best].metric)) best = t;
        }
    return best;
}

static char *xstrdup(const char *s) {
    return s ? strdup(s) : NULL;
}

static bt_status build_results(exec *e, bt_results *r, int final) {
    const bt_spec *spec = e->sw.spec;
    memset(r, 0, sizeof *r);
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    char created[32];
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    r->batchtune_version = xstrdup(BT_VERSION);
    r->created = xstrdup(created);
    r->sweep_text = xstrdup(spec->text);
    r->sweep_sha256 = xstrdup(spec->sha256);
    r->sweep_path = xstrdup(spec->path);
    r->seed = spec->seed;
    r->host = xstrdup(host);
    r->command_line = xstrdup(e->o->command_line ? e->o->command_line : "");
    r->metric_name = xstrdup(e->sw.metric);
    r->maximize = e->sw.maximize;
    r->scheduler = xstrdup(bt_sched_kind_name(spec->sched.kind));
    r->model_type = xstrdup(e->sw.vt->name);
    r->n_params = spec->n_params;
    r->params = calloc((size_t)(spec->n_params ? spec->n_params : 1), sizeof *r->params);
    BT_CHECK_ALLOC(r->params);
    for (int p = 0; p < spec->n_params; p++) {
        r->params[p].name = xstrdup(spec->params[p].name);
        r->params[p].kind = column_kind(&spec->params[p]);
    }
    r->n_trials = e->sw.n_trials;
    r->trials = calloc((size_t)(r->n_trials ? r->n_trials : 1), sizeof *r->trials);
    BT_CHECK_ALLOC(r->trials);
    for (int64_t t = 0; t < r->n_trials; t++) {
        bt_trial_row *row = &r->trials[t];
        const trial_state *ts = &e->ts[t];
        row->trial_id = t;
        row->status = bt_sched_trial_status(e->sw.sched, t);
        row->metric = ts->metric;
        row->best_metric = ts->best;
        row->resource = ts->resource;
        bt_sched_trial_place(e->sw.sched, t, &row->bracket, &row->rung);
        snprintf(row->device, sizeof row->device, "cpu");
        row->seconds = ts->seconds;
        row->params = calloc((size_t)(spec->n_params ? spec->n_params : 1), sizeof *row->params);
        BT_CHECK_ALLOC(row->params);
        for (int p = 0; p < spec->n_params; p++) {
            bt_value v = e->sw.trials[t].config[p];
            switch (r->params[p].kind) {
            case BT_VALUE_STRING:
                if (v.kind == BT_VALUE_STRING) {
                    v.s = xstrdup(v.s);
                } else {
                    char buf[64];
                    if (v.kind == BT_VALUE_FLOAT)
                        snprintf(buf, sizeof buf, "%.17g", v.f);
                    else
                        snprintf(buf, sizeof buf, "%" PRId64, v.i);
                    v = bt_value_string(xstrdup(buf));
                }
                break;
            case BT_VALUE_FLOAT:
                v = bt_value_float(v.f);
                break;
            case BT_VALUE_INT:
                v = bt_value_int(v.kind == BT_VALUE_FLOAT ? llround(v.f) : v.i);
                break;
            case BT_VALUE_BOOL:
                v = bt_value_bool(v.i != 0);
                break;
            default:
                break;
            }
            row->params[p] = v;
        }
    }
    r->n_metric_names = e->n_metric_names;
    r->metric_names = calloc((size_t)(e->n_metric_names ? e->n_metric_names : 1), sizeof(char *));
    BT_CHECK_ALLOC(r->metric_names);
    for (int i = 0; i < e->n_metric_names; i++) r->metric_names[i] = xstrdup(e->metric_names[i]);
    r->n_history = r->cap_history = e->n_hist;
    r->history = malloc((size_t)(e->n_hist ? e->n_hist : 1) * sizeof *r->history);
    BT_CHECK_ALLOC(r->history);
    if (e->n_hist) memcpy(r->history, e->hist, (size_t)e->n_hist * sizeof *r->history);
    int64_t nd = 0;
    const bt_rung_decision *d = bt_sched_decisions(e->sw.sched, &nd);
    r->n_rungs = nd;
    r->rungs = malloc((size_t)(nd ? nd : 1) * sizeof *r->rungs);
    BT_CHECK_ALLOC(r->rungs);
    if (nd) memcpy(r->rungs, d, (size_t)nd * sizeof *r->rungs);
    r->best_trial = best_trial(e);
    if (final && r->best_trial >= 0 && e->sw.vt->export_model) {
        size_t len = 0;
        char *model = NULL;
        BT_TRY(bt_sweep_train_export(&e->sw, r->best_trial, e->ts[r->best_trial].resource,
                                     "xgboost-json", &model, &len, NULL));
        r->best_model = model;
        r->best_model_len = len;
        r->best_model_format = xstrdup("xgboost-json");
    }
    return BT_STATUS_OK;
}

static bt_status checkpoint(exec *e, int final) {
    if (!e->replaying && e->jn) BT_TRY(bt_journal_sync(e->jn));
    bt_results r;
    bt_status st = build_results(e, &r, final);
    if (st == BT_STATUS_OK) st = bt_results_write(&r, e->o->out_path);
    bt_results_free(&r);
    if (st != BT_STATUS_OK) return st;
    e->last_checkpoint = bt_clock();
    char f[128];
    snprintf(f, sizeof f, "\"tick\":%" PRId64 ",\"final\":%s", e->tick, final ? "true" : "false");
    bt_progress_event(&e->prog, "checkpoint", f);
    return BT_STATUS_OK;
}

/* ---- the tick ------------------------------------------------------------------------------ */

static void counts(exec *e, bt_progress_counts *c) {
    memset(c, 0, sizeof *c);
    c->total = e->sw.n_trials;
    c->metric = e->sw.metric;
    for (int64_t t = 0; t < e->sw.n_trials; t++) {
        bt_trial_status s = bt_sched_trial_status(e->sw.sched, t);
        if (s == BT_TRIAL_COMPLETED)
            c->completed++;
        else if (s == BT_TRIAL_PRUNED)
            c->pruned++;
        else if (s == BT_TRIAL_FAILED)
            c->failed++;
        else if (s == BT_TRIAL_RUNNING)
            c->running++;
        if (s == BT_TRIAL_RUNNING && e->ts[t].has_job) {
            int32_t b, rung;
            bt_sched_trial_place(e->sw.sched, t, &b, &rung);
            if (rung > c->rung) c->rung = rung;
        }
    }
    c->done = c->completed + c->pruned + c->failed;
    c->best_trial = best_trial(e);
    c->best = c->best_trial >= 0 ? e->ts[c->best_trial].metric : NAN;
}

static void log_trial_stops(exec *e, int64_t leader) {
    for (int64_t k = e->mem_ptr[leader]; k < e->mem_ptr[leader + 1]; k++) {
        int64_t t = e->members[k];
        bt_trial_status s = bt_sched_trial_status(e->sw.sched, t);
        if (e->ts[t].stop_logged ||
            (s != BT_TRIAL_COMPLETED && s != BT_TRIAL_PRUNED && s != BT_TRIAL_FAILED))
            continue;
        e->ts[t].stop_logged = 1;
        char f[160];
        snprintf(f, sizeof f, "\"trial\":%" PRId64 ",\"status\":\"%s\",\"resource\":%" PRId64, t,
                 bt_trial_status_name(s), e->ts[t].resource);
        bt_progress_event(&e->prog, "trial_stop", f);
    }
}

static int run_done(exec *e, int64_t leader) {
    for (int64_t k = e->mem_ptr[leader]; k < e->mem_ptr[leader + 1]; k++) {
        bt_trial_status s = bt_sched_trial_status(e->sw.sched, e->members[k]);
        if (s == BT_TRIAL_PENDING || s == BT_TRIAL_RUNNING) return 0;
    }
    return 1;
}

/* One tick; *finished set when the scheduler is done. */
static bt_status tick(exec *e, int64_t *buf, int *finished) {
    bt_sweep *sw = &e->sw;
    double t_start = bt_clock();
    /* 1. hand out jobs while there is room */
    bt_job job = {BT_JOB_WAIT, 0, 0, 0, 0};
    while (e->n_active < e->concurrency) {
        BT_TRY(bt_sched_next(sw->sched, &job));
        if (job.kind != BT_JOB_RUN) break;
        int64_t t = job.trial, L = sw->trials[t].leader;
        bt_jrec jr = {BT_JREC_JOB, e->tick, t, job.resource, 0, 0, ""};
        BT_TRY(jrec(e, &jr));
        trial_state *ts = &e->ts[t];
        ts->has_job = 1;
        ts->job_resource = job.resource;
        ts->report_at = sw->trials[t].budget >= 0 ? sw->trials[t].budget : job.resource;
        run_state *r = &e->runs[L];
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
    if (e->n_active == 0) {
        if (job.kind == BT_JOB_DONE) {
            *finished = 1;
            return BT_STATUS_OK;
        }
        return BT_FAIL(BT_STATUS_INTERNAL, "scheduler waits with no job outstanding");
    }

    /* 2. advance every active run that has further to go */
    int64_t n = 0;
    for (int64_t t = 0; t < sw->n_trials; t++) {
        run_state *r = &e->runs[t];
        if (sw->trials[t].leader == t && r->active && r->resource < r->target) buf[n++] = t;
    }
    if (!e->replaying) {
        BT_TRY(catch_up(e, buf + n));
        for (int64_t i = 0; i < n; i++) BT_TRY(slot_acquire(e, buf[i]));
        BT_TRY(step_leaders(e, buf, n));
    }
    double now = bt_clock() - e->prog.t0;
    double share = n > 0 ? (bt_clock() - t_start) / (double)n : 0;

    /* 3. learning curves */
    for (int64_t i = 0; i < n; i++) {
        int64_t L = buf[i];
        run_state *r = &e->runs[L];
        r->resource++;
        double value = NAN;
        int have = 0;
        for (int64_t k = e->mem_ptr[L]; k < e->mem_ptr[L + 1]; k++) {
            int64_t t = e->members[k];
            int64_t budget = sw->trials[t].budget;
            if (budget >= 0 && budget < r->resource) continue;
            if (!e->replaying && !have) {
                int pack = sw->trials[L].pack;
                if (sw->vt->slot_failed && sw->vt->slot_failed(e->packs[pack], r->slot))
                    r->failed = 1;
                if (!r->failed &&
                    sw->vt->eval(e->packs[pack], r->slot, sw->metric, &value) != BT_STATUS_OK)
                    r->failed = 1;
                if (r->failed) value = NAN;
                have = 1;
            }
            bt_jrec h = {BT_JREC_HIST, e->tick, t, r->resource, value, now, ""};
            snprintf(h.metric, sizeof h.metric, "%s", sw->metric);
            BT_TRY(jrec(e, &h));
            BT_TRY(hist_add(e, t, r->resource, sw->metric, h.value, h.time));
            trial_state *ts = &e->ts[t];
            ts->resource = r->resource;
            ts->metric = h.value;
            ts->seconds += share;
            if (better(e, h.value, ts->best)) ts->best = h.value;
        }
    }

    /* 4. reports, in trial-id order */
    for (int64_t t = 0; t < sw->n_trials; t++) {
        trial_state *ts = &e->ts[t];
        int64_t L = sw->trials[t].leader;
        run_state *r = &e->runs[L];
        if (!ts->has_job || r->resource < ts->report_at) continue;
        /* the other metrics of the task at this report point (not for early-reporting members) */
        if (r->resource == ts->report_at) {
            for (int m = 0; m < e->n_extra; m++) {
                double v = NAN;
                if (!e->replaying && !r->failed) {
                    int pack = sw->trials[L].pack;
                    if (sw->vt->eval(e->packs[pack], r->slot, e->extra_metrics[m], &v) !=
                        BT_STATUS_OK)
                        v = NAN;
                }
                bt_jrec h = {BT_JREC_HIST, e->tick, t, r->resource, v, now, ""};
                snprintf(h.metric, sizeof h.metric, "%s", e->extra_metrics[m]);
                BT_TRY(jrec(e, &h));
                BT_TRY(hist_add(e, t, r->resource, h.metric, h.value, h.time));
            }
        }
        bt_jrec rep = {BT_JREC_REPORT, e->tick, t, ts->job_resource, ts->metric, 0, ""};
        BT_TRY(jrec(e, &rep));
        BT_TRY(bt_sched_report(sw->sched, t, ts->job_resource, ts->metric));
        ts->has_job = 0;
        char f[160];
        snprintf(f, sizeof f, "\"trial\":%" PRId64 ",\"resource\":%" PRId64 ",\"metric\":%.17g", t,
                 ts->resource, isnan(ts->metric) ? -1.0 : ts->metric);
        if (isnan(ts->metric))
            snprintf(f, sizeof f, "\"trial\":%" PRId64 ",\"resource\":%" PRId64 ",\"metric\":null",
                     t, ts->resource);
        bt_progress_event(&e->prog, "report", f);
        /* the run goes idle when no member has a job left */
        int any = 0;
        for (int64_t k = e->mem_ptr[L]; k < e->mem_ptr[L + 1]; k++)
            any |= e->ts[e->members[k]].has_job;
        if (!any && r->active) {
            r->active = 0;
            r->target = r->resource;
            e->n_active--;
        }
    }
    /* 5. free the state of runs whose trials are all finished */
    for (int64_t t = 0; t < sw->n_trials; t++) {
        if (sw->trials[t].leader != t || e->runs[t].active) continue;
        if (!e->ts[t].started) continue;
        if (run_done(e, t)) {
            log_trial_stops(e, t);
            slot_release(e, t);
        }
    }
    bt_jrec tk = {BT_JREC_TICK, e->tick, -1, -1, 0, now, ""};
    BT_TRY(jrec(e, &tk));
    e->tick++;
    return BT_STATUS_OK;
}

/* ---- setup and the loop -------------------------------------------------------------------- */

static bt_status build_members(exec *e) {
    int64_t n = e->sw.n_trials;
    e->mem_ptr = calloc((size_t)n + 1, sizeof *e->mem_ptr);
    e->members = malloc((size_t)(n ? n : 1) * sizeof *e->members);
    BT_CHECK_ALLOC(e->mem_ptr);
    BT_CHECK_ALLOC(e->members);
    for (int64_t t = 0; t < n; t++) e->mem_ptr[e->sw.trials[t].leader + 1]++;
    for (int64_t t = 0; t < n; t++) e->mem_ptr[t + 1] += e->mem_ptr[t];
    int64_t *fill = calloc((size_t)(n ? n : 1), sizeof *fill);
    BT_CHECK_ALLOC(fill);
    for (int64_t t = 0; t < n; t++) {
        int64_t L = e->sw.trials[t].leader;
        e->members[e->mem_ptr[L] + fill[L]++] = t;
    }
    free(fill);
    return BT_STATUS_OK;
}

static bt_status check_device(const char *dev) {
    if (!dev || strcmp(dev, "auto") == 0 || strcmp(dev, "cpu") == 0) return BT_STATUS_OK;
    if (strncmp(dev, "cuda", 4) == 0)
        return BT_FAIL(BT_STATUS_USAGE,
                       "--device %s: this build trains gbdt on the CPU only (the CUDA kernels are "
                       "not in this version yet); use --device cpu or auto",
                       dev);
    return BT_FAIL(BT_STATUS_USAGE, "--device %s: expected auto, cpu, cuda or cuda:0,1", dev);
}

static void exec_free(exec *e) {
    if (e->packs)
        for (int p = 0; p < e->sw.n_packs; p++)
            if (e->packs[p]) e->sw.vt->pack_free(e->packs[p]);
    if (e->free_slots)
        for (int p = 0; p < e->sw.n_packs; p++) free(e->free_slots[p]);
    free(e->packs);
    free(e->free_slots);
    free(e->n_free);
    free(e->runs);
    free(e->ts);
    free(e->members);
    free(e->mem_ptr);
    free(e->hist);
    for (int i = 0; i < e->n_metric_names; i++) free(e->metric_names[i]);
    free(e->metric_names);
    bt_journal_log_free(&e->log);
    bt_journal_close(e->jn);
    free(e->journal_path);
    bt_sweep_free(&e->sw);
}

static bt_status prepare(exec *e, const bt_spec *spec, const bt_run_opts *o, bt_run_summary *sum) {
    BT_TRY(check_device(o->device ? o->device : spec->exec.device));
    BT_TRY(bt_sweep_init(&e->sw, spec));
    bt_sweep *sw = &e->sw;
    int64_t n = sw->n_trials;
    e->runs = calloc((size_t)(n ? n : 1), sizeof *e->runs);
    e->ts = calloc((size_t)(n ? n : 1), sizeof *e->ts);
    e->packs = calloc((size_t)sw->n_packs + 1, sizeof *e->packs);
    e->free_slots = calloc((size_t)sw->n_packs + 1, sizeof *e->free_slots);
    e->n_free = calloc((size_t)sw->n_packs + 1, sizeof *e->n_free);
    BT_CHECK_ALLOC(e->runs);
    BT_CHECK_ALLOC(e->ts);
    BT_CHECK_ALLOC(e->packs);
    BT_CHECK_ALLOC(e->free_slots);
    BT_CHECK_ALLOC(e->n_free);
    for (int64_t t = 0; t < n; t++) {
        e->runs[t].slot = -1;
        e->ts[t].metric = NAN;
        e->ts[t].best = NAN;
    }
    BT_TRY(build_members(e));
    int async = spec->sched.kind == BT_SCHED_ASHA || spec->sched.kind == BT_SCHED_WANDB_HYPERBAND;
    e->concurrency =
        async && spec->sched.concurrency > 0 ? spec->sched.concurrency : spec->exec.max_pack;
    if (e->concurrency <= 0) e->concurrency = 256;
    if (metric_id(e, sw->metric) < 0) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    for (int m = 0; sw->vt->metrics && sw->vt->metrics[m] && e->n_extra < 16; m++) {
        const char *name = sw->vt->metrics[m];
        if (strcmp(name, sw->metric) == 0) continue;
        if (sw->vt->metric_ok && !sw->vt->metric_ok(name, sw->task)) continue;
        e->extra_metrics[e->n_extra++] = name;
    }
    e->threads = spec->exec.threads > 0 ? spec->exec.threads : bt_cpu_cores();
    sum->n_trials = n;

    /* journal: fresh, resume, or already finished */
    size_t plen = strlen(o->out_path);
    e->journal_path = malloc(plen + 9);
    BT_CHECK_ALLOC(e->journal_path);
    memcpy(e->journal_path, o->out_path, plen);
    memcpy(e->journal_path + plen, ".journal", 9);
    int fresh = o->fresh;
    if (fresh) {
        unlink(o->out_path);
        unlink(e->journal_path);
    } else {
        bt_status st = bt_journal_read(e->journal_path, &e->log);
        if (st == BT_STATUS_NO_INPUT) {
            fresh = 1;
            if (access(o->out_path, F_OK) == 0)
                return BT_FAIL(BT_STATUS_BAD_INPUT,
                               "%s exists but has no journal beside it (%s); use --fresh to "
                               "overwrite it or --out for another file",
                               o->out_path, e->journal_path);
        } else if (st != BT_STATUS_OK) {
            return st;
        } else if (strcmp(e->log.sha256, spec->sha256) != 0 || e->log.seed != spec->seed) {
            return BT_FAIL(BT_STATUS_BAD_INPUT,
                           "%s belongs to a different sweep (the sweep file or --seed changed "
                           "since it was started); use --fresh to start over, or --out to write "
                           "elsewhere",
                           o->out_path);
        } else {
            e->replaying = e->log.n > 0;
            sum->resumed = e->log.last_tick >= 0;
            sum->already_finished = e->log.finished;
        }
    }
    if (!sum->already_finished)
        BT_TRY(bt_journal_open(&e->jn, e->journal_path, fresh, spec->sha256, spec->seed));
    return BT_STATUS_OK;
}

bt_status bt_sweep_run(const bt_spec *spec, const bt_run_opts *o, bt_run_summary *sum) {
    exec e;
    memset(&e, 0, sizeof e);
    memset(sum, 0, sizeof *sum);
    sum->best_trial = -1;
    sum->best_metric = NAN;
    e.o = o;
    e.log.last_tick = -1;
    e.prog.out = o->progress;
    e.prog.live = o->progress_live;
    e.prog.log = o->log;
    e.prog.t0 = bt_clock();
    bt_status st = prepare(&e, spec, o, sum);
    int64_t *buf = NULL;
    if (st == BT_STATUS_OK && !(sum->already_finished && access(o->out_path, F_OK) == 0)) {
        char f[512];
        snprintf(f, sizeof f,
                 "\"sweep\":\"%s\",\"trials\":%" PRId64 ",\"device\":\"cpu\",\"threads\":%d,"
                 "\"resumed\":%s",
                 spec->sha256, e.sw.n_trials, e.threads, sum->resumed ? "true" : "false");
        bt_progress_event(&e.prog, "sweep_start", f);
        st = bt_sweep_load_data(&e.sw, e.threads);
        buf = malloc((size_t)(2 * e.sw.n_trials + 1) * sizeof *buf);
        if (!buf && st == BT_STATUS_OK) st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
        e.last_checkpoint = bt_clock();
        int finished = 0;
        while (st == BT_STATUS_OK && !finished) {
            if (e.replaying && e.tick > e.log.last_tick) e.replaying = 0;
            st = tick(&e, buf, &finished);
            if (st != BT_STATUS_OK || finished) break;
            if (!e.replaying) {
                bt_progress_counts c;
                counts(&e, &c);
                bt_progress_update(&e.prog, &c, 0);
                double since = bt_clock() - e.last_checkpoint;
                double every = o->checkpoint_every > 0 ? o->checkpoint_every : 30.0;
                /* rung boundaries (new decisions) checkpoint too, at most once a second */
                int64_t nd = 0;
                bt_sched_decisions(e.sw.sched, &nd);
                int rung_done = nd > e.checkpoint_decisions && since >= 1.0;
                if (since >= every || rung_done) {
                    e.checkpoint_decisions = nd;
                    st = checkpoint(&e, 0);
                }
                if (st == BT_STATUS_OK && o->stop && *o->stop) {
                    st = checkpoint(&e, 0);
                    if (st == BT_STATUS_OK)
                        st = BT_FAIL(BT_STATUS_INTERRUPTED,
                                     "interrupted: progress saved; run the same command again to "
                                     "continue");
                }
            }
        }
        if (st == BT_STATUS_OK) {
            if (e.jn) {
                bt_jrec end = {BT_JREC_END, e.tick, -1, -1, 0, 0, ""};
                st = bt_journal_append(e.jn, &end);
            }
            if (st == BT_STATUS_OK) st = checkpoint(&e, 1);
        }
        bt_progress_counts c;
        counts(&e, &c);
        bt_progress_update(&e.prog, &c, 1);
        bt_progress_finish(&e.prog);
    } else if (st == BT_STATUS_OK) {
        /* finished earlier: replay the journal (no data, no training) for the summary */
        e.replaying = 1;
        buf = malloc((size_t)(2 * e.sw.n_trials + 1) * sizeof *buf);
        int finished = 0;
        while (st == BT_STATUS_OK && buf && !finished && e.tick <= e.log.last_tick)
            st = tick(&e, buf, &finished);
    }
    if (st == BT_STATUS_OK || st == BT_STATUS_INTERRUPTED) {
        bt_progress_counts c;
        counts(&e, &c);
        sum->completed = c.completed;
        sum->pruned = c.pruned;
        sum->failed = c.failed;
        sum->best_trial = c.best_trial;
        sum->best_metric = c.best;
        sum->best_resource = c.best_trial >= 0 ? e.ts[c.best_trial].resource : 0;
        sum->seconds = bt_clock() - e.prog.t0;
        char f[256];
        snprintf(f, sizeof f,
                 "\"status\":\"%s\",\"completed\":%" PRId64 ",\"pruned\":%" PRId64
                 ",\"failed\":%" PRId64 ",\"best_trial\":%" PRId64,
                 st == BT_STATUS_OK ? "finished" : "interrupted", c.completed, c.pruned, c.failed,
                 c.best_trial);
        bt_progress_event(&e.prog, "sweep_end", f);
    }
    free(buf);
    exec_free(&e);
    return st;
}
