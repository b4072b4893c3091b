/* CUDA runtime error checks for C host code (the GPU packs): a failed call returns a bt_status
 * naming the expression, file and line. kernels/cuda/check.cuh is the C++ twin for .cu files.
 * Include after <cuda_runtime.h>; only for code built with BT_HAVE_CUDA. */
#ifndef BT_CUDA_CHECK_H
#define BT_CUDA_CHECK_H

#include "base/status.h"

/* The status of a failed CUDA call `e` made by expression `expr`. */
#define BT_CU_FAIL(e, expr)                                                                        \
    bt_fail(BT_STATUS_INTERNAL, __FILE__, __LINE__, "%s: %s (%d)", expr, cudaGetErrorString(e),    \
            (int)(e))

/* Returns from the calling function (which returns bt_status) when `expr` fails. */
#define CU(expr)                                                                                   \
    do {                                                                                           \
        cudaError_t cu_e_ = (expr);                                                                \
        if (cu_e_ != cudaSuccess) return BT_CU_FAIL(cu_e_, #expr);                                 \
    } while (0)

#endif
