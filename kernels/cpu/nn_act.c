/* Plain C reference of the elementwise activations (kernels/nn_act.h). */
#include <math.h>
#include <string.h>

#include "kernels/nn_act.h"

int bt_nn_act_from_name(const char *name) {
    if (!name) return -1;
    if (strcmp(name, "relu") == 0) return BT_NN_ACT_RELU;
    if (strcmp(name, "tanh") == 0) return BT_NN_ACT_TANH;
    if (strcmp(name, "gelu") == 0) return BT_NN_ACT_GELU;
    return -1;
}

void bt_nn_act_fwd_ref(bt_nn_act act, int64_t n, const float *x, float *y) {
    switch (act) {
    case BT_NN_ACT_RELU:
        for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case BT_NN_ACT_TANH:
        for (int64_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
        break;
    case BT_NN_ACT_GELU:
        for (int64_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678f));
        break;
    }
}

void bt_nn_act_bwd_ref(bt_nn_act act, int64_t n, const float *x, const float *dy, float *dx) {
    switch (act) {
    case BT_NN_ACT_RELU:
        for (int64_t i = 0; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
        break;
    case BT_NN_ACT_TANH:
        for (int64_t i = 0; i < n; i++) {
            float t = tanhf(x[i]);
            dx[i] = dy[i] * (1.0f - t * t);
        }
        break;
    case BT_NN_ACT_GELU:
        /* d/dx x Phi(x) = Phi(x) + x phi(x) */
        for (int64_t i = 0; i < n; i++) {
            float cdf = 0.5f * (1.0f + erff(x[i] * 0.70710678f));
            float pdf = 0.39894228f * expf(-0.5f * x[i] * x[i]);
            dx[i] = dy[i] * (cdf + x[i] * pdf);
        }
        break;
    }
}
