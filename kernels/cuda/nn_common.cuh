/* Shared pieces of the neural-net CUDA kernels (kernels/cuda/nn_*.cu): the cuBLAS handle wrapper
 * behind bt_nn_blas, one batched-GEMM call shape over per-slot pointer arrays in the handle's math
 * mode, and launch-shape helpers. Internal to kernels/cuda; the public API is kernels/nn_*.h. */
#ifndef BT_NN_COMMON_CUH
#define BT_NN_COMMON_CUH

#include <stdint.h>

#include "kernels/cuda/check.cuh"

extern "C" {
#include "kernels/nn_blas.h"
}

struct bt_nn_blas {
    cublasHandle_t handle;
    cudaStream_t stream;
    bt_nn_math math;
};

/* Grid y (and z) hold at most this many slots; launchers refuse more. */
#define BT_NN_MAX_SLOTS 65535
#define BT_NN_THREADS 256

/* Blocks of BT_NN_THREADS threads covering n elements with grid-stride loops: enough blocks to
 * fill the device several times over (one launch covers every slot in grid y). */
static inline unsigned bt_nn_blocks(int64_t n, int n_slots) {
    int64_t b = (n + BT_NN_THREADS - 1) / BT_NN_THREADS;
    int64_t cap = 4096 / (n_slots > 0 ? n_slots : 1);
    if (cap < 8) cap = 8;
    if (b > cap) b = cap;
    return (unsigned)(b > 0 ? b : 1);
}

/* Refuses a slot count the grid cannot hold (and negative sizes), before anything is launched. */
#define BT_NN_CHECK_SLOTS(what, n_slots)                                                           \
    do {                                                                                           \
        if ((n_slots) < 0 || (n_slots) > BT_NN_MAX_SLOTS)                                          \
            return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: %d slots (0 .. %d)", what, (int)(n_slots),    \
                           BT_NN_MAX_SLOTS);                                                       \
    } while (0)

/* C[s] = alpha op(A[s]) op(B[s]) + beta C[s] for s < batch, column-major as cuBLAS sees it, in the
 * handle's math mode (float32 storage and float32 accumulation in every mode). Every A[s], B[s],
 * C[s] must be aligned to bt_nn_math_alignment(mode) -- 16 bytes in TF32 / BF16: the pointers live
 * in device memory, so neither this call nor cuBLAS can check them, and a misaligned one faults on
 * the device (cudaErrorMisalignedAddress, the context lost). Callers check their tables
 * (bt_nn_cuda_tab_gemm) or build aligned ones (im2col). */
bt_status bt_nn_gemm_batched(bt_nn_blas *b, cublasOperation_t ta, cublasOperation_t tb, int m,
                             int n, int k, float alpha, const float *const *A, int lda,
                             const float *const *B, int ldb, float beta, float *const *C, int ldc,
                             int batch);

/* Y[s][r * c + j] = bias[s][j] (0 where bias or bias[s] is NULL) for r < rows: the starting value
 * of a GEMM with beta 1. Defined in nn_blas.cu (no separate compilation: kernels stay in their TU).
 */
bt_status bt_nn_broadcast_rows(int n_slots, int64_t rows, int c, const float *const *bias,
                               float *const *Y, cudaStream_t s);

/* Sum of v over the block (blockDim.x == BT_NN_THREADS) in a fixed tree order, so a launch's
 * result does not depend on scheduling; valid in thread 0. sh: BT_NN_THREADS doubles. */
static __device__ __forceinline__ double bt_nn_block_sum(double v, double *sh) {
    sh[threadIdx.x] = v;
    __syncthreads();
    for (int w = BT_NN_THREADS / 2; w > 0; w >>= 1) {
        if ((int)threadIdx.x < w) sh[threadIdx.x] += sh[threadIdx.x + w];
        __syncthreads();
    }
    double r = sh[0];
    __syncthreads(); /* sh may be reused at once */
    return r;
}

/* Warp-wide max and sum (every lane gets the result). */
static __device__ __forceinline__ float bt_nn_warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
static __device__ __forceinline__ float bt_nn_warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

#endif
