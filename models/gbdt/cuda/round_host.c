/* A round of the CUDA gbdt pack with each level's splits applied on the host, with grow.c's
 * functions, over device rows and histograms: one graph and one wait per level, then one graph
 * for the leaves and predictions (bt_gbdt_cuda_set_device_levels(0); round_graph.c is the default).
 */
#include "models/gbdt/trainer.h"

#if BT_HAVE_CUDA

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/gbdt/cuda/internal.h"

static void set_leaf(tgrow *w, int32_t id, int32_t parent, float base_weight, float value) {
    bt_gbdt_leaf_init(w->nodes, w->sum, w->hu, id, parent, base_weight, value);
}

/* Histogram pool slots: a stack of free ids over [0, n_used); the device pool grows to fit. */
typedef struct hpool {
    int64_t *free_ids;
    int64_t n_free, n_used, cap;
} hpool;

static int64_t hpool_get(hpool *hp) {
    if (hp->n_free > 0) return hp->free_ids[--hp->n_free];
    return hp->n_used++;
}

static int hpool_put(hpool *hp, int64_t id) {
    if (id < 0) return 1;
    if (hp->n_free == hp->cap) {
        int64_t cap = hp->cap ? 2 * hp->cap : 64;
        int64_t *np = realloc(hp->free_ids, (size_t)cap * sizeof *np);
        if (!np) return 0;
        hp->free_ids = np;
        hp->cap = cap;
    }
    hp->free_ids[hp->n_free++] = id;
    return 1;
}

/* The split items of a wave's level (trees g0..g1), in level order; pi_tree/pi_node say whose. */
static int32_t split_items(const tgrow *W, int g0, int g1, int64_t T, bt_gbdt_split_item *pi,
                           int32_t *pi_tree, int32_t *pi_node) {
    int32_t n_split = 0;
    for (int t = g0; t < g1; t++) {
        const tgrow *w = &W[t];
        for (int32_t i = 0; i < w->n_level; i++) {
            int32_t id = w->level[i];
            bt_gbdt_split_item x;
            memset(&x, 0, sizeof x);
            x.hist_offset = w->hslot[id] * T;
            x.total = w->sum[id];
            x.n_rows = w->cnt[id];
            x.g_unit = w->gu;
            x.h_unit = w->hu;
            x.trial = w->slot;
            x.feats_begin = (int32_t)w->feats_begin;
            x.n_feats = w->n_feats_level;
            pi_tree[n_split] = t;
            pi_node[n_split] = id;
            pi[n_split++] = x;
        }
    }
    return n_split;
}

/* The children's row ranges of partitioned nodes, from their left counts (checked). */
static bt_status children_ranges(tgrow *W, const int32_t *ti_tree, const int32_t *ti_node,
                                 const int64_t *nleft, int32_t n_part) {
    for (int32_t j = 0; j < n_part; j++) {
        tgrow *w = &W[ti_tree[j]];
        int32_t id = ti_node[j];
        const bt_gbdt_node *nd = &w->nodes[id];
        if (nleft[j] < 0 || nleft[j] > w->cnt[id])
            return BT_FAIL(BT_STATUS_INTERNAL,
                           "gbdt on cuda: partition sent %lld of %lld rows left",
                           (long long)nleft[j], (long long)w->cnt[id]);
        w->beg[nd->left] = w->beg[id];
        w->cnt[nd->left] = nleft[j];
        w->beg[nd->right] = w->beg[id] + nleft[j];
        w->cnt[nd->right] = w->cnt[id] - nleft[j];
    }
    return BT_STATUS_OK;
}

/* Padding items: no rows, nothing to clear or subtract, nodes that exit at once. */
static void pad_items(bt_gbdt_hist_zero_item *zi, bt_gbdt_hist_item *hi, int32_t nb, int32_t pb,
                      bt_gbdt_hist_sub_item *si, int32_t ns, int32_t ps, bt_gbdt_split_item *pi,
                      int32_t np, int32_t pp) {
    for (int32_t j = nb; j < pb; j++) {
        memset(&zi[j], 0, sizeof zi[j]);
        memset(&hi[j], 0, sizeof hi[j]);
    }
    for (int32_t j = ns; j < ps; j++) {
        si[j].parent = -1;
        si[j].child = 0;
    }
    for (int32_t j = np; j < pp; j++) memset(&pi[j], 0, sizeof pi[j]);
}

/* The host path's state through a round: the trees, their histogram pool slots, the wave being
 * grown and its level's host arrays (reallocated per level by ALLOCG, freed with the round). */
typedef struct hround {
    cuda_pack *c;
    tgrow *W;
    int n_w, g0, g1; /* the round's trees (after the prologue: the kept ones), the wave's */
    hpool hp;
    int *slot_ok; /* by stepped slot: its gradients are finite */
    uint64_t *fscratch;
    /* the level: feature lists, root build and clear items, pairs, split items, their results */
    int32_t *feats;
    bt_gbdt_hist_zero_item *zi;
    bt_gbdt_hist_item *hi;
    bt_gbdt_hist_sub_item *si;
    bt_gbdt_split_item *pi;
    int32_t *pi_tree, *pi_node;
    bt_gbdt_level_pair *pairs;
    int32_t *pair_tree;
    int64_t *pair_new;
    bt_gbdt_split *splits; /* read back: in the pack's pinned read-back buffer */
    int64_t *nleft;
    int64_t n_build, n_feats, max_rows;
    int32_t n_pairs, n_split;
    /* partition items of the last applied level (ti, ti_tree, ti_node): they run at the start of
     * the next level's graph, whose pairs learn their children's ranges on the device */
    bt_gbdt_partition_item *ti;
    int32_t *ti_tree, *ti_node, n_part;
} hround;

static void hround_free(hround *h) {
    free(h->slot_ok);
    free(h->fscratch);
    free(h->feats);
    free(h->zi);
    free(h->hi);
    free(h->si);
    free(h->pi);
    free(h->pi_tree);
    free(h->pi_node);
    free(h->pairs);
    free(h->pair_tree);
    free(h->pair_new);
    free(h->ti);
    free(h->ti_tree);
    free(h->ti_node);
    free(h->hp.free_ids);
}

/* 1. The prologue -- gradients (per slot), quantization and row samples (per tree) -- as one graph
 * from pro's host arrays, and one wait for the trees' units, finite flags and sample counts. A
 * slot with any non-finite gradient fails (as pack.c's slot_gradients) and its trees drop out of
 * h->W (h->n_w shrinks); the kept trees are allocated, each root a 0 leaf over the sampled rows. */
static bt_status host_prologue(hround *h, bt_gbdt_slot **act, int n_act,
                               const prologue_launch *pro) {
    cuda_pack *c = h->c;
    tgrow *W = h->W;
    const int32_t F = c->host.bin->train.n_features;
    const int64_t n = c->n;
    const int n_w = h->n_w;
    bt_status st = BT_STATUS_OK;
    char *dbase = NULL;
    size_t o1 = 0, o2 = 0, o3 = 0;
    int32_t *eg = NULL, *eh = NULL, *fin = NULL;
    int64_t *nsm = NULL;
    c->stage.used = 0;
    STAGE(c, pro->grad, n_act, o1);
    STAGE(c, pro->quant, n_w, o2);
    STAGE(c, pro->rows, n_w, o3);
    TRYG(bt_gcu_stage_upload(c, &dbase));
    {
        prologue_launch pl;
        memset(&pl, 0, sizeof pl); /* compared with memcmp */
        pl.grad = (const bt_gbdt_grad_item *)(dbase + o1);
        pl.quant = (const bt_gbdt_quant_item *)(dbase + o2);
        pl.rows = (const bt_gbdt_sample_rows_item *)(dbase + o3);
        pl.n_slots = n_act;
        pl.n_trees = n_w;
        TRYG(bt_gcu_graph_run(c, bt_gcu_prologue_enqueue, &pl, sizeof pl));
    }
    /* nothing is in flight into the read-back buffer: the previous round ended with a wait */
    BACK_RESERVE(c, 3 * BT_GCU_BACK((size_t)n_w * sizeof *eg) +
                        BT_GCU_BACK((size_t)n_w * sizeof *nsm));
    TAKE(c, eg, n_w);
    TAKE(c, eh, n_w);
    TAKE(c, fin, n_w);
    TAKE(c, nsm, n_w);
    CUG(cudaMemcpyAsync(eg, c->eg, (size_t)n_w * sizeof *eg, cudaMemcpyDeviceToHost, c->stream));
    CUG(cudaMemcpyAsync(eh, c->eh, (size_t)n_w * sizeof *eh, cudaMemcpyDeviceToHost, c->stream));
    CUG(cudaMemcpyAsync(fin, c->finite, (size_t)n_w * sizeof *fin, cudaMemcpyDeviceToHost,
                        c->stream));
    CUG(cudaMemcpyAsync(nsm, c->n_sampled, (size_t)n_w * sizeof *nsm, cudaMemcpyDeviceToHost,
                        c->stream));
    CUG(cudaStreamSynchronize(c->stream));
    /* a slot with any non-finite gradient fails (as pack.c's slot_gradients); its trees drop out */
    ALLOCG(h->slot_ok, n_act);
    int *slot_ok = h->slot_ok;
    for (int i = 0, t = 0; i < n_act; i++) {
        slot_ok[i] = 1;
        for (int32_t k = 0; k < act[i]->n_out; k++, t++) slot_ok[i] = slot_ok[i] && fin[t];
        if (!slot_ok[i]) act[i]->failed = 1;
    }
    int kept = 0;
    for (int t = 0; t < n_w; t++) {
        if (W[t].s->failed) continue;
        W[t].gu = ldexp(1.0, -eg[t]);
        W[t].hu = ldexp(1.0, -eh[t]);
        W[t].m = nsm[t];
        if (W[t].m < 0 || W[t].m > n) {
            st = BT_FAIL(BT_STATUS_INTERNAL, "gbdt on cuda: sampled %lld of %lld rows",
                         (long long)W[t].m, (long long)n);
            goto done;
        }
        W[kept++] = W[t];
    }
    for (int t = kept; t < n_w; t++) memset(&W[t], 0, sizeof W[t]);
    h->n_w = kept;
    ALLOCG(h->fscratch, 2 * (int64_t)F + 8);
    for (int t = 0; t < kept; t++) {
        tgrow *w = &W[t];
        const bt_gbdt_slot *s = w->s;
        st = bt_gcu_tgrow_begin(w, n, F, h->fscratch);
        if (st != BT_STATUS_OK) goto done;
        w->n_nodes = 1;
        w->beg[0] = 0;
        w->cnt[0] = w->m;
        /* root sums come from the root histogram (depth 0 below); an empty root is a 0 leaf */
        w->sum[0].g = w->sum[0].h = 0;
        float wt = bt_gbdt_weight(&s->sp, 0.0, 0.0);
        set_leaf(w, 0, -1, wt, wt * s->eta);
        w->level[0] = 0;
        w->n_level = w->m > 0 ? 1 : 0;
    }
done:
    return st;
}

/* Plans a level of the wave: each tree's level feature sample, appended to feats, and the
 * histograms to build -- at depth 0 the roots (hi), below one pair per split parent (pairs).
 * *n_nodes receives the level's node count (0: the wave is grown). */
static bt_status level_plan(hround *h, int depth, int64_t *n_nodes) {
    tgrow *W = h->W;
    const int32_t F = h->c->host.bin->train.n_features;
    const int64_t T = h->c->T;
    bt_status st = BT_STATUS_OK;
    int64_t n_nodes_lv = 0, n_build = 0, n_feats = 0, max_rows = 0;
    int32_t n_pairs = 0;
    for (int t = h->g0; t < h->g1; t++) {
        n_nodes_lv += W[t].n_level;
        if (W[t].n_level) n_feats += F;
    }
    *n_nodes = n_nodes_lv;
    if (n_nodes_lv == 0) return BT_STATUS_OK;
    const int32_t pn = bt_gcu_pad_pow2(n_nodes_lv);
    ALLOCG(h->feats, n_feats);
    ALLOCG(h->zi, pn);
    ALLOCG(h->hi, pn);
    ALLOCG(h->si, pn);
    ALLOCG(h->pi, pn);
    ALLOCG(h->pi_tree, n_nodes_lv);
    ALLOCG(h->pi_node, n_nodes_lv);
    ALLOCG(h->pairs, pn);
    ALLOCG(h->pair_tree, pn);
    ALLOCG(h->pair_new, pn);
    n_feats = 0;
    for (int t = h->g0; t < h->g1; t++) {
        tgrow *w = &W[t];
        if (w->n_level == 0) continue;
        const bt_gbdt_slot *s = w->s;
        uint64_t tree = (uint64_t)s->round * (uint64_t)s->n_out + (uint64_t)w->k;
        w->n_feats_level = bt_gbdt_sample_features_ref(
            s->key, tree, (uint32_t)depth + 1, w->feats_tree, w->n_feats_tree, s->colsample_bylevel,
            w->feats_level, h->fscratch);
        w->feats_begin = n_feats;
        memcpy(h->feats + n_feats, w->feats_level, (size_t)w->n_feats_level * sizeof *h->feats);
        n_feats += w->n_feats_level;
        /* histograms: the root is built; below, the smaller child of each pair is built and
         * the larger one is its parent's histogram minus it (exact in integers) */
        if (depth == 0) {
            w->hslot[0] = hpool_get(&h->hp);
            bt_gbdt_hist_item x = {w->seg, w->cnt[0], w->seg, w->hslot[0] * T};
            h->hi[n_build++] = x;
            if (w->cnt[0] > max_rows) max_rows = w->cnt[0];
            continue;
        }
        /* which child is smaller is known once the parent's partition ran: the pair is
         * resolved on the device (kernels/gbdt_level.h); the host learns it from the left
         * count it reads back with the splits */
        for (int32_t i = 0; i + 1 < w->n_level; i += 2) {
            int32_t a = w->level[i];
            int32_t P = w->nodes[a].parent;
            if (P < 0 || w->hslot[P] < 0 || w->part_of[P] < 0) {
                st = BT_FAIL(BT_STATUS_INTERNAL, "gbdt on cuda: a level's parent has no "
                                                 "histogram");
                goto done;
            }
            bt_gbdt_level_pair q;
            memset(&q, 0, sizeof q);
            q.seg = w->seg;
            q.parent_begin = w->beg[P];
            q.parent_rows = w->cnt[P];
            q.parent_hist = w->hslot[P] * T;
            h->pair_new[n_pairs] = hpool_get(&h->hp);
            q.new_hist = h->pair_new[n_pairs] * T;
            q.part = w->part_of[P];
            /* split items are made in level order: the pair's children are 2k, 2k + 1 */
            q.split_left = 2 * n_pairs;
            q.split_right = 2 * n_pairs + 1;
            w->hslot[P] = -1; /* its histogram becomes the larger child's */
            h->pair_tree[n_pairs] = t;
            h->pairs[n_pairs++] = q;
            if (w->cnt[P] / 2 > max_rows) max_rows = w->cnt[P] / 2;
        }
    }
    h->n_build = n_build;
    h->n_feats = n_feats;
    h->max_rows = max_rows;
    h->n_pairs = n_pairs;
done:
    return st;
}

/* Depth 0: clears and builds the roots' histograms; their sums come from their histograms (one
 * wait), then the evaluation (a second upload, ordered after these launches). */
static bt_status level_roots(hround *h, int32_t bpi) {
    cuda_pack *c = h->c;
    tgrow *W = h->W;
    const bt_gbdt_binning *B = c->host.bin;
    const int64_t T = c->T, n_build = h->n_build;
    const int g0 = h->g0, g1 = h->g1;
    bt_status st = BT_STATUS_OK;
    char *dbase = NULL;
    size_t o1 = 0, o2 = 0, o4 = 0, o5 = 0;
    level_launch lv;
    memset(&lv, 0, sizeof lv); /* padding bytes too: the struct is compared with memcmp */
    const int32_t pb = bt_gcu_pad_pow2(n_build);
    for (int64_t j = 0; j < n_build; j++) {
        h->zi[j].offset = h->hi[j].hist_offset;
        h->zi[j].n = T;
    }
    pad_items(h->zi, h->hi, (int32_t)n_build, pb, h->si, 0, 0, h->pi, 0, 0);
    c->stage.used = 0;
    STAGE(c, h->zi, pb, o1);
    STAGE(c, h->hi, pb, o2);
    TRYG(bt_gcu_stage_upload(c, &dbase));
    lv.hist = c->hist;
    lv.zero = (bt_gbdt_hist_zero_item *)(dbase + o1);
    lv.build = (bt_gbdt_hist_item *)(dbase + o2);
    lv.n_build = pb;
    lv.bpi = bpi;
    TRYG(bt_gcu_level_run(c, &lv));
    /* every row falls in exactly one entry of feature 0 (a bin or its missing slot), so
     * those entries sum to the root's total, the same integers grow.c adds row by row
     */
    const int64_t e0 = B->off[0], ne = (int64_t)(B->off[1] - B->off[0]);
    bt_gbdt_gh *root_bins = NULL; /* the wave's roots' entries, by tree from g0 */
    BACK_RESERVE(c, BT_GCU_BACK((size_t)(ne * (g1 - g0)) * sizeof *root_bins));
    TAKE(c, root_bins, ne * (g1 - g0));
    for (int t = g0; t < g1; t++)
        if (W[t].n_level > 0)
            CUG(cudaMemcpyAsync(root_bins + (int64_t)(t - g0) * ne,
                                c->hist + W[t].hslot[0] * T + e0, (size_t)ne * sizeof *root_bins,
                                cudaMemcpyDeviceToHost, c->stream));
    CUG(cudaStreamSynchronize(c->stream));
    for (int t = g0; t < g1; t++) {
        tgrow *w = &W[t];
        if (w->n_level == 0) continue;
        bt_gbdt_gh S = {0, 0};
        for (int64_t e = 0; e < ne; e++) {
            S.g += root_bins[(int64_t)(t - g0) * ne + e].g;
            S.h += root_bins[(int64_t)(t - g0) * ne + e].h;
        }
        w->sum[0] = S;
        float wt = bt_gbdt_weight(&w->s->sp, (double)S.g * w->gu, (double)S.h * w->hu);
        set_leaf(w, 0, -1, wt, wt * w->s->eta);
    }
    const int32_t n_split = h->n_split = split_items(W, g0, g1, T, h->pi, h->pi_tree, h->pi_node);
    const int32_t pp = bt_gcu_pad_pow2(n_split);
    pad_items(h->zi, h->hi, 0, 0, h->si, 0, 0, h->pi, n_split, pp);
    /* the roots' entries are read: the buffer takes the splits level_read brings back */
    BACK_RESERVE(c, BT_GCU_BACK((size_t)n_split * sizeof *h->splits));
    c->stage.used = 0;
    STAGE(c, h->feats, h->n_feats, o4);
    STAGE(c, h->pi, pp, o5);
    TRYG(bt_gcu_stage_upload(c, &dbase));
    TRYG(bt_gcu_dbuf_reserve(&c->split_scratch, bt_gbdt_split_cuda_scratch_bytes(pp), c->stream,
                             &c->oom));
    TRYG(bt_gcu_dbuf_reserve(&c->splits, (size_t)(pp > 0 ? pp : 1) * sizeof(bt_gbdt_split),
                             c->stream, &c->oom));
    memset(&lv, 0, sizeof lv);
    lv.hist = c->hist;
    lv.feats = (const int32_t *)(dbase + o4);
    lv.split = (bt_gbdt_split_item *)(dbase + o5);
    lv.split_scratch = c->split_scratch.p;
    lv.splits = (bt_gbdt_split *)c->splits.p;
    lv.n_split = pp;
    TRYG(bt_gcu_level_run(c, &lv));
done:
    return st;
}

/* Depth > 0, one upload and one graph: the previous level's partition, the pairs, clear, build,
 * subtract, evaluate. The nodes' sums are known (node_split); their row counts and histogram
 * offsets in the split items are filled on the device. The left counts are read back (no wait). */
static bt_status level_deep(hround *h, int32_t bpi) {
    cuda_pack *c = h->c;
    const int64_t T = c->T;
    const int32_t n_part = h->n_part, n_pairs = h->n_pairs;
    bt_status st = BT_STATUS_OK;
    char *dbase = NULL;
    size_t o1 = 0, o2 = 0, o4 = 0, o5 = 0;
    level_launch lv;
    memset(&lv, 0, sizeof lv); /* padding bytes too: the struct is compared with memcmp */
    const int32_t n_split = h->n_split =
        split_items(h->W, h->g0, h->g1, T, h->pi, h->pi_tree, h->pi_node);
    const int32_t pp = bt_gcu_pad_pow2(n_split), pq = bt_gcu_pad_pow2(n_pairs);
    const int32_t pt = bt_gcu_pad_pow2(n_part);
    pad_items(h->zi, h->hi, 0, 0, h->si, 0, 0, h->pi, n_split, pp);
    for (int32_t j = n_pairs; j < pq; j++) {
        memset(&h->pairs[j], 0, sizeof h->pairs[j]);
        h->pairs[j].part = -1;
    }
    for (int32_t j = n_part; j < pt; j++) memset(&h->ti[j], 0, sizeof h->ti[j]);
    c->stage.used = 0;
    STAGE(c, h->ti, pt, o1);
    STAGE(c, h->pairs, pq, o2);
    STAGE(c, h->feats, h->n_feats, o4);
    STAGE(c, h->pi, pp, o5);
    TRYG(bt_gcu_stage_upload(c, &dbase));
    TRYG(bt_gcu_dbuf_reserve(&c->n_left, (size_t)(pt > 0 ? pt : 1) * sizeof(int64_t), c->stream,
                             &c->oom));
    const size_t zb = (size_t)pq * sizeof(bt_gbdt_hist_zero_item),
                 bb = (size_t)pq * sizeof(bt_gbdt_hist_item);
    TRYG(bt_gcu_dbuf_reserve(&c->level_items, zb + bb + (size_t)pq * sizeof(bt_gbdt_hist_sub_item),
                             c->stream, &c->oom));
    TRYG(bt_gcu_dbuf_reserve(&c->split_scratch, bt_gbdt_split_cuda_scratch_bytes(pp), c->stream,
                             &c->oom));
    TRYG(bt_gcu_dbuf_reserve(&c->splits, (size_t)(pp > 0 ? pp : 1) * sizeof(bt_gbdt_split),
                             c->stream, &c->oom));
    char *lb = c->level_items.p;
    lv.hist = c->hist;
    lv.part = (const bt_gbdt_partition_item *)(dbase + o1);
    lv.n_part = pt;
    lv.n_left = (int64_t *)c->n_left.p;
    lv.pairs = (const bt_gbdt_level_pair *)(dbase + o2);
    lv.n_pairs = pq;
    lv.zero = (bt_gbdt_hist_zero_item *)lb;
    lv.build = (bt_gbdt_hist_item *)(lb + zb);
    lv.sub = (bt_gbdt_hist_sub_item *)(lb + zb + bb);
    lv.n_build = pq;
    lv.n_sub = pq;
    lv.feats = (const int32_t *)(dbase + o4);
    lv.split = (bt_gbdt_split_item *)(dbase + o5);
    lv.split_scratch = c->split_scratch.p;
    lv.splits = (bt_gbdt_split *)c->splits.p;
    lv.n_split = pp;
    lv.bpi = bpi;
    TRYG(bt_gcu_level_run(c, &lv));
    /* the previous level's read-back was consumed (level_apply): the left counts now, the splits
     * with level_read */
    BACK_RESERVE(c, BT_GCU_BACK((size_t)n_part * sizeof *h->nleft) +
                        BT_GCU_BACK((size_t)n_split * sizeof *h->splits));
    TAKE(c, h->nleft, n_part);
    CUG(cudaMemcpyAsync(h->nleft, c->n_left.p, (size_t)n_part * sizeof *h->nleft,
                        cudaMemcpyDeviceToHost, c->stream));
done:
    return st;
}

/* The level's one wait: its splits, and below the roots the previous level's children ranges,
 * then the pairs' histograms, by the rule the device applied (bt_gbdt_level_resolve: the left
 * child is smaller on ties). */
static bt_status level_read(hround *h, int depth) {
    cuda_pack *c = h->c;
    const int64_t T = c->T;
    const int32_t n_split = h->n_split;
    bt_status st = BT_STATUS_OK;
    TAKE(c, h->splits, n_split); /* reserved by level_roots / level_deep */
    CUG(cudaMemcpyAsync(h->splits, c->splits.p, (size_t)n_split * sizeof *h->splits,
                        cudaMemcpyDeviceToHost, c->stream));
    CUG(cudaStreamSynchronize(c->stream));
    if (depth > 0) {
        TRYG(children_ranges(h->W, h->ti_tree, h->ti_node, h->nleft, h->n_part));
        for (int32_t k = 0; k < h->n_pairs; k++) {
            tgrow *w = &h->W[h->pair_tree[k]];
            int32_t a = h->pi_node[2 * k], b = h->pi_node[2 * k + 1];
            int32_t sm = w->cnt[a] <= w->cnt[b] ? a : b, lg = sm == a ? b : a;
            w->hslot[lg] = h->pairs[k].parent_hist / T;
            w->hslot[sm] = h->pair_new[k];
        }
        h->n_part = 0;
    }
done:
    return st;
}

/* Applies the level's splits: grow.c's apply_level, node by node in level order. The split nodes'
 * partition items (ti) run at the start of the next level's graph, or the wave's last partition. */
static bt_status level_apply(hround *h, int depth) {
    tgrow *W = h->W;
    const bt_gbdt_binning *B = h->c->host.bin;
    const int32_t F = B->train.n_features, n_split = h->n_split;
    int32_t n_part = h->n_part;
    bt_status st = BT_STATUS_OK;
    ALLOCG(h->ti, bt_gcu_pad_pow2(n_split));
    ALLOCG(h->ti_tree, n_split);
    ALLOCG(h->ti_node, n_split);
    for (int t = h->g0; t < h->g1; t++) W[t].n_next = 0;
    for (int32_t i = 0; i < n_split; i++) {
        tgrow *w = &W[h->pi_tree[i]];
        const bt_gbdt_slot *s = w->s;
        int32_t id = h->pi_node[i];
        const bt_gbdt_split *sp = &h->splits[i];
        int ok = bt_gbdt_split_takes(s, sp, depth);
        if (ok && (sp->feature >= F || w->n_nodes + 2 > w->cap)) {
            st = BT_FAIL(BT_STATUS_INTERNAL,
                         "gbdt on cuda: split of feature %d or node "
                         "%d out of range",
                         sp->feature, w->n_nodes);
            goto done;
        }
        if (!ok) {
            if (!hpool_put(&h->hp, w->hslot[id])) goto oom;
            w->hslot[id] = -1;
            continue;
        }
        int32_t L = w->n_nodes++, R = w->n_nodes++;
        bt_gbdt_node_split(s, w->nodes, w->sum, w->gu, w->hu, id, sp, L, R);
        const bt_gbdt_node *nd = &w->nodes[id];
        if (depth + 1 < s->max_depth) {
            w->next[w->n_next++] = L;
            w->next[w->n_next++] = R;
        } else {
            if (!hpool_put(&h->hp, w->hslot[id])) goto oom;
            w->hslot[id] = -1;
        }
        bt_gbdt_partition_item x = {
            w->seg + w->beg[id],         w->cnt[id],      nd->feature, nd->bin,
            B->missing_bin[nd->feature], nd->default_left};
        w->part_of[id] = n_part;
        h->ti_tree[n_part] = h->pi_tree[i];
        h->ti_node[n_part] = id;
        h->ti[n_part++] = x;
    }
    for (int t = h->g0; t < h->g1; t++) {
        tgrow *w = &W[t];
        int32_t *tmp = w->level;
        w->level = w->next;
        w->next = tmp;
        w->n_level = w->n_next;
    }
    h->n_part = n_part;
    return BT_STATUS_OK;
oom:
    st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
done:
    return st;
}

/* The wave's last partition: its last split nodes' children are leaves, whose rows the leaf adds
 * need. */
static bt_status last_partition(hround *h) {
    cuda_pack *c = h->c;
    const int32_t n_part = h->n_part;
    bt_status st = BT_STATUS_OK;
    char *dbase = NULL;
    size_t o1 = 0;
    const int32_t pt = bt_gcu_pad_pow2(n_part);
    for (int32_t j = n_part; j < pt; j++) memset(&h->ti[j], 0, sizeof h->ti[j]);
    c->stage.used = 0;
    STAGE(c, h->ti, pt, o1);
    TRYG(bt_gcu_stage_upload(c, &dbase));
    TRYG(bt_gcu_dbuf_reserve(&c->n_left, (size_t)pt * sizeof(int64_t), c->stream, &c->oom));
    level_launch lv;
    memset(&lv, 0, sizeof lv);
    lv.part = (const bt_gbdt_partition_item *)(dbase + o1);
    lv.n_part = pt;
    lv.n_left = (int64_t *)c->n_left.p;
    TRYG(bt_gcu_level_run(c, &lv));
    BACK_RESERVE(c, BT_GCU_BACK((size_t)n_part * sizeof *h->nleft));
    TAKE(c, h->nleft, n_part);
    CUG(cudaMemcpyAsync(h->nleft, c->n_left.p, (size_t)n_part * sizeof *h->nleft,
                        cudaMemcpyDeviceToHost, c->stream));
    CUG(cudaStreamSynchronize(c->stream));
    TRYG(children_ranges(h->W, h->ti_tree, h->ti_node, h->nleft, n_part));
done:
    return st;
}

/* 2. Grows the wave W[g0..g1) level by level, one graph and one wait per level, then partitions
 * its last level. */
static bt_status host_wave(hround *h, int g0, int g1) {
    h->g0 = g0;
    h->g1 = g1;
    h->n_part = 0;
    for (int depth = 0;; depth++) {
        int64_t n_nodes = 0;
        BT_TRY(level_plan(h, depth, &n_nodes));
        if (n_nodes == 0) break;
        BT_TRY(bt_gcu_hist_reserve(h->c, h->hp.n_used, 1));
        /* from the actual counts: a root's rows, or half the largest parent's */
        const int32_t bpi =
            bt_gcu_hist_bpi(h->max_rows, bt_gcu_pad_pow2(depth == 0 ? h->n_build : h->n_pairs));
        BT_TRY(depth == 0 ? level_roots(h, bpi) : level_deep(h, bpi));
        BT_TRY(level_read(h, depth));
        BT_TRY(level_apply(h, depth));
    }
    if (h->n_part > 0) BT_TRY(last_partition(h));
    return BT_STATUS_OK;
}

/* 3. Leaves into the train margins, and the trees to the device (staged with the items) for the
 * predictions of the rows subsampled trees left out and of the valid rows: one graph (no wait). */
static bt_status host_epilogue(hround *h) {
    cuda_pack *c = h->c;
    tgrow *W = h->W;
    const int n_w = h->n_w;
    const int64_t n = c->n, nv = c->nv, K = c->K;
    bt_status st = BT_STATUS_OK;
    char *dbase = NULL;
    size_t o1 = 0, o2 = 0, o3 = 0, o4 = 0, o5 = 0;
    bt_gbdt_sample_rows_item *ri = NULL;
    bt_gbdt_leaf_item *li = NULL;
    bt_gbdt_predict_item *pti = NULL, *pvi = NULL;
    bt_gbdt_node *all_nodes = NULL; /* the trees, for the predictions: staged with the items */
    int64_t n_leaves = 0, n_nodes_all = 0;
    for (int t = 0; t < n_w; t++) {
        n_nodes_all += W[t].n_nodes;
        for (int32_t id = 0; id < W[t].n_nodes; id++)
            n_leaves += W[t].nodes[id].left < 0 && W[t].cnt[id] > 0;
    }
    ALLOCG(li, bt_gcu_pad_pow2(n_leaves));
    ALLOCG(pti, n_w);
    ALLOCG(pvi, n_w);
    ALLOCG(all_nodes, n_nodes_all);
    ALLOCG(ri, n_w);
    int64_t nl = 0, no = 0;
    int32_t n_pt = 0, n_pv = 0;
    for (int t = 0; t < n_w; t++) {
        tgrow *w = &W[t];
        const bt_gbdt_slot *s = w->s;
        for (int32_t id = 0; id < w->n_nodes; id++) {
            const bt_gbdt_node *nd = &w->nodes[id];
            if (nd->left >= 0 || w->cnt[id] == 0) continue;
            bt_gbdt_leaf_item x;
            memset(&x, 0, sizeof x);
            x.row_begin = w->seg + w->beg[id];
            x.n = w->cnt[id];
            x.margin_offset = (int64_t)w->slot * n * K;
            x.value = nd->value;
            x.stride = s->n_out;
            x.k = w->k;
            li[nl++] = x;
        }
        memcpy(all_nodes + no, w->nodes, (size_t)w->n_nodes * sizeof *all_nodes);
        bt_gbdt_predict_item p;
        memset(&p, 0, sizeof p);
        p.nodes_offset = no;
        p.n_nodes = w->n_nodes;
        p.stride = s->n_out;
        p.k = w->k;
        if (s->subsample < 1.0 && w->m < n) {
            /* rows left out of this tree still get its prediction (grow.c does the same) */
            memset(&ri[n_pt], 0, sizeof ri[n_pt]);
            ri[n_pt].key = s->key;
            ri[n_pt].tree = (uint64_t)s->round * (uint64_t)s->n_out + (uint64_t)w->k;
            ri[n_pt].subsample = s->subsample;
            ri[n_pt].out_offset = w->seg;
            ri[n_pt].complement = 1;
            p.margin_offset = (int64_t)w->slot * n * K;
            p.row_begin = w->seg;
            p.n = n - w->m; /* the complement of the kept rows */
            pti[n_pt++] = p;
        }
        if (nv > 0) {
            p.margin_offset = (int64_t)w->slot * nv * K;
            p.row_begin = -1;
            p.n = nv;
            pvi[n_pv++] = p;
        }
        no += w->n_nodes;
    }
    if (nl > INT32_MAX / 2) {
        st = BT_FAIL(BT_STATUS_INTERNAL, "gbdt on cuda: %lld leaves in one round", (long long)nl);
        goto done;
    }
    const int32_t pl = bt_gcu_pad_pow2(nl); /* stable launch parameters: no-op leaves (n = 0) */
    for (int64_t j = nl; j < pl; j++) memset(&li[j], 0, sizeof li[j]);
    c->stage.used = 0;
    STAGE(c, li, pl, o1);
    STAGE(c, ri, n_pt, o2);
    STAGE(c, pti, n_pt, o3);
    STAGE(c, pvi, n_pv, o4);
    STAGE(c, all_nodes, no, o5);
    TRYG(bt_gcu_stage_upload(c, &dbase));
    epilogue_launch el;
    memset(&el, 0, sizeof el); /* compared with memcmp */
    el.leaves = (const bt_gbdt_leaf_item *)(dbase + o1);
    el.left_out = (const bt_gbdt_sample_rows_item *)(dbase + o2);
    el.pred_train = (const bt_gbdt_predict_item *)(dbase + o3);
    el.pred_valid = (const bt_gbdt_predict_item *)(dbase + o4);
    el.nodes = (const bt_gbdt_node *)(dbase + o5);
    el.n_leaves = pl;
    el.n_left_out = n_pt;
    el.n_valid = n_pv;
    TRYG(bt_gcu_graph_run(c, bt_gcu_epilogue_enqueue, &el, sizeof el));
done:
    free(ri);
    free(li);
    free(pti);
    free(pvi);
    free(all_nodes);
    return st;
}

bt_status bt_gcu_round_host(cuda_pack *c, tgrow *W, int *n_w_io, bt_gbdt_slot **act,
                            const int *act_slot, int n_act, const prologue_launch *pro) {
    const int64_t T = c->T;
    bt_status st = BT_STATUS_OK;
    hround h;
    memset(&h, 0, sizeof h);
    h.c = c;
    h.W = W;
    h.n_w = *n_w_io;
    st = host_prologue(&h, act, n_act, pro);
    *n_w_io = h.n_w;
    if (st != BT_STATUS_OK) goto done;
    /* 2. levels, in waves of trees whose histograms fit the pool budget (a tree at depth d holds
     * at most min(2^d, rows) histograms at once); trees are independent, so waves change nothing
     * but peak memory */
    for (int g0 = 0, g1 = 0; g0 < h.n_w; g0 = g1) {
        int64_t wave_bytes = 0;
        for (g1 = g0; g1 < h.n_w; g1++) {
            int32_t d = W[g1].s->max_depth > 1 ? W[g1].s->max_depth - 1 : 0;
            int64_t live = d < 40 ? (int64_t)1 << d : INT64_MAX / 4;
            if (live > W[g1].m) live = W[g1].m > 0 ? W[g1].m : 1;
            int64_t bytes = live * T * (int64_t)sizeof(bt_gbdt_gh);
            if (g1 > g0 && wave_bytes + bytes > c->hist_budget) break;
            wave_bytes += bytes;
        }
        TRYG(host_wave(&h, g0, g1));
    }
    TRYG(host_epilogue(&h));
    /* 4. margins to the host slots (metrics are computed on the host from these) */
    TRYG(bt_gcu_queue_margins(c, act, act_slot, h.slot_ok, n_act));
    CUG(cudaStreamSynchronize(c->stream));
done:
    hround_free(&h);
    return st;
}

#endif /* BT_HAVE_CUDA */
