/* The resnet building blocks against finite differences and direct double-precision loops:
 * NHWC convolution (3x3 and 1x1, stride 1 and 2, with and without padding) forward and backward,
 * global average pooling, the residual add, and one whole basic block (conv, batch norm over
 * rows * h * w, activation, conv, a strided 1x1 shortcut, residual add, pooling, linear, softmax
 * cross-entropy) composed from the kernels, all on fresh random inputs over several slots. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/nn_act.h"
#include "kernels/nn_batchnorm.h"
#include "kernels/nn_conv2d.h"
#include "kernels/nn_linear.h"
#include "kernels/nn_pool.h"
#include "kernels/nn_residual.h"
#include "kernels/nn_softmax_ce.h"
#include "tests/bt_test.h"
#include "tests/nn_gradcheck.h"

static float *rnd(size_t n, float lo, float hi) {
    float *x = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)urand();
    return x;
}

#define S 2

/* ---- convolution ---------------------------------------------------------------------------- */

typedef struct conv_ctx {
    bt_nn_conv2d_shape sh;
    float *X[S], *W[S], *b[S], *R[S];
    size_t nx, nw, ny;
} conv_ctx;

static double conv_f(void *cv) {
    conv_ctx *c = cv;
    float *Y[S];
    for (int s = 0; s < S; s++) Y[s] = malloc(c->ny * sizeof(float));
    bt_nn_conv2d_fwd_ref(S, &c->sh, (const float **)c->X, (const float **)c->W,
                         (const float **)c->b, Y);
    double L = 0;
    for (int s = 0; s < S; s++) {
        for (size_t i = 0; i < c->ny; i++) L += (double)Y[s][i] * c->R[s][i];
        free(Y[s]);
    }
    return L;
}

static void test_conv(int k, int stride, int pad) {
    conv_ctx c;
    c.sh = (bt_nn_conv2d_shape){.rows = 1 + (int)(urand() * 2),
                                .h = 3 + (int)(urand() * 4),
                                .w = 3 + (int)(urand() * 4),
                                .c_in = 1 + (int)(urand() * 3),
                                .c_out = 1 + (int)(urand() * 3),
                                .k = k,
                                .stride = stride,
                                .pad = pad};
    const int OH = bt_nn_conv2d_out_h(&c.sh), OW = bt_nn_conv2d_out_w(&c.sh);
    c.nx = (size_t)c.sh.rows * c.sh.h * c.sh.w * c.sh.c_in;
    c.nw = (size_t)k * k * c.sh.c_in * c.sh.c_out;
    c.ny = (size_t)c.sh.rows * OH * OW * c.sh.c_out;
    float *dX[S], *dW[S], *db[S], *Y[S];
    for (int s = 0; s < S; s++) {
        c.X[s] = rnd(c.nx, -1, 1);
        c.W[s] = rnd(c.nw, -1, 1);
        c.b[s] = rnd((size_t)c.sh.c_out, -1, 1);
        c.R[s] = rnd(c.ny, -1, 1);
        dX[s] = malloc(c.nx * sizeof(float));
        dW[s] = malloc(c.nw * sizeof(float));
        db[s] = malloc((size_t)c.sh.c_out * sizeof(float));
        Y[s] = malloc(c.ny * sizeof(float));
    }
    /* forward against direct double loops */
    bt_nn_conv2d_fwd_ref(S, &c.sh, (const float **)c.X, (const float **)c.W, (const float **)c.b,
                         Y);
    double maxerr = 0;
    for (int s = 0; s < S; s++)
        for (int r = 0; r < c.sh.rows; r++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++)
                    for (int co = 0; co < c.sh.c_out; co++) {
                        double y = c.b[s][co];
                        for (int kh = 0; kh < k; kh++)
                            for (int kw = 0; kw < k; kw++)
                                for (int ci = 0; ci < c.sh.c_in; ci++) {
                                    int ih = oh * stride - pad + kh, iw = ow * stride - pad + kw;
                                    if (ih < 0 || iw < 0 || ih >= c.sh.h || iw >= c.sh.w) continue;
                                    y += (double)
                                             c.X[s][((r * c.sh.h + ih) * c.sh.w + iw) * c.sh.c_in +
                                                    ci] *
                                         c.W[s][((kh * k + kw) * c.sh.c_in + ci) * c.sh.c_out + co];
                                }
                        double e = fabs(y - Y[s][((r * OH + oh) * OW + ow) * c.sh.c_out + co]);
                        if (e > maxerr) maxerr = e;
                    }
    CHECK_MSG(maxerr < 1e-5, "conv k%d s%d p%d forward max error %g", k, stride, pad, maxerr);
    float *scratch = malloc(c.nw * sizeof(float));
    bt_nn_conv2d_bwd_ref(S, &c.sh, (const float **)c.X, (const float **)c.W, (const float **)c.R,
                         dX, dW, db, scratch);
    char what[64];
    for (int s = 0; s < S; s++) {
        snprintf(what, sizeof what, "conv k%d s%d p%d dX", k, stride, pad);
        check_grad(what, c.X[s], dX[s], (int)c.nx, conv_f, &c, 1e-2f, 1e-3, 1e-3);
        snprintf(what, sizeof what, "conv k%d s%d p%d dW", k, stride, pad);
        check_grad(what, c.W[s], dW[s], (int)c.nw, conv_f, &c, 1e-2f, 1e-3, 1e-3);
        snprintf(what, sizeof what, "conv k%d s%d p%d db", k, stride, pad);
        check_grad(what, c.b[s], db[s], c.sh.c_out, conv_f, &c, 1e-2f, 1e-3, 1e-3);
    }
    /* no bias, no dX */
    float *nob[S] = {NULL, NULL};
    bt_nn_conv2d_fwd_ref(S, &c.sh, (const float **)c.X, (const float **)c.W, (const float **)nob,
                         Y);
    bt_nn_conv2d_bwd_ref(S, &c.sh, (const float **)c.X, (const float **)c.W, (const float **)c.R,
                         NULL, dW, NULL, scratch);
    free(scratch);
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
}

/* ---- pooling and residual ------------------------------------------------------------------- */

typedef struct gap_ctx {
    int rows, hw, c;
    float *x[S], *R[S];
} gap_ctx;
static double gap_f(void *cv) {
    gap_ctx *g = cv;
    float *y[S];
    for (int s = 0; s < S; s++) y[s] = malloc((size_t)g->rows * g->c * sizeof(float));
    bt_nn_gap_fwd_ref(S, g->rows, g->hw, g->c, (const float **)g->x, y);
    double L = 0;
    for (int s = 0; s < S; s++) {
        for (int i = 0; i < g->rows * g->c; i++) L += (double)y[s][i] * g->R[s][i];
        free(y[s]);
    }
    return L;
}

static void test_gap_residual(void) {
    gap_ctx g = {2, 1 + (int)(urand() * 9), 1 + (int)(urand() * 4), {0}, {0}};
    const size_t nx = (size_t)g.rows * g.hw * g.c;
    float *dx[S], *y[S];
    for (int s = 0; s < S; s++) {
        g.x[s] = rnd(nx, -1, 1);
        g.R[s] = rnd((size_t)g.rows * g.c, -1, 1);
        dx[s] = malloc(nx * sizeof(float));
        y[s] = malloc((size_t)g.rows * g.c * sizeof(float));
    }
    bt_nn_gap_fwd_ref(S, g.rows, g.hw, g.c, (const float **)g.x, y);
    double m = 0;
    for (int p = 0; p < g.hw; p++) m += g.x[1][(size_t)(g.hw + p) * g.c]; /* row 1, channel 0 */
    CHECK_NEAR(y[1][g.c], m / g.hw, 1e-6);
    bt_nn_gap_bwd_ref(S, g.rows, g.hw, g.c, (const float **)g.R, dx);
    for (int s = 0; s < S; s++)
        check_grad("gap", g.x[s], dx[s], (int)nx, gap_f, &g, 1e-2f, 1e-4, 1e-3);
    /* residual: y = x + shortcut; both branches receive dy, the shortcut's accumulated */
    float *a[S], *sc[S], *out[S], *da[S], *dsc[S];
    for (int s = 0; s < S; s++) {
        a[s] = rnd(nx, -1, 1);
        sc[s] = rnd(nx, -1, 1);
        out[s] = malloc(nx * sizeof(float));
        da[s] = malloc(nx * sizeof(float));
        dsc[s] = calloc(nx, sizeof(float));
        dsc[s][0] = 0.5f;
    }
    bt_nn_residual_fwd_ref(S, (int64_t)nx, (const float **)a, (const float **)sc, out);
    bt_nn_residual_bwd_ref(S, (int64_t)nx, (const float **)g.x, da, dsc);
    int ok = 1;
    for (int s = 0; s < S; s++)
        for (size_t i = 0; i < nx; i++) {
            ok &= out[s][i] == a[s][i] + sc[s][i];
            ok &= da[s][i] == g.x[s][i];
            ok &= dsc[s][i] == (i == 0 ? 0.5f + g.x[s][i] : g.x[s][i]);
        }
    CHECK(ok);
    for (int s = 0; s < S; s++) {
        free(g.x[s]);
        free(g.R[s]);
        free(dx[s]);
        free(y[s]);
        free(a[s]);
        free(sc[s]);
        free(out[s]);
        free(da[s]);
        free(dsc[s]);
    }
}

/* ---- one basic block, composed ---------------------------------------------------------------
 * x (N x 6 x 6 x C) -> conv3x3 s2 p1 (C -> D) -> bn -> act -> conv3x3 s1 p1 (D -> D) -> bn
 *   + conv1x1 s2 (C -> D) shortcut -> act -> global average pool -> linear (D -> K) -> CE.
 * act is gelu: relu's kinks (checked on their own in test_nn_grad) would put finite differences
 * of so small a block across a kink too often. */

enum { N = 3, HH = 6, C = 2, D = 3, K = 4, OH = 3 };

typedef struct block {
    float *x, *w1, *g1, *b1, *w2, *g2, *b2, *ws, *wl, *bl;
    int32_t y[N];
    /* activations */
    float z1[N * OH * OH * D], xh1[N * OH * OH * D], is1[D], u1[N * OH * OH * D],
        a1[N * OH * OH * D];
    float z2[N * OH * OH * D], xh2[N * OH * OH * D], is2[D], u2[N * OH * OH * D];
    float zs[N * OH * OH * D], r[N * OH * OH * D], a2[N * OH * OH * D], p[N * D], lo[N * K];
    float rm[2][D], rv[2][D];
} block;

static const bt_nn_conv2d_shape c1 = {N, HH, HH, C, D, 3, 2, 1};
static const bt_nn_conv2d_shape c2 = {N, OH, OH, D, D, 3, 1, 1};
static const bt_nn_conv2d_shape cs = {N, HH, HH, C, D, 1, 2, 0};

#define P1(x) ((const float *const[]){(x)})
#define Q1(x) ((float *const[]){(x)})

static double block_fwd(block *b) {
    const int px = N * OH * OH;
    bt_nn_conv2d_fwd_ref(1, &c1, P1(b->x), P1(b->w1), NULL, Q1(b->z1));
    bt_nn_bn_train_fwd_ref(1, px, D, 0.1f, 1e-5f, P1(b->z1), P1(b->g1), P1(b->b1), Q1(b->rm[0]),
                           Q1(b->rv[0]), Q1(b->xh1), Q1(b->is1), Q1(b->u1));
    bt_nn_act_fwd_ref(BT_NN_ACT_GELU, px * D, b->u1, b->a1);
    bt_nn_conv2d_fwd_ref(1, &c2, P1(b->a1), P1(b->w2), NULL, Q1(b->z2));
    bt_nn_bn_train_fwd_ref(1, px, D, 0.1f, 1e-5f, P1(b->z2), P1(b->g2), P1(b->b2), Q1(b->rm[1]),
                           Q1(b->rv[1]), Q1(b->xh2), Q1(b->is2), Q1(b->u2));
    bt_nn_conv2d_fwd_ref(1, &cs, P1(b->x), P1(b->ws), NULL, Q1(b->zs));
    bt_nn_residual_fwd_ref(1, px * D, P1(b->u2), P1(b->zs), Q1(b->r));
    bt_nn_act_fwd_ref(BT_NN_ACT_GELU, px * D, b->r, b->a2);
    bt_nn_gap_fwd_ref(1, N, OH * OH, D, P1(b->a2), Q1(b->p));
    bt_nn_linear_fwd_ref(1, N, D, K, P1(b->p), P1(b->wl), P1(b->bl), Q1(b->lo));
    double loss;
    const int32_t *lab[1] = {b->y};
    float smooth = 0.1f;
    bt_nn_softmax_ce_ref(1, N, K, P1(b->lo), lab, &smooth, &loss, NULL);
    return loss;
}

static double block_f(void *b) {
    return block_fwd(b);
}

static void test_block(void) {
    block *b = calloc(1, sizeof *b);
    b->x = rnd(N * HH * HH * C, -1, 1);
    b->w1 = rnd(9 * C * D, -0.5f, 0.5f);
    b->g1 = rnd(D, 0.5f, 1.5f);
    b->b1 = rnd(D, -0.2f, 0.2f);
    b->w2 = rnd(9 * D * D, -0.5f, 0.5f);
    b->g2 = rnd(D, 0.5f, 1.5f);
    b->b2 = rnd(D, -0.2f, 0.2f);
    b->ws = rnd(C * D, -0.5f, 0.5f);
    b->wl = rnd(D * K, -1, 1);
    b->bl = rnd(K, -0.2f, 0.2f);
    for (int i = 0; i < N; i++) b->y[i] = (int32_t)(urand() * K);
    for (int j = 0; j < D; j++) b->rv[0][j] = b->rv[1][j] = 1.0f;
    block_fwd(b);
    /* backward, composed from the kernels */
    const int px = N * OH * OH;
    float dlo[N * K], dp[N * D], da2[N * OH * OH * D], dr[N * OH * OH * D], dsc[N * OH * OH * D];
    float du1[N * OH * OH * D], dwl[D * K], dbl[K], dw2[9 * D * D], dws[C * D], dw1[9 * C * D];
    float dg1[D], db1[D], dg2[D], db2[D], dx_sc[N * HH * HH * C], dx_main[N * HH * HH * C];
    float scratch[9 * D * D];
    double loss;
    const int32_t *lab[1] = {b->y};
    float smooth = 0.1f;
    bt_nn_softmax_ce_ref(1, N, K, P1(b->lo), lab, &smooth, &loss, Q1(dlo));
    bt_nn_linear_bwd_ref(1, N, D, K, P1(b->p), P1(b->wl), P1(dlo), Q1(dp), Q1(dwl), Q1(dbl),
                         scratch);
    bt_nn_gap_bwd_ref(1, N, OH * OH, D, P1(dp), Q1(da2));
    bt_nn_act_bwd_ref(BT_NN_ACT_GELU, px * D, b->r, da2, dr);
    memset(dsc, 0, sizeof dsc);
    bt_nn_residual_bwd_ref(1, px * D, P1(dr), NULL, Q1(dsc)); /* dr is also du2 */
    bt_nn_conv2d_bwd_ref(1, &cs, P1(b->x), P1(b->ws), P1(dsc), Q1(dx_sc), Q1(dws), NULL, scratch);
    bt_nn_bn_bwd_ref(1, px, D, P1(b->xh2), P1(b->is2), P1(b->g2), P1(dr), Q1(dr), Q1(dg2), Q1(db2));
    float da1[N * OH * OH * D];
    bt_nn_conv2d_bwd_ref(1, &c2, P1(b->a1), P1(b->w2), P1(dr), Q1(da1), Q1(dw2), NULL, scratch);
    bt_nn_act_bwd_ref(BT_NN_ACT_GELU, px * D, b->u1, da1, du1);
    bt_nn_bn_bwd_ref(1, px, D, P1(b->xh1), P1(b->is1), P1(b->g1), P1(du1), Q1(du1), Q1(dg1),
                     Q1(db1));
    bt_nn_conv2d_bwd_ref(1, &c1, P1(b->x), P1(b->w1), P1(du1), Q1(dx_main), Q1(dw1), NULL, scratch);
    for (int i = 0; i < N * HH * HH * C; i++) dx_main[i] += dx_sc[i];
    const float h = 1e-3f;
    const double at = 2e-3, rt = 3e-2;
    check_grad("block dx", b->x, dx_main, N * HH * HH * C, block_f, b, h, at, rt);
    check_grad("block dw1", b->w1, dw1, 9 * C * D, block_f, b, h, at, rt);
    check_grad("block dgamma1", b->g1, dg1, D, block_f, b, h, at, rt);
    check_grad("block dbeta1", b->b1, db1, D, block_f, b, h, at, rt);
    check_grad("block dw2", b->w2, dw2, 9 * D * D, block_f, b, h, at, rt);
    check_grad("block dgamma2", b->g2, dg2, D, block_f, b, h, at, rt);
    check_grad("block dbeta2", b->b2, db2, D, block_f, b, h, at, rt);
    check_grad("block dws", b->ws, dws, C * D, block_f, b, h, at, rt);
    check_grad("block dwl", b->wl, dwl, D * K, block_f, b, h, at, rt);
    check_grad("block dbl", b->bl, dbl, K, block_f, b, h, at, rt);
    free(b->x);
    free(b->w1);
    free(b->g1);
    free(b->b1);
    free(b->w2);
    free(b->g2);
    free(b->b2);
    free(b->ws);
    free(b->wl);
    free(b->bl);
    free(b);
}

int main(void) {
    const char *seed = getenv("BT_TEST_SEED");
    bt_gc_rng = seed ? strtoull(seed, NULL, 10) : (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull | 1;
    printf("seed %llu\n", (unsigned long long)bt_gc_rng);
    test_conv(3, 1, 1);
    test_conv(3, 2, 1);
    test_conv(3, 1, 0);
    test_conv(1, 1, 0);
    test_conv(1, 2, 0);
    test_gap_residual();
    test_block();
    return bt_test_finish("test_nn_conv");
}
