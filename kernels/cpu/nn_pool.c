/* Plain C reference of global average pooling (kernels/nn_pool.h). */
#include <stddef.h>

#include "kernels/nn_pool.h"

void bt_nn_gap_fwd_ref(int n_slots, int rows, int hw, int c, const float *const *x,
                       float *const *y) {
    const float inv = 1.0f / (float)hw;
    for (int s = 0; s < n_slots; s++)
        for (int r = 0; r < rows; r++) {
            float *yr = y[s] + (size_t)r * c;
            const float *xr = x[s] + (size_t)r * hw * c;
            for (int j = 0; j < c; j++) yr[j] = 0.0f;
            for (int p = 0; p < hw; p++)
                for (int j = 0; j < c; j++) yr[j] += xr[(size_t)p * c + j];
            for (int j = 0; j < c; j++) yr[j] *= inv;
        }
}

void bt_nn_gap_bwd_ref(int n_slots, int rows, int hw, int c, const float *const *dy,
                       float *const *dx) {
    const float inv = 1.0f / (float)hw;
    for (int s = 0; s < n_slots; s++)
        for (int r = 0; r < rows; r++)
            for (int p = 0; p < hw; p++)
                for (int j = 0; j < c; j++)
                    dx[s][((size_t)r * hw + p) * c + j] = dy[s][(size_t)r * c + j] * inv;
}
