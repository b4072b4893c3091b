/* Plain C reference of the optimizers' update step (kernels/nn_optim.h), written after PyTorch's
 * single-tensor code paths: SGD's buffer starts as the first gradient, Adam divides by
 * sqrt(v) / sqrt(1 - beta2^t) + eps, RMSprop keeps its momentum buffer of scaled gradients. */
#include <math.h>
#include <string.h>

#include "kernels/nn_optim.h"

int bt_nn_opt_from_name(const char *name) {
    if (!name) return -1;
    if (strcmp(name, "sgd") == 0) return BT_NN_OPT_SGD;
    if (strcmp(name, "adam") == 0) return BT_NN_OPT_ADAM;
    if (strcmp(name, "adamw") == 0) return BT_NN_OPT_ADAMW;
    if (strcmp(name, "rmsprop") == 0) return BT_NN_OPT_RMSPROP;
    return -1;
}

static void sgd(const bt_nn_optim_hp *h, int64_t t, int64_t n, float *w, const float *g,
                float *buf) {
    const float lr = h->lr, wd = h->weight_decay, mu = h->momentum;
    for (int64_t i = 0; i < n; i++) {
        float d = g[i] + wd * w[i];
        if (mu != 0.0f) {
            buf[i] = t == 1 ? d : mu * buf[i] + d;
            d = h->nesterov ? d + mu * buf[i] : buf[i];
        }
        w[i] -= lr * d;
    }
}

static void adam(const bt_nn_optim_hp *h, int64_t t, int64_t n, float *w, const float *g, float *m,
                 float *v) {
    const float b1 = h->beta1, b2 = h->beta2, eps = h->eps, wd = h->weight_decay;
    const int decoupled = h->kind == BT_NN_OPT_ADAMW;
    const float bc1 = (float)(1.0 - pow((double)b1, (double)t));
    const float bc2_sqrt = (float)sqrt(1.0 - pow((double)b2, (double)t));
    const float step = h->lr / bc1;
    for (int64_t i = 0; i < n; i++) {
        float d = g[i];
        if (decoupled)
            w[i] *= 1.0f - h->lr * wd;
        else
            d += wd * w[i];
        m[i] = b1 * m[i] + (1.0f - b1) * d;
        v[i] = b2 * v[i] + (1.0f - b2) * d * d;
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        w[i] -= step * (m[i] / denom);
    }
}

static void rmsprop(const bt_nn_optim_hp *h, int64_t n, float *w, const float *g, float *buf,
                    float *sq) {
    const float a = h->alpha, eps = h->eps, wd = h->weight_decay, mu = h->momentum;
    for (int64_t i = 0; i < n; i++) {
        float d = g[i] + wd * w[i];
        sq[i] = a * sq[i] + (1.0f - a) * d * d;
        float u = d / (sqrtf(sq[i]) + eps);
        if (mu != 0.0f) {
            buf[i] = mu * buf[i] + u;
            u = buf[i];
        }
        w[i] -= h->lr * u;
    }
}

void bt_nn_optim_step_ref(int n_slots, int64_t n, const bt_nn_optim_hp *hp, const int64_t *t,
                          float *const *w, const float *const *g, float *const *m,
                          float *const *v) {
    for (int s = 0; s < n_slots; s++) {
        const bt_nn_optim_hp *h = &hp[s];
        switch (h->kind) {
        case BT_NN_OPT_SGD:
            sgd(h, t[s], n, w[s], g[s], m[s]);
            break;
        case BT_NN_OPT_ADAM:
        case BT_NN_OPT_ADAMW:
            adam(h, t[s], n, w[s], g[s], m[s], v[s]);
            break;
        case BT_NN_OPT_RMSPROP:
            rmsprop(h, n, w[s], g[s], m[s], v[s]);
            break;
        }
    }
}
