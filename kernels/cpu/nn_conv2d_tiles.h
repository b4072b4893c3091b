/* The convolution's register tiles and row loops, written once and instantiated by
 * nn_conv2d_cpu.c for each vector width: it defines CT_VW (floats per vector), CT_MR (pixels or
 * channels per tile), CT_NAME(x) (a suffixed name) and CT_ATTR (the target attribute) and
 * includes this file; every instance sums each output in the same order, so all give the same
 * bits. Internal to kernels/cpu (not a public header). */

/* CT_VW floats as one value (GCC vector extension): each lane is its own float sum, so a vector
 * add is CT_VW scalar adds, rounded alike on every instruction set. */
typedef float CT_NAME(vec) __attribute__((vector_size(CT_VW * 4)));
typedef float CT_NAME(uvec) __attribute__((vector_size(CT_VW * 4), aligned(4), may_alias));
#define CT_LD(p) ((CT_NAME(vec))(*(const CT_NAME(uvec) *)(p)))
#define CT_ST(p, v) (*(CT_NAME(uvec) *)(p) = (v))

/* Calls F(mr, nv) with both as constants (mr in 1..CT_MR, nv in 1..2). */
/* clang-format off */
#if CT_MR == 8
#define CT_CASES_HI(F)                                                                             \
        case 18: F(8, 2); break;                                                                   \
        case 17: F(8, 1); break;                                                                   \
        case 16: F(7, 2); break;                                                                   \
        case 15: F(7, 1); break;                                                                   \
        case 14: F(6, 2); break;                                                                   \
        case 13: F(6, 1); break;                                                                   \
        case 12: F(5, 2); break;                                                                   \
        case 11: F(5, 1); break;
#else
#define CT_CASES_HI(F)
#endif
#define CT_DISPATCH(F, mr, nv)                                                                     \
    do {                                                                                           \
        switch ((mr) * 2 + (nv)) {                                                                 \
        CT_CASES_HI(F)                                                                             \
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

/* Register tile of mr pixels x (CT_VW nv) channels, mr <= CT_MR, nv in {1, 2}, both constants at
 * every call so the compiler keeps acc in registers. acc[r][v] += sum over q < len, in order, of
 * a[r][q] * b[q * ldb + CT_VW v ..]. */
BT_INLINE void CT_NAME(vtile_dot)(CT_NAME(vec) acc[CT_MR][2], const float *const *a, int mr,
                                  const float *b, size_t ldb, int len, int nv) {
    for (int q = 0; q < len; q++) {
        const float *bq = b + (size_t)q * ldb;
        const CT_NAME(vec) b0 = CT_LD(bq), b1 = nv > 1 ? CT_LD(bq + CT_VW) : b0;
        for (int r = 0; r < mr; r++) {
            const float av = a[r][q];
            acc[r][0] += av * b0;
            if (nv > 1) acc[r][1] += av * b1;
        }
    }
}

/* acc[r][v] += sum over pixels q < len, in order, of x[q * xs + r] * y[q * ys + CT_VW v ..]. */
BT_INLINE void CT_NAME(vtile_outer)(CT_NAME(vec) acc[CT_MR][2], const float *x, size_t xs,
                                    const float *y, size_t ys, int len, int mr, int nv) {
    for (int q = 0; q < len; q++) {
        const float *xq = x + (size_t)q * xs, *yq = y + (size_t)q * ys;
        const CT_NAME(vec) b0 = CT_LD(yq), b1 = nv > 1 ? CT_LD(yq + CT_VW) : b0;
        for (int r = 0; r < mr; r++) {
            const float av = xq[r];
            acc[r][0] += av * b0;
            if (nv > 1) acc[r][1] += av * b1;
        }
    }
}

/* The scalar tiles for channel remainders narrower than CT_VW. */
BT_INLINE void CT_NAME(tile_dot)(float acc[CT_MR][NR], const float *const *a, int mr,
                                 const float *b, size_t ldb, int len, int nr) {
    for (int q = 0; q < len; q++) {
        const float *bq = b + (size_t)q * ldb;
        for (int r = 0; r < mr; r++) {
            const float av = a[r][q];
            for (int j = 0; j < nr; j++) acc[r][j] += av * bq[j];
        }
    }
}

BT_INLINE void CT_NAME(tile_outer)(float acc[CT_MR][NR], const float *x, size_t xs, const float *y,
                                   size_t ys, int len, int mr, int nr) {
    for (int q = 0; q < len; q++) {
        const float *xq = x + (size_t)q * xs, *yq = y + (size_t)q * ys;
        for (int r = 0; r < mr; r++) {
            const float av = xq[r];
            for (int j = 0; j < nr; j++) acc[r][j] += av * yq[j];
        }
    }
}

/* The input pixel of each of the mr output pixels ow0.. at tap (ih, kw), or zeros. */
BT_INLINE void CT_NAME(fwd_taps)(const bt_nn_conv2d_shape *sh, const float *x, int ih, int kw,
                                 int ow0, int mr, const float *zeros, const float **a) {
    for (int r = 0; r < mr; r++) {
        const int iw = (ow0 + r) * sh->stride - sh->pad + kw;
        a[r] = iw >= 0 && iw < sh->w ? x + ((size_t)ih * sh->w + iw) * sh->c_in : zeros;
    }
}

/* One forward tile: output pixels ow0.. (mr of them) of row oh, channels co0.. (CT_VW nv, or
 * nr < CT_VW when nv == 0). */
BT_INLINE void CT_NAME(fwd_tile)(const bt_nn_conv2d_shape *sh, const float *x, const float *w,
                                 const float *bias, float *yrow, int oh, int ow0, int mr, int co0,
                                 int nv, int nr, const float *zeros) {
    const int ci = sh->c_in, co = sh->c_out, k = sh->k;
    CT_NAME(vec) vacc[CT_MR][2];
    float acc[CT_MR][NR];
    for (int r = 0; r < mr; r++) {
        for (int v = 0; v < nv; v++)
            vacc[r][v] = bias ? CT_LD(bias + co0 + CT_VW * v) : (CT_NAME(vec)){0};
        for (int j = 0; j < nr; j++) acc[r][j] = bias ? bias[co0 + j] : 0.0f;
    }
    for (int kh = 0; kh < k; kh++) {
        const int ih = oh * sh->stride - sh->pad + kh;
        if (ih < 0 || ih >= sh->h) continue;
        for (int kw = 0; kw < k; kw++) {
            const float *a[CT_MR];
            CT_NAME(fwd_taps)(sh, x, ih, kw, ow0, mr, zeros, a);
            const float *b = w + ((size_t)kh * k + kw) * ci * co + co0;
            if (nv)
                CT_NAME(vtile_dot)(vacc, a, mr, b, (size_t)co, ci, nv);
            else
                CT_NAME(tile_dot)(acc, a, mr, b, (size_t)co, ci, nr);
        }
    }
    for (int r = 0; r < mr; r++) {
        float *y = yrow + (size_t)(ow0 + r) * co + co0;
        for (int v = 0; v < nv; v++) CT_ST(y + CT_VW * v, vacc[r][v]);
        for (int j = 0; j < nr; j++) y[j] = acc[r][j];
    }
}

CT_ATTR static void CT_NAME(fwd_row)(const bt_nn_conv2d_shape *sh, int ow_n, const float *x,
                                     const float *w, const float *bias, float *yrow, int oh,
                                     const float *zeros) {
    for (int ow0 = 0; ow0 < ow_n; ow0 += CT_MR) {
        const int mr = ow_n - ow0 < CT_MR ? ow_n - ow0 : CT_MR;
        for (int co0 = 0; co0 < sh->c_out;) {
            const int rem = sh->c_out - co0, nv = rem >= 2 * CT_VW ? 2 : 1;
            if (rem < CT_VW) {
                CT_NAME(fwd_tile)(sh, x, w, bias, yrow, oh, ow0, mr, co0, 0, rem, zeros);
                break;
            }
#define BT_FWD(M, V) CT_NAME(fwd_tile)(sh, x, w, bias, yrow, oh, ow0, M, co0, V, 0, zeros)
            CT_DISPATCH(BT_FWD, mr, nv);
#undef BT_FWD
            co0 += CT_VW * nv;
        }
    }
}

/* The dY pixel each of the mr input pixels iw0.. of row (oh) receives from tap kw, or zeros. */
BT_INLINE void CT_NAME(dx_taps)(const bt_nn_conv2d_shape *sh, int ow_n, const float *dy, int oh,
                                int kw, int iw0, int mr, const float *zeros, const float **a) {
    const int st = sh->stride;
    for (int r = 0; r < mr; r++) {
        const int u = iw0 + r + sh->pad - kw;
        a[r] = u >= 0 && u % st == 0 && u / st < ow_n
                   ? dy + ((size_t)oh * ow_n + (size_t)(u / st)) * sh->c_out
                   : zeros;
    }
}

/* One dX tile: input pixels iw0.. (mr) of row ih, input channels ci0.. (CT_VW nv, or nr < CT_VW
 * when nv == 0); wt is W transposed to [tap][c_out][c_in]. */
BT_INLINE void CT_NAME(dx_tile)(const bt_nn_conv2d_shape *sh, int oh_n, int ow_n, const float *dy,
                                const float *wt, float *dxrow, int ih, int iw0, int mr, int ci0,
                                int nv, int nr, const float *zeros) {
    const int ci = sh->c_in, co = sh->c_out, k = sh->k, st = sh->stride;
    CT_NAME(vec) vacc[CT_MR][2];
    float acc[CT_MR][NR];
    for (int r = 0; r < mr; r++) {
        for (int v = 0; v < nv; v++) vacc[r][v] = (CT_NAME(vec)){0};
        for (int j = 0; j < nr; j++) acc[r][j] = 0.0f;
    }
    for (int kh = 0; kh < k; kh++) {
        const int t = ih + sh->pad - kh;
        if (t < 0 || t % st != 0 || t / st >= oh_n) continue;
        for (int kw = 0; kw < k; kw++) {
            const float *a[CT_MR];
            CT_NAME(dx_taps)(sh, ow_n, dy, t / st, kw, iw0, mr, zeros, a);
            const float *b = wt + ((size_t)kh * k + kw) * co * ci + ci0;
            if (nv)
                CT_NAME(vtile_dot)(vacc, a, mr, b, (size_t)ci, co, nv);
            else
                CT_NAME(tile_dot)(acc, a, mr, b, (size_t)ci, co, nr);
        }
    }
    for (int r = 0; r < mr; r++) {
        float *d = dxrow + (size_t)(iw0 + r) * ci + ci0;
        for (int v = 0; v < nv; v++) CT_ST(d + CT_VW * v, vacc[r][v]);
        for (int j = 0; j < nr; j++) d[j] = acc[r][j];
    }
}

CT_ATTR static void CT_NAME(dx_row)(const bt_nn_conv2d_shape *sh, int oh_n, int ow_n,
                                    const float *dy, const float *wt, float *dxrow, int ih,
                                    const float *zeros) {
    for (int iw0 = 0; iw0 < sh->w; iw0 += CT_MR) {
        const int mr = sh->w - iw0 < CT_MR ? sh->w - iw0 : CT_MR;
        for (int ci0 = 0; ci0 < sh->c_in;) {
            const int rem = sh->c_in - ci0, nv = rem >= 2 * CT_VW ? 2 : 1;
            if (rem < CT_VW) {
                CT_NAME(dx_tile)(sh, oh_n, ow_n, dy, wt, dxrow, ih, iw0, mr, ci0, 0, rem, zeros);
                break;
            }
#define BT_DX(M, V) CT_NAME(dx_tile)(sh, oh_n, ow_n, dy, wt, dxrow, ih, iw0, M, ci0, V, 0, zeros)
            CT_DISPATCH(BT_DX, mr, nv);
#undef BT_DX
            ci0 += CT_VW * nv;
        }
    }
}

/* dw[ci0 + r][co0 + CT_VW v ..] += the run's products, for r < mr, v < nv. */
BT_INLINE void CT_NAME(dw_vtile)(float *dw, int co, const float *x, size_t xs, const float *y,
                                 size_t ys, int len, int ci0, int mr, int co0, int nv) {
    CT_NAME(vec) acc[CT_MR][2];
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++)
            acc[r][v] = CT_LD(dw + (size_t)(ci0 + r) * co + co0 + CT_VW * v);
    CT_NAME(vtile_outer)(acc, x, xs, y, ys, len, mr, nv);
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++)
            CT_ST(dw + (size_t)(ci0 + r) * co + co0 + CT_VW * v, acc[r][v]);
}

/* The same for a remainder of nr < CT_VW output channels. */
static void CT_NAME(dw_tile)(float *dw, int co, const float *x, size_t xs, const float *y,
                             size_t ys, int len, int ci0, int mr, int co0, int nr) {
    float acc[CT_MR][NR];
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++) acc[r][j] = dw[(size_t)(ci0 + r) * co + co0 + j];
    CT_NAME(tile_outer)(acc, x, xs, y, ys, len, mr, nr);
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++) dw[(size_t)(ci0 + r) * co + co0 + j] = acc[r][j];
}

/* dW of one tap (kh, kw) of one slot, summed over images, rows and columns in order. The
 * output pixels of one row whose tap lands inside the image form a run with fixed strides in x
 * and dY; each channel tile accumulates a run in registers. */
CT_ATTR static void CT_NAME(dw_tap)(const bt_nn_conv2d_shape *sh, int oh_n, int ow_n,
                                    const float *X, const float *dY, float *dw, int kh, int kw,
                                    int ci_lo, int ci_hi) {
    const int ci = sh->c_in, co = sh->c_out, st = sh->stride;
    const size_t in_img = (size_t)sh->h * sh->w * ci, out_img = (size_t)oh_n * ow_n * co;
    memset(dw + (size_t)ci_lo * co, 0, (size_t)(ci_hi - ci_lo) * co * sizeof *dw);
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
            for (int ci0 = ci_lo; ci0 < ci_hi; ci0 += CT_MR) {
                const int mr = ci_hi - ci0 < CT_MR ? ci_hi - ci0 : CT_MR;
                for (int co0 = 0; co0 < co;) {
                    const int rem = co - co0, nv = rem >= 2 * CT_VW ? 2 : 1;
                    if (rem < CT_VW) {
                        CT_NAME(dw_tile)
                        (dw, co, x + ci0, xs, y + co0, ys, hi - lo, ci0, mr, co0, rem);
                        break;
                    }
#define BT_DW(M, V) CT_NAME(dw_vtile)(dw, co, x + ci0, xs, y + co0, ys, hi - lo, ci0, M, co0, V)
                    CT_DISPATCH(BT_DW, mr, nv);
#undef BT_DW
                    co0 += CT_VW * nv;
                }
            }
        }
}

#undef CT_LD
#undef CT_ST
#undef CT_CASES_HI
#undef CT_DISPATCH
