/* Plain C reference of the batched NHWC convolution (kernels/nn_conv2d.h): direct loops in a fixed
 * order, no im2col, so each slot's numbers are those of a single-trial run. */
#include <string.h>

#include "kernels/nn_conv2d.h"

int bt_nn_conv2d_out_h(const bt_nn_conv2d_shape *s) {
    return (s->h + 2 * s->pad - s->k) / s->stride + 1;
}

int bt_nn_conv2d_out_w(const bt_nn_conv2d_shape *s) {
    return (s->w + 2 * s->pad - s->k) / s->stride + 1;
}

void bt_nn_conv2d_fwd_ref(int n_slots, const bt_nn_conv2d_shape *sh, const float *const *X,
                          const float *const *W, const float *const *b, float *const *Y) {
    const int oh_n = bt_nn_conv2d_out_h(sh), ow_n = bt_nn_conv2d_out_w(sh);
    const int ci_n = sh->c_in, co_n = sh->c_out, k = sh->k;
    for (int s = 0; s < n_slots; s++) {
        for (int r = 0; r < sh->rows; r++) {
            const float *x = X[s] + (size_t)r * sh->h * sh->w * ci_n;
            for (int oh = 0; oh < oh_n; oh++)
                for (int ow = 0; ow < ow_n; ow++) {
                    float *y = Y[s] + (((size_t)r * oh_n + oh) * ow_n + ow) * co_n;
                    if (b && b[s])
                        memcpy(y, b[s], (size_t)co_n * sizeof *y);
                    else
                        memset(y, 0, (size_t)co_n * sizeof *y);
                    for (int kh = 0; kh < k; kh++) {
                        int ih = oh * sh->stride - sh->pad + kh;
                        if (ih < 0 || ih >= sh->h) continue;
                        for (int kw = 0; kw < k; kw++) {
                            int iw = ow * sh->stride - sh->pad + kw;
                            if (iw < 0 || iw >= sh->w) continue;
                            const float *xp = x + ((size_t)ih * sh->w + iw) * ci_n;
                            const float *wk = W[s] + ((size_t)kh * k + kw) * ci_n * co_n;
                            for (int ci = 0; ci < ci_n; ci++) {
                                float xv = xp[ci];
                                if (xv == 0.0f) continue; /* relu zeros: adding 0 * w is a no-op */
                                const float *wc = wk + (size_t)ci * co_n;
                                for (int co = 0; co < co_n; co++) y[co] += xv * wc[co];
                            }
                        }
                    }
                }
        }
    }
}

void bt_nn_conv2d_bwd_ref(int n_slots, const bt_nn_conv2d_shape *sh, const float *const *X,
                          const float *const *W, const float *const *dY, float *const *dX,
                          float *const *dW, float *const *db, float *scratch) {
    const int oh_n = bt_nn_conv2d_out_h(sh), ow_n = bt_nn_conv2d_out_w(sh);
    const int ci_n = sh->c_in, co_n = sh->c_out, k = sh->k;
    const size_t wn = (size_t)k * k * ci_n * co_n;
    const size_t in_img = (size_t)sh->h * sh->w * ci_n;
    for (int s = 0; s < n_slots; s++) {
        memset(dW[s], 0, wn * sizeof(float));
        if (db && db[s]) memset(db[s], 0, (size_t)co_n * sizeof(float));
        /* W transposed per tap to [kh][kw][c_out][c_in], so dX is also a sum of axpys */
        if (dX) {
            for (int t = 0; t < k * k; t++)
                for (int ci = 0; ci < ci_n; ci++)
                    for (int co = 0; co < co_n; co++)
                        scratch[((size_t)t * co_n + co) * ci_n + ci] =
                            W[s][((size_t)t * ci_n + ci) * co_n + co];
            memset(dX[s], 0, (size_t)sh->rows * in_img * sizeof(float));
        }
        for (int r = 0; r < sh->rows; r++) {
            const float *x = X[s] + (size_t)r * in_img;
            float *dx = dX ? dX[s] + (size_t)r * in_img : NULL;
            for (int oh = 0; oh < oh_n; oh++)
                for (int ow = 0; ow < ow_n; ow++) {
                    const float *dy = dY[s] + (((size_t)r * oh_n + oh) * ow_n + ow) * co_n;
                    if (db && db[s])
                        for (int co = 0; co < co_n; co++) db[s][co] += dy[co];
                    for (int kh = 0; kh < k; kh++) {
                        int ih = oh * sh->stride - sh->pad + kh;
                        if (ih < 0 || ih >= sh->h) continue;
                        for (int kw = 0; kw < k; kw++) {
                            int iw = ow * sh->stride - sh->pad + kw;
                            if (iw < 0 || iw >= sh->w) continue;
                            const size_t tap = (size_t)kh * k + kw;
                            const float *xp = x + ((size_t)ih * sh->w + iw) * ci_n;
                            float *dwk = dW[s] + tap * ci_n * co_n;
                            for (int ci = 0; ci < ci_n; ci++) {
                                float xv = xp[ci];
                                if (xv == 0.0f) continue;
                                float *dwc = dwk + (size_t)ci * co_n;
                                for (int co = 0; co < co_n; co++) dwc[co] += xv * dy[co];
                            }
                            if (!dx) continue;
                            float *dxp = dx + ((size_t)ih * sh->w + iw) * ci_n;
                            const float *wt = scratch + tap * co_n * ci_n;
                            for (int co = 0; co < co_n; co++) {
                                float g = dy[co];
                                if (g == 0.0f) continue;
                                const float *wc = wt + (size_t)co * ci_n;
                                for (int ci = 0; ci < ci_n; ci++) dxp[ci] += g * wc[ci];
                            }
                        }
                    }
                }
        }
    }
}
