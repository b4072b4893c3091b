/* C reference of the fixed-point gradient histogram (see kernels/gbdt_hist.h). Rows are walked in
 * list order; for each row the cells of a feature range are read once and added, so one node's
 * histogram stays in cache while the shared bin matrix streams past. */
#include "kernels/gbdt_hist.h"

/* Rows of a deep node are scattered over the matrix: prefetching the row PF ahead hides the
 * memory latency that otherwise dominates (bins and gradients of one row each miss the cache). */
#define PF 16
#define HIST_BODY(T)                                                                               \
    do {                                                                                           \
        const T *B = (const T *)bins;                                                              \
        for (int64_t i = 0; i < n; i++) {                                                          \
            if (i + PF < n) {                                                                      \
                int32_t rp = rows[i + PF];                                                         \
                __builtin_prefetch(B + (int64_t)rp * n_features + f_begin);                        \
                __builtin_prefetch(gh + rp);                                                       \
            }                                                                                      \
            int32_t r = rows[i];                                                                   \
            const T *b = B + (int64_t)r * n_features;                                              \
            int64_t g = gh[r].g, h = gh[r].h;                                                      \
            for (int32_t f = f_begin; f < f_end; f++) {                                            \
                bt_gbdt_gh *e = hist + off[f] + b[f];                                              \
                e->g += g;                                                                         \
                e->h += h;                                                                         \
            }                                                                                      \
        }                                                                                          \
    } while (0)

void bt_gbdt_hist_ref(const void *bins, int32_t width, int32_t n_features, const uint32_t *off,
                      int32_t f_begin, int32_t f_end, const int32_t *rows, int64_t n,
                      const bt_gbdt_gh *gh, bt_gbdt_gh *hist) {
    if (width == 1)
        HIST_BODY(uint8_t);
    else
        HIST_BODY(uint16_t);
}

void bt_gbdt_hist_sub_ref(bt_gbdt_gh *parent, const bt_gbdt_gh *child, int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
        parent[i].g -= child[i].g;
        parent[i].h -= child[i].h;
    }
}
