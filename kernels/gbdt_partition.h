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

#endif
