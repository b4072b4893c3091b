/* The results view (exec_internal.h): results.h5 rebuilt from the trial states, the history and
 * the scheduler's decisions, written atomically at checkpoints; and the best trial it names. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/exec/exec_internal.h"
#include "runtime/exec/sweep_data.h"
#include "runtime/store/report_html.h"

int bt_exec_better(const bt_exec *e, double a, double b) {
    if (isnan(b)) return !isnan(a);
    if (isnan(a)) return 0;
    return e->sw.maximize ? a > b : a < b;
}

/* The best completed trial by the sweep metric, else the best of any with a metric; -1: none. */
int64_t bt_exec_best_trial(const bt_exec *e) {
    int64_t best = -1;
    for (int pass = 0; pass < 2 && best < 0; pass++)
        for (int64_t t = 0; t < e->sw.n_ready; t++) {
            if (pass == 0 && bt_sched_trial_status(e->sw.sched, t) != BT_TRIAL_COMPLETED) continue;
            if (isnan(e->ts[t].metric)) continue;
            if (best < 0 || bt_exec_better(e, e->ts[t].metric, e->ts[best].metric)) best = t;
        }
    return best;
}

static char *xstrdup(const char *s) {
    return s ? strdup(s) : NULL;
}

/* The device run `leader` trained on: "cuda:N" of the pack that last held it (slots.c), else
 * the sweep's label. */
static const char *run_device(const bt_exec *e, int64_t leader, char *buf, size_t n) {
    int gpu = e->runs[leader].gpu;
    if (gpu < 0 || !e->dev.choice.cuda) return e->dev.label;
    snprintf(buf, n, "cuda:%d", gpu & 0xffff);
    return buf;
}

/* run_device, or in a job of several ranks "<device>@rank<N>" of the rank that last trained it
 * this session (ranks.c keeps which; a run of an earlier session: the sweep's device). */
static const char *trained_on(const bt_exec *e, int64_t leader, char *buf, size_t n) {
    char here[16];
    const char *dev = run_device(e, leader, here, sizeof here);
    const int w = e->trained_on ? e->trained_on[leader] : -1;
    if (w < 0) return dev;
    if (w > 0) dev = e->rank_dev[w][0] ? e->rank_dev[w] : "?";
    snprintf(buf, n, "%.7s@rank%d", dev, w & 0xffff); /* 15 characters: the column's width */
    return buf;
}

static bt_status build_results(bt_exec *e, bt_results *r, int final) {
    const bt_spec *spec = e->sw.spec;
    memset(r, 0, sizeof *r);
    BT_TRY(bt_results_describe_sweep(r, spec, e->o->command_line));
    r->metric_name = xstrdup(e->sw.metric);
    r->metric_as_written = xstrdup(spec->metric_name);
    r->maximize = e->sw.maximize;
    r->model_type = xstrdup(e->sw.family->name);
    char desc[320];
    bt_device_describe(&e->dev.choice, desc, sizeof desc);
    r->device = xstrdup(desc);
    r->n_params = spec->n_params;
    r->params = calloc((size_t)(spec->n_params ? spec->n_params : 1), sizeof *r->params);
    BT_CHECK_ALLOC(r->params);
    for (int p = 0; p < spec->n_params; p++) {
        r->params[p].name = xstrdup(spec->params[p].name);
        r->params[p].kind = bt_results_column_kind(&spec->params[p]);
    }
    r->n_trials = e->sw.n_ready; /* the trials started so far (an eager plan: all of them) */
    r->trials = calloc((size_t)(r->n_trials ? r->n_trials : 1), sizeof *r->trials);
    BT_CHECK_ALLOC(r->trials);
    bt_value *config = calloc((size_t)(spec->n_params ? spec->n_params : 1), sizeof *config);
    BT_CHECK_ALLOC(config);
    bt_status st = BT_STATUS_OK;
    for (int64_t t = 0; t < r->n_trials && st == BT_STATUS_OK; t++) {
        bt_trial_row *row = &r->trials[t];
        const bt_exec_trial *ts = &e->ts[t];
        row->trial_id = t;
        row->status = bt_sched_trial_status(e->sw.sched, t);
        row->metric = ts->metric;
        row->best_metric = ts->best;
        row->resource = ts->resource;
        bt_sched_trial_place(e->sw.sched, t, &row->bracket, &row->rung);
        char dev[32]; /* the column holds 15 characters: a long GPU list is cut there */
        snprintf(row->device, sizeof row->device, "%.15s",
                 trained_on(e, e->sw.trials[t].leader, dev, sizeof dev));
        row->seconds = ts->seconds;
        row->params = calloc((size_t)(spec->n_params ? spec->n_params : 1), sizeof *row->params);
        st = row->params ? bt_sweep_config(&e->sw, t, config)
                         : BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
        for (int p = 0; p < spec->n_params && st == BT_STATUS_OK; p++)
            row->params[p] = bt_results_column_value(r->params[p].kind, config[p]);
    }
    free(config);
    BT_TRY(st);
    const bt_exec_history *h = &e->hist;
    r->n_metric_names = h->n_names;
    r->metric_names = calloc((size_t)(h->n_names ? h->n_names : 1), sizeof(char *));
    BT_CHECK_ALLOC(r->metric_names);
    for (int i = 0; i < h->n_names; i++) r->metric_names[i] = xstrdup(h->names[i]);
    /* the learning curves are borrowed, not copied (bt_exec_checkpoint gives them back before
     * freeing the results): the largest part of a checkpoint's memory otherwise */
    r->n_history = r->cap_history = h->n;
    r->history = h->rows;
    int64_t nd = 0;
    const bt_rung_decision *d = bt_sched_decisions(e->sw.sched, &nd);
    r->n_rungs = nd;
    r->rungs = malloc((size_t)(nd ? nd : 1) * sizeof *r->rungs);
    BT_CHECK_ALLOC(r->rungs);
    if (nd) memcpy(r->rungs, d, (size_t)nd * sizeof *r->rungs);
    BT_TRY(bt_exec_machine_fill(e, r));
    r->best_trial = bt_exec_best_trial(e);
    if (final && r->best_trial >= 0 && e->sw.family->export_model) {
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

/* Syncs the journal (when live) and writes the results; final adds the best trial's model. */
bt_status bt_exec_checkpoint(bt_exec *e, int final) {
    if (!e->jnl.replaying && e->jnl.jn) BT_TRY(bt_journal_sync(e->jnl.jn));
    bt_results r;
    bt_status st = build_results(e, &r, final);
    if (st == BT_STATUS_OK) st = bt_results_write(&r, e->o->out_path);
    if (st == BT_STATUS_OK && e->o->html_path)
        st = bt_report_html_live(&r, e->o->out_path, e->o->html_path, e->o->checkpoint_every);
    r.history = NULL; /* borrowed from e->hist */
    bt_results_free(&r);
    if (st != BT_STATUS_OK) return st;
    e->ckpt.last = bt_clock();
    char f[128];
    snprintf(f, sizeof f, "\"tick\":%" PRId64 ",\"final\":%s", e->tick, final ? "true" : "false");
    bt_progress_event(&e->prog, "checkpoint", f);
    return BT_STATUS_OK;
}
