/* CUDA twin of the evaluation metrics (kernels/gbdt_metric.h) for many trials per launch: one
 * block per trial, per-row terms in float as the reference computes them (sigmoid, softmax,
 * logf as (float)log((double)x), _rn intrinsics against FMA contraction), summed in double in a
 * fixed order (thread-strided, then cub's block tree), so a result is the same on every run and
 * within double rounding of the reference's row-order sum. AUC stays on the host (it needs a
 * sort of each trial's scores). */
#include <math.h>
#include <stdint.h>

#include <cub/block/block_reduce.cuh>
#include <cub/device/device_segmented_sort.cuh>

#include "kernels/cuda/check.cuh"

extern "C" {
#include "kernels/gbdt_metric.h"
}

namespace {

constexpr int METRIC_THREADS = 256;
constexpr int MAX_GRID_X = 2147483647;

__device__ __forceinline__ float expf_ref(float x) {
    return __double2float_rn(exp((double)x));
}
__device__ __forceinline__ float logf_ref(float x) {
    return __double2float_rn(log((double)x));
}
__device__ __forceinline__ float sigmoid_ref(float x) {
    return __fdiv_rn(1.0f, __fadd_rn(1.0f, expf_ref(-x)));
}

/* The reference's per-row term of one metric (its sum is divided by n afterwards). */
__device__ double row_term(bt_gbdt_metric metric, int32_t obj, const float *m, float y, int32_t K) {
    const float eps = 1e-16f;
    switch (metric) {
    case BT_GBDT_METRIC_RMSE:
    case BT_GBDT_METRIC_MSE: {
        const float d = __fsub_rn(y, m[0]);
        return (double)__fmul_rn(d, d);
    }
    case BT_GBDT_METRIC_MAE:
        return (double)fabsf(__fsub_rn(y, m[0]));
    case BT_GBDT_METRIC_LOGLOSS: {
        const float py = sigmoid_ref(m[0]), pneg = __fsub_rn(1.0f, py), ny = __fsub_rn(1.0f, y);
        float t;
        if (py < eps)
            t = __fsub_rn(__fmul_rn(-y, logf_ref(eps)), __fmul_rn(ny, logf_ref(1.0f - eps)));
        else if (pneg < eps)
            t = __fsub_rn(__fmul_rn(-y, logf_ref(1.0f - eps)), __fmul_rn(ny, logf_ref(eps)));
        else
            t = __fsub_rn(__fmul_rn(-y, logf_ref(py)), __fmul_rn(ny, logf_ref(pneg)));
        return (double)t;
    }
    default:
        break; /* error, merror, accuracy, mlogloss */
    }
    if (obj == BT_GBDT_OBJ_SOFTPROB) {
        /* softmax as the reference: p[k] = expf(m[k] - max) / (float)sum, recomputed per use
         * (the same operations give the same floats) instead of a per-row array */
        float wmax = m[0];
        for (int32_t k = 1; k < K; k++) wmax = fmaxf(m[k], wmax);
        double wsum = 0.0;
        for (int32_t k = 0; k < K; k++)
            wsum = __dadd_rn(wsum, (double)expf_ref(__fsub_rn(m[k], wmax)));
        const float fsum = __double2float_rn(wsum);
        const int32_t label = (int32_t)y;
        if (metric == BT_GBDT_METRIC_MLOGLOSS) {
            /* a label outside [0, K) (undefined in the reference) scores as probability 0 */
            const float q = label >= 0 && label < K
                                ? __fdiv_rn(expf_ref(__fsub_rn(m[label], wmax)), fsum)
                                : 0.0f;
            return q > eps ? (double)-logf_ref(q) : (double)-logf_ref(eps);
        }
        int32_t best = 0;
        float pbest = __fdiv_rn(expf_ref(__fsub_rn(m[0], wmax)), fsum);
        for (int32_t k = 1; k < K; k++) {
            const float pk = __fdiv_rn(expf_ref(__fsub_rn(m[k], wmax)), fsum);
            if (pk > pbest) {
                best = k;
                pbest = pk;
            }
        }
        return best != label ? 1.0 : 0.0;
    }
    const float py = sigmoid_ref(m[0]);
    return (double)(py > 0.5f ? __fsub_rn(1.0f, y) : y);
}

/* grid = items; out[item] = the metric. */
__global__ void __launch_bounds__(METRIC_THREADS)
    metric_kernel(bt_gbdt_metric metric, const float *__restrict__ margin,
                  const float *__restrict__ y, int64_t n,
                  const bt_gbdt_metric_item *__restrict__ items, double *out) {
    typedef cub::BlockReduce<double, METRIC_THREADS> reduce_t;
    __shared__ typename reduce_t::TempStorage tmp;
    const bt_gbdt_metric_item it = items[blockIdx.x];
    const int32_t K = it.k_outputs > 0 ? it.k_outputs : 1;
    const bool undefined =
        n <= 0 || (metric == BT_GBDT_METRIC_MLOGLOSS && it.objective != BT_GBDT_OBJ_SOFTPROB);
    /* as the reference: only softmax-based terms read K margins per row, the others margin[i] */
    const bool per_class = it.objective == BT_GBDT_OBJ_SOFTPROB &&
                           (metric == BT_GBDT_METRIC_ERROR || metric == BT_GBDT_METRIC_MERROR ||
                            metric == BT_GBDT_METRIC_ACCURACY || metric == BT_GBDT_METRIC_MLOGLOSS);
    const int64_t row_stride = per_class ? K : 1;
    double sum = 0.0;
    if (!undefined)
        for (int64_t i = threadIdx.x; i < n; i += METRIC_THREADS)
            sum = __dadd_rn(sum, row_term(metric, it.objective,
                                          margin + it.margin_offset + i * row_stride, y[i], K));
    sum = reduce_t(tmp).Sum(sum);
    if (threadIdx.x != 0) return;
    if (undefined) {
        out[blockIdx.x] = NAN;
        return;
    }
    const double mean = sum / (double)n;
    if (metric == BT_GBDT_METRIC_RMSE)
        out[blockIdx.x] = sqrt(mean);
    else if (metric == BT_GBDT_METRIC_ACCURACY)
        out[blockIdx.x] = 1.0 - mean;
    else
        out[blockIdx.x] = mean;
}

/* AUC, step 1: grid (row blocks, items). Each trial's scores (sigmoid of its first margin column,
 * as the reference reads margin[r]) and labels, in segment item * n; the segment offsets. */
__global__ void auc_prep_kernel(const float *__restrict__ margin, const float *__restrict__ y,
                                int64_t n, const bt_gbdt_metric_item *__restrict__ items,
                                int32_t n_items, float *keys, float *vals, int64_t *offsets) {
    const int32_t item = blockIdx.y;
    const bt_gbdt_metric_item it = items[item];
    float *K = keys + (int64_t)item * n, *V = vals + (int64_t)item * n;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        K[i] = sigmoid_ref(margin[it.margin_offset + i]);
        V[i] = y[i];
    }
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        offsets[item] = (int64_t)item * n;
        if (item == n_items - 1) offsets[n_items] = (int64_t)n_items * n;
    }
}

/* AUC, step 2: one thread per trial walks its scores in decreasing order; rows with equal
 * scores share credit (one trapezoid per group) -- the reference's loop, operation for
 * operation (label sums are exact in double, so the order inside a group does not matter). */
__global__ void auc_sum_kernel(const float *__restrict__ keys, const float *__restrict__ vals,
                               int64_t n, int32_t n_items, double *out) {
    const int32_t item = blockIdx.x * blockDim.x + threadIdx.x;
    if (item >= n_items) return;
    const float *p = keys + (int64_t)item * n, *yy = vals + (int64_t)item * n;
    if (n <= 0) {
        out[item] = NAN;
        return;
    }
    double tp = 0, fp = 0, area = 0;
    int64_t i = 0;
    while (i < n) {
        const double tp0 = tp, fp0 = fp;
        int64_t j = i;
        while (j < n && p[j] == p[i]) {
            tp = __dadd_rn(tp, (double)yy[j]);
            fp = __dadd_rn(fp, __dsub_rn(1.0, (double)yy[j]));
            j++;
        }
        area = __dadd_rn(area, __dmul_rn(__dmul_rn(__dsub_rn(fp, fp0), __dadd_rn(tp, tp0)), 0.5));
        i = j;
    }
    out[item] = tp <= 0 || fp <= 0 ? NAN : __ddiv_rn(area, __dmul_rn(tp, fp));
}

/* Scratch layout of the AUC: keys in/out, labels in/out (n_items * n floats each), segment
 * offsets (n_items + 1), then cub's temporary storage; every piece 256-aligned. */
size_t align256(size_t x) {
    return (x + 255) & ~(size_t)255;
}
struct auc_layout {
    size_t keys_in, keys_out, vals_in, vals_out, offsets, temp, temp_bytes, total;
};
bool auc_plan(int64_t n, int32_t n_items, auc_layout *L) {
    const size_t m = (size_t)n * (size_t)n_items * sizeof(float);
    L->keys_in = 0;
    L->keys_out = align256(L->keys_in + m);
    L->vals_in = align256(L->keys_out + m);
    L->vals_out = align256(L->vals_in + m);
    L->offsets = align256(L->vals_out + m);
    L->temp = align256(L->offsets + ((size_t)n_items + 1) * sizeof(int64_t));
    L->temp_bytes = 0;
    /* a size query: no device work; it may still need the runtime */
    cudaError_t e = cub::DeviceSegmentedSort::SortPairsDescending(
        (void *)NULL, L->temp_bytes, (const float *)NULL, (float *)NULL, (const float *)NULL,
        (float *)NULL, (int64_t)n * n_items, (int64_t)n_items, (const int64_t *)NULL,
        (const int64_t *)NULL + 1, (cudaStream_t)0);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return false;
    }
    L->total = L->temp + align256(L->temp_bytes);
    return true;
}

} // namespace

extern "C" size_t bt_gbdt_auc_cuda_scratch_bytes(int64_t n, int32_t n_items) {
    auc_layout L;
    if (n < 0 || n_items < 0) return 0;
    return auc_plan(n, n_items, &L) ? L.total : 0;
}

extern "C" bt_status bt_gbdt_auc_cuda(const float *margin, const float *y, int64_t n,
                                      const bt_gbdt_metric_item *items, int32_t n_items,
                                      double *out, void *scratch, size_t scratch_bytes,
                                      void *stream) {
    if (n < 0 || n_items < 0 || n_items > 65535)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "auc_cuda: %lld rows, %d items (at most 65535)",
                       (long long)n, (int)n_items);
    if (n_items == 0) return BT_STATUS_OK;
    cudaStream_t s = (cudaStream_t)stream;
    auc_layout L;
    if (!auc_plan(n, n_items, &L))
        return BT_FAIL(BT_STATUS_INTERNAL, "auc_cuda: cannot size the segmented sort");
    if (scratch_bytes < L.total)
        return BT_FAIL(BT_STATUS_INTERNAL, "auc_cuda: scratch of %zu bytes, %zu needed",
                       scratch_bytes, L.total);
    char *base = (char *)scratch;
    float *keys_in = (float *)(base + L.keys_in), *keys_out = (float *)(base + L.keys_out);
    float *vals_in = (float *)(base + L.vals_in), *vals_out = (float *)(base + L.vals_out);
    int64_t *offsets = (int64_t *)(base + L.offsets);
    int64_t blocks = (n + METRIC_THREADS - 1) / METRIC_THREADS;
    if (blocks < 1) blocks = 1;
    if (blocks > 1024) blocks = 1024;
    auc_prep_kernel<<<dim3((unsigned)blocks, (unsigned)n_items), METRIC_THREADS, 0, s>>>(
        margin, y, n, items, n_items, keys_in, vals_in, offsets);
    BT_CUDA_CHECK_LAUNCH();
    if (n > 0) {
        size_t temp_bytes = L.temp_bytes;
        BT_CUDA_CHECK(cub::DeviceSegmentedSort::SortPairsDescending(
            (void *)(base + L.temp), temp_bytes, keys_in, keys_out, vals_in, vals_out,
            (int64_t)n * n_items, (int64_t)n_items, offsets, offsets + 1, s));
    }
    auc_sum_kernel<<<(unsigned)((n_items + 127) / 128), 128, 0, s>>>(keys_out, vals_out, n, n_items,
                                                                     out);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}

extern "C" bt_status bt_gbdt_metric_cuda(bt_gbdt_metric metric, const float *margin, const float *y,
                                         int64_t n, const bt_gbdt_metric_item *items,
                                         int32_t n_items, double *out, void *stream) {
    if (metric == BT_GBDT_METRIC_AUC || metric == BT_GBDT_METRIC_F1 ||
        metric == BT_GBDT_METRIC_PRECISION || metric == BT_GBDT_METRIC_RECALL)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "metric_cuda: metric %d is computed on the host",
                       (int)metric);
    if ((int)metric < 0 || metric >= BT_GBDT_METRIC_COUNT || n_items < 0 || n_items > MAX_GRID_X)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "metric_cuda: metric %d, %d items", (int)metric,
                       (int)n_items);
    if (n_items == 0) return BT_STATUS_OK;
    metric_kernel<<<(unsigned)n_items, METRIC_THREADS, 0, (cudaStream_t)stream>>>(metric, margin, y,
                                                                                  n, items, out);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}
