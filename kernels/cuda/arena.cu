/* Device memory arena (see kernels/cuda/arena.h): a bump pointer over one cudaMalloc. */
#include <stdint.h>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/arena.h"
#include "kernels/cuda/capture_lock.h"

extern "C" void bt_cuda_arena_plan(bt_cuda_arena *a) {
    a->base = NULL;
    a->size = SIZE_MAX;
    a->used = 0;
}

extern "C" bt_status bt_cuda_arena_init(bt_cuda_arena *a, size_t bytes) {
    a->base = NULL;
    a->size = 0;
    a->used = 0;
    if (bytes == 0) return BT_STATUS_OK;
    BT_CUDA_CHECK(bt_cuda_malloc(&a->base, bytes));
    a->size = bytes;
    return BT_STATUS_OK;
}

extern "C" void bt_cuda_arena_free(bt_cuda_arena *a) {
    if (!a) return;
    bt_cuda_free(a->base); /* nothing useful to report from a free */
    a->base = NULL;
    a->size = 0;
    a->used = 0;
}

extern "C" bt_status bt_cuda_arena_alloc(bt_cuda_arena *a, size_t bytes, size_t align, void **out) {
    if (align == 0) align = 256;
    /* cudaMalloc's blocks are 256-aligned, so aligned offsets are aligned addresses up to 256 */
    if ((align & (align - 1)) || align > 256)
        return BT_FAIL(BT_STATUS_INTERNAL, "arena: alignment %zu (a power of two <= 256)", align);
    const size_t start = (a->used + align - 1) & ~(align - 1);
    if (start < a->used || start > a->size || bytes > a->size - start)
        return BT_FAIL(BT_STATUS_INTERNAL,
                       "arena: out of device memory reserved for the pack (%zu + %zu of %zu bytes)",
                       start, bytes, a->size);
    *out = a->base ? (char *)a->base + start : NULL;
    a->used = start + bytes;
    return BT_STATUS_OK;
}

extern "C" void bt_cuda_arena_reset(bt_cuda_arena *a) {
    a->used = 0;
}
