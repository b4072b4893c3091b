/* Plain C reference of the batched fully connected layer (kernels/nn_linear.h): float32 math, a
 * fixed accumulation order per output element, so a slot's result never depends on its pack. */
#include <string.h>

#include "kernels/nn_linear.h"

void bt_nn_linear_fwd_ref(int n_slots, int rows, int in, int out, const float *const *X,
                          const float *const *W, const float *const *b, float *const *Y) {
    for (int s = 0; s < n_slots; s++) {
        const float *x = X[s], *w = W[s], *bias = b[s];
        float *y = Y[s];
        for (int r = 0; r < rows; r++) {
            float *yr = y + (size_t)r * out;
            const float *xr = x + (size_t)r * in;
            memcpy(yr, bias, (size_t)out * sizeof *yr);
            for (int k = 0; k < in; k++) {
                float xv = xr[k];
                /* after relu or dropout many inputs are exactly 0; adding 0 * w changes nothing */
                if (xv == 0.0f) continue;
                const float *wk = w + (size_t)k * out;
                for (int o = 0; o < out; o++) yr[o] += xv * wk[o];
            }
        }
    }
}

void bt_nn_linear_bwd_ref(int n_slots, int rows, int in, int out, const float *const *X,
                          const float *const *W, const float *const *dY, float *const *dX,
                          float *const *dW, float *const *db, float *scratch) {
    for (int s = 0; s < n_slots; s++) {
        const float *x = X[s], *w = W[s], *dy = dY[s];
        float *dw = dW[s], *dbias = db[s];
        memset(dw, 0, (size_t)in * (size_t)out * sizeof *dw);
        memset(dbias, 0, (size_t)out * sizeof *dbias);
        for (int r = 0; r < rows; r++) {
            const float *dyr = dy + (size_t)r * out, *xr = x + (size_t)r * in;
            for (int o = 0; o < out; o++) dbias[o] += dyr[o];
            for (int k = 0; k < in; k++) {
                float xv = xr[k];
                if (xv == 0.0f) continue;
                float *dwk = dw + (size_t)k * out;
                for (int o = 0; o < out; o++) dwk[o] += xv * dyr[o];
            }
        }
        if (!dX) continue;
        float *wt = scratch; /* out x in */
        for (int k = 0; k < in; k++)
            for (int o = 0; o < out; o++) wt[(size_t)o * in + k] = w[(size_t)k * out + o];
        float *dx = dX[s];
        for (int r = 0; r < rows; r++) {
            float *dxr = dx + (size_t)r * in;
            const float *dyr = dy + (size_t)r * out;
            memset(dxr, 0, (size_t)in * sizeof *dxr);
            for (int o = 0; o < out; o++) {
                float g = dyr[o];
                if (g == 0.0f) continue;
                const float *wo = wt + (size_t)o * in;
                for (int k = 0; k < in; k++) dxr[k] += g * wo[k];
            }
        }
    }
}
