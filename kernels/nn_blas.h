/* The cuBLAS side of the neural-net CUDA kernels: a handle bound to one stream plus the math mode
 * its GEMMs use. TF32 tensor cores by default (float32 storage, 10-bit mantissa products, float32
 * sums: ~3e-4 relative error per GEMM); FP32 is strict IEEE float32 (the tests use it); BF16 uses
 * bf16 products. BT_NN_MATH=fp32|tf32|bf16 in the environment sets the default of new handles.
 * Ownership: bt_nn_blas_init creates the handle, bt_nn_blas_free destroys it; the stream is
 * borrowed. Built only with CUDA (BT_HAVE_CUDA). */
#ifndef BT_KERNEL_NN_BLAS_H
#define BT_KERNEL_NN_BLAS_H

#if BT_HAVE_CUDA
#include "base/status.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef enum bt_nn_math {
    BT_NN_MATH_TF32 = 0, /* CUBLAS_COMPUTE_32F_FAST_TF32: the default */
    BT_NN_MATH_FP32,     /* CUBLAS_COMPUTE_32F with pedantic math: no tensor-core shortcuts */
    BT_NN_MATH_BF16      /* CUBLAS_COMPUTE_32F_FAST_16BF */
} bt_nn_math;

typedef struct bt_nn_blas bt_nn_blas; /* opaque */

/* The mode named `name` ("tf32", "fp32", "bf16"), or -1. */
int bt_nn_math_from_name(const char *name);

/* Default mode of handles created from now on: BT_NN_MATH from the environment when set to a
 * valid name, else TF32, until bt_nn_blas_set_default_math is called. */
void bt_nn_blas_set_default_math(bt_nn_math m);
bt_nn_math bt_nn_blas_default_math(void);

/* A cuBLAS handle on the current device, every call of it enqueued on `stream` (a cudaStream_t;
 * NULL = the legacy default stream). */
bt_status bt_nn_blas_init(bt_nn_blas **out, void *stream);
void bt_nn_blas_free(bt_nn_blas *b);
void bt_nn_blas_set_math(bt_nn_blas *b, bt_nn_math m);
bt_nn_math bt_nn_blas_math(const bt_nn_blas *b);
void *bt_nn_blas_stream(const bt_nn_blas *b);

#ifdef __cplusplus
}
#endif
#endif /* BT_HAVE_CUDA */

#endif
