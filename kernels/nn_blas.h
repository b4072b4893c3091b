/* The cuBLAS side of the neural-net CUDA kernels: a handle bound to one stream plus the math mode
 * its GEMMs use. TF32 tensor cores by default (float32 storage, 10-bit mantissa products, float32
 * sums: ~3e-4 relative error per GEMM); FP32 is strict IEEE float32 (the tests use it); BF16 uses
 * bf16 products. BT_NN_MATH=fp32|tf32|bf16 in the environment sets the default of new handles.
 * Ownership: bt_nn_blas_init creates the handle, bt_nn_blas_free destroys it; the stream is
 * borrowed. Built only with CUDA (BT_HAVE_CUDA). */
#ifndef BT_KERNEL_NN_BLAS_H
#define BT_KERNEL_NN_BLAS_H

#include <stddef.h>
#include <stdint.h>

/* The alignment the batched GEMMs need of every operand pointer in their pointer arrays. In the
 * TF32 and BF16 compute types cuBLAS picks vectorized tensor-core kernels from the shapes alone (it
 * cannot see the pointers inside device arrays) and loads 16 bytes at a time: an operand that is
 * not 16-byte aligned faults with cudaErrorMisalignedAddress, which loses the CUDA context. FP32
 * (pedantic) needs only float alignment. So every GEMM operand's offset in a slot's parameter
 * block, the block's size and every per-position stride of activations and scratch are multiples
 * of BT_NN_ALIGN_FLOATS floats (docs/cuda.md, "Operand alignment"). Defined without CUDA too: the
 * CPU packs share the layout. */
#define BT_NN_GEMM_ALIGN 16 /* bytes */
#define BT_NN_ALIGN_FLOATS 4

/* n floats rounded up to a multiple of BT_NN_ALIGN_FLOATS (n >= 0). */
static inline int64_t bt_nn_align_floats(int64_t n) {
    return (n + BT_NN_ALIGN_FLOATS - 1) / BT_NN_ALIGN_FLOATS * BT_NN_ALIGN_FLOATS;
}

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
/* Bytes every GEMM operand pointer must be aligned to in mode m: BT_NN_GEMM_ALIGN in TF32 and
 * BF16, sizeof(float) in FP32. */
static inline size_t bt_nn_math_alignment(bt_nn_math m) {
    return m == BT_NN_MATH_FP32 ? sizeof(float) : BT_NN_GEMM_ALIGN;
}
void *bt_nn_blas_stream(const bt_nn_blas *b);

#ifdef __cplusplus
}
#endif
#endif /* BT_HAVE_CUDA */

#endif
