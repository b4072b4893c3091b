/* The NHWC convolution for the CPU packs (kernels/nn_conv2d.h, _cpu): direct convolution with a
 * register tile of MR pixels x NR channels kept in accumulators while the taps and the reduced
 * channels stream past, OpenMP over independent outputs. Out-of-image taps read a zero vector
 * instead of branching, so the inner loops are straight and vectorize; on x86-64 GCC compiles
 * the tiles for AVX-512, AVX2 and plain SSE2 and picks one at load time (no FMA contraction, so
 * every variant rounds alike). */
#include <stdlib.h>
#include <string.h>

#include "../nn_conv2d.h"

enum { MR = 4, NR = 16 };

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) &&                             \
    !defined(__SANITIZE_ADDRESS__)
#define BT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define BT_CLONES
#endif
#define BT_INLINE static inline __attribute__((always_inline))

/* Eight floats as one value (GCC vector extension): each lane is its own float sum, so a vector
 * add is eight scalar adds, rounded alike on every instruction set. */
typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));
#define ld8(p) ((v8)(*(const v8u *)(p)))
#define st8(p, v) (*(v8u *)(p) = (v))

/* Register tile of mr pixels x (8 nv) channels, mr <= MR, nv in {1, 2}, both constants at every
 * call so the compiler keeps acc in registers. acc[r][v] += sum over q < len, in order, of
 * a[r][q] * b[q * ldb + 8 v ..]. */
BT_INLINE void vtile_dot(v8 acc[MR][2], const float *const *a, int mr, const float *b, size_t ldb,
                         int len, int nv) {
    for (int q = 0; q < len; q++) {
        const float *bq = b + (size_t)q * ldb;
        const v8 b0 = ld8(bq), b1 = nv > 1 ? ld8(bq + 8) : b0;
        for (int r = 0; r < mr; r++) {
            const float av = a[r][q];
            acc[r][0] += av * b0;
            if (nv > 1) acc[r][1] += av * b1;
        }
    }
}

/* acc[r][v] += sum over pixels q < len, in order, of x[q * xs + r] * y[q * ys + 8 v ..]. */
BT_INLINE void vtile_outer(v8 acc[MR][2], const float *x, size_t xs, const float *y, size_t ys,
                           int len, int mr, int nv) {
    for (int q = 0; q < len; q++) {
        const float *xq = x + (size_t)q * xs, *yq = y + (size_t)q * ys;
        const v8 b0 = ld8(yq), b1 = nv > 1 ? ld8(yq + 8) : b0;
        for (int r = 0; r < mr; r++) {
            const float av = xq[r];
            acc[r][0] += av * b0;
            if (nv > 1) acc[r][1] += av * b1;
        }
    }
}

/* The scalar tiles for channel remainders narrower than 8. */
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

BT_INLINE void tile_outer(float acc[MR][NR], const float *x, size_t xs, const float *y, size_t ys,
                          int len, int mr, int nr) {
    for (int q = 0; q < len; q++) {
        const float *xq = x + (size_t)q * xs, *yq = y + (size_t)q * ys;
        for (int r = 0; r < mr; r++) {
            const float av = xq[r];
            for (int j = 0; j < nr; j++) acc[r][j] += av * yq[j];
        }
    }
}

/* Calls F(mr, nv) with both as constants (mr in 1..MR, nv in 1..2). */
/* clang-format off */
#define BT_TILE_DISPATCH(F, mr, nv)                                                                \
    do {                                                                                           \
        switch ((mr) * 2 + (nv)) {                                                                 \
        case 10: F(4, 2); break;                                                                   \
        case 9: F(4, 1); break;                                                                    \
        case 8: F(3, 2); break;                                                                    \
        case 7: F(3, 1); break;                                                                    \
        case 6: F(2, 2); break;                                                                    \
        case 5: F(2, 1); break;                                                                    \
        case 4: F(1, 2); break;                                                                    \
        default: F(1, 1); break;                                                                   \
        }                                                                                          \
    } while (0)
/* clang-format on */

/* The input pixel of each of the mr output pixels ow0.. at tap (ih, kw), or zeros. */
BT_INLINE void fwd_taps(const bt_nn_conv2d_shape *sh, const float *x, int ih, int kw, int ow0,
                        int mr, const float *zeros, const float **a) {
    for (int r = 0; r < mr; r++) {
        const int iw = (ow0 + r) * sh->stride - sh->pad + kw;
        a[r] = iw >= 0 && iw < sh->w ? x + ((size_t)ih * sh->w + iw) * sh->c_in : zeros;
    }
}

/* One forward tile: output pixels ow0.. (mr of them) of row oh, channels co0.. (8 nv, or
 * nr < 8 when nv == 0). */
BT_INLINE void fwd_tile(const bt_nn_conv2d_shape *sh, const float *x, const float *w,
                        const float *bias, float *yrow, int oh, int ow0, int mr, int co0, int nv,
                        int nr, const float *zeros) {
    const int ci = sh->c_in, co = sh->c_out, k = sh->k;
    v8 vacc[MR][2];
    float acc[MR][NR];
    for (int r = 0; r < mr; r++) {
        for (int v = 0; v < nv; v++) vacc[r][v] = bias ? ld8(bias + co0 + 8 * v) : (v8){0};
        for (int j = 0; j < nr; j++) acc[r][j] = bias ? bias[co0 + j] : 0.0f;
    }
    for (int kh = 0; kh < k; kh++) {
        const int ih = oh * sh->stride - sh->pad + kh;
        if (ih < 0 || ih >= sh->h) continue;
        for (int kw = 0; kw < k; kw++) {
            const float *a[MR];
            fwd_taps(sh, x, ih, kw, ow0, mr, zeros, a);
            const float *b = w + ((size_t)kh * k + kw) * ci * co + co0;
            if (nv)
                vtile_dot(vacc, a, mr, b, (size_t)co, ci, nv);
            else
                tile_dot(acc, a, mr, b, (size_t)co, ci, nr);
        }
    }
    for (int r = 0; r < mr; r++) {
        float *y = yrow + (size_t)(ow0 + r) * co + co0;
        for (int v = 0; v < nv; v++) st8(y + 8 * v, vacc[r][v]);
        for (int j = 0; j < nr; j++) y[j] = acc[r][j];
    }
}

BT_CLONES static void fwd_row(const bt_nn_conv2d_shape *sh, int ow_n, const float *x,
                              const float *w, const float *bias, float *yrow, int oh,
                              const float *zeros) {
    for (int ow0 = 0; ow0 < ow_n; ow0 += MR) {
        const int mr = ow_n - ow0 < MR ? ow_n - ow0 : MR;
        for (int co0 = 0; co0 < sh->c_out;) {
            const int rem = sh->c_out - co0, nv = rem >= 16 ? 2 : 1;
            if (rem < 8) {
                fwd_tile(sh, x, w, bias, yrow, oh, ow0, mr, co0, 0, rem, zeros);
                break;
            }
#define BT_FWD(M, V) fwd_tile(sh, x, w, bias, yrow, oh, ow0, M, co0, V, 0, zeros)
            BT_TILE_DISPATCH(BT_FWD, mr, nv);
#undef BT_FWD
            co0 += 8 * nv;
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

/* The dY pixel each of the mr input pixels iw0.. of row (oh) receives from tap kw, or zeros. */
BT_INLINE void dx_taps(const bt_nn_conv2d_shape *sh, int ow_n, const float *dy, int oh, int kw,
                       int iw0, int mr, const float *zeros, const float **a) {
    const int st = sh->stride;
    for (int r = 0; r < mr; r++) {
        const int u = iw0 + r + sh->pad - kw;
        a[r] = u >= 0 && u % st == 0 && u / st < ow_n
                   ? dy + ((size_t)oh * ow_n + (size_t)(u / st)) * sh->c_out
                   : zeros;
    }
}

/* One dX tile: input pixels iw0.. (mr) of row ih, input channels ci0.. (8 nv, or nr < 8 when
 * nv == 0); wt is W transposed to [tap][c_out][c_in]. */
BT_INLINE void dx_tile(const bt_nn_conv2d_shape *sh, int oh_n, int ow_n, const float *dy,
                       const float *wt, float *dxrow, int ih, int iw0, int mr, int ci0, int nv,
                       int nr, const float *zeros) {
    const int ci = sh->c_in, co = sh->c_out, k = sh->k, st = sh->stride;
    v8 vacc[MR][2];
    float acc[MR][NR];
    for (int r = 0; r < mr; r++) {
        for (int v = 0; v < nv; v++) vacc[r][v] = (v8){0};
        for (int j = 0; j < nr; j++) acc[r][j] = 0.0f;
    }
    for (int kh = 0; kh < k; kh++) {
        const int t = ih + sh->pad - kh;
        if (t < 0 || t % st != 0 || t / st >= oh_n) continue;
        for (int kw = 0; kw < k; kw++) {
            const float *a[MR];
            dx_taps(sh, ow_n, dy, t / st, kw, iw0, mr, zeros, a);
            const float *b = wt + ((size_t)kh * k + kw) * co * ci + ci0;
            if (nv)
                vtile_dot(vacc, a, mr, b, (size_t)ci, co, nv);
            else
                tile_dot(acc, a, mr, b, (size_t)ci, co, nr);
        }
    }
    for (int r = 0; r < mr; r++) {
        float *d = dxrow + (size_t)(iw0 + r) * ci + ci0;
        for (int v = 0; v < nv; v++) st8(d + 8 * v, vacc[r][v]);
        for (int j = 0; j < nr; j++) d[j] = acc[r][j];
    }
}

BT_CLONES static void dx_row(const bt_nn_conv2d_shape *sh, int oh_n, int ow_n, const float *dy,
                             const float *wt, float *dxrow, int ih, const float *zeros) {
    for (int iw0 = 0; iw0 < sh->w; iw0 += MR) {
        const int mr = sh->w - iw0 < MR ? sh->w - iw0 : MR;
        for (int ci0 = 0; ci0 < sh->c_in;) {
            const int rem = sh->c_in - ci0, nv = rem >= 16 ? 2 : 1;
            if (rem < 8) {
                dx_tile(sh, oh_n, ow_n, dy, wt, dxrow, ih, iw0, mr, ci0, 0, rem, zeros);
                break;
            }
#define BT_DX(M, V) dx_tile(sh, oh_n, ow_n, dy, wt, dxrow, ih, iw0, M, ci0, V, 0, zeros)
            BT_TILE_DISPATCH(BT_DX, mr, nv);
#undef BT_DX
            ci0 += 8 * nv;
        }
    }
}

/* dw[ci0 + r][co0 + 8 v ..] += the run's products, for r < mr, v < nv. */
BT_INLINE void dw_vtile(float *dw, int co, const float *x, size_t xs, const float *y, size_t ys,
                        int len, int ci0, int mr, int co0, int nv) {
    v8 acc[MR][2];
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) acc[r][v] = ld8(dw + (size_t)(ci0 + r) * co + co0 + 8 * v);
    vtile_outer(acc, x, xs, y, ys, len, mr, nv);
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) st8(dw + (size_t)(ci0 + r) * co + co0 + 8 * v, acc[r][v]);
}

/* The same for a remainder of nr < 8 output channels. */
static void dw_tile(float *dw, int co, const float *x, size_t xs, const float *y, size_t ys,
                    int len, int ci0, int mr, int co0, int nr) {
    float acc[MR][NR];
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++) acc[r][j] = dw[(size_t)(ci0 + r) * co + co0 + j];
    tile_outer(acc, x, xs, y, ys, len, mr, nr);
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++) dw[(size_t)(ci0 + r) * co + co0 + j] = acc[r][j];
}

/* dW of one tap (kh, kw) of one slot, summed over images, rows and columns in order. The
 * output pixels of one row whose tap lands inside the image form a run with fixed strides in x
 * and dY; each channel tile accumulates a run in registers. */
BT_CLONES static void dw_tap(const bt_nn_conv2d_shape *sh, int oh_n, int ow_n, const float *X,
                             const float *dY, float *dw, int kh, int kw) {
    const int ci = sh->c_in, co = sh->c_out, st = sh->stride;
    const size_t in_img = (size_t)sh->h * sh->w * ci, out_img = (size_t)oh_n * ow_n * co;
    memset(dw, 0, (size_t)ci * co * sizeof *dw);
    /* ow in [lo, hi) keeps iw = ow * stride - pad + kw inside [0, w) */
    int lo = 0, hi = ow_n;
    while (lo < ow_n && lo * st - sh->pad + kw < 0) lo++;
    while (hi > lo && (hi - 1) * st - sh->pad + kw >= sh->w) hi--;
    if (hi <= lo) return;
    const size_t xs = (size_t)st * ci, ys = (size_t)co;
    for (int img = 0; img < sh->rows; img++)
        for (int oh = 0; oh < oh_n; oh++) {
            const int ih = oh * st - sh->pad + kh;
            if (ih < 0 || ih >= sh->h) continue;
            const float *x = X + (size_t)img * in_img +
                             ((size_t)ih * sh->w + (size_t)(lo * st - sh->pad + kw)) * ci;
            const float *y = dY + (size_t)img * out_img + ((size_t)oh * ow_n + lo) * co;
            for (int ci0 = 0; ci0 < ci; ci0 += MR) {
                const int mr = ci - ci0 < MR ? ci - ci0 : MR;
                for (int co0 = 0; co0 < co;) {
                    const int rem = co - co0, nv = rem >= 16 ? 2 : 1;
                    if (rem < 8) {
                        dw_tile(dw, co, x + ci0, xs, y + co0, ys, hi - lo, ci0, mr, co0, rem);
                        break;
                    }
#define BT_DW(M, V) dw_vtile(dw, co, x + ci0, xs, y + co0, ys, hi - lo, ci0, M, co0, V)
                    BT_TILE_DISPATCH(BT_DW, mr, nv);
#undef BT_DW
                    co0 += 8 * nv;
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
