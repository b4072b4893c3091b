/* CUDA twin of the batched fully connected layer (kernels/nn_linear.h). Row-major X (rows x in),
 * W (in x out), Y (rows x out) are column-major Y^T = W^T X^T to cuBLAS, so every product is one
 * cublasGemmBatchedEx over the slots' pointer arrays, with no transposed copies. */
#include "kernels/cuda/nn_common.cuh"

extern "C" {
#include "kernels/nn_linear.h"
}

namespace {

/* db[s][o] = sum over r of dY[s][r][o], in row order: the reference's float sum, bit for bit. */
__global__ void bias_grad_kernel(int rows, int out, const float *const *dY, float *const *db) {
    const int s = blockIdx.y;
    const int o = blockIdx.x * blockDim.x + threadIdx.x;
    if (o >= out) return;
    const float *dy = dY[s] + o;
    float acc = 0.0f;
    for (int r = 0; r < rows; r++) acc += dy[(size_t)r * out];
    db[s][o] = acc;
}

} // namespace

extern "C" bt_status bt_nn_linear_fwd_cuda(bt_nn_blas *blas, int n_slots, int rows, int in, int out,
                                           const float *const *X, const float *const *W,
                                           const float *const *b, float *const *Y) {
    BT_NN_CHECK_SLOTS("linear_fwd_cuda", n_slots);
    if (rows < 0 || in < 0 || out < 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "linear_fwd_cuda: rows %d in %d out %d", rows, in, out);
    if (n_slots == 0 || rows == 0 || out == 0) return BT_STATUS_OK;
    BT_TRY(bt_nn_broadcast_rows(n_slots, rows, out, b, Y, blas->stream));
    if (in == 0) return BT_STATUS_OK;
    /* Y^T (out x rows) += W^T (out x in, W's buffer, ld out) X^T (in x rows, X's buffer, ld in) */
    return bt_nn_gemm_batched(blas, CUBLAS_OP_N, CUBLAS_OP_N, out, rows, in, 1.0f, W, out, X, in,
                              1.0f, Y, out, n_slots);
}

extern "C" bt_status bt_nn_linear_bwd_cuda(bt_nn_blas *blas, int n_slots, int rows, int in, int out,
                                           const float *const *X, const float *const *W,
                                           const float *const *dY, float *const *dX,
                                           float *const *dW, float *const *db) {
    BT_NN_CHECK_SLOTS("linear_bwd_cuda", n_slots);
    if (rows < 0 || in < 0 || out < 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "linear_bwd_cuda: rows %d in %d out %d", rows, in, out);
    if (n_slots == 0 || out == 0) return BT_STATUS_OK;
    cudaStream_t st = blas->stream;
    bias_grad_kernel<<<dim3((unsigned)((out + 127) / 128), (unsigned)n_slots), 128, 0, st>>>(
        rows, out, dY, db);
    BT_CUDA_CHECK_LAUNCH();
    if (in == 0) return BT_STATUS_OK;
    if (rows == 0) /* no rows: dW is zero (the reference's memset); dX has no rows */
        return bt_nn_broadcast_rows(n_slots, in, out, NULL, dW, st);
    /* dW^T (out x in) = dY^T (out x rows, ld out) (X^T)^T (rows x in; X's buffer is X^T, ld in) */
    BT_TRY(bt_nn_gemm_batched(blas, CUBLAS_OP_N, CUBLAS_OP_T, out, in, rows, 1.0f, dY, out, X, in,
                              0.0f, dW, out, n_slots));
    if (!dX) return BT_STATUS_OK;
    /* dX^T (in x rows) = (W^T)^T (in x out; W's buffer is W^T, ld out) dY^T (out x rows, ld out) */
    return bt_nn_gemm_batched(blas, CUBLAS_OP_T, CUBLAS_OP_N, in, rows, out, 1.0f, W, out, dY, out,
                              0.0f, dX, in, n_slots);
}
