/* The capture lock of the CUDA module: a graph capture (cudaStreamBeginCapture to
 * cudaStreamEndCapture, host work only) holds it shared, so packs on several threads capture at
 * once; every allocation and free of the module's packs (device and pinned) and every other call
 * that waits for the device (cuBLAS handle creation and destruction) holds it exclusive, so none
 * runs while any pack captures. Captures are thread-local, which lets other threads allocate,
 * but cudaFree, cudaFreeHost and cublasDestroy wait for the device, and field reports
 * (NVIDIA/TensorRT#2888, llama.cpp#14033) see such waits invalidate captures on other threads
 * whatever their mode; under the lock they cannot. Stream-ordered allocation (cudaMallocAsync)
 * would not need it, but would change the memory the packs plan with (pool reservations, release
 * points), and pinned memory has no stream-ordered form. Captures are short and rare (a key's
 * second sight), allocations rare (growth, init, teardown): the lock costs nothing measurable. A
 * capture broken anyway (by code outside the module) falls back to direct launches.
 * Ownership: none; the lock is process-wide. Built only with CUDA (BT_HAVE_CUDA). */
#ifndef BT_CUDA_CAPTURE_LOCK_H
#define BT_CUDA_CAPTURE_LOCK_H

#include <stddef.h>

#include <cuda_runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/* cudaMalloc, cudaFree, cudaMallocHost and cudaFreeHost under the lock (exclusive); a free of
 * NULL is a no-op that takes no lock. */
cudaError_t bt_cuda_malloc(void **p, size_t bytes);
cudaError_t bt_cuda_free(void *p);
cudaError_t bt_cuda_malloc_host(void **p, size_t bytes);
cudaError_t bt_cuda_free_host(void *p);

/* A capture's section (shared) and another device-waiting call's section (exclusive). */
void bt_cuda_capture_enter(void);
void bt_cuda_exclusive_enter(void);
void bt_cuda_capture_lock_leave(void);

#ifdef __cplusplus
}
#endif

#endif
