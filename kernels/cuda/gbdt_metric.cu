/* CUDA twin of the evaluation metrics (kernels/gbdt_metric.h) for many trials per launch: one
 * block per trial, per-row terms in float as the reference computes them (sigmoid, softmax,
 * logf as (float)log((double)x), _rn intrinsics against FMA contraction), summed in double in a
 * fixed order (thread-strided, then cub's block tree), so a result is the same on every run and
 * within double rounding of the reference's row-order sum. AUC stays on the host (it needs a
 * sort of each trial's scores). */
#include <math.h>
#include <stdint.h>

#include <cub/block/block_reduce.cuh>

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

} // namespace

extern "C" bt_status bt_gbdt_metric_cuda(bt_gbdt_metric metric, const float *margin, const float *y,
                                         int64_t n, const bt_gbdt_metric_item *items,
                                         int32_t n_items, double *out, void *stream) {
    if (metric == BT_GBDT_METRIC_AUC)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "metric_cuda: AUC is computed on the host");
    if ((int)metric < 0 || metric >= BT_GBDT_METRIC_COUNT || n_items < 0 || n_items > MAX_GRID_X)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "metric_cuda: metric %d, %d items", (int)metric,
                       (int)n_items);
    if (n_items == 0) return BT_STATUS_OK;
    metric_kernel<<<(unsigned)n_items, METRIC_THREADS, 0, (cudaStream_t)stream>>>(metric, margin, y,
                                                                                  n, items, out);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}
