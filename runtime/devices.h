/* bt_devices: what compute this process can use -- CPU cores and every CUDA GPU (name, memory,
 * compute capability) -- and which optional features the build has. No ownership: plain structs. */
#ifndef BT_DEVICES_H
#define BT_DEVICES_H

#include <stddef.h>

#include "status.h"

typedef struct bt_gpu_info {
    int index;
    char name[256];
    size_t total_mem, free_mem;
    int cc_major, cc_minor;
    int sm_count;
} bt_gpu_info;

int bt_cpu_cores(void);
/* Number of usable GPUs (0 when the build has no CUDA or no driver/GPU is present). */
int bt_gpu_count(void);
bt_status bt_gpu_info_get(int index, bt_gpu_info *out);
/* Makes GPU `index` current for this thread (packs bind to the current device). */
bt_status bt_gpu_select(int index);
/* "CUDA 13.0 runtime, driver 12.8" or "no CUDA in this build". Borrowed static string. */
const char *bt_cuda_version_string(void);

#endif
