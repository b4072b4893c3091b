/* Plain C reference of the training-step bookkeeping (kernels/nn_train.h): the same gathers,
 * divergence check and metric sums the mlp pack (models/nn/pack.c) does inline. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "kernels/nn_train.h"

void bt_nn_gather_f32_ref(int n_slots, int rows, int width, const float *src,
                          const int32_t *const *idx, int64_t first, float *const *dst) {
    for (int s = 0; s < n_slots; s++)
        for (int r = 0; r < rows; r++)
            memcpy(dst[s] + (size_t)r * width, src + (size_t)idx[s][first + r] * width,
                   (size_t)width * sizeof(float));
}

void bt_nn_gather_i32_ref(int n_slots, int rows, int width, const int32_t *src,
                          const int32_t *const *idx, int64_t first, int32_t *const *dst) {
    for (int s = 0; s < n_slots; s++)
        for (int r = 0; r < rows; r++)
            memcpy(dst[s] + (size_t)r * width, src + (size_t)idx[s][first + r] * width,
                   (size_t)width * sizeof(int32_t));
}

void bt_nn_loss_check_ref(int n_slots, int rows, const double *loss, int32_t *alive, int64_t *t,
                          double *loss_sum) {
    for (int s = 0; s < n_slots; s++) {
        if (!alive[s]) continue;
        if (!isfinite(loss[s])) {
            alive[s] = 0;
            continue;
        }
        t[s]++;
        loss_sum[s] += loss[s] * rows;
    }
}

/* The predicted class: the largest logit, the first one on ties. */
static int32_t argmax(const float *z, int k) {
    int32_t best = 0;
    for (int32_t j = 1; j < k; j++)
        if (z[j] > z[best]) best = j;
    return best;
}

void bt_nn_class_metrics_ref(int n_slots, int rows, int k, const float *const *logits,
                             const int32_t *labels, double *acc) {
    for (int s = 0; s < n_slots; s++)
        for (int r = 0; r < rows; r++) {
            const float *z = logits[s] + (size_t)r * k;
            const int32_t y = labels[r];
            acc[2 * s] += argmax(z, k) == y;
            float mx = z[0];
            for (int j = 1; j < k; j++) mx = z[j] > mx ? z[j] : mx;
            float sum = 0.0f;
            for (int j = 0; j < k; j++) sum += expf(z[j] - mx);
            /* p_y as bt_nn_softmax_ref forms it (the mlp pack's evaluate calls that) */
            const float py = expf(z[y] - mx) * (1.0f / sum);
            acc[2 * s + 1] -= log(py > 1e-15f ? (double)py : 1e-15);
        }
}

void bt_nn_class_counts_ref(int n_slots, int rows, int k, const float *const *logits,
                            const int32_t *labels, double *counts) {
    for (int s = 0; s < n_slots; s++) {
        double *c = counts + (size_t)3 * k * s;
        for (int r = 0; r < rows; r++) {
            const int32_t p = argmax(logits[s] + (size_t)r * k, k), y = labels[r];
            c[p] += 1.0;
            c[k + y] += 1.0;
            if (p == y) c[2 * k + y] += 1.0;
        }
    }
}

void bt_nn_reg_metrics_ref(int n_slots, int rows, const float *const *pred, const float *target,
                           double y_mean, double y_std, double *acc) {
    for (int s = 0; s < n_slots; s++)
        for (int r = 0; r < rows; r++) {
            double p = (double)pred[s][r] * y_std + y_mean;
            double y = (double)target[r] * y_std + y_mean;
            acc[2 * s] += (p - y) * (p - y);
            acc[2 * s + 1] += fabs(p - y);
        }
}
