/* C reference of the between-levels bookkeeping of a CUDA round (see kernels/gbdt_level.h). */
#include "kernels/gbdt_level.h"

void bt_gbdt_level_prepare_ref(const bt_gbdt_level_pair *pairs, int32_t n_pairs,
                               const int64_t *n_left, bt_gbdt_level_out *out) {
    for (int32_t i = 0; i < n_pairs; i++)
        out[i] = bt_gbdt_level_resolve(pairs[i], pairs[i].part >= 0 ? n_left[pairs[i].part] : 0);
}
