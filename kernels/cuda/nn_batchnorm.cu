/* CUDA twin of batch normalization (kernels/nn_batchnorm.h). A block of 256 threads owns TC
 * adjacent channels of one slot (TC = 32, or the next power of two >= c when c is smaller) and
 * all rows: thread (g, t) reads channel t of rows g, g + G, ... (G = 256 / TC row groups), so a
 * warp reads contiguous channel runs. Per-channel sums are doubles combined over the row groups
 * in a fixed order; every float expression of the reference is written with _rn intrinsics so
 * nvcc cannot contract it into a fused multiply-add (which would round differently). */
#include "kernels/cuda/nn_common.cuh"

extern "C" {
#include "kernels/nn_batchnorm.h"
}

namespace {

/* Combines each channel's per-row-group partial v over the G groups (in group order); every
 * thread of channel t gets the total. sh: BT_NN_THREADS doubles. */
__device__ __forceinline__ double col_sum(double v, double *sh, int tc, int t, int g) {
    sh[g * tc + t] = v;
    __syncthreads();
    double acc = 0.0;
    const int groups = BT_NN_THREADS / tc;
    for (int k = 0; k < groups; k++) acc += sh[k * tc + t];
    __syncthreads();
    return acc;
}

__global__ void __launch_bounds__(BT_NN_THREADS)
    train_fwd_kernel(int rows, int c, int tc, float momentum, float eps, const float *const *X,
                     const float *const *GAM, const float *const *BET, float *const *RM,
                     float *const *RV, float *const *XH, float *const *IS, float *const *Y) {
    __shared__ double sh[BT_NN_THREADS];
    const int s = blockIdx.y;
    const int t = threadIdx.x % tc, g = threadIdx.x / tc, G = BT_NN_THREADS / tc;
    const int j = blockIdx.x * tc + t;
    const bool live = j < c;
    const float *x = X[s];
    double sum = 0.0;
    if (live)
        for (int r = g; r < rows; r += G) sum += (double)x[(size_t)r * c + j];
    sum = col_sum(sum, sh, tc, t, g);
    const double mean = sum / rows;
    double ss = 0.0;
    if (live)
        for (int r = g; r < rows; r += G) {
            const double d = (double)x[(size_t)r * c + j] - mean;
            ss = __dadd_rn(ss, __dmul_rn(d, d));
        }
    ss = col_sum(ss, sh, tc, t, g);
    if (!live) return; /* after the last barrier */
    const double var = ss / rows;
    const float is = (float)(1.0 / sqrt(var + (double)eps));
    const float m = (float)mean;
    const float gm = GAM[s][j], bt = BET[s][j];
    float *xh = XH[s], *y = Y[s];
    for (int r = g; r < rows; r += G) {
        const size_t i = (size_t)r * c + j;
        const float h = __fmul_rn(__fsub_rn(x[i], m), is);
        xh[i] = h;
        y[i] = __fadd_rn(__fmul_rn(gm, h), bt);
    }
    if (g == 0) {
        IS[s][j] = is;
        const double unbiased = rows > 1 ? ss / (rows - 1) : var;
        const float keep = 1.0f - momentum;
        RM[s][j] = __fadd_rn(__fmul_rn(keep, RM[s][j]), __fmul_rn(momentum, m));
        RV[s][j] = __fadd_rn(__fmul_rn(keep, RV[s][j]), __fmul_rn(momentum, (float)unbiased));
    }
}

__global__ void eval_fwd_kernel(int64_t n, int c, float eps, const float *const *X,
                                const float *const *GAM, const float *const *BET,
                                const float *const *RM, const float *const *RV, float *const *Y) {
    const int s = blockIdx.y;
    const float *x = X[s], *gm = GAM[s], *bt = BET[s], *rm = RM[s], *rv = RV[s];
    float *y = Y[s];
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        const int j = (int)(i % c);
        const float is = 1.0f / sqrtf(__fadd_rn(rv[j], eps));
        y[i] = __fadd_rn(__fmul_rn(gm[j], __fmul_rn(__fsub_rn(x[i], rm[j]), is)), bt[j]);
    }
}

__global__ void __launch_bounds__(BT_NN_THREADS)
    bwd_kernel(int rows, int c, int tc, const float *const *XH, const float *const *IS,
               const float *const *GAM, const float *const *DY, float *const *DX, float *const *DG,
               float *const *DB) {
    __shared__ double sh[BT_NN_THREADS];
    const int s = blockIdx.y;
    const int t = threadIdx.x % tc, g = threadIdx.x / tc, G = BT_NN_THREADS / tc;
    const int j = blockIdx.x * tc + t;
    const bool live = j < c;
    const float *xh = XH[s], *dy = DY[s];
    double sdy = 0.0, sdyx = 0.0;
    if (live)
        for (int r = g; r < rows; r += G) {
            const size_t i = (size_t)r * c + j;
            sdy += (double)dy[i];
            sdyx = __dadd_rn(sdyx, __dmul_rn((double)dy[i], (double)xh[i]));
        }
    sdy = col_sum(sdy, sh, tc, t, g);
    sdyx = col_sum(sdyx, sh, tc, t, g); /* its barriers also order every dy read before dx */
    if (!live) return;
    if (g == 0) {
        DG[s][j] = (float)sdyx;
        DB[s][j] = (float)sdy;
    }
    const float k = __fdiv_rn(__fmul_rn(GAM[s][j], IS[s][j]), (float)rows);
    const float a = (float)sdy, b = (float)sdyx, rf = (float)rows;
    float *dx = DX[s];
    for (int r = g; r < rows; r += G) {
        const size_t i = (size_t)r * c + j;
        dx[i] = __fmul_rn(k, __fsub_rn(__fsub_rn(__fmul_rn(rf, dy[i]), a), __fmul_rn(xh[i], b)));
    }
}

int tile_of(int c) {
    int tc = 1;
    while (tc < c && tc < 32) tc <<= 1;
    return tc;
}

bt_status check(const char *what, int n_slots, int rows, int c) {
    BT_NN_CHECK_SLOTS(what, n_slots);
    if (rows < 1 || c < 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: rows %d (>= 1), c %d", what, rows, c);
    return BT_STATUS_OK;
}

} // namespace

extern "C" bt_status bt_nn_bn_train_fwd_cuda(int n_slots, int rows, int c, float momentum,
                                             float eps, const float *const *x,
                                             const float *const *gamma, const float *const *beta,
                                             float *const *run_mean, float *const *run_var,
                                             float *const *xhat, float *const *inv_std,
                                             float *const *y, void *stream) {
    BT_TRY(check("bn_train_fwd_cuda", n_slots, rows, c));
    if (n_slots == 0 || c == 0) return BT_STATUS_OK;
    const int tc = tile_of(c);
    train_fwd_kernel<<<dim3((unsigned)((c + tc - 1) / tc), (unsigned)n_slots), BT_NN_THREADS, 0,
                       (cudaStream_t)stream>>>(rows, c, tc, momentum, eps, x, gamma, beta, run_mean,
                                               run_var, xhat, inv_std, y);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}

extern "C" bt_status bt_nn_bn_eval_fwd_cuda(int n_slots, int rows, int c, float eps,
                                            const float *const *x, const float *const *gamma,
                                            const float *const *beta, const float *const *run_mean,
                                            const float *const *run_var, float *const *y,
                                            void *stream) {
    BT_TRY(check("bn_eval_fwd_cuda", n_slots, rows, c));
    const int64_t n = (int64_t)rows * c;
    if (n_slots == 0 || n == 0) return BT_STATUS_OK;
    eval_fwd_kernel<<<dim3(bt_nn_blocks(n, n_slots), (unsigned)n_slots), BT_NN_THREADS, 0,
                      (cudaStream_t)stream>>>(n, c, eps, x, gamma, beta, run_mean, run_var, y);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}

extern "C" bt_status bt_nn_bn_bwd_cuda(int n_slots, int rows, int c, const float *const *xhat,
                                       const float *const *inv_std, const float *const *gamma,
                                       const float *const *dy, float *const *dx,
                                       float *const *dgamma, float *const *dbeta, void *stream) {
    BT_TRY(check("bn_bwd_cuda", n_slots, rows, c));
    if (n_slots == 0 || c == 0) return BT_STATUS_OK;
    const int tc = tile_of(c);
    bwd_kernel<<<dim3((unsigned)((c + tc - 1) / tc), (unsigned)n_slots), BT_NN_THREADS, 0,
                 (cudaStream_t)stream>>>(rows, c, tc, xhat, inv_std, gamma, dy, dx, dgamma, dbeta);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}
