/* The machine's available memory and the per-trial state check (memory.h). */
#include "runtime/devices/memory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int64_t bt_mem_available(void) {
    const char *env = getenv("BT_MEM_AVAILABLE");
    if (env && *env) {
        char *end;
        long long v = strtoll(env, &end, 10);
        if (!*end && v >= 0) return (int64_t)v;
    }
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        long long kb = -1;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1) break;
        fclose(f);
        if (kb >= 0) return (int64_t)kb * 1024;
    }
    long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (int64_t)pages * size : -1;
}

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
