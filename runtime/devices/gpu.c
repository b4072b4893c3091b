/* The GPU queries of runtime/devices.h, answered by the CUDA module (cuda_module.h) when it
 * loads, and with the reason it did not otherwise. Nothing here links CUDA: a machine without a
 * GPU, a driver or the module runs every CPU path with the module never opened. */
#include <stdio.h>
#include <string.h>

#include "runtime/devices/cuda_module.h"
#include "runtime/devices/devices.h"

int bt_build_cuda(void) {
    return bt_cuda_module_get() != NULL;
}

int bt_gpu_count(void) {
    const bt_gpu_probe *p = bt_gpu_probe_get();
    return p->kind == BT_GPU_PROBE_OK ? p->count : 0;
}

/* The module when GPU `index` can be used, else a failure saying why not. */
static bt_status usable(int index, const bt_cuda_module **m) {
    *m = bt_cuda_module_get();
    const bt_gpu_probe *p = bt_gpu_probe_get();
    if (!*m || p->kind != BT_GPU_PROBE_OK)
        return BT_FAIL(BT_STATUS_USAGE, "no GPU %d: %s", index, p->why);
    if (index < 0 || index >= p->count)
        return BT_FAIL(BT_STATUS_USAGE, "no GPU %d: %d visible", index, p->count);
    return BT_STATUS_OK;
}

bt_status bt_gpu_info_get(int index, bt_gpu_info *out) {
    const bt_cuda_module *m;
    BT_TRY(usable(index, &m));
    return m->gpu_info(index, out);
}

bt_status bt_gpu_select(int index) {
    const bt_cuda_module *m;
    BT_TRY(usable(index, &m));
    return m->gpu_select(index);
}

bt_status bt_gpu_mem_used(int index, int64_t *used) {
    *used = -1;
    const bt_cuda_module *m;
    BT_TRY(usable(index, &m));
    return m->gpu_mem_used(index, used);
}

const char *bt_cuda_version_string(void) {
    const bt_cuda_module *m = bt_cuda_module_get();
    return m ? m->versions() : "no CUDA module loaded";
}

const struct bt_pack_ops *bt_gpu_pack_ops(const char *family) {
    const bt_cuda_module *m = bt_cuda_module_get();
    return m && m->pack_ops ? m->pack_ops(family) : NULL;
}
