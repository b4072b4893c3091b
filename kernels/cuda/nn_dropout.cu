/* CUDA twin of inverted dropout (kernels/nn_dropout.h): each element asks bt_nn_dropout_keep
 * (Philox keyed by the slot's trial key, counter from (epoch, step, layer, element)), the same
 * header-only function the reference calls, so masks are bit-identical on any device. */
#include "kernels/cuda/nn_common.cuh"

extern "C" {
#include "kernels/nn_dropout.h"
}

namespace {

__global__ void fwd_kernel(int64_t n, const uint64_t *key, const float *p, const uint32_t *epoch,
                           uint32_t step, uint32_t layer, const float *const *X, float *const *Y,
                           float *const *M) {
    const int s = blockIdx.y;
    const float ps = p[s];
    const float *x = X[s];
    float *y = Y[s], *mask = M[s];
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    const int64_t i0 = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (ps <= 0.0f) {
        for (int64_t e = i0; e < n; e += stride) {
            mask[e] = 1.0f;
            y[e] = x[e];
        }
        return;
    }
    const float scale = 1.0f / (1.0f - ps);
    const uint64_t k = key[s];
    const uint32_t ep = epoch[s];
    for (int64_t e = i0; e < n; e += stride) {
        float m = bt_nn_dropout_keep(k, ps, ep, step, layer, (uint64_t)e) ? scale : 0.0f;
        mask[e] = m;
        y[e] = x[e] * m;
    }
}

__global__ void bwd_kernel(int64_t n, const float *const *M, const float *const *DY,
                           float *const *DX) {
    const int s = blockIdx.y;
    const float *mask = M[s], *dy = DY[s];
    float *dx = DX[s];
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n;
         e += (int64_t)gridDim.x * blockDim.x)
        dx[e] = dy[e] * mask[e];
}

} // namespace

extern "C" bt_status bt_nn_dropout_fwd_cuda(int n_slots, int64_t n, const uint64_t *key,
                                            const float *p, const uint32_t *epoch, uint32_t step,
                                            uint32_t layer, const float *const *x, float *const *y,
                                            float *const *mask, void *stream) {
    BT_NN_CHECK_SLOTS("dropout_fwd_cuda", n_slots);
    if (n < 0) return BT_FAIL(BT_STATUS_BAD_INPUT, "dropout_fwd_cuda: %lld elements", (long long)n);
    if (n == 0 || n_slots == 0) return BT_STATUS_OK;
    fwd_kernel<<<dim3(bt_nn_blocks(n, n_slots), (unsigned)n_slots), BT_NN_THREADS, 0,
                 (cudaStream_t)stream>>>(n, key, p, epoch, step, layer, x, y, mask);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}

extern "C" bt_status bt_nn_dropout_bwd_cuda(int n_slots, int64_t n, const float *const *mask,
                                            const float *const *dy, float *const *dx,
                                            void *stream) {
    BT_NN_CHECK_SLOTS("dropout_bwd_cuda", n_slots);
    if (n < 0) return BT_FAIL(BT_STATUS_BAD_INPUT, "dropout_bwd_cuda: %lld elements", (long long)n);
    if (n == 0 || n_slots == 0) return BT_STATUS_OK;
    bwd_kernel<<<dim3(bt_nn_blocks(n, n_slots), (unsigned)n_slots), BT_NN_THREADS, 0,
                 (cudaStream_t)stream>>>(n, mask, dy, dx);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}
