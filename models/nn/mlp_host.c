/* The host-side bookkeeping the mlp pack shares between its CPU (mlp_pack.c) and CUDA
 * (cuda/mlp_pack.c) variants: the pack's shape and per-slot parameter layout, the start of a slot's
 * epoch (its row order and learning rate, as bt_nn_run_epoch starts it) and the metrics a slot
 * keeps from an epoch's validation sums. One copy, so both devices train the same trial the same
 * way. */
#include <math.h>
#include <stdlib.h>

#include "models/nn/nn.h"

bt_status bt_mlp_layout_init(bt_pack *p, bt_model_data *data, const bt_hparams *shape_hp,
                             int capacity) {
    if (capacity < 1) return BT_FAIL(BT_STATUS_INTERNAL, "pack capacity must be >= 1");
    BT_TRY(bt_nn_data_prepare(data));
    const bt_nn_shared *sh = data->shared;
    const bt_value *v = shape_hp->v;
    int act = bt_nn_act_from_name(v[BT_MLP_ACTIVATION].s);
    if (act < 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "activation: unknown \"%s\"",
                       v[BT_MLP_ACTIVATION].s ? v[BT_MLP_ACTIVATION].s : "(null)");
    p->data = data;
    p->sh = sh;
    p->capacity = capacity;
    p->F = sh->n_features;
    p->K = sh->n_out;
    p->H = (int32_t)v[BT_MLP_WIDTH].i;
    p->D = (int32_t)v[BT_MLP_DEPTH].i;
    p->act = (bt_nn_act)act;
    p->bn = v[BT_MLP_BATCH_NORM].i != 0;
    int64_t bsz = v[BT_MLP_BATCH_SIZE].i;
    p->B = (int32_t)(bsz < sh->n_train ? bsz : sh->n_train);
    const int L = p->D + 1;
    p->slots = calloc((size_t)capacity, sizeof *p->slots);
    p->w_off = calloc((size_t)L, sizeof *p->w_off);
    p->b_off = calloc((size_t)L, sizeof *p->b_off);
    p->gam_off = calloc((size_t)L, sizeof *p->gam_off);
    p->bet_off = calloc((size_t)L, sizeof *p->bet_off);
    p->in_dim = calloc((size_t)L, sizeof *p->in_dim);
    p->out_dim = calloc((size_t)L, sizeof *p->out_dim);
    p->z = calloc((size_t)L, sizeof *p->z);
    p->u = calloc((size_t)L, sizeof *p->u);
    p->xh = calloc((size_t)L, sizeof *p->xh);
    p->istd = calloc((size_t)L, sizeof *p->istd);
    p->h = calloc((size_t)L, sizeof *p->h);
    p->mask = calloc((size_t)L, sizeof *p->mask);
    if (!p->slots || !p->w_off || !p->b_off || !p->gam_off || !p->bet_off || !p->in_dim ||
        !p->out_dim || !p->z || !p->u || !p->xh || !p->istd || !p->h || !p->mask)
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for an mlp pack");
    /* per-slot parameter block: for each layer W (in x out), b (out), then gamma, beta (bn), each
     * starting on a 16-byte boundary (the GEMMs' operands, kernels/nn_blas.h); the gaps stay 0 */
    int64_t off = 0;
    int32_t maxdim = p->F > p->K ? p->F : p->K;
    if (p->D > 0 && p->H > maxdim) maxdim = p->H;
    for (int l = 0; l < L; l++) {
        int32_t in = l == 0 ? p->F : p->H, o = l == p->D ? p->K : p->H;
        p->in_dim[l] = in;
        p->out_dim[l] = o;
        p->w_off[l] = off;
        off += bt_nn_align_floats((int64_t)in * o);
        p->b_off[l] = off;
        off += bt_nn_align_floats(o);
        if (p->bn && l < p->D) {
            p->gam_off[l] = off;
            off += bt_nn_align_floats(o);
            p->bet_off[l] = off;
            off += bt_nn_align_floats(o);
        }
    }
    p->n_params = off; /* a multiple of BT_NN_ALIGN_FLOATS: so is every slot's block start */
    p->maxdim = maxdim;
    return BT_STATUS_OK;
}

void bt_mlp_epoch_begin(bt_mlp_slot *s, int64_t n_train) {
    /* as bt_nn_run_epoch (train.c) starts every slot's epoch on the CPU */
    bt_nn_shuffle(s->perm, n_train, s->key, s->epoch);
    s->opt.lr = (float)bt_nn_lr_at(s, s->epoch);
}

void bt_mlp_metrics_finish(bt_mlp_slot *s, int regression, const double *acc, const double *counts,
                           int k, double nv) {
    if (!regression) {
        bt_nn_class_metrics_set(s, acc[0], acc[1], counts, k, (int64_t)nv);
        return;
    }
    s->metric[BT_NN_M_MSE] = acc[0] / nv;
    s->metric[BT_NN_M_MAE] = acc[1] / nv;
    if (!isfinite(s->metric[BT_NN_M_MSE])) s->failed = 1;
}
