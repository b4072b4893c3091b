/* Row partition after a split: a node's row list (a segment of the trial's row index array) is
 * split stably into the rows going left followed by the rows going right, so row order, and with
 * it every later sum, does not depend on threads. Ownership: callers own every buffer. */
#ifndef BT_KERNEL_GBDT_PARTITION_H
#define BT_KERNEL_GBDT_PARTITION_H

#include <stdint.h>

/* Rows with bins[r * n_features + feature] == missing_bin go left iff default_left; others go
 * left iff their bin <= split_bin. Reorders rows[0..n) stably, left first; scratch holds n
 * entries. Returns the number of rows going left. bins is uint8 (width 1) or uint16 (width 2). */
int64_t bt_gbdt_partition_ref(int32_t *rows, int64_t n, const void *bins, int32_t width,
                              int32_t n_features, int32_t feature, int32_t split_bin,
                              int32_t missing_bin, int default_left, int32_t *scratch);

/* Stable partition of rows[0..n) by a per-row flag (flags[r] != 0 goes left), left first;
 * scratch holds n entries. Returns the number of rows going left. */
int64_t bt_gbdt_partition_flags_ref(int32_t *rows, int64_t n, const uint8_t *flags,
                                    int32_t *scratch);

#if BT_HAVE_CUDA
/* ---- CUDA twin (kernels/cuda/gbdt_partition.cu). Device pointers; stream is a cudaStream_t. */
#include "kernels/gbdt_chunks.h"
#include "base/status.h"
#ifdef __cplusplus
extern "C" {
#endif

/* One node to partition: rows[row_begin .. row_begin + n_rows) by the split (feature, split_bin,
 * missing_bin, default_left) as bt_gbdt_partition_ref does. Items must not overlap. */
typedef struct bt_gbdt_partition_item {
    int64_t row_begin, n_rows;
    int32_t feature, split_bin, missing_bin, default_left;
} bt_gbdt_partition_item;

/* Stable partition of every item's segment, left first; scratch is as long as rows (an item uses
 * the same segment of it); n_left[i] receives item i's left count. Several blocks per item
 * (kernels/gbdt_chunks.h): a big item's blocks count their chunks' left rows, then place their
 * rows into scratch (left rows after the left rows of the chunks before, right rows after every
 * left row and the right rows of the chunks before), copied back to rows; an item of one chunk is
 * done by one block in place, as with one block per item. The row order is the reference's
 * either way. blocks_per_item is a power of
 * two in [1, BT_GBDT_CHUNK_MAX_BPI] (bt_gbdt_chunk_blocks picks one); above 1, n_items x
 * blocks_per_item must not exceed BT_GBDT_CHUNK_COUNTS and counts holds that many int64 (the
 * chunks' left counts; unused, may be NULL, with one block per item). */
bt_status bt_gbdt_partition_cuda(int32_t *rows, int32_t *scratch, const void *bins, int32_t width,
                                 int32_t n_features, const bt_gbdt_partition_item *items,
                                 int32_t n_items, int32_t blocks_per_item, int64_t *counts,
                                 int64_t *n_left, void *stream);

#ifdef __cplusplus
}
#endif
#endif /* BT_HAVE_CUDA */

#endif
