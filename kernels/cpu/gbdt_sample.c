/* C reference of row and feature sampling (see kernels/gbdt_sample.h). Decisions compare 32-bit
 * integers from Philox, so CPU and GPU agree bit for bit. */
#include "kernels/gbdt_sample.h"

#include <stdlib.h>

#include "kernels/philox.h"

/* Counter layout: ctr_lo = tree, ctr_hi = row (rows) or 1<<63 | level<<32 | feature (features). */
int64_t bt_gbdt_sample_rows_ref(uint64_t key, uint64_t tree, int64_t n, double subsample,
                                int32_t *rows_out) {
    int64_t m = 0;
    if (subsample >= 1.0) {
        for (int64_t r = 0; r < n; r++) rows_out[m++] = (int32_t)r;
        return m;
    }
    uint64_t thr = (uint64_t)(subsample * 4294967296.0);
    for (int64_t r = 0; r < n; r++)
        if ((uint64_t)bt_philox_u32(key, tree, (uint64_t)r) < thr) rows_out[m++] = (int32_t)r;
    return m;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int32_t bt_gbdt_sample_features_ref(uint64_t key, uint64_t tree, uint32_t level, const int32_t *in,
                                    int32_t n_in, double frac, int32_t *out, uint64_t *scratch) {
    int32_t k = (int32_t)(frac * (double)n_in);
    if (k < 1) k = 1;
    if (k >= n_in) {
        for (int32_t i = 0; i < n_in; i++) out[i] = in[i];
        return n_in;
    }
    /* key (32 random bits) << 32 | position: sorting picks k features by random key, ties by
     * position, then the picked positions are sorted back into feature order. */
    for (int32_t i = 0; i < n_in; i++) {
        uint64_t c = (1ull << 63) | ((uint64_t)level << 32) | (uint32_t)in[i];
        scratch[i] = ((uint64_t)bt_philox_u32(key, tree, c) << 32) | (uint32_t)i;
    }
    qsort(scratch, (size_t)n_in, sizeof *scratch, cmp_u64);
    uint64_t *pos = scratch + n_in;
    for (int32_t i = 0; i < k; i++) pos[i] = (uint32_t)scratch[i];
    qsort(pos, (size_t)k, sizeof *pos, cmp_u64);
    for (int32_t i = 0; i < k; i++) out[i] = in[pos[i]];
    return k;
}
