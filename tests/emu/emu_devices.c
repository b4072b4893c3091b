/* The GPU queries of runtime/devices.h over the emulated CUDA runtime (tests/emu): one GPU,
 * "emulated GPU (tests/emu)", whose memory is the runtime's (cudaMemGetInfo: its budget, else a
 * large default, less what is live). Linked as an object in place of the library's
 * runtime/devices_none.c, so that the library's executor, bench and device choice take their GPU
 * paths in a CPU-only build (tests/emu/test_executor_cuda_emu.c). Test-only; never in the
 * library. */
#include <stdio.h>
#include <string.h>

#include "tests/emu/cuda_runtime.h"
#include "runtime/devices/devices.h"

int bt_build_cuda(void) {
    return 1;
}

int bt_gpu_count(void) {
    int n = 0;
    return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
}

bt_status bt_gpu_select(int index) {
    if (cudaSetDevice(index) != cudaSuccess)
        return BT_FAIL(BT_STATUS_INTERNAL, "emulated GPU %d: no such device", index);
    return BT_STATUS_OK;
}

bt_status bt_gpu_info_get(int index, bt_gpu_info *out) {
    BT_TRY(bt_gpu_select(index));
    memset(out, 0, sizeof *out);
    out->index = index;
    snprintf(out->name, sizeof out->name, "emulated GPU (tests/emu)");
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    out->total_mem = total_b;
    out->free_mem = free_b;
    out->cc_major = 9;
    out->cc_minor = 0;
    out->sm_count = 132;
    return BT_STATUS_OK;
}

bt_status bt_gpu_mem_used(int index, int64_t *used) {
    *used = -1;
    BT_TRY(bt_gpu_select(index));
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    *used = (int64_t)(total_b - free_b);
    return BT_STATUS_OK;
}

const char *bt_cuda_version_string(void) {
    return "emulated CUDA runtime (tests/emu)";
}

/* the emulated gbdt CUDA pack (tests/emu/emu_vtable_cuda.c); the nn packs are not linked here */
const struct bt_pack_ops *bt_gpu_pack_ops(const char *family) {
    extern const struct bt_pack_ops bt_gbdt_cuda_packs;
    return family && strcmp(family, "gbdt") == 0 ? &bt_gbdt_cuda_packs : NULL;
}
