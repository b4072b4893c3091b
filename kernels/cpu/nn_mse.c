/* Plain C reference of the mean squared error loss (kernels/nn_mse.h). */
#include "kernels/nn_mse.h"

void bt_nn_mse_ref(int n_slots, int rows, const float *const *pred, const float *const *target,
                   double *loss, float *const *dpred) {
    for (int s = 0; s < n_slots; s++) {
        double total = 0.0;
        const float scale = 2.0f / (float)rows;
        for (int r = 0; r < rows; r++) {
            float e = pred[s][r] - target[s][r];
            total += (double)(e * e);
            if (dpred) dpred[s][r] = scale * e;
        }
        loss[s] = rows > 0 ? total / (double)rows : 0.0;
    }
}
