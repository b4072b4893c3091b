/* The gbdt pack on a CUDA stream: the same trials, slots and trees as pack.c, grown by the CUDA
 * twins of the kernels (kernels/cuda/gbdt_*.cu). By default a round is one cached CUDA graph --
 * gradients, round init, every level with the split application on the device, leaves and
 * predictions -- and one host wait that brings back the trees and margins (per wave of trees);
 * with bt_gbdt_cuda_set_device_levels(0) the host applies each level's splits with grow.c's
 * functions and waits once per level. Trees land on the host in pack.c's bt_gbdt_tree format, so
 * eval/export/early stopping reuse the CPU code. Built only with CUDA (BT_HAVE_CUDA); see
 * docs/cuda.md ("The gbdt pack on the GPU").
 * This file: the pack's entry points (init, free, slots, step) around the round, whose stages are
 * the folder's other files: data.c (the device copy of the data), sizing.c (buffers and memory
 * planning), graphs.c (launch groups as CUDA graphs), round.c (what both rounds share),
 * round_graph.c (the levels on the device), round_host.c (the levels applied on the host). */
#include "models/gbdt/cuda/pack.h"
#include "models/gbdt/trainer.h"

#if BT_HAVE_CUDA

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/gbdt/cuda/internal.h"

static cuda_pack *cp_of(bt_pack *p) {
    return (cuda_pack *)p; /* host is the first member */
}

void bt_gbdt_cuda_pack_free(bt_pack *p) {
    if (!p) return;
    if (p->linear) { /* a host pack (pack_init) */
        bt_gbdt_pack_free(p);
        return;
    }
    cuda_pack *c = cp_of(p);
    if (c->stream) {
        cudaSetDevice(c->device);
        cudaStreamSynchronize(c->stream);
    }
    void *bufs[] = {c->margin_train, c->margin_valid, c->g,       c->h,
                    c->gh,           c->rows,         c->scratch, c->params,
                    c->eg,           c->eh,           c->finite,  c->n_sampled,
                    c->qscratch,     c->hist,         c->items.p, c->split_scratch.p,
                    c->splits.p,     c->n_left.p,     c->dl.p,    c->level_items.p,
                    c->chunk_counts};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) bt_cuda_free(bufs[i]);
    bt_gcu_graphs_clear(c);
    free(c->graphs);
    if (c->stream) cudaStreamDestroy(c->stream);
    /* pinned: the stage, the read-back buffer, the mirrors the slots' margins point into (a slot
     * leaves lent margins to their owner: bt_gbdt_pack_free below does not free them) */
    void *pinned[] = {c->stage.p, c->back.p, c->h_margin_train, c->h_margin_valid, c->h_params};
    for (size_t i = 0; i < sizeof pinned / sizeof pinned[0]; i++) bt_cuda_free_host(pinned[i]);
    bt_gbdt_pack_free(&c->host); /* frees the slots, then the block (c == &c->host) */
}

bt_status bt_gbdt_cuda_pack_init(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                                 int capacity) {
    *out = NULL;
    if (capacity < 1) return BT_FAIL(BT_STATUS_INTERNAL, "pack capacity must be >= 1");
    const char *booster = shape_hp->v[BT_GBDT_BOOSTER].s;
    if (booster && strcmp(booster, "gblinear") == 0) {
        /* no GPU linear trainer: gblinear packs of a GPU run train on the host, and say so */
        BT_TRY(bt_gbdt_pack_init(out, data, shape_hp, capacity));
        snprintf((*out)->note, sizeof(*out)->note,
                 "booster gblinear trains on the CPU (%d threads): batchtune has no GPU linear "
                 "trainer; gbtree packs use the GPU",
                 (*out)->threads);
        return BT_STATUS_OK;
    }
    const bt_gbdt_binning *bin = NULL;
    BT_TRY(bt_gbdt_binning_get(data, (int32_t)shape_hp->v[BT_GBDT_MAX_BIN].i, &bin));
    const bt_gbdt_shared *sh = data->shared;
    const int64_t n = bin->train.n_rows;
    const int32_t F = bin->train.n_features;
    if (n < 1 || F < 1)
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "gbdt on cuda: the train set has %lld rows and %d "
                       "features; both must be >= 1",
                       (long long)n, F);
    if (n > INT32_MAX) /* row ids are int32 on both sides */
        return BT_FAIL(BT_STATUS_BAD_INPUT, "gbdt on cuda: %lld train rows exceed int32",
                       (long long)n);
    const int32_t K = bt_gcu_pack_outputs(data, sh, shape_hp);
    cuda_pack *c = calloc(1, sizeof *c);
    BT_CHECK_ALLOC(c);
    c->host.slots = calloc((size_t)capacity, sizeof *c->host.slots);
    if (!c->host.slots) {
        free(c);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for %d slots", capacity);
    }
    c->host.data = data;
    c->host.bin = bin;
    c->host.capacity = capacity;
    c->host.threads = data->threads > 0 ? data->threads : 1;
    c->host.on_gpu = 1;
    c->K = K;
    c->n = n;
    c->nv = data->valid && data->valid->n_rows > 0 ? data->valid->n_rows : 0;
    c->T = (int64_t)bin->off[F];
    c->hist_budget = bt_gcu_default_hist_budget;
    c->max_batch = capacity;
    c->use_graphs = bt_gcu_default_use_graphs;
    c->device_levels = bt_gcu_default_device_levels;
    c->graphs = calloc(GRAPH_CACHE, sizeof *c->graphs);
    if (!c->graphs) {
        free(c->host.slots);
        free(c);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for the graph cache");
    }
    bt_status st = BT_STATUS_OK;
    if (cudaGetDevice(&c->device) != cudaSuccess) {
        cudaGetLastError();
        st = BT_FAIL(BT_STATUS_INTERNAL, "gbdt on cuda: no usable CUDA device");
    }
    if (st == BT_STATUS_OK) st = bt_gcu_data_get(data, bin, &c->dd);
    if (st == BT_STATUS_OK) st = bt_gcu_pack_buffers(c);
    if (st != BT_STATUS_OK) {
        bt_gbdt_cuda_pack_free(&c->host);
        return st;
    }
    *out = &c->host;
    return BT_STATUS_OK;
}

void bt_gbdt_cuda_slot_clear(bt_pack *p, int slot) {
    /* (a gblinear host pack too: the device segments below do not exist there) */
    bt_gbdt_slot_clear(p, slot); /* device segments are overwritten by the next slot_start */
}

bt_status bt_gbdt_cuda_slot_start(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key) {
    if (p->linear) return bt_gbdt_slot_start(p, slot, hp, key);
    cuda_pack *c = cp_of(p);
    CU(cudaSetDevice(c->device));
    BT_TRY(bt_gbdt_slot_start(p, slot, hp, key));
    bt_gbdt_slot *s = p->slots[slot];
    if (s->n_out > c->K) {
        int32_t k = s->n_out;
        bt_gbdt_slot_clear(p, slot);
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "gbdt on cuda: the trial has %d classes, the pack was sized for %d", k,
                       c->K);
    }
    /* host margins start at base_margin (bt_gbdt_slot_start); they move into the slot's segments
     * of the pinned mirrors, which the pack lends the slot, and the device copy starts the same */
    const size_t K = (size_t)c->K, n = (size_t)c->n, nv = (size_t)(c->nv > 0 ? c->nv : 1);
    const size_t bt = n * (size_t)s->n_out * sizeof(float);
    const size_t bv = (size_t)c->nv * (size_t)s->n_out * sizeof(float);
    float *mt = c->h_margin_train + (size_t)slot * n * K, *mv = c->h_margin_valid + slot * nv * K;
    memcpy(mt, s->margin_train, bt);
    if (bv) memcpy(mv, s->margin_valid, bv);
    free(s->margin_train);
    free(s->margin_valid);
    s->margin_train = mt;
    s->margin_valid = mv;
    s->margins_lent = 1;
    c->h_params[slot] = s->sp;
    CU(cudaMemcpyAsync(c->margin_train + (size_t)slot * n * K, mt, bt, cudaMemcpyHostToDevice,
                       c->stream));
    if (bv)
        CU(cudaMemcpyAsync(c->margin_valid + (size_t)slot * (size_t)c->nv * K, mv, bv,
                           cudaMemcpyHostToDevice, c->stream));
    CU(cudaMemcpyAsync(c->params + slot, c->h_params + slot, sizeof s->sp, cudaMemcpyHostToDevice,
                       c->stream));
    CU(cudaStreamSynchronize(c->stream)); /* the copies read pinned memory when they run */
    return BT_STATUS_OK;
}

/* ---- one round ---------------------------------------------------------------------------- */

/* Grows one round for the listed slots (not failed, not stopped, trees capacity ready): gradients,
 * quantization, row sampling, the levels, leaves, predictions of out-of-sample train rows and of
 * the valid set, then copies margins and trees to the host slots. Slots whose gradients are not
 * finite are marked failed and grow nothing. Made here: the trees and the prologue's items, which
 * both rounds take; the rest is round_graph.c's (the default) or round_host.c's. */
static bt_status cuda_round(cuda_pack *c, bt_gbdt_slot **act, const int *act_slot, int n_act) {
    const int64_t n = c->n, K = c->K;
    bt_status st = BT_STATUS_OK;
    int n_w = 0;
    for (int i = 0; i < n_act; i++) n_w += act[i]->n_out;
    tgrow *W = calloc((size_t)(n_w > 0 ? n_w : 1), sizeof *W);
    BT_CHECK_ALLOC(W);
    bt_gbdt_grad_item *gi = NULL;
    bt_gbdt_quant_item *qi = NULL;
    bt_gbdt_sample_rows_item *ri = NULL;
    for (int i = 0, t = 0; i < n_act; i++)
        for (int32_t k = 0; k < act[i]->n_out; k++, t++) {
            W[t].s = act[i];
            W[t].slot = act_slot[i];
            W[t].k = k;
            W[t].seg = ((int64_t)act_slot[i] * K + k) * n;
        }

    /* 1. gradients (per slot), quantization and row samples (per tree) */
    ALLOCG(gi, n_act);
    ALLOCG(qi, n_w);
    ALLOCG(ri, n_w);
    for (int i = 0; i < n_act; i++) {
        bt_gbdt_grad_item x = {(int64_t)act_slot[i] * n * K, (int64_t)act_slot[i] * K * n,
                               (int32_t)act[i]->obj, act[i]->n_out, act[i]->scale_pos_weight};
        gi[i] = x;
    }
    for (int t = 0; t < n_w; t++) {
        const bt_gbdt_slot *s = W[t].s;
        bt_gbdt_quant_item q = {W[t].seg, n};
        qi[t] = q;
        memset(&ri[t], 0, sizeof ri[t]);
        ri[t].key = s->key;
        ri[t].tree = (uint64_t)s->round * (uint64_t)s->n_out + (uint64_t)W[t].k;
        ri[t].subsample = s->subsample;
        ri[t].out_offset = W[t].seg;
        ri[t].complement = 0;
    }
    const prologue_launch pro = {gi, qi, ri, n_act, n_w}; /* host arrays, staged by the round */
    /* nothing launched yet: an out-of-memory may retry smaller */
    c->retry_ok = 1;
    if (c->device_levels) /* the whole round in one graph and one wait (per wave) */
        TRYG(bt_gcu_round_device(c, W, &n_w, act, act_slot, n_act, &pro));
    else /* one graph and one wait per level */
        TRYG(bt_gcu_round_host(c, W, &n_w, act, act_slot, n_act, &pro));
    /* the trees to the host slots (the margins are there: metrics are computed on the host) */
    for (int t = 0; t < n_w; t++) {
        tgrow *w = &W[t];
        bt_gbdt_slot *s = w->s;
        int64_t ti_ = (int64_t)s->round * s->n_out + w->k;
        bt_gbdt_node *nodes = malloc((size_t)w->n_nodes * sizeof *nodes);
        if (!nodes) goto oom;
        memcpy(nodes, w->nodes, (size_t)w->n_nodes * sizeof *nodes);
        s->trees[ti_].nodes = nodes;
        s->trees[ti_].n_nodes = w->n_nodes;
    }
    goto done;
oom:
    st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
done:
    for (int t = 0; t < n_w; t++) bt_gcu_tgrow_free(&W[t]);
    free(W);
    free(gi);
    free(qi);
    free(ri);
    return st;
}

/* ---- the step: pack.c's bookkeeping around cuda_round ------------------------------------- */

/* pack.c's finish_round and early_stopping on the host copies; a stop also restores the device's
 * valid margins (the train margins no longer matter: a stopped slot never steps again). */
static bt_status finish_round(cuda_pack *c, bt_gbdt_slot *s, int slot) {
    const bt_pack *p = &c->host;
    const int64_t n = c->n, nv = c->nv;
    s->n_trees = (int64_t)s->round * s->n_out + s->n_out;
    s->round++;
    int bad = 0;
    for (int64_t j = 0; j < nv * s->n_out && !bad; j++) bad = !isfinite(s->margin_valid[j]);
    for (int64_t j = 0; j < n * s->n_out && !bad; j++) bad = !isfinite(s->margin_train[j]);
    if (bad) {
        s->failed = 1;
        return BT_STATUS_OK;
    }
    if (s->early_stopping_rounds <= 0) return BT_STATUS_OK;
    void *scratch = malloc(bt_gbdt_metric_scratch_bytes(nv > 0 ? nv : n, 64) +
                           (size_t)s->n_out * sizeof(float));
    BT_CHECK_ALLOC(scratch);
    int stopped_now = 0;
    bt_gbdt_early_stop(p, s, scratch, &stopped_now);
    free(scratch);
    const size_t bytes = (size_t)nv * (size_t)s->n_out * sizeof(float);
    if (stopped_now && bytes) { /* the device's valid margins go back to the best round's too */
        CU(cudaMemcpyAsync(c->margin_valid + (int64_t)slot * nv * c->K, s->margin_valid, bytes,
                           cudaMemcpyHostToDevice, c->stream));
        CU(cudaStreamSynchronize(c->stream));
    }
    return BT_STATUS_OK;
}

/* Gives back what a round grows on demand (histogram pool, item lists, fixed places): after an
 * out-of-memory it is the memory to return before retrying smaller. */
static void release_round_buffers(cuda_pack *c) {
    cudaStreamSynchronize(c->stream);
    bt_gcu_graphs_clear(c);
    bt_cuda_free(c->hist);
    c->hist = NULL;
    c->hist_slots = 0;
    dbuf *b[] = {&c->items, &c->split_scratch, &c->splits, &c->n_left, &c->level_items, &c->dl};
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        bt_cuda_free(b[i]->p);
        b[i]->p = NULL;
        b[i]->cap = 0;
    }
}

/* Grows one round for act[0..n_act) in sub-batches of at most c->max_batch slots. A sub-batch
 * that runs out of device memory (an allocation, or a graph's instantiation while retry_ok) gives
 * back the on-demand buffers, halves the batch size (kept for later steps) and the histogram
 * budget, and tries again; one slot that still does not fit with one tree's histograms at a time
 * fails alone. Retrying is sound because cuda_round changes nothing a retry reads before its last
 * allocation (margins are first written after it, and retry_ok ends where they are; trees reach
 * the host slots at the very end), and a slot's trees do not depend on its batch mates. */
static bt_status round_batched(cuda_pack *c, bt_gbdt_slot **act, const int *act_slot, int n_act) {
    for (int b0 = 0; b0 < n_act;) {
        int nb = n_act - b0 < c->max_batch ? n_act - b0 : c->max_batch;
        c->oom = 0;
        bt_status st = cuda_round(c, act + b0, act_slot + b0, nb);
        if (st == BT_STATUS_OK) {
            b0 += nb;
            continue;
        }
        if (!c->oom) return st;
        release_round_buffers(c);
        if (nb > 1) {
            c->max_batch = nb / 2;
            c->hist_budget = c->hist_budget / 2 > 0 ? c->hist_budget / 2 : 1;
        } else if (c->hist_budget > 1) {
            c->hist_budget = 1; /* one tree's histograms at a time (multiclass slots) */
        } else {
            act[b0]->failed = 1; /* does not fit alone: this trial fails, the pack goes on */
            b0++;
        }
    }
    return BT_STATUS_OK;
}

bt_status bt_gbdt_cuda_step(bt_pack *p, const int *slots, int n_slots) {
    if (p->linear) return bt_gbdt_step(p, slots, n_slots);
    cuda_pack *c = cp_of(p);
    CU(cudaSetDevice(c->device));
    bt_gbdt_slot **act = malloc((size_t)(n_slots > 0 ? n_slots : 1) * sizeof *act);
    int *act_slot = malloc((size_t)(n_slots > 0 ? n_slots : 1) * sizeof *act_slot);
    if (!act || !act_slot) {
        free(act);
        free(act_slot);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    int n_act = 0;
    bt_status st = bt_gbdt_step_begin(p, slots, n_slots, c->nv, act, act_slot, &n_act);
    if (st == BT_STATUS_OK && n_act > 0) st = round_batched(c, act, act_slot, n_act);
    for (int i = 0; i < n_act && st == BT_STATUS_OK; i++)
        if (!act[i]->failed) st = finish_round(c, act[i], act_slot[i]);
    free(act);
    free(act_slot);
    return st;
}

#endif /* BT_HAVE_CUDA */
