/* Row and feature sampling for boosted trees, drawn from Philox so that a CPU run and a GPU run of
 * the same trial use the same rows and features. Rows: an independent Bernoulli(subsample) draw
 * per (tree, row) -- the expected fraction is `subsample`, not an exact count. Features: exactly
 * max(1, floor(frac * n)) of the candidates, those with the smallest Philox keys per (tree, level,
 * feature). Ownership: callers own every buffer. */
#ifndef BT_KERNEL_GBDT_SAMPLE_H
#define BT_KERNEL_GBDT_SAMPLE_H

#include <stdint.h>

/* Writes the rows of [0, n) kept for tree `tree` in increasing order; returns how many. */
int64_t bt_gbdt_sample_rows_ref(uint64_t key, uint64_t tree, int64_t n, double subsample,
                                int32_t *rows_out);

/* Keeps max(1, floor(frac * n_in)) of the features in[0..n_in) (increasing) for (tree, level;
 * level 0 = per tree, d + 1 = per depth d), written to out in increasing order; returns how many.
 * scratch holds 2 * n_in uint64. */
int32_t bt_gbdt_sample_features_ref(uint64_t key, uint64_t tree, uint32_t level, const int32_t *in,
                                    int32_t n_in, double frac, int32_t *out, uint64_t *scratch);

#if BT_HAVE_CUDA
/* ---- CUDA twins (kernels/cuda/gbdt_sample.cu). Device pointers; stream is a cudaStream_t. ---- */
#include "kernels/gbdt_chunks.h"
#include "base/status.h"
#ifdef __cplusplus
extern "C" {
#endif

/* One tree's row sample over rows [0, n): kept rows to rows_out[out_offset ..] in increasing
 * order, count to n_out. With complement != 0 the rows left out instead (those the tree must
 * still predict, as grow.c does after growing a subsampled tree). */
typedef struct bt_gbdt_sample_rows_item {
    uint64_t key, tree;
    double subsample;
    int64_t out_offset;
    int32_t complement, pad_;
} bt_gbdt_sample_rows_item;

/* Several blocks per item (kernels/gbdt_chunks.h; blocks_per_item and counts as for
 * bt_gbdt_partition_cuda): with more than one chunk of rows, each block counts its chunk's kept
 * rows, then writes them after those of the chunks before it -- the same list. */
bt_status bt_gbdt_sample_rows_cuda(int64_t n, const bt_gbdt_sample_rows_item *items,
                                   int32_t n_items, int32_t blocks_per_item, int64_t *counts,
                                   int32_t *rows_out, int64_t *n_out, void *stream);

/* One feature sample: in[in_offset .. + n_in) -> out[out_offset ..], count to n_out; scratch
 * (uint64) is as long as in, an item using the same segment. */
typedef struct bt_gbdt_sample_features_item {
    uint64_t key, tree;
    double frac;
    int64_t in_offset, out_offset;
    uint32_t level;
    int32_t n_in;
} bt_gbdt_sample_features_item;

bt_status bt_gbdt_sample_features_cuda(const int32_t *in, const bt_gbdt_sample_features_item *items,
                                       int32_t n_items, int32_t *out, int32_t *n_out,
                                       uint64_t *scratch, void *stream);

#ifdef __cplusplus
}
#endif
#endif /* BT_HAVE_CUDA */

#endif
