/* CUDA twin of the elementwise activations (kernels/nn_act.h): the reference's formulas, one
 * thread per element in grid-stride loops, contiguous or one pointer per slot (grid y). */
#include "kernels/cuda/nn_common.cuh"

extern "C" {
#include "kernels/nn_act.h"
}

namespace {

__device__ __forceinline__ float act_f(bt_nn_act a, float x) {
    switch (a) {
    case BT_NN_ACT_RELU:
        return x > 0.0f ? x : 0.0f;
    case BT_NN_ACT_TANH:
        return tanhf(x);
    default:
        return 0.5f * x * (1.0f + erff(x * 0.70710678f));
    }
}

__device__ __forceinline__ float act_b(bt_nn_act a, float x, float dy) {
    switch (a) {
    case BT_NN_ACT_RELU:
        return x > 0.0f ? dy : 0.0f;
    case BT_NN_ACT_TANH: {
        float t = tanhf(x);
        return dy * (1.0f - t * t);
    }
    default: {
        float cdf = 0.5f * (1.0f + erff(x * 0.70710678f));
        float pdf = 0.39894228f * expf(-0.5f * x * x);
        return dy * (cdf + x * pdf);
    }
    }
}

/* slots == NULL: the contiguous form (x0, y0); else slot blockIdx.y's pointers. */
__global__ void fwd_kernel(bt_nn_act a, int64_t n, const float *x0, float *y0,
                           const float *const *xs, float *const *ys) {
    const float *x = xs ? xs[blockIdx.y] : x0;
    float *y = ys ? ys[blockIdx.y] : y0;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        y[i] = act_f(a, x[i]);
}

__global__ void bwd_kernel(bt_nn_act a, int64_t n, const float *x0, const float *dy0, float *dx0,
                           const float *const *xs, const float *const *dys, float *const *dxs) {
    const float *x = xs ? xs[blockIdx.y] : x0;
    const float *dy = dys ? dys[blockIdx.y] : dy0;
    float *dx = dxs ? dxs[blockIdx.y] : dx0;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        dx[i] = act_b(a, x[i], dy[i]);
}

bt_status check_act(bt_nn_act a, int64_t n) {
    if (a != BT_NN_ACT_RELU && a != BT_NN_ACT_TANH && a != BT_NN_ACT_GELU)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "act_cuda: unknown activation %d", (int)a);
    if (n < 0) return BT_FAIL(BT_STATUS_BAD_INPUT, "act_cuda: %lld elements", (long long)n);
    return BT_STATUS_OK;
}

} // namespace

extern "C" bt_status bt_nn_act_fwd_cuda(bt_nn_act act, int64_t n, const float *x, float *y,
                                        void *stream) {
    BT_TRY(check_act(act, n));
    if (n == 0) return BT_STATUS_OK;
    fwd_kernel<<<bt_nn_blocks(n, 1), BT_NN_THREADS, 0, (cudaStream_t)stream>>>(act, n, x, y, NULL,
                                                                               NULL);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}

extern "C" bt_status bt_nn_act_bwd_cuda(bt_nn_act act, int64_t n, const float *x, const float *dy,
                                        float *dx, void *stream) {
    BT_TRY(check_act(act, n));
    if (n == 0) return BT_STATUS_OK;
    bwd_kernel<<<bt_nn_blocks(n, 1), BT_NN_THREADS, 0, (cudaStream_t)stream>>>(act, n, x, dy, dx,
                                                                               NULL, NULL, NULL);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}

extern "C" bt_status bt_nn_act_fwd_slots_cuda(bt_nn_act act, int n_slots, int64_t n,
                                              const float *const *x, float *const *y,
                                              void *stream) {
    BT_TRY(check_act(act, n));
    BT_NN_CHECK_SLOTS("act_fwd_slots_cuda", n_slots);
    if (n == 0 || n_slots == 0) return BT_STATUS_OK;
    fwd_kernel<<<dim3(bt_nn_blocks(n, n_slots), (unsigned)n_slots), BT_NN_THREADS, 0,
                 (cudaStream_t)stream>>>(act, n, NULL, NULL, x, y);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}

extern "C" bt_status bt_nn_act_bwd_slots_cuda(bt_nn_act act, int n_slots, int64_t n,
                                              const float *const *x, const float *const *dy,
                                              float *const *dx, void *stream) {
    BT_TRY(check_act(act, n));
    BT_NN_CHECK_SLOTS("act_bwd_slots_cuda", n_slots);
    if (n == 0 || n_slots == 0) return BT_STATUS_OK;
    bwd_kernel<<<dim3(bt_nn_blocks(n, n_slots), (unsigned)n_slots), BT_NN_THREADS, 0,
                 (cudaStream_t)stream>>>(act, n, NULL, NULL, NULL, x, dy, dx);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}
