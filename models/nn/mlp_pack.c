/* An mlp pack: trial slots sharing one architecture (width, depth, activation, batch norm, batch
 * size). Each slot owns its parameters, gradients and optimizer state; the pack owns scratch laid
 * out per position in a step's slot list. slot_start initializes weights from the trial's key;
 * step runs one epoch: it walks the mini-batches once and, for each, runs every listed slot's
 * forward, backward and update (each kernel call spans all slots, or a thread's range of them),
 * then computes validation metrics. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/nn_batchnorm.h"
#include "kernels/nn_dropout.h"
#include "kernels/nn_linear.h"
#include "kernels/nn_mse.h"
#include "kernels/nn_softmax_ce.h"
#include "kernels/philox.h"
#include "models/nn/nn.h"

#define BN_MOMENTUM 0.1f
#define BN_EPS 1e-5f

void bt_mlp_pack_free(bt_pack *p) {
    if (!p) return;
    for (int i = 0; p->slots && i < p->capacity; i++) bt_nn_slot_free(p->slots[i]);
    free(p->slots);
    free(p->w_off);
    free(p->b_off);
    free(p->gam_off);
    free(p->bet_off);
    free(p->in_dim);
    free(p->out_dim);
    free(p->x0);
    for (int l = 0; l <= p->D; l++) {
        if (p->z) free(p->z[l]);
        if (p->u) free(p->u[l]);
        if (p->xh) free(p->xh[l]);
        if (p->istd) free(p->istd[l]);
        if (p->h) free(p->h[l]);
        if (p->mask) free(p->mask[l]);
    }
    free(p->z);
    free(p->u);
    free(p->xh);
    free(p->istd);
    free(p->h);
    free(p->mask);
    free(p->da);
    free(p->db);
    free(p->lab);
    free(p->tgt);
    free(p->lin_scratch);
    free(p->pa);
    free(p->pb);
    free(p->pc);
    free(p->pd);
    free(p->pe);
    free(p->qa);
    free(p->qb);
    free(p->qc);
    free(p->qd);
    free(p->qe);
    free(p->plab);
    free(p->keys);
    free(p->ep);
    free(p->fa);
    free(p->loss);
    free(p);
}

static float *falloc(size_t n) {
    return malloc((n ? n : 1) * sizeof(float));
}

bt_status bt_mlp_pack_init(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                           int capacity) {
    *out = NULL;
    bt_pack *p = calloc(1, sizeof *p);
    BT_CHECK_ALLOC(p);
    bt_status st = bt_mlp_layout_init(p, data, shape_hp, capacity); /* mlp_host.c */
    if (st != BT_STATUS_OK) {
        bt_mlp_pack_free(p);
        return st;
    }
    const int L = p->D + 1;
    const size_t cap = (size_t)capacity, B = (size_t)p->B;
    const int32_t maxdim = p->maxdim;
    int32_t max_in = 0, max_out = 0;
    for (int l = 0; l < L; l++) {
        if (p->in_dim[l] > max_in) max_in = p->in_dim[l];
        if (p->out_dim[l] > max_out) max_out = p->out_dim[l];
    }
    int ok = 1;
    p->x0 = falloc(cap * B * (size_t)p->F);
    for (int l = 0; l < L; l++) {
        size_t o = (size_t)p->out_dim[l];
        ok = ok && (p->z[l] = falloc(cap * B * o));
        if (l == p->D) continue;
        ok = ok && (p->h[l] = falloc(cap * B * o)) && (p->mask[l] = falloc(cap * B * o));
        if (p->bn)
            ok = ok && (p->u[l] = falloc(cap * B * o)) && (p->xh[l] = falloc(cap * B * o)) &&
                 (p->istd[l] = falloc(cap * o));
    }
    p->da = falloc(cap * B * (size_t)maxdim);
    p->db = falloc(cap * B * (size_t)maxdim);
    p->lab = calloc(cap * B, sizeof *p->lab);
    p->tgt = falloc(cap * B);
    p->lin_scratch = falloc((size_t)max_in * (size_t)max_out);
    p->pa = calloc(cap, sizeof *p->pa);
    p->pb = calloc(cap, sizeof *p->pb);
    p->pc = calloc(cap, sizeof *p->pc);
    p->pd = calloc(cap, sizeof *p->pd);
    p->pe = calloc(cap, sizeof *p->pe);
    p->qa = calloc(cap, sizeof *p->qa);
    p->qb = calloc(cap, sizeof *p->qb);
    p->qc = calloc(cap, sizeof *p->qc);
    p->qd = calloc(cap, sizeof *p->qd);
    p->qe = calloc(cap, sizeof *p->qe);
    p->plab = calloc(cap, sizeof *p->plab);
    p->keys = calloc(cap, sizeof *p->keys);
    p->ep = calloc(cap, sizeof *p->ep);
    p->fa = calloc(cap, sizeof *p->fa);
    p->loss = calloc(cap, sizeof *p->loss);
    if (!ok || !p->x0 || !p->da || !p->db || !p->lab || !p->tgt || !p->lin_scratch || !p->pa ||
        !p->pb || !p->pc || !p->pd || !p->pe || !p->qa || !p->qb || !p->qc || !p->qd || !p->qe ||
        !p->plab || !p->keys || !p->ep || !p->fa || !p->loss) {
        bt_mlp_pack_free(p);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for an mlp pack's scratch");
    }
    *out = p;
    return BT_STATUS_OK;
}

void bt_mlp_slot_clear(bt_pack *p, int slot) {
    if (!p || slot < 0 || slot >= p->capacity) return;
    bt_nn_slot_free(p->slots[slot]);
    p->slots[slot] = NULL;
}

int bt_mlp_slot_failed(const bt_pack *p, int slot) {
    if (!p || slot < 0 || slot >= p->capacity || !p->slots[slot]) return 0;
    return p->slots[slot]->failed;
}

bt_status bt_mlp_slot_start(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key) {
    if (slot < 0 || slot >= p->capacity)
        return BT_FAIL(BT_STATUS_INTERNAL, "slot %d out of range [0, %d)", slot, p->capacity);
    bt_mlp_slot_clear(p, slot);
    const bt_value *v = hp->v;
    bt_mlp_slot *s = NULL;
    BT_TRY(bt_nn_slot_new(&s, v + BT_MLP_COMMON, key, p->n_params,
                          (int64_t)2 * p->H * (p->D > 0 ? p->D : 1), p->sh->n_train));
    s->dropout = (float)v[BT_MLP_DROPOUT].f;
    /* PyTorch's nn.Linear init: W and b uniform in +-1/sqrt(fan_in); batch norm gamma 1, beta 0.
     * Each draw is keyed by the parameter's logical index q (its place in the block without the
     * alignment gaps), so a trial's initial weights do not depend on the padding. */
    int64_t q = 0;
    for (int l = 0; l <= p->D; l++) {
        const float bound = 1.0f / sqrtf((float)p->in_dim[l]);
        const int64_t nw = (int64_t)p->in_dim[l] * p->out_dim[l], nb = p->out_dim[l];
        for (int64_t i = 0; i < nw + nb; i++, q++) {
            double u = bt_philox_uniform(s->key, (uint64_t)q, BT_NN_STREAM_INIT);
            s->w[i < nw ? p->w_off[l] + i : p->b_off[l] + (i - nw)] =
                (float)(2.0 * u - 1.0) * bound;
        }
        if (p->bn && l < p->D) q += 2 * nb; /* gamma and beta: no draws */
        if (p->bn && l < p->D)
            for (int32_t j = 0; j < p->out_dim[l]; j++) {
                s->w[p->gam_off[l] + j] = 1.0f;
                s->w[p->bet_off[l] + j] = 0.0f;
            }
    }
    for (int l = 0; l < p->D; l++)
        for (int32_t j = 0; j < p->H; j++) {
            s->run[(size_t)2 * l * p->H + j] = 0.0f;
            s->run[(size_t)(2 * l + 1) * p->H + j] = 1.0f;
        }
    p->slots[slot] = s;
    return BT_STATUS_OK;
}

/* ---- pointer arrays: one entry per position ------------------------------------------------ */

static const float **cptrs(const float **dst, const float *base, size_t stride, int n) {
    for (int i = 0; i < n; i++) dst[i] = base + (size_t)i * stride;
    return dst;
}
static float **ptrs(float **dst, float *base, size_t stride, int n) {
    for (int i = 0; i < n; i++) dst[i] = base + (size_t)i * stride;
    return dst;
}
static const float **cparam(const float **dst, bt_mlp_slot *const *act, int n, int64_t off,
                            int grad) {
    for (int i = 0; i < n; i++) dst[i] = (grad ? act[i]->g : act[i]->w) + off;
    return dst;
}
static float **param(float **dst, bt_mlp_slot *const *act, int n, int64_t off, int grad) {
    for (int i = 0; i < n; i++) dst[i] = (grad ? act[i]->g : act[i]->w) + off;
    return dst;
}
static float **runstat(float **dst, bt_mlp_slot *const *act, int n, size_t off) {
    for (int i = 0; i < n; i++) dst[i] = act[i]->run + off;
    return dst;
}

/* The forward pass of every position from p->x0 (or `input` rows shared by all positions) to the
 * logits in p->z[D]. train: batch statistics, running-stat updates and dropout. */
static void forward(bt_pack *p, bt_mlp_slot *const *act, int n, const float *shared_input, int rows,
                    int train, uint32_t step) {
    const size_t B = (size_t)p->B;
    for (int l = 0; l <= p->D; l++) {
        const int32_t in = p->in_dim[l], o = p->out_dim[l];
        const float **X = p->pa;
        if (l > 0)
            cptrs(X, p->h[l - 1], B * (size_t)in, n);
        else if (shared_input)
            for (int i = 0; i < n; i++) X[i] = shared_input;
        else
            cptrs(X, p->x0, B * (size_t)in, n);
        bt_nn_linear_fwd_ref(n, rows, in, o, X, cparam(p->pb, act, n, p->w_off[l], 0),
                             cparam(p->pc, act, n, p->b_off[l], 0),
                             ptrs(p->qa, p->z[l], B * (size_t)o, n));
        if (l == p->D) break;
        float *a_in = p->z[l];
        if (p->bn) {
            const float **gam = cparam(p->pb, act, n, p->gam_off[l], 0);
            const float **bet = cparam(p->pc, act, n, p->bet_off[l], 0);
            float **rm = runstat(p->qb, act, n, (size_t)2 * l * p->H);
            float **rv = runstat(p->qc, act, n, (size_t)(2 * l + 1) * p->H);
            const float **zin = cptrs(p->pa, p->z[l], B * (size_t)o, n);
            float **uo = ptrs(p->qa, p->u[l], B * (size_t)o, n);
            if (train)
                bt_nn_bn_train_fwd_ref(n, rows, o, BN_MOMENTUM, BN_EPS, zin, gam, bet, rm, rv,
                                       ptrs(p->qd, p->xh[l], B * (size_t)o, n),
                                       ptrs(p->qe, p->istd[l], (size_t)o, n), uo);
            else
                bt_nn_bn_eval_fwd_ref(n, rows, o, BN_EPS, zin, gam, bet, (const float **)rm,
                                      (const float **)rv, uo);
            a_in = p->u[l];
        }
        for (int i = 0; i < n; i++)
            bt_nn_act_fwd_ref(p->act, (int64_t)rows * o, a_in + (size_t)i * B * o,
                              p->h[l] + (size_t)i * B * o);
        if (train) {
            for (int i = 0; i < n; i++) {
                p->keys[i] = act[i]->key;
                p->fa[i] = act[i]->dropout;
                p->ep[i] = (uint32_t)act[i]->epoch;
            }
            float **hh = ptrs(p->qa, p->h[l], B * (size_t)o, n);
            bt_nn_dropout_fwd_ref(n, (int64_t)rows * o, p->keys, p->fa, p->ep, step, (uint32_t)l,
                                  (const float **)hh, hh,
                                  ptrs(p->qb, p->mask[l], B * (size_t)o, n));
        }
    }
}

void bt_mlp_fwd_bwd(bt_pack *p, bt_mlp_slot *const *act, int n, const int32_t *const *idx, int rows,
                    uint32_t step) {
    const bt_nn_shared *sh = p->sh;
    const size_t B = (size_t)p->B, F = (size_t)p->F, M = (size_t)p->maxdim;
    /* gather each position's rows (every slot has its own batch order) */
    for (int i = 0; i < n; i++)
        for (int r = 0; r < rows; r++) {
            int32_t row = idx[i][r];
            memcpy(p->x0 + ((size_t)i * B + (size_t)r) * F, sh->x_train + (size_t)row * F,
                   F * sizeof(float));
            if (sh->regression)
                p->tgt[(size_t)i * B + (size_t)r] = sh->t_train[row];
            else
                p->lab[(size_t)i * B + (size_t)r] = sh->c_train[row];
        }
    forward(p, act, n, NULL, rows, 1, step);
    const int D = p->D;
    const int32_t K = p->K;
    float **dcur = ptrs(p->qa, p->da, B * M, n);
    if (sh->regression) {
        bt_nn_mse_ref(n, rows, cptrs(p->pa, p->z[D], B * (size_t)K, n), cptrs(p->pb, p->tgt, B, n),
                      p->loss, dcur);
    } else {
        for (int i = 0; i < n; i++) {
            p->plab[i] = p->lab + (size_t)i * B;
            p->fa[i] = act[i]->smoothing;
        }
        bt_nn_softmax_ce_ref(n, rows, K, cptrs(p->pa, p->z[D], B * (size_t)K, n), p->plab, p->fa,
                             p->loss, dcur);
    }
    float *gc = p->da, *gn = p->db;
    for (int l = D; l >= 0; l--) {
        const int32_t in = p->in_dim[l], o = p->out_dim[l];
        const float **X =
            l > 0 ? cptrs(p->pa, p->h[l - 1], B * (size_t)in, n) : cptrs(p->pa, p->x0, B * F, n);
        float **dX = l > 0 ? ptrs(p->qb, gn, B * M, n) : NULL;
        bt_nn_linear_bwd_ref(n, rows, in, o, X, cparam(p->pb, act, n, p->w_off[l], 0),
                             cptrs(p->pc, gc, B * M, n), dX, param(p->qc, act, n, p->w_off[l], 1),
                             param(p->qd, act, n, p->b_off[l], 1), p->lin_scratch);
        if (l == 0) break;
        /* back through hidden layer l-1: dropout, activation, batch norm */
        const int hl = l - 1;
        const int32_t H = p->out_dim[hl];
        float **dh = ptrs(p->qb, gn, B * M, n);
        bt_nn_dropout_bwd_ref(n, (int64_t)rows * H, cptrs(p->pa, p->mask[hl], B * (size_t)H, n),
                              (const float **)dh, dh);
        const float *a_in = p->bn ? p->u[hl] : p->z[hl];
        for (int i = 0; i < n; i++)
            bt_nn_act_bwd_ref(p->act, (int64_t)rows * H, a_in + (size_t)i * B * H,
                              gn + (size_t)i * B * M, gn + (size_t)i * B * M);
        if (p->bn)
            bt_nn_bn_bwd_ref(n, rows, H, cptrs(p->pa, p->xh[hl], B * (size_t)H, n),
                             cptrs(p->pc, p->istd[hl], (size_t)H, n),
                             cparam(p->pd, act, n, p->gam_off[hl], 0), (const float **)dh, dh,
                             param(p->qc, act, n, p->gam_off[hl], 1),
                             param(p->qd, act, n, p->bet_off[hl], 1));
        float *t = gc;
        gc = gn;
        gn = t;
    }
}

/* Validation metrics of the listed slots: eval-mode forward in chunks of batch_size rows. */
static void evaluate(void *ctx, bt_mlp_slot *const *act, int n) {
    bt_pack *p = ctx;
    const bt_nn_shared *sh = p->sh;
    const size_t B = (size_t)p->B, K = (size_t)p->K;
    double *acc = calloc((size_t)n * 3 + 1, sizeof *acc); /* correct or se, logloss or ae */
    double *counts = calloc((size_t)n * 3 * K + 1, sizeof *counts); /* classification */
    float *prob = malloc(K * sizeof *prob);
    if (!acc || !counts || !prob) {
        free(acc);
        free(counts);
        free(prob);
        for (int i = 0; i < n; i++) act[i]->failed = 1; /* cannot happen for tiny buffers */
        return;
    }
    for (int64_t c = 0; c < sh->n_valid; c += (int64_t)B) {
        int rows = (int)(sh->n_valid - c < (int64_t)B ? sh->n_valid - c : (int64_t)B);
        forward(p, act, n, sh->x_valid + (size_t)c * (size_t)p->F, rows, 0, 0);
        for (int i = 0; i < n; i++) {
            const float *z = p->z[p->D] + (size_t)i * B * K;
            if (!sh->regression) {
                bt_nn_class_metrics_add(rows, (int)K, z, sh->c_valid + c, prob, &acc[3 * i],
                                        &acc[3 * i + 1], counts + 3 * K * (size_t)i);
                continue;
            }
            for (int r = 0; r < rows; r++) {
                double pred = (double)z[r] * sh->y_std + sh->y_mean;
                double y = (double)sh->t_valid[c + r] * sh->y_std + sh->y_mean;
                acc[3 * i] += (pred - y) * (pred - y);
                acc[3 * i + 1] += fabs(pred - y);
            }
        }
    }
    const double nv = (double)sh->n_valid;
    for (int i = 0; i < n; i++)
        bt_mlp_metrics_finish(act[i], sh->regression, &acc[3 * i], counts + 3 * K * (size_t)i,
                              (int)K, nv);
    free(acc);
    free(counts);
    free(prob);
}

/* A view of the pack whose per-position scratch and pointer arrays start at position lo, so a
 * thread can run positions [lo, hi) on its own. lp: 6 * (D + 1) layer pointers; lin: the linear
 * layers' transpose scratch. */
static void view_init(bt_pack *v, const bt_pack *p, int lo, float **lp, float *lin) {
    *v = *p;
    const size_t B = (size_t)p->B, M = (size_t)p->maxdim, o = (size_t)lo;
    const int L = p->D + 1;
    v->z = lp;
    v->u = lp + L;
    v->xh = lp + 2 * L;
    v->istd = lp + 3 * L;
    v->h = lp + 4 * L;
    v->mask = lp + 5 * L;
    for (int l = 0; l < L; l++) {
        size_t od = (size_t)p->out_dim[l];
        v->z[l] = p->z[l] ? p->z[l] + o * B * od : NULL;
        v->u[l] = p->u[l] ? p->u[l] + o * B * od : NULL;
        v->xh[l] = p->xh[l] ? p->xh[l] + o * B * od : NULL;
        v->istd[l] = p->istd[l] ? p->istd[l] + o * od : NULL;
        v->h[l] = p->h[l] ? p->h[l] + o * B * od : NULL;
        v->mask[l] = p->mask[l] ? p->mask[l] + o * B * od : NULL;
    }
    v->x0 = p->x0 + o * B * (size_t)p->F;
    v->da = p->da + o * B * M;
    v->db = p->db + o * B * M;
    v->lab = p->lab + o * B;
    v->tgt = p->tgt + o * B;
    v->lin_scratch = lin;
    v->pa = p->pa + o;
    v->pb = p->pb + o;
    v->pc = p->pc + o;
    v->pd = p->pd + o;
    v->pe = p->pe + o;
    v->qa = p->qa + o;
    v->qb = p->qb + o;
    v->qc = p->qc + o;
    v->qd = p->qd + o;
    v->qe = p->qe + o;
    v->plab = p->plab + o;
    v->keys = p->keys + o;
    v->ep = p->ep + o;
    v->fa = p->fa + o;
    v->loss = p->loss + o;
}

static void fwd_bwd(void *ctx, bt_mlp_slot *const *act, int n, const int32_t *const *idx, int rows,
                    uint32_t batch, double *loss) {
    bt_pack *p = ctx;
    bt_mlp_fwd_bwd(p, act, n, idx, rows, batch);
    memcpy(loss, p->loss, (size_t)n * sizeof *loss);
}

/* One epoch of the n slots in act on pack (or view) p. */
static bt_status run_epoch(bt_pack *p, bt_mlp_slot **act, int n) {
    bt_nn_epoch_ops ops = {.ctx = p,
                           .n_train = p->sh->n_train,
                           .n_params = p->n_params,
                           .batch = p->B,
                           .threads = 1,
                           .fwd_bwd = fwd_bwd,
                           .evaluate = evaluate};
    return bt_nn_run_epoch(&ops, act, n);
}

bt_status bt_mlp_step(bt_pack *p, const int *slots, int n_slots) {
    bt_mlp_slot **act = NULL;
    int n = 0;
    BT_TRY(bt_nn_active_slots(p->slots, p->capacity, slots, n_slots, &act, &n));
    /* Threads take contiguous ranges of slots and run the whole epoch for them: slots never
     * interact, so each slot's arithmetic is the same whatever the thread count. */
    int nt = p->data->threads > 1 ? p->data->threads : 1;
    if (nt > n) nt = n > 0 ? n : 1;
    int oom = 0;
    if (nt == 1) {
        oom = run_epoch(p, act, n) != BT_STATUS_OK;
    } else {
        const size_t L = (size_t)p->D + 1;
        size_t lin = 0;
        for (size_t l = 0; l < L; l++) {
            size_t a = (size_t)p->in_dim[l] * (size_t)p->out_dim[l];
            if (a > lin) lin = a;
        }
#pragma omp parallel for schedule(static, 1) num_threads(nt)
        for (int t = 0; t < nt; t++) {
            int lo = (int)((int64_t)n * t / nt), hi = (int)((int64_t)n * (t + 1) / nt);
            float **lp = malloc(6 * L * sizeof *lp);
            float *scratch = malloc(lin * sizeof *scratch);
            int bad = !lp || !scratch;
            if (!bad) {
                bt_pack v;
                view_init(&v, p, lo, lp, scratch);
                bad = run_epoch(&v, act + lo, hi - lo) != BT_STATUS_OK;
            }
            if (bad) {
#pragma omp atomic write
                oom = 1;
            }
            free(lp);
            free(scratch);
        }
    }
    free(act);
    if (oom) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for an epoch's scratch");
    return BT_STATUS_OK;
}
