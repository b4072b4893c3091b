/* The cuBLAS mock of the device emulation (cublas_v2.h): cublasGemmBatchedEx as a plain
 * column-major triple loop queued on the handle's stream, reading the device pointer arrays when
 * the stream runs (as cuBLAS does). Operands are rounded to TF32 / BF16 in those compute types;
 * sums are float in loop order, so it is not cuBLAS's numerics, only its contract. Every operand
 * range is checked against the emulated device allocations; a violation aborts the test. The
 * operands' alignment is checked as a GPU would fail on it: in the TF32 and BF16 compute types
 * cuBLAS picks vectorized tensor-core kernels from the shapes alone (it cannot see the pointers
 * inside the device arrays), so an operand that is not 16-byte aligned faults with
 * cudaErrorMisalignedAddress and the context is lost (onnxruntime#16130); FP32 needs 4 bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/emu/device/cublas_v2.h"
#include "emu.h"

struct bt_emu_cublas {
    cudaStream_t stream;
    int math;
};

cublasStatus_t cublasGetProperty(libraryPropertyType type, int *value) {
    (void)type;
    *value = 0;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasCreate(cublasHandle_t *handle) {
    *handle = calloc(1, sizeof **handle);
    return *handle ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_ALLOC_FAILED;
}

cublasStatus_t cublasDestroy(cublasHandle_t handle) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    cudaDeviceSynchronize(); /* cublasDestroy waits for the handle's work */
    free(handle);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    handle->stream = stream;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetPointerMode(cublasHandle_t handle, cublasPointerMode_t mode) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    return mode == CUBLAS_POINTER_MODE_HOST ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    handle->math = (int)mode;
    return CUBLAS_STATUS_SUCCESS;
}

const char *cublasGetStatusString(cublasStatus_t status) {
    switch (status) {
    case CUBLAS_STATUS_SUCCESS:
        return "CUBLAS_STATUS_SUCCESS (emulated)";
    case CUBLAS_STATUS_INVALID_VALUE:
        return "CUBLAS_STATUS_INVALID_VALUE (emulated)";
    case CUBLAS_STATUS_EXECUTION_FAILED:
        return "CUBLAS_STATUS_EXECUTION_FAILED (emulated)";
    default:
        return "cuBLAS error (emulated)";
    }
}

/* Rounds to the operand precision of the compute type (round to nearest on the kept bits). */
static float round_to(float x, int compute) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if (compute == CUBLAS_COMPUTE_32F_FAST_TF32) u = (u + 0x1000u) & ~0x1FFFu;
    if (compute == CUBLAS_COMPUTE_32F_FAST_16BF) u = (u + 0x8000u) & 0xFFFF0000u;
    memcpy(&x, &u, 4);
    return x;
}

typedef struct gemm_args {
    cublasOperation_t ta, tb;
    int m, n, k, lda, ldb, ldc, batch;
    float alpha, beta;
    const float *const *A, *const *B;
    float *const *C;
    int compute;
} gemm_args;

/* Elements a column-major rows x cols matrix with leading dimension ld spans. */
static size_t extent(int rows, int cols, int ld) {
    return rows > 0 && cols > 0 ? (size_t)(cols - 1) * (size_t)ld + (size_t)rows : 0;
}

static void must(int ok) {
    if (ok) return;
    fprintf(stderr, "emu cublasGemmBatchedEx: %s\n", bt_emu_violation());
    abort();
}

/* Bytes every operand pointer must be aligned to in a compute type. */
static uintptr_t alignment_of(int compute) {
    return compute == CUBLAS_COMPUTE_32F ? 4 : 16;
}

/* Whether every operand of the batch is aligned for the compute type; else the device fault: the
 * sticky cudaErrorMisalignedAddress (emu.h), with the first offender on stderr. */
static int aligned(const gemm_args *a) {
    const uintptr_t al = alignment_of(a->compute);
    for (int s = 0; s < a->batch; s++) {
        const void *op[3] = {a->A[s], a->B[s], a->C[s]};
        for (int q = 0; q < 3; q++) {
            if ((uintptr_t)op[q] % al == 0) continue;
            const char name = (char)('A' + q);
            fprintf(stderr,
                    "emu cublasGemmBatchedEx: %c[%d] = %p is not %u-byte aligned (compute type "
                    "%d): cudaErrorMisalignedAddress, the context is lost\n",
                    name, s, op[q], (unsigned)al, a->compute);
            bt_emu_set_sticky_error(cudaErrorMisalignedAddress);
            return 0;
        }
    }
    return 1;
}

static void gemm_run(void *p) {
    const gemm_args *a = p;
    bt_emu_count_kernel();
    const size_t ptrs = (size_t)a->batch * sizeof(void *);
    must(bt_emu_check(a->A, ptrs, "cublas A pointer array"));
    must(bt_emu_check(a->B, ptrs, "cublas B pointer array"));
    must(bt_emu_check(a->C, ptrs, "cublas C pointer array"));
    /* a lost context runs nothing more; a misaligned operand faults before anything is written */
    if (bt_emu_sticky_error() != cudaSuccess || !aligned(a)) return;
    const int ta = a->ta == CUBLAS_OP_N, tb = a->tb == CUBLAS_OP_N;
    const size_t ea = extent(ta ? a->m : a->k, ta ? a->k : a->m, a->lda);
    const size_t eb = extent(tb ? a->k : a->n, tb ? a->n : a->k, a->ldb);
    const size_t ec = extent(a->m, a->n, a->ldc);
    for (int s = 0; s < a->batch; s++) {
        const float *A = a->A[s], *B = a->B[s];
        float *C = a->C[s];
        if (a->k > 0) {
            must(bt_emu_check(A, ea * sizeof(float), "cublas A operand"));
            must(bt_emu_check(B, eb * sizeof(float), "cublas B operand"));
        }
        must(bt_emu_check(C, ec * sizeof(float), "cublas C operand"));
        for (int j = 0; j < a->n; j++)
            for (int i = 0; i < a->m; i++) {
                float acc = 0.0f;
                for (int q = 0; q < a->k; q++) {
                    float x = ta ? A[i + (size_t)q * a->lda] : A[q + (size_t)i * a->lda];
                    float y = tb ? B[q + (size_t)j * a->ldb] : B[j + (size_t)q * a->ldb];
                    acc += round_to(x, a->compute) * round_to(y, a->compute);
                }
                float *c = &C[i + (size_t)j * a->ldc];
                /* beta == 0: C is not read (it may hold NaN), as in cuBLAS */
                *c = a->beta == 0.0f ? a->alpha * acc : a->alpha * acc + a->beta * *c;
            }
    }
}

cublasStatus_t cublasGemmBatchedEx(cublasHandle_t handle, cublasOperation_t transa,
                                   cublasOperation_t transb, int m, int n, int k, const void *alpha,
                                   const void *const Aarray[], cudaDataType_t Atype, int lda,
                                   const void *const Barray[], cudaDataType_t Btype, int ldb,
                                   const void *beta, void *const Carray[], cudaDataType_t Ctype,
                                   int ldc, int batchCount, cublasComputeType_t computeType,
                                   cublasGemmAlgo_t algo) {
    (void)algo;
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    /* after a device fault every launch fails */
    if (bt_emu_sticky_error() != cudaSuccess) return CUBLAS_STATUS_EXECUTION_FAILED;
    if (Atype != CUDA_R_32F || Btype != CUDA_R_32F || Ctype != CUDA_R_32F)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (m < 0 || n < 0 || k < 0 || batchCount < 0) return CUBLAS_STATUS_INVALID_VALUE;
    if (lda < (transa == CUBLAS_OP_N ? m : k) || ldb < (transb == CUBLAS_OP_N ? k : n) || ldc < m ||
        lda < 1 || ldb < 1 || ldc < 1)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (m == 0 || n == 0 || batchCount == 0) return CUBLAS_STATUS_SUCCESS;
    gemm_args a = {transa,
                   transb,
                   m,
                   n,
                   k,
                   lda,
                   ldb,
                   ldc,
                   batchCount,
                   *(const float *)alpha,
                   *(const float *)beta,
                   (const float *const *)Aarray,
                   (const float *const *)Barray,
                   (float *const *)Carray,
                   (int)computeType};
    if (bt_emu_enqueue(handle->stream, gemm_run, &a, sizeof a, 1) != cudaSuccess)
        return CUBLAS_STATUS_EXECUTION_FAILED;
    return CUBLAS_STATUS_SUCCESS;
}
