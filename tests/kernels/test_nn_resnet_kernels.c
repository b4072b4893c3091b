/* The CPU packs' fast kernels against the references on fresh random shapes: the tiled NHWC
 * convolution (3x3 and 1x1, stride 1 and 2, padding, channel counts off the 4 x 16 tile) gives the
 * reference's Y, dW and db exactly and its dX to rounding (channel counts that are multiples of 16
 * included, which take the AVX-512 tiles on CPUs that have them), the row-major batch norm gives
 * the reference's numbers exactly, and both give the same bits on 1 and 3 threads. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/nn_batchnorm.h"
#include "kernels/nn_conv2d.h"
#include "tests/bt_test.h"
#include "tests/nn_gradcheck.h"

#define S 3

static float *rnd(size_t n, float lo, float hi, double zero_frac) {
    float *x = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++)
        x[i] = urand() < zero_frac ? 0.0f : lo + (hi - lo) * (float)urand();
    return x;
}

/* 0 when a and b hold equal numbers (+0 == -0), else the first differing index + 1. */
static size_t first_diff(const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!(a[i] == b[i])) return i + 1;
    return 0;
}

/* ci, co: channel counts, 0 = random (multiples of 16 take the AVX-512 tiles where available) */
static void test_conv(int k, int stride, int pad, int ci, int co) {
    bt_nn_conv2d_shape sh = {.rows = 1 + (int)(urand() * 3),
                             .h = 2 + (int)(urand() * 9),
                             .w = 2 + (int)(urand() * 9),
                             .c_in = ci ? ci : 1 + (int)(urand() * 20),
                             .c_out = co ? co : 1 + (int)(urand() * 36),
                             .k = k,
                             .stride = stride,
                             .pad = pad};
    if (sh.h + 2 * pad < k) sh.h = k;
    if (sh.w + 2 * pad < k) sh.w = k;
    const int OH = bt_nn_conv2d_out_h(&sh), OW = bt_nn_conv2d_out_w(&sh);
    const size_t nx = (size_t)sh.rows * sh.h * sh.w * sh.c_in;
    const size_t nw = (size_t)k * k * sh.c_in * sh.c_out;
    const size_t ny = (size_t)sh.rows * OH * OW * sh.c_out;
    float *X[S], *W[S], *b[S], *dY[S], *Y1[S], *Y2[S], *Y3[S];
    float *dX1[S], *dX2[S], *dX3[S], *dW1[S], *dW2[S], *dW3[S], *db1[S], *db2[S], *db3[S];
    for (int s = 0; s < S; s++) {
        X[s] = rnd(nx, -1, 1, 0.3); /* relu-like zeros */
        W[s] = rnd(nw, -1, 1, 0);
        b[s] = rnd((size_t)sh.c_out, -1, 1, 0);
        dY[s] = rnd(ny, -1, 1, 0.2);
        Y1[s] = malloc(ny * sizeof(float));
        Y2[s] = malloc(ny * sizeof(float));
        Y3[s] = malloc(ny * sizeof(float));
        dX1[s] = malloc(nx * sizeof(float));
        dX2[s] = malloc(nx * sizeof(float));
        dX3[s] = malloc(nx * sizeof(float));
        dW1[s] = malloc(nw * sizeof(float));
        dW2[s] = malloc(nw * sizeof(float));
        dW3[s] = malloc(nw * sizeof(float));
        db1[s] = malloc((size_t)sh.c_out * sizeof(float));
        db2[s] = malloc((size_t)sh.c_out * sizeof(float));
        db3[s] = malloc((size_t)sh.c_out * sizeof(float));
    }
    float *scratch = malloc(S * nw * sizeof(float));
    const float **cX = (const float **)X, **cW = (const float **)W, **cb = (const float **)b;
    const float **cdY = (const float **)dY;
    int with_bias = urand() < 0.5;
    bt_nn_conv2d_fwd_ref(S, &sh, cX, cW, with_bias ? cb : NULL, Y1);
    bt_nn_conv2d_fwd_cpu(S, &sh, cX, cW, with_bias ? cb : NULL, Y2, 1);
    bt_nn_conv2d_fwd_cpu(S, &sh, cX, cW, with_bias ? cb : NULL, Y3, 3);
    bt_nn_conv2d_bwd_ref(S, &sh, cX, cW, cdY, dX1, dW1, db1, scratch);
    bt_nn_conv2d_bwd_cpu(S, &sh, cX, cW, cdY, dX2, dW2, db2, scratch, 1);
    bt_nn_conv2d_bwd_cpu(S, &sh, cX, cW, cdY, dX3, dW3, db3, scratch, 3);
    char what[128];
    snprintf(what, sizeof what, "conv k%d s%d p%d rows %d %dx%d c %d->%d", k, stride, pad, sh.rows,
             sh.h, sh.w, sh.c_in, sh.c_out);
    for (int s = 0; s < S; s++) {
        CHECK_MSG(first_diff(Y1[s], Y2[s], ny) == 0, "%s: Y differs from the reference", what);
        CHECK_MSG(memcmp(Y2[s], Y3[s], ny * sizeof(float)) == 0, "%s: Y 1 vs 3 threads", what);
        CHECK_MSG(first_diff(dW1[s], dW2[s], nw) == 0, "%s: dW differs from the reference", what);
        CHECK_MSG(first_diff(db1[s], db2[s], (size_t)sh.c_out) == 0, "%s: db differs", what);
        CHECK_MSG(memcmp(dW2[s], dW3[s], nw * sizeof(float)) == 0, "%s: dW 1 vs 3 threads", what);
        CHECK_MSG(memcmp(dX2[s], dX3[s], nx * sizeof(float)) == 0, "%s: dX 1 vs 3 threads", what);
        double worst = 0;
        for (size_t i = 0; i < nx; i++) {
            double e = fabs((double)dX1[s][i] - dX2[s][i]) / (1.0 + fabs((double)dX1[s][i]));
            if (e > worst) worst = e;
        }
        CHECK_MSG(worst < 1e-5, "%s: dX relative error %g", what, worst);
    }
    /* dX may be skipped */
    bt_nn_conv2d_bwd_cpu(S, &sh, cX, cW, cdY, NULL, dW3, NULL, scratch, 2);
    for (int s = 0; s < S; s++) CHECK(memcmp(dW2[s], dW3[s], nw * sizeof(float)) == 0);
    for (int s = 0; s < S; s++) {
        free(X[s]), free(W[s]), free(b[s]), free(dY[s]), free(Y1[s]), free(Y2[s]), free(Y3[s]);
        free(dX1[s]), free(dX2[s]), free(dX3[s]), free(dW1[s]), free(dW2[s]), free(dW3[s]);
        free(db1[s]), free(db2[s]), free(db3[s]);
    }
    free(scratch);
}

static void test_bn(void) {
    const int rows = 1 + (int)(urand() * 300), c = 1 + (int)(urand() * 40);
    const size_t n = (size_t)rows * c;
    float *x[S], *g[S], *be[S], *rm[2][S], *rv[2][S], *xh[2][S], *is[2][S], *y[2][S];
    float *dy[S], *dx[2][S], *dg[2][S], *db[2][S];
    for (int s = 0; s < S; s++) {
        x[s] = rnd(n, -3, 5, 0.1);
        g[s] = rnd((size_t)c, 0.5f, 2, 0);
        be[s] = rnd((size_t)c, -1, 1, 0);
        dy[s] = rnd(n, -1, 1, 0);
        for (int v = 0; v < 2; v++) {
            rm[v][s] = rnd((size_t)c, -1, 1, 0);
            rv[v][s] = malloc((size_t)c * sizeof(float));
            memcpy(rm[v][s], rm[0][s], (size_t)c * sizeof(float));
            for (int j = 0; j < c; j++) rv[v][s][j] = 1.0f + 0.25f * (float)j;
            xh[v][s] = malloc(n * sizeof(float));
            is[v][s] = malloc((size_t)c * sizeof(float));
            y[v][s] = malloc(n * sizeof(float));
            dx[v][s] = malloc(n * sizeof(float));
            dg[v][s] = malloc((size_t)c * sizeof(float));
            db[v][s] = malloc((size_t)c * sizeof(float));
        }
    }
    const float **cx = (const float **)x, **cg = (const float **)g, **cb = (const float **)be;
    bt_nn_bn_train_fwd_ref(S, rows, c, 0.1f, 1e-5f, cx, cg, cb, rm[0], rv[0], xh[0], is[0], y[0]);
    bt_nn_bn_train_fwd_cpu(S, rows, c, 0.1f, 1e-5f, cx, cg, cb, rm[1], rv[1], xh[1], is[1], y[1],
                           3);
    for (int s = 0; s < S; s++) {
        CHECK(memcmp(y[0][s], y[1][s], n * sizeof(float)) == 0);
        CHECK(memcmp(xh[0][s], xh[1][s], n * sizeof(float)) == 0);
        CHECK(memcmp(is[0][s], is[1][s], (size_t)c * sizeof(float)) == 0);
        CHECK(memcmp(rm[0][s], rm[1][s], (size_t)c * sizeof(float)) == 0);
        CHECK(memcmp(rv[0][s], rv[1][s], (size_t)c * sizeof(float)) == 0);
    }
    bt_nn_bn_eval_fwd_ref(S, rows, c, 1e-5f, cx, cg, cb, (const float **)rm[0],
                          (const float **)rv[0], y[0]);
    bt_nn_bn_eval_fwd_cpu(S, rows, c, 1e-5f, cx, cg, cb, (const float **)rm[0],
                          (const float **)rv[0], y[1], 2);
    for (int s = 0; s < S; s++) CHECK(memcmp(y[0][s], y[1][s], n * sizeof(float)) == 0);
    bt_nn_bn_bwd_ref(S, rows, c, (const float **)xh[0], (const float **)is[0], cg,
                     (const float **)dy, dx[0], dg[0], db[0]);
    for (int s = 0; s < S; s++) memcpy(dx[1][s], dy[s], n * sizeof(float)); /* in place */
    bt_nn_bn_bwd_cpu(S, rows, c, (const float **)xh[0], (const float **)is[0], cg,
                     (const float **)dx[1], dx[1], dg[1], db[1], 3);
    for (int s = 0; s < S; s++) {
        CHECK(memcmp(dx[0][s], dx[1][s], n * sizeof(float)) == 0);
        CHECK(memcmp(dg[0][s], dg[1][s], (size_t)c * sizeof(float)) == 0);
        CHECK(memcmp(db[0][s], db[1][s], (size_t)c * sizeof(float)) == 0);
    }
    for (int s = 0; s < S; s++) {
        free(x[s]), free(g[s]), free(be[s]), free(dy[s]);
        for (int v = 0; v < 2; v++) {
            free(rm[v][s]), free(rv[v][s]), free(xh[v][s]), free(is[v][s]), free(y[v][s]);
            free(dx[v][s]), free(dg[v][s]), free(db[v][s]);
        }
    }
}

int main(void) {
    const char *seed = getenv("BT_TEST_SEED");
    bt_gc_rng = seed ? strtoull(seed, NULL, 10) : (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull | 1;
    printf("seed %llu\n", (unsigned long long)bt_gc_rng);
    (void)check_grad; /* the header's checker serves the other nn tests */
    for (int rep = 0; rep < 4; rep++) {
        test_conv(3, 1, 1, 0, 0);
        test_conv(3, 2, 1, 0, 0);
        test_conv(1, 2, 0, 0, 0);
        test_conv(1, 1, 0, 0, 0);
        test_conv(3, 1, 0, 0, 0);
        test_conv(3, 2, 0, 0, 0);
        test_conv(3, 1, 1, 16, 32);
        test_conv(3, 2, 1, 32, 16);
        test_conv(1, 2, 0, 16, 48);
        test_conv(3, 1, 1, 8, 24);
        test_bn();
    }
    return bt_test_finish("test_nn_resnet_kernels");
}
