/* Plain C reference of batch normalization (kernels/nn_batchnorm.h). Column statistics are summed
 * in double in row order, so a slot's numbers are the same whatever else is in its pack. */
#include <math.h>
#include <stddef.h>

#include "kernels/nn_batchnorm.h"

void bt_nn_bn_train_fwd_ref(int n_slots, int rows, int c, float momentum, float eps,
                            const float *const *x, const float *const *gamma,
                            const float *const *beta, float *const *run_mean, float *const *run_var,
                            float *const *xhat, float *const *inv_std, float *const *y) {
    for (int s = 0; s < n_slots; s++) {
        for (int j = 0; j < c; j++) {
            double sum = 0.0;
            for (int r = 0; r < rows; r++) sum += (double)x[s][(size_t)r * c + j];
            double mean = sum / rows, ss = 0.0;
            for (int r = 0; r < rows; r++) {
                double d = (double)x[s][(size_t)r * c + j] - mean;
                ss += d * d;
            }
            double var = ss / rows;
            float is = (float)(1.0 / sqrt(var + (double)eps));
            inv_std[s][j] = is;
            float m = (float)mean;
            for (int r = 0; r < rows; r++) {
                size_t i = (size_t)r * c + j;
                float h = (x[s][i] - m) * is;
                xhat[s][i] = h;
                y[s][i] = gamma[s][j] * h + beta[s][j];
            }
            double unbiased = rows > 1 ? ss / (rows - 1) : var;
            run_mean[s][j] = (1.0f - momentum) * run_mean[s][j] + momentum * m;
            run_var[s][j] = (1.0f - momentum) * run_var[s][j] + momentum * (float)unbiased;
        }
    }
}

void bt_nn_bn_eval_fwd_ref(int n_slots, int rows, int c, float eps, const float *const *x,
                           const float *const *gamma, const float *const *beta,
                           const float *const *run_mean, const float *const *run_var,
                           float *const *y) {
    for (int s = 0; s < n_slots; s++)
        for (int j = 0; j < c; j++) {
            float is = 1.0f / sqrtf(run_var[s][j] + eps), m = run_mean[s][j];
            for (int r = 0; r < rows; r++) {
                size_t i = (size_t)r * c + j;
                y[s][i] = gamma[s][j] * ((x[s][i] - m) * is) + beta[s][j];
            }
        }
}

void bt_nn_bn_bwd_ref(int n_slots, int rows, int c, const float *const *xhat,
                      const float *const *inv_std, const float *const *gamma,
                      const float *const *dy, float *const *dx, float *const *dgamma,
                      float *const *dbeta) {
    for (int s = 0; s < n_slots; s++)
        for (int j = 0; j < c; j++) {
            double sdy = 0.0, sdyx = 0.0;
            for (int r = 0; r < rows; r++) {
                size_t i = (size_t)r * c + j;
                sdy += (double)dy[s][i];
                sdyx += (double)dy[s][i] * (double)xhat[s][i];
            }
            dgamma[s][j] = (float)sdyx;
            dbeta[s][j] = (float)sdy;
            float k = gamma[s][j] * inv_std[s][j] / (float)rows;
            float a = (float)sdy, b = (float)sdyx;
            for (int r = 0; r < rows; r++) {
                size_t i = (size_t)r * c + j;
                dx[s][i] = k * ((float)rows * dy[s][i] - a - xhat[s][i] * b);
            }
        }
}
