/* What an op-table runner (kernels/optest.h) is written with: the case's own generator (seeded
 * per case, so a printed seed replays it), checks that count into the case's result instead of
 * stopping, and checked device allocation and copies. The runners keep the shape of the tests
 * they grew from: run_case(...) bodies using CHECK_MSG, urand, dev_from, host_from. One runner
 * runs at a time per host thread: the running case's result and generator are one thread-local
 * context for the whole module (suites.c), so code any suite instantiates -- a template in a
 * shared header the linker keeps one copy of -- records into the case that runs. Internal to
 * kernels/cuda/optest. */
#ifndef BT_OPTEST_CUH
#define BT_OPTEST_CUH

#include <cuda_runtime.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <vector>

extern "C" {
#include "base/status.h"
#include "kernels/optest.h"
}

/* the running case (suites.c): its result, NULL between cases, and its generator's state */
extern "C" bt_op_result **bt_optest_result_slot(void);
extern "C" uint64_t *bt_optest_rng_state(void);
#define bt_optest_r_ (*bt_optest_result_slot())
#define bt_optest_rng_ (*bt_optest_rng_state())

static inline void bt_optest_begin(uint64_t seed, bt_op_result *r) {
    bt_optest_r_ = r;
    bt_optest_rng_ = seed * 0x9E3779B97F4A7C15ull + 1;
}

static inline bt_status bt_optest_end(void) {
    cudaError_t e = cudaDeviceSynchronize();
    if (e != cudaSuccess && bt_optest_r_ && bt_optest_r_->status == BT_STATUS_OK) {
        bt_optest_r_->status = BT_STATUS_INTERNAL;
        snprintf(bt_optest_r_->status_msg, sizeof bt_optest_r_->status_msg,
                 "cudaDeviceSynchronize: %s", cudaGetErrorString(e));
    }
    cudaGetLastError();
    bt_optest_r_ = nullptr;
    return BT_STATUS_OK;
}

/* Records one comparison; a failure keeps the first message. */
static inline void bt_optest_check(bool ok, const char *file, int line, const char *fmt, ...) {
    bt_op_result *r = bt_optest_r_;
    if (!r) return;
    r->checks++;
    if (ok) return;
    if (r->failures++ == 0) {
        char msg[200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        const char *base = strrchr(file, '/');
        snprintf(r->first, sizeof r->first, "%s:%d: %s", base ? base + 1 : file, line, msg);
    }
}

/* The worst error seen (a runner that measures one reports it). */
static inline void bt_optest_error(double e) {
    if (bt_optest_r_ && (e > bt_optest_r_->worst || isnan(e))) bt_optest_r_->worst = e;
}

#define CHECK_MSG(cond, ...) bt_optest_check((cond), __FILE__, __LINE__, __VA_ARGS__)
#define CHECK(cond) bt_optest_check((cond), __FILE__, __LINE__, "%s", #cond)
#define CHECK_OK(expr)                                                                             \
    do {                                                                                           \
        bt_status chk_s_ = (expr);                                                                 \
        CHECK_MSG(chk_s_ == BT_STATUS_OK, "%s -> %d: %s", #expr, (int)chk_s_,                      \
                  bt_status_message());                                                            \
    } while (0)
/* A failed CUDA call is a failed check (and stops using its result). */
#define CUDA_OK(expr)                                                                              \
    do {                                                                                           \
        cudaError_t ce_ = (expr);                                                                  \
        CHECK_MSG(ce_ == cudaSuccess, "%s: %s", #expr, cudaGetErrorString(ce_));                   \
    } while (0)

/* xorshift64*: the case's own generator. */
static inline uint64_t rnd_u64(void) {
    uint64_t x = bt_optest_rng_;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    bt_optest_rng_ = x;
    return x * 0x2545F4914F6CDD1Dull;
}
/* Uniform in [0, 1). */
static inline double urand(void) {
    return (double)(rnd_u64() >> 11) * (1.0 / 9007199254740992.0);
}
/* Uniform integer in [0, n), n >= 1. */
static inline int64_t irand(int64_t n) {
    return (int64_t)(rnd_u64() % (uint64_t)n);
}

/* memcmp that accepts empty (possibly NULL) buffers. */
static inline bool same_bytes(const void *a, const void *b, size_t n) {
    return n == 0 || memcmp(a, b, n) == 0;
}

/* Device copy of a host vector (NULL for an empty one, which no kernel dereferences). */
template <typename T> static T *dev_from(const std::vector<T> &v) {
    if (v.empty()) return NULL;
    T *d = NULL;
    CUDA_OK(cudaMalloc((void **)&d, v.size() * sizeof(T)));
    if (d) CUDA_OK(cudaMemcpy(d, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
    return d;
}
/* Zeroed device array of n elements (n may be 0: one element is allocated). */
template <typename T> static T *dev_zero(size_t n) {
    T *d = NULL;
    size_t bytes = (n ? n : 1) * sizeof(T);
    CUDA_OK(cudaMalloc((void **)&d, bytes));
    if (d) CUDA_OK(cudaMemset(d, 0, bytes));
    return d;
}
/* Host copy of n device elements after the device's work is done. */
template <typename T> static std::vector<T> host_from(const T *d, size_t n) {
    std::vector<T> v(n);
    CUDA_OK(cudaDeviceSynchronize());
    if (n && d) CUDA_OK(cudaMemcpy(v.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
    return v;
}

/* A runner from a function of the case: BT_OPTEST_RUNNER(name) { body using c->p[] } */
#define BT_OPTEST_RUNNER(name)                                                                     \
    static void name##_body(const bt_op_case *c);                                                  \
    static bt_status name(const bt_op_case *c, uint64_t seed, bt_op_result *r) {                   \
        bt_optest_begin(seed, r);                                                                  \
        name##_body(c);                                                                            \
        return bt_optest_end();                                                                    \
    }                                                                                              \
    static void name##_body(const bt_op_case *c)

/* The suite of op `op` from a static array of cases: bt_optest_suite_<op>. */
#define BT_OPTEST_SUITE(op, cases)                                                                 \
    extern "C" const bt_op_suite bt_optest_suite_##op;                                             \
    const bt_op_suite bt_optest_suite_##op = {#op, cases, (int)(sizeof cases / sizeof cases[0])}

#endif
