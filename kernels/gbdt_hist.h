/* Gradient histograms for histogram trees, in fixed point: one (g, h) pair of int64 sums per bin,
 * so a sum is the same whatever the order rows are added in (CPU threads, GPU atomics).
 * Layout: feature f of a histogram occupies entries [off[f], off[f+1]); its last entry collects
 * the rows missing the feature (bin code = number of bins of f).
 * Ownership: callers own every buffer; nothing is allocated here. */
#ifndef BT_KERNEL_GBDT_HIST_H
#define BT_KERNEL_GBDT_HIST_H

#include <stdint.h>

typedef struct bt_gbdt_gh {
    int64_t g, h;
} bt_gbdt_gh;

/* hist[off[f] + bins[r * n_features + f]] += gh[r] for every r in rows[0..n) and f in
 * [f_begin, f_end). The caller zeroes the histogram entries of those features first.
 * bins is uint8 (width 1) or uint16 (width 2). */
void bt_gbdt_hist_ref(const void *bins, int32_t width, int32_t n_features, const uint32_t *off,
                      int32_t f_begin, int32_t f_end, const int32_t *rows, int64_t n,
                      const bt_gbdt_gh *gh, bt_gbdt_gh *hist);

/* Sibling trick: parent[i] -= child[i] for i in [begin, end), turning a parent histogram into the
 * histogram of the child that was not built. */
void bt_gbdt_hist_sub_ref(bt_gbdt_gh *parent, const bt_gbdt_gh *child, int64_t begin, int64_t end);

/* A range of histogram entries to clear: hist[offset .. offset + n); n <= 0 is a no-op (padding of
 * an item list whose length a captured CUDA graph fixes). */
typedef struct bt_gbdt_hist_zero_item {
    int64_t offset, n;
} bt_gbdt_hist_zero_item;

/* Zeroes every item's range (kernels/cpu/gbdt_hist_zero.c): what a round does before building the
 * histograms of a level, in one launch instead of one memset per histogram. */
void bt_gbdt_hist_zero_ref(bt_gbdt_gh *hist, const bt_gbdt_hist_zero_item *items, int32_t n_items);

#if BT_HAVE_CUDA
/* ---- CUDA twins (kernels/cuda/gbdt_hist.cu). Device pointers; stream is a cudaStream_t. ---- */
#include "base/status.h"
#ifdef __cplusplus
extern "C" {
#endif

/* One histogram of a trial-batched launch: rows[row_begin .. row_begin + n_rows) are row ids of
 * the shared bin matrix, their sums read at gh[gh_offset + row] and added into
 * hist[hist_offset + off[f] + bin]. Items of one launch must write disjoint histograms. */
typedef struct bt_gbdt_hist_item {
    int64_t row_begin, n_rows, gh_offset, hist_offset;
} bt_gbdt_hist_item;

/* bt_gbdt_hist_ref for every item at once, features [f_begin, f_end). The caller zeroes those
 * entries first (cudaMemsetAsync). max_feature_entries >= off[f+1] - off[f] for every feature
 * (bins + 1 missing slot); it sizes the shared-memory privatization. Rows outside
 * [0, n_matrix_rows) and bin codes outside a feature's entries are skipped (the reference's
 * behaviour there is undefined). Up to blocks_per_item >= 1 blocks share each item's (row,
 * feature) pairs: the grid has that many per item, and an item whose pairs are few uses fewer (a
 * block that adds in shared memory clears and merges its whole feature chunk, so it takes at
 * least 8 pairs per entry of the chunk), so a bound on the items' rows is enough to size it. */
bt_status bt_gbdt_hist_cuda(const void *bins, int32_t width, int64_t n_matrix_rows,
                            int32_t n_features, const uint32_t *off, int32_t f_begin, int32_t f_end,
                            int32_t max_feature_entries, const int32_t *rows, const bt_gbdt_gh *gh,
                            bt_gbdt_gh *hist, const bt_gbdt_hist_item *items, int32_t n_items,
                            int32_t blocks_per_item, void *stream);

/* Sibling subtraction: hist[parent + i] -= hist[child + i] for i in [begin, end). An item with
 * parent < 0 is skipped (padding of an item list whose length a captured graph fixes). */
typedef struct bt_gbdt_hist_sub_item {
    int64_t parent, child;
} bt_gbdt_hist_sub_item;

bt_status bt_gbdt_hist_sub_cuda(bt_gbdt_gh *hist, const bt_gbdt_hist_sub_item *items,
                                int32_t n_items, int64_t begin, int64_t end, void *stream);

/* bt_gbdt_hist_zero_ref on the device (kernels/cuda/gbdt_hist_zero.cu): items read from device
 * memory, so their ranges may change between replays of a captured graph. */
bt_status bt_gbdt_hist_zero_cuda(bt_gbdt_gh *hist, const bt_gbdt_hist_zero_item *items,
                                 int32_t n_items, void *stream);

#ifdef __cplusplus
}
#endif
#endif /* BT_HAVE_CUDA */

#endif
