/* CUDA twin of softmax cross-entropy with label smoothing (kernels/nn_softmax_ce.h): one block
 * per slot, each warp takes rows w, w + 8, ...; lanes stride over the classes for the max, the sum
 * of exponentials and the smoothed target terms; row terms go into a per-thread double and one
 * fixed-order block sum gives the slot's mean loss (deterministic run to run). */
#include "kernels/cuda/nn_common.cuh"

extern "C" {
#include "kernels/nn_softmax_ce.h"
}

namespace {

__global__ void __launch_bounds__(BT_NN_THREADS)
    ce_kernel(int rows, int k, const float *const *logits, const int32_t *const *labels,
              const float *smoothing, double *loss, float *const *dlogits) {
    __shared__ double sh[BT_NN_THREADS];
    const int s = blockIdx.x;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, n_warps = BT_NN_THREADS / 32;
    const float eps = smoothing ? smoothing[s] : 0.0f;
    const float off = eps / (float)k, on = 1.0f - eps + off;
    const float inv_rows = 1.0f / (float)rows;
    const float *Z = logits[s];
    const int32_t *Y = labels[s];
    float *D = dlogits ? dlogits[s] : NULL;
    double total = 0.0; /* lane 0's rows */
    for (int r = warp; r < rows; r += n_warps) {
        const float *z = Z + (size_t)r * k;
        const int32_t y = Y[r];
        float mx = -INFINITY;
        for (int j = lane; j < k; j += 32) mx = fmaxf(mx, z[j]);
        mx = bt_nn_warp_max(mx);
        float sum = 0.0f;
        for (int j = lane; j < k; j += 32) sum += expf(z[j] - mx);
        sum = bt_nn_warp_sum(sum);
        const float lse = logf(sum);
        float row = 0.0f;
        for (int j = lane; j < k; j += 32) {
            const float t = j == y ? on : off;
            if (t != 0.0f) row -= t * ((z[j] - mx) - lse);
        }
        row = bt_nn_warp_sum(row);
        if (lane == 0) total += (double)row;
        if (D) {
            const float inv = 1.0f / sum;
            float *d = D + (size_t)r * k;
            for (int j = lane; j < k; j += 32) {
                const float t = j == y ? on : off;
                d[j] = (expf(z[j] - mx) * inv - t) * inv_rows;
            }
        }
    }
    const double all = bt_nn_block_sum(total, sh);
    if (threadIdx.x == 0) loss[s] = rows > 0 ? all / (double)rows : 0.0;
}

} // namespace

extern "C" bt_status bt_nn_softmax_ce_cuda(int n_slots, int rows, int k, const float *const *logits,
                                           const int32_t *const *labels, const float *smoothing,
                                           double *loss, float *const *dlogits, void *stream) {
    if (n_slots < 0 || rows < 0 || k < 1)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "softmax_ce_cuda: %d slots, %d rows, %d classes",
                       n_slots, rows, k);
    if (n_slots == 0) return BT_STATUS_OK;
    ce_kernel<<<(unsigned)n_slots, BT_NN_THREADS, 0, (cudaStream_t)stream>>>(
        rows, k, logits, labels, smoothing, loss, dlogits);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}
