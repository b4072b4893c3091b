/* GPU discovery through the CUDA runtime: count, name, memory, compute capability. A missing
 * driver or GPU reads as zero devices, never as an error, so CPU runs work on any machine. */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdio.h>
#include <string.h>

extern "C" {
#include "runtime/devices/devices.h"
}

/* the families' CUDA pack tables (models/<family>/cuda/ops.c) */
extern "C" const struct bt_pack_ops bt_gbdt_cuda_packs, bt_mlp_cuda_packs, bt_resnet_cuda_packs;

extern "C" const struct bt_pack_ops *bt_gpu_pack_ops(const char *family) {
    if (!family) return NULL;
    if (strcmp(family, "gbdt") == 0) return &bt_gbdt_cuda_packs;
    if (strcmp(family, "mlp") == 0) return &bt_mlp_cuda_packs;
    if (strcmp(family, "resnet") == 0) return &bt_resnet_cuda_packs;
    return NULL;
}

extern "C" int bt_build_cuda(void) {
    return 1;
}

extern "C" int bt_gpu_count(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError(); /* clear the sticky "no driver" error */
        return 0;
    }
    return n;
}

extern "C" bt_status bt_gpu_info_get(int index, bt_gpu_info *out) {
    cudaDeviceProp prop;
    cudaError_t e = cudaGetDeviceProperties(&prop, index);
    if (e != cudaSuccess)
        return BT_FAIL(BT_STATUS_INTERNAL, "cudaGetDeviceProperties(%d): %s", index,
                       cudaGetErrorString(e));
    memset(out, 0, sizeof *out);
    out->index = index;
    snprintf(out->name, sizeof out->name, "%s", prop.name);
    out->total_mem = prop.totalGlobalMem;
    out->cc_major = prop.major;
    out->cc_minor = prop.minor;
    out->sm_count = prop.multiProcessorCount;
    if (cudaDeviceGetPCIBusId(out->pci_bus_id, (int)sizeof out->pci_bus_id, index) != cudaSuccess)
        out->pci_bus_id[0] = '\0';
    int prev = 0;
    cudaGetDevice(&prev);
    if (cudaSetDevice(index) == cudaSuccess) {
        size_t free_b = 0, total_b = 0;
        if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) out->free_mem = free_b;
        cudaSetDevice(prev);
    }
    cudaGetLastError();
    return BT_STATUS_OK;
}

extern "C" bt_status bt_gpu_select(int index) {
    cudaError_t e = cudaSetDevice(index);
    if (e != cudaSuccess)
        return BT_FAIL(BT_STATUS_INTERNAL, "cudaSetDevice(%d): %s", index, cudaGetErrorString(e));
    return BT_STATUS_OK;
}

extern "C" bt_status bt_gpu_mem_used(int index, int64_t *used) {
    *used = -1;
    /* the current device is per thread: this sets the caller's (a sampler thread's) only */
    cudaError_t e = cudaSetDevice(index);
    size_t free_b = 0, total_b = 0;
    if (e == cudaSuccess) e = cudaMemGetInfo(&free_b, &total_b);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return BT_FAIL(BT_STATUS_INTERNAL, "cudaMemGetInfo(%d): %s", index, cudaGetErrorString(e));
    }
    *used = (int64_t)(total_b - free_b);
    return BT_STATUS_OK;
}

extern "C" const char *bt_cuda_version_string(void) {
    static char buf[128];
    int rt = 0, drv = 0, blas[3] = {0, 0, 0};
    cudaRuntimeGetVersion(&rt);
    cudaDriverGetVersion(&drv);
    const libraryPropertyType parts[3] = {MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL};
    for (int i = 0; i < 3; i++)
        if (cublasGetProperty(parts[i], &blas[i]) != CUBLAS_STATUS_SUCCESS) blas[i] = -1;
    char drv_s[32];
    if (drv == 0)
        snprintf(drv_s, sizeof drv_s, "no driver");
    else
        snprintf(drv_s, sizeof drv_s, "driver %d.%d", drv / 1000, (drv % 1000) / 10);
    snprintf(buf, sizeof buf, "CUDA %d.%d runtime, %s, cuBLAS %d.%d.%d", rt / 1000,
             (rt % 1000) / 10, drv_s, blas[0], blas[1], blas[2]);
    return buf;
}
