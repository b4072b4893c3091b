/* CPU side of device discovery; GPU queries live in runtime/cuda/devices.cu when CUDA is built. */
#include "devices.h"

#include <unistd.h>

int bt_cpu_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

#if !BT_HAVE_CUDA
int bt_gpu_count(void) {
    return 0;
}
bt_status bt_gpu_info_get(int index, bt_gpu_info *out) {
    (void)out;
    return BT_FAIL(BT_STATUS_USAGE, "no GPU %d: this build has no CUDA backend", index);
}
bt_status bt_gpu_select(int index) {
    return BT_FAIL(BT_STATUS_USAGE, "no GPU %d: this build has no CUDA backend", index);
}
const char *bt_cuda_version_string(void) {
    return "no CUDA in this build";
}
#endif
