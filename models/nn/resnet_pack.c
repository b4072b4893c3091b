/* A resnet pack: the network's layout (convolution units, blocks, the offsets of every weight in
 * a slot's parameter block), the input shape and per-channel normalization, the scratch one group
 * of slots trains in, and starting a trial (He-uniform convolutions, batch norm 1 and 0, PyTorch's
 * default linear layer, all drawn from Philox keyed by the trial). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/philox.h"
#include "models/nn/resnet.h"

/* Scratch a pack may take for its group of slots trained together (at least one slot's worth). */
#define GROUP_BYTES ((size_t)512 << 20)

bt_status bt_resnet_input_shape(const bt_dataset *d, const char *spec, int32_t *c, int32_t *h,
                                int32_t *w) {
    const int64_t F = d->n_features;
    if (!spec || !*spec || strcmp(spec, "auto") == 0) {
        if (d->channels > 0 && d->height > 0 && d->width > 0 &&
            (int64_t)d->channels * d->height * d->width == F) {
            *c = d->channels, *h = d->height, *w = d->width;
            return BT_STATUS_OK;
        }
        int64_t s = (int64_t)llround(sqrt((double)F));
        if (s * s != F)
            return BT_FAIL(BT_STATUS_BAD_INPUT,
                           "input_shape: the data has %lld features and no image shape; give "
                           "input_shape as \"CxHxW\"",
                           (long long)F);
        *c = 1, *h = (int32_t)s, *w = (int32_t)s;
        return BT_STATUS_OK;
    }
    long dims[3];
    if (!bt_resnet_parse_shape(spec, dims))
        return BT_FAIL(BT_STATUS_BAD_INPUT, "input_shape: \"%s\": %s", spec,
                       bt_resnet_shape_syntax(spec));
    const long a = dims[0], b = dims[1], e = dims[2];
    if ((int64_t)a * b * e != F)
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "input_shape: %ldx%ldx%ld is %lld values but the data has %lld features", a,
                       b, e, (long long)a * b * e, (long long)F);
    *c = (int32_t)a, *h = (int32_t)b, *w = (int32_t)e;
    return BT_STATUS_OK;
}

void bt_resnet_pack_free(bt_pack *pk) {
    bt_resnet_pack *p = (bt_resnet_pack *)pk;
    if (!p) return;
    for (int i = 0; p->slots && i < p->capacity; i++) bt_nn_slot_free(p->slots[i]);
    free(p->slots);
    for (int u = 0; u < p->n_conv; u++) {
        if (p->xh) free(p->xh[u]);
        if (p->out) free(p->out[u]);
        if (p->istd) free(p->istd[u]);
    }
    free(p->xh);
    free(p->out);
    free(p->istd);
    free(p->conv);
    free(p->blk);
    free(p->ch_mean);
    free(p->ch_inv);
    free(p->x0);
    free(p->z);
    free(p->ga);
    free(p->gb);
    free(p->gc);
    free(p->pooled);
    free(p->dpool);
    free(p->logits);
    free(p->dlogits);
    free(p->lab);
    free(p->wt);
    free(p->lin);
    free(p->prob);
    free(p->pa);
    free(p->pb);
    free(p->pc);
    free(p->pd);
    free(p->qa);
    free(p->qb);
    free(p->qc);
    free(p->qd);
    free(p->qe);
    free(p->qf);
    free(p->plab);
    free(p->fa);
    free(p->loss);
    free(p);
}

/* Appends a conv + bn unit reading an (h x w x ci) image; returns its index. Every tensor of a
 * slot's block starts on a 16-byte boundary (the GEMMs' operands, kernels/nn_blas.h). */
static int add_conv(bt_resnet_pack *p, int64_t *off, int64_t *run, int h, int w, int ci, int co,
                    int k, int stride) {
    bt_rn_conv *u = &p->conv[p->n_conv];
    u->sh = (bt_nn_conv2d_shape){
        .rows = 0, .h = h, .w = w, .c_in = ci, .c_out = co, .k = k, .stride = stride, .pad = k / 2};
    u->oh = bt_nn_conv2d_out_h(&u->sh);
    u->ow = bt_nn_conv2d_out_w(&u->sh);
    u->in_n = (size_t)h * w * ci;
    u->out_n = (size_t)u->oh * u->ow * co;
    u->w_off = *off;
    *off += bt_nn_align_floats((int64_t)k * k * ci * co);
    u->gam_off = *off;
    *off += bt_nn_align_floats(co);
    u->bet_off = *off;
    *off += bt_nn_align_floats(co);
    u->run_off = *run;
    *run += 2 * co;
    return p->n_conv++;
}

static void layout(bt_resnet_pack *p) {
    int64_t off = 0, run = 0;
    int h = p->H, w = p->W, ci = p->width;
    add_conv(p, &off, &run, h, w, p->C, p->width, 3, 1);
    for (int stage = 0; stage < 3; stage++) {
        const int co = p->width << stage;
        for (int b = 0; b < p->n; b++) {
            const int stride = stage > 0 && b == 0 ? 2 : 1;
            bt_rn_block *bk = &p->blk[p->n_blocks++];
            bk->c1 = add_conv(p, &off, &run, h, w, ci, co, 3, stride);
            const bt_rn_conv *c1 = &p->conv[bk->c1];
            const int oh = c1->oh, ow = c1->ow;
            bk->c2 = add_conv(p, &off, &run, oh, ow, co, co, 3, 1);
            bk->cs =
                stride != 1 || ci != co ? add_conv(p, &off, &run, h, w, ci, co, 1, stride) : -1;
            h = oh, w = ow, ci = co;
        }
    }
    p->feat = ci;
    p->fc_w = off;
    off += bt_nn_align_floats((int64_t)ci * p->K);
    p->fc_b = off;
    off += bt_nn_align_floats(p->K);
    p->n_params = off; /* a multiple of BT_NN_ALIGN_FLOATS: so is every slot's block start */
    p->n_run = run;
}

/* Per-channel mean and 1 / population std of the train images (double sums in row order). */
static bt_status channel_stats(bt_resnet_pack *p, const bt_dataset *tr) {
    p->ch_mean = malloc((size_t)p->C * sizeof *p->ch_mean);
    p->ch_inv = malloc((size_t)p->C * sizeof *p->ch_inv);
    if (!p->ch_mean || !p->ch_inv)
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for channel statistics");
    const size_t hw = (size_t)p->H * p->W, F = (size_t)p->C * hw;
    for (int32_t c = 0; c < p->C; c++) {
        double s = 0, ss = 0;
        int64_t n = 0;
        for (int64_t i = 0; i < tr->n_rows; i++) {
            const float *x = tr->X + (size_t)i * F + (size_t)c * hw;
            for (size_t q = 0; q < hw; q++)
                if (!isnan(x[q])) s += x[q], n++;
        }
        double mean = n ? s / (double)n : 0.0;
        for (int64_t i = 0; i < tr->n_rows; i++) {
            const float *x = tr->X + (size_t)i * F + (size_t)c * hw;
            for (size_t q = 0; q < hw; q++)
                if (!isnan(x[q])) ss += ((double)x[q] - mean) * ((double)x[q] - mean);
        }
        double sd = n ? sqrt(ss / (double)n) : 0.0;
        p->ch_mean[c] = (float)mean;
        p->ch_inv[c] = sd > 1e-12 && isfinite(sd) ? (float)(1.0 / sd) : 1.0f;
    }
    return BT_STATUS_OK;
}

static float *falloc(size_t n) {
    return malloc((n ? n : 1) * sizeof(float));
}

static bt_status alloc_scratch(bt_resnet_pack *p) {
    const size_t B = (size_t)p->B;
    size_t per_img = p->in_n + 4 * p->max_n + 2 * (size_t)p->feat + 2 * (size_t)p->K;
    for (int u = 0; u < p->n_conv; u++) per_img += 2 * p->conv[u].out_n;
    size_t per_pos = B * per_img * sizeof(float);
    size_t g = GROUP_BYTES / (per_pos ? per_pos : 1);
    p->group = (int)(g < 1 ? 1 : g > (size_t)p->capacity ? (size_t)p->capacity : g);
    const size_t G = (size_t)p->group;
    p->xh = calloc((size_t)p->n_conv, sizeof *p->xh);
    p->out = calloc((size_t)p->n_conv, sizeof *p->out);
    p->istd = calloc((size_t)p->n_conv, sizeof *p->istd);
    if (!p->xh || !p->out || !p->istd) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    int ok = 1;
    size_t wmax = 0;
    for (int u = 0; u < p->n_conv; u++) {
        const bt_rn_conv *c = &p->conv[u];
        ok = ok && (p->xh[u] = falloc(G * B * c->out_n)) &&
             (p->istd[u] = falloc(G * (size_t)c->sh.c_out));
        size_t wn = (size_t)c->sh.k * c->sh.k * c->sh.c_in * c->sh.c_out;
        if (wn > wmax) wmax = wn;
    }
    for (int b = 0; b < p->n_blocks; b++) {
        const bt_rn_block *bk = &p->blk[b];
        ok = ok && (p->out[bk->c1] = falloc(G * B * p->conv[bk->c1].out_n)) &&
             (p->out[bk->c2] = falloc(G * B * p->conv[bk->c2].out_n));
    }
    ok = ok && (p->out[0] = falloc(G * B * p->conv[0].out_n));
    p->x0 = falloc(G * B * p->in_n);
    p->z = falloc(G * B * p->max_n);
    p->ga = falloc(G * B * p->max_n);
    p->gb = falloc(G * B * p->max_n);
    p->gc = falloc(G * B * p->max_n);
    p->pooled = falloc(G * B * (size_t)p->feat);
    p->dpool = falloc(G * B * (size_t)p->feat);
    p->logits = falloc(G * B * (size_t)p->K);
    p->dlogits = falloc(G * B * (size_t)p->K);
    p->lab = calloc(G * B, sizeof *p->lab);
    p->wt = falloc(G * wmax);
    p->lin = falloc((size_t)p->feat * (size_t)p->K);
    p->prob = falloc((size_t)p->K);
    p->pa = calloc(G, sizeof *p->pa);
    p->pb = calloc(G, sizeof *p->pb);
    p->pc = calloc(G, sizeof *p->pc);
    p->pd = calloc(G, sizeof *p->pd);
    p->qa = calloc(G, sizeof *p->qa);
    p->qb = calloc(G, sizeof *p->qb);
    p->qc = calloc(G, sizeof *p->qc);
    p->qd = calloc(G, sizeof *p->qd);
    p->qe = calloc(G, sizeof *p->qe);
    p->qf = calloc(G, sizeof *p->qf);
    p->plab = calloc(G, sizeof *p->plab);
    p->fa = calloc(G, sizeof *p->fa);
    p->loss = calloc(G, sizeof *p->loss);
    if (!ok || !p->x0 || !p->z || !p->ga || !p->gb || !p->gc || !p->pooled || !p->dpool ||
        !p->logits || !p->dlogits || !p->lab || !p->wt || !p->lin || !p->prob || !p->pa || !p->pb ||
        !p->pc || !p->pd || !p->qa || !p->qb || !p->qc || !p->qd || !p->qe || !p->qf || !p->plab ||
        !p->fa || !p->loss)
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for a resnet pack's scratch (%zu MiB)",
                       G * per_pos >> 20);
    return BT_STATUS_OK;
}

bt_status bt_resnet_layout_init(bt_resnet_pack *p, bt_model_data *data, const bt_value *v,
                                int capacity) {
    if (capacity < 1) return BT_FAIL(BT_STATUS_INTERNAL, "pack capacity must be >= 1");
    p->data = data;
    p->capacity = capacity;
    BT_TRY(bt_nn_data_prepare_labels(data));
    const bt_nn_shared *sh = data->shared;
    if (sh->regression) return BT_FAIL(BT_STATUS_BAD_INPUT, "resnet: classification only");
    p->sh = sh;
    const int64_t depth = v[BT_RESNET_DEPTH].i;
    if (depth < 8 || (depth - 2) % 6 != 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "depth: must be 6n + 2 (8, 14, 20, 32, ...), got %lld",
                       (long long)depth);
    BT_TRY(bt_resnet_input_shape(data->train, v[BT_RESNET_INPUT_SHAPE].s, &p->C, &p->H, &p->W));
    p->x_train = data->train->X;
    p->x_valid = bt_nn_eval_set(data)->X;
    p->depth = (int32_t)depth;
    p->n = (int32_t)((depth - 2) / 6);
    p->width = (int32_t)v[BT_RESNET_WIDTH].i;
    p->K = sh->n_out;
    int64_t bsz = v[BT_RESNET_BATCH_SIZE].i;
    p->B = (int32_t)(bsz < sh->n_train ? bsz : sh->n_train);
    p->threads = data->threads > 1 ? data->threads : 1;
    p->conv = calloc((size_t)(1 + 9 * p->n), sizeof *p->conv);
    p->blk = calloc((size_t)(3 * p->n), sizeof *p->blk);
    p->slots = calloc((size_t)p->capacity, sizeof *p->slots);
    if (!p->conv || !p->blk || !p->slots) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    layout(p);
    p->in_n = (size_t)p->C * p->H * p->W;
    for (int u = 0; u < p->n_conv; u++)
        if (p->conv[u].out_n > p->max_n) p->max_n = p->conv[u].out_n;
    return channel_stats(p, data->train);
}

bt_status bt_resnet_pack_init(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                              int capacity) {
    *out = NULL;
    bt_resnet_pack *p = calloc(1, sizeof *p);
    BT_CHECK_ALLOC(p);
    bt_status st = bt_resnet_layout_init(p, data, shape_hp->v, capacity);
    if (st == BT_STATUS_OK) st = alloc_scratch(p);
    if (st != BT_STATUS_OK) {
        bt_resnet_pack_free((bt_pack *)p);
        return st;
    }
    *out = (bt_pack *)p;
    return BT_STATUS_OK;
}

void bt_resnet_slot_clear(bt_pack *pk, int slot) {
    bt_resnet_pack *p = (bt_resnet_pack *)pk;
    if (!p || slot < 0 || slot >= p->capacity) return;
    bt_nn_slot_free(p->slots[slot]);
    p->slots[slot] = NULL;
}

int bt_resnet_slot_failed(const bt_pack *pk, int slot) {
    const bt_resnet_pack *p = (const bt_resnet_pack *)pk;
    if (!p || slot < 0 || slot >= p->capacity || !p->slots[slot]) return 0;
    return p->slots[slot]->failed;
}

/* n uniform draws in +-bound into w[at..), keyed by the logical indices q.. (a parameter's place
 * in the block without the alignment gaps, so the draws do not depend on the padding). */
static void uniform(bt_nn_slot *s, int64_t at, int64_t q, int64_t n, float bound) {
    for (int64_t i = 0; i < n; i++) {
        double u = bt_philox_uniform(s->key, (uint64_t)(q + i), BT_NN_STREAM_INIT);
        s->w[at + i] = (float)(2.0 * u - 1.0) * bound;
    }
}

bt_status bt_resnet_slot_start(bt_pack *pk, int slot, const bt_hparams *hp, uint64_t key) {
    bt_resnet_pack *p = (bt_resnet_pack *)pk;
    if (slot < 0 || slot >= p->capacity)
        return BT_FAIL(BT_STATUS_INTERNAL, "slot %d out of range [0, %d)", slot, p->capacity);
    bt_resnet_slot_clear(pk, slot);
    const bt_value *v = hp->v;
    bt_nn_slot *s = NULL;
    BT_TRY(bt_nn_slot_new(&s, v + BT_RESNET_COMMON, key, p->n_params, p->n_run, p->sh->n_train));
    s->crop_pad = (int)v[BT_RESNET_CROP_PADDING].i;
    s->hflip = v[BT_RESNET_HFLIP].i != 0;
    /* convolutions: He (Kaiming) uniform for relu, bound sqrt(6 / fan_in); batch norm 1 and 0 */
    int64_t q = 0; /* logical index: weights, then gamma and beta (no draws), unit by unit */
    for (int u = 0; u < p->n_conv; u++) {
        const bt_rn_conv *c = &p->conv[u];
        const int64_t fan_in = (int64_t)c->sh.k * c->sh.k * c->sh.c_in;
        uniform(s, c->w_off, q, fan_in * c->sh.c_out, sqrtf(6.0f / (float)fan_in));
        q += (fan_in + 2) * c->sh.c_out;
        for (int j = 0; j < c->sh.c_out; j++) {
            s->w[c->gam_off + j] = 1.0f;
            s->w[c->bet_off + j] = 0.0f;
            s->run[c->run_off + j] = 0.0f;
            s->run[c->run_off + c->sh.c_out + j] = 1.0f;
        }
    }
    /* the classifier: PyTorch's nn.Linear default, W and b uniform in +-1/sqrt(fan_in) */
    const int64_t nw = (int64_t)p->feat * p->K;
    uniform(s, p->fc_w, q, nw, 1.0f / sqrtf((float)p->feat));
    uniform(s, p->fc_b, q + nw, p->K, 1.0f / sqrtf((float)p->feat));
    p->slots[slot] = s;
    return BT_STATUS_OK;
}
