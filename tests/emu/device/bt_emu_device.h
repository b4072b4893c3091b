/* The device side of the CUDA host emulation (tests/emu/device): force-included (g++ -include)
 * into every CUDA source compiled as C++ on the host, after rewrite_launches.py has turned each
 * `k<<<grid, block, smem, stream>>>(args)` into a bt_emu_launch_k call. Every block's threads run
 * as cooperative fibers on one host thread (bt_emu_device.cpp): __syncthreads and warp shuffles
 * are barriers of the scheduler; a launch's blocks run one after another, or on several host
 * threads at once (BT_EMU_BLOCK_THREADS). Static __shared__ variables and dynamic shared memory
 * are per running block (poisoned at its start: see bt_emu_shared_block); atomics are real
 * atomics. With BT_EMU_RACECHECK the kernels' stores are logged per block (bt_emu_race.cpp: the
 * kernels are compiled with -fsanitize=thread, whose callbacks the emulation provides).
 * Launches go on the emulated runtime's stream queues (tests/emu/emu_runtime.c), so they are
 * ordered with copies exactly as on a device. */
#ifndef BT_EMU_DEVICE_H
#define BT_EMU_DEVICE_H

/* The emulated twins are the CUDA build's code: their headers' CUDA parts must be visible. */
#undef BT_HAVE_CUDA
#define BT_HAVE_CUDA 1

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <cmath>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "cuda_runtime.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)
#define __shared__ static /* a prototype of the per-block copy: bt_emu_shared_block */
#define __restrict__ __restrict
#define __constant__ static

typedef dim3 uint3;

struct bt_emu_thread {
    dim3 tid, bid, bdim, gdim;
};
/* The running fiber's coordinates (a zero thread of a 1x1 launch outside kernels). */
bt_emu_thread *bt_emu_cur();
#define threadIdx (bt_emu_cur()->tid)
#define blockIdx (bt_emu_cur()->bid)
#define blockDim (bt_emu_cur()->bdim)
#define gridDim (bt_emu_cur()->gdim)
#define warpSize 32

void __syncthreads();
static inline void __syncwarp(unsigned = 0xffffffffu) {}
static inline void __threadfence() {
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
static inline void __threadfence_block() {}
/* Offers v to the warp and returns lane src_lane's offer (a warp-wide barrier). */
uint64_t bt_emu_xchg(uint64_t v, int src_lane);
/* The calling thread's lane: its linear index in the block, modulo 32. */
int bt_emu_lane();

template <typename T> static inline T bt_emu_shfl_(T v, int src) {
    uint64_t b = 0;
    memcpy(&b, &v, sizeof v);
    uint64_t r = bt_emu_xchg(b, src);
    T out;
    memcpy(&out, &r, sizeof out);
    return out;
}
template <typename T> static inline T __shfl_xor_sync(unsigned, T v, int o, int w = 32) {
    int lane = bt_emu_lane();
    return bt_emu_shfl_(v, (lane & ~(w - 1)) | ((lane & (w - 1)) ^ o));
}
template <typename T> static inline T __shfl_sync(unsigned, T v, int src, int w = 32) {
    int lane = bt_emu_lane();
    return bt_emu_shfl_(v, (lane & ~(w - 1)) | (src & (w - 1)));
}
template <typename T> static inline T __shfl_down_sync(unsigned, T v, unsigned d, int w = 32) {
    int lane = bt_emu_lane(), in = lane & (w - 1);
    int src = in + (int)d < w ? lane + (int)d : lane; /* out of the segment: own value */
    return bt_emu_shfl_(v, src);
}
template <typename T> static inline T __shfl_up_sync(unsigned, T v, unsigned d, int w = 32) {
    int lane = bt_emu_lane(), in = lane & (w - 1);
    int src = in >= (int)d ? lane - (int)d : lane;
    return bt_emu_shfl_(v, src);
}
static inline unsigned __ballot_sync(unsigned, int pred) {
    unsigned r = 0;
    int base = bt_emu_lane() & ~31;
    (void)base;
    for (int l = 0; l < 32; l++) /* every lane offers its predicate, one exchange per lane */
        r |= (unsigned)(bt_emu_shfl_(pred ? 1 : 0, l) & 1) << l;
    return r;
}
static inline int __any_sync(unsigned m, int pred) {
    return __ballot_sync(m, pred) != 0;
}
static inline int __all_sync(unsigned m, int pred) {
    return __ballot_sync(m, !pred) == 0;
}

/* Enqueues body on stream as a grid g of blocks b (refused launches set cudaGetLastError); name:
 * the kernel's, for reports (a string literal: it must outlive captured graphs). */
void bt_emu_launch(dim3 g, dim3 b, size_t smem, cudaStream_t stream, const char *name,
                   std::function<void()> body);
/* What a rewritten `k<<<g, b, smem, stream>>>(args)` calls: the arguments are converted to the
 * kernel's parameter types now, as a real launch copies them, and the body runs when the stream
 * does (its blocks possibly on several host threads at once, each calling the body). */
template <typename... P, typename... A>
static inline void bt_emu_launch_k(dim3 g, dim3 b, size_t smem, cudaStream_t stream,
                                   const char *name, void (*kernel)(P...), A &&...args) {
    std::tuple<typename std::decay<P>::type...> t(std::forward<A>(args)...);
    bt_emu_launch(g, b, smem, stream, name, [kernel, t]() { std::apply(kernel, t); });
}
/* The launch's dynamic shared memory (extern __shared__), 16-byte aligned, one per block. */
void *bt_emu_dyn_smem();
/* The running block's copy of a static __shared__ variable: rewrite_launches.py renames each
 * declaration `__shared__ T x;` to a static prototype (never used but for its address and type)
 * and binds `x` to this copy, n bytes aligned to align, keyed by the prototype's address. The first
 * thread of a block to reach the declaration gets fresh memory filled with garbage (0xA5), as
 * dynamic shared memory is at each block's start, so that a kernel reading it before writing fails
 * instead of reading what an earlier block or launch left; the block's later threads get the same
 * memory. Blocks running at once on other host threads have their own. */
void *bt_emu_shared_block(const void *key, size_t n, size_t align);

/* Atomics are real atomics (blocks may run on several host threads at once), kept out of the
 * store instrumentation and reported to the race log as atomics instead (an atomic and a plain
 * store of two blocks on one byte is a race; two atomics are not). */
#if defined(__clang__) || defined(__GNUC__)
#define BT_EMU_NO_TSAN __attribute__((no_sanitize("thread")))
#else
#define BT_EMU_NO_TSAN
#endif
/* Notes an atomic on [p, p + n) for the race log (a no-op unless a race-checked block runs). */
void bt_emu_race_atomic(const void *p, size_t n);

/* old = *p; *p = f(old) as one atomic step (a compare-and-swap loop on the bits). */
template <typename T, typename F> BT_EMU_NO_TSAN static inline T bt_emu_atomic_rmw_(T *p, F f) {
    static_assert(sizeof(T) == 4 || sizeof(T) == 8, "32- and 64-bit atomics only");
    typedef typename std::conditional<sizeof(T) == 4, uint32_t, uint64_t>::type U;
    bt_emu_race_atomic(p, sizeof(T));
    U *q = reinterpret_cast<U *>(p);
    U ob = __atomic_load_n(q, __ATOMIC_RELAXED), nb;
    T old;
    do {
        memcpy(&old, &ob, sizeof old);
        const T nv = f(old);
        memcpy(&nb, &nv, sizeof nb);
    } while (!__atomic_compare_exchange_n(q, &ob, nb, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    return old;
}
template <typename T> BT_EMU_NO_TSAN static inline T atomicAdd(T *p, T v) {
    if constexpr (std::is_integral<T>::value) {
        bt_emu_race_atomic(p, sizeof(T));
        return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
    } else
        return bt_emu_atomic_rmw_(p, [v](T o) { return o + v; });
}
template <typename T> BT_EMU_NO_TSAN static inline T atomicSub(T *p, T v) {
    static_assert(std::is_integral<T>::value, "integer atomicSub only");
    bt_emu_race_atomic(p, sizeof(T));
    return __atomic_fetch_sub(p, v, __ATOMIC_RELAXED);
}
template <typename T> BT_EMU_NO_TSAN static inline T atomicMax(T *p, T v) {
    return bt_emu_atomic_rmw_(p, [v](T o) { return v > o ? v : o; });
}
template <typename T> BT_EMU_NO_TSAN static inline T atomicMin(T *p, T v) {
    return bt_emu_atomic_rmw_(p, [v](T o) { return v < o ? v : o; });
}
template <typename T> BT_EMU_NO_TSAN static inline T atomicExch(T *p, T v) {
    return bt_emu_atomic_rmw_(p, [v](T) { return v; });
}
template <typename T> BT_EMU_NO_TSAN static inline T atomicCAS(T *p, T cmp, T v) {
    static_assert(std::is_integral<T>::value, "integer atomicCAS only");
    bt_emu_race_atomic(p, sizeof(T));
    __atomic_compare_exchange_n(p, &cmp, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    return cmp; /* the old value either way */
}
template <typename T> BT_EMU_NO_TSAN static inline T atomicOr(T *p, T v) {
    static_assert(std::is_integral<T>::value, "integer atomicOr only");
    bt_emu_race_atomic(p, sizeof(T));
    return __atomic_fetch_or(p, v, __ATOMIC_RELAXED);
}
template <typename T> BT_EMU_NO_TSAN static inline T atomicAnd(T *p, T v) {
    static_assert(std::is_integral<T>::value, "integer atomicAnd only");
    bt_emu_race_atomic(p, sizeof(T));
    return __atomic_fetch_and(p, v, __ATOMIC_RELAXED);
}

/* Rounded intrinsics: the host compiler is told not to contract (-ffp-contract=off), so a plain
 * operation is the correctly rounded one. */
static inline float __fmul_rn(float a, float b) {
    return a * b;
}
static inline float __fadd_rn(float a, float b) {
    return a + b;
}
static inline float __fsub_rn(float a, float b) {
    return a - b;
}
static inline float __fdiv_rn(float a, float b) {
    return a / b;
}
static inline float __fsqrt_rn(float a) {
    return sqrtf(a);
}
static inline float __frcp_rn(float a) {
    return 1.0f / a;
}
static inline float __fmaf_rn(float a, float b, float c) {
    return fmaf(a, b, c);
}
static inline double __dmul_rn(double a, double b) {
    return a * b;
}
static inline double __dadd_rn(double a, double b) {
    return a + b;
}
static inline double __dsub_rn(double a, double b) {
    return a - b;
}
static inline double __ddiv_rn(double a, double b) {
    return a / b;
}
static inline double __fma_rn(double a, double b, double c) {
    return fma(a, b, c);
}
/* Conversions: the host's default rounding mode is round-to-nearest-even, as _rn asks. */
static inline float __double2float_rn(double x) {
    return (float)x;
}
static inline long long __double2ll_rn(double x) {
    return llrint(x);
}
static inline long long __float2ll_rn(float x) {
    return llrintf(x);
}
static inline int __double2int_rn(double x) {
    return (int)lrint(x);
}
static inline int __float2int_rn(float x) {
    return (int)lrintf(x);
}
static inline long long __double2ll_rz(double x) {
    return (long long)x;
}
static inline int __float2int_rz(float x) {
    return (int)x;
}
static inline double __ll2double_rn(long long x) {
    return (double)x;
}
static inline float __ll2float_rn(long long x) {
    return (float)x;
}
static inline float __int2float_rn(int x) {
    return (float)x;
}
static inline float __int_as_float(int v) {
    float f;
    memcpy(&f, &v, 4);
    return f;
}
static inline int __float_as_int(float f) {
    int v;
    memcpy(&v, &f, 4);
    return v;
}
static inline unsigned __float_as_uint(float f) {
    unsigned v;
    memcpy(&v, &f, 4);
    return v;
}
static inline float __uint_as_float(unsigned v) {
    float f;
    memcpy(&f, &v, 4);
    return f;
}
static inline long long __double_as_longlong(double d) {
    long long v;
    memcpy(&v, &d, 8);
    return v;
}
static inline double __longlong_as_double(long long v) {
    double d;
    memcpy(&d, &v, 8);
    return d;
}
static inline int __popc(unsigned v) {
    return __builtin_popcount(v);
}
static inline int __popcll(unsigned long long v) {
    return __builtin_popcountll(v);
}
static inline int __clz(int v) {
    return v ? __builtin_clz((unsigned)v) : 32;
}
static inline int __ffs(int v) {
    return __builtin_ffs(v);
}
static inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
    return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}
static inline unsigned __umulhi(unsigned a, unsigned b) {
    return (unsigned)(((unsigned long long)a * b) >> 32);
}
/* CUDA's global min / max overloads (mixed types go to the common type, as there). */
template <typename A, typename B>
static inline typename std::common_type<A, B>::type min(A a, B b) {
    typedef typename std::common_type<A, B>::type C;
    return (C)b < (C)a ? (C)b : (C)a;
}
template <typename A, typename B>
static inline typename std::common_type<A, B>::type max(A a, B b) {
    typedef typename std::common_type<A, B>::type C;
    return (C)a < (C)b ? (C)b : (C)a;
}
template <typename T> static inline T __ldg(const T *p) {
    return *p;
}
using std::isfinite;
using std::isinf;
using std::isnan;

#endif
