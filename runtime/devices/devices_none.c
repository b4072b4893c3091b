/* The GPU queries of a build without CUDA (runtime/devices.h): no GPU, and every GPU call says
 * why. A build with CUDA has runtime/devices/cuda/devices.cu instead. Kept apart from devices.c so
 * that a test can link its own GPU queries in its place (tests/emu/emu_devices.c: the device
 * emulation's one GPU) while the library's device choice stays the one it tests. */
#include "runtime/devices/devices.h"

#if !BT_HAVE_CUDA
int bt_build_cuda(void) {
    return 0;
}
int bt_gpu_count(void) {
    return 0;
}
bt_status bt_gpu_info_get(int index, bt_gpu_info *out) {
    (void)out;
    return BT_FAIL(BT_STATUS_USAGE, "no GPU %d: this build has no CUDA backend", index);
}
bt_status bt_gpu_mem_used(int index, int64_t *used) {
    *used = -1;
    return BT_FAIL(BT_STATUS_USAGE, "no GPU %d: this build has no CUDA backend", index);
}
bt_status bt_gpu_select(int index) {
    return BT_FAIL(BT_STATUS_USAGE, "no GPU %d: this build has no CUDA backend", index);
}
const char *bt_cuda_version_string(void) {
    return "no CUDA in this build";
}
const struct bt_pack_ops *bt_gpu_pack_ops(const char *family) {
    (void)family;
    return NULL;
}
#else
typedef int bt_devices_none_unused; /* ISO C: a translation unit is not empty */
#endif
