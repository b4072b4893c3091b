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

#endif
