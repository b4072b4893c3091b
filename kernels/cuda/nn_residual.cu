/* CUDA twin of the residual add (kernels/nn_residual.h): one thread per element, slots in grid y.
 */
#include "kernels/cuda/nn_common.cuh"

extern "C" {
#include "kernels/nn_residual.h"
}

namespace {

__global__ void fwd_kernel(int64_t n, const float *const *X, const float *const *S,
                           float *const *Y) {
    const float *x = X[blockIdx.y], *sc = S[blockIdx.y];
    float *y = Y[blockIdx.y];
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        y[i] = x[i] + sc[i];
}

__global__ void bwd_kernel(int64_t n, const float *const *DY, float *const *DX, float *const *DS) {
    const float *dy = DY[blockIdx.y];
    float *dx = DX ? DX[blockIdx.y] : NULL, *ds = DS[blockIdx.y];
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        const float g = dy[i]; /* read before dx[i] is written: dx may alias dy */
        if (dx) dx[i] = g;
        ds[i] += g;
    }
}

} // namespace

extern "C" bt_status bt_nn_residual_fwd_cuda(int n_slots, int64_t n, const float *const *x,
                                             const float *const *shortcut, float *const *y,
                                             void *stream) {
    BT_NN_CHECK_SLOTS("residual_fwd_cuda", n_slots);
    if (n <= 0 || n_slots == 0) return BT_STATUS_OK;
    fwd_kernel<<<dim3(bt_nn_blocks(n, n_slots), (unsigned)n_slots), BT_NN_THREADS, 0,
                 (cudaStream_t)stream>>>(n, x, shortcut, y);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}

extern "C" bt_status bt_nn_residual_bwd_cuda(int n_slots, int64_t n, const float *const *dy,
                                             float *const *dx, float *const *dshortcut,
                                             void *stream) {
    BT_NN_CHECK_SLOTS("residual_bwd_cuda", n_slots);
    if (n <= 0 || n_slots == 0) return BT_STATUS_OK;
    bwd_kernel<<<dim3(bt_nn_blocks(n, n_slots), (unsigned)n_slots), BT_NN_THREADS, 0,
                 (cudaStream_t)stream>>>(n, dy, dx, dshortcut);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}
