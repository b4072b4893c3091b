/* Finite-difference gradient checks of the neural-net reference kernels: linear, activations,
 * softmax cross-entropy with label smoothing, MSE, batch norm (train mode) and dropout, each on
 * fresh random inputs over several slots, then the whole mlp loss (batch norm, gelu/tanh, dropout
 * with its fixed mask, label smoothing) with respect to every parameter of a slot. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/nn_act.h"
#include "kernels/nn_batchnorm.h"
#include "kernels/nn_dropout.h"
#include "kernels/nn_linear.h"
#include "kernels/nn_mse.h"
#include "kernels/nn_softmax_ce.h"
#include "models/nn/nn.h"
#include "tests/bt_test.h"
#include "tests/nn_gradcheck.h"

static float frand(float lo, float hi) {
    return lo + (hi - lo) * (float)urand();
}
static void fill(float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) x[i] = frand(lo, hi);
}

#define S 3 /* slots per kernel call */

/* ---- linear --------------------------------------------------------------------------------- */

static double linear_loss(int rows, int in, int out, float *X[S], float *W[S], float *b[S],
                          float *R[S]) {
    float *Y[S];
    for (int s = 0; s < S; s++) Y[s] = malloc((size_t)rows * out * sizeof(float));
    bt_nn_linear_fwd_ref(S, rows, in, out, (const float **)X, (const float **)W, (const float **)b,
                         Y);
    double L = 0;
    for (int s = 0; s < S; s++) {
        for (int i = 0; i < rows * out; i++) L += (double)Y[s][i] * R[s][i];
        free(Y[s]);
    }
    return L;
}

typedef struct lin_ctx {
    int rows, in, out;
    float *X[S], *W[S], *b[S], *R[S];
} lin_ctx;
static double lin_f(void *c) {
    lin_ctx *l = c;
    return linear_loss(l->rows, l->in, l->out, l->X, l->W, l->b, l->R);
}

static void test_linear(void) {
    lin_ctx c = {.rows = 1 + (int)(urand() * 6),
                 .in = 1 + (int)(urand() * 7),
                 .out = 1 + (int)(urand() * 5)};
    float *dX[S], *dW[S], *db[S];
    for (int s = 0; s < S; s++) {
        c.X[s] = malloc((size_t)c.rows * c.in * sizeof(float));
        c.W[s] = malloc((size_t)c.in * c.out * sizeof(float));
        c.b[s] = malloc((size_t)c.out * sizeof(float));
        c.R[s] = malloc((size_t)c.rows * c.out * sizeof(float));
        dX[s] = malloc((size_t)c.rows * c.in * sizeof(float));
        dW[s] = malloc((size_t)c.in * c.out * sizeof(float));
        db[s] = malloc((size_t)c.out * sizeof(float));
        fill(c.X[s], (size_t)c.rows * c.in, -1, 1);
        fill(c.W[s], (size_t)c.in * c.out, -1, 1);
        fill(c.b[s], (size_t)c.out, -1, 1);
        fill(c.R[s], (size_t)c.rows * c.out, -1, 1);
    }
    c.X[0][0] = 0.0f; /* the zero-skip path */
    float *scratch = malloc((size_t)c.in * c.out * sizeof(float));
    bt_nn_linear_bwd_ref(S, c.rows, c.in, c.out, (const float **)c.X, (const float **)c.W,
                         (const float **)c.R, dX, dW, db, scratch);
    for (int s = 0; s < S; s++) {
        check_grad("linear dX", c.X[s], dX[s], c.rows * c.in, lin_f, &c, 1e-2f, 1e-3, 1e-3);
        check_grad("linear dW", c.W[s], dW[s], c.in * c.out, lin_f, &c, 1e-2f, 1e-3, 1e-3);
        check_grad("linear db", c.b[s], db[s], c.out, lin_f, &c, 1e-2f, 1e-3, 1e-3);
    }
    /* forward against a double reference, and dX may be skipped */
    float *Y[S];
    for (int s = 0; s < S; s++) Y[s] = malloc((size_t)c.rows * c.out * sizeof(float));
    bt_nn_linear_fwd_ref(S, c.rows, c.in, c.out, (const float **)c.X, (const float **)c.W,
                         (const float **)c.b, Y);
    double maxerr = 0;
    for (int s = 0; s < S; s++)
        for (int r = 0; r < c.rows; r++)
            for (int o = 0; o < c.out; o++) {
                double y = c.b[s][o];
                for (int k = 0; k < c.in; k++)
                    y += (double)c.X[s][r * c.in + k] * c.W[s][k * c.out + o];
                double e = fabs(y - Y[s][r * c.out + o]);
                if (e > maxerr) maxerr = e;
            }
    CHECK_MSG(maxerr < 1e-5, "linear forward max error %g", maxerr);
    bt_nn_linear_bwd_ref(S, c.rows, c.in, c.out, (const float **)c.X, (const float **)c.W,
                         (const float **)c.R, NULL, dW, db, scratch);
    for (int s = 0; s < S; s++) {
        free(c.X[s]);
        free(c.W[s]);
        free(c.b[s]);
        free(c.R[s]);
        free(dX[s]);
        free(dW[s]);
        free(db[s]);
        free(Y[s]);
    }
    free(scratch);
}

/* ---- activations ---------------------------------------------------------------------------- */

typedef struct act_ctx {
    bt_nn_act a;
    int n;
    float *x, *r;
} act_ctx;
static double act_f(void *c) {
    act_ctx *a = c;
    float *y = malloc((size_t)a->n * sizeof(float));
    bt_nn_act_fwd_ref(a->a, a->n, a->x, y);
    double L = 0;
    for (int i = 0; i < a->n; i++) L += (double)y[i] * a->r[i];
    free(y);
    return L;
}

static void test_act(void) {
    const char *names[] = {"relu", "tanh", "gelu"};
    for (int k = 0; k < 3; k++) {
        act_ctx c = {(bt_nn_act)bt_nn_act_from_name(names[k]), 64, NULL, NULL};
        CHECK(c.a == (bt_nn_act)k);
        c.x = malloc(64 * sizeof(float));
        c.r = malloc(64 * sizeof(float));
        float *dx = malloc(64 * sizeof(float));
        for (int i = 0; i < 64; i++) {
            float v = frand(0.05f, 3.0f); /* keep relu's kink out of the stencil */
            c.x[i] = urand() < 0.5 ? -v : v;
            c.r[i] = frand(-1, 1);
        }
        bt_nn_act_bwd_ref(c.a, 64, c.x, c.r, dx);
        check_grad(names[k], c.x, dx, 64, act_f, &c, 1e-2f, 2e-3, 5e-3);
        free(c.x);
        free(c.r);
        free(dx);
    }
    CHECK(bt_nn_act_from_name("swish") == -1);
    float x[3] = {-1.0f, 0.0f, 2.0f}, y[3];
    bt_nn_act_fwd_ref(BT_NN_ACT_GELU, 3, x, y);
    CHECK_NEAR(y[0], -0.15865525, 1e-6); /* x Phi(x) */
    CHECK_NEAR(y[2], 1.9544997, 1e-6);
}

/* ---- softmax cross-entropy and mse ---------------------------------------------------------- */

typedef struct ce_ctx {
    int rows, k;
    float *z[S];
    int32_t *y[S];
    float eps[S];
    int slot;
} ce_ctx;
static double ce_f(void *c) {
    ce_ctx *e = c;
    double loss[S];
    bt_nn_softmax_ce_ref(S, e->rows, e->k, (const float **)e->z, (const int32_t **)e->y, e->eps,
                         loss, NULL);
    return loss[e->slot];
}

static void test_softmax_ce(void) {
    ce_ctx c = {.rows = 2 + (int)(urand() * 5), .k = 2 + (int)(urand() * 6)};
    float *dz[S];
    for (int s = 0; s < S; s++) {
        c.z[s] = malloc((size_t)c.rows * c.k * sizeof(float));
        c.y[s] = malloc((size_t)c.rows * sizeof(int32_t));
        dz[s] = malloc((size_t)c.rows * c.k * sizeof(float));
        fill(c.z[s], (size_t)c.rows * c.k, -3, 3);
        for (int r = 0; r < c.rows; r++) c.y[s][r] = (int32_t)(urand() * c.k);
        c.eps[s] = s == 0 ? 0.0f : frand(0.0f, 0.3f);
    }
    c.z[1][0] = 80.0f; /* large logits must not overflow */
    double loss[S];
    bt_nn_softmax_ce_ref(S, c.rows, c.k, (const float **)c.z, (const int32_t **)c.y, c.eps, loss,
                         dz);
    for (int s = 0; s < S; s++) {
        /* value against a double computation */
        double L = 0;
        for (int r = 0; r < c.rows; r++) {
            const float *z = c.z[s] + r * c.k;
            double mx = z[0], sum = 0;
            for (int j = 1; j < c.k; j++) mx = z[j] > mx ? z[j] : mx;
            for (int j = 0; j < c.k; j++) sum += exp(z[j] - mx);
            for (int j = 0; j < c.k; j++) {
                double t = (j == c.y[s][r] ? 1.0 - c.eps[s] : 0.0) + c.eps[s] / c.k;
                L -= t * (z[j] - mx - log(sum));
            }
        }
        L /= c.rows;
        CHECK_MSG(fabs(L - loss[s]) < 1e-5 * (1 + fabs(L)), "ce loss %g vs %g", loss[s], L);
        c.slot = s;
        check_grad("softmax_ce", c.z[s], dz[s], c.rows * c.k, ce_f, &c, 1e-2f, 1e-3, 1e-2);
    }
    for (int s = 0; s < S; s++) {
        free(c.z[s]);
        free(c.y[s]);
        free(dz[s]);
    }
}

typedef struct mse_ctx {
    int rows;
    float *p[S], *t[S];
    int slot;
} mse_ctx;
static double mse_f(void *c) {
    mse_ctx *m = c;
    double loss[S];
    bt_nn_mse_ref(S, m->rows, (const float **)m->p, (const float **)m->t, loss, NULL);
    return loss[m->slot];
}

static void test_mse(void) {
    mse_ctx c = {.rows = 1 + (int)(urand() * 9)};
    float *d[S];
    for (int s = 0; s < S; s++) {
        c.p[s] = malloc((size_t)c.rows * sizeof(float));
        c.t[s] = malloc((size_t)c.rows * sizeof(float));
        d[s] = malloc((size_t)c.rows * sizeof(float));
        fill(c.p[s], (size_t)c.rows, -2, 2);
        fill(c.t[s], (size_t)c.rows, -2, 2);
    }
    double loss[S];
    bt_nn_mse_ref(S, c.rows, (const float **)c.p, (const float **)c.t, loss, d);
    for (int s = 0; s < S; s++) {
        double L = 0;
        for (int r = 0; r < c.rows; r++)
            L += ((double)c.p[s][r] - c.t[s][r]) * ((double)c.p[s][r] - c.t[s][r]);
        CHECK_NEAR(loss[s], L / c.rows, 1e-5);
        c.slot = s;
        check_grad("mse", c.p[s], d[s], c.rows, mse_f, &c, 1e-2f, 1e-3, 1e-3);
    }
    for (int s = 0; s < S; s++) {
        free(c.p[s]);
        free(c.t[s]);
        free(d[s]);
    }
}

/* ---- batch norm ----------------------------------------------------------------------------- */

typedef struct bn_ctx {
    int rows, c;
    float *x[S], *gam[S], *bet[S], *R[S], *rm[S], *rv[S];
} bn_ctx;
static double bn_f(void *cv) {
    bn_ctx *b = cv;
    float *xh[S], *is[S], *y[S];
    for (int s = 0; s < S; s++) {
        xh[s] = malloc((size_t)b->rows * b->c * sizeof(float));
        y[s] = malloc((size_t)b->rows * b->c * sizeof(float));
        is[s] = malloc((size_t)b->c * sizeof(float));
    }
    bt_nn_bn_train_fwd_ref(S, b->rows, b->c, 0.1f, 1e-5f, (const float **)b->x,
                           (const float **)b->gam, (const float **)b->bet, b->rm, b->rv, xh, is, y);
    double L = 0;
    for (int s = 0; s < S; s++) {
        for (int i = 0; i < b->rows * b->c; i++) L += (double)y[s][i] * b->R[s][i];
        free(xh[s]);
        free(y[s]);
        free(is[s]);
    }
    return L;
}

static void test_batchnorm(void) {
    bn_ctx c = {.rows = 3 + (int)(urand() * 6), .c = 1 + (int)(urand() * 5)};
    const size_t n = (size_t)c.rows * c.c;
    float *xh[S], *is[S], *y[S], *dx[S], *dg[S], *dbe[S];
    for (int s = 0; s < S; s++) {
        c.x[s] = malloc(n * sizeof(float));
        c.R[s] = malloc(n * sizeof(float));
        c.gam[s] = malloc((size_t)c.c * sizeof(float));
        c.bet[s] = malloc((size_t)c.c * sizeof(float));
        c.rm[s] = calloc((size_t)c.c, sizeof(float));
        c.rv[s] = malloc((size_t)c.c * sizeof(float));
        xh[s] = malloc(n * sizeof(float));
        y[s] = malloc(n * sizeof(float));
        dx[s] = malloc(n * sizeof(float));
        is[s] = malloc((size_t)c.c * sizeof(float));
        dg[s] = malloc((size_t)c.c * sizeof(float));
        dbe[s] = malloc((size_t)c.c * sizeof(float));
        fill(c.x[s], n, -2, 2);
        fill(c.R[s], n, -1, 1);
        fill(c.gam[s], (size_t)c.c, 0.5f, 1.5f);
        fill(c.bet[s], (size_t)c.c, -0.5f, 0.5f);
        for (int j = 0; j < c.c; j++) {
            c.rv[s][j] = 1.0f;
            /* a column with tiny variance has huge curvature: keep the stencil meaningful */
            c.x[s][j] = -1.8f;
            c.x[s][c.c + j] = 1.8f;
        }
    }
    bt_nn_bn_train_fwd_ref(S, c.rows, c.c, 0.1f, 1e-5f, (const float **)c.x, (const float **)c.gam,
                           (const float **)c.bet, c.rm, c.rv, xh, is, y);
    /* the running statistics after one update: 0.9 * init + 0.1 * (mean, unbiased var) */
    for (int s = 0; s < S; s++)
        for (int j = 0; j < c.c; j++) {
            double m = 0, v = 0;
            for (int r = 0; r < c.rows; r++) m += c.x[s][r * c.c + j];
            m /= c.rows;
            for (int r = 0; r < c.rows; r++)
                v += (c.x[s][r * c.c + j] - m) * (c.x[s][r * c.c + j] - m);
            v /= c.rows - 1;
            CHECK_NEAR(c.rm[s][j], 0.1 * m, 1e-5);
            CHECK_NEAR(c.rv[s][j], 0.9 + 0.1 * v, 1e-5);
        }
    /* eval mode with the batch's own statistics (biased) reproduces the train output */
    float *bm[S], *bv[S], *ye[S];
    for (int s = 0; s < S; s++) {
        bm[s] = malloc((size_t)c.c * sizeof(float));
        bv[s] = malloc((size_t)c.c * sizeof(float));
        ye[s] = malloc(n * sizeof(float));
        for (int j = 0; j < c.c; j++) {
            double m = 0, v = 0;
            for (int r = 0; r < c.rows; r++) m += c.x[s][r * c.c + j];
            m /= c.rows;
            for (int r = 0; r < c.rows; r++)
                v += (c.x[s][r * c.c + j] - m) * (c.x[s][r * c.c + j] - m);
            bm[s][j] = (float)m;
            bv[s][j] = (float)(v / c.rows);
        }
    }
    bt_nn_bn_eval_fwd_ref(S, c.rows, c.c, 1e-5f, (const float **)c.x, (const float **)c.gam,
                          (const float **)c.bet, (const float **)bm, (const float **)bv, ye);
    double maxd = 0;
    for (int s = 0; s < S; s++)
        for (size_t i = 0; i < n; i++)
            if (fabs(ye[s][i] - y[s][i]) > maxd) maxd = fabs(ye[s][i] - y[s][i]);
    CHECK_MSG(maxd < 1e-4, "bn eval vs train output %g", maxd);
    bt_nn_bn_bwd_ref(S, c.rows, c.c, (const float **)xh, (const float **)is, (const float **)c.gam,
                     (const float **)c.R, dx, dg, dbe);
    for (int s = 0; s < S; s++) {
        check_grad("bn dx", c.x[s], dx[s], (int)n, bn_f, &c, 2e-3f, 2e-3, 1e-2);
        check_grad("bn dgamma", c.gam[s], dg[s], c.c, bn_f, &c, 2e-3f, 2e-3, 1e-2);
        check_grad("bn dbeta", c.bet[s], dbe[s], c.c, bn_f, &c, 2e-3f, 2e-3, 1e-2);
    }
    for (int s = 0; s < S; s++) {
        free(c.x[s]);
        free(c.R[s]);
        free(c.gam[s]);
        free(c.bet[s]);
        free(c.rm[s]);
        free(c.rv[s]);
        free(xh[s]);
        free(y[s]);
        free(dx[s]);
        free(is[s]);
        free(dg[s]);
        free(dbe[s]);
        free(bm[s]);
        free(bv[s]);
        free(ye[s]);
    }
}

/* ---- dropout -------------------------------------------------------------------------------- */

static void test_dropout(void) {
    enum { N = 20000 };
    float *x[S], *y[S], *m[S], *m2[S], *dx[S];
    uint64_t key[S];
    float p[S] = {0.0f, 0.25f, 0.6f};
    uint32_t ep[S] = {0, 3, 3};
    for (int s = 0; s < S; s++) {
        x[s] = malloc(N * sizeof(float));
        y[s] = malloc(N * sizeof(float));
        m[s] = malloc(N * sizeof(float));
        m2[s] = malloc(N * sizeof(float));
        dx[s] = malloc(N * sizeof(float));
        fill(x[s], N, -1, 1);
        key[s] = bt_philox_key((uint64_t)urand() * 1000, (uint64_t)s);
    }
    bt_nn_dropout_fwd_ref(S, N, key, p, ep, 7, 1, (const float **)x, y, m);
    for (int s = 0; s < S; s++) {
        int kept = 0, shape_ok = 1;
        for (int i = 0; i < N; i++) {
            float scale = 1.0f / (1.0f - p[s]);
            if (m[s][i] != 0.0f) kept++;
            shape_ok &= m[s][i] == 0.0f || m[s][i] == scale;
            shape_ok &= y[s][i] == x[s][i] * m[s][i];
        }
        CHECK(shape_ok);
        double rate = (double)kept / N, want = 1.0 - p[s];
        CHECK_MSG(fabs(rate - want) < 0.02, "slot %d keeps %.4f, want %.4f", s, rate, want);
    }
    /* the mask is a function of (key, epoch, step, layer, element): same call, same mask; a
     * single slot alone draws what it drew in the batch; another step or layer draws anew */
    bt_nn_dropout_fwd_ref(1, N, key + 2, p + 2, ep + 2, 7, 1, (const float **)x + 2, y + 2, m2 + 2);
    CHECK(memcmp(m[2], m2[2], N * sizeof(float)) == 0);
    bt_nn_dropout_fwd_ref(1, N, key + 2, p + 2, ep + 2, 8, 1, (const float **)x + 2, y + 2, m2 + 2);
    CHECK(memcmp(m[2], m2[2], N * sizeof(float)) != 0);
    bt_nn_dropout_fwd_ref(1, N, key + 2, p + 2, ep + 2, 7, 2, (const float **)x + 2, y + 2, m2 + 2);
    CHECK(memcmp(m[2], m2[2], N * sizeof(float)) != 0);
    bt_nn_dropout_bwd_ref(S, N, (const float **)m, (const float **)x, dx);
    int ok = 1;
    for (int s = 0; s < S; s++)
        for (int i = 0; i < N; i++) ok &= dx[s][i] == x[s][i] * m[s][i];
    CHECK(ok);
    for (int s = 0; s < S; s++) {
        free(x[s]);
        free(y[s]);
        free(m[s]);
        free(m2[s]);
        free(dx[s]);
    }
}

/* ---- the whole mlp -------------------------------------------------------------------------- */

typedef struct mlp_ctx {
    bt_pack *p;
    bt_mlp_slot *s;
    const int32_t *idx;
    int rows;
} mlp_ctx;
static double mlp_f(void *c) {
    mlp_ctx *m = c;
    bt_mlp_fwd_bwd(m->p, &m->s, 1, &m->idx, m->rows, 5);
    return m->p->loss[0];
}

static void test_mlp(const char *objective, const char *act, int bn, double dropout, int depth) {
    enum { NR = 40, NF = 4 };
    bt_dataset tr = {0};
    tr.n_rows = NR;
    tr.n_features = NF;
    tr.X = malloc(NR * NF * sizeof(float));
    tr.y = malloc(NR * sizeof(float));
    int reg = strcmp(objective, "regression") == 0;
    fill(tr.X, NR * NF, -2, 2);
    for (int i = 0; i < NR; i++) tr.y[i] = reg ? frand(-3, 5) : (float)(i % 3);
    bt_model_data data = {.train = &tr,
                          .valid = NULL,
                          .task = reg ? BT_TASK_REGRESSION : BT_TASK_MULTICLASS,
                          .n_classes = reg ? 0 : 3,
                          .threads = 1};
    bt_value hp[BT_MLP_N_PARAMS];
    for (int i = 0; i < BT_MLP_N_PARAMS; i++) hp[i] = bt_mlp_params[i].def;
    hp[BT_MLP_OBJECTIVE] = bt_value_string(objective);
    hp[BT_MLP_WIDTH] = bt_value_int(5);
    hp[BT_MLP_DEPTH] = bt_value_int(depth);
    hp[BT_MLP_ACTIVATION] = bt_value_string(act);
    hp[BT_MLP_BATCH_NORM] = bt_value_bool(bn);
    hp[BT_MLP_BATCH_SIZE] = bt_value_int(16);
    hp[BT_MLP_DROPOUT] = bt_value_float(dropout);
    hp[BT_MLP_LABEL_SMOOTHING] = bt_value_float(reg ? 0.0 : 0.1);
    bt_hparams h = {hp};
    bt_pack *p = NULL;
    CHECK_OK(bt_mlp_cpu_packs.pack_init(&p, &data, &h, 2));
    if (!p) return;
    CHECK_OK(bt_mlp_cpu_packs.slot_start(p, 1, &h, bt_philox_key(11, (uint64_t)(urand() * 1e6))));
    int32_t idx[16];
    for (int r = 0; r < 16; r++) idx[r] = (int32_t)(urand() * NR);
    mlp_ctx c = {p, p->slots[1], idx, 16};
    c.s->epoch = 2; /* dropout masks of (epoch 2, step 5) */
    mlp_f(&c);
    int64_t P = p->n_params;
    float *g = malloc((size_t)P * sizeof(float));
    memcpy(g, c.s->g, (size_t)P * sizeof(float));
    char what[96];
    snprintf(what, sizeof what, "mlp %s %s bn=%d dropout=%g depth=%d", objective, act, bn, dropout,
             depth);
    check_grad(what, c.s->w, g, (int)P, mlp_f, &c, 2e-3f, 2e-3, 2e-2);
    free(g);
    bt_mlp_cpu_packs.pack_free(p);
    bt_mlp_family.data_free(&data);
    bt_dataset_free(&tr);
}

int main(void) {
    const char *seed = getenv("BT_TEST_SEED"); /* to replay a failure */
    bt_gc_rng = seed ? strtoull(seed, NULL, 10) : (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull | 1;
    printf("seed %llu\n", (unsigned long long)bt_gc_rng);
    for (int rep = 0; rep < 3; rep++) {
        test_linear();
        test_act();
        test_softmax_ce();
        test_mse();
        test_batchnorm();
    }
    test_dropout();
    test_mlp("classification", "gelu", 1, 0.3, 2);
    test_mlp("classification", "tanh", 0, 0.0, 3);
    test_mlp("classification", "gelu", 0, 0.0, 0);
    test_mlp("regression", "tanh", 1, 0.2, 1);
    return bt_test_finish("test_nn_grad");
}
