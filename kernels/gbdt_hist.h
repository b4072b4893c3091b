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

#endif
