/* Graph capture under the CUDA emulation (tests/emu, see emu.h): the emulated runtime's capture
 * rules -- the interaction modes, device synchronization and the legacy stream, from the capturing
 * thread and from others -- and the CUDA gbdt pack meeting them: a capture another thread
 * invalidates (an nn pack's cuBLAS handle destroyed meanwhile synchronizes the device) and a graph
 * that cannot be instantiated leave the step successful with the bits of a run without graphs,
 * the key runs directly from then on, an instantiation out of memory retries the round smaller
 * where that is sound; the pack's own allocations and frees never meet another pack's capture.
 * Built as emulated CUDA code (BT_HAVE_CUDA, the emulated <cuda_runtime.h>): it reads the pack's
 * graph cache (models/gbdt/cuda/internal.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/emu/emu.h"
#include "kernels/philox.h"
#include "models/gbdt/cuda/internal.h"
#include "models/gbdt/cuda/pack.h"
#include "models/gbdt/gbdt.h"
#include "models/gbdt/trainer.h"
#include "tests/bt_test.h"
#include "tests/gbdt_fixtures.h"
#include "tests/test_rng.h"

/* ---- another host thread ------------------------------------------------------------------ */

typedef struct call {
    cudaError_t (*fn)(void *arg);
    void *arg;
    cudaError_t e;
} call;

static void *call_run(void *arg) {
    call *c = arg;
    c->e = c->fn(c->arg);
    return NULL;
}

/* fn(arg) on a thread of its own (joined): its error. */
static cudaError_t on_thread(cudaError_t (*fn)(void *), void *arg) {
    call c = {fn, arg, cudaErrorUnknown};
    pthread_t th;
    if (pthread_create(&th, NULL, call_run, &c) != 0) return cudaErrorUnknown;
    pthread_join(th, NULL);
    return c.e;
}

static cudaError_t do_malloc_free(void *arg) {
    (void)arg;
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, 64);
    if (e != cudaSuccess) return e;
    return cudaFree(p);
}

static cudaError_t do_free(void *arg) {
    return cudaFree(arg);
}

static cudaError_t do_pinned(void *arg) {
    (void)arg;
    void *p = NULL;
    cudaError_t e = cudaMallocHost(&p, 64);
    if (e != cudaSuccess) return e;
    return cudaFreeHost(p);
}

static cudaError_t do_device_sync(void *arg) {
    (void)arg;
    return cudaDeviceSynchronize();
}

static cudaError_t do_legacy_sync(void *arg) {
    (void)arg;
    return cudaStreamSynchronize(NULL);
}

/* a synchronous copy to the device (arg: 16 bytes of device memory) */
static cudaError_t do_memcpy(void *arg) {
    char host[16] = {0};
    return cudaMemcpy(arg, host, sizeof host, cudaMemcpyHostToDevice);
}

static cudaError_t do_legacy_memset(void *arg) {
    return cudaMemsetAsync(arg, 0, 16, NULL);
}

/* a malloc from a thread that set its own interaction mode first (arg: the mode) */
static cudaError_t do_malloc_in_mode(void *arg) {
    enum cudaStreamCaptureMode m = *(enum cudaStreamCaptureMode *)arg;
    cudaThreadExchangeStreamCaptureMode(&m);
    cudaError_t e = do_malloc_free(NULL);
    cudaThreadExchangeStreamCaptureMode(&m);
    return e;
}

/* ---- the emulated runtime's capture rules ------------------------------------------------- */

/* Begins a capture on s in `mode`, runs fn on another thread (own: on this one), checks its
 * error, records one memset (which fails once the capture is invalid), ends the capture and
 * checks whether it survived. */
static void rule(const char *what, cudaStream_t s, enum cudaStreamCaptureMode mode, int own,
                 cudaError_t (*fn)(void *), void *arg, cudaError_t want, int survives, void *dev) {
    bt_emu_stats a, b;
    bt_emu_stats_get(&a);
    CHECK(cudaStreamBeginCapture(s, mode) == cudaSuccess);
    cudaError_t e = own ? fn(arg) : on_thread(fn, arg);
    cudaError_t m = cudaMemsetAsync(dev, 1, 16, s);
    cudaGraph_t g = NULL;
    cudaError_t end = cudaStreamEndCapture(s, &g);
    bt_emu_stats_get(&b);
    CHECK_MSG(e == want, "%s: the call returned %d, not %d", what, (int)e, (int)want);
    if (survives) {
        CHECK_MSG(m == cudaSuccess && end == cudaSuccess && g != NULL,
                  "%s: the capture did not survive (memset %d, end %d)", what, (int)m, (int)end);
    } else {
        CHECK_MSG(m == cudaErrorStreamCaptureInvalidated &&
                      end == cudaErrorStreamCaptureInvalidated && g == NULL,
                  "%s: the capture survived (memset %d, end %d)", what, (int)m, (int)end);
        CHECK_EQ_INT(b.captures_invalidated - a.captures_invalidated, 1);
    }
    if (g) cudaGraphDestroy(g);
    printf("  %s: call %d, capture %s\n", what, (int)e,
           end == cudaSuccess ? "kept" : "invalidated");
}

static void test_rules(void) {
    const enum cudaStreamCaptureMode G = cudaStreamCaptureModeGlobal,
                                     TL = cudaStreamCaptureModeThreadLocal,
                                     R = cudaStreamCaptureModeRelaxed;
    const cudaError_t OK = cudaSuccess, NO = cudaErrorStreamCaptureUnsupported,
                      IMPLICIT = cudaErrorStreamCaptureImplicit;
    cudaStream_t nb = NULL, bl = NULL; /* non-blocking, blocking */
    CHECK(cudaStreamCreateWithFlags(&nb, cudaStreamNonBlocking) == cudaSuccess);
    CHECK(cudaStreamCreate(&bl) == cudaSuccess);
    void *dev = NULL, *spare = NULL;
    CHECK(cudaMalloc(&dev, 16) == cudaSuccess);
    /* global mode: unsafe calls from any thread in global mode invalidate it */
    rule("global, malloc from another thread", nb, G, 0, do_malloc_free, NULL, NO, 0, dev);
    rule("global, pinned alloc from another thread", nb, G, 0, do_pinned, NULL, NO, 0, dev);
    rule("global, synchronous copy from another thread", nb, G, 0, do_memcpy, dev, NO, 0, dev);
    rule("global, legacy sync from another thread", nb, G, 0, do_legacy_sync, NULL, NO, 0, dev);
    rule("global, malloc from the capturing thread", nb, G, 1, do_malloc_free, NULL, NO, 0, dev);
    enum cudaStreamCaptureMode tl = TL, rx = R, gl = G;
    rule("global, malloc from a thread-local-mode thread", nb, G, 0, do_malloc_in_mode, &tl, OK, 1,
         dev);
    rule("global, malloc from a relaxed-mode thread", nb, G, 0, do_malloc_in_mode, &rx, OK, 1, dev);
    rule("global, malloc from a global-mode thread", nb, G, 0, do_malloc_in_mode, &gl, NO, 0, dev);
    /* thread-local: other threads may allocate, free, copy; not synchronize the device */
    rule("thread-local, malloc+free from another thread", nb, TL, 0, do_malloc_free, NULL, OK, 1,
         dev);
    rule("thread-local, pinned alloc from another thread", nb, TL, 0, do_pinned, NULL, OK, 1, dev);
    rule("thread-local, synchronous copy from another thread", nb, TL, 0, do_memcpy, dev, OK, 1,
         dev);
    rule("thread-local, malloc from the capturing thread", nb, TL, 1, do_malloc_free, NULL, NO, 0,
         dev);
    rule("thread-local, device sync from another thread", nb, TL, 0, do_device_sync, NULL, NO, 0,
         dev);
    /* relaxed: unsafe calls pass even on the capturing thread; device sync does not */
    rule("relaxed, malloc from the capturing thread", nb, R, 1, do_malloc_free, NULL, OK, 1, dev);
    rule("relaxed, device sync from another thread", nb, R, 0, do_device_sync, NULL, NO, 0, dev);
    /* a blocking stream's capture: the legacy stream may not be used, whatever the modes */
    rule("blocking, thread-local, synchronous copy from another thread", bl, TL, 0, do_memcpy, dev,
         IMPLICIT, 0, dev);
    rule("blocking, relaxed, legacy memset from another thread", bl, R, 0, do_legacy_memset, dev,
         IMPLICIT, 0, dev);
    rule("blocking, thread-local, legacy sync from another thread", bl, TL, 0, do_legacy_sync, NULL,
         IMPLICIT, 0, dev);
    rule("non-blocking, thread-local, legacy memset from another thread", nb, TL, 0,
         do_legacy_memset, dev, OK, 1, dev);
    /* cudaFree's implicit wait for the device, read as a device synchronization */
    bt_emu_set_free_syncs_device(1);
    CHECK(cudaMalloc(&spare, 16) == cudaSuccess);
    rule("free syncs device, thread-local, free from another thread", nb, TL, 0, do_free, spare, NO,
         0, dev);
    rule("free syncs device, relaxed, pinned free from another thread", nb, R, 0, do_pinned, NULL,
         NO, 0, dev);
    bt_emu_set_free_syncs_device(0);
    rule("thread-local, free from another thread", nb, TL, 0, do_free, spare, OK, 1, dev);
    /* the calling thread's mode is swapped, the old one returned */
    enum cudaStreamCaptureMode m = R;
    CHECK(cudaThreadExchangeStreamCaptureMode(&m) == cudaSuccess && m == G);
    CHECK(cudaThreadExchangeStreamCaptureMode(&m) == cudaSuccess && m == R);
    /* instantiation failures on request */
    CHECK(cudaStreamBeginCapture(nb, TL) == cudaSuccess);
    CHECK(cudaMemsetAsync(dev, 2, 16, nb) == cudaSuccess);
    cudaGraph_t g = NULL;
    CHECK(cudaStreamEndCapture(nb, &g) == cudaSuccess);
    cudaGraphExec_t x = NULL;
    bt_emu_fail_instantiations(1);
    CHECK(cudaGraphInstantiate(&x, g, 0) == cudaErrorMemoryAllocation && x == NULL);
    CHECK(cudaGraphInstantiate(&x, g, 0) == cudaSuccess && x != NULL);
    cudaGraphExecDestroy(x);
    cudaGraphDestroy(g);
    CHECK(cudaStreamSynchronize(nb) == cudaSuccess);
    CHECK(cudaFree(dev) == cudaSuccess);
    CHECK(cudaStreamDestroy(nb) == cudaSuccess);
    CHECK(cudaStreamDestroy(bl) == cudaSuccess);
}

/* Whether the n bytes at p all equal v. */
static int all_bytes(const unsigned char *p, int n, int v) {
    for (int i = 0; i < n; i++)
        if (p[i] != (unsigned char)v) return 0;
    return 1;
}

/* Host copies in a capture: one whose host side is pinned memory is captured and copies at each
 * launch of the graph (as CUDA captures it); one whose host side is pageable -- wholly or in part
 * -- is refused and invalidates the capture. Pinned memory freed while a queued copy still uses
 * it, or freed under a graph that copies into it, is a violation. */
static void test_copy_rules(void) {
    const enum cudaStreamCaptureMode TL = cudaStreamCaptureModeThreadLocal;
    cudaStream_t s = NULL;
    CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) == cudaSuccess);
    unsigned char *dev = NULL, *pin = NULL, page[64];
    CHECK(cudaMalloc((void **)&dev, 64) == cudaSuccess);
    CHECK(cudaMallocHost((void **)&pin, 64) == cudaSuccess);
    if (!dev || !pin) return;
    CHECK(cudaMemset(dev, 0x5A, 64) == cudaSuccess);
    memset(pin, 0, 64);
    /* device to pinned: captured, nothing copied until a launch, then at every launch */
    cudaGraph_t g = NULL;
    cudaGraphExec_t x = NULL;
    CHECK(cudaStreamBeginCapture(s, TL) == cudaSuccess);
    CHECK(cudaMemcpyAsync(pin, dev, 64, cudaMemcpyDeviceToHost, s) == cudaSuccess);
    CHECK(cudaStreamEndCapture(s, &g) == cudaSuccess && g != NULL);
    CHECK(cudaStreamSynchronize(s) == cudaSuccess && all_bytes(pin, 64, 0));
    CHECK(g && cudaGraphInstantiate(&x, g, 0) == cudaSuccess);
    CHECK(x && cudaGraphLaunch(x, s) == cudaSuccess);
    CHECK(cudaStreamSynchronize(s) == cudaSuccess && all_bytes(pin, 64, 0x5A));
    CHECK(cudaMemset(dev, 0x6B, 64) == cudaSuccess);
    CHECK(x && cudaGraphLaunch(x, s) == cudaSuccess);
    CHECK(cudaStreamSynchronize(s) == cudaSuccess && all_bytes(pin, 64, 0x6B));
    cudaGraphExecDestroy(x);
    cudaGraphDestroy(g);
    /* pinned to the device: captured too */
    memset(pin, 0x7C, 64);
    CHECK(cudaStreamBeginCapture(s, TL) == cudaSuccess);
    CHECK(cudaMemcpyAsync(dev, pin, 64, cudaMemcpyHostToDevice, s) == cudaSuccess);
    CHECK(cudaStreamEndCapture(s, &g) == cudaSuccess && g != NULL);
    cudaGraphDestroy(g);
    /* pageable host sides, and a range that runs past the pinned block: refused, invalidated */
    struct {
        const char *what;
        void *dst;
        const void *src;
        size_t bytes;
        enum cudaMemcpyKind kind;
    } refused[] = {
        {"device to pageable", page, dev, 64, cudaMemcpyDeviceToHost},
        {"pageable to device", dev, page, 64, cudaMemcpyHostToDevice},
        {"device to a range past a pinned block", pin + 32, dev, 64, cudaMemcpyDeviceToHost}};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        bt_emu_stats a, b;
        bt_emu_stats_get(&a);
        CHECK(cudaStreamBeginCapture(s, TL) == cudaSuccess);
        cudaError_t e =
            cudaMemcpyAsync(refused[i].dst, refused[i].src, refused[i].bytes, refused[i].kind, s);
        cudaError_t end = cudaStreamEndCapture(s, &g);
        bt_emu_stats_get(&b);
        CHECK_MSG(e == cudaErrorStreamCaptureUnsupported &&
                      end == cudaErrorStreamCaptureInvalidated && g == NULL,
                  "%s in a capture: copy %d, end %d", refused[i].what, (int)e, (int)end);
        CHECK_EQ_INT(b.captures_invalidated - a.captures_invalidated, 1);
        printf("  %s in a capture: copy %d, capture invalidated\n", refused[i].what, (int)e);
    }
    /* pinned memory freed while a copy into it is queued */
    bt_emu_stats a, b;
    bt_emu_stats_get(&a);
    CHECK(cudaMemcpyAsync(pin, dev, 64, cudaMemcpyDeviceToHost, s) == cudaSuccess);
    CHECK(cudaFreeHost(pin) == cudaSuccess);
    bt_emu_stats_get(&b);
    CHECK_EQ_INT(b.violations - a.violations, 1);
    CHECK(strstr(bt_emu_violation(), "freed while a queued copy still uses it") != NULL);
    /* ... and under a graph that copies into it */
    CHECK(cudaMallocHost((void **)&pin, 64) == cudaSuccess);
    CHECK(cudaStreamBeginCapture(s, TL) == cudaSuccess);
    CHECK(cudaMemcpyAsync(pin, dev, 64, cudaMemcpyDeviceToHost, s) == cudaSuccess);
    CHECK(cudaStreamEndCapture(s, &g) == cudaSuccess);
    CHECK(cudaGraphInstantiate(&x, g, 0) == cudaSuccess);
    CHECK(cudaFreeHost(pin) == cudaSuccess); /* no copy queued: not a violation yet */
    bt_emu_stats_get(&a);
    CHECK(cudaGraphLaunch(x, s) == cudaSuccess);
    bt_emu_stats_get(&b);
    CHECK_EQ_INT(b.violations - a.violations, 1);
    cudaGraphExecDestroy(x);
    cudaGraphDestroy(g);
    printf("  pinned memory freed under a queued copy or a graph's copy: violations\n");
    bt_emu_stats_reset(); /* the two violations above were on purpose */
    CHECK(cudaFree(dev) == cudaSuccess);
    CHECK(cudaStreamDestroy(s) == cudaSuccess);
}

/* ---- a neighbour thread that meets the pack's captures ------------------------------------ */

/* Runs `act` on its own thread each time the capture hook asks: the capturing thread waits (up to
 * wait_ms) until it has run, so the call lands inside the capture -- unless something keeps the
 * neighbour out until the capture ended, which is what the pack's capture lock does. */
typedef struct neighbour {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int asked, done, quit;
    int armed; /* captures still to meet (-1: all) */
    int wait_ms;
    void (*act)(struct neighbour *);
    void *arg;
    int refused; /* acts whose CUDA call was refused */
    pthread_t th;
} neighbour;

static void *neighbour_run(void *arg) {
    neighbour *nb = arg;
    pthread_mutex_lock(&nb->mu);
    for (;;) {
        while (!nb->quit && nb->done == nb->asked) pthread_cond_wait(&nb->cv, &nb->mu);
        if (nb->done == nb->asked) break;
        pthread_mutex_unlock(&nb->mu);
        nb->act(nb);
        pthread_mutex_lock(&nb->mu);
        nb->done++;
        pthread_cond_broadcast(&nb->cv);
    }
    pthread_mutex_unlock(&nb->mu);
    return NULL;
}

static void neighbour_hook(void *arg) {
    neighbour *nb = arg;
    pthread_mutex_lock(&nb->mu);
    if (nb->armed != 0) {
        if (nb->armed > 0) nb->armed--;
        int want = ++nb->asked;
        pthread_cond_broadcast(&nb->cv);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += nb->wait_ms / 1000;
        until.tv_nsec += (long)(nb->wait_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (nb->done < want)
            if (pthread_cond_timedwait(&nb->cv, &nb->mu, &until) == ETIMEDOUT) break;
    }
    pthread_mutex_unlock(&nb->mu);
}

static void neighbour_start(neighbour *nb, void (*act)(neighbour *), void *arg, int armed,
                            int wait_ms) {
    memset(nb, 0, sizeof *nb);
    pthread_mutex_init(&nb->mu, NULL);
    pthread_cond_init(&nb->cv, NULL);
    nb->act = act;
    nb->arg = arg;
    nb->armed = armed;
    nb->wait_ms = wait_ms;
    CHECK(pthread_create(&nb->th, NULL, neighbour_run, nb) == 0);
    bt_emu_set_capture_hook(neighbour_hook, nb);
}

static void neighbour_stop(neighbour *nb) {
    bt_emu_set_capture_hook(NULL, NULL);
    pthread_mutex_lock(&nb->mu);
    nb->quit = 1;
    pthread_cond_broadcast(&nb->cv);
    pthread_mutex_unlock(&nb->mu);
    pthread_join(nb->th, NULL);
    pthread_mutex_destroy(&nb->mu);
    pthread_cond_destroy(&nb->cv);
}

/* what an nn pack's teardown does: cublasDestroy synchronizes the device */
static void act_device_sync(neighbour *nb) {
    if (cudaDeviceSynchronize() != cudaSuccess) nb->refused++;
}

/* another gbdt pack given back (its buffers freed) */
static void act_pack_free(neighbour *nb) {
    bt_pack **pp = nb->arg;
    if (*pp) bt_gbdt_cuda_packs.pack_free(*pp);
    *pp = NULL;
}

/* ---- the gbdt pack ------------------------------------------------------------------------ */

enum { TRIALS = 10, ROUNDS = 5 };

typedef struct fixture {
    bt_dataset tr, va;
    bt_model_data data;
    bt_value t[TRIALS][BT_GBDT_N_PARAMS];
} fixture;

static void fixture_make(fixture *f, int64_t n) {
    memset(f, 0, sizeof *f);
    bt_test_gbdt_make_data(urand, &f->tr, &f->va, BT_TASK_REGRESSION, 0, n, n / 3 + 1, 6, 5);
    bt_model_data d = {&f->tr, &f->va, BT_TASK_REGRESSION, 0, NULL, 1, NULL};
    f->data = d;
    for (int i = 0; i < TRIALS; i++) {
        bt_test_gbdt_random_trial(f->t[i], &bt_test_gbdt_pack_trials, urand, "reg:squarederror", 0);
        f->t[i][BT_GBDT_EARLY_STOPPING_ROUNDS] = bt_value_int(0);
    }
}

static void fixture_free(fixture *f) {
    const bt_pack_ops *gpu = &bt_gbdt_cuda_packs;
    if (gpu->data_release) gpu->data_release(&f->data);
    bt_gbdt_family.data_free(&f->data);
    bt_dataset_free(&f->tr);
    bt_dataset_free(&f->va);
}

/* A pack of the fixture's trials, graphs on or off (read at pack_init), slots started. */
static bt_pack *pack_make(fixture *f, int graphs) {
    const bt_pack_ops *gpu = &bt_gbdt_cuda_packs;
    bt_gbdt_cuda_set_graphs(graphs);
    bt_hparams h0 = {f->t[0]};
    bt_pack *p = NULL;
    CHECK_OK(gpu->pack_init(&p, &f->data, &h0, TRIALS));
    bt_gbdt_cuda_set_graphs(1);
    for (int i = 0; p && i < TRIALS; i++) {
        bt_hparams h = {f->t[i]};
        CHECK_OK(gpu->slot_start(p, i, &h, bt_philox_key(3, (uint64_t)i)));
    }
    return p;
}

/* Steps p `rounds` times; the first failure's status. */
static bt_status pack_steps(bt_pack *p, int rounds) {
    int slots[TRIALS];
    for (int i = 0; i < TRIALS; i++) slots[i] = i;
    for (int r = 0; r < rounds; r++) {
        bt_status st = bt_gbdt_cuda_packs.step(p, slots, TRIALS);
        if (st != BT_STATUS_OK) return st;
    }
    return BT_STATUS_OK;
}

/* Two slots' models are the same bit for bit: rounds, flags, every node of every tree. */
static int same_model(const bt_gbdt_slot *a, const bt_gbdt_slot *b) {
    if (!a || !b) return a == b;
    if (a->n_trees != b->n_trees || a->round != b->round || a->failed != b->failed ||
        a->stopped != b->stopped)
        return 0;
    for (int64_t t = 0; t < a->n_trees; t++)
        if (a->trees[t].n_nodes != b->trees[t].n_nodes ||
            memcmp(a->trees[t].nodes, b->trees[t].nodes,
                   (size_t)a->trees[t].n_nodes * sizeof(bt_gbdt_node)) != 0)
            return 0;
    return 1;
}

static int models_differ(const bt_pack *a, const bt_pack *b) {
    int diff = 0;
    for (int i = 0; i < TRIALS; i++) diff += !same_model(a->slots[i], b->slots[i]);
    return diff;
}

/* A neighbour thread synchronizes the device inside every capture of the first rounds (an nn
 * pack's cuBLAS handle destroyed meanwhile): the captures are invalidated, yet every step
 * succeeds and the models are those of a pack without graphs, bit for bit. */
static void test_invalidated_captures(fixture *f, int device_levels) {
    bt_gbdt_cuda_set_device_levels(device_levels);
    bt_pack *ref = pack_make(f, 0), *p = pack_make(f, 1);
    bt_gbdt_cuda_set_device_levels(1);
    if (!ref || !p) return;
    CHECK_OK(pack_steps(ref, ROUNDS));
    neighbour nb;
    neighbour_start(&nb, act_device_sync, NULL, -1, 10000);
    bt_emu_stats a, b;
    bt_emu_stats_get(&a);
    bt_status st = pack_steps(p, ROUNDS);
    bt_emu_stats_get(&b);
    neighbour_stop(&nb);
    CHECK_MSG(st == BT_STATUS_OK, "a step failed: %s", bt_status_message());
    int64_t inval = b.captures_invalidated - a.captures_invalidated;
    int diff = st == BT_STATUS_OK ? models_differ(ref, p) : -1;
    printf("  %s: %lld captures invalidated by a device sync from another thread, %d refused "
           "syncs, %lld graphs instantiated; %d models differ from the run without graphs\n",
           device_levels ? "levels on the device" : "levels on the host", (long long)inval,
           nb.refused, (long long)(b.instantiations - a.instantiations), diff);
    CHECK(inval > 0 && nb.refused == inval);
    CHECK_EQ_INT(b.instantiations - a.instantiations, 0); /* every capture failed */
    CHECK_EQ_INT(diff, 0);
    bt_gbdt_cuda_packs.pack_free(ref);
    bt_gbdt_cuda_packs.pack_free(p);
}

/* With cudaFree read as a device synchronization: another gbdt pack freed (from another thread)
 * while this one captures waits for the capture to end -- no capture is invalidated -- and the
 * models are those of a pack without graphs. */
static void test_free_meets_capture(fixture *f) {
    bt_pack *ref = pack_make(f, 0), *p = pack_make(f, 1), *other = pack_make(f, 1);
    if (!ref || !p || !other) return;
    CHECK_OK(pack_steps(ref, ROUNDS));
    CHECK_OK(pack_steps(other, 1));
    bt_emu_set_free_syncs_device(1);
    neighbour nb;
    neighbour_start(&nb, act_pack_free, &other, 1, 200);
    bt_emu_stats a, b;
    bt_emu_stats_get(&a);
    bt_status st = pack_steps(p, ROUNDS);
    bt_emu_stats_get(&b);
    neighbour_stop(&nb);
    bt_emu_set_free_syncs_device(0);
    CHECK_MSG(st == BT_STATUS_OK, "a step failed: %s", bt_status_message());
    int64_t inval = b.captures_invalidated - a.captures_invalidated;
    int diff = st == BT_STATUS_OK ? models_differ(ref, p) : -1;
    printf("  another pack freed during a capture (cudaFree as a device sync): %lld captures "
           "invalidated, %d models differ\n",
           (long long)inval, diff);
    CHECK(other == NULL && nb.done == 1);
    CHECK_EQ_INT(inval, 0);
    CHECK_EQ_INT(diff, 0);
    bt_gbdt_cuda_packs.pack_free(ref);
    bt_gbdt_cuda_packs.pack_free(p);
}

/* ---- the graph cache's fallback, key by key ------------------------------------------------ */

typedef struct fill_params {
    unsigned char *p;
    int32_t value, bytes;
} fill_params;

/* a launch group: two memsets of the buffer's halves */
static bt_status fill_enqueue(cuda_pack *c, const void *params) {
    const fill_params *f = params;
    CU(cudaMemsetAsync(f->p, f->value, (size_t)f->bytes / 2, c->stream));
    CU(cudaMemsetAsync(f->p + f->bytes / 2, f->value, (size_t)(f->bytes - f->bytes / 2),
                       c->stream));
    return BT_STATUS_OK;
}

static graph_entry *entry_of(cuda_pack *c, const fill_params *f) {
    for (int i = 0; i < c->n_graphs; i++)
        if (c->graphs[i].fn == fill_enqueue && memcmp(c->graphs[i].key, f, sizeof *f) == 0)
            return &c->graphs[i];
    return NULL;
}

/* Runs key f through the cache on a cleared buffer: its status; *ok says the buffer holds f's
 * value after the stream is synchronized. */
static bt_status fill_run(cuda_pack *c, const fill_params *f, int *ok) {
    CHECK(cudaMemsetAsync(f->p, 0, (size_t)f->bytes, c->stream) == cudaSuccess);
    bt_status st = bt_gcu_graph_run(c, fill_enqueue, f, sizeof *f);
    CHECK(cudaStreamSynchronize(c->stream) == cudaSuccess);
    unsigned char host[64];
    CHECK(cudaMemcpy(host, f->p, (size_t)f->bytes, cudaMemcpyDeviceToHost) == cudaSuccess);
    *ok = 1;
    for (int i = 0; i < f->bytes; i++) *ok &= host[i] == (unsigned char)f->value;
    return st;
}

/* A key's second sight is captured: invalidated (a device sync from another thread), it runs
 * directly with the same bytes and is never captured again; an instantiation out of memory is out
 * of memory while a retry is sound, else the key runs directly; a good key is replayed. */
static void test_graph_fallback(fixture *f) {
    bt_pack *p = pack_make(f, 1);
    if (!p) return;
    cuda_pack *c = (cuda_pack *)p;
    unsigned char *d = NULL;
    CHECK(cudaMalloc((void **)&d, 64) == cudaSuccess);
    fill_params k1, k2, k3;
    memset(&k1, 0, sizeof k1); /* keys are compared with memcmp, padding included */
    k1.p = d;
    k1.value = 0x11;
    k1.bytes = 64;
    k2 = k1;
    k2.value = 0x22;
    k3 = k1;
    k3.value = 0x33;
    int ok = 0;
    bt_emu_stats a, b;
    /* first sight: direct */
    CHECK_OK(fill_run(c, &k1, &ok));
    CHECK(ok && entry_of(c, &k1) && !entry_of(c, &k1)->exec && !entry_of(c, &k1)->direct);
    /* second sight: captured, invalidated by another thread, run directly */
    neighbour nb;
    neighbour_start(&nb, act_device_sync, NULL, 1, 10000);
    bt_emu_stats_get(&a);
    CHECK_OK(fill_run(c, &k1, &ok));
    bt_emu_stats_get(&b);
    neighbour_stop(&nb);
    CHECK(ok);
    CHECK_EQ_INT(b.captures_invalidated - a.captures_invalidated, 1);
    CHECK_EQ_INT(b.copies - a.copies, 2 + 1); /* fill's two memsets directly, and the clear */
    CHECK(entry_of(c, &k1)->direct && !entry_of(c, &k1)->exec);
    CHECK_EQ_INT(c->capture_failures, 1);
    /* from then on: direct, never captured */
    for (int r = 0; r < 3; r++) {
        bt_emu_stats_get(&a);
        CHECK_OK(fill_run(c, &k1, &ok));
        bt_emu_stats_get(&b);
        CHECK(ok);
        CHECK_EQ_INT(b.captures + b.captures_invalidated - a.captures - a.captures_invalidated, 0);
        CHECK_EQ_INT(b.graph_launches - a.graph_launches, 0);
    }
    /* an instantiation out of memory while a retry is sound: out of memory, the key not given up */
    CHECK_OK(fill_run(c, &k2, &ok));
    c->retry_ok = 1;
    c->oom = 0;
    bt_emu_fail_instantiations(1);
    bt_status st = fill_run(c, &k2, &ok);
    CHECK(st != BT_STATUS_OK && c->oom == 1 && !entry_of(c, &k2)->direct);
    bt_status_clear();
    /* ... and where a retry is not sound: the key runs directly */
    c->retry_ok = 0;
    c->oom = 0;
    bt_emu_fail_instantiations(1);
    CHECK_OK(fill_run(c, &k2, &ok));
    CHECK(ok && c->oom == 0 && entry_of(c, &k2)->direct);
    CHECK_EQ_INT(c->capture_failures, 2);
    /* a capture that succeeds is replayed */
    CHECK_OK(fill_run(c, &k3, &ok));
    bt_emu_stats_get(&a);
    CHECK_OK(fill_run(c, &k3, &ok));
    CHECK(ok);
    CHECK_OK(fill_run(c, &k3, &ok));
    bt_emu_stats_get(&b);
    CHECK(ok && entry_of(c, &k3)->exec && !entry_of(c, &k3)->direct);
    CHECK_EQ_INT(b.graph_launches - a.graph_launches, 2);
    CHECK_EQ_INT(b.instantiations - a.instantiations, 1);
    printf("  graph cache: an invalidated key and an uninstantiable one run directly (%lld "
           "fallbacks), an out-of-memory instantiation retries, a good key replays\n",
           (long long)c->capture_failures);
    CHECK(cudaFree(d) == cudaSuccess);
    bt_gbdt_cuda_packs.pack_free(p);
}

/* A launch group that reads a device buffer back to the host. */
typedef struct back_params {
    unsigned char *dev, *host;
    int64_t bytes;
} back_params;

static bt_status back_enqueue(cuda_pack *c, const void *params) {
    const back_params *b = params;
    CU(cudaMemcpyAsync(b->host, b->dev, (size_t)b->bytes, cudaMemcpyDeviceToHost, c->stream));
    return BT_STATUS_OK;
}

/* A launch group whose read-back lands in pinned memory is captured and replayed, the bytes
 * arriving at each launch; one whose read-back lands in pageable memory cannot be captured: its
 * capture is invalidated, it runs directly with the same bytes, and the key runs directly from
 * then on (the fallback of a failed capture). */
static void test_graph_readback(fixture *f) {
    bt_pack *p = pack_make(f, 1);
    if (!p) return;
    cuda_pack *c = (cuda_pack *)p;
    unsigned char *d = NULL, *pin = NULL, page[64];
    CHECK(cudaMalloc((void **)&d, 64) == cudaSuccess);
    CHECK(cudaMallocHost((void **)&pin, 64) == cudaSuccess);
    for (int pinned = 1; pinned >= 0 && d && pin; pinned--) {
        back_params k;
        memset(&k, 0, sizeof k); /* compared with memcmp */
        k.dev = d;
        k.host = pinned ? pin : page;
        k.bytes = 64;
        const int64_t failures = c->capture_failures;
        bt_emu_stats a, b;
        bt_emu_stats_get(&a);
        for (int r = 0; r < 4; r++) { /* first sight direct, the second captured, then replays */
            CHECK(cudaMemset(d, 0x21 + r, 64) == cudaSuccess); /* new bytes, the same key */
            memset(k.host, 0, 64);
            CHECK_OK(bt_gcu_graph_run(c, back_enqueue, &k, sizeof k));
            CHECK(cudaStreamSynchronize(c->stream) == cudaSuccess);
            CHECK_MSG(all_bytes(k.host, 64, 0x21 + r), "%s read-back, run %d: wrong bytes",
                      pinned ? "pinned" : "pageable", r);
        }
        bt_emu_stats_get(&b);
        const int64_t inval = b.captures_invalidated - a.captures_invalidated;
        const int64_t replays = b.graph_launches - a.graph_launches;
        printf("  graph cache, a read-back into %s memory: %lld graph launches, %lld captures "
               "invalidated, %lld fallbacks\n",
               pinned ? "pinned" : "pageable", (long long)replays, (long long)inval,
               (long long)(c->capture_failures - failures));
        if (pinned) {
            CHECK_EQ_INT(inval, 0);
            CHECK_EQ_INT(replays, 3);
            CHECK_EQ_INT(c->capture_failures - failures, 0);
        } else {
            CHECK_EQ_INT(inval, 1);
            CHECK_EQ_INT(replays, 0);
            CHECK_EQ_INT(c->capture_failures - failures, 1);
        }
    }
    CHECK(cudaFree(d) == cudaSuccess);
    CHECK(cudaFreeHost(pin) == cudaSuccess);
    bt_gbdt_cuda_packs.pack_free(p);
}

/* ---- an instantiation out of memory inside a step ----------------------------------------- */

typedef struct oom_hook {
    cuda_pack *c;
    int want_retry_ok; /* fail the first instantiation of a capture begun with this retry_ok */
    int fired;
} oom_hook;

static void oom_hook_run(void *arg) {
    oom_hook *h = arg;
    if (!h->fired && h->c->retry_ok == h->want_retry_ok) {
        bt_emu_fail_instantiations(1);
        h->fired = 1;
    }
}

/* A graph's instantiation runs out of memory in a step: where the round may still retry (before
 * any wave's graph ran), the step retries in smaller sub-batches; after a wave wrote its margins
 * the launches run directly. Either way the step succeeds with the bits of a pack without graphs.
 * One tree per wave (histogram budget 1), so rounds have waves after the first. */
static void test_instantiate_oom(fixture *f, int want_retry_ok) {
    bt_gbdt_cuda_set_hist_budget(1);
    bt_pack *ref = pack_make(f, 0), *p = pack_make(f, 1);
    bt_gbdt_cuda_set_hist_budget(0);
    if (!ref || !p) return;
    CHECK_OK(pack_steps(ref, ROUNDS));
    cuda_pack *c = (cuda_pack *)p;
    oom_hook h = {c, want_retry_ok, 0};
    bt_emu_set_capture_hook(oom_hook_run, &h);
    bt_status st = pack_steps(p, ROUNDS);
    bt_emu_set_capture_hook(NULL, NULL);
    CHECK_MSG(st == BT_STATUS_OK, "a step failed: %s", bt_status_message());
    int diff = st == BT_STATUS_OK ? models_differ(ref, p) : -1;
    printf("  instantiation out of memory %s: batch %d of %d, %lld fallbacks, %d models differ\n",
           want_retry_ok ? "before any wave ran" : "after a wave ran", c->max_batch, TRIALS,
           (long long)c->capture_failures, diff);
    CHECK(h.fired);
    if (want_retry_ok) {
        CHECK(c->max_batch < TRIALS); /* the smaller-batch retry ran */
        CHECK_EQ_INT(c->capture_failures, 0);
    } else {
        CHECK_EQ_INT(c->max_batch, TRIALS);
        CHECK_EQ_INT(c->capture_failures, 1);
    }
    CHECK_EQ_INT(diff, 0);
    bt_gbdt_cuda_packs.pack_free(ref);
    bt_gbdt_cuda_packs.pack_free(p);
}

int main(void) {
    const char *s = getenv("BT_TEST_SEED");
    uint64_t seed = s && *s ? strtoull(s, NULL, 10) : (uint64_t)time(NULL);
    printf("test_capture_emu: seed %llu (BT_TEST_SEED replays it)\n", (unsigned long long)seed);
    bt_test_rng_seed(seed);
    bt_emu_stats_reset();
    test_copy_rules();
    test_rules();
    fixture f;
    fixture_make(&f, 1500);
    test_invalidated_captures(&f, 1);
    test_invalidated_captures(&f, 0);
    test_free_meets_capture(&f);
    test_graph_fallback(&f);
    test_graph_readback(&f);
    test_instantiate_oom(&f, 1);
    test_instantiate_oom(&f, 0);
    fixture_free(&f);
    bt_emu_stats st;
    bt_emu_stats_get(&st);
    CHECK_MSG(st.violations == 0, "%lld violations, first: %s", (long long)st.violations,
              bt_emu_violation());
    CHECK_MSG(st.bytes_live == 0, "%zu device bytes leaked", st.bytes_live);
    return bt_test_finish("test_capture_emu");
}
