/* The machine's memory as a sweep plans against it: what is available now, and the check `run`
 * makes before it allocates per-trial state, so a run_cap of 10^8 in a small file ends with a
 * message and exit 65 rather than the kernel's OOM killer. No ownership. */
#ifndef BT_MEMORY_H
#define BT_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

/* Bytes the kernel says can be allocated without swapping (MemAvailable of /proc/meminfo, else
 * free physical pages); -1 when neither can be read. BT_MEM_AVAILABLE=BYTES overrides it (tests).
 */
int64_t bt_mem_available(void);

/* BT_STATUS_BAD_INPUT, naming run_cap, when n_trials trials of per_trial bytes each would take more
 * than three quarters of the available memory; OK when they fit or the memory cannot be read.
 * `what` says which state it is ("plan", "program trials"). */
bt_status bt_mem_check_trials(int64_t n_trials, size_t per_trial, const char *what);

#endif
