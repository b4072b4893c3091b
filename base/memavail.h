/* The memory available now, as every floor that sizes something against it reads it: the loaders
 * (declared shapes, gzip), the plan (per-trial state). No ownership. */
#ifndef BT_MEMAVAIL_H
#define BT_MEMAVAIL_H

#include <stdint.h>

/* Bytes that can be allocated without swapping: MemAvailable of /proc/meminfo (else free physical
 * pages), or a container's room under its cgroup v2 memory.max when smaller; -1 when none can be
 * read. BT_MEM_AVAILABLE=BYTES overrides it (tests, the fuzz harnesses, a smaller budget). */
int64_t bt_mem_available(void);

#endif
