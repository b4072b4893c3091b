/* The device emulation's concurrent blocks and race log (BT_EMU_BLOCK_THREADS, BT_EMU_RACECHECK;
 * docs/cuda.md, "The device emulation"), on kernels of its own: racy ones are reported (the
 * process aborts naming the kernel, the bytes and both blocks), correct ones are not and give
 * exact results with a launch's blocks on 1 and on 4 host threads -- atomics of every type our
 * kernels use, disjoint neighbouring bytes, static __shared__ memory per block (fresh garbage in
 * each, even while other blocks run at once). Each case runs in a child process with its own
 * settings (the emulation reads them at the first launch). Emulation only: built against
 * libbatchtune_cuda_emurace.so, whose kernels -- these too -- are instrumented. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/bt_test.h"
#include "emu.h"

namespace {

const int BLOCKS = 64, THREADS = 64;

/* Every block's thread 0 stores to out[0]: a plain store race between all blocks. */
__global__ void racy_kernel(int *out) {
    if (threadIdx.x == 0) out[0] = (int)blockIdx.x;
}

/* Block 0 stores to *p, the others add to it atomically: a race (the store may land between an
 * atomic's read and its write). */
__global__ void mixed_kernel(unsigned *p) {
    if (threadIdx.x != 0) return;
    if (blockIdx.x == 0)
        *p = 7u;
    else
        atomicAdd(p, 1u);
}

struct wide {
    int64_t v[5]; /* 40 bytes: an aggregate store (__tsan_write_range) */
};

/* Blocks 2k and 2k+1 store one struct each to out[k]. */
__global__ void struct_kernel(wide *out) {
    if (threadIdx.x != 0) return;
    wide w;
    for (int i = 0; i < 5; i++) w.v[i] = (int64_t)blockIdx.x * 10 + i;
    out[blockIdx.x / 2] = w;
}

struct sums {
    unsigned long long ull;
    int i;
    unsigned u;
    float f;
    double d;
    unsigned long long max_ull;
    int min_i;
    int owner;
};

/* No race: every thread adds to shared counters atomically (each type our kernels or this test
 * use), one thread per block claims `owner` by compare-and-swap, and every block writes its own
 * neighbouring bytes and its own slice plainly -- many times from one block, which is not a race
 * between blocks. A block's thread 0 sleeps a little, so that the host threads overlap. */
__global__ void atomic_kernel(sums *s, unsigned char *mine, int *slice, unsigned long *who) {
    const unsigned b = blockIdx.x, t = threadIdx.x;
    if (t == 0) {
        usleep(300);
        who[b] = (unsigned long)pthread_self();
    }
    atomicAdd(&s->ull, 3ull);
    atomicAdd(&s->i, -2);
    atomicAdd(&s->u, 5u);
    atomicAdd(&s->f, 0.5f);
    atomicAdd(&s->d, 0.25);
    atomicMax(&s->max_ull, (unsigned long long)(b * THREADS + t));
    atomicMin(&s->min_i, (int)(b * THREADS + t) - 100);
    if (t == 0) atomicCAS(&s->owner, -1, (int)b);
    mine[b] = (unsigned char)(b + 1);
    slice[b] = -1;
    slice[b] = (int)(b * 7);
}

/* Static shared memory is the block's own: written with the block's index, read back after a
 * pause (other blocks run meanwhile on other host threads); `fresh` is read before any write,
 * so it must hold garbage (0xA5 bytes) in every block, not what an earlier block left. */
__global__ void shared_kernel(int *out, unsigned *fresh) {
    __shared__ int v[THREADS];
    __shared__ unsigned first;
    const unsigned b = blockIdx.x, t = threadIdx.x;
    if (t == 0) fresh[b] = first;
    __syncthreads();
    if (t == 0) first = b;
    v[t] = (int)(b * 1000 + t);
    __syncthreads();
    if (t == 0) usleep(200);
    __syncthreads();
    out[b * THREADS + t] = v[THREADS - 1 - t] + (int)(first - b);
}

/* A memcpy of a run-time size into device memory is a call to the C library's memcpy, which the
 * instrumentation does not see (ThreadSanitizer's runtime would intercept it; none is linked; a
 * constant size becomes an instrumented store): blocks write disjoint bytes (no race), but
 * BT_EMU_RACECHECK=2 sees changed bytes no logged store covers. */
__global__ void unlogged_kernel(char *out, size_t n) {
    if (threadIdx.x != 0) return;
    char src[64];
    for (int i = 0; i < 64; i++) src[i] = (char)(blockIdx.x + i);
    memcpy(out + 64 * blockIdx.x, src, n);
}

template <typename T> T *dev_alloc(size_t n) {
    void *p = nullptr;
    if (cudaMalloc(&p, n * sizeof(T)) != cudaSuccess) abort();
    return (T *)p;
}

template <typename T> std::vector<T> from_dev(const T *p, size_t n) {
    std::vector<T> h(n);
    if (cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost) != cudaSuccess) abort();
    return h;
}

/* ---- the cases, each run in a child (0: it ran and its checks passed) ---- */

int run_racy() {
    int *out = dev_alloc<int>(4);
    racy_kernel<<<BLOCKS, THREADS>>>(out);
    cudaDeviceSynchronize();
    return 0;
}

int run_mixed() {
    unsigned *p = dev_alloc<unsigned>(1);
    mixed_kernel<<<4, 32>>>(p);
    cudaDeviceSynchronize();
    return 0;
}

int run_struct() {
    wide *out = dev_alloc<wide>(BLOCKS / 2);
    struct_kernel<<<BLOCKS, 32>>>(out);
    cudaDeviceSynchronize();
    return 0;
}

int run_atomic() {
    sums *s = dev_alloc<sums>(1);
    sums init = {0, 0, 0, 0.0f, 0.0, 0, 1 << 30, -1};
    cudaMemcpy(s, &init, sizeof init, cudaMemcpyHostToDevice);
    unsigned char *mine = dev_alloc<unsigned char>(BLOCKS);
    int *slice = dev_alloc<int>(BLOCKS);
    unsigned long *who = dev_alloc<unsigned long>(BLOCKS);
    atomic_kernel<<<BLOCKS, THREADS>>>(s, mine, slice, who);
    cudaDeviceSynchronize();
    const sums r = from_dev(s, 1)[0];
    const long long n = (long long)BLOCKS * THREADS;
    CHECK_EQ_INT(r.ull, 3 * n);
    CHECK_EQ_INT(r.i, -2 * n);
    CHECK_EQ_INT(r.u, 5 * n);
    CHECK(r.f == 0.5f * (float)n); /* exact: multiples of 0.5 below 2^23 */
    CHECK(r.d == 0.25 * (double)n);
    CHECK_EQ_INT(r.max_ull, n - 1);
    CHECK_EQ_INT(r.min_i, -100);
    CHECK(r.owner >= 0 && r.owner < BLOCKS);
    std::vector<unsigned char> m = from_dev(mine, BLOCKS);
    std::vector<int> sl = from_dev(slice, BLOCKS);
    std::vector<unsigned long> w = from_dev(who, BLOCKS);
    int hosts = 0;
    for (int b = 0; b < BLOCKS; b++) {
        CHECK_EQ_INT(m[b], b + 1);
        CHECK_EQ_INT(sl[b], 7 * b);
        bool seen = false;
        for (int c = 0; c < b; c++) seen = seen || w[c] == w[b];
        hosts += !seen;
    }
    const char *bt = getenv("BT_EMU_BLOCK_THREADS");
    const int want = bt ? atoi(bt) : 1;
    printf("atomic_kernel: %d blocks ran on %d host threads (BT_EMU_BLOCK_THREADS=%d)\n", BLOCKS,
           hosts, want);
    if (want == 1) CHECK_EQ_INT(hosts, 1);
    if (want > 1) CHECK(hosts > 1 && hosts <= want);
    return bt_test_finish("atomic case");
}

int run_shared() {
    int *out = dev_alloc<int>(BLOCKS * THREADS);
    unsigned *fresh = dev_alloc<unsigned>(BLOCKS);
    for (int rep = 0; rep < 2; rep++) { /* the second launch must not see the first's values */
        shared_kernel<<<BLOCKS, THREADS>>>(out, fresh);
        cudaDeviceSynchronize();
        std::vector<int> o = from_dev(out, BLOCKS * THREADS);
        std::vector<unsigned> f = from_dev(fresh, BLOCKS);
        for (int b = 0; b < BLOCKS; b++) {
            CHECK_MSG(f[b] == 0xA5A5A5A5u, "block %d read %08x before writing", b, f[b]);
            for (int t = 0; t < THREADS; t++)
                CHECK_EQ_INT(o[b * THREADS + t], b * 1000 + THREADS - 1 - t);
        }
    }
    return bt_test_finish("shared case");
}

int run_unlogged() {
    char *out = dev_alloc<char>(64 * 8);
    unlogged_kernel<<<8, 32>>>(out, (size_t)64);
    cudaDeviceSynchronize();
    std::vector<char> h = from_dev(out, 64 * 8);
    for (int b = 0; b < 8; b++)
        for (int i = 0; i < 64; i++) CHECK_EQ_INT(h[64 * b + i], (char)(b + i));
    return bt_test_finish("unlogged case");
}

struct race_case {
    const char *name;
    int (*run)();
    const char *racecheck; /* BT_EMU_RACECHECK */
    /* what the child's stderr must hold after it aborts (NULL: it must exit 0) */
    const char *expect[3];
};

const race_case CASES[] = {
    {"plain stores of all blocks to one int",
     run_racy,
     "1",
     {"race in kernel racy_kernel (grid 64x1x1)", "offset 0 of a 16-byte allocation",
      "(plain store) and block"}},
    {"a plain store and atomics on one word",
     run_mixed,
     "1",
     {"race in kernel mixed_kernel", "block 0,0,0 (plain store)", "(atomic)"}},
    {"aggregate (struct) stores of two blocks",
     run_struct,
     "1",
     {"race in kernel struct_kernel", "offset 0 of a 1280-byte allocation", nullptr}},
    {"atomics of every type, disjoint plain stores", run_atomic, "1", {nullptr}},
    {"static shared memory per block", run_shared, "1", {nullptr}},
    {"a memcpy call: no race", run_unlogged, "1", {nullptr}},
    {"a memcpy call: the coverage check sees it",
     run_unlogged,
     "2",
     {"kernel unlogged_kernel (grid 8x1x1) changed the byte", "no logged store covers it",
      nullptr}},
    {"race log off: the racy kernel passes", run_racy, "0", {nullptr}},
};

/* Runs c in a child with the given settings; checks how it ended and what it printed. */
void run_case(const race_case &c, const char *threads) {
    int fds[2];
    if (pipe(fds) != 0) abort();
    fflush(nullptr);
    pid_t pid = fork();
    if (pid == 0) {
        bt_test_checks_ = bt_test_failures_ = 0; /* the child's own */
        close(fds[0]);
        dup2(fds[1], 2);
        setenv("BT_EMU_RACECHECK", c.racecheck, 1);
        setenv("BT_EMU_BLOCK_THREADS", threads, 1);
        unsetenv("BT_EMU_ORDER");
        const int r = c.run();
        fflush(nullptr);
        _exit(r);
    }
    close(fds[1]);
    std::string err;
    char buf[4096];
    ssize_t k;
    while ((k = read(fds[0], buf, sizeof buf)) > 0) err.append(buf, (size_t)k);
    close(fds[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    const bool aborted = WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
    const bool passed = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    bool ok = c.expect[0] ? aborted : passed;
    for (int i = 0; i < 3 && c.expect[i]; i++)
        ok = ok && err.find(c.expect[i]) != std::string::npos;
    CHECK_MSG(ok, "%s (BT_EMU_RACECHECK=%s, BT_EMU_BLOCK_THREADS=%s): %s; its stderr:\n%s", c.name,
              c.racecheck, threads,
              aborted  ? "aborted"
              : passed ? "passed"
                       : "failed",
              err.c_str());
    printf("%-4s %-46s racecheck %s, %s host thread(s)\n", ok ? "ok" : "FAIL", c.name, c.racecheck,
           threads);
}

} // namespace

int main(void) {
    if (!bt_emu_race_instrumented()) {
        printf("SKIP: this module's kernels are not instrumented\n");
        return 77;
    }
    for (const race_case &c : CASES)
        for (const char *threads : {"1", "4"}) run_case(c, threads);
    return bt_test_finish("test_race_emu");
}
