/* The race log of the device emulation (bt_emu_race.h; BT_EMU_RACECHECK=1, or 2 to also verify
 * the log's coverage). The emulated kernels are compiled with -fsanitize=thread but linked without
 * ThreadSanitizer's runtime: the compiler calls __tsan_write4(p) and friends before every store,
 * and this file defines them. A store by a running block, into a device allocation (cudaMalloc's:
 * shared memory, fiber stacks and host memory are not), is noted for that block; atomics note
 * themselves (bt_emu_race_atomic, from bt_emu_device.h). At a block's end its notes are merged
 * into disjoint intervals, two lists per block (plain stores, atomics); at the launch's end all
 * blocks' intervals, from every host thread, are sorted by address and swept: two blocks on one
 * byte, a plain store on either side, is a race -- on a GPU the outcome depends on which block's
 * store lands last (a plain store can also tear an atomic's read-modify-write). The first one is
 * reported with the kernel, the bytes, the allocation and both blocks, and the process aborts,
 * like the emulation's other errors. Reads are not logged (a block reading what another writes
 * in the same launch is BT_EMU_ORDER's business). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <vector>

#include "tests/emu/device/bt_emu_race.h"
#include "emu.h"

namespace {

struct Span {
    uintptr_t lo, hi; /* bytes [lo, hi) */
};
struct Rec {
    uintptr_t lo, hi;
    unsigned block; /* linear index in the grid */
    unsigned atomic;
};

/* One per host thread that runs blocks. */
struct Log {
    bool on = false; /* a race-checked block runs on this thread */
    unsigned block = 0;
    size_t hint = 0;               /* the allocation the last note hit */
    std::vector<Span> plain, atom; /* the running block's notes */
    size_t compact_at = 1 << 16;   /* notes of one kind before they are merged */
    std::vector<Rec> recs;         /* the blocks this thread ran in the launch, merged */
};

thread_local Log *L __attribute__((tls_model("initial-exec"))) = nullptr;
pthread_mutex_t logs_mu = PTHREAD_MUTEX_INITIALIZER;
std::vector<Log *> *logs = new std::vector<Log *>(); /* every thread's, never freed */

int mode = -1; /* BT_EMU_RACECHECK: 0 off, 1 log, 2 log and verify */
bool launch_on = false;
const char *kernel = "";
dim3 grid;
bt_emu_range *allocs = nullptr; /* the launch's device allocations, sorted */
size_t n_allocs = 0;
uintptr_t lo_all = 0, hi_all = 0;
std::vector<std::vector<char>> before; /* mode 2: each allocation's bytes before the launch */

/* Set by __tsan_init, which every instrumented object's constructor calls when the module loads:
 * only libbatchtune_cuda_emurace.so's kernels are (CMakeLists.txt). */
int instrumented = 0;

void read_mode() {
    const char *e = getenv("BT_EMU_RACECHECK");
    mode = 0;
    if (!e || !*e || strcmp(e, "0") == 0) return;
    if (strcmp(e, "1") == 0 || strcmp(e, "2") == 0)
        mode = e[0] - '0';
    else {
        fprintf(stderr, "emu device: BT_EMU_RACECHECK=%s: expected 0, 1 or 2\n", e);
        abort();
    }
    if (!instrumented) {
        fprintf(stderr,
                "emu device: BT_EMU_RACECHECK=%s: this module's kernels are not instrumented; "
                "the race log needs libbatchtune_cuda_emurace.so (built by GCC builds without "
                "BT_SANITIZE)\n",
                e);
        abort();
    }
    fprintf(stderr, "emu device: BT_EMU_RACECHECK=%s\n", e);
}

/* The index of the allocation holding byte a, or n_allocs. */
size_t find_alloc(uintptr_t a) {
    size_t lo = 0, hi = n_allocs;
    while (lo < hi) { /* the first allocation starting past a */
        size_t mid = (lo + hi) / 2;
        if ((uintptr_t)allocs[mid].p <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) return n_allocs;
    const bt_emu_range &r = allocs[lo - 1];
    return a < (uintptr_t)r.p + r.bytes ? lo - 1 : n_allocs;
}

bool in_device(Log &l, uintptr_t a) {
    if (l.hint < n_allocs) {
        const bt_emu_range &r = allocs[l.hint];
        if (a >= (uintptr_t)r.p && a < (uintptr_t)r.p + r.bytes) return true;
    }
    size_t i = find_alloc(a);
    if (i == n_allocs) return false;
    l.hint = i;
    return true;
}

/* Sorts v and merges overlapping and adjacent spans. */
void compact(std::vector<Span> &v) {
    std::sort(v.begin(), v.end(), [](const Span &a, const Span &b) { return a.lo < b.lo; });
    size_t k = 0;
    for (size_t i = 0; i < v.size(); i++) {
        if (k && v[i].lo <= v[k - 1].hi)
            v[k - 1].hi = std::max(v[k - 1].hi, v[i].hi);
        else
            v[k++] = v[i];
    }
    v.resize(k);
}

inline void note(const void *p, size_t n, bool atomic) {
    Log *l = L;
    if (!l || !l->on || !n) return;
    const uintptr_t a = (uintptr_t)p;
    if (a >= hi_all || a + n <= lo_all || !in_device(*l, a)) return;
    std::vector<Span> &v = atomic ? l->atom : l->plain;
    if (!v.empty()) { /* consecutive stores of a thread or of neighbouring threads */
        Span &b = v.back();
        if (a == b.hi) {
            b.hi = a + n;
            return;
        }
        if (a >= b.lo && a + n <= b.hi) return;
        if (a + n == b.lo) {
            b.lo = a;
            return;
        }
    }
    v.push_back({a, a + n});
    if (v.size() >= l->compact_at) {
        compact(v);
        l->compact_at = std::max(l->compact_at, 2 * v.size());
    }
}

void block_coords(unsigned lb, unsigned c[3]) {
    c[0] = lb % grid.x;
    c[1] = (lb / grid.x) % grid.y;
    c[2] = lb / (grid.x * grid.y);
}

/* "offset X of a Y-byte allocation at P" for address a. */
void describe(uintptr_t a, char *out, size_t cap) {
    size_t i = find_alloc(a);
    if (i == n_allocs)
        snprintf(out, cap, "not device memory");
    else
        snprintf(out, cap, "offset %zu of a %zu-byte allocation at %p",
                 (size_t)(a - (uintptr_t)allocs[i].p), allocs[i].bytes, (const void *)allocs[i].p);
}

[[noreturn]] void report(const Rec &x, const Rec &y) {
    const uintptr_t lo = std::max(x.lo, y.lo), hi = std::min(x.hi, y.hi);
    unsigned a[3], b[3];
    block_coords(y.block, a);
    block_coords(x.block, b);
    char where[160];
    describe(lo, where, sizeof where);
    fprintf(stderr,
            "emu device: race in kernel %s (grid %ux%ux%u): bytes [%p, %p) (%s) written by "
            "block %u,%u,%u (%s) and block %u,%u,%u (%s) in one launch -- two blocks on one "
            "byte, not both atomic\n",
            kernel, grid.x, grid.y, grid.z, (const void *)lo, (const void *)hi, where, a[0], a[1],
            a[2], y.atomic ? "atomic" : "plain store", b[0], b[1], b[2],
            x.atomic ? "atomic" : "plain store");
    abort();
}

/* The two intervals seen so far reaching farthest, from two different blocks: for any block b,
 * the farthest-reaching interval of another block is one of them. */
struct Reach {
    Rec top[2];
    int n = 0;
    /* the farthest-reaching interval of a block other than b (nullptr: none) */
    const Rec *other(unsigned b) const {
        for (int i = 0; i < n; i++)
            if (top[i].block != b) return &top[i];
        return nullptr;
    }
    void add(const Rec &r) {
        if (n > 0 && top[0].block == r.block) {
            if (r.hi > top[0].hi) top[0] = r;
        } else if (n == 0 || r.hi > top[0].hi) { /* the old first stays, as another block's */
            top[1] = top[0];
            top[0] = r;
            n = n ? 2 : 1;
        } else if (n == 1 || r.hi > top[1].hi) { /* (a second of r's block, or a shorter one) */
            top[1] = r;
            n = 2;
        }
    }
};

/* Reports the first race among recs, sorted by address. */
void sweep(const std::vector<Rec> &recs) {
    Reach any, plain;
    for (const Rec &x : recs) {
        /* a plain store races with anything of another block, an atomic with plain stores */
        const Rec *y = (x.atomic ? plain : any).other(x.block);
        if (y && y->hi > x.lo) report(x, *y);
        any.add(x);
        if (!x.atomic) plain.add(x);
    }
}

/* Mode 2: every byte the launch changed lies in a logged interval; otherwise a store escaped the
 * instrumentation (a memcpy or memset the compiler expanded inline, code built without it). */
void verify(const std::vector<Rec> &recs) {
    std::vector<Span> all;
    all.reserve(recs.size());
    for (const Rec &r : recs) all.push_back({r.lo, r.hi});
    compact(all);
    for (size_t i = 0; i < n_allocs && i < before.size(); i++) {
        const char *now = allocs[i].p;
        for (size_t k = 0; k < allocs[i].bytes; k++) {
            if (now[k] == before[i][k]) continue;
            const uintptr_t a = (uintptr_t)(now + k);
            auto it = std::upper_bound(all.begin(), all.end(), a,
                                       [](uintptr_t v, const Span &s) { return v < s.lo; });
            if (it != all.begin() && a < (it - 1)->hi) {
                k = (it - 1)->hi - (uintptr_t)now - 1; /* skip the covered span */
                continue;
            }
            char where[160];
            describe(a, where, sizeof where);
            fprintf(stderr,
                    "emu device: kernel %s (grid %ux%ux%u) changed the byte at %p (%s) but no "
                    "logged store covers it: a store the race log cannot see (a memcpy or memset "
                    "expanded inline, or code built without the instrumentation)\n",
                    kernel, grid.x, grid.y, grid.z, (const void *)a, where);
            abort();
        }
    }
}

} // namespace

void bt_emu_race_launch_begin(const char *name, dim3 g) {
    if (mode < 0) read_mode();
    launch_on = mode > 0;
    if (!launch_on) return;
    kernel = name ? name : "?";
    grid = g;
    free(allocs);
    allocs = bt_emu_alloc_table(&n_allocs);
    lo_all = n_allocs ? (uintptr_t)allocs[0].p : 0;
    hi_all = 0;
    for (size_t i = 0; i < n_allocs; i++)
        hi_all = std::max(hi_all, (uintptr_t)allocs[i].p + allocs[i].bytes);
    before.clear();
    if (mode == 2)
        for (size_t i = 0; i < n_allocs; i++)
            before.emplace_back(allocs[i].p, allocs[i].p + allocs[i].bytes);
}

void bt_emu_race_block_begin(unsigned lb) {
    if (!launch_on) return;
    if (!L) {
        L = new Log();
        pthread_mutex_lock(&logs_mu);
        logs->push_back(L);
        pthread_mutex_unlock(&logs_mu);
    }
    L->on = true;
    L->block = lb;
}

void bt_emu_race_block_end(void) {
    Log *l = L;
    if (!l || !l->on) return;
    l->on = false;
    for (int atomic = 0; atomic < 2; atomic++) {
        std::vector<Span> &v = atomic ? l->atom : l->plain;
        compact(v);
        for (const Span &s : v) l->recs.push_back({s.lo, s.hi, l->block, (unsigned)atomic});
        v.clear();
    }
}

void bt_emu_race_launch_end(void) {
    if (!launch_on) return;
    launch_on = false;
    std::vector<Rec> recs;
    pthread_mutex_lock(&logs_mu);
    for (Log *l : *logs) {
        recs.insert(recs.end(), l->recs.begin(), l->recs.end());
        l->recs.clear();
    }
    pthread_mutex_unlock(&logs_mu);
    std::sort(recs.begin(), recs.end(),
              [](const Rec &a, const Rec &b) { return a.lo != b.lo ? a.lo < b.lo : a.hi > b.hi; });
    sweep(recs);
    if (mode == 2) verify(recs);
    before.clear();
}

/* ---- the instrumentation's callbacks (GCC -fsanitize=thread) ---- */

void bt_emu_race_atomic(const void *p, size_t n) {
    note(p, n, true);
}

extern "C" {
int bt_emu_race_instrumented(void) {
    return instrumented;
}
void __tsan_init(void) {
    instrumented = 1;
}
void __tsan_func_entry(void *) {} /* (turned off: --param=tsan-instrument-func-entry-exit=0) */
void __tsan_func_exit(void) {}
/* loads are not logged */
#define BT_EMU_TSAN_READ(name)                                                                     \
    void name(void *) {}
BT_EMU_TSAN_READ(__tsan_read1)
BT_EMU_TSAN_READ(__tsan_read2)
BT_EMU_TSAN_READ(__tsan_read4)
BT_EMU_TSAN_READ(__tsan_read8)
BT_EMU_TSAN_READ(__tsan_read16)
BT_EMU_TSAN_READ(__tsan_unaligned_read2)
BT_EMU_TSAN_READ(__tsan_unaligned_read4)
BT_EMU_TSAN_READ(__tsan_unaligned_read8)
BT_EMU_TSAN_READ(__tsan_unaligned_read16)
void __tsan_read_range(void *, size_t) {}
void __tsan_vptr_read(void **) {}
#define BT_EMU_TSAN_WRITE(name, n)                                                                 \
    void name(void *p) {                                                                           \
        note(p, n, false);                                                                         \
    }
BT_EMU_TSAN_WRITE(__tsan_write1, 1)
BT_EMU_TSAN_WRITE(__tsan_write2, 2)
BT_EMU_TSAN_WRITE(__tsan_write4, 4)
BT_EMU_TSAN_WRITE(__tsan_write8, 8)
BT_EMU_TSAN_WRITE(__tsan_write16, 16)
BT_EMU_TSAN_WRITE(__tsan_unaligned_write2, 2)
BT_EMU_TSAN_WRITE(__tsan_unaligned_write4, 4)
BT_EMU_TSAN_WRITE(__tsan_unaligned_write8, 8)
BT_EMU_TSAN_WRITE(__tsan_unaligned_write16, 16)
void __tsan_write_range(void *p, size_t n) {
    note(p, n, false);
}
void __tsan_vptr_update(void **p, void *) {
    note(p, sizeof *p, false);
}
}
