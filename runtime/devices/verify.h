/* Trust on first use for `--device auto`: before auto trains on a GPU, the family's pack round of
 * the self-test (selftest.h) must have passed once on this build, driver, GPU and family; a pass
 * is remembered in $XDG_CACHE_HOME/batchtune/verified-gpus (else ~/.cache/batchtune/...), one line
 * per combination, so later runs start at once. BT_GPU_VERIFY=0 skips the check. No ownership. */
#ifndef BT_VERIFY_H
#define BT_VERIFY_H

#include <stddef.h>

#include "base/status.h"
#include "runtime/devices/devices.h"

/* Whether family `family` may train on GPU g: 1 when verified now or before, 0 with the reason in
 * why[n] when its self-test failed (or could not run). *fresh is 1 when the check ran now. */
int bt_device_verify(const char *family, const bt_gpu_info *g, int *fresh, char *why, size_t n);

#endif
