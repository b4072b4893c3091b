/* The NHWC convolution for the CPU packs (kernels/nn_conv2d.h, _cpu): direct convolution with a
 * register tile of MR pixels x NR channels kept in accumulators while the taps and the reduced
 * channels stream past, OpenMP over independent outputs. Out-of-image taps read a zero vector
 * instead of branching, so the inner loops are straight and vectorize; on x86-64 GCC compiles
 * the tiles for AVX-512, AVX2 and plain SSE2 and picks one at load time (no FMA contraction, so
 * every variant rounds alike). */
#include <stdlib.h>
#include <string.h>

#include "../nn_conv2d.h"

enum { MR = 4, NR = 16, PIX = 64 };

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) &&                             \
    !defined(__SANITIZE_ADDRESS__)
#define BT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define BT_CLONES
#endif
#define BT_INLINE static inline __attribute__((always_inline))

/* acc[r][j] += sum over q < len, in order, of a[r][q] * b[q * ldb + j], for r < mr, j < nr. */
BT_INLINE void tile_dot(float acc[MR][NR], const float *const *a, int mr, const float *b,
                        size_t ldb, int len, int nr) {
    for (int q = 0; q < len; q++) {
        const float *bq = b + (size_t)q * ldb;
        for (int r = 0; r < mr; r++) {
            const float av = a[r][q];
            for (int j = 0; j < nr; j++) acc[r][j] += av * bq[j];
        }
    }
}

/* acc[r][j] += sum over pixels q < len, in order, of xa[q][r] * yb[q][j]. */
BT_INLINE void tile_outer(float acc[MR][NR], const float *const *xa, const float *const *yb,
                          int len, int mr, int nr) {
    for (int q = 0; q < len; q++) {
        const float *xq = xa[q], *yq = yb[q];
        for (int r = 0; r < mr; r++) {
            const float av = xq[r];
            for (int j = 0; j < nr; j++) acc[r][j] += av * yq[j];
        }
    }
}

/* One forward tile: output pixels ow0.. (mr of them) of row oh, channels co0.. (nr). */
BT_INLINE void fwd_tile(const bt_nn_conv2d_shape *sh, const float *x, const float *w,
                        const float *bias, float *yrow, int oh, int ow0, int mr, int co0, int nr,
                        const float *zeros) {
    const int ci = sh->c_in, co = sh->c_out, k = sh->k;
    float acc[MR][NR];
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++) acc[r][j] = bias ? bias[co0 + j] : 0.0f;
    for (int kh = 0; kh < k; kh++) {
        const int ih = oh * sh->stride - sh->pad + kh;
        if (ih < 0 || ih >= sh->h) continue;
        for (int kw = 0; kw < k; kw++) {
            const float *a[MR];
            for (int r = 0; r < mr; r++) {
                const int iw = (ow0 + r) * sh->stride - sh->pad + kw;
                a[r] = iw >= 0 && iw < sh->w ? x + ((size_t)ih * sh->w + iw) * ci : zeros;
            }
            const float *b = w + ((size_t)kh * k + kw) * ci * co + co0;
            tile_dot(acc, a, mr, b, (size_t)co, ci, nr);
        }
    }
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++) yrow[(size_t)(ow0 + r) * co + co0 + j] = acc[r][j];
}

BT_CLONES static void fwd_row(const bt_nn_conv2d_shape *sh, int ow_n, const float *x,
                              const float *w, const float *bias, float *yrow, int oh,
                              const float *zeros) {
    for (int ow0 = 0; ow0 < ow_n; ow0 += MR) {
        const int mr = ow_n - ow0 < MR ? ow_n - ow0 : MR;
        for (int co0 = 0; co0 < sh->c_out; co0 += NR) {
            const int nr = sh->c_out - co0 < NR ? sh->c_out - co0 : NR;
            if (mr == MR && nr == NR) /* constant sizes: the compiler keeps acc in registers */
                fwd_tile(sh, x, w, bias, yrow, oh, ow0, MR, co0, NR, zeros);
            else
                fwd_tile(sh, x, w, bias, yrow, oh, ow0, mr, co0, nr, zeros);
        }
    }
}

static float *zero_vector(const bt_nn_conv2d_shape *sh) {
    size_t n = (size_t)(sh->c_in > sh->c_out ? sh->c_in : sh->c_out);
    return calloc(n ? n : 1, sizeof(float));
}

void bt_nn_conv2d_fwd_cpu(int n_slots, const bt_nn_conv2d_shape *sh, const float *const *X,
                          const float *const *W, const float *const *b, float *const *Y,
                          int threads) {
    const int oh_n = bt_nn_conv2d_out_h(sh), ow_n = bt_nn_conv2d_out_w(sh);
    const size_t in_img = (size_t)sh->h * sh->w * sh->c_in;
    const size_t out_img = (size_t)oh_n * ow_n * sh->c_out;
    float *zeros = zero_vector(sh);
    if (!zeros) { /* no memory for one vector: the reference needs none */
        bt_nn_conv2d_fwd_ref(n_slots, sh, X, W, b, Y);
        return;
    }
    const long items = (long)n_slots * sh->rows * oh_n;
#pragma omp parallel for schedule(static) num_threads(threads > 0 ? threads : 1)
    for (long it = 0; it < items; it++) {
        const int s = (int)(it / ((long)sh->rows * oh_n)),
                  rest = (int)(it % ((long)sh->rows * oh_n));
        const int r = rest / oh_n, oh = rest % oh_n;
        fwd_row(sh, ow_n, X[s] + (size_t)r * in_img, W[s], b ? b[s] : NULL,
                Y[s] + (size_t)r * out_img + (size_t)oh * ow_n * sh->c_out, oh, zeros);
    }
    free(zeros);
}

/* One dX tile: input pixels iw0.. (mr) of row ih, input channels ci0.. (nr); wt is W transposed
 * to [tap][c_out][c_in]. */
BT_INLINE void dx_tile(const bt_nn_conv2d_shape *sh, int oh_n, int ow_n, const float *dy,
                       const float *wt, float *dxrow, int ih, int iw0, int mr, int ci0, int nr,
                       const float *zeros) {
    const int ci = sh->c_in, co = sh->c_out, k = sh->k, st = sh->stride;
    float acc[MR][NR];
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++) acc[r][j] = 0.0f;
    for (int kh = 0; kh < k; kh++) {
        const int t = ih + sh->pad - kh;
        if (t < 0 || t % st != 0 || t / st >= oh_n) continue;
        const int oh = t / st;
        for (int kw = 0; kw < k; kw++) {
            const float *a[MR];
            for (int r = 0; r < mr; r++) {
                const int u = iw0 + r + sh->pad - kw;
                a[r] = u >= 0 && u % st == 0 && u / st < ow_n
                           ? dy + ((size_t)oh * ow_n + (size_t)(u / st)) * co
                           : zeros;
            }
            const float *b = wt + ((size_t)kh * k + kw) * co * ci + ci0;
            tile_dot(acc, a, mr, b, (size_t)ci, co, nr);
        }
    }
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++) dxrow[(size_t)(iw0 + r) * ci + ci0 + j] = acc[r][j];
}

BT_CLONES static void dx_row(const bt_nn_conv2d_shape *sh, int oh_n, int ow_n, const float *dy,
                             const float *wt, float *dxrow, int ih, const float *zeros) {
    for (int iw0 = 0; iw0 < sh->w; iw0 += MR) {
        const int mr = sh->w - iw0 < MR ? sh->w - iw0 : MR;
        for (int ci0 = 0; ci0 < sh->c_in; ci0 += NR) {
            const int nr = sh->c_in - ci0 < NR ? sh->c_in - ci0 : NR;
            if (mr == MR && nr == NR)
                dx_tile(sh, oh_n, ow_n, dy, wt, dxrow, ih, iw0, MR, ci0, NR, zeros);
            else
                dx_tile(sh, oh_n, ow_n, dy, wt, dxrow, ih, iw0, mr, ci0, nr, zeros);
        }
    }
}

/* dW of one tap (kh, kw) of one slot, summed over images, rows and columns in order; pixels go
 * in chunks of PIX so a chunk's x and dY vectors stay in cache for every channel tile. */
BT_CLONES static void dw_tap(const bt_nn_conv2d_shape *sh, int oh_n, int ow_n, const float *X,
                             const float *dY, float *dw, int kh, int kw) {
    const int ci = sh->c_in, co = sh->c_out;
    const size_t in_img = (size_t)sh->h * sh->w * ci, out_img = (size_t)oh_n * ow_n * co;
    memset(dw, 0, (size_t)ci * co * sizeof *dw);
    const float *xa[PIX], *yb[PIX];
    for (int img = 0; img < sh->rows; img++)
        for (int oh = 0; oh < oh_n; oh++) {
            const int ih = oh * sh->stride - sh->pad + kh;
            if (ih < 0 || ih >= sh->h) continue;
            for (int ow0 = 0; ow0 < ow_n;) {
                int len = 0;
                for (; ow0 < ow_n && len < PIX; ow0++) {
                    const int iw = ow0 * sh->stride - sh->pad + kw;
                    if (iw < 0 || iw >= sh->w) continue;
                    xa[len] = X + (size_t)img * in_img + ((size_t)ih * sh->w + iw) * ci;
                    yb[len++] = dY + (size_t)img * out_img + ((size_t)oh * ow_n + ow0) * co;
                }
                for (int ci0 = 0; ci0 < ci; ci0 += MR) {
                    const int mr = ci - ci0 < MR ? ci - ci0 : MR;
                    const float *xs[PIX];
                    for (int q = 0; q < len; q++) xs[q] = xa[q] + ci0;
                    for (int co0 = 0; co0 < co; co0 += NR) {
                        const int nr = co - co0 < NR ? co - co0 : NR;
                        const float *ys[PIX];
                        for (int q = 0; q < len; q++) ys[q] = yb[q] + co0;
                        float acc[MR][NR];
                        for (int r = 0; r < mr; r++)
                            for (int j = 0; j < nr; j++)
                                acc[r][j] = dw[(size_t)(ci0 + r) * co + co0 + j];
                        if (mr == MR && nr == NR)
                            tile_outer(acc, xs, ys, len, MR, NR);
                        else
                            tile_outer(acc, xs, ys, len, mr, nr);
                        for (int r = 0; r < mr; r++)
                            for (int j = 0; j < nr; j++)
                                dw[(size_t)(ci0 + r) * co + co0 + j] = acc[r][j];
                    }
                }
            }
        }
}

void bt_nn_conv2d_bwd_cpu(int n_slots, const bt_nn_conv2d_shape *sh, const float *const *X,
                          const float *const *W, const float *const *dY, float *const *dX,
                          float *const *dW, float *const *db, float *scratch, int threads) {
    const int oh_n = bt_nn_conv2d_out_h(sh), ow_n = bt_nn_conv2d_out_w(sh);
    const int ci = sh->c_in, co = sh->c_out, k = sh->k, taps = k * k;
    const size_t wn = (size_t)taps * ci * co;
    const size_t in_img = (size_t)sh->h * sh->w * ci, out_img = (size_t)oh_n * ow_n * co;
    const int nt = threads > 0 ? threads : 1;
    float *zeros = dX ? zero_vector(sh) : NULL;
    if (dX && !zeros) {
        bt_nn_conv2d_bwd_ref(n_slots, sh, X, W, dY, dX, dW, db, scratch);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
#pragma omp for schedule(static)
        for (int it = 0; it < n_slots * taps; it++) {
            const int s = it / taps, t = it % taps;
            dw_tap(sh, oh_n, ow_n, X[s], dY[s], dW[s] + (size_t)t * ci * co, t / k, t % k);
        }
#pragma omp for schedule(static) nowait
        for (int s = 0; s < n_slots; s++) {
            if (!db || !db[s]) continue;
            memset(db[s], 0, (size_t)co * sizeof(float));
            for (size_t p = 0; p < (size_t)sh->rows * oh_n * ow_n; p++)
                for (int j = 0; j < co; j++) db[s][j] += dY[s][p * co + j];
        }
        if (dX) {
#pragma omp for schedule(static)
            for (long it = 0; it < (long)n_slots * taps * ci; it++) {
                const int s = (int)(it / ((long)taps * ci)), rest = (int)(it % ((long)taps * ci));
                const int t = rest / ci, c = rest % ci;
                float *wt = scratch + (size_t)s * wn;
                for (int o = 0; o < co; o++)
                    wt[((size_t)t * co + o) * ci + c] = W[s][((size_t)t * ci + c) * co + o];
            }
            const long items = (long)n_slots * sh->rows * sh->h;
#pragma omp for schedule(static)
            for (long it = 0; it < items; it++) {
                const int s = (int)(it / ((long)sh->rows * sh->h));
                const int rest = (int)(it % ((long)sh->rows * sh->h));
                const int r = rest / sh->h, ih = rest % sh->h;
                dx_row(sh, oh_n, ow_n, dY[s] + (size_t)r * out_img, scratch + (size_t)s * wn,
                       dX[s] + (size_t)r * in_img + (size_t)ih * sh->w * ci, ih, zeros);
            }
        }
    }
    free(zeros);
}
