/* bt_grow: room in a growing array (append buffers, queues, tables built as they go).
 * Ownership: the caller owns the array; bt_grow only reallocates it. */
#ifndef BT_GROW_H
#define BT_GROW_H

#include <stddef.h>
#include <stdint.h>

/* Array p holds *cap elements of `size` bytes. Returns p when need <= *cap; else p reallocated
 * to twice *cap (at least `first`, at least need) with *cap updated; NULL when out of memory, p
 * then still valid and *cap unchanged. Use: q = bt_grow(a, &cap, n + 1, sizeof *a, 64);
 * BT_CHECK_ALLOC(q); a = q; */
void *bt_grow(void *p, int64_t *cap, int64_t need, size_t size, int64_t first);

#endif
