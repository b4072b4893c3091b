/* The cuBLAS handle of the neural-net kernels (kernels/nn_blas.h) and the one batched-GEMM call
 * every GEMM-shaped layer goes through, so the math mode (TF32 / FP32 / BF16) is decided in one
 * place. Also the bias broadcast that starts a GEMM with beta = 1. */
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/capture_lock.h"
#include "kernels/cuda/nn_common.cuh"

namespace {

/* -1: not decided yet (read BT_NN_MATH on first use). Written once by the first reader; a race
 * between two first readers writes the same value. */
int default_math = -1;

cublasComputeType_t compute_of(bt_nn_math m) {
    switch (m) {
    case BT_NN_MATH_FP32:
        return CUBLAS_COMPUTE_32F;
    case BT_NN_MATH_BF16:
        return CUBLAS_COMPUTE_32F_FAST_16BF;
    default:
        return CUBLAS_COMPUTE_32F_FAST_TF32;
    }
}

__global__ void broadcast_rows_kernel(int64_t rows, int c, const float *const *bias,
                                      float *const *Y) {
    const int s = blockIdx.y;
    const float *b = bias ? bias[s] : NULL;
    float *y = Y[s];
    const int64_t n = rows * c;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        y[i] = b ? b[i % c] : 0.0f;
}

} // namespace

extern "C" int bt_nn_math_from_name(const char *name) {
    if (!name) return -1;
    if (strcmp(name, "tf32") == 0) return BT_NN_MATH_TF32;
    if (strcmp(name, "fp32") == 0) return BT_NN_MATH_FP32;
    if (strcmp(name, "bf16") == 0) return BT_NN_MATH_BF16;
    return -1;
}

extern "C" void bt_nn_blas_set_default_math(bt_nn_math m) {
    default_math = (int)m;
}

extern "C" bt_nn_math bt_nn_blas_default_math(void) {
    if (default_math < 0) {
        int m = bt_nn_math_from_name(getenv("BT_NN_MATH"));
        default_math = m >= 0 ? m : (int)BT_NN_MATH_TF32;
    }
    return (bt_nn_math)default_math;
}

extern "C" bt_status bt_nn_blas_init(bt_nn_blas **out, void *stream) {
    *out = NULL;
    bt_nn_blas *b = (bt_nn_blas *)calloc(1, sizeof *b);
    BT_CHECK_ALLOC(b);
    bt_cuda_exclusive_enter(); /* creation allocates and may wait for the device */
    cublasStatus_t st = cublasCreate(&b->handle);
    bt_cuda_capture_lock_leave();
    if (st != CUBLAS_STATUS_SUCCESS) {
        free(b);
        return BT_FAIL(BT_STATUS_INTERNAL, "cublasCreate: %s (%d)", cublasGetStatusString(st),
                       (int)st);
    }
    b->stream = (cudaStream_t)stream;
    b->math = bt_nn_blas_default_math();
    st = cublasSetStream(b->handle, b->stream);
    /* pointer mode host: alpha and beta are host floats */
    if (st == CUBLAS_STATUS_SUCCESS) st = cublasSetPointerMode(b->handle, CUBLAS_POINTER_MODE_HOST);
    if (st != CUBLAS_STATUS_SUCCESS) {
        bt_cuda_exclusive_enter();
        cublasDestroy(b->handle);
        bt_cuda_capture_lock_leave();
        free(b);
        return BT_FAIL(BT_STATUS_INTERNAL, "cublasSetStream: %s (%d)", cublasGetStatusString(st),
                       (int)st);
    }
    *out = b;
    return BT_STATUS_OK;
}

extern "C" void bt_nn_blas_free(bt_nn_blas *b) {
    if (!b) return;
    /* waits for the device: never during another pack's capture; errors at teardown go nowhere */
    bt_cuda_exclusive_enter();
    cublasDestroy(b->handle);
    bt_cuda_capture_lock_leave();
    free(b);
}

extern "C" void bt_nn_blas_set_math(bt_nn_blas *b, bt_nn_math m) {
    b->math = m;
}

extern "C" bt_nn_math bt_nn_blas_math(const bt_nn_blas *b) {
    return b->math;
}

extern "C" void *bt_nn_blas_stream(const bt_nn_blas *b) {
    return (void *)b->stream;
}

bt_status bt_nn_gemm_batched(bt_nn_blas *b, cublasOperation_t ta, cublasOperation_t tb, int m,
                             int n, int k, float alpha, const float *const *A, int lda,
                             const float *const *B, int ldb, float beta, float *const *C, int ldc,
                             int batch) {
    if (batch <= 0 || m <= 0 || n <= 0) return BT_STATUS_OK;
    /* the operands' alignment is the caller's (nn_common.cuh): cuBLAS picks its kernel from the
     * shapes and the mode, never from the pointers in the arrays */
    /* FP32 must not take tensor-core shortcuts whatever NVIDIA_TF32_OVERRIDE or the handle's
     * defaults say; the fast modes ask for them through the compute type. */
    BT_CUDA_CHECK(cublasSetMathMode(b->handle, b->math == BT_NN_MATH_FP32 ? CUBLAS_PEDANTIC_MATH
                                                                          : CUBLAS_DEFAULT_MATH));
    for (int done = 0; done < batch; done += BT_NN_MAX_SLOTS) {
        const int cnt = batch - done < BT_NN_MAX_SLOTS ? batch - done : BT_NN_MAX_SLOTS;
        BT_CUDA_CHECK(cublasGemmBatchedEx(
            b->handle, ta, tb, m, n, k, &alpha, (const void *const *)(A + done), CUDA_R_32F, lda,
            (const void *const *)(B + done), CUDA_R_32F, ldb, &beta, (void *const *)(C + done),
            CUDA_R_32F, ldc, cnt, compute_of(b->math), CUBLAS_GEMM_DEFAULT));
    }
    return BT_STATUS_OK;
}

bt_status bt_nn_broadcast_rows(int n_slots, int64_t rows, int c, const float *const *bias,
                               float *const *Y, cudaStream_t s) {
    BT_NN_CHECK_SLOTS("broadcast_rows", n_slots);
    if (n_slots == 0 || rows <= 0 || c <= 0) return BT_STATUS_OK;
    broadcast_rows_kernel<<<dim3(bt_nn_blocks(rows * c, n_slots), (unsigned)n_slots), BT_NN_THREADS,
                            0, s>>>(rows, c, bias, Y);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}
