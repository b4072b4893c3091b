/* What program trials leave behind (prog_internal.h): their configurations, the history of every
 * numeric key they report, the journal (one process per results file; a resume replays it into
 * the scheduler and starts the trials that were running again) and the results file. */
#define _DEFAULT_SOURCE /* realpath */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/grow.h"
#include "runtime/program/prog_internal.h"
#include "sweeps/propose/propose.h"
#include "sweeps/space.h"
#include "runtime/store/report_html.h"
#include "runtime/store/results.h"
#include "runtime/store/wopen.h"

double bt_prun_now(const bt_prun *r) {
    return bt_clock() - r->prog.t0 + r->time_offset;
}

int bt_prun_better(const bt_prun *r, double a, double b) {
    if (isnan(b)) return !isnan(a);
    if (isnan(a)) return 0;
    return r->spec->maximize ? a > b : a < b;
}

/* Whether two configurations give the same command line: the same kinds (1 and 1.0 are written
 * differently) and the same values (NaN never equals NaN, as before: such trials keep their draw).
 * Equal configurations are bt_value_equal too, so bt_values_hash puts them in one slot. */
static int same_config(const bt_value *a, const bt_value *b, int n) {
    for (int p = 0; p < n; p++) {
        if (a[p].kind != b[p].kind) return 0;
        if (a[p].kind == BT_VALUE_STRING ? strcmp(a[p].s, b[p].s) != 0
                                         : (a[p].i != b[p].i || a[p].f != b[p].f))
            return 0;
    }
    return 1;
}

/* The slot of config in the set of seen configurations: the trial holding an equal one, or an
 * empty slot (-1) where it goes. */
static int64_t *seen_slot(bt_prun *r, const bt_value *config) {
    int np = r->spec->n_params;
    uint64_t mask = (uint64_t)r->cap_seen - 1;
    for (uint64_t s = bt_values_hash(config, np, -1) & mask;; s = (s + 1) & mask) {
        int64_t u = r->seen[s];
        if (u < 0 || same_config(r->ts[u].config, config, np)) return &r->seen[s];
    }
}

/* Adds trials n_seen .. upto-1 (their configurations made) to the set, growing it to keep the
 * load under a half; a repeat keeps the earlier trial. */
static bt_status seen_add(bt_prun *r, int64_t upto) {
    if (2 * upto >= r->cap_seen) {
        int64_t cap = r->cap_seen ? r->cap_seen : 64;
        while (2 * upto >= cap) cap *= 2;
        int64_t *ns = malloc((size_t)cap * sizeof *ns);
        BT_CHECK_ALLOC(ns);
        for (int64_t i = 0; i < cap; i++) ns[i] = -1;
        free(r->seen);
        r->seen = ns;
        r->cap_seen = cap;
        int64_t n = r->n_seen;
        r->n_seen = 0;
        BT_TRY(seen_add(r, n));
    }
    for (; r->n_seen < upto; r->n_seen++) {
        int64_t *slot = seen_slot(r, r->ts[r->n_seen].config);
        if (*slot < 0) *slot = r->n_seen;
    }
    return BT_STATUS_OK;
}

/* Draws before random search settles for a repeat: a space with fewer configurations than the
 * sweep has trials runs out, and then repeats are what it asks for. */
#define REDRAWS 64

void bt_prun_trials_init(bt_prun *r, int64_t upto) {
    for (; r->n_init < upto && r->n_init < r->n_trials; r->n_init++)
        r->ts[r->n_init] = (bt_ptrial){.slot = -1, .metric = NAN, .best = NAN};
}

bt_status bt_prun_config(bt_prun *r, int64_t t) {
    bt_ptrial *tr = &r->ts[t];
    if (tr->config) return BT_STATUS_OK;
    int np = r->spec->n_params;
    tr->config = calloc((size_t)(np ? np : 1), sizeof *tr->config);
    BT_CHECK_ALLOC(tr->config);
    if (r->prop) return bt_proposer_propose(r->prop, t, 1, tr->config);
    if (r->spec->method == BT_METHOD_GRID)
        return bt_space_config(r->spec, r->spec->seed, t, tr->config);
    /* Random search gives no two trials the same configuration while the space has others (W&B's
     * parallel agents repeat them, wandb#2611): a repeat of an earlier trial is drawn again from
     * the next Philox key (t + k * 2^40), so the choice is still a pure function of the seed and
     * the trial id (earlier trials' configurations are themselves such functions). Earlier trials
     * get theirs first, whatever order trials started in; the set of those seen makes each
     * check O(1). */
    for (; r->n_configured < t; r->n_configured++)
        if (!r->ts[r->n_configured].config) BT_TRY(bt_prun_config(r, r->n_configured));
    BT_TRY(seen_add(r, t));
    for (int64_t k = 0;; k++) {
        BT_TRY(bt_space_config(r->spec, r->spec->seed, t + (k << 40), tr->config));
        if (*seen_slot(r, tr->config) < 0 || k + 1 == REDRAWS) return BT_STATUS_OK;
    }
}

bt_status bt_prun_observe(bt_prun *r, int64_t t, int64_t resource, double metric) {
    return r->prop ? bt_proposer_observe(r->prop, t, resource, metric) : BT_STATUS_OK;
}

/* ---- history -------------------------------------------------------------------------------- */

void bt_prun_history_drop(bt_prun *r, int64_t t) {
    int64_t k = 0;
    for (int64_t i = 0; i < r->n_rows; i++)
        if (r->rows[i].trial_id != t) r->rows[k++] = r->rows[i];
    r->n_rows = k;
}

static bt_status name_id(bt_prun *r, const char *name, int32_t *id) {
    for (int i = 0; i < r->n_names; i++)
        if (strcmp(r->names[i], name) == 0) {
            *id = i;
            return BT_STATUS_OK;
        }
    char **nn = realloc(r->names, (size_t)(r->n_names + 1) * sizeof *nn);
    BT_CHECK_ALLOC(nn);
    r->names = nn;
    nn[r->n_names] = strdup(name);
    BT_CHECK_ALLOC(nn[r->n_names]);
    *id = r->n_names++;
    return BT_STATUS_OK;
}

bt_status bt_prun_history_line(bt_prun *r, int64_t t, const char *json, double time,
                               int *has_metric, double *metric) {
    cJSON *o = cJSON_Parse(json);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: a report of trial %" PRId64 " is not an object",
                       r->jpath, t);
    }
    bt_status st = BT_STATUS_OK;
    for (const cJSON *it = o->child; it && st == BT_STATUS_OK; it = it->next) {
        if (!cJSON_IsNumber(it) && !cJSON_IsNull(it)) continue;
        double value = cJSON_IsNumber(it) ? it->valuedouble : NAN; /* null: NaN reported */
        int32_t id = 0;
        st = name_id(r, it->string, &id);
        if (st != BT_STATUS_OK) break;
        bt_history_row *nr = bt_grow(r->rows, &r->cap_rows, r->n_rows + 1, sizeof *nr, 1024);
        if (!nr) {
            st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
            break;
        }
        r->rows = nr;
        r->rows[r->n_rows++] = (bt_history_row){t, r->ts[t].resource, id, value, time};
        if (r->spec->metric && strcmp(it->string, r->spec->metric) == 0) {
            *has_metric = 1;
            *metric = value;
        }
    }
    cJSON_Delete(o);
    return st;
}

/* ---- the journal ---------------------------------------------------------------------------- */

bt_status bt_prun_jrec(bt_prun *r, bt_jrec_kind kind, int64_t t, int64_t resource, double value,
                       const char *text) {
    if (!r->jn) return BT_STATUS_OK; /* replaying, or nothing to keep */
    bt_jrec j = {kind, r->tick, t, resource, value, bt_prun_now(r), ""};
    r->wrote = 1;
    if (kind >= BT_JREC_START) return bt_journal_append_text(r->jn, &j, text);
    return bt_journal_append(r->jn, &j);
}

bt_status bt_prun_jtick(bt_prun *r) {
    if (!r->jn || !r->wrote) return BT_STATUS_OK;
    r->wrote = 0;
    bt_jrec j = {BT_JREC_TICK, r->tick++, -1, -1, 0, bt_prun_now(r), ""};
    return bt_journal_append(r->jn, &j);
}

/* One journal record into the state, as it happened live. */
static bt_status replay_one(bt_prun *r, const bt_jrec *j, const char *text) {
    int64_t t = j->trial;
    if (j->kind != BT_JREC_TICK && j->kind != BT_JREC_END && (t < 0 || t >= r->n_trials))
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "%s: trial %" PRId64 " is not in this sweep; rerun "
                       "with --fresh",
                       r->jpath, t);
    bt_ptrial *tr = t >= 0 && t < r->n_trials ? &r->ts[t] : NULL;
    if (tr && j->kind != BT_JREC_JOB && t >= r->n_init) /* a trial's records follow its job */
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "%s: trial %" PRId64 " has records before its job; rerun with --fresh",
                       r->jpath, t);
    switch (j->kind) {
    case BT_JREC_JOB: {
        bt_job job;
        BT_TRY(bt_sched_next(r->sched, &job));
        if (job.kind != BT_JOB_RUN || job.trial != t || job.resource != j->resource)
            return BT_FAIL(BT_STATUS_BAD_INPUT,
                           "%s does not match this sweep (the scheduler "
                           "hands out another trial); rerun with --fresh",
                           r->jpath);
        bt_prun_trials_init(r, t + 1);
        return BT_STATUS_OK;
    }
    case BT_JREC_START:
        BT_TRY(bt_prun_config(r, t));
        tr->attempt = (int)j->value;
        tr->resource = tr->n_reports = tr->n_lines = 0;
        tr->metric = tr->best = NAN;
        tr->queued = 0;
        bt_prun_history_drop(r, t);
        return BT_STATUS_OK;
    case BT_JREC_LINE: {
        int got = 0;
        double v = NAN;
        tr->resource = j->resource;
        BT_TRY(bt_prun_history_line(r, t, text ? text : "{}", j->time, &got, &v));
        tr->n_lines++;
        tr->n_reports += got || !r->spec->metric;
        if (got) {
            tr->metric = v;
            if (bt_prun_better(r, v, tr->best)) tr->best = v;
        }
        return BT_STATUS_OK;
    }
    case BT_JREC_REPORT:
        BT_TRY(bt_prun_observe(r, t, j->resource, j->value));
        return bt_sched_report(r->sched, t, j->resource, j->value);
    case BT_JREC_FINISH:
        BT_TRY(bt_prun_observe(r, t, j->resource, j->value));
        return bt_sched_finish(r->sched, t, j->value);
    case BT_JREC_EXIT:
        tr->seconds += isfinite(j->value) ? j->value : 0;
        tr->queued = j->resource == BT_JEXIT_RETRY;
        free(tr->error);
        tr->error = text && *text ? strdup(text) : NULL;
        return BT_STATUS_OK;
    case BT_JREC_TICK:
        r->tick = j->tick + 1;
        if (j->time > r->time_offset) r->time_offset = j->time;
        return BT_STATUS_OK;
    default:
        return BT_STATUS_OK;
    }
}

static char *path_with(const char *out, const char *suffix) {
    size_t a = strlen(out), b = strlen(suffix);
    char *p = malloc(a + b + 1);
    if (p) {
        memcpy(p, out, a);
        memcpy(p + a, suffix, b + 1);
    }
    return p;
}

bt_status bt_prun_journal_prepare(bt_prun *r, bt_run_summary *sum) {
    const char *out = r->o->out_path;
    r->jpath = path_with(out, ".journal");
    /* absolute: the trials run from the sweep's folder, and find their leftovers by it */
    char dir[4096] = ".", abs[4096];
    const char *slash = strrchr(out, '/');
    if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - out + (slash == out)), out);
    if (!realpath(dir, abs)) return BT_FAIL(BT_STATUS_IO, "%s: %s", dir, strerror(errno));
    size_t n = strlen(abs) + strlen(out) + 8;
    r->logs_dir = malloc(n);
    if (r->logs_dir)
        snprintf(r->logs_dir, n, "%s/%s.logs", strcmp(abs, "/") ? abs : "",
                 slash ? slash + 1 : out);
    BT_CHECK_ALLOC(r->jpath);
    BT_CHECK_ALLOC(r->logs_dir);
    /* --fresh replaces a results file, never someone's data (checked before the lock file) */
    if (r->o->fresh) BT_TRY(bt_results_replaceable(out));
    r->lock_fd = bt_wopen(r->jpath, O_RDWR | O_CREAT, 0644);
    if (r->lock_fd < 0) return BT_FAIL(BT_STATUS_IO, "%s: %s", r->jpath, bt_wopen_error(errno));
    if (flock(r->lock_fd, LOCK_EX | LOCK_NB) != 0)
        return BT_FAIL(BT_STATUS_IO,
                       "%s is in use by another batchtune process (one run per results file)",
                       r->jpath);
    r->fresh = 1;
    if (r->o->fresh) return BT_STATUS_OK;
    bt_status st = bt_journal_read(r->jpath, &r->log);
    if (st == BT_STATUS_NO_INPUT) {
        if (access(out, F_OK) == 0)
            return BT_FAIL(BT_STATUS_BAD_INPUT,
                           "%s exists but has no journal beside it (%s); use --fresh to "
                           "overwrite it or --out for another file",
                           out, r->jpath);
        return BT_STATUS_OK;
    }
    BT_TRY(st);
    if (strcmp(r->log.sha256, r->spec->sha256) != 0 || r->log.seed != r->spec->seed)
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "%s belongs to a different sweep (the sweep file or --seed changed since "
                       "it was started); use --fresh to start over, or --out to write elsewhere",
                       out);
    r->fresh = 0;
    bt_prun_kill_leftovers(r);
    r->replaying = 1;
    for (int64_t i = 0; i < r->log.n; i++) BT_TRY(replay_one(r, &r->log.recs[i], r->log.texts[i]));
    r->replaying = 0;
    /* what was running when the sweep stopped runs again, with the same arguments */
    for (int64_t t = 0; t < r->n_init; t++)
        if (bt_sched_trial_job(r->sched, t) >= 0) r->ts[t].queued = 1;
    sum->resumed = r->log.last_tick >= 0;
    sum->already_finished = r->log.finished;
    return BT_STATUS_OK;
}

bt_status bt_prun_journal_open(bt_prun *r) {
    if (r->fresh && unlink(r->o->out_path) != 0 && errno != ENOENT)
        return BT_FAIL(BT_STATUS_IO, "%s: %s", r->o->out_path, strerror(errno));
    return bt_journal_open(&r->jn, r->jpath, r->fresh, r->spec->sha256, r->spec->seed,
                           r->spec->run_cap_override);
}

void bt_prun_journal_close(bt_prun *r) {
    bt_journal_log_free(&r->log);
    bt_journal_close(r->jn);
    r->jn = NULL;
    if (r->lock_fd >= 0) {
        struct stat st;
        if (fstat(r->lock_fd, &st) == 0 && st.st_size == 0) unlink(r->jpath);
        close(r->lock_fd);
    }
    r->lock_fd = -1;
    free(r->jpath);
    r->jpath = NULL;
}

/* ---- the results file ----------------------------------------------------------------------- */

void bt_prun_counts(const bt_prun *r, bt_progress_counts *c) {
    memset(c, 0, sizeof *c);
    c->total = r->n_trials;
    c->best = NAN;
    c->best_trial = -1;
    c->metric = r->spec->metric;
    for (int pass = 0; pass < 2 && c->best_trial < 0; pass++)
        for (int64_t t = 0; t < r->n_init; t++) { /* the rest are pending */
            bt_trial_status s = bt_sched_trial_status(r->sched, t);
            if (pass == 0) {
                c->running += r->ts[t].slot >= 0;
                c->completed += s == BT_TRIAL_COMPLETED;
                c->pruned += s == BT_TRIAL_PRUNED;
                c->failed += s == BT_TRIAL_FAILED;
                if (s != BT_TRIAL_COMPLETED) continue;
            }
            if (bt_prun_better(r, r->ts[t].metric, c->best)) {
                c->best = r->ts[t].metric;
                c->best_trial = t;
            }
        }
    c->done = c->completed + c->pruned + c->failed;
}

static bt_status build(bt_prun *r, bt_results *res) {
    const bt_spec *spec = r->spec;
    memset(res, 0, sizeof *res);
    BT_TRY(bt_results_describe_sweep(res, spec, r->o->command_line));
    res->metric_name = strdup(spec->metric ? spec->metric : "");
    res->maximize = spec->maximize;
    res->model_type = strdup("program");
    res->error_column = 1;
    res->n_params = spec->n_params;
    res->params = calloc((size_t)(spec->n_params ? spec->n_params : 1), sizeof *res->params);
    BT_CHECK_ALLOC(res->params);
    for (int p = 0; p < spec->n_params; p++) {
        res->params[p].name = strdup(spec->params[p].name);
        res->params[p].kind = bt_results_column_kind(&spec->params[p]);
    }
    /* the trials started so far */
    int64_t n = 0;
    for (int64_t t = 0; t < r->n_init; t++)
        if (r->ts[t].config) n = t + 1;
    res->n_trials = n;
    res->trials = calloc((size_t)(n ? n : 1), sizeof *res->trials);
    BT_CHECK_ALLOC(res->trials);
    for (int64_t t = 0; t < n; t++) {
        bt_trial_row *row = &res->trials[t];
        const bt_ptrial *tr = &r->ts[t];
        row->trial_id = t;
        row->status = bt_sched_trial_status(r->sched, t);
        row->metric = tr->metric;
        row->best_metric = tr->best;
        row->resource = tr->resource;
        bt_sched_trial_place(r->sched, t, &row->bracket, &row->rung);
        snprintf(row->device, sizeof row->device, "%s", tr->device[0] ? tr->device : "cpu");
        row->seconds = tr->seconds + (tr->slot >= 0 ? bt_prun_now(r) - tr->t_start : 0);
        row->error = tr->error && row->status != BT_TRIAL_COMPLETED ? strdup(tr->error) : NULL;
        row->params = calloc((size_t)(spec->n_params ? spec->n_params : 1), sizeof *row->params);
        BT_CHECK_ALLOC(row->params);
        for (int p = 0; p < spec->n_params && tr->config; p++)
            row->params[p] = bt_results_column_value(res->params[p].kind, tr->config[p]);
    }
    res->n_metric_names = r->n_names;
    res->metric_names = calloc((size_t)(r->n_names ? r->n_names : 1), sizeof(char *));
    BT_CHECK_ALLOC(res->metric_names);
    for (int i = 0; i < r->n_names; i++) res->metric_names[i] = strdup(r->names[i]);
    res->n_history = res->cap_history = r->n_rows;
    res->history = malloc((size_t)(r->n_rows ? r->n_rows : 1) * sizeof *res->history);
    BT_CHECK_ALLOC(res->history);
    if (r->n_rows) memcpy(res->history, r->rows, (size_t)r->n_rows * sizeof *res->history);
    int64_t nd = 0;
    const bt_rung_decision *d = bt_sched_decisions(r->sched, &nd);
    res->n_rungs = nd;
    res->rungs = malloc((size_t)(nd ? nd : 1) * sizeof *res->rungs);
    BT_CHECK_ALLOC(res->rungs);
    if (nd) memcpy(res->rungs, d, (size_t)nd * sizeof *res->rungs);
    bt_progress_counts c;
    bt_prun_counts(r, &c);
    res->best_trial = c.best_trial;
    return bt_record_fill(&r->rec, res);
}

bt_status bt_prun_checkpoint(bt_prun *r) {
    if (r->jn) BT_TRY(bt_journal_sync(r->jn));
    bt_results res;
    bt_status st = build(r, &res);
    if (st == BT_STATUS_OK) st = bt_results_write(&res, r->o->out_path);
    if (st == BT_STATUS_OK && r->o->html_path)
        st = bt_report_html_live(&res, r->o->out_path, r->o->html_path, r->o->checkpoint_every);
    bt_results_free(&res);
    r->ckpt_last = bt_clock();
    if (st == BT_STATUS_OK) bt_progress_event(&r->prog, "checkpoint", NULL);
    return st;
}
