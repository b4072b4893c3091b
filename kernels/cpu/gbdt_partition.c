/* C reference of the stable row partition (see kernels/gbdt_partition.h): left rows are compacted
 * in place, right rows parked in scratch and copied back behind them. */
#include "../gbdt_partition.h"

#include <string.h>

#define PART_BODY(T)                                                                               \
    do {                                                                                           \
        const T *B = (const T *)bins;                                                              \
        for (int64_t i = 0; i < n; i++) {                                                          \
            int32_t r = rows[i];                                                                   \
            int32_t b = B[(int64_t)r * n_features + feature];                                      \
            int left = b == missing_bin ? default_left : b <= split_bin;                           \
            if (left)                                                                              \
                rows[nl++] = r;                                                                    \
            else                                                                                   \
                scratch[nr++] = r;                                                                 \
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
