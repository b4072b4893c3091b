/* The CUDA module's GPU queries (runtime/devices/cuda_module.h): the probe -- which tells a
 * machine with no GPU from a driver that refuses -- and per GPU its name, memory, compute
 * capability, selection and memory in use, and the CUDA runtime, driver and cuBLAS versions.
 * Part of the module; the binary reaches these through its table (module.c here). */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdio.h>
#include <string.h>

extern "C" {
#include "runtime/devices/cuda_module.h"
}

extern "C" void bt_cudev_probe(bt_gpu_probe *out) {
    memset(out, 0, sizeof *out);
    int n = 0, drv = 0, rt = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    cudaDriverGetVersion(&drv);
    cudaRuntimeGetVersion(&rt);
    cudaGetLastError(); /* clear a sticky start-up error */
    if (e == cudaSuccess && n > 0) {
        out->kind = BT_GPU_PROBE_OK;
        out->count = n;
        snprintf(out->why, sizeof out->why, "%d GPU%s", n, n == 1 ? "" : "s");
    } else if (e == cudaSuccess || e == cudaErrorNoDevice) {
        out->kind = BT_GPU_PROBE_NO_DEVICE;
        snprintf(out->why, sizeof out->why, "no GPU visible (cudaGetDeviceCount: %s)",
                 e == cudaSuccess ? "0 devices" : cudaGetErrorString(e));
    } else if (drv == 0) {
        out->kind = BT_GPU_PROBE_NO_DRIVER;
        snprintf(out->why, sizeof out->why, "no NVIDIA driver (cudaGetDeviceCount: %s)",
                 cudaGetErrorString(e));
    } else if (e == cudaErrorInsufficientDriver) {
        out->kind = BT_GPU_PROBE_REFUSED;
        snprintf(out->why, sizeof out->why,
                 "the NVIDIA driver supports CUDA %d.%d, older than this build's CUDA %d.%d "
                 "runtime (update the driver or build with an older CUDA)",
                 drv / 1000, (drv % 1000) / 10, rt / 1000, (rt % 1000) / 10);
    } else {
        out->kind = BT_GPU_PROBE_REFUSED;
        snprintf(out->why, sizeof out->why, "the NVIDIA driver refuses: cudaGetDeviceCount: %s (%d)",
                 cudaGetErrorString(e), (int)e);
    }
}

extern "C" bt_status bt_cudev_info(int index, bt_gpu_info *out) {
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

extern "C" bt_status bt_cudev_select(int index) {
    cudaError_t e = cudaSetDevice(index);
    if (e != cudaSuccess)
        return BT_FAIL(BT_STATUS_INTERNAL, "cudaSetDevice(%d): %s", index, cudaGetErrorString(e));
    return BT_STATUS_OK;
}

extern "C" bt_status bt_cudev_mem_used(int index, int64_t *used) {
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

extern "C" const char *bt_cudev_versions(void) {
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
