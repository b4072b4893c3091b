/* Plain C reference of the residual add (kernels/nn_residual.h). */
#include "kernels/nn_residual.h"

void bt_nn_residual_fwd_ref(int n_slots, int64_t n, const float *const *x,
                            const float *const *shortcut, float *const *y) {
    for (int s = 0; s < n_slots; s++)
        for (int64_t i = 0; i < n; i++) y[s][i] = x[s][i] + shortcut[s][i];
}

void bt_nn_residual_bwd_ref(int n_slots, int64_t n, const float *const *dy, float *const *dx,
                            float *const *dshortcut) {
    for (int s = 0; s < n_slots; s++)
        for (int64_t i = 0; i < n; i++) {
            if (dx) dx[s][i] = dy[s][i];
            dshortcut[s][i] += dy[s][i];
        }
}
