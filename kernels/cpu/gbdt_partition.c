/* C reference of the stable row partition (see kernels/gbdt_partition.h): left rows are compacted
 * in place, right rows parked in scratch and copied back behind them. */
#include "kernels/gbdt_partition.h"

#include <string.h>

/* Branch-free (rows go both ways at random) with the row PF ahead prefetched. */
#define PF 16
#define PART_BODY(T)                                                                               \
    do {                                                                                           \
        const T *B = (const T *)bins;                                                              \
        for (int64_t i = 0; i < n; i++) {                                                          \
            if (i + PF < n) __builtin_prefetch(B + (int64_t)rows[i + PF] * n_features + feature);  \
            int32_t r = rows[i];                                                                   \
            int32_t b = B[(int64_t)r * n_features + feature];                                      \
            int64_t left = b == missing_bin ? default_left != 0 : b <= split_bin;                  \
            rows[nl] = r;                                                                          \
            scratch[nr] = r;                                                                       \
            nl += left;                                                                            \
            nr += 1 - left;                                                                        \
        }                                                                                          \
    } while (0)

int64_t bt_gbdt_partition_ref(int32_t *rows, int64_t n, const void *bins, int32_t width,
                              int32_t n_features, int32_t feature, int32_t split_bin,
                              int32_t missing_bin, int default_left, int32_t *scratch) {
    int64_t nl = 0, nr = 0;
    if (width == 1)
        PART_BODY(uint8_t);
    else
        PART_BODY(uint16_t);
    memcpy(rows + nl, scratch, (size_t)nr * sizeof *rows);
    return nl;
}

int64_t bt_gbdt_partition_flags_ref(int32_t *rows, int64_t n, const uint8_t *flags,
                                    int32_t *scratch) {
    /* branch-free: each row is written to both places, only one cursor advances */
    int64_t nl = 0, nr = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t r = rows[i];
        int64_t left = flags[r] != 0;
        rows[nl] = r;
        scratch[nr] = r;
        nl += left;
        nr += 1 - left;
    }
    memcpy(rows + nl, scratch, (size_t)nr * sizeof *rows);
    return nl;
}
