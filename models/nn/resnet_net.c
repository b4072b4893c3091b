/* The resnet's forward and backward passes over a group of slots, and its evaluation: each layer
 * is one batched kernel call spanning every position of the group (the CPU kernels thread over
 * slots and images inside), the input batch is gathered per slot with its own crop and flip. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/nn_act.h"
#include "kernels/nn_batchnorm.h"
#include "kernels/nn_linear.h"
#include "kernels/nn_pool.h"
#include "kernels/nn_residual.h"
#include "kernels/nn_softmax_ce.h"
#include "kernels/philox.h"
#include "models/nn/resnet.h"

#define BN_MOMENTUM 0.1f
#define BN_EPS 1e-5f

void bt_resnet_gather(const bt_resnet_pack *p, const float *src, const bt_nn_slot *s, uint32_t pos,
                      float *dst) {
    const int H = p->H, W = p->W, C = p->C;
    const size_t hw = (size_t)H * W;
    int oy = 0, ox = 0, flip = 0;
    if (s && (s->crop_pad > 0 || s->hflip)) {
        bt_philox_out o =
            bt_philox4x32(s->key, (uint64_t)s->epoch << 32 | pos, BT_NN_STREAM_AUG << 32);
        const uint64_t span = (uint64_t)(2 * s->crop_pad + 1);
        oy = (int)(((uint64_t)o.v[0] * span) >> 32) - s->crop_pad;
        ox = (int)(((uint64_t)o.v[1] * span) >> 32) - s->crop_pad;
        flip = s->hflip && (o.v[2] & 1u);
    }
    for (int y = 0; y < H; y++) {
        const int sy = y + oy;
        for (int x = 0; x < W; x++) {
            const int sx = (flip ? W - 1 - x : x) + ox;
            float *d = dst + ((size_t)y * W + x) * C;
            if (sy < 0 || sy >= H || sx < 0 || sx >= W) {
                for (int c = 0; c < C; c++) d[c] = 0.0f;
                continue;
            }
            for (int c = 0; c < C; c++) {
                float v = src[(size_t)c * hw + (size_t)sy * W + sx];
                d[c] = isnan(v) ? 0.0f : (v - p->ch_mean[c]) * p->ch_inv[c];
            }
        }
    }
}

/* conv unit u on input `in` (per-position stride in_stride), batch norm into y (stride
 * B * out_n); train: batch statistics (xhat and inv std saved, running statistics updated). */
static void conv_bn(bt_resnet_pack *p, bt_nn_slot *const *act, int n, int rows, int u,
                    const float *in, size_t in_stride, float *y, int train) {
    const bt_rn_conv *c = &p->conv[u];
    const size_t B = (size_t)p->B;
    bt_nn_conv2d_shape sh = c->sh;
    sh.rows = rows;
    const int co = sh.c_out, m = rows * c->oh * c->ow;
    bt_nn_conv2d_fwd_cpu(n, &sh, bt_nn_cptrs(p->pa, in, in_stride, n),
                         bt_nn_wptrs(p->pb, act, n, c->w_off), NULL,
                         bt_nn_ptrs(p->qa, p->z, B * p->max_n, n), p->threads);
    const float **z = bt_nn_cptrs(p->pa, p->z, B * p->max_n, n);
    const float **gam = bt_nn_wptrs(p->pb, act, n, c->gam_off);
    const float **bet = bt_nn_wptrs(p->pc, act, n, c->bet_off);
    float **rm = bt_nn_runptrs(p->qb, act, n, c->run_off);
    float **rv = bt_nn_runptrs(p->qc, act, n, c->run_off + co);
    float **yo = bt_nn_ptrs(p->qd, y, B * c->out_n, n);
    if (train)
        bt_nn_bn_train_fwd_cpu(n, m, co, BN_MOMENTUM, BN_EPS, z, gam, bet, rm, rv,
                               bt_nn_ptrs(p->qe, p->xh[u], B * c->out_n, n),
                               bt_nn_ptrs(p->qf, p->istd[u], (size_t)co, n), yo, p->threads);
    else
        bt_nn_bn_eval_fwd_cpu(n, m, co, BN_EPS, z, gam, bet, (const float **)rm, (const float **)rv,
                              yo, p->threads);
}

enum { EW_RELU, EW_RELU_BWD, EW_ADD };

/* An elementwise op on the first len elements of each of n positions (y at i * ys, x at i * xs):
 * relu (y = max(y, 0)), relu backward (y = x > 0 ? y : 0, x the relu's output), add (y += x).
 * Chunks run on any thread: every element is computed alone. */
static void elementwise(const bt_resnet_pack *p, int op, int n, int64_t len, float *y, size_t ys,
                        const float *x, size_t xs) {
    enum { CHUNK = 1 << 14 };
    const int64_t nc = (len + CHUNK - 1) / CHUNK, items = nc * n;
#pragma omp parallel for schedule(static) num_threads(p->threads) if (items > 1)
    for (int64_t it = 0; it < items; it++) {
        const int64_t lo = (it % nc) * CHUNK, m = len - lo < CHUNK ? len - lo : CHUNK;
        float *yi = y + (size_t)(it / nc) * ys + lo;
        const float *xi = x ? x + (size_t)(it / nc) * xs + lo : NULL;
        switch (op) {
        case EW_RELU:
            bt_nn_act_fwd_ref(BT_NN_ACT_RELU, m, yi, yi);
            break;
        case EW_RELU_BWD:
            bt_nn_act_bwd_ref(BT_NN_ACT_RELU, m, xi, yi, yi);
            break;
        default: /* EW_ADD */
            bt_nn_residual_fwd_ref(1, m, (const float **)&yi, &xi, &yi);
        }
    }
}

/* Block b's input: the stem's output or the previous block's. */
static const float *block_in(const bt_resnet_pack *p, int b) {
    return b == 0 ? p->out[0] : p->out[p->blk[b - 1].c2];
}

/* Forward from p->x0 (position i's images at i * x0_stride) to p->logits. */
static void forward(bt_resnet_pack *p, bt_nn_slot *const *act, int n, int rows, size_t x0_stride,
                    int train) {
    const size_t B = (size_t)p->B;
    const bt_rn_conv *cv = p->conv;
    conv_bn(p, act, n, rows, 0, p->x0, x0_stride, p->out[0], train);
    elementwise(p, EW_RELU, n, (int64_t)rows * cv[0].out_n, p->out[0], B * cv[0].out_n, NULL, 0);
    for (int b = 0; b < p->n_blocks; b++) {
        const bt_rn_block *bk = &p->blk[b];
        const float *in = block_in(p, b);
        const size_t in_n = cv[bk->c1].in_n, on = cv[bk->c2].out_n;
        conv_bn(p, act, n, rows, bk->c1, in, B * in_n, p->out[bk->c1], train);
        elementwise(p, EW_RELU, n, (int64_t)rows * cv[bk->c1].out_n, p->out[bk->c1],
                    B * cv[bk->c1].out_n, NULL, 0);
        conv_bn(p, act, n, rows, bk->c2, p->out[bk->c1], B * cv[bk->c1].out_n, p->out[bk->c2],
                train);
        const float *sc = in;
        size_t sc_stride = B * in_n;
        if (bk->cs >= 0) { /* projection into ga, free during the forward pass */
            conv_bn(p, act, n, rows, bk->cs, in, B * in_n, p->ga, train);
            sc = p->ga;
            sc_stride = B * on;
        }
        elementwise(p, EW_ADD, n, (int64_t)rows * on, p->out[bk->c2], B * on, sc, sc_stride);
        elementwise(p, EW_RELU, n, (int64_t)rows * on, p->out[bk->c2], B * on, NULL, 0);
    }
    const bt_rn_conv *last = &cv[p->blk[p->n_blocks - 1].c2];
    const size_t F = (size_t)p->feat, K = (size_t)p->K;
    bt_nn_gap_fwd_ref(n, rows, last->oh * last->ow, p->feat,
                      bt_nn_cptrs(p->pa, p->out[p->blk[p->n_blocks - 1].c2], B * last->out_n, n),
                      bt_nn_ptrs(p->qa, p->pooled, B * F, n));
    bt_nn_linear_fwd_ref(n, rows, p->feat, p->K, bt_nn_cptrs(p->pa, p->pooled, B * F, n),
                         bt_nn_wptrs(p->pb, act, n, p->fc_w), bt_nn_wptrs(p->pc, act, n, p->fc_b),
                         bt_nn_ptrs(p->qa, p->logits, B * K, n));
}

/* Backward through batch norm and convolution of unit u: dy (stride B * max_n) holds the
 * gradient at the bn output, dbn receives the one at the bn input (may be dy), dx the one at the
 * conv input (skipped when NULL); weight gradients land in the slots. */
static void conv_bn_bwd(bt_resnet_pack *p, bt_nn_slot *const *act, int n, int rows, int u,
                        const float *in, size_t in_stride, const float *dy, float *dbn, float *dx) {
    const bt_rn_conv *c = &p->conv[u];
    const size_t B = (size_t)p->B, G = B * p->max_n;
    bt_nn_conv2d_shape sh = c->sh;
    sh.rows = rows;
    const int co = sh.c_out, m = rows * c->oh * c->ow;
    float **d = bt_nn_ptrs(p->qa, dbn, G, n);
    bt_nn_bn_bwd_cpu(n, m, co, bt_nn_cptrs(p->pa, p->xh[u], B * c->out_n, n),
                     bt_nn_cptrs(p->pb, p->istd[u], (size_t)co, n),
                     bt_nn_wptrs(p->pc, act, n, c->gam_off), bt_nn_cptrs(p->pd, dy, G, n), d,
                     bt_nn_gptrs(p->qb, act, n, c->gam_off), bt_nn_gptrs(p->qc, act, n, c->bet_off),
                     p->threads);
    bt_nn_conv2d_bwd_cpu(n, &sh, bt_nn_cptrs(p->pa, in, in_stride, n),
                         bt_nn_wptrs(p->pb, act, n, c->w_off), (const float **)d,
                         dx ? bt_nn_ptrs(p->qd, dx, G, n) : NULL,
                         bt_nn_gptrs(p->qe, act, n, c->w_off), NULL, p->wt, p->threads);
}

void bt_resnet_fwd_bwd(bt_resnet_pack *p, bt_nn_slot *const *act, int n, const int32_t *const *idx,
                       int rows, uint32_t batch, double *loss) {
    const size_t B = (size_t)p->B, F = (size_t)p->feat, K = (size_t)p->K, G = B * p->max_n;
    const size_t nf = (size_t)p->sh->n_features;
    const int64_t items = (int64_t)n * rows;
#pragma omp parallel for schedule(static) num_threads(p->threads)
    for (int64_t it = 0; it < items; it++) {
        const int i = (int)(it / rows), r = (int)(it % rows);
        const int32_t row = idx[i][r];
        bt_resnet_gather(p, p->x_train + (size_t)row * nf, act[i],
                         batch * (uint32_t)p->B + (uint32_t)r,
                         p->x0 + ((size_t)i * B + (size_t)r) * p->in_n);
        p->lab[(size_t)i * B + (size_t)r] = p->sh->c_train[row];
    }
    forward(p, act, n, rows, B * p->in_n, 1);
    for (int i = 0; i < n; i++) {
        p->plab[i] = p->lab + (size_t)i * B;
        p->fa[i] = act[i]->smoothing;
    }
    bt_nn_softmax_ce_ref(n, rows, p->K, bt_nn_cptrs(p->pa, p->logits, B * K, n), p->plab, p->fa,
                         loss, bt_nn_ptrs(p->qa, p->dlogits, B * K, n));
    bt_nn_linear_bwd_ref(n, rows, p->feat, p->K, bt_nn_cptrs(p->pa, p->pooled, B * F, n),
                         bt_nn_wptrs(p->pb, act, n, p->fc_w),
                         bt_nn_cptrs(p->pc, p->dlogits, B * K, n),
                         bt_nn_ptrs(p->qa, p->dpool, B * F, n), bt_nn_gptrs(p->qb, act, n, p->fc_w),
                         bt_nn_gptrs(p->qc, act, n, p->fc_b), p->lin);
    const bt_rn_conv *cv = p->conv;
    const bt_rn_conv *last = &cv[p->blk[p->n_blocks - 1].c2];
    float *ga = p->ga, *gb = p->gb, *gc = p->gc; /* ga: gradient at the current block's output */
    bt_nn_gap_bwd_ref(n, rows, last->oh * last->ow, p->feat, bt_nn_cptrs(p->pa, p->dpool, B * F, n),
                      bt_nn_ptrs(p->qa, ga, G, n));
    for (int b = p->n_blocks - 1; b >= 0; b--) {
        const bt_rn_block *bk = &p->blk[b];
        const float *in = block_in(p, b);
        const size_t in_n = cv[bk->c1].in_n, on = cv[bk->c2].out_n, mid = cv[bk->c1].out_n;
        elementwise(p, EW_RELU_BWD, n, (int64_t)rows * on, ga, G, p->out[bk->c2], B * on);
        /* the main path reads ga into gb; ga stays for the shortcut */
        conv_bn_bwd(p, act, n, rows, bk->c2, p->out[bk->c1], B * mid, ga, gb, gc);
        elementwise(p, EW_RELU_BWD, n, (int64_t)rows * mid, gc, G, p->out[bk->c1], B * mid);
        conv_bn_bwd(p, act, n, rows, bk->c1, in, B * in_n, gc, gc, gb);
        float *dsc = ga;
        if (bk->cs >= 0) {
            conv_bn_bwd(p, act, n, rows, bk->cs, in, B * in_n, ga, ga, gc);
            dsc = gc;
        }
        elementwise(p, EW_ADD, n, (int64_t)rows * in_n, gb, G, dsc, G);
        float *t = ga;
        ga = gb;
        gb = t;
    }
    elementwise(p, EW_RELU_BWD, n, (int64_t)rows * cv[0].out_n, ga, G, p->out[0], B * cv[0].out_n);
    conv_bn_bwd(p, act, n, rows, 0, p->x0, B * p->in_n, ga, ga, NULL);
}

void bt_resnet_evaluate(bt_resnet_pack *p, bt_nn_slot *const *act, int n_all) {
    const bt_nn_shared *sh = p->sh;
    const size_t B = (size_t)p->B, K = (size_t)p->K, nf = (size_t)sh->n_features;
    double *acc = calloc((size_t)n_all * 2 + 1, sizeof *acc);
    double *counts = calloc((size_t)n_all * 3 * K + 1, sizeof *counts);
    if (!acc || !counts) {
        free(acc);
        free(counts);
        for (int i = 0; i < n_all; i++) act[i]->failed = 1;
        return;
    }
    for (int g0 = 0; g0 < n_all; g0 += p->group) {
        const int n = n_all - g0 < p->group ? n_all - g0 : p->group;
        for (int64_t c = 0; c < sh->n_valid; c += (int64_t)B) {
            const int rows = (int)(sh->n_valid - c < (int64_t)B ? sh->n_valid - c : (int64_t)B);
            /* every position reads the same images (stride 0) */
#pragma omp parallel for schedule(static) num_threads(p->threads)
            for (int r = 0; r < rows; r++)
                bt_resnet_gather(p, p->x_valid + (size_t)(c + r) * nf, NULL, 0,
                                 p->x0 + (size_t)r * p->in_n);
            forward(p, act + g0, n, rows, 0, 0);
            for (int i = 0; i < n; i++)
                bt_nn_class_metrics_add(rows, (int)K, p->logits + (size_t)i * B * K,
                                        sh->c_valid + c, p->prob, &acc[2 * (g0 + i)],
                                        &acc[2 * (g0 + i) + 1], counts + 3 * K * (size_t)(g0 + i));
        }
    }
    for (int i = 0; i < n_all; i++)
        bt_nn_class_metrics_set(act[i], acc[2 * i], acc[2 * i + 1], counts + 3 * K * (size_t)i,
                                (int)K, sh->n_valid);
    free(acc);
    free(counts);
}
