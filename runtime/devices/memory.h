/* The machine's memory as a sweep plans against it: what is available now, and the check `run`
 * makes before it allocates per-trial state, so a run_cap of 10^8 in a small file ends with a
 * message and exit 65 rather than the kernel's OOM killer. No ownership. */
#ifndef BT_MEMORY_H
#define BT_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include "base/memavail.h" /* bt_mem_available */
#include "base/status.h"

/* BT_STATUS_BAD_INPUT, naming run_cap, when n_trials trials of per_trial bytes each would take more
 * than three quarters of the available memory; OK when they fit or the memory cannot be read.
 * `what` says which state it is ("plan", "program trials"). */
bt_status bt_mem_check_trials(int64_t n_trials, size_t per_trial, const char *what);

#endif
