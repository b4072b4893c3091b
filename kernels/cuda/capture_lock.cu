/* The CUDA module's capture lock (kernels/cuda/capture_lock.h): a process-wide reader-writer
 * lock, captures the readers, allocations, frees and device-waiting calls the writers. */
#include <pthread.h>

#include "kernels/cuda/capture_lock.h"

static pthread_rwlock_t capture_lock = PTHREAD_RWLOCK_INITIALIZER;

extern "C" void bt_cuda_capture_enter(void) {
    pthread_rwlock_rdlock(&capture_lock);
}

extern "C" void bt_cuda_exclusive_enter(void) {
    pthread_rwlock_wrlock(&capture_lock);
}

extern "C" void bt_cuda_capture_lock_leave(void) {
    pthread_rwlock_unlock(&capture_lock);
}

extern "C" cudaError_t bt_cuda_malloc(void **p, size_t bytes) {
    bt_cuda_exclusive_enter();
    cudaError_t e = cudaMalloc(p, bytes);
    bt_cuda_capture_lock_leave();
    return e;
}

extern "C" cudaError_t bt_cuda_free(void *p) {
    if (!p) return cudaSuccess;
    bt_cuda_exclusive_enter();
    cudaError_t e = cudaFree(p);
    bt_cuda_capture_lock_leave();
    return e;
}

extern "C" cudaError_t bt_cuda_malloc_host(void **p, size_t bytes) {
    bt_cuda_exclusive_enter();
    cudaError_t e = cudaMallocHost(p, bytes);
    bt_cuda_capture_lock_leave();
    return e;
}

extern "C" cudaError_t bt_cuda_free_host(void *p) {
    if (!p) return cudaSuccess;
    bt_cuda_exclusive_enter();
    cudaError_t e = cudaFreeHost(p);
    bt_cuda_capture_lock_leave();
    return e;
}
