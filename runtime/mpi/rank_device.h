/* Which GPU a rank of an MPI job trains on: ranks on one host split its GPUs by local rank (one
 * rank per GPU by default). A hook before the device resolver (runtime/devices/resolve.h), which
 * stays as it is. No ownership: the result is written into the caller's buffer. */
#ifndef BT_RANK_DEVICE_H
#define BT_RANK_DEVICE_H

#include <stddef.h>

/* The device this rank asks the resolver for: `asked` ("auto", "cuda" or NULL: auto) becomes
 * "cuda:K", K = local rank mod the host's GPUs, in a job of several ranks on a host with GPUs
 * (for "auto" only when `family` has a GPU pack); anything else, and every single-process run,
 * keeps `asked`. Returns asked or buf. */
const char *bt_rank_device(const char *asked, const char *family, char *buf, size_t n);

#endif
