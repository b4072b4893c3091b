/* Quantile cut computation and binning (see binning.h). Cuts follow XGBoost 1.7's hist: for
 * distinct sorted values v0 < v1 < ... < v(k-1) with k <= max_bin + 1 the cuts are
 * v1 .. v(min(k, max_bin) - 1) followed by last = v(k-1) + (|v(k-1)| + 1e-5); richer columns are
 * pruned with XGBoost's own summary pruning (feature_cuts). */
#include "datasets/binning.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Sorts m non-NaN floats ascending: LSD radix sort (4 passes of 8 bits) on their bits mapped to
 * an unsigned order (flip all bits of negatives, the sign bit of positives). tmp holds m. */
static void sort_floats(float *v, int64_t m, uint32_t *tmp) {
    uint32_t *a = (uint32_t *)v, *b = tmp;
    for (int64_t i = 0; i < m; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        a[i] = u & 0x80000000u ? ~u : u | 0x80000000u;
    }
    for (int shift = 0; shift < 32; shift += 8) {
        int64_t count[257] = {0};
        for (int64_t i = 0; i < m; i++) count[((a[i] >> shift) & 255u) + 1]++;
        for (int k = 0; k < 256; k++) count[k + 1] += count[k];
        for (int64_t i = 0; i < m; i++) b[count[(a[i] >> shift) & 255u]++] = a[i];
        uint32_t *t = a;
        a = b;
        b = t;
    }
    /* after 4 passes the data is back in v */
    for (int64_t i = 0; i < m; i++) {
        uint32_t u = a[i];
        u = u & 0x80000000u ? u & 0x7fffffffu : ~u;
        memcpy(&v[i], &u, 4);
    }
}

void bt_bin_cuts_free(bt_bin_cuts *c) {
    if (!c) return;
    free(c->ptr);
    free(c->values);
    free(c->min_values);
    memset(c, 0, sizeof *c);
}

/* One entry of XGBoost's weighted quantile summary (WQSummary<float, float>): a value with the
 * rank range [rmin, rmax] of its first and last occurrence and its own weight wmin. */
typedef struct wq_entry {
    float rmin, rmax, wmin, value;
} wq_entry;

/* XGBoost's WQSummary::SetPrune: keeps at most maxsize entries at evenly spaced ranks, in float
 * arithmetic exactly as XGBoost computes it. Returns the output size. */
static size_t wq_prune(const wq_entry *src, size_t size, size_t maxsize, wq_entry *out) {
    if (size <= maxsize) {
        memcpy(out, src, size * sizeof *src);
        return size;
    }
    const float begin = src[0].rmax;
    const float range = src[size - 1].rmin - src[0].rmax;
    const size_t n = maxsize - 1;
    size_t o = 0, i = 1, lastidx = 0;
    out[o++] = src[0];
    for (size_t k = 1; k < n; ++k) {
        float dx2 = 2 * (((float)k * range) / (float)n + begin);
        while (i < size - 1 && dx2 >= src[i + 1].rmax + src[i + 1].rmin) ++i;
        if (i == size - 1) break;
        if (dx2 < (src[i].rmin + src[i].wmin) + (src[i + 1].rmax - src[i + 1].wmin)) {
            if (i != lastidx) {
                out[o++] = src[i];
                lastidx = i;
            }
        } else if (i + 1 != lastidx) {
            out[o++] = src[i + 1];
            lastidx = i + 1;
        }
    }
    if (lastidx != size - 1) out[o++] = src[size - 1];
    return o;
}

/* Writes the cuts of one feature from its sorted non-missing values v[0..m) and returns how many
 * (-1: out of memory). As XGBoost 1.7's HostSketchContainer + MakeCuts: the summary of the column
 * (exact -- XGBoost's sketch is exact too while the column fits its input queue, at least
 * 16 * min(max_bin, m) + 2 values) is pruned to the sketch's limit size, to min(m, 8 * max_bin)
 * entries, then to min(m, max_bin) + 1; cuts are entries 1 .. min(size, max_bin) - 1, then max +
 * (|max| + 1e-5); the recorded minimum is min - |min| - 1e-5. */
static int feature_cuts(const float *v, int64_t m, int32_t max_bin, float *out, float *min_out) {
    if (m == 0) {
        *min_out = 1e-5f;
        out[0] = 1e-5f + (fabsf(1e-5f) + 1e-5f);
        return 1;
    }
    int64_t k = 1; /* distinct values */
    for (int64_t i = 1; i < m; i++) k += v[i] != v[i - 1];
    wq_entry *sum = malloc((size_t)k * 2 * sizeof *sum);
    if (!sum) return -1;
    wq_entry *tmp = sum + k;
    float acc = 0.0f;
    size_t size = 0;
    for (int64_t i = 0; i < m;) {
        int64_t j = i;
        while (j < m && v[j] == v[i]) j++;
        float w = (float)(j - i);
        wq_entry e = {acc, acc + w, w, v[i]};
        sum[size++] = e;
        acc += w;
        i = j;
    }
    /* the sketch's own limit (WQuantileSketch::LimitSizeLevel with eps = 1/(8 min(max_bin, m))):
     * a summary larger than limit_size is pruned to it before anything else */
    int64_t nb = m < max_bin ? m : max_bin;
    float prod = (float)nb * 8.0f;
    double eps = 1.0 / (double)prod;
    size_t limit = 0;
    for (size_t nlevel = 1;; nlevel++) {
        limit = (size_t)ceil((double)nlevel / eps) + 1;
        if ((((size_t)1) << nlevel) * limit >= (size_t)m || nlevel >= 40) break;
    }
    if (size > limit) {
        size = wq_prune(sum, size, limit, tmp);
        memcpy(sum, tmp, size * sizeof *sum);
    }
    int64_t inter = m < 8 * (int64_t)max_bin ? m : 8 * (int64_t)max_bin;
    int64_t max_num_bins = nb;
    size = wq_prune(sum, size, (size_t)inter, tmp);
    size = wq_prune(tmp, size, (size_t)max_num_bins + 1, sum);
    *min_out = sum[0].value - fabsf(sum[0].value) - 1e-5f;
    size_t required = size < (size_t)max_num_bins ? size : (size_t)max_num_bins;
    int n = 0;
    for (size_t i = 1; i < required; i++) {
        float cpt = sum[i].value;
        if (n == 0 || cpt > out[n - 1]) out[n++] = cpt;
    }
    float mx = sum[size - 1].value;
    free(sum);
    float last = mx + (fabsf(mx) + 1e-5f);
    if (n > 0 && !(last > out[n - 1])) last = nextafterf(out[n - 1], INFINITY);
    out[n++] = last;
    return n;
}

bt_status bt_bin_cuts_fit(bt_bin_cuts *out, const float *X, int64_t n_rows, int32_t n_features,
                          int32_t max_bin, int threads) {
    memset(out, 0, sizeof *out);
    if (max_bin < 2) return BT_FAIL(BT_STATUS_BAD_INPUT, "max_bin must be >= 2, got %d", max_bin);
    if (n_features <= 0) return BT_FAIL(BT_STATUS_BAD_INPUT, "binning needs at least 1 feature");
    if (threads < 1) threads = 1;
    out->n_features = n_features;
    out->max_bin = max_bin;
    out->ptr = calloc((size_t)n_features + 1, sizeof *out->ptr);
    out->values = malloc((size_t)n_features * (size_t)(max_bin + 1) * sizeof *out->values);
    out->min_values = calloc((size_t)n_features, sizeof *out->min_values);
    int32_t *count = calloc((size_t)n_features, sizeof *count);
    size_t col_bytes = (size_t)(n_rows > 0 ? n_rows : 1) * sizeof(float);
    float *col = malloc(col_bytes * 2 * (size_t)threads);
    if (!out->ptr || !out->values || !out->min_values || !col || !count) {
        free(col);
        free(count);
        bt_bin_cuts_free(out);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory binning %lld x %d", (long long)n_rows,
                       n_features);
    }
    /* each feature's cuts land in its own max_bin + 1 slot, compacted afterwards */
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int32_t f = 0; f < n_features; f++) {
        int t = 0;
#ifdef _OPENMP
        t = omp_get_thread_num();
#endif
        float *c = col + (size_t)t * 2 * (col_bytes / sizeof(float));
        int64_t m = 0;
        for (int64_t r = 0; r < n_rows; r++) {
            float x = X[r * n_features + f];
            if (!isnan(x)) c[m++] = x;
        }
        sort_floats(c, m, (uint32_t *)(c + (col_bytes / sizeof(float))));
        count[f] = feature_cuts(c, m, max_bin, out->values + (size_t)f * (size_t)(max_bin + 1),
                                &out->min_values[f]);
    }
    for (int32_t f = 0; f < n_features; f++)
        if (count[f] < 0) {
            free(col);
            free(count);
            bt_bin_cuts_free(out);
            return BT_FAIL(BT_STATUS_INTERNAL, "out of memory computing cuts");
        }
    uint32_t pos = 0;
    for (int32_t f = 0; f < n_features; f++) {
        out->ptr[f] = pos;
        memmove(out->values + pos, out->values + (size_t)f * (size_t)(max_bin + 1),
                (size_t)count[f] * sizeof *out->values);
        pos += (uint32_t)count[f];
    }
    out->ptr[n_features] = pos;
    free(col);
    free(count);
    return BT_STATUS_OK;
}

int32_t bt_bin_cuts_bin(const bt_bin_cuts *c, int32_t f, float v) {
    int32_t nb = bt_bin_cuts_nbins(c, f);
    if (isnan(v)) return nb;
    /* first cut > v, by a branch-free binary search (the comparisons are unpredictable) */
    const float *cut = c->values + c->ptr[f], *b = cut;
    int32_t len = nb;
    while (len > 1) {
        int32_t half = len >> 1;
        b = b[half - 1] <= v ? b + half : b;
        len -= half;
    }
    int32_t i = (int32_t)(b - cut) + (b[0] <= v);
    return i < nb ? i : nb - 1;
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
                         int32_t width, int threads) {
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
    if (threads < 1) threads = 1;
    int too_wide = 0;
#pragma omp parallel for schedule(static) num_threads(threads) reduction(| : too_wide)
    for (int64_t r = 0; r < n_rows; r++) {
        for (int32_t f = 0; f < F; f++) {
            float x = X[r * F + f];
            int32_t b = bt_bin_cuts_bin(c, f, x);
            if (width == 1) {
                too_wide |= b > 255;
                ((uint8_t *)out->bins)[r * F + f] = (uint8_t)b;
            } else {
                ((uint16_t *)out->bins)[r * F + f] = (uint16_t)b;
            }
        }
    }
    if (too_wide) {
        bt_binned_free(out);
        return BT_FAIL(BT_STATUS_INTERNAL, "a bin needs 2 bytes but width 1 was asked");
    }
    bt_binned_missing(X, n_rows, F, out->has_missing);
    return BT_STATUS_OK;
}
