/* A round of the CUDA gbdt pack with every level on the device: per wave of trees, one upload,
 * one graph -- prologue, round init, each level's partition, histograms, evaluation and split
 * application (kernels/gbdt_apply.h), the epilogue -- and one wait that brings back the trees. */
#include "models/gbdt/trainer.h"

#if BT_HAVE_CUDA

#include <stdlib.h>
#include <string.h>

#include "models/gbdt/cuda/internal.h"

/* The most levels a wave on the device has (max_depth is at most 16). */
#define BT_GBDT_LEVELS_MAX 30

/* The slots a round steps, for the margins' read-back after its last wave. */
typedef struct round_slots {
    bt_gbdt_slot **act;
    const int *act_slot, *slot_ok;
    int n_act;
} round_slots;

/* Every launch of a round for a wave of nw trees, with the split application on the device
 * (kernels/gbdt_apply.h), in one graph: (first wave) the prologue -- gradients, quantization, row
 * samples --, the round init (kernels/gbdt_round_init.h: units, the roots' items, disabled slots),
 * the roots' histograms and sums; depth 0 evaluates the roots and applies; each depth d > 0
 * partitions the previous level's splits, resolves its sibling pairs, clears, builds and subtracts
 * histograms, evaluates and applies; the last partition and a finishing apply give the leaves'
 * rows; the epilogue adds the leaves and predicts left-out and valid rows. Items live at fixed
 * places (tree x 2^d + position, padding past the live count), so the launches depend on (nw,
 * levels, n) and buffer addresses only, and a pack whose active slots do not change replays one
 * graph per wave. */
typedef struct dlevels_launch {
    prologue_launch pro; /* the first wave only (n_slots 0 after) */
    const bt_gbdt_round_init_tree *init;
    bt_gbdt_gh *hist;
    bt_gbdt_hist_zero_item *root_zero;
    bt_gbdt_apply_build *root_build;
    int32_t root_bpi, pad0_;
    bt_gbdt_apply_tree *trees;
    const bt_gbdt_rules *rules;
    const int32_t *missing_bin, *feats, *n_feats;
    bt_gbdt_apply_split_item *root_items; /* the roots' sums are written into them */
    bt_gbdt_split *splits;
    bt_gbdt_apply_part *part;
    bt_gbdt_level_pair *pairs[2];
    bt_gbdt_apply_split_item *split_items;
    int64_t *n_left;
    bt_gbdt_hist_zero_item *zero;
    bt_gbdt_hist_item *build;
    bt_gbdt_hist_sub_item *sub;
    void *split_scratch;
    bt_gbdt_node *nodes;
    bt_gbdt_gh *sum;
    int64_t *beg, *cnt, *hoff, *stack;
    /* the epilogue: leaf adds (one item per node place), left-out train rows, valid rows */
    const bt_gbdt_epilogue_tree *et;
    bt_gbdt_apply_leaf *leaves;
    const bt_gbdt_sample_rows_item *left_out;
    bt_gbdt_apply_pred *pred_train, *pred_valid;
    int32_t nw, levels, n_node_places, n_left_out, n_valid, pad_;
    /* trees with places at depth d (max_depth > d), the wave's first ones: deepest first */
    int32_t deep[BT_GBDT_LEVELS_MAX];
} dlevels_launch;

static bt_status dlevels_enqueue(cuda_pack *c, const void *params) {
    const dlevels_launch *L = params;
    const dev_data *dd = c->dd;
    const bt_binned *bm = &c->host.bin->train;
    const int32_t F = bm->n_features;
    void *stream = (void *)c->stream;
    if (L->pro.n_slots > 0) BT_TRY(bt_gcu_prologue_enqueue(c, &L->pro));
    bt_gbdt_round_init_args ri;
    memset(&ri, 0, sizeof ri);
    ri.init = L->init;
    ri.eg = c->eg;
    ri.eh = c->eh;
    ri.finite = c->finite;
    ri.n_sampled = c->n_sampled;
    ri.n = c->n;
    ri.T = c->T;
    ri.trees = L->trees;
    ri.root_items = L->root_items;
    ri.root_zero = L->root_zero;
    ri.root_build = L->root_build;
    ri.et = L->et;
    ri.pred_train = L->pred_train;
    ri.pred_valid = L->pred_valid;
    ri.n_trees = L->nw;
    BT_TRY(bt_gbdt_round_init_cuda(&ri, stream));
    bt_gbdt_apply_args a;
    memset(&a, 0, sizeof a);
    a.trees = L->trees;
    a.n_trees = L->nw;
    a.n_features = F;
    a.feat_levels = L->levels;
    a.n_feats = L->n_feats;
    a.rules = L->rules;
    a.missing_bin = L->missing_bin;
    a.splits = L->splits;
    a.n_left = L->n_left;
    a.nodes = L->nodes;
    a.sum = L->sum;
    a.beg = L->beg;
    a.cnt = L->cnt;
    a.hoff = L->hoff;
    a.stack = L->stack;
    a.part = L->part;
    a.split_next = L->split_items;
    /* the roots: clear and build (no-op items for empty or disabled trees), then their sums */
    BT_TRY(bt_gbdt_hist_zero_cuda(L->hist, L->root_zero, L->nw, stream));
    BT_TRY(bt_gbdt_hist_cuda(dd->bins, bm->width, c->n, F, dd->off, 0, F, dd->max_entries, c->rows,
                             c->gh, L->hist, (const bt_gbdt_hist_item *)L->root_build, L->nw,
                             L->root_bpi, stream));
    BT_TRY(bt_gbdt_root_sum_cuda(L->hist, c->host.bin->off[0], c->host.bin->off[1], L->root_items,
                                 L->nw, stream));
    for (int32_t d = 0; d < L->levels; d++) {
        /* places of trees deep enough only: the previous level's partition (deep[d - 1] trees),
         * this level's pairs and split items (deep[d]); the apply also runs the trees that end
         * here (their last rows) */
        const int32_t W = (int32_t)1 << d, np = L->deep[d] * (W / 2), ns = L->deep[d] * W;
        const int32_t n_prev = d > 0 ? L->deep[d - 1] : L->nw;
        if (d == 0) {
            BT_TRY(bt_gbdt_split_cuda(L->hist, dd->off, dd->cut_ptr, dd->cut_values, dd->min_values,
                                      L->feats, c->params,
                                      (const bt_gbdt_split_item *)L->root_items, L->nw,
                                      L->split_scratch, L->splits, stream));
        } else {
            /* the host does not know the rows here: a built (smaller) child has at most half its
             * parent's, so n / 2 at any depth -- one big unbalanced node gets as many blocks as
             * a balanced level's largest (n >> d would give it one at depth 6); the kernel gives
             * each item only the blocks its rows need, so small nodes do not use them all */
            const int32_t bpi = bt_gcu_hist_bpi(c->n / 2, np);
            BT_TRY(bt_gcu_partition_enqueue(c, (const bt_gbdt_partition_item *)L->part,
                                            n_prev * (W / 2), L->n_left));
            BT_TRY(bt_gbdt_level_prepare_cuda(L->pairs[(d - 1) & 1], np, L->n_left, c->T, L->zero,
                                              L->build, L->sub,
                                              (bt_gbdt_split_item *)L->split_items, stream));
            BT_TRY(bt_gbdt_hist_zero_cuda(L->hist, L->zero, np, stream));
            BT_TRY(bt_gbdt_hist_cuda(dd->bins, bm->width, c->n, F, dd->off, 0, F, dd->max_entries,
                                     c->rows, c->gh, L->hist, L->build, np, bpi, stream));
            BT_TRY(bt_gbdt_hist_sub_cuda(L->hist, L->sub, np, 0, c->T, stream));
            BT_TRY(bt_gbdt_split_cuda(L->hist, dd->off, dd->cut_ptr, dd->cut_values, dd->min_values,
                                      L->feats, c->params,
                                      (const bt_gbdt_split_item *)L->split_items, ns,
                                      L->split_scratch, L->splits, stream));
        }
        a.depth = d;
        a.n_trees = n_prev;
        a.root_items = d == 0 ? L->root_items : NULL;
        a.pairs_prev = d > 0 ? L->pairs[(d - 1) & 1] : NULL;
        a.pairs_next = L->pairs[d & 1];
        BT_TRY(bt_gbdt_apply_cuda(&a, stream));
    }
    const int32_t last = L->deep[L->levels - 1] * ((int32_t)1 << (L->levels - 1));
    BT_TRY(bt_gcu_partition_enqueue(c, (const bt_gbdt_partition_item *)L->part, last, L->n_left));
    bt_gbdt_apply_args f;
    memset(&f, 0, sizeof f);
    f.trees = L->trees;
    f.n_trees = L->deep[L->levels - 1];
    f.depth = L->levels;
    f.finish = 1;
    f.n_left = L->n_left;
    f.nodes = L->nodes;
    f.beg = L->beg;
    f.cnt = L->cnt;
    BT_TRY(bt_gbdt_apply_cuda(&f, stream));
    /* the epilogue of these trees, from their device nodes */
    BT_TRY(bt_gbdt_epilogue_items_cuda(L->trees, L->et, L->nw, L->nodes, L->beg, L->cnt, L->leaves,
                                       L->pred_train, L->pred_valid, stream));
    BT_TRY(bt_gbdt_leaf_add_cuda(c->rows, c->margin_train, (const bt_gbdt_leaf_item *)L->leaves,
                                 L->n_node_places, stream));
    if (L->n_left_out) {
        /* the partition scratch is free now (as in bt_gcu_epilogue_enqueue); the counts go to the
         * second half of n_sampled, so a later wave's round init still reads the prologue's */
        BT_TRY(bt_gcu_sample_rows_enqueue(c, L->left_out, L->n_left_out, c->scratch,
                                          c->n_sampled + (int64_t)c->host.capacity * c->K));
        BT_TRY(bt_gbdt_predict_add_cuda(L->nodes, dd->X_train, F, c->scratch, c->margin_train,
                                        (const bt_gbdt_predict_item *)L->pred_train, L->n_left_out,
                                        stream));
    }
    if (L->n_valid)
        BT_TRY(bt_gbdt_predict_add_cuda(L->nodes, dd->X_valid, F, c->scratch, c->margin_valid,
                                        (const bt_gbdt_predict_item *)L->pred_valid, L->n_valid,
                                        stream));
    return BT_STATUS_OK;
}

/* Carves n bytes (256-aligned) from a running offset. */
static size_t carve(size_t *at, size_t bytes) {
    size_t o = (*at + 255) & ~(size_t)255;
    *at = o + bytes;
    return o;
}

/* What a wave of trees W[g0..g1) needs: its depth count, histogram slots (a region of
 * min(2^(max_depth-1), n) per tree), node places, prediction items, and the bytes of its
 * fixed-place device buffer (offsets in off[], see levels_device) and of its staged items (an
 * upper bound: every array may lose 255 bytes to alignment). */
typedef struct wave_plan {
    int32_t levels, n_pt, n_pv;
    int32_t deep[BT_GBDT_LEVELS_MAX]; /* trees with max(max_depth, 1) > d */
    int64_t n_stack, n_nodes;
    int64_t places; /* the most places of one level: max over d of deep[d] x 2^d */
    size_t dl_bytes, stage_bytes, back_bytes; /* back: the wave's read-back (wave_read) */
    size_t off[18];
} wave_plan;

static int64_t region_slots(const bt_gbdt_slot *s, int64_t n) {
    int64_t sc = s->max_depth > 1 ? (int64_t)1 << (s->max_depth - 1) : 1;
    return sc < n ? sc : n;
}

static bt_status wave_plan_make(const cuda_pack *c, const tgrow *W, int g0, int g1,
                                const prologue_launch *pro, wave_plan *p) {
    const int32_t F = c->host.bin->train.n_features;
    const int32_t nw = g1 - g0;
    memset(p, 0, sizeof *p);
    p->levels = 1;
    for (int t = g0; t < g1; t++) {
        const bt_gbdt_slot *s = W[t].s;
        if (s->max_depth > p->levels) p->levels = s->max_depth;
        for (int32_t d = 0; d < BT_GBDT_LEVELS_MAX && (d == 0 || d < s->max_depth); d++)
            p->deep[d]++;
        p->n_stack += region_slots(s, c->n);
        p->n_nodes += W[t].cap;
        p->n_pt += s->subsample < 1.0;
        p->n_pv += c->nv > 0;
    }
    if (p->levels > BT_GBDT_LEVELS_MAX)
        return BT_FAIL(BT_STATUS_INTERNAL, "gbdt on cuda: max_depth %d", p->levels);
    for (int32_t d = 0; d < p->levels; d++)
        if (((int64_t)p->deep[d] << d) > p->places) p->places = (int64_t)p->deep[d] << d;
    /* every level's places fit P: part, splits, split items (< deep[d] 2^d, and the next level's
     * deep[d + 1] 2^(d + 1)), pairs, left counts, histogram items */
    const size_t P = (size_t)p->places, NN = (size_t)(p->n_nodes > 0 ? p->n_nodes : 1);
    const size_t w = (size_t)nw;
    size_t at = 0, k = 0;
    p->off[k++] = carve(&at, P * sizeof(bt_gbdt_split));
    p->off[k++] = carve(&at, P * sizeof(bt_gbdt_apply_part));
    p->off[k++] = carve(&at, P * sizeof(bt_gbdt_level_pair));
    p->off[k++] = carve(&at, P * sizeof(bt_gbdt_level_pair));
    p->off[k++] = carve(&at, 2 * P * sizeof(bt_gbdt_apply_split_item));
    p->off[k++] = carve(&at, P * sizeof(int64_t));
    p->off[k++] = carve(&at, P * sizeof(bt_gbdt_hist_zero_item));
    p->off[k++] = carve(&at, P * sizeof(bt_gbdt_hist_item));
    p->off[k++] = carve(&at, P * sizeof(bt_gbdt_hist_sub_item));
    p->off[k++] = carve(&at, bt_gbdt_split_cuda_scratch_bytes((int32_t)P));
    p->off[k++] = carve(&at, NN * sizeof(bt_gbdt_node));
    p->off[k++] = carve(&at, NN * sizeof(bt_gbdt_gh));
    p->off[k++] = carve(&at, NN * sizeof(int64_t));
    p->off[k++] = carve(&at, NN * sizeof(int64_t));
    p->off[k++] = carve(&at, NN * sizeof(int64_t));
    p->off[k++] = carve(&at, NN * sizeof(bt_gbdt_apply_leaf));
    p->off[k++] = carve(&at, w * sizeof(bt_gbdt_hist_zero_item));
    p->off[k++] = carve(&at, w * sizeof(bt_gbdt_apply_build));
    p->dl_bytes = at;
    size_t sb =
        w * (sizeof(bt_gbdt_apply_tree) + sizeof(bt_gbdt_rules) + sizeof(bt_gbdt_apply_split_item) +
             sizeof(bt_gbdt_round_init_tree) + sizeof(bt_gbdt_epilogue_tree)) +
        w * (size_t)p->levels * ((size_t)F + 1) * sizeof(int32_t) + (size_t)F * sizeof(int32_t) +
        (size_t)p->n_stack * sizeof(int64_t) +
        (size_t)p->n_pt * (sizeof(bt_gbdt_sample_rows_item) + sizeof(bt_gbdt_apply_pred)) +
        (size_t)p->n_pv * sizeof(bt_gbdt_apply_pred) + 16 * 256;
    if (pro)
        sb +=
            (size_t)pro->n_slots * sizeof(bt_gbdt_grad_item) +
            (size_t)pro->n_trees * (sizeof(bt_gbdt_quant_item) + sizeof(bt_gbdt_sample_rows_item)) +
            3 * 256;
    p->stage_bytes = sb;
    p->back_bytes = BT_GCU_BACK(w * sizeof(bt_gbdt_apply_tree)) +
                    BT_GCU_BACK(NN * sizeof(bt_gbdt_node)) + 2 * BT_GCU_BACK(NN * sizeof(int64_t));
    return BT_STATUS_OK;
}

/* A wave's host arrays: what levels_device stages -- the trees' states, rules and root items, the
 * round init items, every level's feature samples, the histogram stacks, the epilogue items (what
 * it reads back goes to the pack's pinned read-back buffer). */
typedef struct wave_host {
    bt_gbdt_apply_tree *tr;
    bt_gbdt_rules *ru;
    bt_gbdt_apply_split_item *ri;
    bt_gbdt_round_init_tree *init;
    int32_t *feats, *nf;
    uint64_t *fscratch;
    int64_t *stack;
    bt_gbdt_epilogue_tree *et;
    bt_gbdt_apply_pred *ptr, *pva;
    bt_gbdt_sample_rows_item *lo;
    int *ord;
    int32_t n_pt, n_pv;
    int64_t n_nodes_all, n_stack;
} wave_host;

static void wave_host_free(wave_host *h) {
    free(h->tr);
    free(h->ru);
    free(h->ri);
    free(h->init);
    free(h->feats);
    free(h->nf);
    free(h->fscratch);
    free(h->stack);
    free(h->et);
    free(h->ptr);
    free(h->pva);
    free(h->lo);
    free(h->ord);
}

/* The staged arrays of a wave of nw trees with pl's levels and stacks; 0 when out of memory. */
static int wave_host_alloc(wave_host *h, int32_t nw, const wave_plan *pl, int32_t F) {
    const int32_t levels = pl->levels;
    memset(h, 0, sizeof *h);
    h->tr = calloc((size_t)nw, sizeof *h->tr);
    h->ru = calloc((size_t)nw, sizeof *h->ru);
    h->ri = calloc((size_t)nw, sizeof *h->ri);
    h->init = calloc((size_t)nw, sizeof *h->init);
    h->feats = calloc((size_t)nw * (size_t)levels * (size_t)F, sizeof *h->feats);
    h->nf = calloc((size_t)nw * (size_t)levels, sizeof *h->nf);
    h->fscratch = malloc((2 * (size_t)F + 8) * sizeof *h->fscratch);
    h->stack = malloc((size_t)(pl->n_stack > 0 ? pl->n_stack : 1) * sizeof *h->stack);
    h->et = calloc((size_t)nw, sizeof *h->et);
    h->ptr = calloc((size_t)nw, sizeof *h->ptr);
    h->pva = calloc((size_t)nw, sizeof *h->pva);
    h->lo = calloc((size_t)nw, sizeof *h->lo);
    h->ord = malloc((size_t)(nw > 0 ? nw : 1) * sizeof *h->ord);
    return h->tr && h->ru && h->ri && h->init && h->feats && h->nf && h->fscratch && h->stack &&
           h->et && h->ptr && h->pva && h->lo && h->ord;
}

/* Fills a wave's host arrays from its trees W[g0..g1), in device order (h->ord). */
static void wave_trees(const cuda_pack *c, const tgrow *W, int g0, int g1, int32_t levels,
                       wave_host *h) {
    const int32_t F = c->host.bin->train.n_features;
    const int64_t T = c->T, n = c->n;
    const int32_t nw = g1 - g0;
    bt_gbdt_apply_tree *tr = h->tr;
    bt_gbdt_rules *ru = h->ru;
    bt_gbdt_apply_split_item *ri = h->ri;
    bt_gbdt_round_init_tree *init = h->init;
    int32_t *feats = h->feats, *nf = h->nf;
    int64_t *stack = h->stack;
    bt_gbdt_epilogue_tree *et = h->et;
    bt_gbdt_apply_pred *ptr = h->ptr, *pva = h->pva;
    bt_gbdt_sample_rows_item *lo = h->lo;
    uint64_t *fscratch = h->fscratch;
    int *ord = h->ord;
    int32_t n_pt = 0, n_pv = 0;
    /* device order: deepest trees first (stable), so the trees with places at depth d are the
     * first pl.deep[d] and each level's launches cover just them; ord[j] is W's index */
    for (int32_t D = levels, j = 0; D >= 1; D--)
        for (int t = g0; t < g1; t++)
            if ((W[t].s->max_depth > 1 ? W[t].s->max_depth : 1) == D) ord[j++] = t;
    int64_t n_nodes_all = 0, n_stack = 0;
    for (int j = 0; j < nw; j++) {
        const tgrow *w = &W[ord[j]];
        const bt_gbdt_slot *s = w->s;
        const int64_t sc = region_slots(s, n);
        /* the tree's histogram region [n_stack, + sc): its root's first, the others free */
        tr[j].seg = w->seg;
        tr[j].stack_base = n_stack;
        tr[j].rules = j;
        tr[j].trial = w->slot;
        tr[j].node_base = (int32_t)n_nodes_all;
        tr[j].cap = w->cap;
        tr[j].n_nodes = 1;
        tr[j].feats_begin = j * levels * F;
        tr[j].n_free = (int32_t)sc - 1;
        tr[j].stack_cap = (int32_t)sc;
        for (int64_t i = 1; i < sc; i++) stack[n_stack + i - 1] = (n_stack + i) * T;
        init[j].item = ord[j];
        init[j].slot_first = ord[j] - w->k;
        init[j].n_out = s->n_out;
        n_nodes_all += w->cap;
        ru[j].sp = s->sp;
        ru[j].eta = s->eta;
        ru[j].gamma = s->gamma;
        ru[j].max_depth = s->max_depth;
        /* the level feature samples do not depend on the data: all levels now (grow.c draws the
         * same, level by level) */
        uint64_t tree = (uint64_t)s->round * (uint64_t)s->n_out + (uint64_t)w->k;
        for (int32_t d = 0; d < levels; d++)
            nf[j * levels + d] = bt_gbdt_sample_features_ref(
                s->key, tree, (uint32_t)d + 1, w->feats_tree, w->n_feats_tree, s->colsample_bylevel,
                feats + ((int64_t)j * levels + d) * F, fscratch);
        /* units, rows and the root's items: bt_gbdt_round_init_cuda */
        ri[j].hist_offset = n_stack * T;
        ri[j].trial = w->slot;
        ri[j].feats_begin = j * levels * F;
        ri[j].n_feats = nf[j * levels];
        n_stack += sc;
        /* the epilogue: leaves into the train margins, rows a subsampled tree left out (n - m:
         * the round init), the valid rows; n_nodes is the device's */
        et[j].tmpl.row_begin = w->seg;
        et[j].tmpl.margin_offset = (int64_t)w->slot * n * c->K;
        et[j].tmpl.stride = s->n_out;
        et[j].tmpl.k = w->k;
        et[j].pred_train = et[j].pred_valid = -1;
        bt_gbdt_apply_pred p;
        memset(&p, 0, sizeof p);
        p.nodes_offset = tr[j].node_base;
        p.stride = s->n_out;
        p.k = w->k;
        if (s->subsample < 1.0) { /* every round, so the launch does not depend on m */
            lo[n_pt].key = s->key;
            lo[n_pt].tree = tree;
            lo[n_pt].subsample = s->subsample;
            lo[n_pt].out_offset = w->seg;
            lo[n_pt].complement = 1;
            p.margin_offset = (int64_t)w->slot * n * c->K;
            p.row_begin = w->seg;
            et[j].pred_train = n_pt;
            ptr[n_pt++] = p;
        }
        if (c->nv > 0) {
            p.margin_offset = (int64_t)w->slot * c->nv * c->K;
            p.row_begin = -1;
            p.n = c->nv;
            et[j].pred_valid = n_pv;
            pva[n_pv++] = p;
        }
    }
    h->n_nodes_all = n_nodes_all;
    h->n_stack = n_stack;
    h->n_pt = n_pt;
    h->n_pv = n_pv;
}

/* Stages a wave's host arrays (and the prologue's, pro, with the first wave), reserves its
 * histogram regions and fixed places, fills *L and runs it as one graph (no wait). */
static bt_status wave_launch(cuda_pack *c, const wave_plan *pl, const wave_host *h, int32_t nw,
                             const prologue_launch *pro, dlevels_launch *L) {
    const bt_gbdt_binning *B = c->host.bin;
    const int32_t F = B->train.n_features;
    const int64_t n = c->n, n_stack = h->n_stack, n_nodes_all = h->n_nodes_all;
    const int32_t levels = pl->levels, n_pt = h->n_pt, n_pv = h->n_pv;
    const bt_gbdt_apply_tree *tr = h->tr;
    const bt_gbdt_rules *ru = h->ru;
    const bt_gbdt_apply_split_item *ri = h->ri;
    const bt_gbdt_round_init_tree *init = h->init;
    const int32_t *feats = h->feats, *nf = h->nf;
    const int64_t *stack = h->stack;
    const bt_gbdt_epilogue_tree *et = h->et;
    const bt_gbdt_apply_pred *ptr = h->ptr, *pva = h->pva;
    const bt_gbdt_sample_rows_item *lo = h->lo;
    bt_status st = BT_STATUS_OK;
    TRYG(bt_gcu_hist_reserve(c, n_stack, 0));
    c->stage.used = 0;
    size_t o_g = 0, o_q = 0, o_r = 0;
    if (pro) {
        STAGE(c, pro->grad, pro->n_slots, o_g);
        STAGE(c, pro->quant, pro->n_trees, o_q);
        STAGE(c, pro->rows, pro->n_trees, o_r);
    }
    size_t o_tr, o_ru, o_ri, o_in, o_fe, o_nf, o_mi, o_st;
    STAGE(c, tr, nw, o_tr);
    STAGE(c, ru, nw, o_ru);
    STAGE(c, ri, nw, o_ri);
    STAGE(c, init, nw, o_in);
    STAGE(c, feats, (int64_t)nw * levels * F, o_fe);
    STAGE(c, nf, (int64_t)nw * levels, o_nf);
    STAGE(c, B->missing_bin, F, o_mi);
    STAGE(c, stack, n_stack, o_st);
    size_t o_et, o_lo, o_pt, o_pv;
    STAGE(c, et, nw, o_et);
    STAGE(c, lo, n_pt, o_lo);
    STAGE(c, ptr, n_pt, o_pt);
    STAGE(c, pva, n_pv, o_pv);
    char *dbase = NULL;
    TRYG(bt_gcu_stage_upload(c, &dbase));
    TRYG(bt_gcu_dbuf_reserve(&c->dl, pl->dl_bytes, c->stream, &c->oom));
    char *db = c->dl.p;
    const size_t *o = pl->off;
    memset(L, 0, sizeof *L); /* compared with memcmp */
    if (pro) {
        L->pro.grad = (const bt_gbdt_grad_item *)(dbase + o_g);
        L->pro.quant = (const bt_gbdt_quant_item *)(dbase + o_q);
        L->pro.rows = (const bt_gbdt_sample_rows_item *)(dbase + o_r);
        L->pro.n_slots = pro->n_slots;
        L->pro.n_trees = pro->n_trees;
    }
    L->init = (const bt_gbdt_round_init_tree *)(dbase + o_in);
    L->hist = c->hist;
    L->root_bpi = bt_gcu_hist_bpi(n, nw); /* a root has at most n rows */
    L->trees = (bt_gbdt_apply_tree *)(dbase + o_tr);
    L->rules = (const bt_gbdt_rules *)(dbase + o_ru);
    L->root_items = (bt_gbdt_apply_split_item *)(dbase + o_ri);
    L->feats = (const int32_t *)(dbase + o_fe);
    L->n_feats = (const int32_t *)(dbase + o_nf);
    L->missing_bin = (const int32_t *)(dbase + o_mi);
    L->stack = (int64_t *)(dbase + o_st);
    L->splits = (bt_gbdt_split *)(db + o[0]);
    L->part = (bt_gbdt_apply_part *)(db + o[1]);
    L->pairs[0] = (bt_gbdt_level_pair *)(db + o[2]);
    L->pairs[1] = (bt_gbdt_level_pair *)(db + o[3]);
    L->split_items = (bt_gbdt_apply_split_item *)(db + o[4]);
    L->n_left = (int64_t *)(db + o[5]);
    L->zero = (bt_gbdt_hist_zero_item *)(db + o[6]);
    L->build = (bt_gbdt_hist_item *)(db + o[7]);
    L->sub = (bt_gbdt_hist_sub_item *)(db + o[8]);
    L->split_scratch = db + o[9];
    L->nodes = (bt_gbdt_node *)(db + o[10]);
    L->sum = (bt_gbdt_gh *)(db + o[11]);
    L->beg = (int64_t *)(db + o[12]);
    L->cnt = (int64_t *)(db + o[13]);
    L->hoff = (int64_t *)(db + o[14]);
    L->leaves = (bt_gbdt_apply_leaf *)(db + o[15]);
    L->root_zero = (bt_gbdt_hist_zero_item *)(db + o[16]);
    L->root_build = (bt_gbdt_apply_build *)(db + o[17]);
    L->et = (const bt_gbdt_epilogue_tree *)(dbase + o_et);
    L->left_out = (const bt_gbdt_sample_rows_item *)(dbase + o_lo);
    L->pred_train = (bt_gbdt_apply_pred *)(dbase + o_pt);
    L->pred_valid = (bt_gbdt_apply_pred *)(dbase + o_pv);
    L->nw = nw;
    L->levels = levels;
    memcpy(L->deep, pl->deep, sizeof L->deep);
    L->n_node_places = (int32_t)n_nodes_all;
    L->n_left_out = n_pt;
    L->n_valid = n_pv;
    TRYG(bt_gcu_graph_run(c, dlevels_enqueue, L, sizeof *L));
done:
    return st;
}

/* The wave's one wait: (first wave) the round's finite flags and sample counts into fin and nsm;
 * the trees' states, nodes and node row ranges into W, checked; (last wave) the margins. Every
 * copy lands in pinned memory: fin and nsm, and the wave's arrays taken from the read-back buffer
 * past back_mark (reserved by the round), the margins in the mirrors. */
static bt_status wave_read(cuda_pack *c, tgrow *W, int32_t nw, wave_host *h,
                           const dlevels_launch *L, const prologue_launch *pro, int32_t *fin,
                           int64_t *nsm, size_t back_mark, const round_slots *last) {
    const int64_t n = c->n, n_nodes_all = h->n_nodes_all;
    const bt_gbdt_round_init_tree *init = h->init;
    const int *ord = h->ord;
    bt_status st = BT_STATUS_OK;
    /* one wait: (first wave) the round's finite flags and sample counts; the trees' states, nodes
     * and node row ranges; (last wave) the margins */
    const size_t NN = (size_t)(n_nodes_all > 0 ? n_nodes_all : 1);
    bt_gbdt_apply_tree *tr = NULL;
    bt_gbdt_node *rn = NULL;
    int64_t *rb = NULL, *rc = NULL;
    c->back.used = back_mark; /* the previous wave's arrays were read after its wait */
    TAKE(c, tr, nw);
    TAKE(c, rn, NN);
    TAKE(c, rb, NN);
    TAKE(c, rc, NN);
    if (pro) {
        CUG(cudaMemcpyAsync(fin, c->finite, (size_t)pro->n_trees * sizeof *fin,
                            cudaMemcpyDeviceToHost, c->stream));
        CUG(cudaMemcpyAsync(nsm, c->n_sampled, (size_t)pro->n_trees * sizeof *nsm,
                            cudaMemcpyDeviceToHost, c->stream));
    }
    CUG(cudaMemcpyAsync(tr, L->trees, (size_t)nw * sizeof *tr, cudaMemcpyDeviceToHost, c->stream));
    CUG(cudaMemcpyAsync(rn, L->nodes, NN * sizeof *rn, cudaMemcpyDeviceToHost, c->stream));
    CUG(cudaMemcpyAsync(rb, L->beg, NN * sizeof *rb, cudaMemcpyDeviceToHost, c->stream));
    CUG(cudaMemcpyAsync(rc, L->cnt, NN * sizeof *rc, cudaMemcpyDeviceToHost, c->stream));
    if (last) TRYG(bt_gcu_queue_margins(c, last->act, last->act_slot, last->slot_ok, last->n_act));
    CUG(cudaStreamSynchronize(c->stream));
    for (int j = 0; j < nw; j++) {
        tgrow *w = &W[ord[j]];
        const int t0 = init[j].slot_first;
        int ok = 1;
        for (int32_t k = 0; k < init[j].n_out; k++) ok = ok && fin[t0 + k];
        w->n_nodes = 0;
        if (!ok) continue; /* disabled on the device: the caller fails its slot */
        w->m = nsm[ord[j]];
        if (w->m < 0 || w->m > n) {
            st = BT_FAIL(BT_STATUS_INTERNAL, "gbdt on cuda: sampled %lld of %lld rows",
                         (long long)w->m, (long long)n);
            goto done;
        }
        if (tr[j].error || tr[j].n_nodes < 1 || tr[j].n_nodes > w->cap) {
            st = BT_FAIL(BT_STATUS_INTERNAL,
                         "gbdt on cuda: the device's split application failed (error %d, %d "
                         "nodes)",
                         tr[j].error, tr[j].n_nodes);
            goto done;
        }
        w->n_nodes = tr[j].n_nodes;
        const int64_t nb = tr[j].node_base;
        memcpy(w->nodes, rn + nb, (size_t)w->n_nodes * sizeof *w->nodes);
        for (int32_t id = 0; id < w->n_nodes; id++) {
            if (rb[nb + id] < 0 || rc[nb + id] < 0 || rb[nb + id] + rc[nb + id] > w->m) {
                st = BT_FAIL(BT_STATUS_INTERNAL, "gbdt on cuda: node %d has rows [%lld, +%lld)", id,
                             (long long)rb[nb + id], (long long)rc[nb + id]);
                goto done;
            }
            w->beg[id] = rb[nb + id];
            w->cnt[id] = rc[nb + id];
        }
    }
done:
    return st;
}

/* Grows trees W[g0..g1) on the device with one upload, one graph and one wait (see
 * dlevels_launch); pro: the round's prologue (host arrays), staged and run with the first wave
 * (else NULL). fin and nsm (the round's finite flags and sample counts, by tree, in the read-back
 * buffer before back_mark) are read back at the first wave's wait and read by later waves. A tree
 * whose slot has a non-finite tree was disabled on the device and is left with n_nodes 0. Fills the
 * other trees' nodes, n_nodes, m and node row ranges (checked). */
static bt_status levels_device(cuda_pack *c, tgrow *W, int g0, int g1, const prologue_launch *pro,
                               int32_t *fin, int64_t *nsm, size_t back_mark,
                               const round_slots *last) {
    const int32_t F = c->host.bin->train.n_features;
    const int32_t nw = g1 - g0;
    bt_status st = BT_STATUS_OK;
    wave_plan pl;
    BT_TRY(wave_plan_make(c, W, g0, g1, pro, &pl));
    wave_host h;
    if (!wave_host_alloc(&h, nw, &pl, F)) {
        st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory for the device levels");
        goto done;
    }
    wave_trees(c, W, g0, g1, pl.levels, &h);
    dlevels_launch L;
    TRYG(wave_launch(c, &pl, &h, nw, pro, &L));
    TRYG(wave_read(c, W, nw, &h, &L, pro, fin, nsm, back_mark, last));
done:
    wave_host_free(&h);
    return st;
}

/* A round of the listed slots with the levels on the device: W[0..*n_w) are their trees (slot by
 * slot, k = 0.. within one), pro the prologue's items (host arrays). Trees go in waves whose
 * histogram regions fit the pack's budget (trees are independent: waves change nothing but peak
 * memory), one graph and one wait each; everything a wave allocates is reserved before the first
 * wave runs, so an out-of-memory retry finds the margins untouched. Slots with a non-finite
 * gradient are marked failed and their trees dropped from W (*n_w shrinks); the others' trees are
 * grown. */
bt_status bt_gcu_round_device(cuda_pack *c, tgrow *W, int *n_w_io, bt_gbdt_slot **act,
                              const int *act_slot, int n_act, const prologue_launch *pro) {
    const int32_t F = c->host.bin->train.n_features;
    const int64_t n = c->n, T = c->T;
    const int n_w = *n_w_io;
    bt_status st = BT_STATUS_OK;
    int32_t *fin = NULL;
    int64_t *nsm = NULL;
    int *wave_end = malloc((size_t)n_w * sizeof *wave_end);
    uint64_t *fscratch = malloc((2 * (size_t)F + 8) * sizeof *fscratch);
    if (!(wave_end && fscratch)) {
        st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory growing trees");
        goto done;
    }
    for (int t = 0; t < n_w; t++) {
        st = bt_gcu_tgrow_begin(&W[t], n, F, fscratch);
        if (st != BT_STATUS_OK) goto done;
    }
    /* the waves, and the most any of them needs (reserved now) */
    int n_waves = 0;
    int64_t max_slots = 0;
    size_t max_dl = 0, max_stage = 0, max_back = 0;
    for (int g0 = 0, g1 = 0; g0 < n_w; g0 = g1) {
        int64_t wave_bytes = 0;
        for (g1 = g0; g1 < n_w; g1++) {
            /* its histogram region and its places at its deepest level (a bound of its share of
             * the wave's place buffer) */
            const bt_gbdt_slot *s = W[g1].s;
            int64_t bytes = region_slots(s, n) * T * (int64_t)sizeof(bt_gbdt_gh) +
                            ((int64_t)1 << (s->max_depth > 1 ? s->max_depth - 1 : 0)) *
                                (int64_t)bt_gcu_place_bytes();
            if (g1 > g0 && wave_bytes + bytes > c->hist_budget) break;
            wave_bytes += bytes;
        }
        wave_plan pl;
        TRYG(wave_plan_make(c, W, g0, g1, g0 == 0 ? pro : NULL, &pl));
        if (pl.n_stack > max_slots) max_slots = pl.n_stack;
        if (pl.dl_bytes > max_dl) max_dl = pl.dl_bytes;
        if (pl.stage_bytes > max_stage) max_stage = pl.stage_bytes;
        if (pl.back_bytes > max_back) max_back = pl.back_bytes;
        wave_end[n_waves++] = g1;
    }
    TRYG(bt_gcu_hist_reserve(c, max_slots, 0));
    TRYG(bt_gcu_dbuf_reserve(&c->dl, max_dl, c->stream, &c->oom));
    TRYG(bt_gcu_dbuf_reserve(&c->items, max_stage, c->stream, &c->oom));
    if (!bt_gcu_hstage_reserve(&c->stage, max_stage,
                               &c->oom)) { /* a wave only stages, never grows */
        st = BT_FAIL(BT_STATUS_INTERNAL, "out of pinned memory staging %zu bytes", max_stage);
        goto done;
    }
    /* the read-back: the round's finite flags and sample counts, then each wave's arrays */
    BACK_RESERVE(c, BT_GCU_BACK((size_t)n_w * sizeof *fin) +
                        BT_GCU_BACK((size_t)n_w * sizeof *nsm) + max_back);
    TAKE(c, fin, n_w);
    TAKE(c, nsm, n_w);
    const size_t back_mark = c->back.used;
    round_slots rs = {act, act_slot, NULL, n_act}; /* a disabled slot's margins are unchanged */
    for (int v = 0, g0 = 0; v < n_waves; g0 = wave_end[v++]) {
        TRYG(levels_device(c, W, g0, wave_end[v], v == 0 ? pro : NULL, fin, nsm, back_mark,
                           v + 1 == n_waves ? &rs : NULL));
        c->retry_ok = 0; /* the wave's graph wrote its trees' margins: a retry would add twice */
    }
    /* a slot with any non-finite gradient fails (as pack.c's slot_gradients); its trees drop out */
    int kept = 0;
    for (int i = 0, t = 0; i < n_act; i++) {
        int ok = 1;
        for (int32_t k = 0; k < act[i]->n_out; k++) ok = ok && fin[t + k];
        if (!ok) act[i]->failed = 1;
        for (int32_t k = 0; k < act[i]->n_out; k++, t++) {
            if (ok) {
                W[kept++] = W[t];
            } else {
                bt_gcu_tgrow_free(&W[t]);
            }
        }
    }
    for (int t = kept; t < n_w; t++) memset(&W[t], 0, sizeof W[t]);
    *n_w_io = kept;
done:
    free(wave_end);
    free(fscratch);
    return st;
}

#endif /* BT_HAVE_CUDA */
