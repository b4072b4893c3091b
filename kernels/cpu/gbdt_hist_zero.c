/* C reference of the histogram clearing a CUDA round does per level (see kernels/gbdt_hist.h):
 * every item's range of entries set to (0, 0), padding items (n <= 0) skipped. */
#include <string.h>

#include "kernels/gbdt_hist.h"

void bt_gbdt_hist_zero_ref(bt_gbdt_gh *hist, const bt_gbdt_hist_zero_item *items, int32_t n_items) {
    for (int32_t i = 0; i < n_items; i++)
        if (items[i].n > 0) memset(hist + items[i].offset, 0, (size_t)items[i].n * sizeof *hist);
}
