/* The optimizers' update step against hand-computed values (SGD with momentum and Nesterov, Adam,
 * AdamW, RMSprop with and without momentum, weight decay), a double-precision transcription of
 * PyTorch's rules over several steps on random gradients, and the learning-rate schedules. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/nn_optim.h"
#include "models/nn/nn.h"
#include "tests/bt_test.h"

/* One parameter w = 1 with gradient g = 0.5, two steps; returns w after each. */
static void two_steps(bt_nn_optim_hp h, float out[2]) {
    float w = 1.0f, g = 0.5f, m = 0.0f, v = 0.0f;
    float *pw = &w, *pm = &m, *pv = &v;
    const float *pg = &g;
    for (int64_t t = 1; t <= 2; t++) {
        bt_nn_optim_step_ref(1, 1, &h, &t, &pw, &pg, &pm, &pv);
        out[t - 1] = w;
    }
}

static void test_hand(void) {
    float w[2];
    bt_nn_optim_hp h = {.kind = BT_NN_OPT_SGD, .lr = 0.1f};
    two_steps(h, w); /* plain SGD: 1 - 0.05, - 0.05 */
    CHECK_NEAR(w[0], 0.95, 1e-6);
    CHECK_NEAR(w[1], 0.90, 1e-6);

    h = (bt_nn_optim_hp){
        .kind = BT_NN_OPT_SGD, .lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.01f};
    /* d1 = 0.5 + 0.01 = 0.51, buf = 0.51, w = 0.949; d2 = 0.5 + 0.00949 = 0.50949,
     * buf = 0.9 * 0.51 + 0.50949 = 0.96849, w = 0.949 - 0.096849 = 0.852151 */
    two_steps(h, w);
    CHECK_NEAR(w[0], 0.949, 1e-6);
    CHECK_NEAR(w[1], 0.852151, 1e-6);

    h.nesterov = 1;
    /* d1 = 0.51, buf = 0.51, step = 0.51 + 0.9 * 0.51 = 0.969, w = 0.9031; d2 = 0.5 + 0.009031 =
     * 0.509031, buf = 0.459 + 0.509031 = 0.968031, step = 0.509031 + 0.8712279 = 1.3802589 */
    two_steps(h, w);
    CHECK_NEAR(w[0], 0.9031, 1e-6);
    CHECK_NEAR(w[1], 0.9031 - 0.13802589, 1e-6);

    h = (bt_nn_optim_hp){
        .kind = BT_NN_OPT_ADAM, .lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    /* with a constant gradient mhat = g and vhat = g^2 at every step: w -= lr * g / (|g| + eps) */
    two_steps(h, w);
    CHECK_NEAR(w[0], 0.9, 1e-6);
    CHECK_NEAR(w[1], 0.8, 1e-6);

    h.weight_decay = 0.1f; /* Adam's L2: d1 = 0.6 (still sign-like), d2 = 0.5 + 0.09 = 0.59 */
    two_steps(h, w);
    CHECK_NEAR(w[0], 0.9, 1e-6);
    {
        double m = 0.9 * 0.06 + 0.1 * 0.59, v = 0.999 * 0.00036 + 0.001 * 0.59 * 0.59;
        double mh = m / (1 - 0.81), vh = v / (1 - 0.998001);
        CHECK_NEAR(w[1], 0.9 - 0.1 * mh / (sqrt(vh) + 1e-8), 1e-6);
    }

    h.kind = BT_NN_OPT_ADAMW; /* decoupled: w = 1 (1 - 0.01) - 0.1 = 0.89 */
    two_steps(h, w);
    CHECK_NEAR(w[0], 0.89, 1e-6);
    CHECK_NEAR(w[1], 0.89 * 0.99 - 0.1, 1e-6);

    h = (bt_nn_optim_hp){.kind = BT_NN_OPT_RMSPROP, .lr = 0.01f, .alpha = 0.99f, .eps = 1e-8f};
    /* sq = 0.0025, step = 0.5 / 0.05 = 10, w = 0.9; sq = 0.004975, step = 7.0888120 */
    two_steps(h, w);
    CHECK_NEAR(w[0], 0.9, 1e-6);
    CHECK_NEAR(w[1], 0.9 - 0.01 * 0.5 / sqrt(0.004975), 1e-6);
    h.momentum = 0.9f; /* buf = 10, then 9 + 7.0888 */
    two_steps(h, w);
    CHECK_NEAR(w[0], 0.9, 1e-6);
    CHECK_NEAR(w[1], 0.9 - 0.01 * (9.0 + 0.5 / sqrt(0.004975)), 1e-5);
}

/* PyTorch's rules in double, for comparison over many steps. */
static void ref_step(const bt_nn_optim_hp *h, int64_t t, int64_t n, double *w, const float *g,
                     double *m, double *v) {
    for (int64_t i = 0; i < n; i++) {
        double d = g[i];
        switch (h->kind) {
        case BT_NN_OPT_SGD:
            d += h->weight_decay * w[i];
            if (h->momentum != 0) {
                m[i] = t == 1 ? d : h->momentum * m[i] + d;
                d = h->nesterov ? d + h->momentum * m[i] : m[i];
            }
            w[i] -= h->lr * d;
            break;
        case BT_NN_OPT_ADAM:
        case BT_NN_OPT_ADAMW:
            if (h->kind == BT_NN_OPT_ADAMW)
                w[i] *= 1 - (double)h->lr * h->weight_decay;
            else
                d += h->weight_decay * w[i];
            m[i] = h->beta1 * m[i] + (1 - (double)h->beta1) * d;
            v[i] = h->beta2 * v[i] + (1 - (double)h->beta2) * d * d;
            w[i] -= h->lr * (m[i] / (1 - pow(h->beta1, (double)t))) /
                    (sqrt(v[i] / (1 - pow(h->beta2, (double)t))) + h->eps);
            break;
        case BT_NN_OPT_RMSPROP: {
            d += h->weight_decay * w[i];
            v[i] = h->alpha * v[i] + (1 - (double)h->alpha) * d * d;
            double u = d / (sqrt(v[i]) + h->eps);
            if (h->momentum != 0) {
                m[i] = h->momentum * m[i] + u;
                u = m[i];
            }
            w[i] -= h->lr * u;
            break;
        }
        }
    }
}

static uint64_t rs;
static double urand(void) {
    rs ^= rs >> 12;
    rs ^= rs << 25;
    rs ^= rs >> 27;
    return (double)((rs * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}

/* Four slots with four optimizers in one call, 20 steps, against the double rules. */
static void test_batched(void) {
    enum { S = 4, N = 50, T = 20 };
    bt_nn_optim_hp hp[S] = {
        {.kind = BT_NN_OPT_SGD,
         .lr = 0.05f,
         .momentum = 0.9f,
         .nesterov = 1,
         .weight_decay = 1e-3f},
        {.kind = BT_NN_OPT_ADAM,
         .lr = 0.01f,
         .beta1 = 0.9f,
         .beta2 = 0.99f,
         .eps = 1e-6f,
         .weight_decay = 1e-2f},
        {.kind = BT_NN_OPT_ADAMW,
         .lr = 0.01f,
         .beta1 = 0.8f,
         .beta2 = 0.999f,
         .eps = 1e-8f,
         .weight_decay = 0.1f},
        {.kind = BT_NN_OPT_RMSPROP, .lr = 0.001f, .alpha = 0.9f, .eps = 1e-8f, .momentum = 0.5f},
    };
    float w[S][N], g[S][N], m[S][N] = {{0}}, v[S][N] = {{0}};
    double wd[S][N], md[S][N] = {{0}}, vd[S][N] = {{0}};
    float *pw[S], *pm[S], *pv[S];
    const float *pg[S];
    int64_t t[S];
    for (int s = 0; s < S; s++) {
        for (int i = 0; i < N; i++) wd[s][i] = w[s][i] = (float)(2 * urand() - 1);
        pw[s] = w[s];
        pg[s] = g[s];
        pm[s] = m[s];
        pv[s] = v[s];
    }
    for (int step = 1; step <= T; step++) {
        for (int s = 0; s < S; s++) {
            for (int i = 0; i < N; i++) g[s][i] = (float)(2 * urand() - 1);
            t[s] = step;
            ref_step(&hp[s], step, N, wd[s], g[s], md[s], vd[s]);
        }
        bt_nn_optim_step_ref(S, N, hp, t, pw, pg, pm, pv);
    }
    for (int s = 0; s < S; s++) {
        double maxerr = 0;
        for (int i = 0; i < N; i++)
            if (fabs(w[s][i] - wd[s][i]) > maxerr) maxerr = fabs(w[s][i] - wd[s][i]);
        CHECK_MSG(maxerr < 1e-4, "optimizer %d: max |w - w_ref| = %g after %d steps", s, maxerr, T);
    }
    CHECK(bt_nn_opt_from_name("adamw") == BT_NN_OPT_ADAMW);
    CHECK(bt_nn_opt_from_name("lbfgs") == -1);
}

static void test_schedules(void) {
    bt_mlp_slot s = {
        .lr = 0.1, .schedule = 0, .warmup = 0, .step_size = 10, .gamma = 0.1, .horizon = 20};
    CHECK_NEAR(bt_mlp_lr_at(&s, 0), 0.1, 1e-12);
    CHECK_NEAR(bt_mlp_lr_at(&s, 19), 0.1, 1e-12);
    s.schedule = 1; /* step */
    CHECK_NEAR(bt_mlp_lr_at(&s, 9), 0.1, 1e-12);
    CHECK_NEAR(bt_mlp_lr_at(&s, 10), 0.01, 1e-12);
    CHECK_NEAR(bt_mlp_lr_at(&s, 25), 0.001, 1e-12);
    s.warmup = 4; /* 0.025, 0.05, 0.075, 0.1, then the step schedule from epoch 4 */
    CHECK_NEAR(bt_mlp_lr_at(&s, 0), 0.025, 1e-12);
    CHECK_NEAR(bt_mlp_lr_at(&s, 3), 0.1, 1e-12);
    CHECK_NEAR(bt_mlp_lr_at(&s, 13), 0.1, 1e-12);
    CHECK_NEAR(bt_mlp_lr_at(&s, 14), 0.01, 1e-12);
    s.schedule = 2; /* cosine over the 16 epochs after warmup */
    CHECK_NEAR(bt_mlp_lr_at(&s, 4), 0.1, 1e-12);
    CHECK_NEAR(bt_mlp_lr_at(&s, 12), 0.05, 1e-12);
    CHECK_NEAR(bt_mlp_lr_at(&s, 19), 0.05 * (1 + cos(3.14159265358979323846 * 15 / 16)), 1e-12);
    CHECK_NEAR(bt_mlp_lr_at(&s, 20), 0.0, 1e-12);
}

int main(void) {
    const char *seed = getenv("BT_TEST_SEED");
    rs = seed ? strtoull(seed, NULL, 10) : (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull | 1;
    printf("seed %llu\n", (unsigned long long)rs);
    test_hand();
    test_batched();
    test_schedules();
    return bt_test_finish("test_nn_optim");
}
