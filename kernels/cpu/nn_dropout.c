/* Plain C reference of inverted dropout with Philox-keyed masks (kernels/nn_dropout.h). */
#include "kernels/nn_dropout.h"

void bt_nn_dropout_fwd_ref(int n_slots, int64_t n, const uint64_t *key, const float *p,
                           const uint32_t *epoch, uint32_t step, uint32_t layer,
                           const float *const *x, float *const *y, float *const *mask) {
    for (int s = 0; s < n_slots; s++) {
        if (p[s] <= 0.0f) {
            for (int64_t e = 0; e < n; e++) {
                mask[s][e] = 1.0f;
                y[s][e] = x[s][e];
            }
            continue;
        }
        const float scale = 1.0f / (1.0f - p[s]);
        for (int64_t e = 0; e < n; e++) {
            float m =
                bt_nn_dropout_keep(key[s], p[s], epoch[s], step, layer, (uint64_t)e) ? scale : 0.0f;
            mask[s][e] = m;
            y[s][e] = x[s][e] * m;
        }
    }
}

void bt_nn_dropout_bwd_ref(int n_slots, int64_t n, const float *const *mask, const float *const *dy,
                           float *const *dx) {
    for (int s = 0; s < n_slots; s++)
        for (int64_t e = 0; e < n; e++) dx[s][e] = dy[s][e] * mask[s][e];
}
