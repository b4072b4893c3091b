/* Batch normalization for the CPU packs (kernels/nn_batchnorm.h, _cpu): the reference's
 * arithmetic with row-major passes over blocks of up to CB channels, so an NHWC activation of
 * (rows * h * w) x c is read a few times in all rather than a few times per channel. A channel's
 * sums still run in double over the rows in order: results equal the reference bit for bit. */
#include <math.h>
#include <stddef.h>

#include "kernels/nn_batchnorm.h"

enum { CB = 16 };

/* Channels per work item: CB, halved while the (slot, block) items are fewer than the threads.
 * Any block size gives the same bits; small ones only cost more passes over the rows. */
static int block_of(int n_slots, int c, int threads) {
    int cb = CB;
    while (cb > 1 && (long)n_slots * ((c + cb - 1) / cb) < threads) cb /= 2;
    return cb;
}

void bt_nn_bn_train_fwd_cpu(int n_slots, int rows, int c, float momentum, float eps,
                            const float *const *x, const float *const *gamma,
                            const float *const *beta, float *const *run_mean, float *const *run_var,
                            float *const *xhat, float *const *inv_std, float *const *y,
                            int threads) {
    const int cb = block_of(n_slots, c, threads), nb = (c + cb - 1) / cb, items = n_slots * nb;
#pragma omp parallel for schedule(static) num_threads(threads > 0 ? threads : 1)
    for (int it = 0; it < items; it++) {
        const int s = it / nb, j0 = (it % nb) * cb, nc = c - j0 < cb ? c - j0 : cb;
        const float *xs = x[s] + j0;
        double sum[CB] = {0}, ss[CB] = {0};
        float m[CB], is[CB];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < nc; j++) sum[j] += (double)xs[(size_t)r * c + j];
        double mean[CB];
        for (int j = 0; j < nc; j++) mean[j] = sum[j] / rows;
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < nc; j++) {
                double d = (double)xs[(size_t)r * c + j] - mean[j];
                ss[j] += d * d;
            }
        for (int j = 0; j < nc; j++) {
            double var = ss[j] / rows;
            is[j] = (float)(1.0 / sqrt(var + (double)eps));
            m[j] = (float)mean[j];
            inv_std[s][j0 + j] = is[j];
            double unbiased = rows > 1 ? ss[j] / (rows - 1) : var;
            float *rm = run_mean[s] + j0 + j, *rv = run_var[s] + j0 + j;
            *rm = (1.0f - momentum) * *rm + momentum * m[j];
            *rv = (1.0f - momentum) * *rv + momentum * (float)unbiased;
        }
        const float *g = gamma[s] + j0, *b = beta[s] + j0;
        for (int r = 0; r < rows; r++) {
            const size_t o = (size_t)r * c + (size_t)j0;
            for (int j = 0; j < nc; j++) {
                float h = (x[s][o + j] - m[j]) * is[j];
                xhat[s][o + j] = h;
                y[s][o + j] = g[j] * h + b[j];
            }
        }
    }
}

void bt_nn_bn_eval_fwd_cpu(int n_slots, int rows, int c, float eps, const float *const *x,
                           const float *const *gamma, const float *const *beta,
                           const float *const *run_mean, const float *const *run_var,
                           float *const *y, int threads) {
    const int cb = block_of(n_slots, c, threads), nb = (c + cb - 1) / cb, items = n_slots * nb;
#pragma omp parallel for schedule(static) num_threads(threads > 0 ? threads : 1)
    for (int it = 0; it < items; it++) {
        const int s = it / nb, j0 = (it % nb) * cb, nc = c - j0 < cb ? c - j0 : cb;
        float is[CB], m[CB];
        for (int j = 0; j < nc; j++) {
            is[j] = 1.0f / sqrtf(run_var[s][j0 + j] + eps);
            m[j] = run_mean[s][j0 + j];
        }
        const float *g = gamma[s] + j0, *b = beta[s] + j0;
        for (int r = 0; r < rows; r++) {
            const size_t o = (size_t)r * c + (size_t)j0;
            for (int j = 0; j < nc; j++) y[s][o + j] = g[j] * ((x[s][o + j] - m[j]) * is[j]) + b[j];
        }
    }
}

void bt_nn_bn_bwd_cpu(int n_slots, int rows, int c, const float *const *xhat,
                      const float *const *inv_std, const float *const *gamma,
                      const float *const *dy, float *const *dx, float *const *dgamma,
                      float *const *dbeta, int threads) {
    const int cb = block_of(n_slots, c, threads), nb = (c + cb - 1) / cb, items = n_slots * nb;
#pragma omp parallel for schedule(static) num_threads(threads > 0 ? threads : 1)
    for (int it = 0; it < items; it++) {
        const int s = it / nb, j0 = (it % nb) * cb, nc = c - j0 < cb ? c - j0 : cb;
        double sdy[CB] = {0}, sdyx[CB] = {0};
        for (int r = 0; r < rows; r++) {
            const size_t o = (size_t)r * c + (size_t)j0;
            for (int j = 0; j < nc; j++) {
                sdy[j] += (double)dy[s][o + j];
                sdyx[j] += (double)dy[s][o + j] * (double)xhat[s][o + j];
            }
        }
        float k[CB], a[CB], b[CB];
        for (int j = 0; j < nc; j++) {
            dgamma[s][j0 + j] = (float)sdyx[j];
            dbeta[s][j0 + j] = (float)sdy[j];
            k[j] = gamma[s][j0 + j] * inv_std[s][j0 + j] / (float)rows;
            a[j] = (float)sdy[j];
            b[j] = (float)sdyx[j];
        }
        for (int r = 0; r < rows; r++) {
            const size_t o = (size_t)r * c + (size_t)j0;
            for (int j = 0; j < nc; j++)
                dx[s][o + j] = k[j] * ((float)rows * dy[s][o + j] - a[j] - xhat[s][o + j] * b[j]);
        }
    }
}
