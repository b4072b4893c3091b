/* Runs spread over the ranks of an MPI job (exec_internal.h): rank 0's side (which rank holds
 * each run, the orders of a step, gathering the answers by a deadline) and the other ranks' side
 * (bt_exec_ranks_serve: train what rank 0 orders, answer with the metrics). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/table.h"
#include "runtime/exec/exec_internal.h"
#include "runtime/mpi/comm.h"

/* Messages: rank 0 sends int64 words {kind, arg, n, then n orders of ORDER words}; a rank answers
 * doubles {0, values...} or {status, then the message's bytes}. */
enum { TAG_ORDER = 17, TAG_ANSWER = 18, TAG_DATA = 19, TAG_HELLO = 20 };
/* Parameters a lazily proposed sweep may have to spread over ranks (more: it trains on rank 0). */
#define BT_RANKS_MAX_PARAMS 256

enum { K_STEP = 1, K_EVAL = 2, K_END = 3 };
enum { F_RELEASE = 1, F_STEP = 2, F_EXTRA = 4, F_FAILED = 8, F_CONFIG = 16 };
/* order: leader, resource, flags, metric index (K_EVAL); F_CONFIG: leader, parameter, flags |
 * value kind << 8, the value (config_word) -- a lazily proposed trial's configuration, sent with
 * the first order of its run to another rank */
enum { HEAD = 3, ORDER = 4 };

typedef struct rk_buf {
    int64_t *v;
    int64_t n, cap; /* words, the header's included */
} rk_buf;

struct bt_exec_ranks {
    int size, lost;
    double timeout;
    int *rank_of;      /* per leader: the rank holding its model state, -1 none */
    rk_buf *out;       /* per rank: the next message's orders (releases wait here) */
    double *extra;     /* per leader: its other metrics (stride n_extra), read at its last step */
    int64_t *extra_at; /* per leader: the resource those were read at, -1 none */
    int64_t *local;    /* rank 0's own leaders of a step */
    double got[2];     /* the answer to an eval: its status and value */
    int64_t *units;    /* per rank: resource units it trained (the "ranks" event) */
};

static bt_status buf_push(rk_buf *b, int64_t a, int64_t r, int64_t f, int64_t m) {
    if (b->n == 0) b->n = HEAD;
    if (b->n + ORDER > b->cap) {
        int64_t cap = b->cap ? 2 * b->cap : 64;
        int64_t *nv = realloc(b->v, (size_t)cap * sizeof *nv);
        BT_CHECK_ALLOC(nv);
        b->v = nv;
        b->cap = cap;
    }
    int64_t *o = b->v + b->n;
    o[0] = a, o[1] = r, o[2] = f, o[3] = m;
    b->n += ORDER;
    return BT_STATUS_OK;
}

void bt_exec_trial_init(bt_exec *e, int64_t t) {
    e->runs[t] = (bt_exec_run){.slot = -1, .inst = -1, .gpu = -1};
    e->ts[t] = (bt_exec_trial){.metric = NAN, .best = NAN};
    if (e->rk) e->rk->rank_of[t] = e->trained_on[t] = -1, e->rk->extra_at[t] = -1;
}

void bt_exec_trials_ready(bt_exec *e) {
    for (; e->n_init < e->sw.n_ready; e->n_init++) bt_exec_trial_init(e, e->n_init);
}

bt_status bt_exec_ranks_init(bt_exec *e, double timeout) {
    const int size = bt_comm_size();
    if (size <= 1 || bt_comm_rank() != 0) return BT_STATUS_OK;
    struct bt_exec_ranks *k = calloc(1, sizeof *k);
    BT_CHECK_ALLOC(k);
    e->rk = k;
    const int64_t n = e->sw.n_trials > 0 ? e->sw.n_trials : 1;
    k->size = size;
    k->timeout = timeout;
    k->rank_of = bt_table_alloc((size_t)n, sizeof *k->rank_of);
    k->out = calloc((size_t)size, sizeof *k->out);
    k->extra = bt_table_alloc((size_t)n, (size_t)(e->hist.n_extra + 1) * sizeof *k->extra);
    k->extra_at = bt_table_alloc((size_t)n, sizeof *k->extra_at);
    k->local = bt_table_alloc((size_t)n, sizeof *k->local);
    k->units = calloc((size_t)size, sizeof *k->units);
    e->trained_on = bt_table_alloc((size_t)n, sizeof *e->trained_on);
    e->rank_dev = calloc((size_t)size, sizeof *e->rank_dev);
    BT_CHECK_ALLOC(k->units);
    BT_CHECK_ALLOC(e->trained_on);
    BT_CHECK_ALLOC(e->rank_dev);
    BT_CHECK_ALLOC(k->rank_of);
    BT_CHECK_ALLOC(k->out);
    BT_CHECK_ALLOC(k->extra);
    BT_CHECK_ALLOC(k->extra_at);
    BT_CHECK_ALLOC(k->local);
    for (int64_t t = 0; t < e->n_init; t++)
        k->rank_of[t] = e->trained_on[t] = -1, k->extra_at[t] = -1;
    bt_comm_ident h;
    bt_comm_ident_of(e->sw.spec, &h);
    for (int w = 1; w < size; w++)
        if (bt_comm_send(w, TAG_HELLO, &h, sizeof h, timeout, e->o->stop) != BT_STATUS_OK) {
            k->lost = 1;
            bt_comm_mark_lost();
            return BT_FAIL(BT_STATUS_INTERRUPTED, "rank %d did not start", w);
        }
    return BT_STATUS_OK;
}

int bt_exec_ranks_lost(const bt_exec *e) {
    return e->rk && e->rk->lost;
}

/* The rank with the fewest active runs (the lowest on a tie): deterministic, so every run of a
 * resumed sweep lands where the same choices put it. */
static int pick_rank(const bt_exec *e) {
    const struct bt_exec_ranks *k = e->rk;
    int64_t load[1024] = {0};
    const int size = k->size < 1024 ? k->size : 1024;
    for (int64_t i = 0; i < e->n_open; i++) { /* active runs are open (tick.c) */
        int64_t t = e->open[i];
        if (k->rank_of[t] >= 0 && k->rank_of[t] < size && e->runs[t].active) load[k->rank_of[t]]++;
    }
    int best = 0;
    for (int w = 1; w < size; w++)
        if (load[w] < load[best]) best = w;
    return best;
}

/* A configuration value as one word: the number's bits, or a string's index among the parameter's
 * values (every rank has the same sweep file: bt_exec_ranks_hello checked it). */
static int64_t config_word(const bt_param_spec *ps, bt_value v) {
    int64_t word = v.i;
    if (v.kind == BT_VALUE_FLOAT) memcpy(&word, &v.f, sizeof word);
    if (v.kind == BT_VALUE_STRING)
        for (int i = 0; i < ps->n_values; i++)
            if (ps->values[i].kind == BT_VALUE_STRING && strcmp(ps->values[i].s, v.s) == 0)
                word = i;
    return word;
}

static bt_value config_value(const bt_param_spec *ps, int kind, int64_t word) {
    double f;
    memcpy(&f, &word, sizeof f);
    switch (kind) {
    case BT_VALUE_FLOAT:
        return bt_value_float(f);
    case BT_VALUE_STRING:
        return word >= 0 && word < ps->n_values ? ps->values[word] : bt_value_string("");
    case BT_VALUE_BOOL:
        return bt_value_bool(word != 0);
    default:
        return bt_value_int(word);
    }
}

/* A lazily proposed trial (bayes, tpe) is known to rank 0 alone: its configuration goes to rank
 * w ahead of its run's first order. */
static bt_status send_config(bt_exec *e, int w, int64_t leader) {
    const bt_spec *spec = e->sw.spec;
    const bt_value *cfg = e->sw.trials[leader].config;
    if (!e->sw.lazy || !cfg) return BT_STATUS_OK;
    for (int p = 0; p < spec->n_params; p++)
        BT_TRY(buf_push(&e->rk->out[w], leader, p, F_CONFIG | ((int64_t)cfg[p].kind << 8),
                        config_word(&spec->params[p], cfg[p])));
    return BT_STATUS_OK;
}

bt_status bt_exec_ranks_acquire(bt_exec *e, int64_t leader) {
    bt_exec_run *r = &e->runs[leader];
    if (!e->rk || r->slot >= 0) return bt_exec_slot_acquire(e, leader);
    const int w = pick_rank(e);
    e->rk->rank_of[leader] = e->trained_on[leader] = w;
    e->rk->extra_at[leader] = -1;
    if (w == 0) return bt_exec_slot_acquire(e, leader);
    BT_TRY(send_config(e, w, leader));
    r->slot = 0; /* held on rank w: it acquires its slot with the first order */
    r->inst = -1;
    r->state_res = 0;
    return BT_STATUS_OK;
}

void bt_exec_ranks_release(bt_exec *e, int64_t leader) {
    bt_exec_run *r = &e->runs[leader];
    const int w = e->rk ? e->rk->rank_of[leader] : 0;
    if (e->rk) e->rk->rank_of[leader] = -1;
    if (w <= 0 || r->slot < 0) {
        bt_exec_slot_release(e, leader);
        return;
    }
    /* told with the next message to w; if memory runs out the slot merely stays taken there */
    if (buf_push(&e->rk->out[w], leader, 0, F_RELEASE, 0) != BT_STATUS_OK) bt_status_clear();
    r->slot = -1;
    r->state_res = 0;
}

/* Whether run L's members record their other metrics at the resource this step reaches (as
 * record_curves in tick.c decides). */
static int needs_extra(const bt_exec *e, int64_t L) {
    const bt_sweep *sw = &e->sw;
    const int64_t run = sw->trials[L].run, res = e->runs[L].resource + 1;
    for (int64_t k = sw->mem_ptr[run]; k < sw->mem_ptr[run + 1]; k++) {
        const int64_t t = sw->members[k], budget = sw->trials[t].budget;
        if (budget >= 0 && budget < res) continue;
        const bt_exec_trial *ts = &e->ts[t];
        if ((budget >= 0 ? budget : ts->has_job ? ts->report_at : -1) == res) return 1;
    }
    return 0;
}

static bt_status rank_lost(bt_exec *e, int w, const char *why) {
    e->rk->lost = 1;
    return bt_comm_rank_lost(w, why, "");
}

static bt_status send_orders(bt_exec *e, int w, int kind, int arg) {
    rk_buf *b = &e->rk->out[w];
    if (b->n == 0) b->n = HEAD;
    b->v[0] = kind, b->v[1] = arg, b->v[2] = (b->n - HEAD) / ORDER;
    if (bt_comm_send(w, TAG_ORDER, b->v, (size_t)b->n * sizeof *b->v, e->rk->timeout, e->o->stop) !=
        BT_STATUS_OK)
        return rank_lost(e, w, "took no orders");
    return BT_STATUS_OK;
}

/* Waits for the answers of every rank in want[] (cleared as they come), each handed to take(). */
static bt_status gather(bt_exec *e, char *want,
                        bt_status (*take)(bt_exec *e, int w, const double *a, size_t n)) {
    struct bt_exec_ranks *k = e->rk;
    double end = bt_clock() + k->timeout;
    int left = 0, spins = 0, stop_seen = 0;
    for (int w = 1; w < k->size; w++) left += want[w];
    while (left > 0) {
        int got = 0;
        for (int w = 1; w < k->size; w++) {
            size_t bytes = 0;
            if (!want[w] || !bt_comm_ready(w, TAG_ANSWER, &bytes)) continue;
            void *m = NULL;
            BT_TRY(bt_comm_take(w, TAG_ANSWER, bytes, &m));
            want[w] = 0, left--, got = 1, spins = 0;
            const double *a = m;
            bt_status st = BT_STATUS_OK;
            if (bytes < sizeof(double))
                st = BT_FAIL(BT_STATUS_INTERNAL, "rank %d: empty answer", w);
            else if (a[0] != 0) /* the rank's error, its message after the code */
                st = BT_FAIL((bt_status)a[0], "rank %d: %.*s", w, (int)(bytes - sizeof(double)),
                             (const char *)(a + 1));
            else
                st = take(e, w, a + 1, bytes / sizeof(double) - 1);
            free(m);
            BT_TRY(st);
        }
        if (got) continue;
        /* a stop request: mpirun stops every rank this way when one died (or on Ctrl-C), and
         * kills them a second later (odls_base_sigkill_timeout): save at once, wait no more */
        if (e->o->stop && *e->o->stop && !stop_seen) {
            stop_seen = 1;
            end = 0;
        }
        if (bt_clock() > end) {
            for (int w = 1; w < k->size; w++)
                if (want[w]) {
                    char why[96];
                    if (stop_seen)
                        snprintf(why, sizeof why, "was still training at the stop request");
                    else
                        snprintf(why, sizeof why,
                                 "sent no answer in %.0f s (dead or hung; "
                                 "--rank-timeout)",
                                 k->timeout);
                    return rank_lost(e, w, why);
                }
        }
        bt_comm_nap(&spins);
    }
    return BT_STATUS_OK;
}

/* One rank's answer to a step: each stepped run's value and failed flag (and other metrics). */
static bt_status take_step(bt_exec *e, int w, const double *a, size_t n) {
    struct bt_exec_ranks *k = e->rk;
    const rk_buf *b = &k->out[w];
    size_t at = 0;
    for (int64_t i = HEAD; i < b->n; i += ORDER) {
        const int64_t *o = b->v + i;
        if (!(o[2] & F_STEP)) continue;
        const size_t need = 2 + (o[2] & F_EXTRA ? (size_t)e->hist.n_extra : 0);
        if (at + need > n) return BT_FAIL(BT_STATUS_INTERNAL, "rank %d: short answer", w);
        bt_exec_run *r = &e->runs[o[0]];
        r->step_value = a[at];
        if (a[at + 1] != 0) r->failed = 1;
        r->state_res++;
        if (o[2] & F_EXTRA) {
            memcpy(k->extra + o[0] * e->hist.n_extra, a + at + 2,
                   (size_t)e->hist.n_extra * sizeof *a);
            k->extra_at[o[0]] = r->resource + 1;
        }
        at += need;
    }
    return BT_STATUS_OK;
}

/* The devices other ranks told (bt_exec_ranks_greet) since the last look. */
static void take_devices(bt_exec *e) {
    for (int v = 1; v < e->rk->size; v++) {
        size_t bytes = 0;
        void *m = NULL;
        if (e->rank_dev[v][0] || !bt_comm_ready(v, TAG_HELLO, &bytes)) continue;
        if (bt_comm_take(v, TAG_HELLO, bytes, &m) != BT_STATUS_OK) {
            bt_status_clear();
            continue;
        }
        snprintf(e->rank_dev[v], sizeof e->rank_dev[v], "%.*s", (int)(bytes < 15 ? bytes : 15),
                 (const char *)m);
        free(m);
    }
}

bt_status bt_exec_ranks_step(bt_exec *e, const int64_t *leaders, int64_t n, int eval) {
    struct bt_exec_ranks *k = e->rk;
    if (!k) return bt_exec_step_leaders(e, leaders, n, eval);
    int64_t nl = 0;
    for (int64_t i = 0; i < n; i++) {
        const int64_t L = leaders[i];
        const int w = k->rank_of[L];
        if (w <= 0) {
            k->local[nl++] = L;
            continue;
        }
        const bt_exec_run *r = &e->runs[L];
        int64_t f = F_STEP | (r->failed ? F_FAILED : 0) | (eval && needs_extra(e, L) ? F_EXTRA : 0);
        BT_TRY(buf_push(&k->out[w], L, r->resource, f, 0));
        k->units[w]++;
    }
    k->units[0] += nl;
    char want[1024] = {0};
    for (int w = 1; w < k->size && w < 1024; w++) {
        if (k->out[w].n <= HEAD) continue;
        BT_TRY(send_orders(e, w, K_STEP, eval));
        want[w] = 1;
    }
    /* rank 0's share trains while the others train theirs */
    BT_TRY(bt_exec_step_leaders(e, k->local, nl, eval));
    bt_status st = gather(e, want, take_step);
    for (int w = 1; w < k->size; w++) k->out[w].n = 0;
    take_devices(e);
    return st;
}

static bt_status take_eval(bt_exec *e, int w, const double *a, size_t n) {
    if (n < 2) return BT_FAIL(BT_STATUS_INTERNAL, "rank %d: short answer", w);
    e->rk->got[0] = a[0], e->rk->got[1] = a[1];
    return BT_STATUS_OK;
}

bt_status bt_exec_ranks_eval(bt_exec *e, int64_t leader, const char *name, double *v) {
    struct bt_exec_ranks *k = e->rk;
    const bt_exec_run *r = &e->runs[leader];
    const int w = k ? k->rank_of[leader] : 0;
    if (w <= 0) return e->sw.packs->eval(bt_exec_run_pack(e, leader), r->slot, name, v);
    int m = -1;
    for (int i = 0; i < e->hist.n_extra; i++)
        if (strcmp(e->hist.extra[i], name) == 0) m = i;
    if (m < 0 && strcmp(name, e->sw.metric) != 0)
        return BT_FAIL(BT_STATUS_INTERNAL, "metric %s is not read on other ranks", name);
    if (m >= 0 && k->extra_at[leader] == r->resource) {
        *v = k->extra[leader * e->hist.n_extra + m];
        return BT_STATUS_OK;
    }
    /* not read at the step: ask now (a catch-up's check) */
    int64_t words[HEAD + ORDER] = {K_EVAL, 0, 1, leader, r->resource, 0, m};
    if (bt_comm_send(w, TAG_ORDER, words, sizeof words, k->timeout, NULL) != BT_STATUS_OK)
        return rank_lost(e, w, "took no orders");
    char want[1024] = {0};
    want[w] = 1;
    BT_TRY(gather(e, want, take_eval));
    const double *got = k->got;
    *v = got[1];
    return got[0] == 0 ? BT_STATUS_OK : BT_FAIL((bt_status)got[0], "rank %d: eval failed", w);
}

void bt_exec_ranks_free(bt_exec *e, int code) {
    struct bt_exec_ranks *k = e->rk;
    const int size = bt_comm_size();
    char msg[768]; /* the sweep's own message outlives a failed goodbye */
    snprintf(msg, sizeof msg, "%s", bt_status_message());
    if (bt_comm_rank() == 0 && size > 1 && !bt_comm_lost()) {
        /* every rank waits for orders until this: the sweep ended (or never started) */
        int64_t words[HEAD] = {K_END, code, 0};
        for (int w = 1; w < size; w++)
            if (bt_comm_send(w, TAG_ORDER, words, sizeof words, k ? k->timeout : 60, NULL) !=
                BT_STATUS_OK) {
                bt_comm_mark_lost();
                if (code != BT_STATUS_OK) (void)BT_FAIL((bt_status)code, "%s", msg);
            }
    }
    if (!k) return;
    char f[512];
    int len = snprintf(f, sizeof f, "\"ranks\":%d,\"units\":[", k->size);
    for (int w = 0; w < k->size && len < (int)sizeof f - 32; w++)
        len += snprintf(f + len, sizeof f - (size_t)len, "%s%" PRId64, w ? "," : "", k->units[w]);
    snprintf(f + len, sizeof f - (size_t)len, "]");
    bt_progress_event(&e->prog, "ranks", f);
    for (int w = 0; w < k->size; w++) free(k->out[w].v);
    free(k->units);
    bt_table_free(e->trained_on);
    free(e->rank_dev);
    e->trained_on = NULL;
    e->rank_dev = NULL;
    free(k->out);
    bt_table_free(k->rank_of);
    bt_table_free(k->extra);
    bt_table_free(k->extra_at);
    bt_table_free(k->local);
    free(k);
    e->rk = NULL;
}

bt_status bt_exec_ranks_greet(const bt_exec *e) {
    return bt_comm_send(0, TAG_HELLO, e->dev.label, strnlen(e->dev.label, 15), 0, NULL);
}

/* ---- execution.broadcast_data: rank 0's data, sent to the others ------------------------------
 * A header to each rank (p2p, so a rank still waiting for orders is never stuck in a collective
 * rank 0 does not join), then the arrays by MPI broadcast. Each rank prepares them (binning) as
 * rank 0 did: the same code on the same numbers. */

enum { DHEAD = 12 };

static void data_head(const bt_sweep *sw, int64_t *h) {
    const bt_dataset *d[2] = {&sw->train, &sw->valid};
    h[0] = sw->n_classes;
    for (int i = 0; i < 2; i++) {
        int64_t *o = h + 1 + 5 * i;
        o[0] = d[i]->n_rows, o[1] = d[i]->n_features, o[2] = d[i]->channels;
        o[3] = d[i]->height, o[4] = d[i]->width;
    }
    h[11] = 0;
}

static bt_status data_arrays(bt_sweep *sw) {
    bt_dataset *d[2] = {&sw->train, &sw->valid};
    for (int i = 0; i < 2; i++) {
        BT_TRY(bt_comm_bcast(d[i]->X, (size_t)d[i]->n_rows * (size_t)d[i]->n_features * 4, 0));
        BT_TRY(bt_comm_bcast(d[i]->y, (size_t)d[i]->n_rows * 4, 0));
    }
    return BT_STATUS_OK;
}

bt_status bt_exec_ranks_send_data(bt_exec *e) {
    if (!e->rk) return BT_STATUS_OK;
    int64_t h[DHEAD];
    data_head(&e->sw, h);
    for (int w = 1; w < e->rk->size; w++)
        if (bt_comm_send(w, TAG_DATA, h, sizeof h, e->rk->timeout, e->o->stop) != BT_STATUS_OK)
            return rank_lost(e, w, "took no data");
    return data_arrays(&e->sw);
}

/* Waits for rank 0's message with `tag` (1, its size in *bytes), or for its orders (0: it ended
 * before sending one; the end is read by bt_exec_ranks_serve). */
static int wait_for(int tag, size_t *bytes) {
    int spins = 0;
    for (;;) {
        if (bt_comm_ready(0, tag, bytes)) return 1;
        if (bt_comm_ready(0, TAG_ORDER, bytes)) return 0;
        bt_comm_nap(&spins);
    }
}

bt_status bt_exec_ranks_hello(bt_exec *e, const bt_spec *spec, int *got) {
    size_t bytes = 0;
    *got = wait_for(TAG_HELLO, &bytes);
    if (!*got) return BT_STATUS_OK;
    void *m = NULL;
    BT_TRY(bt_comm_take(0, TAG_HELLO, bytes, &m));
    bt_status st = bt_comm_ident_check(spec, m, bytes, bt_comm_rank());
    free(m);
    return st;
}

bt_status bt_exec_ranks_recv_data(bt_exec *e, int *got) {
    size_t bytes = 0;
    *got = 0;
    if (!wait_for(TAG_DATA, &bytes)) return BT_STATUS_OK;
    void *m = NULL;
    BT_TRY(bt_comm_take(0, TAG_DATA, bytes, &m));
    int64_t h[DHEAD];
    const int ok = bytes == sizeof h;
    if (ok) memcpy(h, m, sizeof h);
    free(m);
    if (!ok) return BT_FAIL(BT_STATUS_INTERNAL, "a malformed data header from rank 0");
    bt_sweep *sw = &e->sw;
    bt_dataset *d[2] = {&sw->train, &sw->valid};
    sw->n_classes = (int32_t)h[0];
    bt_status st = BT_STATUS_OK;
    for (int i = 0; i < 2; i++) {
        const int64_t *o = h + 1 + 5 * i;
        d[i]->n_rows = o[0], d[i]->n_features = (int32_t)o[1], d[i]->channels = (int32_t)o[2];
        d[i]->height = (int32_t)o[3], d[i]->width = (int32_t)o[4];
        d[i]->X = malloc((size_t)(o[0] * o[1] > 0 ? o[0] * o[1] : 1) * sizeof(float));
        d[i]->y = malloc((size_t)(o[0] > 0 ? o[0] : 1) * sizeof(float));
        if (!d[i]->X || !d[i]->y) st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory: the data");
    }
    /* the broadcast is collective: a rank with no room for it stops the job (bt_comm_end) */
    if (st != BT_STATUS_OK) {
        bt_comm_mark_lost();
        return st;
    }
    BT_TRY(data_arrays(sw));
    *got = 1;
    return BT_STATUS_OK;
}

/* ---- the other ranks ------------------------------------------------------------------------ */

typedef struct rk_answer {
    double *v;
    size_t n, cap;
} rk_answer;

static bt_status ans_push(rk_answer *a, double x) {
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        double *nv = realloc(a->v, cap * sizeof *nv);
        BT_CHECK_ALLOC(nv);
        a->v = nv;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return BT_STATUS_OK;
}

/* The orders of one step: releases at once, then every stepped run in one bt_exec_step_leaders,
 * then the answers in order. leaders: room for n orders. */
static bt_status serve_step(bt_exec *e, const int64_t *o, int64_t n, int eval, int64_t *leaders,
                            rk_answer *ans) {
    int64_t nl = 0;
    const bt_spec *spec = e->sw.spec;
    bt_value cfg[BT_RANKS_MAX_PARAMS];
    for (int64_t i = 0; i < n; i++, o += ORDER) {
        if (o[0] < 0 || o[0] >= e->sw.n_trials)
            return BT_FAIL(BT_STATUS_INTERNAL, "order for a run %" PRId64 " not here", o[0]);
        if (o[2] & F_CONFIG) { /* one value; the last one completes the configuration */
            if (o[1] < 0 || o[1] >= spec->n_params || o[1] >= BT_RANKS_MAX_PARAMS)
                return BT_FAIL(BT_STATUS_INTERNAL, "a configuration value out of range");
            cfg[o[1]] = config_value(&spec->params[o[1]], (int)(o[2] >> 8), o[3]);
            if (o[1] == spec->n_params - 1) {
                const int first = !e->sw.trials[o[0]].config;
                BT_TRY(bt_sweep_set_config(&e->sw, o[0], cfg));
                if (first) bt_exec_trial_init(e, o[0]);
            }
            continue;
        }
        /* this rank's plan makes trials ready as orders name them (configurations are the
         * trial id's, except the proposed ones sent above) */
        while (!e->sw.lazy && !e->sw.eager && e->sw.n_ready <= o[0])
            BT_TRY(bt_sweep_ready(&e->sw, e->sw.n_ready));
        bt_exec_trials_ready(e);
        if (!bt_sweep_is_leader(&e->sw, o[0]) || (e->sw.lazy && !e->sw.trials[o[0]].config))
            return BT_FAIL(BT_STATUS_INTERNAL, "order for a run %" PRId64 " not here", o[0]);
        bt_exec_run *r = &e->runs[o[0]];
        if (o[2] & F_RELEASE) bt_exec_slot_release(e, o[0]);
        if (!(o[2] & F_STEP)) continue;
        r->resource = o[1];
        r->failed = (o[2] & F_FAILED) != 0;
        BT_TRY(bt_exec_slot_acquire(e, o[0]));
        leaders[nl++] = o[0];
    }
    BT_TRY(bt_exec_step_leaders(e, leaders, nl, eval));
    o -= n * ORDER;
    for (int64_t i = 0; i < n; i++, o += ORDER) {
        if (!(o[2] & F_STEP)) continue;
        bt_exec_run *r = &e->runs[o[0]];
        BT_TRY(ans_push(ans, r->step_value));
        BT_TRY(ans_push(ans, r->failed));
        for (int m = 0; (o[2] & F_EXTRA) && m < e->hist.n_extra; m++) {
            double v = NAN;
            if (!r->failed && e->sw.packs->eval(bt_exec_run_pack(e, o[0]), r->slot,
                                                e->hist.extra[m], &v) != BT_STATUS_OK) {
                bt_status_clear();
                v = NAN;
            }
            BT_TRY(ans_push(ans, v));
        }
    }
    return BT_STATUS_OK;
}

static bt_status serve_eval(bt_exec *e, const int64_t *o, int64_t n, rk_answer *ans) {
    for (int64_t i = 0; i < n; i++, o += ORDER) {
        if (o[0] < 0 || o[0] >= e->sw.n_trials || e->runs[o[0]].slot < 0 || o[3] >= 16 ||
            o[3] >= e->hist.n_extra)
            return BT_FAIL(BT_STATUS_INTERNAL, "eval of a run %" PRId64 " not here", o[0]);
        const char *name = o[3] < 0 ? e->sw.metric : e->hist.extra[o[3]];
        double v = NAN;
        bt_status st = e->sw.packs->eval(bt_exec_run_pack(e, o[0]), e->runs[o[0]].slot, name, &v);
        bt_status_clear();
        BT_TRY(ans_push(ans, (double)st));
        BT_TRY(ans_push(ans, v));
    }
    return BT_STATUS_OK;
}

bt_status bt_exec_ranks_serve(bt_exec *e, bt_status setup) {
    char err[800] = "";
    bt_status failed = setup;
    if (setup != BT_STATUS_OK) snprintf(err, sizeof err, "%s", bt_status_message());
    rk_answer ans = {0};
    int64_t *leaders = NULL;
    bt_status st = BT_STATUS_OK;
    for (;;) {
        void *m = NULL;
        size_t bytes = 0;
        /* a stop request is rank 0's to act on: it finishes the tick and says the sweep ended */
        st = bt_comm_recv(0, TAG_ORDER, &m, &bytes, 0, NULL);
        if (st != BT_STATUS_OK) break;
        const int64_t *w = m;
        const int64_t n = bytes >= HEAD * sizeof *w ? w[2] : -1;
        if (n < 0 || bytes != (size_t)(HEAD + n * ORDER) * sizeof *w) {
            free(m);
            st = BT_FAIL(BT_STATUS_INTERNAL, "a malformed message from rank 0");
            break;
        }
        if (w[0] == K_END) {
            st = (bt_status)w[1];
            free(m);
            break;
        }
        ans.n = 0;
        st = ans_push(&ans, 0);
        if (st == BT_STATUS_OK && failed == BT_STATUS_OK) {
            int64_t *nl = realloc(leaders, (size_t)(n > 0 ? n : 1) * sizeof *nl);
            if (nl) leaders = nl;
            st = !nl              ? BT_FAIL(BT_STATUS_INTERNAL, "out of memory")
                 : w[0] == K_STEP ? serve_step(e, w + HEAD, n, (int)w[1], leaders, &ans)
                                  : serve_eval(e, w + HEAD, n, &ans);
            if (st != BT_STATUS_OK) {
                failed = st;
                snprintf(err, sizeof err, "%s", bt_status_message());
            }
        }
        free(m);
        if (failed != BT_STATUS_OK) { /* this rank's error, told on every order from now on */
            ans.n = 0;
            st = BT_STATUS_OK;
            size_t len = strlen(err) + 1, words = (len + sizeof(double) - 1) / sizeof(double);
            for (size_t i = 0; i <= words && st == BT_STATUS_OK; i++) st = ans_push(&ans, 0);
            if (st != BT_STATUS_OK) break;
            ans.v[0] = (double)failed;
            memcpy(ans.v + 1, err, len);
        }
        st = bt_comm_send(0, TAG_ANSWER, ans.v, ans.n * sizeof *ans.v, 0, NULL);
        if (st != BT_STATUS_OK) break;
    }
    free(ans.v);
    free(leaders);
    return st;
}
