/* Plain C reference of softmax cross-entropy with label smoothing (kernels/nn_softmax_ce.h). The
 * log-softmax is formed as (z - max) - log(sum exp(z - max)) so large logits do not overflow. */
#include <math.h>
#include <stddef.h>

#include "kernels/nn_softmax_ce.h"

void bt_nn_softmax_ref(int rows, int k, const float *logits, float *probs) {
    for (int r = 0; r < rows; r++) {
        const float *z = logits + (size_t)r * k;
        float *p = probs + (size_t)r * k;
        float mx = z[0];
        for (int j = 1; j < k; j++) mx = z[j] > mx ? z[j] : mx;
        float sum = 0.0f;
        for (int j = 0; j < k; j++) {
            p[j] = expf(z[j] - mx);
            sum += p[j];
        }
        float inv = 1.0f / sum;
        for (int j = 0; j < k; j++) p[j] *= inv;
    }
}

void bt_nn_softmax_ce_ref(int n_slots, int rows, int k, const float *const *logits,
                          const int32_t *const *labels, const float *smoothing, double *loss,
                          float *const *dlogits) {
    for (int s = 0; s < n_slots; s++) {
        const float eps = smoothing ? smoothing[s] : 0.0f;
        const float off = eps / (float)k, on = 1.0f - eps + off;
        const float inv_rows = 1.0f / (float)rows;
        double total = 0.0;
        for (int r = 0; r < rows; r++) {
            const float *z = logits[s] + (size_t)r * k;
            const int32_t y = labels[s][r];
            float mx = z[0];
            for (int j = 1; j < k; j++) mx = z[j] > mx ? z[j] : mx;
            float sum = 0.0f;
            for (int j = 0; j < k; j++) sum += expf(z[j] - mx);
            const float lse = logf(sum);
            float row = 0.0f;
            for (int j = 0; j < k; j++) {
                float t = j == y ? on : off;
                if (t != 0.0f) row -= t * ((z[j] - mx) - lse);
            }
            total += (double)row;
            if (dlogits) {
                float *d = dlogits[s] + (size_t)r * k;
                const float inv = 1.0f / sum;
                for (int j = 0; j < k; j++) {
                    float t = j == y ? on : off;
                    d[j] = (expf(z[j] - mx) * inv - t) * inv_rows;
                }
            }
        }
        loss[s] = rows > 0 ? total / (double)rows : 0.0;
    }
}
