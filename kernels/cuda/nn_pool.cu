/* CUDA twin of global average pooling (kernels/nn_pool.h). Forward: one thread per (row,
 * channel) walks the positions in order (adjacent threads read adjacent channels), exactly the
 * reference's float sum and scaling. Backward: one thread per input element. */
#include "kernels/cuda/nn_common.cuh"

extern "C" {
#include "kernels/nn_pool.h"
}

namespace {

__global__ void fwd_kernel(int rows, int hw, int c, float inv, const float *const *X,
                           float *const *Y) {
    const float *x = X[blockIdx.y];
    float *y = Y[blockIdx.y];
    const int64_t n = (int64_t)rows * c;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        const int64_t r = i / c, j = i - r * c;
        const float *xr = x + (size_t)r * hw * c + j;
        float acc = 0.0f;
        for (int p = 0; p < hw; p++) acc += xr[(size_t)p * c];
        y[i] = acc * inv;
    }
}

__global__ void bwd_kernel(int hw, int c, int64_t n, float inv, const float *const *DY,
                           float *const *DX) {
    const float *dy = DY[blockIdx.y];
    float *dx = DX[blockIdx.y];
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        const int64_t r = i / ((int64_t)hw * c), j = i % c;
        dx[i] = dy[r * c + j] * inv;
    }
}

} // namespace

extern "C" bt_status bt_nn_gap_fwd_cuda(int n_slots, int rows, int hw, int c, const float *const *x,
                                        float *const *y, void *stream) {
    BT_NN_CHECK_SLOTS("gap_fwd_cuda", n_slots);
    if (rows < 0 || hw < 1 || c < 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "gap_fwd_cuda: rows %d hw %d c %d", rows, hw, c);
    const int64_t n = (int64_t)rows * c;
    if (n == 0 || n_slots == 0) return BT_STATUS_OK;
    fwd_kernel<<<dim3(bt_nn_blocks(n, n_slots), (unsigned)n_slots), BT_NN_THREADS, 0,
                 (cudaStream_t)stream>>>(rows, hw, c, 1.0f / (float)hw, x, y);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}

extern "C" bt_status bt_nn_gap_bwd_cuda(int n_slots, int rows, int hw, int c,
                                        const float *const *dy, float *const *dx, void *stream) {
    BT_NN_CHECK_SLOTS("gap_bwd_cuda", n_slots);
    if (rows < 0 || hw < 1 || c < 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "gap_bwd_cuda: rows %d hw %d c %d", rows, hw, c);
    const int64_t n = (int64_t)rows * hw * c;
    if (n == 0 || n_slots == 0) return BT_STATUS_OK;
    bwd_kernel<<<dim3(bt_nn_blocks(n, n_slots), (unsigned)n_slots), BT_NN_THREADS, 0,
                 (cudaStream_t)stream>>>(hw, c, n, 1.0f / (float)hw, dy, dx);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}
