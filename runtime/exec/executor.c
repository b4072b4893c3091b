/* The sweep loop: deterministic ticks over packs of trials, journaled, resumable (executor.h). */
#include "runtime/exec/executor.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/devices/devices.h"
#include "runtime/devices/resolve.h"
#include "runtime/store/journal.h"
#include "runtime/exec/pool.h"
#include "runtime/exec/progress.h"
#include "runtime/store/results.h"
#include "base/sha256.h"
#include "runtime/store/snapshot.h"
#include "runtime/exec/sweep_data.h"
#include "sweeps/plan.h"

typedef struct run_state {
    int active;        /* some member has an outstanding job */
    int64_t resource;  /* logical resource reached */
    int64_t target;    /* furthest resource an outstanding job needs */
    int64_t state_res; /* resource the model state in `slot` is at */
    int inst;          /* pack instance holding its state, -1 if none */
    int slot;          /* slot in that pack, -1 if none */
    int failed;
    double step_value; /* sweep metric read right after the last step (step_job_run) */
    int verify;        /* retrained after a replay: check it lands on the journaled metric */
} run_state;

typedef struct trial_state {
    int has_job, started, stop_logged;
    int64_t job_resource; /* resource the scheduler asked for */
    int64_t report_at;    /* resource the report is due at (own budget for prefix trials) */
    int64_t resource;     /* last resource with a recorded metric */
    double metric, best, seconds;
    double pending; /* share of the current tick's time, paid when the tick ends */
} trial_state;

typedef struct pack_inst {
    bt_pack *pack;
    int shape; /* index into sw.pack_leader */
    int cap;
    int *free; /* stack of free slot indices */
    int n_free;
    int n_step, job; /* scratch of step_leaders */
} pack_inst;

/* One pack's share of a step: run on the caller's thread or a pool thread. */
typedef struct step_job {
    int inst;
    int *slots;
    int64_t *leaders;
    int n;
    int eval;
    bt_status st;
    char msg[768]; /* the failing thread's message: bt_status messages are per thread */
} step_job;

typedef struct exec {
    bt_sweep sw;
    const bt_run_opts *o;
    run_state *runs; /* indexed by leader trial id */
    trial_state *ts;
    int64_t *members; /* CSR: trials of each leader's group, ascending */
    int64_t *mem_ptr;
    pack_inst *inst; /* pack instances, in creation order */
    int n_inst, cap_inst;
    int64_t *shape_runs; /* per shape: its runs (leaders) */
    step_job *jobs;
    int cap_jobs;
    int *step_slots;
    int64_t *step_leaders;
    int64_t cap_step;
    bt_pool *pool; /* threads stepping packs side by side (concurrent_steps families) */
    int streams;   /* packs stepped at once */
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
    int lock_fd; /* holds the journal's exclusive lock for the whole run */
    int fresh;   /* start a new journal (no earlier one, or --fresh) */
    int threads;
    double time_offset;    /* journal time the last session reached: a resume's clock goes on */
    double last_tick_time; /* journal time at the end of the last tick */
    char device[16];       /* "cpu" or "cuda:N" */
    bt_device_choice dev;  /* where it trains, and why */
    /* model-state snapshots (OUT.state) */
    char *state_path;
    bt_snapshot snap;            /* the one read at a resume (its blobs freed as they are used) */
    bt_snapshot_entry **snap_of; /* per leader: its entry not yet restored, or NULL */
    double last_snapshot;
    int64_t n_restored, units_restored; /* runs and resource units restored, not retrained */
    bt_snapshot_head ident;             /* build, device and data of this run (snapshot_ident) */
    int ident_done;
} exec;

/* A warning for the caller's warnings stream and the event log. */
static void warn(exec *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(exec *e, const char *fmt, ...) {
    char msg[1024], f[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (e->o->warnings) fprintf(e->o->warnings, "batchtune: warning: %s\n", msg);
    for (char *c = msg; *c; c++)
        if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20) *c = ' ';
    snprintf(f, sizeof f, "\"message\":\"%s\"", msg);
    bt_progress_event(&e->prog, "warning", f);
}

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
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "%s does not match this sweep at record %" PRId64
                       " (the code or data changed since it was written); rerun with --fresh",
                       e->journal_path, e->ri + 2);
    r->value = j->value;
    r->time = j->time;
    e->ri++;
    return BT_STATUS_OK;
}

/* ---- slots and model state ------------------------------------------------------------------ */

/* A pack instance: one bt_pack of a shape. A shape's runs fill its instances' slots; another
 * instance of the same shape is made when they are all taken (the device had room for fewer, or
 * more runs are resident than the first one was sized for). */
static int64_t shape_slots(const exec *e, int shape) {
    int64_t n = 0;
    for (int i = 0; i < e->n_inst; i++)
        if (e->inst[i].shape == shape) n += e->inst[i].cap;
    return n;
}

static bt_status pack_new(exec *e, int shape, int *out) {
    bt_sweep *sw = &e->sw;
    if (e->n_inst == e->cap_inst) {
        int cap = e->cap_inst ? 2 * e->cap_inst : 8;
        pack_inst *ni = realloc(e->inst, (size_t)cap * sizeof *ni);
        BT_CHECK_ALLOC(ni);
        e->inst = ni;
        e->cap_inst = cap;
    }
    /* as many slots as the shape's runs can occupy at once: every active run (<= concurrency)
     * plus the idle ones tick step 6 lets stay resident (< 2 x concurrency) */
    int64_t wanted = e->shape_runs[shape] - shape_slots(e, shape);
    if (wanted > 2 * e->concurrency) wanted = 2 * e->concurrency;
    if (e->o->pack_slots > 0 && wanted > e->o->pack_slots) wanted = e->o->pack_slots;
    if (wanted > INT32_MAX / 2) wanted = INT32_MAX / 2;
    if (wanted < 1) wanted = 1;
    const bt_hparams shape_hp = {sw->trials[sw->pack_leader[shape]].hp};
    int cap = (int)wanted;
    if (sw->packs->pack_capacity) cap = sw->packs->pack_capacity(&sw->data, &shape_hp, cap);
    if (cap < 1) cap = 1;
    if (cap > wanted) cap = (int)wanted;
    bt_pack *pk = NULL;
    bt_status st = sw->packs->pack_init(&pk, &sw->data, &shape_hp, cap);
    /* a device pack that does not fit after all (the estimate was short, or another process took
     * memory) shrinks rather than failing the sweep: packing never changes results */
    while (st != BT_STATUS_OK && sw->packs->pack_capacity && cap > 1) {
        cap /= 2;
        bt_status_clear();
        st = sw->packs->pack_init(&pk, &sw->data, &shape_hp, cap);
    }
    BT_TRY(st);
    pack_inst *pi = &e->inst[e->n_inst];
    memset(pi, 0, sizeof *pi);
    pi->pack = pk;
    pi->shape = shape;
    pi->cap = cap;
    pi->free = malloc((size_t)cap * sizeof *pi->free);
    if (!pi->free) {
        sw->packs->pack_free(pk);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    for (int i = 0; i < cap; i++) pi->free[i] = cap - 1 - i;
    pi->n_free = cap;
    *out = e->n_inst++;
    char f[160];
    snprintf(f, sizeof f, "\"pack\":%d,\"shape\":%d,\"slots\":%d,\"wanted\":%" PRId64, *out, shape,
             cap, wanted);
    bt_progress_event(&e->prog, "pack_init", f);
    return BT_STATUS_OK;
}

static bt_status slot_acquire(exec *e, int64_t leader) {
    run_state *r = &e->runs[leader];
    if (r->slot >= 0) return BT_STATUS_OK;
    int shape = e->sw.trials[leader].pack, inst = -1;
    for (int i = 0; i < e->n_inst && inst < 0; i++)
        if (e->inst[i].shape == shape && e->inst[i].n_free > 0) inst = i;
    if (inst < 0) BT_TRY(pack_new(e, shape, &inst));
    pack_inst *pi = &e->inst[inst];
    r->inst = inst;
    r->slot = pi->free[--pi->n_free];
    const bt_hparams hp = {e->sw.trials[leader].hp};
    const uint64_t key = bt_sweep_trial_key(&e->sw, leader);
    const bt_pack_ops *ops = e->sw.packs;
    r->state_res = 0;
    /* a snapshot of this run, at most as far as the journal says it got: restore it (the rest of
     * the way is retrained, and catch_up still checks where it lands) */
    bt_snapshot_entry *se = e->snap_of ? e->snap_of[leader] : NULL;
    if (se) {
        e->snap_of[leader] = NULL;
        if (ops->slot_restore && se->resource > 0 && se->resource <= r->resource) {
            if (ops->slot_restore(pi->pack, r->slot, &hp, key, se->blob, se->len) == BT_STATUS_OK) {
                r->state_res = se->resource;
                e->n_restored++;
                e->units_restored += se->resource;
            } else {
                warn(e, "%s: trial %" PRId64 ": %s; retraining it", e->state_path, leader,
                     bt_status_message());
                bt_status_clear();
            }
        }
        free(se->blob);
        se->blob = NULL;
        if (r->state_res > 0) return BT_STATUS_OK;
    }
    return ops->slot_start(pi->pack, r->slot, &hp, key);
}

static void slot_release(exec *e, int64_t leader) {
    run_state *r = &e->runs[leader];
    if (r->slot < 0) return;
    pack_inst *pi = &e->inst[r->inst];
    e->sw.packs->slot_clear(pi->pack, r->slot);
    pi->free[pi->n_free++] = r->slot;
    r->slot = -1;
    r->inst = -1;
    r->state_res = 0;
}

static bt_pack *run_pack(const exec *e, int64_t leader) {
    return e->inst[e->runs[leader].inst].pack;
}

/* ---- stepping: one job per pack instance, run side by side when the family allows it -------- */

/* Whether run L records the sweep metric at resource res (some member's budget reaches it). */
static int run_records(const exec *e, int64_t L, int64_t res) {
    for (int64_t k = e->mem_ptr[L]; k < e->mem_ptr[L + 1]; k++) {
        int64_t budget = e->sw.trials[e->members[k]].budget;
        if (budget < 0 || budget >= res) return 1;
    }
    return 0;
}

/* Steps job j's pack once and, when asked, reads the sweep metric of each stepped run into its
 * run_state (step_value, failed). Each run belongs to one job, so jobs on different threads write
 * disjoint run_states; everything else they read stays unchanged until the batch is over. */
static void step_job_run(void *ctx, int j) {
    exec *e = ctx;
    step_job *sj = &e->jobs[j];
    const bt_pack_ops *ops = e->sw.packs;
    bt_pack *pk = e->inst[sj->inst].pack;
    sj->st = ops->step(pk, sj->slots, sj->n);
    for (int i = 0; i < sj->n && sj->st == BT_STATUS_OK && sj->eval; i++) {
        int64_t L = sj->leaders[i];
        run_state *r = &e->runs[L];
        r->step_value = NAN;
        if (!run_records(e, L, r->resource + 1)) continue;
        if (!r->failed && ops->slot_failed && ops->slot_failed(pk, r->slot)) r->failed = 1;
        if (!r->failed && ops->eval(pk, r->slot, e->sw.metric, &r->step_value) != BT_STATUS_OK)
            r->failed = 1;
        if (r->failed) r->step_value = NAN;
    }
    if (sj->st != BT_STATUS_OK)
        snprintf(sj->msg, sizeof sj->msg, "%s (%s)", bt_status_message(), bt_status_where());
}

/* Steps every listed leader's slot once, one model call per pack instance (in instance order;
 * leaders ascending within it); with eval, also reads each run's sweep metric (run_records). */
static bt_status step_leaders(exec *e, const int64_t *leaders, int64_t n, int eval) {
    if (n == 0) return BT_STATUS_OK;
    if (e->cap_jobs < e->n_inst) {
        step_job *nj = realloc(e->jobs, (size_t)e->n_inst * sizeof *nj);
        BT_CHECK_ALLOC(nj);
        memset(nj + e->cap_jobs, 0, (size_t)(e->n_inst - e->cap_jobs) * sizeof *nj);
        e->jobs = nj;
        e->cap_jobs = e->n_inst;
    }
    if (e->cap_step < n) {
        int *ns = realloc(e->step_slots, (size_t)n * sizeof *ns);
        BT_CHECK_ALLOC(ns);
        e->step_slots = ns;
        int64_t *nl = realloc(e->step_leaders, (size_t)n * sizeof *nl);
        BT_CHECK_ALLOC(nl);
        e->step_leaders = nl;
        e->cap_step = n;
    }
    /* bucket the leaders by instance: counts, then offsets, then fill (stable) */
    int n_jobs = 0;
    for (int i = 0; i < e->n_inst; i++) e->inst[i].n_step = 0;
    for (int64_t i = 0; i < n; i++) e->inst[e->runs[leaders[i]].inst].n_step++;
    int64_t off = 0;
    for (int i = 0; i < e->n_inst; i++) {
        if (e->inst[i].n_step == 0) continue;
        step_job *sj = &e->jobs[n_jobs++];
        sj->inst = i;
        sj->slots = e->step_slots + off;
        sj->leaders = e->step_leaders + off;
        sj->n = 0;
        sj->eval = eval;
        sj->st = BT_STATUS_OK;
        sj->msg[0] = '\0';
        e->inst[i].job = n_jobs - 1;
        off += e->inst[i].n_step;
    }
    for (int64_t i = 0; i < n; i++) {
        step_job *sj = &e->jobs[e->inst[e->runs[leaders[i]].inst].job];
        sj->slots[sj->n] = e->runs[leaders[i]].slot;
        sj->leaders[sj->n++] = leaders[i];
    }
    if (e->sw.packs->concurrent_steps && e->streams > 1 && n_jobs > 1) {
        if (!e->pool) BT_TRY(bt_pool_init(&e->pool, e->streams));
        bt_pool_run(e->pool, n_jobs, step_job_run, e);
    } else {
        for (int j = 0; j < n_jobs && (j == 0 || e->jobs[j - 1].st == BT_STATUS_OK); j++)
            step_job_run(e, j);
    }
    /* failures surface in pack order, whatever thread saw them first */
    for (int j = 0; j < n_jobs; j++)
        if (e->jobs[j].st != BT_STATUS_OK)
            return BT_FAIL(e->jobs[j].st, "pack %d: %s", e->jobs[j].inst, e->jobs[j].msg);
    for (int64_t i = 0; i < n; i++) e->runs[leaders[i]].state_res++;
    return BT_STATUS_OK;
}

/* After a replay, runs still in flight have no model state: restore what the snapshot holds of
 * them (slot_acquire) and retrain the rest of the way (all together) to where the journal says
 * they were. Training is deterministic, so this reproduces their state. */
static bt_status catch_up(exec *e, int64_t *buf) {
    int64_t n_verify = 0, units = 0, restored0 = e->n_restored, restored_units0 = e->units_restored;
    for (;;) {
        int64_t n = 0;
        for (int64_t t = 0; t < e->sw.n_trials; t++) {
            run_state *r = &e->runs[t];
            if (e->sw.trials[t].leader != t || !r->active || r->failed) continue;
            if (r->slot < 0 && r->resource > 0) {
                BT_TRY(slot_acquire(e, t));
                r->verify = 1;
                n_verify++;
            }
            if (r->slot >= 0 && r->state_res < r->resource) buf[n++] = t;
        }
        if (n == 0) break;
        BT_TRY(step_leaders(e, buf, n, 0));
        units += n;
    }
    if (n_verify > 0) {
        char f[224];
        snprintf(f, sizeof f,
                 "\"runs\":%" PRId64 ",\"restored\":%" PRId64 ",\"units_restored\":%" PRId64
                 ",\"units_retrained\":%" PRId64,
                 n_verify, e->n_restored - restored0, e->units_restored - restored_units0, units);
        bt_progress_event(&e->prog, "catch_up", f);
    }
    /* A retrained run must land on the metric the journal recorded: if not, the data or the
     * code changed since, and continuing would mix two different sweeps. */
    for (int64_t t = 0; t < e->sw.n_trials && n_verify > 0; t++) {
        run_state *r = &e->runs[t];
        if (!r->verify) continue;
        r->verify = 0;
        n_verify--;
        for (int64_t k = e->mem_ptr[t]; k < e->mem_ptr[t + 1]; k++) {
            const trial_state *ts = &e->ts[e->members[k]];
            if (ts->resource != r->resource) continue;
            double v = NAN;
            BT_TRY(e->sw.packs->eval(run_pack(e, t), r->slot, e->sw.metric, &v));
            if (!(v == ts->metric || (isnan(v) && isnan(ts->metric))))
                return BT_FAIL(BT_STATUS_BAD_INPUT,
                               "%s: trial %" PRId64 " brought to %" PRId64 " gives %s %.17g but "
                               "the journal recorded %.17g: the data or the code changed since "
                               "the sweep started; use --fresh to start over",
                               e->journal_path, e->members[k], r->resource, e->sw.metric, v,
                               ts->metric);
            break;
        }
    }
    return BT_STATUS_OK;
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
    r->model_type = xstrdup(e->sw.family->name);
    char desc[320];
    bt_device_describe(&e->dev, desc, sizeof desc);
    r->device = xstrdup(desc);
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
        snprintf(row->device, sizeof row->device, "%s", e->device);
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

/* ---- model-state snapshots (OUT.state, runtime/snapshot.h) ---------------------------------- */

/* sha256 of a dataset's sizes, features and labels, added to c. */
static void hash_dataset(bt_sha256 *c, const bt_dataset *d) {
    const int64_t dims[2] = {d->n_rows, d->n_features};
    bt_sha256_update(c, dims, sizeof dims);
    if (d->X) bt_sha256_update(c, d->X, (size_t)d->n_rows * (size_t)d->n_features * sizeof(float));
    if (d->y) bt_sha256_update(c, d->y, (size_t)d->n_rows * sizeof(float));
}

/* What a snapshot's numbers depend on besides the sweep file: the build (the running executable's
 * sha256, so any rebuild counts as another build; BT_VERSION where it cannot be read), the device
 * (the GPU's name, the nn math mode BT_NN_MATH, and the CUDA runtime, driver and cuBLAS versions:
 * cuBLAS picks its GEMM kernels by version) and the loaded data. Computed once. A state
 * that does not match is retrained, and the retrained run must then land on the journal. */
static void snapshot_ident(exec *e) {
    if (e->ident_done) return;
    e->ident_done = 1;
    snprintf(e->ident.version, sizeof e->ident.version, "%s", BT_VERSION);
    FILE *f = fopen("/proc/self/exe", "rb");
    if (f) {
        bt_sha256 c;
        bt_sha256_init(&c);
        unsigned char buf[1 << 16];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0) bt_sha256_update(&c, buf, n);
        uint8_t d[32];
        bt_sha256_final(&c, d);
        if (!ferror(f)) {
            int at = snprintf(e->ident.version, sizeof e->ident.version, "%s exe ", BT_VERSION);
            for (int i = 0; i < 16 && at + 2 < (int)sizeof e->ident.version; i++, at += 2)
                snprintf(e->ident.version + at, 3, "%02x", d[i]);
        }
        fclose(f);
    }
    if (e->dev.cuda) {
        const char *math = getenv("BT_NN_MATH");
        snprintf(e->ident.device, sizeof e->ident.device, "cuda:%.48s math=%.12s; %.80s",
                 e->dev.name, math && *math ? math : "default", bt_cuda_version_string());
    } else {
        snprintf(e->ident.device, sizeof e->ident.device, "cpu");
    }
    bt_sha256 c;
    bt_sha256_init(&c);
    hash_dataset(&c, &e->sw.train);
    hash_dataset(&c, &e->sw.valid);
    uint8_t d[32];
    bt_sha256_final(&c, d);
    for (int i = 0; i < 32; i++) snprintf(e->ident.data + 2 * i, 3, "%02x", d[i]);
}

/* Removes the model-state file and a temporary one a killed writer left. */
static bt_status state_remove(exec *e) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", e->state_path);
    if (unlink(tmp) != 0 && errno != ENOENT)
        return BT_FAIL(BT_STATUS_IO, "%s: %s", tmp, strerror(errno));
    if (unlink(e->state_path) != 0 && errno != ENOENT)
        return BT_FAIL(BT_STATUS_IO, "%s: %s", e->state_path, strerror(errno));
    return BT_STATUS_OK;
}

/* Forgets run L's entry of the snapshot read at the resume (the run needs no state any more). */
static void snap_drop(exec *e, int64_t L) {
    if (!e->snap_of || !e->snap_of[L]) return;
    free(e->snap_of[L]->blob);
    e->snap_of[L]->blob = NULL;
    e->snap_of[L] = NULL;
}

/* Writes the snapshot: every run holding model state, and the entries of the snapshot read at the
 * resume that no run has restored yet (idle runs that may still be promoted). A failure only
 * warns: the journal and the results are what a resume needs, the snapshot saves it time. */
static void snapshot_write(exec *e) {
    const bt_pack_ops *ops = e->sw.packs;
    const double t0 = bt_clock();
    e->last_snapshot = t0;
    bt_snapshot_head h;
    memset(&h, 0, sizeof h);
    snprintf(h.sha256, sizeof h.sha256, "%s", e->sw.spec->sha256);
    h.seed = e->sw.spec->seed;
    snapshot_ident(e);
    memcpy(h.version, e->ident.version, sizeof h.version);
    snprintf(h.family, sizeof h.family, "%s", e->sw.family->name);
    memcpy(h.device, e->ident.device, sizeof h.device);
    memcpy(h.data, e->ident.data, sizeof h.data);
    h.tick = e->tick;
    /* carried entries (idle runs without a slot) within the bound tick step 6 keeps on resident
     * state, 2 x concurrency runs in all: the latest runs' are kept, the earliest dropped (those
     * runs are retrained if promoted), so the file does not grow with every stop */
    int64_t room = 2 * e->concurrency;
    for (int64_t t = 0; t < e->sw.n_trials; t++)
        room -= e->runs[t].slot >= 0 && e->runs[t].state_res > 0;
    for (int64_t t = e->sw.n_trials - 1; t >= 0 && e->snap_of; t--) {
        if (e->runs[t].slot >= 0 || !e->snap_of[t]) continue;
        if (room > 0)
            room--;
        else
            snap_drop(e, t);
    }
    for (int64_t t = 0; t < e->sw.n_trials; t++) {
        const run_state *r = &e->runs[t];
        h.n += (r->slot >= 0 && r->state_res > 0) || (r->slot < 0 && e->snap_of && e->snap_of[t]);
    }
    bt_snapshot_writer *w = NULL;
    bt_status st = bt_snapshot_begin(&w, e->state_path, &h);
    size_t bytes = 0;
    for (int64_t t = 0; t < e->sw.n_trials && st == BT_STATUS_OK; t++) {
        const run_state *r = &e->runs[t];
        if (r->slot >= 0 && r->state_res > 0) {
            void *blob = NULL;
            size_t len = 0;
            st = ops->slot_save(run_pack(e, t), r->slot, &blob, &len);
            if (st == BT_STATUS_OK) st = bt_snapshot_add(w, t, r->state_res, blob, len);
            free(blob);
            bytes += len;
        } else if (r->slot < 0 && e->snap_of && e->snap_of[t]) {
            const bt_snapshot_entry *se = e->snap_of[t];
            st = bt_snapshot_add(w, t, se->resource, se->blob, se->len);
            bytes += se->len;
        }
    }
    if (st == BT_STATUS_OK) {
        st = bt_snapshot_commit(w);
    } else {
        bt_snapshot_abort(w);
    }
    if (st != BT_STATUS_OK) {
        warn(e, "snapshot not written: %s", bt_status_message());
        bt_status_clear();
        return;
    }
    char f[192];
    snprintf(f, sizeof f,
             "\"tick\":%" PRId64 ",\"runs\":%" PRId64 ",\"bytes\":%zu,\"seconds\":%.3f", e->tick,
             h.n, bytes, bt_clock() - t0);
    bt_progress_event(&e->prog, "snapshot", f);
}

/* At a checkpoint: a snapshot when one is due (--snapshot-every), or always on a stop request. */
static void snapshot_maybe(exec *e, int stopping) {
    if (e->replaying || !(e->o->snapshot_every > 0) || !e->sw.packs->slot_save) return;
    if (stopping || bt_clock() - e->last_snapshot >= e->o->snapshot_every) snapshot_write(e);
}

/* After the journal opened: a fresh sweep removes an old snapshot; a resume reads it and keeps
 * the entries it can trust (same sweep, seed, version, family and device kind, no later than the
 * journal, runs of this sweep), indexed by run. Anything else is ignored with a warning. */
static bt_status open_state(exec *e) {
    if (e->fresh) return BT_STATUS_OK; /* removed by open_journal */
    if (!e->sw.packs->slot_restore) return BT_STATUS_OK;
    bt_snapshot *sn = &e->snap;
    bt_status st = bt_snapshot_read(e->state_path, sn);
    if (st == BT_STATUS_NO_INPUT) {
        bt_status_clear();
        return BT_STATUS_OK;
    }
    if (st != BT_STATUS_OK) {
        warn(e, "%s ignored, in-flight runs are retrained: %s", e->state_path, bt_status_message());
        bt_status_clear();
        return BT_STATUS_OK;
    }
    snapshot_ident(e);
    const bt_snapshot_head *h = &sn->head;
    const char *why = NULL;
    if (strcmp(h->sha256, e->sw.spec->sha256) != 0 || h->seed != e->sw.spec->seed)
        why = "it belongs to another sweep (sweep file or seed)";
    else if (strcmp(h->version, e->ident.version) != 0)
        why = "another batchtune build wrote it";
    else if (strcmp(h->family, e->sw.family->name) != 0)
        why = "another model family wrote it";
    else if (strcmp(h->device, e->ident.device) != 0)
        why = "it was written on another device or math mode";
    else if (strcmp(h->data, e->ident.data) != 0)
        why = "the data changed since";
    else if (h->tick > e->log.last_tick + 1)
        why = "it is newer than the journal";
    e->snap_of = calloc((size_t)(e->sw.n_trials ? e->sw.n_trials : 1), sizeof *e->snap_of);
    BT_CHECK_ALLOC(e->snap_of);
    for (int64_t i = 0; i < h->n && !why; i++) {
        const int64_t L = sn->e[i].leader;
        if (L >= e->sw.n_trials || e->sw.trials[L].leader != L || e->snap_of[L])
            why = "it names runs this sweep does not have";
        else
            e->snap_of[L] = &sn->e[i];
    }
    if (why) {
        warn(e, "%s ignored (%s); in-flight runs are retrained", e->state_path, why);
        free(e->snap_of);
        e->snap_of = NULL;
        bt_snapshot_free(sn);
    }
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

/* Records the task's other metrics for trial t (a member of run L) at the run's resource. */
static bt_status extra_metrics(exec *e, int64_t L, int64_t t, double now) {
    run_state *r = &e->runs[L];
    for (int m = 0; m < e->n_extra; m++) {
        double v = NAN;
        if (!e->replaying && !r->failed) {
            if (e->sw.packs->eval(run_pack(e, L), r->slot, e->extra_metrics[m], &v) != BT_STATUS_OK)
                v = NAN;
        }
        bt_jrec h = {BT_JREC_HIST, e->tick, t, r->resource, v, now, ""};
        snprintf(h.metric, sizeof h.metric, "%s", e->extra_metrics[m]);
        BT_TRY(jrec(e, &h));
        BT_TRY(hist_add(e, t, r->resource, h.metric, h.value, h.time));
    }
    return BT_STATUS_OK;
}

/* One tick; *finished set when the scheduler is done. */
static bt_status tick(exec *e, int64_t *buf, int *finished) {
    bt_sweep *sw = &e->sw;
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
        BT_TRY(step_leaders(e, buf, n, 1));
    }
    double now = bt_clock() - e->prog.t0 + e->time_offset;

    /* 3. learning curves */
    for (int64_t i = 0; i < n; i++) {
        int64_t L = buf[i];
        run_state *r = &e->runs[L];
        r->resource++;
        double value = NAN;
        int have = 0;
        /* the run's share of this tick's time goes to the members it trained this tick, split
         * evenly: a budget-prefix group's run is paid for once, not once per member */
        int64_t m = 0;
        for (int64_t k = e->mem_ptr[L]; k < e->mem_ptr[L + 1]; k++) {
            int64_t budget = sw->trials[e->members[k]].budget;
            m += !(budget >= 0 && budget < r->resource);
        }
        double weight = m > 0 ? 1.0 / ((double)n * (double)m) : 0;
        for (int64_t k = e->mem_ptr[L]; k < e->mem_ptr[L + 1]; k++) {
            int64_t t = e->members[k];
            int64_t budget = sw->trials[t].budget;
            if (budget >= 0 && budget < r->resource) continue;
            if (!e->replaying && !have) {
                value = r->failed ? NAN : r->step_value; /* read by step_job_run */
                have = 1;
            }
            bt_jrec h = {BT_JREC_HIST, e->tick, t, r->resource, value, now, ""};
            snprintf(h.metric, sizeof h.metric, "%s", sw->metric);
            BT_TRY(jrec(e, &h));
            BT_TRY(hist_add(e, t, r->resource, sw->metric, h.value, h.time));
            trial_state *ts = &e->ts[t];
            ts->resource = r->resource;
            ts->metric = h.value;
            ts->pending += weight;
            if (better(e, h.value, ts->best)) ts->best = h.value;
            /* the task's other metrics where this trial reports: its own budget, or its job's
             * resource -- decided by the run alone, so packing never changes the history */
            int64_t at = budget >= 0 ? budget : ts->has_job ? ts->report_at : -1;
            if (r->resource == at) BT_TRY(extra_metrics(e, L, t, now));
        }
    }

    /* 4. reports, in trial-id order */
    for (int64_t t = 0; t < sw->n_trials; t++) {
        trial_state *ts = &e->ts[t];
        int64_t L = sw->trials[t].leader;
        run_state *r = &e->runs[L];
        if (!ts->has_job || r->resource < ts->report_at) continue;
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
            snap_drop(e, t);
        }
    }
    /* 6. bound memory: runs waiting for a promotion (ASHA, W&B) keep their state only while
     * fewer than 2 x concurrency runs hold a slot; beyond that the earliest idle ones give theirs
     * up and are retrained if promoted later (deterministic, so results do not change) */
    if (!e->replaying) {
        int64_t resident = 0;
        for (int64_t t = 0; t < sw->n_trials; t++) resident += e->runs[t].slot >= 0;
        for (int64_t t = 0; t < sw->n_trials && resident > 2 * e->concurrency; t++) {
            if (e->runs[t].slot < 0 || e->runs[t].active) continue;
            slot_release(e, t);
            resident--;
        }
    }
    bt_jrec tk = {BT_JREC_TICK, e->tick, -1, -1, 0, bt_clock() - e->prog.t0 + e->time_offset, ""};
    BT_TRY(jrec(e, &tk));
    /* this tick's wall time, from the journal's clock (so a replay attributes exactly what the
     * first run did, and a resumed sweep keeps the time spent before it stopped) */
    double dur = tk.time - e->last_tick_time;
    if (!(dur > 0)) dur = 0;
    e->last_tick_time = tk.time;
    for (int64_t t = 0; t < sw->n_trials; t++) {
        e->ts[t].seconds += e->ts[t].pending * dur;
        e->ts[t].pending = 0;
    }
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

/* Resolves --device / execution.device and --gpu-packs / execution.gpu_packs (the shared
 * resolver, runtime/devices/resolve.h): the device, and the family's pack ops there. */
static bt_status resolve_device(exec *e, const bt_spec *spec, const bt_run_opts *o) {
    bt_device_request req = {.device = o->device ? o->device : spec->exec.device,
                             .gpu_packs = o->gpu_packs ? o->gpu_packs : spec->exec.gpu_packs,
                             .bad = o->device ? BT_STATUS_USAGE : BT_STATUS_BAD_INPUT,
                             .where = o->device ? "--device" : "execution.device"};
    bt_device_resolved res;
    BT_TRY(bt_device_resolve(e->sw.family, &req, &res));
    e->dev = res.choice;
    e->sw.packs = res.packs;
    snprintf(e->device, sizeof e->device, "%s", e->dev.label);
    return BT_STATUS_OK;
}

static void exec_free(exec *e) {
    bt_pool_free(e->pool);
    for (int i = 0; i < e->n_inst; i++) {
        e->sw.packs->pack_free(e->inst[i].pack);
        free(e->inst[i].free);
    }
    free(e->inst);
    free(e->shape_runs);
    free(e->jobs);
    free(e->step_slots);
    free(e->step_leaders);
    free(e->runs);
    free(e->ts);
    free(e->members);
    free(e->mem_ptr);
    free(e->hist);
    for (int i = 0; i < e->n_metric_names; i++) free(e->metric_names[i]);
    free(e->metric_names);
    bt_journal_log_free(&e->log);
    bt_snapshot_free(&e->snap);
    free(e->snap_of);
    free(e->state_path);
    bt_journal_close(e->jn);
    if (e->lock_fd > 0) {
        struct stat st;
        if (!e->jn && fstat(e->lock_fd, &st) == 0 && st.st_size == 0)
            unlink(e->journal_path); /* made only to hold the lock: leave nothing behind */
        close(e->lock_fd);           /* releases the lock */
    }
    free(e->journal_path);
    bt_sweep_free(&e->sw);
}

/* A string for a JSON event: quotes, backslashes and control characters become spaces. */
static void json_safe(char *out, size_t n, const char *s) {
    size_t k = 0;
    for (; s && *s && k + 1 < n; s++)
        out[k++] = (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20) ? ' ' : *s;
    out[k] = '\0';
}

static int same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return a && b && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static bt_status prepare(exec *e, const bt_spec *spec, const bt_run_opts *o, bt_run_summary *sum) {
    BT_TRY(bt_sweep_init(&e->sw, spec));
    BT_TRY(resolve_device(e, spec, o));
    if (o->packs_override) e->sw.packs = o->packs_override;
    e->streams = o->streams > 0 ? o->streams : spec->exec.streams > 0 ? spec->exec.streams : 4;
    bt_sweep *sw = &e->sw;
    int64_t n = sw->n_trials;
    e->runs = calloc((size_t)(n ? n : 1), sizeof *e->runs);
    e->ts = calloc((size_t)(n ? n : 1), sizeof *e->ts);
    e->shape_runs = calloc((size_t)sw->n_packs + 1, sizeof *e->shape_runs);
    BT_CHECK_ALLOC(e->runs);
    BT_CHECK_ALLOC(e->ts);
    BT_CHECK_ALLOC(e->shape_runs);
    for (int64_t t = 0; t < n; t++) {
        if (sw->trials[t].leader == t) e->shape_runs[sw->trials[t].pack]++;
        e->runs[t].slot = -1;
        e->runs[t].inst = -1;
        e->ts[t].metric = NAN;
        e->ts[t].best = NAN;
    }
    BT_TRY(build_members(e));
    int async = spec->sched.kind == BT_SCHED_ASHA || spec->sched.kind == BT_SCHED_WANDB_HYPERBAND;
    e->concurrency =
        async && spec->sched.concurrency > 0 ? spec->sched.concurrency : spec->exec.max_pack;
    if (e->concurrency <= 0) e->concurrency = 256;
    if (metric_id(e, sw->metric) < 0) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    for (int m = 0; sw->family->metrics && sw->family->metrics[m] && e->n_extra < 16; m++) {
        const char *name = sw->family->metrics[m];
        if (strcmp(name, sw->metric) == 0) continue;
        if (sw->family->metric_ok && !sw->family->metric_ok(name, sw->task)) continue;
        e->extra_metrics[e->n_extra++] = name;
    }
    e->threads = spec->exec.threads > 0 ? spec->exec.threads : bt_cpu_cores();
    sum->n_trials = n;

    /* journal: fresh, resume, or already finished. One process per results file: an exclusive
     * lock on the journal (created empty if missing; an empty journal counts as none). */
    size_t plen = strlen(o->out_path);
    e->journal_path = malloc(plen + 9);
    BT_CHECK_ALLOC(e->journal_path);
    memcpy(e->journal_path, o->out_path, plen);
    memcpy(e->journal_path + plen, ".journal", 9);
    e->state_path = malloc(plen + 7);
    BT_CHECK_ALLOC(e->state_path);
    memcpy(e->state_path, o->out_path, plen);
    memcpy(e->state_path + plen, ".state", 7);
    if (same_file(o->out_path, spec->path))
        return BT_FAIL(BT_STATUS_USAGE, "--out %s is the sweep file itself", o->out_path);
    e->lock_fd = open(e->journal_path, O_RDWR | O_CREAT, 0644);
    if (e->lock_fd < 0) return BT_FAIL(BT_STATUS_IO, "%s: %s", e->journal_path, strerror(errno));
    if (flock(e->lock_fd, LOCK_EX | LOCK_NB) != 0)
        return BT_FAIL(BT_STATUS_IO,
                       "%s is in use by another batchtune process (one run per results file)",
                       e->journal_path);
    e->fresh = o->fresh;
    if (!e->fresh) {
        bt_status st = bt_journal_read(e->journal_path, &e->log);
        if (st == BT_STATUS_NO_INPUT) {
            e->fresh = 1;
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
        } else if (strcmp(e->log.version, BT_VERSION) != 0) {
            return BT_FAIL(BT_STATUS_BAD_INPUT,
                           "%s was started by batchtune %s and this is %s: numerics may differ, "
                           "so it cannot be continued exactly; use --fresh to start over",
                           o->out_path, e->log.version, BT_VERSION);
        } else {
            e->replaying = e->log.n > 0;
            for (int64_t i = 0; i < e->log.n; i++)
                if (e->log.recs[i].kind == BT_JREC_TICK && e->log.recs[i].time > e->time_offset)
                    e->time_offset = e->log.recs[i].time;
            sum->resumed = e->log.last_tick >= 0;
            sum->already_finished = e->log.finished;
        }
    }
    return BT_STATUS_OK;
}

/* After the data loaded (so a bad dataset never costs earlier results): start or continue the
 * journal, and with --fresh drop the old results. */
static bt_status open_journal(exec *e, const bt_spec *spec) {
    /* the model-state file goes first: a kill in between must not leave an old state beside a
     * new journal of the same sweep */
    if (e->fresh) BT_TRY(state_remove(e));
    if (e->fresh && unlink(e->o->out_path) != 0 && errno != ENOENT)
        return BT_FAIL(BT_STATUS_IO, "%s: %s", e->o->out_path, strerror(errno));
    return bt_journal_open(&e->jn, e->journal_path, e->fresh, spec->sha256, spec->seed);
}

bt_status bt_sweep_run(const bt_spec *spec, const bt_run_opts *o, bt_run_summary *sum) {
    exec e;
    memset(&e, 0, sizeof e);
    memset(sum, 0, sizeof *sum);
    sum->best_trial = -1;
    sum->best_metric = NAN;
    e.o = o;
    e.lock_fd = -1;
    e.log.last_tick = -1;
    e.prog.out = o->progress;
    e.prog.live = o->progress_live;
    e.prog.log = o->log;
    e.prog.t0 = bt_clock();
    bt_status st = prepare(&e, spec, o, sum);
    int64_t *buf = NULL;
    /* a finished sweep needs no model state: one left by a kill after its END record goes */
    if (st == BT_STATUS_OK && sum->already_finished) (void)state_remove(&e);
    if (st == BT_STATUS_OK && !(sum->already_finished && access(o->out_path, F_OK) == 0)) {
        char f[1024], name[256], reason[192], desc[320];
        json_safe(name, sizeof name, e.dev.name);
        json_safe(reason, sizeof reason, e.dev.reason);
        snprintf(f, sizeof f,
                 "\"sweep\":\"%s\",\"trials\":%" PRId64 ",\"device\":\"%s\",\"threads\":%d,"
                 "\"resumed\":%s,\"device_name\":\"%s\",\"device_memory_bytes\":%.0f,"
                 "\"device_free_bytes\":%.0f,\"device_reason\":\"%s\",\"streams\":%d",
                 spec->sha256, e.sw.n_trials, e.device, e.threads, sum->resumed ? "true" : "false",
                 name, (double)e.dev.total_mem, (double)e.dev.free_mem, reason, e.streams);
        bt_progress_event(&e.prog, "sweep_start", f);
        if (o->progress) {
            bt_device_describe(&e.dev, desc, sizeof desc);
            if (e.dev.cuda)
                fprintf(o->progress, "batchtune: training on %s [%s]; up to %d packs at once\n",
                        desc, e.dev.reason, e.sw.packs->concurrent_steps ? e.streams : 1);
            else
                fprintf(o->progress, "batchtune: training on the cpu, %d thread%s [%s]\n",
                        e.threads, e.threads == 1 ? "" : "s", e.dev.reason);
        }
        st = bt_sweep_load_data(&e.sw, e.threads);
        if (st == BT_STATUS_OK && !sum->already_finished) st = open_journal(&e, spec);
        if (st == BT_STATUS_OK && !sum->already_finished) st = open_state(&e);
        buf = malloc((size_t)(2 * e.sw.n_trials + 1) * sizeof *buf);
        if (!buf && st == BT_STATUS_OK) st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
        e.last_checkpoint = bt_clock();
        e.last_snapshot = e.last_checkpoint;
        int finished = 0;
        while (st == BT_STATUS_OK && !finished) {
            if (e.replaying && e.tick > e.log.last_tick) e.replaying = 0;
            e.prog.muted = e.replaying;
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
                int stopping = o->stop && *o->stop;
                if ((since >= every || rung_done) && !stopping) {
                    e.checkpoint_decisions = nd;
                    st = checkpoint(&e, 0);
                    if (st == BT_STATUS_OK) snapshot_maybe(&e, 0);
                }
                if (st == BT_STATUS_OK && stopping) {
                    st = checkpoint(&e, 0);
                    if (st == BT_STATUS_OK) snapshot_maybe(&e, 1);
                    if (st == BT_STATUS_OK)
                        st = BT_FAIL(BT_STATUS_INTERRUPTED,
                                     "interrupted: progress saved; run the same command again to "
                                     "continue");
                }
            }
        }
        if (st == BT_STATUS_OK) {
            /* results first, END after: a kill in between leaves a journal that replays to DONE
             * and rewrites the results, never a finished journal beside stale results */
            st = checkpoint(&e, 1);
            if (st == BT_STATUS_OK && e.jn) {
                bt_jrec end = {BT_JREC_END, e.tick, -1, -1, 0, 0, ""};
                st = bt_journal_append(e.jn, &end);
                if (st == BT_STATUS_OK) st = bt_journal_sync(e.jn);
                /* a finished sweep needs no model state: the snapshot goes */
                if (st == BT_STATUS_OK) (void)state_remove(&e);
            }
        }
        bt_progress_counts c;
        counts(&e, &c);
        bt_progress_update(&e.prog, &c, 1);
        bt_progress_finish(&e.prog);
    } else if (st == BT_STATUS_OK) {
        /* finished earlier: replay the journal (no data, no training) for the summary */
        e.replaying = 1;
        e.prog.muted = 1;
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
        snprintf(sum->metric, sizeof sum->metric, "%s", e.sw.metric ? e.sw.metric : "metric");
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
