/* bt_table: a zero-filled array reserved for every element it may hold but backed by memory only
 * where it is written. The per-trial tables of a run are sized for every trial the sweep may have
 * (run_cap, a grid's size: up to 10^8), yet only the trials handed out so far touch them, so a
 * run's memory follows the trials it started, not the trials it planned.
 * Reserved with mmap(MAP_NORESERVE): the kernel neither counts the reservation against the
 * overcommit heuristic nor backs a page before its first write (a page read before any write
 * reads as zeros from a shared zero page). With vm.overcommit_memory = 2 the reservation is
 * committed in full, and a table too large for that fails here, as an allocation.
 * Ownership: bt_table_alloc returns memory the caller owns and releases with bt_table_free. */
#ifndef BT_TABLE_H
#define BT_TABLE_H

#include <stddef.h>

/* n elements of `size` bytes, all zero; NULL when n * size overflows or the reservation fails.
 * n == 0 gives a valid table of one element. */
void *bt_table_alloc(size_t n, size_t size);
/* Releases a table from bt_table_alloc; NULL is ignored. */
void bt_table_free(void *table);

#endif
