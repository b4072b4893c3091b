/* CUDA twins of the objectives' gradients and their fixed-point quantization
 * (kernels/gbdt_objective.h), for many trials per launch. Quantization is exact: the per-tree
 * exponent comes from the exact maximum of |g| (a max is order-free) through the same integer
 * and frexp arithmetic as bt_gbdt_quant_exponent. Gradients are float as in the reference; expf
 * is (float)exp((double)x) here (CUDA's expf is up to 2 ulp off, this is glibc's value for all
 * but ~1e-4 of inputs), and _rn intrinsics keep nvcc from fusing a*b+c. */
#include <math.h>
#include <stdint.h>

#include <cub/block/block_reduce.cuh>

#include "kernels/cuda/check.cuh"

extern "C" {
#include "kernels/gbdt_objective.h"
}

namespace {

constexpr int OBJ_THREADS = 256;
constexpr int MAX_GRID_Y = 65535;
constexpr int64_t MAX_ROW_BLOCKS = 4096;

__device__ __forceinline__ float expf_ref(float x) {
    return __double2float_rn(exp((double)x));
}

__device__ __forceinline__ float sigmoid_ref(float x) {
    return __fdiv_rn(1.0f, __fadd_rn(1.0f, expf_ref(-x)));
}

/* grid = (row blocks, items), grid-stride over rows. */
__global__ void grad_kernel(const float *__restrict__ margin, const float *__restrict__ y,
                            int64_t n, float *g, float *h,
                            const bt_gbdt_grad_item *__restrict__ items) {
    const bt_gbdt_grad_item it = items[blockIdx.y];
    const float *M = margin + it.margin_offset;
    float *G = g + it.gh_offset, *H = h + it.gh_offset;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        if (it.objective == BT_GBDT_OBJ_SQUARED) {
            const float w = y[i] == 1.0f ? it.scale_pos_weight : 1.0f;
            G[i] = __fmul_rn(__fsub_rn(M[i], y[i]), w);
            H[i] = w;
        } else if (it.objective == BT_GBDT_OBJ_LOGISTIC) {
            const float w = y[i] == 1.0f ? it.scale_pos_weight : 1.0f;
            const float p = sigmoid_ref(M[i]);
            G[i] = __fmul_rn(__fsub_rn(p, y[i]), w);
            H[i] = __fmul_rn(fmaxf(__fmul_rn(p, __fsub_rn(1.0f, p)), 1e-16f), w);
        } else {
            const int32_t K = it.k_outputs;
            const float *m = M + i * K;
            float wmax = m[0];
            for (int32_t k = 1; k < K; k++) wmax = fmaxf(m[k], wmax);
            double wsum = 0.0;
            for (int32_t k = 0; k < K; k++) {
                const float ex = expf_ref(__fsub_rn(m[k], wmax));
                G[(int64_t)k * n + i] = ex;
                wsum = __dadd_rn(wsum, (double)ex);
            }
            const int32_t label = (int32_t)y[i];
            const float fsum = __double2float_rn(wsum);
            for (int32_t k = 0; k < K; k++) {
                float q = __fdiv_rn(G[(int64_t)k * n + i], fsum);
                const float hk = fmaxf(__fmul_rn(__fmul_rn(2.0f, q), __fsub_rn(1.0f, q)), 1e-16f);
                if (label == k) q = __fsub_rn(q, 1.0f);
                G[(int64_t)k * n + i] = q;
                H[(int64_t)k * n + i] = hk;
            }
        }
    }
}

/* bt_gbdt_quant_exponent, operation for operation. */
__device__ __forceinline__ int32_t quant_exponent(double max_abs, int64_t n) {
    if (!(max_abs > 0) || !isfinite(max_abs)) return 0;
    int e;
    frexp(__dmul_rn(max_abs, (double)(n > 0 ? n : 1)), &e);
    int32_t x = 61 - e;
    if (x > 1000) x = 1000;
    if (x < -1000) x = -1000;
    return x;
}

/* |x| as double, as ordered bits: non-negative doubles (and NaN above +inf) order like their
 * IEEE bit patterns, so an unsigned max of the bits is the max of the values. */
__device__ __forceinline__ unsigned long long abs_bits(float x) {
    return (unsigned long long)__double_as_longlong(fabs((double)x));
}
constexpr unsigned long long INF_BITS = 0x7ff0000000000000ull;

struct max_op {
    __device__ __forceinline__ unsigned long long operator()(unsigned long long a,
                                                             unsigned long long b) const {
        return a > b ? a : b;
    }
};

/* grid = (row blocks, items): the bit maxima of |g| and |h| into mx[2 item], mx[2 item + 1]
 * (zeroed by the launcher). */
__global__ void __launch_bounds__(OBJ_THREADS)
    absmax_kernel(const float *__restrict__ g, const float *__restrict__ h,
                  const bt_gbdt_quant_item *__restrict__ items, int32_t item0,
                  unsigned long long *mx) {
    typedef cub::BlockReduce<unsigned long long, OBJ_THREADS> reduce_t;
    __shared__ typename reduce_t::TempStorage tmp;
    const int32_t item = item0 + (int32_t)blockIdx.y;
    const bt_gbdt_quant_item it = items[item];
    unsigned long long ag = 0, ah = 0;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < it.n;
         i += (int64_t)gridDim.x * blockDim.x) {
        ag = max(ag, abs_bits(g[it.offset + i]));
        ah = max(ah, abs_bits(h[it.offset + i]));
    }
    ag = reduce_t(tmp).Reduce(ag, max_op());
    __syncthreads();
    ah = reduce_t(tmp).Reduce(ah, max_op());
    if (threadIdx.x == 0) {
        if (ag) atomicMax(&mx[2 * (int64_t)item], ag);
        if (ah) atomicMax(&mx[2 * (int64_t)item + 1], ah);
    }
}

/* grid = (row blocks, items): exponents (every thread derives them, block (0, item) stores them)
 * and the quantized values. */
__global__ void quantize_kernel(const float *__restrict__ g, const float *__restrict__ h,
                                bt_gbdt_gh *out, const bt_gbdt_quant_item *__restrict__ items,
                                int32_t item0, const unsigned long long *__restrict__ mx,
                                int32_t *eg, int32_t *eh, int32_t *finite) {
    const int32_t item = item0 + (int32_t)blockIdx.y;
    const bt_gbdt_quant_item it = items[item];
    const unsigned long long bg = mx[2 * (int64_t)item], bh = mx[2 * (int64_t)item + 1];
    const bool ok = bg < INF_BITS && bh < INF_BITS;
    const int32_t xg = ok ? quant_exponent(__longlong_as_double((long long)bg), it.n) : 0;
    const int32_t xh = ok ? quant_exponent(__longlong_as_double((long long)bh), it.n) : 0;
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        eg[item] = xg;
        eh[item] = xh;
        finite[item] = ok ? 1 : 0;
    }
    if (!ok) return;
    const double sg = ldexp(1.0, xg), sh = ldexp(1.0, xh);
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < it.n;
         i += (int64_t)gridDim.x * blockDim.x) {
        bt_gbdt_gh q;
        q.g = __double2ll_rn(__dmul_rn((double)g[it.offset + i], sg));
        q.h = __double2ll_rn(__dmul_rn((double)h[it.offset + i], sh));
        out[it.offset + i] = q;
    }
}

unsigned row_blocks(int64_t n) {
    int64_t b = (n + OBJ_THREADS - 1) / OBJ_THREADS;
    if (b < 1) b = 1;
    if (b > MAX_ROW_BLOCKS) b = MAX_ROW_BLOCKS;
    return (unsigned)b;
}

} // namespace

extern "C" bt_status bt_gbdt_grad_cuda(const float *margin, const float *y, int64_t n, float *g,
                                       float *h, const bt_gbdt_grad_item *items, int32_t n_items,
                                       void *stream) {
    if (n_items < 0 || n < 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "grad_cuda: %d items, %lld rows", (int)n_items,
                       (long long)n);
    if (n_items == 0 || n == 0) return BT_STATUS_OK;
    for (int32_t done = 0; done < n_items; done += MAX_GRID_Y) {
        const int32_t m = n_items - done < MAX_GRID_Y ? n_items - done : MAX_GRID_Y;
        grad_kernel<<<dim3(row_blocks(n), (unsigned)m), OBJ_THREADS, 0, (cudaStream_t)stream>>>(
            margin, y, n, g, h, items + done);
        BT_CUDA_CHECK_LAUNCH();
    }
    return BT_STATUS_OK;
}

extern "C" size_t bt_gbdt_quantize_cuda_scratch_bytes(int32_t n_items) {
    return (size_t)(n_items > 0 ? n_items : 1) * 2 * sizeof(unsigned long long);
}

/* The launcher does not know the items' row counts (they live on the device); the grid-stride
 * loops make any count correct with a fixed 64 blocks per item. */
extern "C" bt_status bt_gbdt_quantize_cuda(const float *g, const float *h, bt_gbdt_gh *out,
                                           const bt_gbdt_quant_item *items, int32_t n_items,
                                           int32_t *eg, int32_t *eh, int32_t *finite, void *scratch,
                                           void *stream) {
    if (n_items < 0) return BT_FAIL(BT_STATUS_BAD_INPUT, "quantize_cuda: %d items", (int)n_items);
    if (n_items == 0) return BT_STATUS_OK;
    cudaStream_t s = (cudaStream_t)stream;
    unsigned long long *mx = (unsigned long long *)scratch;
    BT_CUDA_CHECK(cudaMemsetAsync(mx, 0, bt_gbdt_quantize_cuda_scratch_bytes(n_items), s));
    const unsigned blocks = 64;
    for (int32_t done = 0; done < n_items; done += MAX_GRID_Y) {
        const int32_t m = n_items - done < MAX_GRID_Y ? n_items - done : MAX_GRID_Y;
        absmax_kernel<<<dim3(blocks, (unsigned)m), OBJ_THREADS, 0, s>>>(g, h, items, done, mx);
        BT_CUDA_CHECK_LAUNCH();
    }
    for (int32_t done = 0; done < n_items; done += MAX_GRID_Y) {
        const int32_t m = n_items - done < MAX_GRID_Y ? n_items - done : MAX_GRID_Y;
        quantize_kernel<<<dim3(blocks, (unsigned)m), OBJ_THREADS, 0, s>>>(g, h, out, items, done,
                                                                          mx, eg, eh, finite);
        BT_CUDA_CHECK_LAUNCH();
    }
    return BT_STATUS_OK;
}
