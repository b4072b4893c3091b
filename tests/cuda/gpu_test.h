/* Shared helpers of the CUDA tests (tests/cuda/test_*.cu): the SKIP rule (gpu_skip.h), a seeded
 * generator whose seed is printed (BT_TEST_SEED overrides it, to replay a failure), and checked
 * device allocation and copies. */
#ifndef BT_GPU_TEST_H
#define BT_GPU_TEST_H

#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vector>

extern "C" {
#include "base/status.h"
}
#include "tests/bt_test.h"
#include "tests/cuda/gpu_skip.h"

/* Returns 77 from main when there is no GPU, 1 when a driver refuses (gpu_skip.h). */
#define BT_GPU_TEST_REQUIRE_GPU() BT_GPU_TEST_GATE(__FILE__)

/* A failed CUDA call in a test is a failed check (and stops using its result). */
#define CUDA_OK(expr)                                                                              \
    do {                                                                                           \
        cudaError_t ce_ = (expr);                                                                  \
        CHECK_MSG(ce_ == cudaSuccess, "%s: %s", #expr, cudaGetErrorString(ce_));                   \
    } while (0)

/* xorshift64*: the test's own generator, so a printed seed replays the same inputs. */
static uint64_t bt_gpu_test_rng_ = 1;
static inline uint64_t bt_gpu_test_seed(const char *name) {
    const char *s = getenv("BT_TEST_SEED");
    uint64_t seed = s && *s ? strtoull(s, NULL, 10) : (uint64_t)time(NULL);
    printf("%s: seed %llu (BT_TEST_SEED=%llu replays it)\n", name, (unsigned long long)seed,
           (unsigned long long)seed);
    bt_gpu_test_rng_ = seed * 0x9E3779B97F4A7C15ull + 1;
    return seed;
}
static inline uint64_t rnd_u64(void) {
    uint64_t x = bt_gpu_test_rng_;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    bt_gpu_test_rng_ = x;
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
/* Host copy of n device elements after the stream's work is done. */
template <typename T> static std::vector<T> host_from(const T *d, size_t n) {
    std::vector<T> v(n);
    CUDA_OK(cudaDeviceSynchronize());
    if (n && d) CUDA_OK(cudaMemcpy(v.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
    return v;
}

#endif
