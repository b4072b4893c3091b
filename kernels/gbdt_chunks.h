/* Several blocks per item for the row-walking CUDA twins (partition, row sampling): an item of n
 * rows is cut into chunks of c = max(BT_GBDT_CHUNK_ROWS, ceil(n / blocks_per_item) rounded up to
 * 256) rows, one block each, ceil(n / c) <= blocks_per_item of them working (the others exit).
 * With several chunks a first launch counts each chunk's output rows into a counts buffer
 * (item x blocks_per_item + chunk), and a second one places each chunk's rows after those of the
 * chunks before it (a scan of the item's counts), so the order is the one-block order. Plain
 * integers here, shared by the launchers, the pack and the emulation. */
#ifndef BT_KERNEL_GBDT_CHUNKS_H
#define BT_KERNEL_GBDT_CHUNKS_H

#include <stdint.h>

/* rows per block at least; blocks per item at most; items x blocks of a launch at most (when
 * blocks per item > 1: the length of the counts buffer) */
#define BT_GBDT_CHUNK_ROWS 4096
#define BT_GBDT_CHUNK_MAX_BPI 256
#define BT_GBDT_CHUNK_COUNTS 65536

/* Blocks per item for n_items items of at most max_rows rows: one per BT_GBDT_CHUNK_ROWS rows,
 * a power of two (graph keys repeat) in [1, BT_GBDT_CHUNK_MAX_BPI], halved while items x blocks
 * would exceed BT_GBDT_CHUNK_COUNTS, so one counts buffer of that many int64 serves any launch. */
static inline int32_t bt_gbdt_chunk_blocks(int64_t max_rows, int64_t n_items) {
    const int64_t want = (max_rows + BT_GBDT_CHUNK_ROWS - 1) / BT_GBDT_CHUNK_ROWS;
    int32_t b = 1;
    while (b < BT_GBDT_CHUNK_MAX_BPI && b < want) b *= 2;
    while (b > 1 && (int64_t)b * n_items > BT_GBDT_CHUNK_COUNTS) b /= 2;
    return b;
}

/* Whether a launch may use blocks_per_item over n_items items with the counts buffer given. */
static inline int bt_gbdt_chunk_blocks_ok(int32_t blocks_per_item, int64_t n_items,
                                          const void *counts) {
    const int32_t b = blocks_per_item;
    if (b < 1 || b > BT_GBDT_CHUNK_MAX_BPI || (b & (b - 1)) != 0) return 0;
    return b == 1 || (counts && (int64_t)b * n_items <= BT_GBDT_CHUNK_COUNTS);
}

#endif
