/* The fiber scheduler of the device emulation (bt_emu_device.h): a launch is queued on its stream
 * (tests/emu/emu_runtime.c) and, when the stream runs, its blocks run one after the other, each
 * block's threads as ucontext fibers. A thread runs until it finishes or reaches a barrier
 * (__syncthreads: the block; a shuffle: its warp); a barrier opens when every live thread it spans
 * has reached it, and a block whose threads wait at different barriers is reported as a deadlock.
 * Shortcut: when a block's first thread finishes without reaching any barrier, the block's other
 * threads run as plain calls (no fiber), and one that reaches a barrier anyway is reported as a
 * divergent barrier (BT_EMU_FIBERS=1 keeps every thread a fiber). On x86-64 a fiber switch saves
 * and restores the callee-saved registers only (ucontext's swapcontext costs two system calls per
 * switch, which made shuffle-heavy kernels 10x slower); elsewhere ucontext. Switches are annotated
 * for AddressSanitizer.
 *
 * Schedule perturbation (BT_EMU_ORDER): `forward` (the default) runs blocks in grid order and, in
 * every stretch between barriers, threads in index order; `reverse` runs both backwards; `shuffle`
 * (or `shuffle:SEED`) draws a fresh random order of the blocks for every launch and of the threads
 * for every stretch. A kernel whose result depends on that order has a race a GPU can show: a
 * thread reading shared or global memory another thread of its block writes in the same stretch
 * (a missing __syncthreads), a block reading what another block of the same launch writes, or a
 * floating-point sum in atomic order where bit-exactness is claimed.
 *
 * Concurrent blocks (BT_EMU_BLOCK_THREADS=N, N > 1): the launch's blocks (in BT_EMU_ORDER's block
 * order) are handed out one at a time to N host threads -- the one running the stream and N - 1
 * pool threads -- that run them at once, each block whole on one host thread. Every host thread
 * has its own scheduler (Sched: fibers, stacks, the running block's dynamic and static shared
 * memory), so blocks share nothing but global memory, as on a device. The race log
 * (BT_EMU_RACECHECK, bt_emu_race.cpp) is told where each block starts and ends. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <vector>

#include "tests/emu/device/bt_emu_race.h"

#include "tests/emu/device/bt_emu_device.h"
#include "emu.h"

#if defined(__SANITIZE_ADDRESS__)
#define BT_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BT_EMU_ASAN 1
#endif
#endif
#ifdef BT_EMU_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#if defined(__x86_64__)
#define BT_EMU_FAST_SWITCH 1
/* bt_emu_ctx_switch(&from_sp, to_sp): pushes the callee-saved registers on the current stack,
 * stores the stack pointer in *from_sp, and pops the same from to_sp's stack (System V x86-64 ABI:
 * everything else is caller-saved; the SSE / x87 control words are left alone, nothing here
 * changes them, and saving them costs more than the rest of the switch). */
extern "C" void bt_emu_ctx_switch(void **from_sp, void *to_sp);
__asm__(".text\n"
        ".globl bt_emu_ctx_switch\n"
        ".type bt_emu_ctx_switch,@function\n"
        "bt_emu_ctx_switch:\n"
        "    pushq %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    movq %rsp, (%rdi)\n"
        "    movq %rsi, %rsp\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    ret\n"
        ".size bt_emu_ctx_switch,.-bt_emu_ctx_switch\n"
        ".section .note.GNU-stack,\"\",@progbits\n"
        ".text\n");
#endif

namespace {

enum { RUNNABLE = 0, AT_SYNC = 1, AT_SHFL = 2, DONE = 3 };

struct Fiber {
#ifdef BT_EMU_FAST_SWITCH
    void *sp; /* saved stack pointer while switched out */
#else
    ucontext_t ctx;
#endif
    int state;
    bool plain;       /* runs as a plain call on the scheduler's stack */
    bool met_barrier; /* reached __syncthreads or a shuffle at least once */
    bt_emu_thread t;
    uint64_t xv; /* value offered in a warp exchange */
    int linear;  /* index in the block */
    void *fake_stack;
};

#ifdef BT_EMU_ASAN
const size_t STACK = 512 * 1024; /* instrumented frames are larger */
#else
const size_t STACK = 128 * 1024;
#endif
const unsigned MAXT = 1024;

/* Static shared memory of one block (CUDA's limit, with the launch's dynamic shared memory). */
const size_t SMEM_LIMIT = 48 * 1024;

/* A host thread's scheduler: the block it runs and everything that block owns. */
struct Sched {
#ifdef BT_EMU_FAST_SWITCH
    void *sched_sp = nullptr;
#else
    ucontext_t sched_ctx;
    ucontext_t template_ctx;
    bool have_template = false;
#endif
    std::vector<Fiber> fibers;
    unsigned block_n = 0; /* threads of the running block */
    const std::function<void()> *body = nullptr;
    char *stacks = nullptr;
    std::vector<char> dyn_smem;
    size_t dyn_bytes = 0;
    /* the running block's static __shared__ variables: (prototype, copy in smem) */
    std::vector<std::pair<const void *, void *>> shared;
    alignas(64) char smem[SMEM_LIMIT];
    size_t smem_used = 0;
    uint64_t rng = 0;            /* splitmix64 state of `shuffle`'s thread orders */
    std::vector<unsigned> order; /* the running block's threads in scheduling order */
    std::vector<unsigned> pos;   /* pos[linear]: its index in `order` */
};

/* The calling host thread's scheduler (nullptr until it runs a block) and the thread of its block
 * that runs (nullptr: none). Initial-exec: threadIdx and every fiber switch read them. */
thread_local Sched *S __attribute__((tls_model("initial-exec"))) = nullptr;
thread_local Fiber *cur __attribute__((tls_model("initial-exec"))) = nullptr;
bt_emu_thread host_thread;
int always_fibers = -1;

enum { ORDER_FORWARD = 0, ORDER_REVERSE = 1, ORDER_SHUFFLE = 2 };
int order_mode = -1;          /* BT_EMU_ORDER, read at the first launch */
uint64_t order_seed = 0;      /* shuffle's seed */
uint64_t order_rng = 0;       /* splitmix64 state of `shuffle`'s block orders */
std::vector<unsigned> blocks; /* the running launch's block indices in running order */
unsigned block_threads = 0;   /* BT_EMU_BLOCK_THREADS (1: one after another) */
unsigned n_scheds = 0;        /* schedulers made so far (seeds their thread orders) */

[[noreturn]] void fatal(const char *what) {
    const bt_emu_thread &t = cur ? cur->t : host_thread;
    fprintf(stderr,
            "emu device: %s (thread %u,%u,%u of block %u,%u,%u; block %ux%ux%u, grid %ux%ux%u)\n",
            what, t.tid.x, t.tid.y, t.tid.z, t.bid.x, t.bid.y, t.bid.z, t.bdim.x, t.bdim.y,
            t.bdim.z, t.gdim.x, t.gdim.y, t.gdim.z);
    abort();
}

#ifdef BT_EMU_ASAN
/* The host thread's stack, where the scheduler runs (per thread: any host thread may flush a
 * stream). */
thread_local const void *sched_stack_bottom = nullptr;
thread_local size_t sched_stack_size = 0;

void find_sched_stack() {
    if (sched_stack_bottom) return;
    pthread_attr_t at;
    void *addr = nullptr;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &at) == 0) {
        pthread_attr_getstack(&at, &addr, &size);
        pthread_attr_destroy(&at);
    }
    sched_stack_bottom = addr;
    sched_stack_size = size;
}

/* Tells ASan the next switch goes to fiber `to` (nullptr: the scheduler); save: where the
 * leaving fiber's fake stack is kept (nullptr: the leaving fiber is finished). */
void asan_leave(void **save, const Fiber *to) {
    if (to)
        __sanitizer_start_switch_fiber(save, S->stacks + (size_t)to->linear * STACK, STACK);
    else
        __sanitizer_start_switch_fiber(save, sched_stack_bottom, sched_stack_size);
}
#endif

void switch_to_fiber(Fiber *f) {
    Sched &s = *S;
    cur = f;
#ifdef BT_EMU_ASAN
    void *fake = nullptr;
    asan_leave(&fake, f);
#endif
#ifdef BT_EMU_FAST_SWITCH
    bt_emu_ctx_switch(&s.sched_sp, f->sp);
#else
    swapcontext(&s.sched_ctx, &f->ctx);
#endif
#ifdef BT_EMU_ASAN
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
    cur = nullptr;
}

/* A fiber that stops hands over straight to the next runnable thread of its block (one switch
 * instead of two through the scheduler); the scheduler runs when none is left. */
Fiber *next_runnable(const Fiber *f) {
#if defined(BT_EMU_FAST_SWITCH)
    Sched &s = *S;
    for (unsigned p = s.pos[(unsigned)f->linear] + 1; p < s.block_n; p++)
        if (s.fibers[s.order[p]].state == RUNNABLE) return &s.fibers[s.order[p]];
#else
    (void)f;
#endif
    return nullptr;
}

/* (A fiber never leaves its host thread, so S is the same before and after every switch.) */
void fiber_main() {
#ifdef BT_EMU_ASAN
    __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
#endif
    Sched &s = *S;
    (*s.body)();
    cur->state = DONE;
    Fiber *next = next_runnable(cur);
#ifdef BT_EMU_ASAN
    asan_leave(nullptr, next);
#endif
#ifdef BT_EMU_FAST_SWITCH
    void *dead;
    if (next) cur = next;
    bt_emu_ctx_switch(&dead, next ? next->sp : s.sched_sp); /* never resumed */
    abort();
#else
    (void)next; /* ucontext: returns to sched_ctx through uc_link */
#endif
}

void yield_as(int state) {
    Sched *s = S;
    Fiber *f = cur;
    if (!f) fatal("__syncthreads or a shuffle outside a kernel");
    f->met_barrier = true;
    if (f->plain)
        fatal(
            "divergent barrier: this thread reached __syncthreads or a shuffle that the first "
            "thread of its block finished without (BT_EMU_FIBERS=1 runs every thread as a fiber)");
    f->state = state;
    Fiber *next = next_runnable(f);
#ifdef BT_EMU_ASAN
    asan_leave(&f->fake_stack, next);
#endif
#ifdef BT_EMU_FAST_SWITCH
    if (next) cur = next;
    bt_emu_ctx_switch(&f->sp, next ? next->sp : s->sched_sp);
    /* whoever resumed this fiber set cur to it */
#else
    (void)next;
    swapcontext(&f->ctx, &s->sched_ctx);
#endif
#ifdef BT_EMU_ASAN
    __sanitizer_finish_switch_fiber(f->fake_stack, nullptr, nullptr);
#endif
}

void set_coords(Fiber &f, unsigned i, dim3 b, dim3 g, unsigned bx, unsigned by, unsigned bz) {
    f.linear = (int)i;
    f.t.tid = dim3(i % b.x, (i / b.x) % b.y, i / (b.x * b.y));
    f.t.bid = dim3(bx, by, bz);
    f.t.bdim = b;
    f.t.gdim = g;
    f.state = RUNNABLE;
    f.plain = false;
    f.met_barrier = false;
    f.fake_stack = nullptr;
}

void make_fiber(Sched &s, Fiber &f) {
#ifdef BT_EMU_FAST_SWITCH
    /* a frame bt_emu_ctx_switch pops into fiber_main, entered with the stack pointer 8 below a
     * 16-byte boundary as after a call (its return address, 0, is never used) */
    /* stack tops staggered by 64 + 64 bytes per thread, so that they do not all fall into the
     * same cache sets */
    uintptr_t top = ((uintptr_t)(s.stacks + (size_t)(f.linear + 1) * STACK -
                                 64 * (size_t)(1 + (f.linear & 63)))) &
                    ~(uintptr_t)15;
#ifdef BT_EMU_ASAN
    /* the stack's last fiber never returned from fiber_main: its frame's redzones are still
     * poisoned */
    char *hi = s.stacks + (size_t)(f.linear + 1) * STACK;
    __asan_unpoison_memory_region(hi - 16384, 16384);
#endif
    void **sp = (void **)top;
    *--sp = nullptr;                             /* fiber_main's return address */
    *--sp = (void *)&fiber_main;                 /* popped by ret */
    for (int r = 0; r < 6; r++) *--sp = nullptr; /* rbp rbx r12 r13 r14 r15 */
    f.sp = sp;
#else
    if (!s.have_template) {
        getcontext(&s.template_ctx); /* once: saves a signal-mask system call per fiber */
        s.have_template = true;
    }
    f.ctx = s.template_ctx;
    f.ctx.uc_stack.ss_sp = s.stacks + (size_t)f.linear * STACK;
    f.ctx.uc_stack.ss_size = STACK;
    f.ctx.uc_link = &s.sched_ctx;
    makecontext(&f.ctx, fiber_main, 0);
#endif
}

uint64_t order_next(uint64_t &rng) {
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Shuffles v[from..) in place (Fisher-Yates on the splitmix64 stream rng). */
void shuffle_from(std::vector<unsigned> &v, unsigned from, uint64_t &rng) {
    for (unsigned i = (unsigned)v.size(); i > from + 1; i--) {
        unsigned j = from + (unsigned)(order_next(rng) % (i - from));
        unsigned t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* v[0..n) = 0..n-1 in the order of BT_EMU_ORDER (shuffle: a fresh draw from rng). */
void order_fill(std::vector<unsigned> &v, unsigned n, uint64_t &rng) {
    v.resize(n);
    for (unsigned i = 0; i < n; i++) v[i] = order_mode == ORDER_REVERSE ? n - 1 - i : i;
    if (order_mode == ORDER_SHUFFLE) shuffle_from(v, 0, rng);
}

/* The thread order for the next stretch between barriers: forward and reverse keep theirs;
 * shuffle draws places `keep`.. afresh (the first `keep` places are fibers already running). */
void order_threads(Sched &s, unsigned n, unsigned keep) {
    if (s.order.size() == n && order_mode != ORDER_SHUFFLE) return;
    if (s.order.size() != n) order_fill(s.order, n, s.rng);
    if (order_mode == ORDER_SHUFFLE) shuffle_from(s.order, keep, s.rng);
    s.pos.resize(n);
    for (unsigned p = 0; p < n; p++) s.pos[s.order[p]] = p;
}

/* The settings read at the first launch: BT_EMU_ORDER, BT_EMU_FIBERS, BT_EMU_BLOCK_THREADS. */
void read_settings() {
    const char *f = getenv("BT_EMU_FIBERS");
    always_fibers = f && strcmp(f, "1") == 0;
    const char *t = getenv("BT_EMU_BLOCK_THREADS");
    block_threads = 1;
    if (t && *t) {
        char *end = nullptr;
        unsigned long v = strtoul(t, &end, 10);
        if (*end || v < 1 || v > 256) {
            fprintf(stderr, "emu device: BT_EMU_BLOCK_THREADS=%s: expected 1 to 256\n", t);
            abort();
        }
        block_threads = (unsigned)v;
        if (v > 1) fprintf(stderr, "emu device: BT_EMU_BLOCK_THREADS=%s\n", t);
    }
    const char *e = getenv("BT_EMU_ORDER");
    order_mode = ORDER_FORWARD;
    if (!e || !*e || strcmp(e, "forward") == 0) return;
    if (strcmp(e, "reverse") == 0)
        order_mode = ORDER_REVERSE;
    else if (strncmp(e, "shuffle", 7) == 0 && (e[7] == 0 || e[7] == ':')) {
        order_mode = ORDER_SHUFFLE;
        order_seed = order_rng = e[7] ? strtoull(e + 8, nullptr, 10) : 1;
    } else {
        fprintf(stderr,
                "emu device: BT_EMU_ORDER=%s: expected forward, reverse, shuffle or "
                "shuffle:SEED\n",
                e);
        abort();
    }
    fprintf(stderr, "emu device: BT_EMU_ORDER=%s\n", e);
}

/* Runs every fiber of the block from place `first` of `order` on (earlier ones already exist) to
 * completion. */
void run_fibers(Sched &s, unsigned n, unsigned first) {
    order_threads(s, n, first);
    for (unsigned p = first; p < n; p++) make_fiber(s, s.fibers[s.order[p]]);
    s.block_n = n;
    std::vector<Fiber> &fibers = s.fibers;
    for (bool again = false;; again = true) {
        if (again && order_mode == ORDER_SHUFFLE) order_threads(s, n, 0);
        for (unsigned p = 0; p < n; p++)
            if (fibers[s.order[p]].state == RUNNABLE) switch_to_fiber(&fibers[s.order[p]]);
        bool any = false;
        for (unsigned w = 0; w < n; w += 32) {
            bool live = false, all_warp = true;
            for (unsigned i = w; i < n && i < w + 32; i++) {
                int st = fibers[i].state;
                if (st == DONE) continue;
                live = true;
                if (st != AT_SHFL) all_warp = false;
            }
            if (live && all_warp) {
                for (unsigned i = w; i < n && i < w + 32; i++)
                    if (fibers[i].state == AT_SHFL) fibers[i].state = RUNNABLE;
                any = true;
            }
        }
        if (any) continue;
        bool all_done = true, all_sync = true;
        for (unsigned i = 0; i < n; i++) {
            int st = fibers[i].state;
            if (st != DONE) all_done = false;
            if (st != DONE && st != AT_SYNC) all_sync = false;
        }
        if (all_done) return;
        if (!all_sync) {
            cur = nullptr;
            for (unsigned i = 0; i < n; i++)
                if (fibers[i].state == AT_SHFL) cur = &fibers[i];
            fatal("deadlock: threads of one block wait at __syncthreads while others wait in a "
                  "warp shuffle");
        }
        for (unsigned i = 0; i < n; i++)
            if (fibers[i].state == AT_SYNC) fibers[i].state = RUNNABLE;
    }
}

struct launch_op {
    std::function<void()> *body;
    const char *name;
    dim3 g, b;
    size_t smem;
    int owned; /* deleted after its run (not part of a captured graph) */
};

/* Frees a host thread's scheduler when the thread ends (a pool thread of the executor that ran
 * blocks: without it LeakSanitizer reports its buffers once the thread is gone). */
struct SchedOwner {
    ~SchedOwner() {
        if (!S) return;
        munmap(S->stacks, STACK * MAXT);
        delete S;
        S = nullptr;
    }
};
thread_local SchedOwner sched_owner;

/* The calling host thread's scheduler, made at its first block. */
Sched &sched_get() {
    if (S) return *S;
    (void)&sched_owner; /* constructed now, so destroyed at the thread's exit */
    Sched *s = new Sched();
    s->stacks = (char *)mmap(nullptr, STACK * MAXT, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (s->stacks == MAP_FAILED) fatal("cannot map fiber stacks");
    unsigned k = __atomic_add_fetch(&n_scheds, 1, __ATOMIC_RELAXED);
    s->rng = order_seed + 0xD1B54A32D192ED03ull * k; /* each host thread its own stream */
    S = s;
    return *s;
}

/* Readies the calling host thread's scheduler for blocks of op. */
void sched_prepare(Sched &s, const launch_op *op) {
#ifdef BT_EMU_ASAN
    find_sched_stack();
#endif
    s.body = op->body;
    s.dyn_bytes = op->smem;
    s.dyn_smem.assign(op->smem ? op->smem + 16 : 16, (char)0xA5);
    s.fibers.assign(op->b.x * op->b.y * op->b.z, Fiber());
}

/* Runs block lb (linear index in the grid) of op on the calling host thread. */
void run_block(Sched &s, const launch_op *op, unsigned lb) {
    const dim3 g = op->g, b = op->b;
    const unsigned n = b.x * b.y * b.z;
    const unsigned bx = lb % g.x, by = (lb / g.x) % g.y, bz = lb / (g.x * g.y);
    /* shared memory starts as garbage in every block (static __shared__ variables at their first
     * use in the block: bt_emu_shared_block) */
    if (op->smem) memset(s.dyn_smem.data(), 0xA5, op->smem);
    s.shared.clear();
    s.smem_used = 0;
    for (unsigned i = 0; i < n; i++) set_coords(s.fibers[i], i, b, g, bx, by, bz);
    bt_emu_race_block_begin(lb);
    if (always_fibers) {
        run_fibers(s, n, 0);
        bt_emu_race_block_end();
        return;
    }
    order_threads(s, n, 0);
    Fiber &first = s.fibers[s.order[0]];
    make_fiber(s, first);
    s.block_n = 1; /* the others have no fiber yet */
    switch_to_fiber(&first);
    if (first.met_barrier) {
        run_fibers(s, n, 1);
        bt_emu_race_block_end();
        return;
    }
    for (unsigned p = 1; p < n; p++) {
        cur = &s.fibers[s.order[p]];
        cur->plain = true;
        (*s.body)();
        cur->state = DONE;
    }
    cur = nullptr;
    bt_emu_race_block_end();
}

/* The pool of BT_EMU_BLOCK_THREADS - 1 host threads that run blocks beside the one running the
 * stream. Launches run one at a time (under the emulated runtime's lock), so one pool serves
 * them all; its threads live as long as the process (detached, never joined). */
struct Pool {
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t go = PTHREAD_COND_INITIALIZER, done = PTHREAD_COND_INITIALIZER;
    const launch_op *op = nullptr;
    uint64_t gen = 0;     /* launches handed out so far */
    unsigned busy = 0;    /* pool threads not done with the current launch */
    unsigned next = 0;    /* the next place of `blocks` to run (taken atomically) */
    unsigned nblocks = 0; /* places in `blocks` */
};
Pool *pool = nullptr;

/* Runs blocks of op from `blocks` until none is left. */
void run_share(const launch_op *op) {
    Sched &s = sched_get();
    sched_prepare(s, op);
    for (;;) {
        unsigned k = __atomic_fetch_add(&pool->next, 1, __ATOMIC_RELAXED);
        if (k >= pool->nblocks) break;
        run_block(s, op, blocks[k]);
    }
    s.body = nullptr;
}

void *pool_main(void *) {
    uint64_t seen = 0;
    pthread_mutex_lock(&pool->mu);
    for (;;) {
        while (pool->gen == seen) pthread_cond_wait(&pool->go, &pool->mu);
        seen = pool->gen;
        const launch_op *op = pool->op;
        pthread_mutex_unlock(&pool->mu);
        run_share(op);
        pthread_mutex_lock(&pool->mu);
        if (--pool->busy == 0) pthread_cond_signal(&pool->done);
    }
    return nullptr;
}

/* Runs the launch's blocks on the calling thread and the pool's, returning when all are done. */
void run_concurrent(const launch_op *op, unsigned nblocks) {
    if (!pool) {
        pool = new Pool();
        for (unsigned i = 1; i < block_threads; i++) {
            pthread_t t;
            if (pthread_create(&t, nullptr, pool_main, nullptr) != 0)
                fatal("cannot start the block threads");
            pthread_detach(t);
        }
    }
    pthread_mutex_lock(&pool->mu);
    pool->op = op;
    pool->next = 0;
    pool->nblocks = nblocks;
    pool->busy = block_threads - 1;
    pool->gen++;
    pthread_cond_broadcast(&pool->go);
    pthread_mutex_unlock(&pool->mu);
    run_share(op);
    pthread_mutex_lock(&pool->mu);
    while (pool->busy) pthread_cond_wait(&pool->done, &pool->mu);
    pthread_mutex_unlock(&pool->mu);
}

void run_launch(void *arg) {
    const launch_op *op = (const launch_op *)arg;
    bt_emu_count_kernel();
    if (order_mode < 0) read_settings();
    const dim3 g = op->g;
    const unsigned nblocks = g.x * g.y * g.z;
    order_fill(blocks, nblocks, order_rng);
    bt_emu_race_launch_begin(op->name, g);
    if (block_threads > 1 && nblocks > 1)
        run_concurrent(op, nblocks);
    else {
        Sched &s = sched_get();
        sched_prepare(s, op);
        for (unsigned k = 0; k < nblocks; k++) run_block(s, op, blocks[k]);
        s.body = nullptr;
    }
    bt_emu_race_launch_end();
    if (op->owned) delete op->body;
}

/* Bodies of launches captured into a graph live as long as the process (graphs replay them):
 * a list that is never destroyed, so they stay reachable for LeakSanitizer at exit. */
std::vector<std::function<void()> *> *captured = new std::vector<std::function<void()> *>();

} // namespace

bt_emu_thread *bt_emu_cur() {
    Fiber *f = cur;
    return f ? &f->t : &host_thread;
}

void __syncthreads() {
    yield_as(AT_SYNC);
}

int bt_emu_lane() {
    const Fiber *f = cur;
    return f ? f->linear & 31 : 0;
}

uint64_t bt_emu_xchg(uint64_t v, int src_lane) {
    Sched *s = S;
    Fiber *f = cur;
    if (!f) fatal("warp shuffle outside a kernel");
    f->xv = v;
    yield_as(AT_SHFL); /* every live lane of the warp has offered its value */
    size_t base = (size_t)f->linear & ~(size_t)31;
    size_t src = base + (size_t)(src_lane & 31);
    uint64_t r = src < s->fibers.size() ? s->fibers[src].xv : v;
    yield_as(AT_SHFL); /* every lane has read before any offers again */
    return r;
}

void *bt_emu_dyn_smem() {
    Sched *s = S;
    if (!cur) fatal("dynamic shared memory outside a kernel");
    return s->dyn_smem.data();
}

void *bt_emu_shared_block(const void *key, size_t n, size_t align) {
    Sched *s = S;
    if (!cur) fatal("a __shared__ variable outside a kernel");
    for (const auto &e : s->shared) /* a kernel has a few */
        if (e.first == key) return e.second;
    const size_t at = (s->smem_used + align - 1) / align * align;
    if (align > 64 || at + n + s->dyn_bytes > SMEM_LIMIT)
        fatal("static and dynamic shared memory of the block over 48 KiB (or aligned past 64)");
    void *p = s->smem + at;
    s->smem_used = at + n;
    memset(p, 0xA5, n);
    s->shared.push_back({key, p});
    return p;
}

void bt_emu_launch(dim3 g, dim3 b, size_t smem, cudaStream_t stream, const char *name,
                   std::function<void()> fn) {
    unsigned long long threads = (unsigned long long)b.x * b.y * b.z;
    if (g.x == 0 || g.y == 0 || g.z == 0 || g.y > 65535 || g.z > 65535 || b.x == 0 || b.y == 0 ||
        b.z == 0 || b.z > 64 || threads > MAXT || smem > 48 * 1024) {
        fprintf(stderr, "emu device: invalid launch: grid %ux%ux%u, block %ux%ux%u, %zu bytes\n",
                g.x, g.y, g.z, b.x, b.y, b.z, smem);
        bt_emu_set_last_error(cudaErrorInvalidConfiguration);
        return;
    }
    enum cudaStreamCaptureStatus cs = cudaStreamCaptureStatusNone;
    if (stream) cudaStreamIsCapturing(stream, &cs);
    launch_op op = {new std::function<void()>(std::move(fn)), name, g, b, smem,
                    cs == cudaStreamCaptureStatusNone};
    cudaError_t e = bt_emu_enqueue(stream, run_launch, &op, sizeof op, 1);
    if (e != cudaSuccess) {
        delete op.body;
        bt_emu_set_last_error(e);
        return;
    }
    if (!op.owned) captured->push_back(op.body);
}
