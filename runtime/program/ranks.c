/* Program-mode trials on the ranks of an MPI job (prog_internal.h): rank 0 appends every other
 * rank's slots to its own and orders processes started and signalled there; every other rank
 * (bt_program_serve) runs what it is ordered and streams its processes' lines and exits back. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/mpi/comm.h"
#include "runtime/program/prog_internal.h"
#include "runtime/program/program.h"
#include "runtime/store/wopen.h"

/* Messages are records: a pk_head, then its len bytes. Orders go to a rank with TAG_PORDER; its
 * greeting, lines, exits and (at least once a second) an empty message come back with
 * TAG_PEVENT. A channel of its own: the native executor's tags (runtime/exec/ranks.c) differ. */
enum { TAG_PORDER = 21, TAG_PEVENT = 22 };
enum { P_START = 1, P_SIGNAL = 2, P_END = 3 };
enum { E_HELLO = 1, E_OUT = 2, E_ERR = 3, E_EXIT = 4, E_FAIL = 5 };
#define PK_MAX_GPUS 64
#define PK_PUMP_MAX 8 /* messages taken from one rank per pump: a chatty rank starves no other */

typedef struct pk_head {
    int32_t kind, slot; /* slot: on the rank that runs it */
    int64_t a, b, len;  /* P_START: trial, attempt; P_SIGNAL: -, signal; P_END: code;
                           E_EXIT: waitpid status, errno of a program that could not start;
                           E_FAIL: the rank's bt_status, its message in the data */
} pk_head;

/* A rank's greeting: what every rank must agree on, and its slots. */
typedef struct pk_hello {
    bt_comm_ident id;
    int32_t status, n_slots, n_gpus, gpus[PK_MAX_GPUS];
    char msg[512]; /* why its setup failed */
} pk_hello;

/* Messages received while a send waited (bt_comm_send_pending), in arrival order. */
typedef struct pk_msg {
    struct pk_msg *next;
    void *m;
    size_t bytes;
} pk_msg;
typedef struct pk_queue {
    pk_msg *head, *tail;
} pk_queue;

struct bt_pranks {
    int size;
    int lost; /* the rank a send to failed (it took no orders), 0: none */
    double timeout;
    double *heard; /* per rank: when it last sent anything */
    int *first;    /* per rank: its first slot in r->slots */
    pk_queue *q;   /* per rank: its events received while an order waited */
};

/* Takes every message from `from` with `tag` waiting now into q. */
static bt_status q_fill(pk_queue *q, int from, int tag, int *got) {
    size_t bytes = 0;
    while (bt_comm_ready(from, tag, &bytes)) {
        pk_msg *e = calloc(1, sizeof *e);
        BT_CHECK_ALLOC(e);
        e->bytes = bytes;
        bt_status st = bt_comm_take(from, tag, bytes, &e->m);
        if (st != BT_STATUS_OK) {
            free(e);
            return st;
        }
        if (q->tail)
            q->tail->next = e;
        else
            q->head = e;
        q->tail = e;
        if (got) *got = 1;
    }
    return BT_STATUS_OK;
}

/* The next message: the queue's first, else one waiting now (1), else 0. */
static int q_next(pk_queue *q, int from, int tag, void **m, size_t *bytes, bt_status *st) {
    pk_msg *e = q->head;
    if (e) {
        q->head = e->next;
        if (!q->head) q->tail = NULL;
        *m = e->m, *bytes = e->bytes;
        free(e);
        return 1;
    }
    if (!bt_comm_ready(from, tag, bytes)) return 0;
    *st = bt_comm_take(from, tag, *bytes, m);
    return *st == BT_STATUS_OK;
}

static void q_free(pk_queue *q) {
    while (q->head) {
        pk_msg *e = q->head;
        q->head = e->next;
        free(e->m);
        free(e);
    }
    q->tail = NULL;
}

static bt_status pk_push(bt_sbuf *b, int kind, int slot, int64_t a, int64_t v, const void *data,
                         size_t len) {
    const pk_head h = {kind, slot, a, v, (int64_t)len};
    bt_sbuf_add(b, (const char *)&h, sizeof h);
    if (len) bt_sbuf_add(b, data, len);
    return b->oom ? BT_FAIL(BT_STATUS_INTERNAL, "out of memory: a message to a rank")
                  : BT_STATUS_OK;
}

/* The next record of m (bytes long) at *at, its data in *data; 0 at the end or on a bad one. */
static int pk_next(const char *m, size_t bytes, size_t *at, pk_head *h, const char **data) {
    if (*at + sizeof *h > bytes) return 0;
    memcpy(h, m + *at, sizeof *h);
    if (h->len < 0 || (size_t)h->len > bytes - *at - sizeof *h) return 0;
    *data = m + *at + sizeof *h;
    *at += sizeof *h + (size_t)h->len;
    return 1;
}

void bt_prun_slot_device(const bt_prun *r, int si, char *buf, size_t n) {
    const bt_pslot *s = &r->slots[si];
    char dev[16];
    if (s->gpu >= 0)
        snprintf(dev, sizeof dev, "cuda:%d", s->gpu & 0xffff);
    else
        snprintf(dev, sizeof dev, "cpu");
    if (bt_comm_size() > 1) /* 15 characters: the results column's width */
        snprintf(buf, n, "%.7s@rank%d", dev, s->rank & 0xffff);
    else
        snprintf(buf, n, "%s", dev);
}

/* ---- rank 0 --------------------------------------------------------------------------------- */

static bt_status rank_lost(bt_prun *r, int w, const char *why) {
    r->pk->lost = w;
    return bt_comm_rank_lost(w, why, " (the trials that were running start over)");
}

/* Rank w's greeting: checked against this rank's sweep, its slots appended. */
static bt_status take_hello(bt_prun *r, int w, const char *m, size_t bytes) {
    pk_head h;
    const char *data = NULL;
    size_t at = 0;
    pk_hello got;
    if (!pk_next(m, bytes, &at, &h, &data) || h.kind != E_HELLO || h.len != sizeof got)
        return BT_FAIL(BT_STATUS_INTERNAL, "rank %d: a malformed greeting", w);
    memcpy(&got, data, sizeof got);
    got.msg[sizeof got.msg - 1] = '\0';
    if (got.status != 0) return BT_FAIL((bt_status)got.status, "rank %d: %s", w, got.msg);
    BT_TRY(bt_comm_ident_check(r->spec, &got.id, sizeof got.id, w));
    if (got.n_slots < 1 || got.n_gpus < 0 || got.n_gpus > PK_MAX_GPUS)
        return BT_FAIL(BT_STATUS_INTERNAL, "rank %d: a malformed greeting", w);
    bt_pslot *ns = realloc(r->slots, (size_t)(r->n_slots + got.n_slots) * sizeof *ns);
    BT_CHECK_ALLOC(ns);
    r->slots = ns;
    r->pk->first[w] = r->n_slots;
    for (int j = 0; j < got.n_slots; j++) {
        bt_pslot *s = &r->slots[r->n_slots++];
        memset(s, 0, sizeof *s);
        s->rank = w, s->rslot = j;
        s->gpu = got.n_gpus > 0 ? got.gpus[j % got.n_gpus] : -1;
    }
    return BT_STATUS_OK;
}

bt_status bt_prun_ranks_init(bt_prun *r) {
    const int size = bt_comm_size();
    if (size <= 1 || bt_comm_rank() != 0) return BT_STATUS_OK;
    struct bt_pranks *k = calloc(1, sizeof *k);
    BT_CHECK_ALLOC(k);
    r->pk = k;
    k->size = size;
    k->timeout = r->o->rank_timeout > 0 ? r->o->rank_timeout : 600;
    k->heard = calloc((size_t)size, sizeof *k->heard);
    k->first = calloc((size_t)size, sizeof *k->first);
    k->q = calloc((size_t)size, sizeof *k->q);
    BT_CHECK_ALLOC(k->heard);
    BT_CHECK_ALLOC(k->first);
    BT_CHECK_ALLOC(k->q);
    for (int w = 1; w < size; w++) {
        void *m = NULL;
        size_t bytes = 0;
        if (bt_comm_recv(w, TAG_PEVENT, &m, &bytes, k->timeout, r->o->stop) != BT_STATUS_OK) {
            if (r->o->stop && *r->o->stop) /* every rank takes the end: none is lost */
                return BT_FAIL(BT_STATUS_INTERRUPTED,
                               "interrupted while the ranks started: nothing ran; run the same "
                               "command again to start");
            return rank_lost(r, w, "did not start");
        }
        bt_status st = take_hello(r, w, m, bytes);
        free(m);
        BT_TRY(st);
        k->heard[w] = bt_clock();
    }
    return BT_STATUS_OK;
}

/* While an order waits for its rank: every rank's events are received (and kept for the next
 * pump), so a rank that sends a large message at the same time is not blocked by this one. */
static bt_status take_pending(void *ctx) {
    struct bt_pranks *k = ctx;
    for (int w = 1; w < k->size; w++) {
        int got = 0;
        BT_TRY(q_fill(&k->q[w], w, TAG_PEVENT, &got));
        if (got) k->heard[w] = bt_clock();
    }
    return BT_STATUS_OK;
}

static bt_status send_order(struct bt_pranks *k, int w, const bt_sbuf *b, double timeout) {
    return bt_comm_send_pending(w, TAG_PORDER, b->s, b->n, timeout, NULL, k ? take_pending : NULL,
                                k);
}

static bt_status send_to(bt_prun *r, int w, const bt_sbuf *b) {
    if (send_order(r->pk, w, b, r->pk->timeout) != BT_STATUS_OK)
        return rank_lost(r, w, "took no orders");
    return BT_STATUS_OK;
}

bt_status bt_prun_ranks_start(bt_prun *r, int si, int64_t t, const bt_argv *argv,
                              const char *args_json) {
    const bt_pslot *s = &r->slots[si];
    /* its folder, its arguments, then its argv: strings one after another */
    bt_sbuf d = {0};
    char outdir[1024];
    snprintf(outdir, sizeof outdir, "%s/trial-%" PRId64, r->logs_dir, t);
    bt_sbuf_add(&d, outdir, strlen(outdir) + 1);
    bt_sbuf_add(&d, args_json ? args_json : "{}", strlen(args_json ? args_json : "{}") + 1);
    for (int i = 0; i < argv->n; i++) bt_sbuf_add(&d, argv->v[i], strlen(argv->v[i]) + 1);
    const size_t len = d.n;
    const int oom = d.oom;
    char *data = bt_sbuf_take(&d);
    if (oom) {
        free(data);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    BT_CHECK_ALLOC(data);
    bt_sbuf b = {0};
    bt_status st = pk_push(&b, P_START, s->rslot, t, r->ts[t].attempt, data, len);
    free(data);
    if (st == BT_STATUS_OK) st = send_to(r, s->rank, &b);
    free(b.s);
    return st;
}

void bt_prun_ranks_signal(bt_prun *r, int si, int sig) {
    const bt_pslot *s = &r->slots[si];
    bt_sbuf b = {0};
    /* a rank that takes no orders is found lost; the next pump says so */
    if (pk_push(&b, P_SIGNAL, s->rslot, 0, sig, NULL, 0) != BT_STATUS_OK ||
        send_to(r, s->rank, &b) != BT_STATUS_OK)
        bt_status_clear();
    free(b.s);
}

/* Frees remote slot si as a trial the sweep stopped: it runs again at the resume. */
static bt_status let_go(bt_prun *r, int si, const bt_prun_sink *sink) {
    r->ts[r->slots[si].trial].stop_why = BT_PSTOP_SWEEP;
    return sink->exit(r, si, SIGKILL, 0);
}

/* Frees rank w's slots: their trials run again at the resume. */
static bt_status let_go_rank(bt_prun *r, int w, const bt_prun_sink *sink) {
    for (int j = 0; j < r->n_slots; j++)
        if (r->slots[j].busy && r->slots[j].rank == w) BT_TRY(let_go(r, j, sink));
    return BT_STATUS_OK;
}

/* Rank w failed (its message in msg) and waits for the end: the sweep stops as for a lost rank,
 * progress saved (75), but every rank ends cleanly. */
static bt_status rank_failed(bt_prun *r, int w, const char *msg, size_t len,
                             const bt_prun_sink *sink) {
    BT_TRY(let_go_rank(r, w, sink));
    return BT_FAIL(BT_STATUS_INTERRUPTED,
                   "rank %d failed: %.*s: progress saved, every rank stopped; run the same "
                   "command again to continue (the trials that were running start over)",
                   w, (int)(len < 600 ? len : 600), msg);
}

/* One message of rank w: lines and exits, applied in order. */
static bt_status take_events(bt_prun *r, int w, const char *m, size_t bytes,
                             const bt_prun_sink *sink) {
    const struct bt_pranks *k = r->pk;
    pk_head h;
    const char *data = NULL;
    size_t at = 0;
    while (pk_next(m, bytes, &at, &h, &data)) {
        if (h.kind == E_FAIL) return rank_failed(r, w, data, (size_t)h.len, sink);
        const int si = k->first[w] + h.slot;
        if (h.slot < 0 || si >= r->n_slots || r->slots[si].rank != w || !r->slots[si].busy)
            continue; /* a slot let go at a stop: what it still prints is dropped */
        if (h.kind == E_EXIT) {
            BT_TRY(sink->exit(r, si, (int)h.a, (int)h.b));
        } else if (h.kind == E_OUT || h.kind == E_ERR) {
            char *line = malloc((size_t)h.len + 1);
            BT_CHECK_ALLOC(line);
            memcpy(line, data, (size_t)h.len);
            line[h.len] = '\0';
            bt_status st = sink->line(r, si, h.kind == E_ERR, line, (size_t)h.len);
            free(line);
            BT_TRY(st);
        }
    }
    if (at != bytes) return BT_FAIL(BT_STATUS_INTERNAL, "rank %d: a malformed message", w);
    return BT_STATUS_OK;
}

bt_status bt_prun_ranks_pump(bt_prun *r, const bt_prun_sink *sink) {
    struct bt_pranks *k = r->pk;
    if (!k) return BT_STATUS_OK;
    if (k->lost) { /* a send to it failed: its slots go, and the sweep stops */
        const int w = k->lost;
        BT_TRY(let_go_rank(r, w, sink));
        return rank_lost(r, w, "took no orders");
    }
    const double now = bt_clock();
    for (int w = 1; w < k->size; w++) {
        size_t bytes = 0;
        void *m = NULL;
        bt_status st = BT_STATUS_OK;
        for (int n = 0; n < PK_PUMP_MAX && q_next(&k->q[w], w, TAG_PEVENT, &m, &bytes, &st); n++) {
            k->heard[w] = now;
            st = take_events(r, w, m, bytes, sink);
            free(m);
            BT_TRY(st);
        }
        BT_TRY(st);
        if (bt_comm_ready(w, TAG_PEVENT, &bytes)) k->heard[w] = now; /* more waits: alive */
    }
    const double pnow = bt_prun_now(r);
    for (int si = 0; si < r->n_slots; si++) {
        const bt_pslot *s = &r->slots[si];
        if (!s->busy || s->rank == 0) continue;
        const int w = s->rank;
        if (now - k->heard[w] > k->timeout) {
            BT_TRY(let_go_rank(r, w, sink));
            char why[96];
            snprintf(why, sizeof why, "sent nothing in %.0f s (dead or hung; --rank-timeout)",
                     k->timeout);
            return rank_lost(r, w, why);
        }
        /* a stopping sweep waits for a process past its SIGKILL no longer than one process
         * would for its own: the rank did not answer, and the trial runs again at the resume */
        const double kill_at = r->ts[s->trial].kill_at;
        if (r->stopping_all && kill_at > 0 && pnow > kill_at + 2) BT_TRY(let_go(r, si, sink));
    }
    return BT_STATUS_OK;
}

void bt_prun_ranks_free(bt_prun *r, bt_status code) {
    const int size = bt_comm_size();
    struct bt_pranks *k = r->pk;
    char msg[768]; /* the sweep's own message outlives a failed goodbye */
    snprintf(msg, sizeof msg, "%s", bt_status_message());
    if (bt_comm_rank() == 0 && size > 1 && !bt_comm_lost()) {
        /* every rank runs processes until this: the sweep ended (or never started) */
        bt_sbuf b = {0};
        if (pk_push(&b, P_END, 0, code, 0, NULL, 0) == BT_STATUS_OK)
            for (int w = 1; w < size; w++)
                if (send_order(k, w, &b, k ? k->timeout : 60) != BT_STATUS_OK) {
                    bt_comm_mark_lost();
                    if (code != BT_STATUS_OK) (void)BT_FAIL(code, "%s", msg);
                }
        free(b.s);
    }
    if (!k) return;
    for (int w = 0; k->q && w < size; w++) q_free(&k->q[w]);
    free(k->q);
    free(k->heard);
    free(k->first);
    free(k);
    r->pk = NULL;
}

/* ---- the other ranks ------------------------------------------------------------------------ */

typedef struct pk_line_ctx {
    bt_sbuf *out;
    int slot, kind;
    bt_status st;
} pk_line_ctx;

static void pk_line(void *ctx, char *line, size_t len) {
    pk_line_ctx *c = ctx;
    if (c->st == BT_STATUS_OK) c->st = pk_push(c->out, c->kind, c->slot, 0, 0, line, len);
}

/* What slot j's pipes hold, as lines for rank 0. */
static bt_status serve_drain(bt_pslot *s, int j, bt_sbuf *out) {
    for (int k = 0; k < 2; k++) {
        int *fd = k ? &s->proc.err_fd : &s->proc.out_fd;
        if (*fd < 0) continue;
        pk_line_ctx c = {out, j, k ? E_ERR : E_OUT, BT_STATUS_OK};
        if (bt_linebuf_read(k ? &s->err : &s->out, *fd, pk_line, &c) != 0) {
            close(*fd);
            *fd = -1;
        }
        BT_TRY(c.st);
    }
    return BT_STATUS_OK;
}

/* mkdir -p: the results' folder may not exist on this host (no shared file system). */
static void make_dirs(const char *path) {
    char p[1024];
    snprintf(p, sizeof p, "%s", path);
    for (char *q = p + 1; *q; q++)
        if (*q == '/') {
            *q = '\0';
            mkdir(p, 0755);
            *q = '/';
        }
    mkdir(p, 0755);
}

/* Rank 0's order to start trial t in slot j: its folder, arguments and argv in data. */
static bt_status serve_start(bt_prun *r, const pk_head *h, const char *data, bt_sbuf *out) {
    if (h->slot < 0 || h->slot >= r->n_slots || r->slots[h->slot].busy || h->len < 1 ||
        data[h->len - 1] != '\0')
        return BT_FAIL(BT_STATUS_INTERNAL, "a malformed order from rank 0");
    const char *outdir = data, *args_json = NULL;
    bt_argv argv = {0}, env = {0};
    bt_status st = BT_STATUS_OK;
    const char *hook = getenv("BATCHTUNE_TEST_RANK_FAIL"); /* tests only: this rank fails */
    if (hook && atoi(hook) == bt_comm_rank())
        return BT_FAIL(BT_STATUS_IO, "BATCHTUNE_TEST_RANK_FAIL: a failure for the tests");
    for (const char *p = data + strlen(data) + 1; p < data + h->len && st == BT_STATUS_OK;
         p += strlen(p) + 1)
        if (!args_json)
            args_json = p;
        else
            st = bt_argv_push(&argv, p);
    if (st == BT_STATUS_OK && (!args_json || argv.n == 0))
        st = BT_FAIL(BT_STATUS_INTERNAL, "a malformed order from rank 0");
    if (st == BT_STATUS_OK && !r->logs_dir) { /* the first order: OUT.logs and the wandb package */
        r->logs_dir = strdup(outdir);
        char *slash = r->logs_dir ? strrchr(r->logs_dir, '/') : NULL;
        if (slash) *slash = '\0';
        if (r->logs_dir) make_dirs(r->logs_dir);
        st = r->logs_dir ? bt_prun_files(r) : BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    const int64_t t = h->a;
    bt_pslot *s = &r->slots[h->slot];
    if (st == BT_STATUS_OK) {
        mkdir(outdir, 0755);
        char jfile[1200];
        snprintf(jfile, sizeof jfile, "%s/config-%s-%" PRId64 ".json", outdir, r->sweep_id, t);
        FILE *f = bt_cmdline_uses(r->spec, "${args_json_file}") ? bt_wfopen(jfile, "w") : NULL;
        if (f) {
            fputs(args_json, f);
            fclose(f);
        }
        st = bt_prun_env(r, t, (int)h->b, s->gpu, args_json, outdir, &env);
    }
    char path[1024] = "";
    const int found =
        st == BT_STATUS_OK && bt_proc_which(argv.v[0], r->spec->dir, path, sizeof path);
    if (st == BT_STATUS_OK) {
        const int gpu = s->gpu;
        memset(s, 0, sizeof *s);
        s->gpu = gpu;
        s->trial = t;
        s->out.max_line = s->err.max_line = 1 << 20;
        st = bt_proc_spawn(&s->proc, found ? path : argv.v[0], argv.v, env.v, r->spec->dir);
    }
    bt_argv_free(&argv);
    bt_argv_free(&env);
    BT_TRY(st);
    if (s->proc.exec_errno) { /* rank 0 says why, as for its own */
        bt_proc_close(&s->proc);
        return pk_push(out, E_EXIT, h->slot, 0, s->proc.exec_errno, NULL, 0);
    }
    s->busy = 1;
    return BT_STATUS_OK;
}

/* Slot j's process exited: the rest of its output, its group killed, its status for rank 0. */
static bt_status serve_exit(bt_pslot *s, int j, bt_sbuf *out) {
    bt_proc_signal(&s->proc, SIGKILL);
    /* a process that left the group (setsid) may hold the pipes open: read them 2 s at most */
    const double until = bt_clock() + 2;
    while (s->proc.out_fd >= 0 || s->proc.err_fd >= 0) {
        BT_TRY(serve_drain(s, j, out));
        if (s->proc.out_fd >= 0 || s->proc.err_fd >= 0) bt_proc_pipes_wait(&s->proc, until);
    }
    BT_TRY(pk_push(out, E_EXIT, j, s->proc.status, 0, NULL, 0));
    bt_proc_close(&s->proc);
    bt_linebuf_free(&s->out);
    bt_linebuf_free(&s->err);
    s->busy = 0;
    return BT_STATUS_OK;
}

/* Rank 0's orders waiting now (q: those received while events waited); *end gets P_END's code
 * (-1 before it). A rank that failed (failed) starts and signals nothing: it waits for the end. */
static bt_status serve_orders(bt_prun *r, pk_queue *q, int failed, bt_sbuf *out, int *end) {
    size_t bytes = 0;
    void *m = NULL;
    bt_status st = BT_STATUS_OK;
    while (*end < 0 && q_next(q, 0, TAG_PORDER, &m, &bytes, &st)) {
        pk_head h;
        const char *data = NULL;
        size_t at = 0;
        while (st == BT_STATUS_OK && *end < 0 && pk_next(m, bytes, &at, &h, &data)) {
            if (h.kind == P_END) *end = (int)h.a;
            if (failed) continue;
            if (h.kind == P_START) st = serve_start(r, &h, data, out);
            if (h.kind == P_SIGNAL && h.slot >= 0 && h.slot < r->n_slots && r->slots[h.slot].busy)
                bt_proc_signal(&r->slots[h.slot].proc, (int)h.b);
        }
        free(m);
        BT_TRY(st);
    }
    return st;
}

/* Polls the running processes' pipes (a millisecond at most: orders come by MPI), then sends
 * what they printed and how they ended. */
static bt_status serve_pipes(bt_prun *r, bt_sbuf *out) {
    struct pollfd *fds = malloc(2 * (size_t)r->n_slots * sizeof *fds);
    int *owner = malloc(2 * (size_t)r->n_slots * sizeof *owner), n = 0;
    if (!fds || !owner) {
        free(fds);
        free(owner);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    for (int j = 0; j < r->n_slots; j++) {
        bt_proc *p = &r->slots[j].proc;
        if (!r->slots[j].busy) continue;
        int fd2[2] = {p->out_fd, p->err_fd};
        for (int k = 0; k < 2; k++)
            if (fd2[k] >= 0) fds[n].fd = fd2[k], fds[n].events = POLLIN, owner[n++] = j;
    }
    bt_status st = BT_STATUS_OK;
    if (poll(fds, (nfds_t)n, 1) > 0)
        for (int i = 0; i < n && st == BT_STATUS_OK; i++)
            if (fds[i].revents) st = serve_drain(&r->slots[owner[i]], owner[i], out);
    free(fds);
    free(owner);
    BT_TRY(st);
    for (int j = 0; j < r->n_slots; j++)
        if (r->slots[j].busy && bt_proc_reap(&r->slots[j].proc))
            BT_TRY(serve_exit(&r->slots[j], j, out));
    return BT_STATUS_OK;
}

/* This rank's slots (its GPUs by local rank, else its cores) and its greeting for rank 0. */
static bt_status serve_setup(bt_prun *r, pk_hello *hello) {
    snprintf(r->sweep_id, sizeof r->sweep_id, "%.8s", r->spec->sha256);
    BT_TRY(bt_prun_gpus(r));
    r->n_slots = bt_prun_slot_count(r);
    r->slots = calloc((size_t)r->n_slots, sizeof *r->slots);
    BT_CHECK_ALLOC(r->slots);
    for (int j = 0; j < r->n_slots; j++) {
        r->slots[j].gpu = r->n_gpus > 0 ? r->gpu_ids[j % r->n_gpus] : -1;
        r->slots[j].proc.out_fd = r->slots[j].proc.err_fd = r->slots[j].proc.pid_fd = -1;
    }
    hello->n_slots = r->n_slots;
    hello->n_gpus = r->n_gpus < PK_MAX_GPUS ? r->n_gpus : PK_MAX_GPUS;
    for (int i = 0; i < hello->n_gpus; i++) hello->gpus[i] = r->gpu_ids[i];
    return BT_STATUS_OK;
}

/* SIGKILL for every process this rank runs (the sweep ended, or this rank failed). */
static void serve_kill_all(bt_prun *r) {
    for (int j = 0; r->slots && j < r->n_slots; j++) {
        bt_pslot *s = &r->slots[j];
        if (!s->busy) continue;
        bt_proc_signal(&s->proc, SIGKILL);
        waitpid(s->proc.pid, NULL, 0);
        bt_proc_close(&s->proc);
        bt_linebuf_free(&s->out);
        bt_linebuf_free(&s->err);
        s->busy = 0;
    }
}

/* While events wait for rank 0: its orders are received (for the next serve_orders), so a
 * large order sent at the same time is not blocked by this send. */
static bt_status serve_pending(void *ctx) {
    return q_fill(ctx, 0, TAG_PORDER, NULL);
}

/* This rank's own failure (st, and bt_status_message()) for rank 0, which ends the sweep. */
static bt_status serve_failed(bt_prun *r, bt_status st, bt_sbuf *out) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", bt_status_message());
    bt_status_clear();
    serve_kill_all(r);
    return pk_push(out, E_FAIL, 0, st, 0, msg, strlen(msg));
}

bt_status bt_program_serve(const bt_spec *spec, const bt_run_opts *o) {
    bt_prun r;
    memset(&r, 0, sizeof r);
    r.spec = spec;
    r.o = o;
    pk_hello hello;
    memset(&hello, 0, sizeof hello);
    bt_comm_ident_of(spec, &hello.id);
    bt_status st = serve_setup(&r, &hello);
    if (st != BT_STATUS_OK) {
        hello.status = (int32_t)st;
        snprintf(hello.msg, sizeof hello.msg, "%s", bt_status_message());
    }
    bt_sbuf out = {0};
    pk_queue q = {0};
    st = pk_push(&out, E_HELLO, 0, 0, 0, &hello, sizeof hello);
    int end = -1, failed = hello.status != 0; /* failed: rank 0 ends the sweep; wait for it */
    double sent = 0;
    int spins = 0;
    /* a stop request is rank 0's to act on: it signals the trials and says the sweep ended */
    while (st == BT_STATUS_OK && end < 0) {
        if (out.n > 0 || bt_clock() - sent >= 1.0) { /* at least once a second: alive */
            st = bt_comm_send_pending(0, TAG_PEVENT, out.s, out.n, 0, NULL, serve_pending, &q);
            out.n = 0;
            sent = bt_clock();
        }
        bt_status mine = BT_STATUS_OK;
        if (st == BT_STATUS_OK) mine = serve_orders(&r, &q, failed, &out, &end);
        if (st == BT_STATUS_OK && mine == BT_STATUS_OK && !failed) mine = serve_pipes(&r, &out);
        if (st == BT_STATUS_OK && mine != BT_STATUS_OK && end < 0) {
            st = serve_failed(&r, mine, &out);
            failed = 1;
        }
        if (failed) bt_comm_nap(&spins); /* nothing runs here: only the end is awaited */
    }
    serve_kill_all(&r);
    q_free(&q);
    free(out.s);
    free(r.slots);
    free(r.logs_dir);
    free(r.shim_dir);
    bt_prun_gpus_free(&r);
    return st != BT_STATUS_OK ? st : (bt_status)end;
}
