/* A device memory arena: one cudaMalloc carved into aligned pieces by a bump pointer and released
 * all at once. A pack sizes its buffers once (a planning arena counts the bytes without touching
 * the device) and takes them from here, so running out of memory shows at pack creation, never
 * in the middle of a round. Ownership: the arena owns its device block; pieces are borrowed views
 * valid until bt_cuda_arena_reset or bt_cuda_arena_free. Built only with CUDA (BT_HAVE_CUDA). */
#ifndef BT_CUDA_ARENA_H
#define BT_CUDA_ARENA_H

#include <stddef.h>

#include "base/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bt_cuda_arena {
    void *base;  /* device block; NULL in a planning arena */
    size_t size; /* bytes of the block (SIZE_MAX when planning) */
    size_t used; /* bytes handed out, alignment padding included */
} bt_cuda_arena;

/* A planning arena: allocations succeed with *out = NULL and only count bytes; afterwards
 * `used` is the size to pass to bt_cuda_arena_init for the same allocation sequence. */
void bt_cuda_arena_plan(bt_cuda_arena *a);

/* Allocates `bytes` of device memory on the current device (bytes 0 gives an empty arena). */
bt_status bt_cuda_arena_init(bt_cuda_arena *a, size_t bytes);

/* Frees the block; a is left empty. bt_cuda_arena_free(NULL) is a no-op. */
void bt_cuda_arena_free(bt_cuda_arena *a);

/* The next piece of `bytes` bytes aligned to `align` (a power of two up to 256, the alignment
 * cudaMalloc guarantees; 0 means 256); BT_STATUS_INTERNAL when the arena is full. */
bt_status bt_cuda_arena_alloc(bt_cuda_arena *a, size_t bytes, size_t align, void **out);

/* Forgets every piece (the block is kept for reuse). */
void bt_cuda_arena_reset(bt_cuda_arena *a);

#ifdef __cplusplus
}
#endif

#endif
