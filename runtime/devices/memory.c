/* The per-trial state check against the available memory (memory.h). */
#include "runtime/devices/memory.h"

#include <stdio.h>

bt_status bt_mem_check_trials(int64_t n_trials, size_t per_trial, const char *what) {
    int64_t avail = bt_mem_available();
    if (avail < 0 || n_trials <= 0) return BT_STATUS_OK;
    double need = (double)n_trials * (double)per_trial;
    if (need <= 0.75 * (double)avail) return BT_STATUS_OK;
    const double gib = 1024.0 * 1024.0 * 1024.0;
    return BT_FAIL(BT_STATUS_BAD_INPUT,
                   "run_cap: %lld trials need about %.1f GiB for their %s (%zu bytes each), more "
                   "than the %.1f GiB this machine has available; lower run_cap (or pass "
                   "--run-cap N), or split the sweep",
                   (long long)n_trials, need / gib, what, per_trial, (double)avail / gib);
}
