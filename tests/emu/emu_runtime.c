/* The emulated CUDA runtime (tests/emu/cuda_runtime.h) over malloc: poisoned allocations under an
 * optional budget, streams as queues run when the host synchronizes, graph capture that records
 * and replays, and the capture rules a real runtime enforces (no synchronization on a capturing
 * stream; unsafe calls by the capture interaction modes, from any thread; no device
 * synchronization and no legacy-stream use that would meet a capture; no host copy through
 * pageable memory in a capture), pinned host memory tracked, host copies counted by kind. One lock
 * serializes everything, so packs may drive their streams from several host threads. See emu.h
 * for what this proves. */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/emu/emu.h"

typedef struct emu_op {
    void (*fn)(void *);
    void *arg;
    size_t bytes;
    int is_kernel;
} emu_op;

typedef struct op_list {
    emu_op *ops;
    size_t n, cap;
} op_list;

struct bt_emu_graph {
    op_list ops;
};
struct bt_emu_graph_exec {
    op_list ops;
};

struct bt_emu_stream {
    op_list queue;
    int capturing; /* 0 none, 1 active, 2 invalidated */
    int blocking;  /* created without cudaStreamNonBlocking: ordered with the legacy stream */
    enum cudaStreamCaptureMode mode;
    pthread_t capture_thread;
    struct bt_emu_graph *graph;
    struct bt_emu_stream *next; /* every live stream, for device-wide synchronization */
    int dev;                    /* the emulated GPU it was created on (the legacy stream: -1) */
};

typedef struct alloc_rec {
    char *p;
    size_t bytes;
    int dev; /* the emulated GPU it lives on */
} alloc_rec;

/* Recursive: launchers' run functions check ranges (bt_emu_check) while a flush holds the lock. */
static pthread_mutex_t mu_;
static pthread_once_t mu_once = PTHREAD_ONCE_INIT;

static void mu_init(void) {
    pthread_mutexattr_t at;
    pthread_mutexattr_init(&at);
    pthread_mutexattr_settype(&at, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&mu_, &at);
    pthread_mutexattr_destroy(&at);
}

static void lock(void) {
    pthread_once(&mu_once, mu_init);
    pthread_mutex_lock(&mu_);
}

static void unlock(void) {
    pthread_mutex_unlock(&mu_);
}
static struct bt_emu_stream legacy = {.dev = -1}; /* the NULL stream, shared by every GPU */
static struct bt_emu_stream *streams;
static alloc_rec *allocs;
static size_t n_allocs, cap_allocs;
static size_t budget; /* 0: unlimited */
static int poison = 0xA5;
static bt_emu_stats stats;
static char violation[512];

#define UNLIMITED_TOTAL ((size_t)80 << 30)

/* Several GPUs (emu.h): BT_EMU_DEVICES=N of them, each with its own memory (the budget is per
 * GPU), a current GPU per host thread, streams bound to the GPU they were created on. */
#define MAX_DEVICES 16
static size_t dev_live[MAX_DEVICES]; /* bytes allocated per GPU */
static _Thread_local int cur_dev;
static int running_dev = -1; /* the GPU whose stream's work runs now (-1: none, or legacy) */

int bt_emu_device_count(void) {
    static int n = 0;
    if (!n) {
        const char *e = getenv("BT_EMU_DEVICES");
        int v = e && *e ? atoi(e) : 1;
        n = v < 1 ? 1 : v > MAX_DEVICES ? MAX_DEVICES : v;
    }
    return n;
}

static void record_violation(const char *fmt, ...) {
    stats.violations++;
    if (violation[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(violation, sizeof violation, fmt, ap);
    va_end(ap);
}

/* A device fault (emu.h): sticky, every later synchronization, copy and launch reports it. */
static _Atomic int sticky = cudaSuccess;

void bt_emu_set_sticky_error(cudaError_t e) {
    sticky = (int)e;
}

cudaError_t bt_emu_sticky_error(void) {
    return (cudaError_t)sticky;
}

static cudaError_t or_sticky(cudaError_t e) {
    return sticky != cudaSuccess ? (cudaError_t)sticky : e;
}

void bt_emu_set_mem_budget(size_t bytes) {
    lock();
    budget = bytes;
    unlock();
}

void bt_emu_set_poison(int byte) {
    lock();
    poison = byte & 0xFF;
    unlock();
}

void bt_emu_stats_get(bt_emu_stats *out) {
    lock();
    *out = stats;
    unlock();
}

void bt_emu_stats_reset(void) {
    lock();
    size_t live = stats.bytes_live;
    memset(&stats, 0, sizeof stats);
    stats.bytes_live = stats.bytes_peak = live;
    violation[0] = 0;
    unlock();
}

const char *bt_emu_violation(void) {
    return violation;
}

/* BT_EMU_REPORT=1: at exit, the violations and the NCCL stand-in's broadcasts on stderr, for
 * tests that drive the binary (a library that never prints otherwise). */
__attribute__((destructor)) static void report_at_exit(void) {
    const char *e = getenv("BT_EMU_REPORT");
    if (!e || strcmp(e, "1") != 0) return;
    int64_t bytes = 0, calls = 0;
    bt_emu_nccl_stats(&bytes, &calls);
    fprintf(stderr, "emu report: %lld violations%s%s; nccl broadcast %lld bytes in %lld calls\n",
            (long long)stats.violations, violation[0] ? ", first: " : "", violation,
            (long long)bytes, (long long)calls);
}

void bt_emu_count_kernel(void) {
    stats.kernels_run++; /* called from run functions, with the lock held */
}

/* ---- allocations ---- */

static const alloc_rec *find_alloc(const void *p) {
    const char *c = p;
    for (size_t i = 0; i < n_allocs; i++)
        if (c >= allocs[i].p && c <= allocs[i].p + allocs[i].bytes) return &allocs[i];
    return NULL;
}

static int range_cmp(const void *a, const void *b) {
    const char *x = ((const bt_emu_range *)a)->p, *y = ((const bt_emu_range *)b)->p;
    return x < y ? -1 : x > y;
}

bt_emu_range *bt_emu_alloc_table(size_t *n) {
    lock();
    bt_emu_range *t = n_allocs ? malloc(n_allocs * sizeof *t) : NULL;
    *n = t ? n_allocs : 0;
    for (size_t i = 0; i < *n; i++) {
        t[i].p = allocs[i].p;
        t[i].bytes = allocs[i].bytes;
    }
    unlock();
    if (t) qsort(t, *n, sizeof *t, range_cmp);
    return t;
}

/* Device memory used where GPU `dev` runs (-1: any GPU): memory of another GPU is a violation
 * (batchtune copies its data to every GPU rather than reading a peer's). */
static int dev_ok(const alloc_rec *a, int dev, const char *what) {
    if (dev < 0 || a->dev == dev) return 1;
    record_violation("%s: memory of emulated GPU %d used on GPU %d", what, a->dev, dev);
    return 0;
}

/* The GPU a launcher's pointers are checked against: the one whose stream runs, else the
 * calling thread's current one. */
static int using_dev(void) {
    return running_dev >= 0 ? running_dev : cur_dev;
}

static int check_dev_locked(const void *p, size_t bytes, int dev, const char *what) {
    const alloc_rec *a = p ? find_alloc(p) : NULL;
    if (a && (size_t)(a->p + a->bytes - (const char *)p) >= bytes) return dev_ok(a, dev, what);
    if (a)
        record_violation("%s: %zu bytes at offset %zu of a %zu-byte allocation", what, bytes,
                         (size_t)((const char *)p - a->p), a->bytes);
    else
        record_violation("%s: %p is not device memory", what, p);
    return 0;
}

int bt_emu_check(const void *p, size_t bytes, const char *what) {
    lock();
    int ok = check_dev_locked(p, bytes, using_dev(), what);
    unlock();
    return ok;
}

int bt_emu_check_at(const void *base, int64_t offset, size_t bytes, const char *what) {
    lock();
    const alloc_rec *a = base ? find_alloc(base) : NULL;
    int ok = 0;
    if (!a)
        record_violation("%s: base %p is not device memory", what, base);
    else {
        size_t at = (size_t)((const char *)base - a->p);
        ok = offset >= 0 && at + (size_t)offset <= a->bytes &&
             a->bytes - at - (size_t)offset >= bytes;
        if (!ok)
            record_violation(
                "%s: %zu bytes at offset %lld past a pointer %zu bytes into a %zu-byte "
                "allocation",
                what, bytes, (long long)offset, at, a->bytes);
        else
            ok = dev_ok(a, using_dev(), what);
    }
    unlock();
    return ok;
}

/* ---- capture rules ----
 * What a call made while captures are open (active or already invalidated: a capture is open
 * until its cudaStreamEndCapture) may meet, after the CUDA programming guide ("Prohibited and
 * Unhandled Operations") and cudaThreadExchangeStreamCaptureMode:
 *  - UNSAFE, a potentially unsafe call (cudaMalloc, cudaFree, cudaMallocHost, cudaFreeHost,
 *    synchronous cudaMemcpy and cudaMemset, synchronizing the legacy stream): refused by the
 *    calling thread's interaction mode -- global (the default): its own capture unless begun
 *    relaxed, or another thread's capture begun in global mode; thread-local: its own capture
 *    unless relaxed; relaxed: none;
 *  - DEVICE, synchronizing the device (cudaDeviceSynchronize; cuBLAS's handle destruction calls
 *    it): a handle that encompasses every capture, refused whatever the modes or threads;
 *  - LEGACY, any use of the legacy stream: it would depend on (or wait for) every blocking
 *    stream, so it is refused while one of those captures, whatever the modes or threads;
 *  - FREE, cudaFree and cudaFreeHost: their implicit wait for the device counts as DEVICE when
 *    bt_emu_set_free_syncs_device(1) is on (field reports read it so; the guide does not).
 * Each capture that refuses a call is invalidated, as on a GPU: its later launches fail and its
 * cudaStreamEndCapture returns cudaErrorStreamCaptureInvalidated. */
enum { C_UNSAFE = 1, C_DEVICE = 2, C_LEGACY = 4, C_FREE = 8 };

static _Thread_local enum cudaStreamCaptureMode thread_mode = cudaStreamCaptureModeGlobal;
static int free_syncs_device;
static int fail_instantiations;
static void (*capture_hook)(void *);
static void *capture_hook_arg;

cudaError_t cudaThreadExchangeStreamCaptureMode(enum cudaStreamCaptureMode *mode) {
    if (!mode) return cudaErrorInvalidValue;
    enum cudaStreamCaptureMode old = thread_mode;
    thread_mode = *mode;
    *mode = old;
    return cudaSuccess;
}

void bt_emu_set_free_syncs_device(int on) {
    lock();
    free_syncs_device = on != 0;
    unlock();
}

void bt_emu_fail_instantiations(int n) {
    lock();
    fail_instantiations = n > 0 ? n : 0;
    unlock();
}

void bt_emu_set_capture_hook(void (*fn)(void *arg), void *arg) {
    lock();
    capture_hook = fn;
    capture_hook_arg = arg;
    unlock();
}

/* Whether capture s forbids the calling thread a potentially unsafe call (its mode's rule). */
static int mode_forbids(const struct bt_emu_stream *s) {
    if (thread_mode == cudaStreamCaptureModeRelaxed) return 0;
    if (pthread_equal(s->capture_thread, pthread_self()))
        return s->mode != cudaStreamCaptureModeRelaxed;
    return thread_mode == cudaStreamCaptureModeGlobal && s->mode == cudaStreamCaptureModeGlobal;
}

/* The error a call of the given kinds (C_*) meets, invalidating the captures that refuse it;
 * cudaSuccess when none does. */
static cudaError_t capture_conflict(int kinds) {
    if ((kinds & C_FREE) && free_syncs_device) kinds |= C_DEVICE;
    cudaError_t e = cudaSuccess;
    for (struct bt_emu_stream *s = streams; s; s = s->next) {
        if (!s->capturing) continue;
        cudaError_t se = cudaSuccess;
        if ((kinds & C_DEVICE) || ((kinds & C_UNSAFE) && mode_forbids(s)))
            se = cudaErrorStreamCaptureUnsupported;
        else if ((kinds & C_LEGACY) && s->blocking)
            se = cudaErrorStreamCaptureImplicit;
        if (se == cudaSuccess) continue;
        s->capturing = 2;
        if (e == cudaSuccess) e = se;
    }
    return e;
}

cudaError_t cudaMalloc(void **p, size_t bytes) {
    if (!p) return cudaErrorInvalidValue;
    *p = NULL;
    lock();
    cudaError_t e = capture_conflict(C_UNSAFE);
    if (e != cudaSuccess) goto out;
    stats.mallocs++;
    size_t limit = budget ? budget : UNLIMITED_TOTAL;
    if (bytes > limit - dev_live[cur_dev]) {
        stats.failed_mallocs++;
        e = cudaErrorMemoryAllocation;
        goto out;
    }
    if (n_allocs == cap_allocs) {
        size_t cap = cap_allocs ? 2 * cap_allocs : 64;
        alloc_rec *na = realloc(allocs, cap * sizeof *na);
        if (!na) {
            e = cudaErrorMemoryAllocation;
            goto out;
        }
        allocs = na;
        cap_allocs = cap;
    }
    /* 256-byte aligned like cudaMalloc; at least one byte so every pointer is distinct */
    void *q = NULL;
    if (posix_memalign(&q, 256, bytes ? bytes : 1) != 0) {
        e = cudaErrorMemoryAllocation;
        goto out;
    }
    memset(q, poison, bytes);
    allocs[n_allocs].p = q;
    allocs[n_allocs].bytes = bytes;
    allocs[n_allocs].dev = cur_dev;
    n_allocs++;
    dev_live[cur_dev] += bytes;
    stats.bytes_live += bytes;
    if (stats.bytes_live > stats.bytes_peak) stats.bytes_peak = stats.bytes_live;
    *p = q;
out:
    unlock();
    return e;
}

/* Runs stream s's queue l (its own queue, or a graph launched on it) on s's GPU. */
static void run_ops_on(op_list *l, const struct bt_emu_stream *s) {
    int was = running_dev;
    running_dev = s->dev;
    for (size_t i = 0; i < l->n; i++) {
        l->ops[i].fn(l->ops[i].arg);
        free(l->ops[i].arg);
    }
    l->n = 0;
    running_dev = was;
}

static void run_stream(struct bt_emu_stream *s) {
    run_ops_on(&s->queue, s);
}

static void flush_all(void) {
    run_stream(&legacy);
    for (struct bt_emu_stream *s = streams; s; s = s->next) run_stream(s);
}

/* Work on the legacy stream waits for earlier work on blocking streams and blocking streams wait
 * for earlier legacy work; running the earlier side's queue first keeps that order (work may
 * always run earlier than a GPU would run it, never later than its synchronization point). */
static void flush_blocking(void) {
    for (struct bt_emu_stream *s = streams; s; s = s->next)
        if (s->blocking) run_stream(s);
}

cudaError_t cudaFree(void *p) {
    if (!p) return cudaSuccess;
    lock();
    cudaError_t e = capture_conflict(C_UNSAFE | C_FREE);
    if (e != cudaSuccess) goto out;
    flush_all(); /* cudaFree waits for the device, so queued work may still use p */
    for (size_t i = 0; i < n_allocs; i++)
        if (allocs[i].p == p) {
            stats.bytes_live -= allocs[i].bytes;
            dev_live[allocs[i].dev] -= allocs[i].bytes;
            free(p);
            allocs[i] = allocs[--n_allocs];
            goto out;
        }
    e = cudaErrorInvalidValue;
out:
    unlock();
    return e;
}

/* Live pinned allocations: a synchronous copy from them completes before it returns, one from
 * pageable memory may not (see cudaMemcpy). */
static alloc_rec *pinned;
static size_t n_pinned, cap_pinned;
static int fail_host_allocs;   /* the next this many cudaMallocHost calls fail */
static int defer_pageable = 1; /* see cudaMemcpy */

void bt_emu_set_pageable_deferred(int on) {
    lock();
    defer_pageable = on != 0;
    unlock();
}

void bt_emu_fail_host_allocs(int n) {
    lock();
    fail_host_allocs = n > 0 ? n : 0;
    unlock();
}

/* Whether [p, p + bytes) lies in one live pinned allocation. */
static int is_pinned(const void *p, size_t bytes) {
    const char *c = p;
    for (size_t i = 0; i < n_pinned; i++)
        if (c >= pinned[i].p && c < pinned[i].p + (pinned[i].bytes ? pinned[i].bytes : 1))
            return bytes <= (size_t)(pinned[i].p + pinned[i].bytes - c);
    return 0;
}

static void copy_run(void *arg);
static int copy_touches(const void *op_arg, const char *p, size_t bytes);

/* A queued copy whose host side lies in [p, p + bytes), about to be freed: a violation. The
 * guide does not say that cudaFreeHost waits for the device (field reports say it does, like
 * cudaFree), so host code frees pinned memory only after the stream that reads or writes it was
 * synchronized; the emulation runs the copy anyway (it waits, as the field reports read it). */
static int queue_touches(const op_list *l, const char *p, size_t bytes) {
    for (size_t i = 0; i < l->n; i++)
        if (l->ops[i].fn == copy_run && copy_touches(l->ops[i].arg, p, bytes)) return 1;
    return 0;
}

static void check_freed_pinned(const char *p, size_t bytes) {
    int hit = queue_touches(&legacy.queue, p, bytes);
    for (struct bt_emu_stream *s = streams; s && !hit; s = s->next)
        hit = queue_touches(&s->queue, p, bytes);
    if (hit)
        record_violation("pinned host memory %p freed while a queued copy still uses it",
                         (const void *)p);
}

/* Pinned host memory is host memory: copies from it stay deferred like any other, which is what
 * makes a staging buffer rewritten too early show up. */
cudaError_t cudaMallocHost(void **p, size_t bytes) {
    lock();
    *p = NULL;
    cudaError_t e = capture_conflict(C_UNSAFE);
    if (e != cudaSuccess) {
        /* refused: the capture is invalidated */
    } else if (fail_host_allocs > 0) {
        fail_host_allocs--;
        e = cudaErrorMemoryAllocation;
    } else if (n_pinned == cap_pinned &&
               !(pinned = realloc(pinned, (cap_pinned = cap_pinned ? 2 * cap_pinned : 16) *
                                              sizeof *pinned)))
        e = cudaErrorMemoryAllocation;
    else if (!(*p = malloc(bytes ? bytes : 1)))
        e = cudaErrorMemoryAllocation;
    else {
        memset(*p, poison, bytes);
        pinned[n_pinned].p = *p;
        pinned[n_pinned++].bytes = bytes;
    }
    unlock();
    return e;
}

cudaError_t cudaFreeHost(void *p) {
    lock();
    cudaError_t e = capture_conflict(C_UNSAFE | C_FREE);
    if (e == cudaSuccess) {
        for (size_t i = 0; i < n_pinned; i++)
            if (pinned[i].p == p) {
                check_freed_pinned(pinned[i].p, pinned[i].bytes);
                pinned[i] = pinned[--n_pinned];
                break;
            }
        flush_all(); /* like cudaFree, it waits for the device */
        free(p);
    }
    unlock();
    return e;
}

cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes) {
    lock();
    size_t total = budget ? budget : UNLIMITED_TOTAL;
    *free_bytes = total - dev_live[cur_dev];
    *total_bytes = total;
    unlock();
    return cudaSuccess;
}

/* ---- streams and the operation queue ---- */

static int push_op(op_list *l, const emu_op *op) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 32;
        emu_op *no = realloc(l->ops, cap * sizeof *no);
        if (!no) return 0;
        l->ops = no;
        l->cap = cap;
    }
    l->ops[l->n++] = *op;
    return 1;
}

static struct bt_emu_stream *stream_of(cudaStream_t s) {
    if (!s) return &legacy;
    for (struct bt_emu_stream *t = streams; t; t = t->next)
        if (t == s) return t;
    return NULL;
}

static cudaError_t enqueue_locked(cudaStream_t stream, void (*fn)(void *), const void *arg,
                                  size_t bytes, int is_kernel, int direct) {
    struct bt_emu_stream *s = stream_of(stream);
    if (!s) return cudaErrorInvalidResourceHandle;
    if (s == &legacy) {
        cudaError_t e = capture_conflict(C_LEGACY);
        if (e != cudaSuccess) return e;
    }
    if (!s->capturing) {
        if (s == &legacy)
            flush_blocking();
        else if (s->blocking)
            run_stream(&legacy);
    }
    /* a kernel goes to a stream of the current GPU (CUDA: invalid resource handle otherwise):
     * every host thread that drives a pack must have made the pack's GPU current */
    if (is_kernel && direct && s->dev >= 0 && s->dev != cur_dev) {
        record_violation("kernel launched on a stream of emulated GPU %d while GPU %d is current",
                         s->dev, cur_dev);
        return cudaErrorInvalidResourceHandle;
    }
    emu_op op = {fn, malloc(bytes ? bytes : 1), bytes, is_kernel};
    if (!op.arg) return cudaErrorMemoryAllocation;
    if (bytes) memcpy(op.arg, arg, bytes);
    if (s->capturing == 2) { /* an invalidated capture swallows work until it ends */
        free(op.arg);
        return cudaErrorStreamCaptureInvalidated;
    }
    op_list *l = s->capturing ? &s->graph->ops : &s->queue;
    if (!push_op(l, &op)) {
        free(op.arg);
        return cudaErrorMemoryAllocation;
    }
    if (direct && !s->capturing) {
        if (is_kernel)
            stats.launches++;
        else
            stats.copies++;
    }
    return cudaSuccess;
}

cudaError_t bt_emu_enqueue(cudaStream_t stream, void (*fn)(void *), const void *arg, size_t bytes,
                           int is_kernel) {
    lock();
    cudaError_t e = or_sticky(cudaSuccess); /* a lost context runs no more kernels */
    if (e == cudaSuccess) e = enqueue_locked(stream, fn, arg, bytes, is_kernel, 1);
    unlock();
    return e;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *stream, unsigned int flags) {
    struct bt_emu_stream *s = calloc(1, sizeof *s);
    if (!s) return cudaErrorMemoryAllocation;
    s->blocking = !(flags & cudaStreamNonBlocking);
    s->dev = cur_dev;
    lock();
    s->next = streams;
    streams = s;
    unlock();
    *stream = s;
    return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t *stream) {
    return cudaStreamCreateWithFlags(stream, cudaStreamDefault);
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
    lock();
    cudaError_t e = cudaErrorInvalidResourceHandle;
    for (struct bt_emu_stream **pp = &streams; *pp; pp = &(*pp)->next)
        if (*pp == stream) {
            struct bt_emu_stream *s = *pp;
            run_stream(s); /* queued work still completes */
            *pp = s->next;
            if (s->graph) {
                for (size_t i = 0; i < s->graph->ops.n; i++) free(s->graph->ops.ops[i].arg);
                free(s->graph->ops.ops);
                free(s->graph);
            }
            free(s->queue.ops);
            free(s);
            e = cudaSuccess;
            break;
        }
    unlock();
    return e;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
    lock();
    cudaError_t e = cudaSuccess;
    struct bt_emu_stream *s = stream_of(stream);
    if (!s)
        e = cudaErrorInvalidResourceHandle;
    else if (s->capturing) {
        s->capturing = 2;
        e = cudaErrorStreamCaptureUnsupported;
    } else if (s == &legacy && (e = capture_conflict(C_UNSAFE | C_LEGACY)) != cudaSuccess) {
        /* refused: the legacy stream waits for every blocking stream */
    } else {
        stats.syncs++;
        if (s == &legacy)
            flush_all(); /* the legacy stream waits for blocking streams; all are flushed */
        else
            run_stream(s);
    }
    unlock();
    return or_sticky(e);
}

struct bt_emu_event {
    struct bt_emu_stream *stream; /* where it was last recorded; NULL: never */
    int pending;                  /* recorded, its marker not run yet */
};

static void event_fire(void *arg) {
    struct bt_emu_event *e = *(struct bt_emu_event **)arg;
    e->pending = 0;
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *event, unsigned int flags) {
    (void)flags;
    *event = calloc(1, sizeof **event);
    return *event ? cudaSuccess : cudaErrorMemoryAllocation;
}

cudaError_t cudaEventCreate(cudaEvent_t *event) {
    return cudaEventCreateWithFlags(event, cudaEventDefault);
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
    if (!event) return cudaErrorInvalidResourceHandle;
    lock();
    struct bt_emu_stream *s = stream_of(stream);
    cudaError_t e = cudaErrorInvalidResourceHandle;
    if (s && s->capturing) {
        s->capturing = 2; /* batchtune captures no events; refuse rather than half-emulate */
        e = cudaErrorStreamCaptureUnsupported;
    } else if (s) {
        event->stream = s;
        event->pending = 1;
        e = enqueue_locked(stream, event_fire, &event, sizeof event, 0, 0);
    }
    unlock();
    return e;
}

cudaError_t cudaEventQuery(cudaEvent_t event) {
    if (!event) return cudaErrorInvalidResourceHandle;
    lock();
    int pending = event->pending;
    unlock();
    return pending ? cudaErrorNotReady : cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
    if (!event) return cudaErrorInvalidResourceHandle;
    lock();
    if (event->pending) {
        stats.syncs++;
        if (event->stream == &legacy)
            flush_all();
        else
            run_stream(event->stream);
    }
    unlock();
    return or_sticky(cudaSuccess);
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
    free(event);
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void) {
    lock();
    cudaError_t e = capture_conflict(C_DEVICE);
    if (e == cudaSuccess) {
        stats.syncs++;
        flush_all();
    }
    unlock();
    return or_sticky(e);
}

/* ---- copies ---- */

/* host: 0 none (device-to-device, memset), else the host side's memory: 1 pageable, 2 pinned */
typedef struct copy_arg {
    void *dst;
    const void *src;
    size_t bytes;
    int value, is_set, to_host, host;
} copy_arg;

/* Counts a host copy's bytes by direction and host memory (emu.h), with the lock held. */
static void count_host_copy(int to_host, int host_pinned, size_t bytes) {
    int64_t *c = to_host ? (host_pinned ? &stats.d2h_pinned : &stats.d2h_pageable)
                         : (host_pinned ? &stats.h2d_pinned : &stats.h2d_pageable);
    *c += (int64_t)bytes;
    if (!host_pinned) stats.pageable_copies++;
}

/* Whether copy op_arg's host side overlaps [p, p + bytes). */
static int copy_touches(const void *op_arg, const char *p, size_t bytes) {
    const copy_arg *a = op_arg;
    if (!a->host || !a->bytes) return 0;
    const char *h = a->to_host ? (const char *)a->dst : (const char *)a->src;
    return h < p + bytes && p < h + a->bytes;
}

/* A faulty GPU for the tests of what catches one (selftest, --device auto's check):
 * BT_EMU_CORRUPT=1 flips the lowest bit of the first 4-byte word of every device-to-host copy of
 * at least 4 bytes. */
static void corrupt_copy(void *dst, size_t bytes) {
    static int on = -1;
    if (on < 0) {
        const char *e = getenv("BT_EMU_CORRUPT");
        on = e && strcmp(e, "1") == 0;
    }
    if (on && bytes >= 4) ((unsigned char *)dst)[0] ^= 1u;
}

static void copy_run(void *arg) {
    const copy_arg *a = arg;
    if (a->is_set)
        memset(a->dst, a->value, a->bytes);
    else if (a->bytes) {
        memmove(a->dst, a->src, a->bytes);
        if (a->to_host) corrupt_copy(a->dst, a->bytes);
    }
    if (a->host) count_host_copy(a->to_host, a->host == 2, a->bytes);
}

/* Checks the sides of a copy against its kind: device sides must be live allocations, host sides
 * must not be device memory (a swapped kind would work on unified memory but is a bug here). */
static int check_copy(void *dst, const void *src, size_t bytes, enum cudaMemcpyKind kind, int dev) {
    int dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    int src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if (kind == cudaMemcpyDefault || kind == cudaMemcpyHostToHost) return 1;
    if (bytes == 0) return 1;
    int ok = 1;
    if (kind == cudaMemcpyDeviceToDevice) dev = -1; /* a peer copy may join two GPUs */
    if (dst_dev)
        ok &= check_dev_locked(dst, bytes, dev, "copy destination");
    else if (find_alloc(dst)) {
        record_violation("copy destination %p is device memory but the kind says host", dst);
        ok = 0;
    }
    if (src_dev)
        ok &= check_dev_locked(src, bytes, dev, "copy source");
    else if (find_alloc(src)) {
        record_violation("copy source %p is device memory but the kind says host", src);
        ok = 0;
    }
    return ok;
}

/* A copy whose source was staged when it was enqueued: the bytes follow the header in the op's
 * argument. */
typedef struct staged_arg {
    void *dst;
    size_t bytes;
} staged_arg;

static void staged_run(void *arg) {
    const staged_arg *a = arg;
    memcpy(a->dst, (const char *)arg + sizeof *a, a->bytes);
}

/* CUDA's "API synchronization behavior": a synchronous copy from pageable host memory to the
 * device returns once the source was staged for DMA, which may not have completed; so here it is
 * staged at once and its write queued on the legacy stream, which runs at a legacy or device
 * synchronization, a blocking stream's work, cudaFree, or the next synchronous copy -- never for
 * a non-blocking stream's synchronization, as on a GPU. Other kinds complete before returning
 * (device-to-device copies, asynchronous on a GPU, are not deferred here). */
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, enum cudaMemcpyKind kind) {
    lock();
    cudaError_t e = capture_conflict(C_UNSAFE | C_LEGACY);
    if (e == cudaSuccess && !check_copy(dst, src, bytes, kind, cur_dev)) e = cudaErrorInvalidValue;
    const int h2d = kind == cudaMemcpyHostToDevice, d2h = kind == cudaMemcpyDeviceToHost;
    if (e == cudaSuccess && bytes && (h2d || d2h))
        count_host_copy(d2h, is_pinned(h2d ? src : dst, bytes), bytes);
    if (e != cudaSuccess) {
        /* refused, or a bad copy */
    } else if (defer_pageable && h2d && bytes && !is_pinned(src, bytes)) {
        staged_arg *a = malloc(sizeof *a + bytes);
        if (!a)
            e = cudaErrorMemoryAllocation;
        else {
            a->dst = dst;
            a->bytes = bytes;
            memcpy((char *)a + sizeof *a, src, bytes);
            e = enqueue_locked(NULL, staged_run, a, sizeof *a + bytes, 0, 0);
            free(a);
        }
    } else {
        flush_blocking();
        run_stream(&legacy); /* ordered after earlier legacy-stream work only */
        if (bytes) memmove(dst, src, bytes);
        if (d2h) corrupt_copy(dst, bytes);
    }
    unlock();
    return or_sticky(e);
}

cudaError_t cudaMemset(void *dst, int value, size_t bytes) {
    lock();
    cudaError_t e = capture_conflict(C_UNSAFE | C_LEGACY);
    if (e == cudaSuccess && bytes && !check_dev_locked(dst, bytes, cur_dev, "memset"))
        e = cudaErrorInvalidValue;
    if (e == cudaSuccess) {
        flush_blocking();
        run_stream(&legacy);
        memset(dst, value, bytes);
    }
    unlock();
    return e;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, enum cudaMemcpyKind kind,
                            cudaStream_t stream) {
    lock();
    cudaError_t e = cudaSuccess;
    struct bt_emu_stream *s = stream_of(stream);
    const int d2h = kind == cudaMemcpyDeviceToHost, dev = kind == cudaMemcpyDeviceToDevice;
    /* the host side: pinned when it lies in one live cudaMallocHost block */
    const int host = dev ? 0 : 1 + (d2h ? is_pinned(dst, bytes) : is_pinned(src, bytes));
    if (!check_copy(dst, src, bytes, kind, s && s->dev >= 0 ? s->dev : cur_dev))
        e = cudaErrorInvalidValue;
    else if (s && s->capturing && host == 1) {
        /* a pageable host side in a capture: refused, the capture invalidated. A graph's copy
         * runs at each launch, long after the call, and a copy to pageable memory is to have
         * completed when cudaMemcpyAsync returns (CUDA's "API synchronization behavior"), which
         * nothing captured can; CUDA documents the refusal for graphs launched from the device
         * and conditional bodies ("only copies involving device memory and/or pinned
         * device-mapped host memory"), and the code it uses for a call not permitted in a
         * capture is cudaErrorStreamCaptureUnsupported. Pinned host sides are captured. */
        s->capturing = 2;
        e = cudaErrorStreamCaptureUnsupported;
    } else {
        copy_arg a = {dst, src, bytes, 0, 0, d2h, host};
        e = enqueue_locked(stream, copy_run, &a, sizeof a, 0, 1);
    }
    unlock();
    return or_sticky(e);
}

cudaError_t cudaMemsetAsync(void *dst, int value, size_t bytes, cudaStream_t stream) {
    lock();
    cudaError_t e = cudaSuccess;
    struct bt_emu_stream *s = stream_of(stream);
    if (bytes && !check_dev_locked(dst, bytes, s && s->dev >= 0 ? s->dev : cur_dev, "memset"))
        e = cudaErrorInvalidValue;
    else {
        copy_arg a = {dst, NULL, bytes, value, 1, 0, 0};
        e = enqueue_locked(stream, copy_run, &a, sizeof a, 0, 1);
    }
    unlock();
    return or_sticky(e);
}

/* ---- graphs ---- */

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, enum cudaStreamCaptureMode mode) {
    lock();
    cudaError_t e = cudaSuccess;
    struct bt_emu_stream *s = stream_of(stream);
    if (!s || s == &legacy)
        e = cudaErrorStreamCaptureUnsupported; /* the legacy stream cannot be captured */
    else if (s->capturing)
        e = cudaErrorStreamCaptureUnsupported;
    else if (!(s->graph = calloc(1, sizeof *s->graph)))
        e = cudaErrorMemoryAllocation;
    else {
        /* work queued before the capture is not part of it: it runs as usual */
        s->capturing = 1;
        s->mode = mode;
        s->capture_thread = pthread_self();
    }
    void (*hook)(void *) = e == cudaSuccess ? capture_hook : NULL;
    void *hook_arg = capture_hook_arg;
    unlock();
    if (hook) hook(hook_arg);
    return e;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *graph) {
    lock();
    cudaError_t e = cudaSuccess;
    struct bt_emu_stream *s = stream_of(stream);
    *graph = NULL;
    if (!s || !s->capturing)
        e = cudaErrorInvalidValue;
    else if (!pthread_equal(s->capture_thread, pthread_self()) &&
             s->mode != cudaStreamCaptureModeRelaxed)
        e = cudaErrorStreamCaptureWrongThread;
    else {
        if (s->capturing == 2) {
            for (size_t i = 0; i < s->graph->ops.n; i++) free(s->graph->ops.ops[i].arg);
            free(s->graph->ops.ops);
            free(s->graph);
            e = cudaErrorStreamCaptureInvalidated;
            stats.captures_invalidated++;
        } else {
            *graph = s->graph;
            stats.captures++;
        }
        s->graph = NULL;
        s->capturing = 0;
    }
    unlock();
    return e;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, enum cudaStreamCaptureStatus *status) {
    lock();
    struct bt_emu_stream *s = stream_of(stream);
    *status = !s || !s->capturing ? cudaStreamCaptureStatusNone
              : s->capturing == 1 ? cudaStreamCaptureStatusActive
                                  : cudaStreamCaptureStatusInvalidated;
    unlock();
    return s ? cudaSuccess : cudaErrorInvalidResourceHandle;
}

static int copy_ops(op_list *dst, const op_list *src) {
    dst->ops = malloc((src->n ? src->n : 1) * sizeof *dst->ops);
    if (!dst->ops) return 0;
    dst->n = dst->cap = 0;
    for (size_t i = 0; i < src->n; i++) {
        emu_op op = src->ops[i];
        op.arg = malloc(op.bytes ? op.bytes : 1);
        if (!op.arg) return 0;
        if (op.bytes) memcpy(op.arg, src->ops[i].arg, op.bytes);
        dst->ops[dst->n++] = op;
    }
    dst->cap = src->n ? src->n : 1;
    return 1;
}

static void free_ops(op_list *l) {
    for (size_t i = 0; i < l->n; i++) free(l->ops[i].arg);
    free(l->ops);
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph,
                                 unsigned long long flags) {
    (void)flags;
    if (!exec || !graph) return cudaErrorInvalidValue;
    *exec = NULL;
    lock();
    int refuse = fail_instantiations > 0;
    if (refuse) fail_instantiations--;
    unlock();
    if (refuse) return cudaErrorMemoryAllocation; /* an executable graph takes device memory */
    struct bt_emu_graph_exec *x = calloc(1, sizeof *x);
    if (!x) return cudaErrorMemoryAllocation;
    lock();
    int ok = copy_ops(&x->ops, &graph->ops);
    if (ok) stats.instantiations++;
    unlock();
    if (!ok) {
        free_ops(&x->ops);
        free(x);
        return cudaErrorMemoryAllocation;
    }
    *exec = x;
    return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
    if (!exec) return cudaErrorInvalidValue;
    lock();
    cudaError_t e = cudaSuccess;
    struct bt_emu_stream *s = stream_of(stream);
    if (!s)
        e = cudaErrorInvalidResourceHandle;
    else if (s->capturing) {
        s->capturing = 2; /* child graphs are not emulated */
        e = cudaErrorStreamCaptureUnsupported;
    } else {
        stats.graph_launches++;
        for (size_t i = 0; i < exec->ops.n && e == cudaSuccess; i++) {
            const emu_op *op = &exec->ops.ops[i];
            const copy_arg *a = op->arg;
            if (op->fn == copy_run && a->host == 2 &&
                !is_pinned(a->to_host ? a->dst : a->src, a->bytes)) {
                record_violation("a graph replays a copy to pinned memory freed since its "
                                 "capture (%p); skipped",
                                 a->to_host ? a->dst : (void *)(uintptr_t)a->src);
                continue;
            }
            e = enqueue_locked(stream, op->fn, op->arg, op->bytes, op->is_kernel, 0);
        }
    }
    unlock();
    return e;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
    if (!exec) return cudaSuccess;
    free_ops(&exec->ops);
    free(exec);
    return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
    if (!graph) return cudaSuccess;
    free_ops(&graph->ops);
    free(graph);
    return cudaSuccess;
}

/* ---- devices and errors ---- */

cudaError_t cudaGetDevice(int *device) {
    *device = cur_dev;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
    if (device < 0 || device >= bt_emu_device_count()) return cudaErrorInvalidDevice;
    cur_dev = device;
    return cudaSuccess;
}

int bt_emu_stream_device(cudaStream_t stream) {
    lock();
    const struct bt_emu_stream *s = stream_of(stream);
    int d = !s ? -2 : s->dev >= 0 ? s->dev : cur_dev;
    unlock();
    return d;
}

int bt_emu_ptr_device(const void *p) {
    lock();
    const alloc_rec *a = p ? find_alloc(p) : NULL;
    int d = a ? a->dev : -1;
    unlock();
    return d;
}

/* The machine the probe meets (tests of what tells "no GPU" from "a driver that refuses"):
 * BT_EMU_DEVICE_COUNT_ERROR=N makes cudaGetDeviceCount fail with cudaError N and count 0 (100: no
 * device, 35: a driver too old for the runtime, ...); BT_EMU_DRIVER_VERSION=N is the driver's
 * version cudaDriverGetVersion reports (default 0: no driver). */
static int env_int(const char *name, int def) {
    const char *e = getenv(name);
    return e && *e ? atoi(e) : def;
}

cudaError_t cudaGetDeviceCount(int *count) {
    int err = env_int("BT_EMU_DEVICE_COUNT_ERROR", 0);
    *count = err ? 0 : bt_emu_device_count();
    return (cudaError_t)err;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int device) {
    if (device < 0 || device >= bt_emu_device_count()) return cudaErrorInvalidDevice;
    memset(prop, 0, sizeof *prop);
    snprintf(prop->name, sizeof prop->name, "emulated GPU (tests/emu)");
    lock();
    prop->totalGlobalMem = budget ? budget : UNLIMITED_TOTAL;
    unlock();
    prop->major = 9;
    prop->minor = 0;
    prop->multiProcessorCount = 132;
    return cudaSuccess;
}

cudaError_t cudaDeviceGetPCIBusId(char *pci_bus_id, int len, int device) {
    if (device < 0 || device >= bt_emu_device_count()) return cudaErrorInvalidDevice;
    if (len > 0) pci_bus_id[0] = '\0'; /* no bus: NVML never matches it */
    return cudaErrorInvalidValue;
}

cudaError_t cudaRuntimeGetVersion(int *version) {
    *version = 13000;
    return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int *version) {
    *version = env_int("BT_EMU_DRIVER_VERSION", 0);
    return cudaSuccess;
}

/* Launch errors are sticky until read, per host thread, as in the CUDA runtime. */
static _Thread_local cudaError_t last_error = cudaSuccess;

void bt_emu_set_last_error(cudaError_t e) {
    last_error = e;
}

cudaError_t cudaGetLastError(void) {
    cudaError_t e = last_error;
    last_error = cudaSuccess;
    return or_sticky(e);
}

cudaError_t cudaPeekAtLastError(void) {
    return or_sticky(last_error);
}

const char *cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess:
        return "no error (emulated)";
    case cudaErrorNoDevice:
        return "no CUDA-capable device is detected (emulated)";
    case cudaErrorInsufficientDriver:
        return "CUDA driver version is insufficient for CUDA runtime version (emulated)";
    case cudaErrorInvalidValue:
        return "invalid argument (emulated)";
    case cudaErrorMemoryAllocation:
        return "out of memory (emulated)";
    case cudaErrorStreamCaptureUnsupported:
        return "operation not permitted when stream is "
               "capturing (emulated)";
    case cudaErrorStreamCaptureInvalidated:
        return "operation failed due to a previous error "
               "during capture (emulated)";
    case cudaErrorStreamCaptureImplicit:
        return "operation would make the legacy stream depend on a capturing blocking stream "
               "(emulated)";
    case cudaErrorInvalidConfiguration:
        return "invalid configuration argument (emulated)";
    case cudaErrorInvalidResourceHandle:
        return "invalid resource handle (emulated)";
    case cudaErrorMisalignedAddress:
        return "misaligned address (emulated)";
    default:
        return "error (emulated)";
    }
}
