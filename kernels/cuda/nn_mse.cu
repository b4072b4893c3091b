/* CUDA twin of the mean squared error (kernels/nn_mse.h): one block per slot, threads over rows,
 * float terms as the reference computes them, summed in double in a fixed tree order. */
#include "kernels/cuda/nn_common.cuh"

extern "C" {
#include "kernels/nn_mse.h"
}

namespace {

__global__ void __launch_bounds__(BT_NN_THREADS)
    mse_kernel(int rows, const float *const *P, const float *const *T, double *loss,
               float *const *DP) {
    __shared__ double sh[BT_NN_THREADS];
    const int s = blockIdx.x;
    const float *pred = P[s], *tgt = T[s];
    float *dp = DP ? DP[s] : NULL;
    const float scale = 2.0f / (float)rows;
    double total = 0.0;
    for (int r = threadIdx.x; r < rows; r += BT_NN_THREADS) {
        const float e = pred[r] - tgt[r];
        total += (double)__fmul_rn(e, e); /* no contraction: the reference's float square */
        if (dp) dp[r] = scale * e;
    }
    const double all = bt_nn_block_sum(total, sh);
    if (threadIdx.x == 0) loss[s] = rows > 0 ? all / (double)rows : 0.0;
}

} // namespace

extern "C" bt_status bt_nn_mse_cuda(int n_slots, int rows, const float *const *pred,
                                    const float *const *target, double *loss, float *const *dpred,
                                    void *stream) {
    if (n_slots < 0 || rows < 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "mse_cuda: %d slots, %d rows", n_slots, rows);
    if (n_slots == 0) return BT_STATUS_OK;
    mse_kernel<<<(unsigned)n_slots, BT_NN_THREADS, 0, (cudaStream_t)stream>>>(rows, pred, target,
                                                                              loss, dpred);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}
