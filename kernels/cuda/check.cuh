/* The one error-check shape for CUDA runtime, cuBLAS and cuRAND calls in library code: on failure
 * it records the call's text, file and line through bt_fail and returns BT_STATUS_INTERNAL from the
 * enclosing function (which must return bt_status). The library never exits or prints. */
#ifndef BT_CUDA_CHECK_CUH
#define BT_CUDA_CHECK_CUH

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <curand.h>

extern "C" {
#include "base/status.h"
}

/* cuRAND has no message function; its codes are few and documented in curand.h. */
static inline const char *bt_curand_status_string(curandStatus_t s) {
    switch (s) {
    case CURAND_STATUS_SUCCESS:
        return "success";
    case CURAND_STATUS_ALLOCATION_FAILED:
        return "allocation failed";
    case CURAND_STATUS_LAUNCH_FAILURE:
        return "launch failure";
    case CURAND_STATUS_NOT_INITIALIZED:
        return "not initialized";
    case CURAND_STATUS_ARCH_MISMATCH:
        return "architecture mismatch";
    default:
        return "curand error";
    }
}

static inline bool bt_cuda_ok_(cudaError_t e) {
    return e == cudaSuccess;
}
static inline bool bt_cuda_ok_(cublasStatus_t e) {
    return e == CUBLAS_STATUS_SUCCESS;
}
static inline bool bt_cuda_ok_(curandStatus_t e) {
    return e == CURAND_STATUS_SUCCESS;
}
static inline const char *bt_cuda_msg_(cudaError_t e) {
    return cudaGetErrorString(e);
}
static inline const char *bt_cuda_msg_(cublasStatus_t e) {
    return cublasGetStatusString(e);
}
static inline const char *bt_cuda_msg_(curandStatus_t e) {
    return bt_curand_status_string(e);
}

/* BT_CUDA_CHECK(cudaMemcpyAsync(...)); BT_CUDA_CHECK(cublasSgemm(...)); BT_CUDA_CHECK(curand...);
 * the overloads above pick the status type, so the shape is the same for all three. */
#define BT_CUDA_CHECK(expr)                                                                        \
    do {                                                                                           \
        auto bt_cuda_e_ = (expr);                                                                  \
        if (!bt_cuda_ok_(bt_cuda_e_))                                                              \
            return bt_fail(BT_STATUS_INTERNAL, __FILE__, __LINE__, "%s: %s (%d)", #expr,           \
                           bt_cuda_msg_(bt_cuda_e_), (int)bt_cuda_e_);                             \
    } while (0)

/* After a kernel launch: reports a bad launch configuration (the kernel's own faults surface at
 * the next synchronizing call, which is checked the same way). */
#define BT_CUDA_CHECK_LAUNCH() BT_CUDA_CHECK(cudaGetLastError())

#endif
