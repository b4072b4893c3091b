/* Quantile binning as XGBoost 1.7's `hist` does it: per-feature cut values computed once from the
 * train set (cuts are upper bounds: a value v falls in the first bin whose cut is > v), then every
 * set (train, valid) is turned into a compact row-major bin matrix shared by all trials.
 * Ownership: bt_bin_cuts and bt_binned own their arrays; *_free releases them (no-op on zeroed or
 * NULL structs). */
#ifndef BT_BINNING_H
#define BT_BINNING_H

#include <stdint.h>

#include "base/status.h"

typedef struct bt_bin_cuts {
    int32_t n_features;
    int32_t max_bin;
    uint32_t *ptr;     /* n_features + 1: feature f's cuts are values[ptr[f] .. ptr[f+1]) */
    float *values;     /* cut values, strictly increasing per feature; last = max + |max| + 1e-5 */
    float *min_values; /* per feature, min - |min| - 1e-5 of the train values, XGBoost's split
                          value for "missing left, every value right" */
} bt_bin_cuts;

/* Bins of a feature (>= 1); the missing code of feature f is bt_bin_cuts_nbins(c, f). */
static inline int32_t bt_bin_cuts_nbins(const bt_bin_cuts *c, int32_t f) {
    return (int32_t)(c->ptr[f + 1] - c->ptr[f]);
}

/* Cut values from the non-missing values of each column of X (row-major n_rows x n_features),
 * as XGBoost 1.7 hist computes them: a feature with at most max_bin + 1 distinct values gets one
 * bin per distinct value (up to max_bin); a richer one gets XGBoost's pruned quantile summary --
 * identical to XGBoost while the column fits XGBoost's exact sketch buffer (at least
 * 16 * min(max_bin, rows) + 2 non-missing values), a close approximation beyond. */
bt_status bt_bin_cuts_fit(bt_bin_cuts *out, const float *X, int64_t n_rows, int32_t n_features,
                          int32_t max_bin, int threads);
void bt_bin_cuts_free(bt_bin_cuts *c);
/* Bin of value v (NaN -> missing code) for feature f; values above the last cut clamp to the last
 * bin, exactly as `v < split_cond` comparisons on the raw value decide. */
int32_t bt_bin_cuts_bin(const bt_bin_cuts *c, int32_t f, float v);

/* A binned matrix: row-major n_rows x n_features, 1 byte per cell when every feature's bins plus a
 * missing code fit in 256 values, else 2 bytes. */
typedef struct bt_binned {
    int64_t n_rows;
    int32_t n_features;
    int32_t width;        /* 1 (uint8) or 2 (uint16) bytes per cell */
    void *bins;           /* n_rows * n_features cells */
    uint8_t *has_missing; /* n_features flags: some row of this matrix is missing the feature */
} bt_binned;

/* Cell width able to hold every feature's bins and its missing code when some of `sets` has a
 * missing value in that feature (has_missing[s][f]). */
int32_t bt_binned_width(const bt_bin_cuts *c, const uint8_t *const *has_missing, int n_sets);
/* Flags per feature: some row of X has NaN there. out has n_features entries. */
void bt_binned_missing(const float *X, int64_t n_rows, int32_t n_features, uint8_t *out);
/* Bins X with cuts at the given width (from bt_binned_width over every set that will be binned).
 * threads: OpenMP threads to use (both functions; results do not depend on it). */
bt_status bt_binned_init(bt_binned *out, const bt_bin_cuts *c, const float *X, int64_t n_rows,
                         int32_t width, int threads);
void bt_binned_free(bt_binned *b);

/* Cell (row, f) of a binned matrix. */
static inline int32_t bt_binned_get(const bt_binned *b, int64_t row, int32_t f) {
    int64_t i = row * b->n_features + f;
    return b->width == 1 ? ((const uint8_t *)b->bins)[i] : ((const uint16_t *)b->bins)[i];
}

#endif
