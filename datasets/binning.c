/* Quantile cut computation and binning (see binning.h). Cuts follow XGBoost 1.7's hist:
 * for distinct sorted values v0 < v1 < ... < v(k-1) with k <= max_bin + 1 the cuts are
 * v1 .. v(min(k, max_bin) - 1) followed by last = v(k-1) + (|v(k-1)| + 1e-5). */
#include "binning.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

void bt_bin_cuts_free(bt_bin_cuts *c) {
    if (!c) return;
    free(c->ptr);
    free(c->values);
    free(c->min_values);
    memset(c, 0, sizeof *c);
}

/* Appends the cuts of one feature from its sorted non-missing values v[0..m). */
static int feature_cuts(const float *v, int64_t m, int32_t max_bin, float *out, float *min_out) {
    if (m == 0) {
        /* No value at all: XGBoost keeps one bin whose cut is 0 + 1e-5. */
        *min_out = 0.0f;
        out[0] = 0.0f + (fabsf(0.0f) + 1e-5f);
        return 1;
    }
    *min_out = v[0];
    int64_t k = 1; /* distinct values */
    for (int64_t i = 1; i < m; i++) k += v[i] != v[i - 1];
    int n = 0;
    if (k <= (int64_t)max_bin + 1) {
        /* Exact: one bin per distinct value; the summary holds every value. */
        int64_t required = k < max_bin ? k : max_bin;
        int64_t idx = 0; /* distinct index of v[i] */
        for (int64_t i = 1; i < m; i++) {
            if (v[i] == v[i - 1]) continue;
            if (++idx >= required) break;
            out[n++] = v[i];
        }
    } else {
        /* Unweighted quantiles: the value at rank i*m/max_bin for i = 1..max_bin-1, deduplicated,
         * never the minimum (it would leave bin 0 empty). */
        for (int32_t i = 1; i < max_bin; i++) {
            int64_t r = (int64_t)((double)i * (double)m / (double)max_bin);
            if (r >= m) r = m - 1;
            float c = v[r];
            if (c <= v[0]) continue;
            if (n == 0 || c > out[n - 1]) out[n++] = c;
        }
    }
    float mx = v[m - 1];
    float last = mx + (fabsf(mx) + 1e-5f);
    if (n > 0 && !(last > out[n - 1])) last = nextafterf(out[n - 1], INFINITY);
    out[n++] = last;
    return n;
}

bt_status bt_bin_cuts_fit(bt_bin_cuts *out, const float *X, int64_t n_rows, int32_t n_features,
                          int32_t max_bin) {
    memset(out, 0, sizeof *out);
    if (max_bin < 2) return BT_FAIL(BT_STATUS_BAD_INPUT, "max_bin must be >= 2, got %d", max_bin);
    if (n_features <= 0) return BT_FAIL(BT_STATUS_BAD_INPUT, "binning needs at least 1 feature");
    out->n_features = n_features;
    out->max_bin = max_bin;
    out->ptr = calloc((size_t)n_features + 1, sizeof *out->ptr);
    out->values = malloc((size_t)n_features * (size_t)(max_bin + 1) * sizeof *out->values);
    out->min_values = calloc((size_t)n_features, sizeof *out->min_values);
    float *col = malloc((size_t)(n_rows > 0 ? n_rows : 1) * sizeof *col);
    if (!out->ptr || !out->values || !out->min_values || !col) {
        free(col);
        bt_bin_cuts_free(out);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory binning %lld x %d", (long long)n_rows,
                       n_features);
    }
    uint32_t pos = 0;
    for (int32_t f = 0; f < n_features; f++) {
        int64_t m = 0;
        for (int64_t r = 0; r < n_rows; r++) {
            float x = X[r * n_features + f];
            if (!isnan(x)) col[m++] = x;
        }
        qsort(col, (size_t)m, sizeof *col, cmp_float);
        out->ptr[f] = pos;
        pos += (uint32_t)feature_cuts(col, m, max_bin, out->values + pos, &out->min_values[f]);
    }
    out->ptr[n_features] = pos;
    free(col);
    return BT_STATUS_OK;
}

int32_t bt_bin_cuts_bin(const bt_bin_cuts *c, int32_t f, float v) {
    int32_t nb = bt_bin_cuts_nbins(c, f);
    if (isnan(v)) return nb;
    const float *cut = c->values + c->ptr[f];
    /* first cut > v (upper_bound) */
    int32_t lo = 0, hi = nb;
    while (lo < hi) {
        int32_t mid = (lo + hi) >> 1;
        if (cut[mid] > v)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo < nb ? lo : nb - 1;
}

void bt_binned_missing(const float *X, int64_t n_rows, int32_t n_features, uint8_t *out) {
    memset(out, 0, (size_t)n_features);
    for (int64_t r = 0; r < n_rows; r++)
        for (int32_t f = 0; f < n_features; f++)
            if (isnan(X[r * n_features + f])) out[f] = 1;
}

int32_t bt_binned_width(const bt_bin_cuts *c, const uint8_t *const *has_missing, int n_sets) {
    for (int32_t f = 0; f < c->n_features; f++) {
        int miss = 0;
        for (int s = 0; s < n_sets; s++) miss |= has_missing[s] && has_missing[s][f];
        if (bt_bin_cuts_nbins(c, f) + miss > 256) return 2;
    }
    return 1;
}

void bt_binned_free(bt_binned *b) {
    if (!b) return;
    free(b->bins);
    free(b->has_missing);
    memset(b, 0, sizeof *b);
}

bt_status bt_binned_init(bt_binned *out, const bt_bin_cuts *c, const float *X, int64_t n_rows,
                         int32_t width) {
    memset(out, 0, sizeof *out);
    if (width != 1 && width != 2)
        return BT_FAIL(BT_STATUS_INTERNAL, "binned width must be 1 or 2, got %d", width);
    int32_t F = c->n_features;
    out->n_rows = n_rows;
    out->n_features = F;
    out->width = width;
    out->bins = malloc((size_t)(n_rows > 0 ? n_rows : 1) * (size_t)F * (size_t)width);
    out->has_missing = calloc((size_t)F, 1);
    if (!out->bins || !out->has_missing) {
        bt_binned_free(out);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for %lld x %d bins", (long long)n_rows,
                       F);
    }
    for (int64_t r = 0; r < n_rows; r++) {
        for (int32_t f = 0; f < F; f++) {
            float x = X[r * F + f];
            int32_t b = bt_bin_cuts_bin(c, f, x);
            if (isnan(x)) out->has_missing[f] = 1;
            if (width == 1) {
                if (b > 255) {
                    bt_binned_free(out);
                    return BT_FAIL(BT_STATUS_INTERNAL, "bin %d of feature %d needs 2 bytes", b, f);
                }
                ((uint8_t *)out->bins)[r * F + f] = (uint8_t)b;
            } else {
                ((uint16_t *)out->bins)[r * F + f] = (uint16_t)b;
            }
        }
    }
    return BT_STATUS_OK;
}
