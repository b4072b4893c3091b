/* Split application on the device: one thread per tree applies its level's evaluated splits with
 * the CPU grower's rules (kernels/gbdt_split_rules.h: taken or not, child numbering in XGBoost
 * order, leaf values eta x weight), writes the node arrays, and lays out the next level's launch
 * items at fixed places (tree x 2^depth + position, padding past the live count), so the launch
 * parameters of a round depend on (trees, max depth) only and a whole round can be one CUDA graph.
 * Ownership: callers own every buffer; nothing is allocated here. */
#ifndef BT_KERNEL_GBDT_APPLY_H
#define BT_KERNEL_GBDT_APPLY_H

#include <stdint.h>

#include "kernels/gbdt_split_rules.h"
#include "kernels/gbdt_hist.h"
#include "kernels/gbdt_level.h"
#include "kernels/gbdt_split.h"

/* The items a level's launches take, as the CUDA twins define them (kernels/gbdt_partition.h and
 * kernels/gbdt_split.h declare them only under BT_HAVE_CUDA; these have the same layout). */
typedef struct bt_gbdt_apply_part {
    int64_t row_begin, n_rows;
    int32_t feature, split_bin, missing_bin, default_left;
} bt_gbdt_apply_part;

typedef struct bt_gbdt_apply_split_item {
    int64_t hist_offset;
    bt_gbdt_gh total;
    int64_t n_rows;
    double g_unit, h_unit;
    int32_t trial, feats_begin, n_feats, pad_;
} bt_gbdt_apply_split_item;

/* One tree of the round (device array, read and written by its thread). Its nodes are
 * nodes/sum/beg/cnt/hoff[node_base .. node_base + cap); its free histogram offsets are the stack
 * stack[stack_base .. stack_base + n_free) (capacity stack_cap). */
typedef struct bt_gbdt_apply_tree {
    int64_t seg; /* the tree's segment of row lists and gradients */
    int64_t stack_base;
    double g_unit, h_unit;
    int32_t rules; /* row of the rules array */
    int32_t trial; /* the split items' trial (row of the split parameters) */
    int32_t node_base, cap, n_nodes;
    int32_t level_begin, level_count; /* the level's nodes: ids [begin, begin + count) */
    int32_t feats_begin; /* level d's candidate features: feats[feats_begin + d x n_features ..] */
    int32_t n_free, stack_cap;
    int32_t error; /* bits: 1 split out of range (feature or node capacity), 2 no free histogram,
                      4 free stack full */
    /* the last non-empty level applied, whose children's row ranges the next launch resolves from
     * the partition's left counts (count 0: none pending) */
    int32_t applied_begin, applied_count;
} bt_gbdt_apply_tree;

#define BT_GBDT_APPLY_RANGE 1
#define BT_GBDT_APPLY_NO_HIST 2
#define BT_GBDT_APPLY_STACK 4

/* Everything one launch (depth `depth`, W = 2^depth places per tree) reads and writes. A tree has
 * places at depth d only while d < max(max_depth, 1), the next level's pairs and split items only
 * while d + 1 < max_depth: launches over places cover the trees deep enough, which the caller puts
 * first (a launch's n_trees may include shallower trees that only resolve their last rows). Places:
 * splits/part: tree x W + i for the level's node i; pairs_prev and n_left (the partition of the
 * previous level's splits): tree x W/2 + i; pairs_next: tree x W + k; split_next: tree x 2W + j.
 * n_feats[tree x feat_levels + d] is the size of level d's feature list (0 past feat_levels).
 * root_items (depth 0, may be NULL): the roots' split items, from which the root leaf, its sum,
 * rows and histogram are set first. finish: only resolve the pending children ranges (the launch
 * after the last partition), writing no item. */
typedef struct bt_gbdt_apply_args {
    bt_gbdt_apply_tree *trees;
    int32_t n_trees, depth;
    int32_t n_features, feat_levels;
    int32_t finish, pad_;
    const int32_t *n_feats;
    const bt_gbdt_rules *rules;
    const int32_t *missing_bin;
    const bt_gbdt_apply_split_item *root_items;
    const bt_gbdt_split *splits;
    const bt_gbdt_level_pair *pairs_prev;
    const int64_t *n_left;
    bt_gbdt_node *nodes;
    bt_gbdt_gh *sum;
    int64_t *beg, *cnt, *hoff;
    int64_t *stack;
    bt_gbdt_apply_part *part;
    bt_gbdt_level_pair *pairs_next;
    bt_gbdt_apply_split_item *split_next;
} bt_gbdt_apply_args;

BT_HD int bt_gbdt_apply_push_(bt_gbdt_apply_tree *t, int64_t *stack, int64_t off) {
    if (off < 0) return 1;
    if (t->n_free >= t->stack_cap) {
        t->error |= BT_GBDT_APPLY_STACK;
        return 0;
    }
    stack[t->stack_base + t->n_free++] = off;
    return 1;
}

/* The row ranges of the children of tree t's pending splits (its last applied level), from the
 * partition's left counts at places ti x W/2 + i (clamped as bt_gbdt_level_resolve clamps them). */
BT_HD void bt_gbdt_apply_pending_(const bt_gbdt_apply_args *a, int32_t ti, bt_gbdt_apply_tree *t,
                                  int64_t W) {
    const bt_gbdt_node *nodes = a->nodes + t->node_base;
    int64_t *beg = a->beg + t->node_base, *cnt = a->cnt + t->node_base;
    for (int32_t i = 0; i < t->applied_count; i++) {
        const int32_t id = t->applied_begin + i;
        const int32_t L = nodes[id].left, R = nodes[id].right;
        if (L < 0) continue;
        const int64_t nl0 = a->n_left[(int64_t)ti * (W / 2) + i];
        const int64_t nl = nl0 < 0 ? 0 : nl0 > cnt[id] ? cnt[id] : nl0;
        beg[L] = beg[id];
        cnt[L] = nl;
        beg[R] = beg[id] + nl;
        cnt[R] = cnt[id] - nl;
    }
    t->applied_count = 0;
}

/* Tree `ti` of a launch: (0) at depth 0 with root items, the root; (1, depth > 0) the row ranges
 * of the pending splits' children from the partition's left counts and the level's histograms
 * from the previous pairs (bt_gbdt_level_resolve, as the device resolved them for the histogram
 * launches); (2) each level node in order: split taken -> node split,
 * partition item, and unless at max depth a next-level pair (new histogram popped) and two split
 * items; not taken -> its histogram back on the stack and an empty partition item; (3) padding
 * places (none past the tree's own depth) and the tree's next level. grow.c's apply_level, node
 * for node. */
BT_HD void bt_gbdt_apply_tree_run(const bt_gbdt_apply_args *a, int32_t ti) {
    bt_gbdt_apply_tree t = a->trees[ti];
    const int64_t W = (int64_t)1 << a->depth;
    if (a->finish) {
        if (a->depth > 0) bt_gbdt_apply_pending_(a, ti, &t, W);
        a->trees[ti] = t;
        return;
    }
    const bt_gbdt_rules r = a->rules[t.rules];
    bt_gbdt_node *nodes = a->nodes + t.node_base;
    bt_gbdt_gh *sum = a->sum + t.node_base;
    int64_t *beg = a->beg + t.node_base, *cnt = a->cnt + t.node_base, *hoff = a->hoff + t.node_base;
    if (a->depth == 0 && a->root_items && t.cap < 1) {
        t.error |= BT_GBDT_APPLY_RANGE; /* no room for the root: node 0 is the next tree's */
    } else if (a->depth == 0 && a->root_items) { /* the root: a leaf valued by its sum (grow.c) */
        const bt_gbdt_apply_split_item x = a->root_items[ti];
        sum[0] = x.total;
        const float w =
            bt_gbdt_weight(&r.sp, (double)x.total.g * t.g_unit, (double)x.total.h * t.h_unit);
        bt_gbdt_rules_leaf_init(nodes, sum, t.h_unit, 0, -1, w, w * r.eta);
        beg[0] = 0;
        cnt[0] = x.n_rows;
        hoff[0] = x.n_rows > 0 ? x.hist_offset : -1;
    }
    if (a->depth > 0) {
        bt_gbdt_apply_pending_(a, ti, &t, W);
        /* the level's histograms, as the device resolved them for the histogram launches */
        for (int32_t k = 0; 2 * k + 1 < t.level_count; k++) {
            const bt_gbdt_level_pair q = a->pairs_prev[(int64_t)ti * (W / 2) + k];
            const int32_t A = t.level_begin + 2 * k, B = A + 1;
            if (q.part < 0) { /* its parent had no free histogram (error already set) */
                hoff[A] = hoff[B] = -1;
                continue;
            }
            const bt_gbdt_level_out o = bt_gbdt_level_resolve(q, a->n_left[q.part]);
            hoff[A] = o.left_hist;
            hoff[B] = o.right_hist;
        }
    }
    int32_t n_pairs = 0;
    const int deeper = a->depth + 1 < r.max_depth;
    const int32_t next_begin = t.n_nodes;
    for (int32_t i = 0; i < t.level_count; i++) {
        const int32_t id = t.level_begin + i;
        const bt_gbdt_split sp = a->splits[(int64_t)ti * W + i];
        bt_gbdt_apply_part *pt = &a->part[(int64_t)ti * W + i];
        int ok = bt_gbdt_rules_takes(&r, &sp, a->depth);
        if (ok && (sp.feature >= a->n_features || t.n_nodes + 2 > t.cap)) {
            t.error |= BT_GBDT_APPLY_RANGE;
            ok = 0;
        }
        pt->row_begin = 0;
        pt->n_rows = 0;
        pt->feature = pt->split_bin = pt->missing_bin = pt->default_left = 0;
        if (!ok) {
            bt_gbdt_apply_push_(&t, a->stack, hoff[id]);
            hoff[id] = -1;
            continue;
        }
        const int32_t L = t.n_nodes++, R = t.n_nodes++;
        bt_gbdt_rules_node_split(&r, nodes, sum, t.g_unit, t.h_unit, id, &sp, L, R);
        hoff[L] = hoff[R] = -1;
        beg[L] = beg[R] = cnt[L] = cnt[R] = 0;
        pt->row_begin = t.seg + beg[id];
        pt->n_rows = cnt[id];
        pt->feature = sp.feature;
        pt->split_bin = sp.bin;
        pt->missing_bin = a->missing_bin[sp.feature];
        pt->default_left = sp.default_left;
        if (!deeper) {
            bt_gbdt_apply_push_(&t, a->stack, hoff[id]);
            hoff[id] = -1;
            continue;
        }
        bt_gbdt_level_pair q;
        q.seg = t.seg;
        q.parent_begin = beg[id];
        q.parent_rows = cnt[id];
        q.parent_hist = hoff[id];
        q.new_hist = 0;
        q.part = (int32_t)((int64_t)ti * W + i);
        q.split_left = (int32_t)((int64_t)ti * 2 * W + 2 * n_pairs);
        q.split_right = q.split_left + 1;
        q.pad_ = 0;
        if (t.n_free > 0) {
            q.new_hist = a->stack[t.stack_base + --t.n_free];
        } else {
            t.error |= BT_GBDT_APPLY_NO_HIST;
            q.part = -1;
        }
        hoff[id] = -1; /* its histogram becomes the larger child's */
        a->pairs_next[(int64_t)ti * W + n_pairs] = q;
        for (int32_t c = 0; c < 2; c++) {
            bt_gbdt_apply_split_item x;
            x.hist_offset = 0; /* hist_offset and n_rows: bt_gbdt_level_prepare_cuda */
            x.total = sum[c ? R : L];
            x.n_rows = 0;
            x.g_unit = t.g_unit;
            x.h_unit = t.h_unit;
            x.trial = t.trial;
            x.feats_begin = t.feats_begin + (a->depth + 1) * a->n_features;
            x.n_feats = a->depth + 1 < a->feat_levels
                            ? a->n_feats[(int64_t)ti * a->feat_levels + a->depth + 1]
                            : 0;
            x.pad_ = 0;
            a->split_next[(int64_t)ti * 2 * W + 2 * n_pairs + c] = x;
        }
        n_pairs++;
    }
    /* padding: a tree has places at depth d only while d < max(max_depth, 1) (its next level's
     * pairs and split items only when `deeper`); launches past its depth do not cover it (the
     * host orders a wave's trees by depth, deepest first, and counts each level's places) */
    const int has_places = a->depth < (r.max_depth > 1 ? r.max_depth : 1);
    for (int32_t k = n_pairs; deeper && k < W; k++) {
        bt_gbdt_level_pair *q = &a->pairs_next[(int64_t)ti * W + k];
        q->seg = q->parent_begin = q->parent_rows = q->parent_hist = q->new_hist = 0;
        q->part = -1;
        q->split_left = q->split_right = q->pad_ = 0;
    }
    for (int64_t j = 2 * (int64_t)n_pairs; deeper && j < 2 * W; j++) {
        bt_gbdt_apply_split_item *x = &a->split_next[(int64_t)ti * 2 * W + j];
        x->hist_offset = 0;
        x->total.g = x->total.h = 0;
        x->n_rows = 0;
        x->g_unit = x->h_unit = 0.0;
        x->trial = x->feats_begin = x->n_feats = x->pad_ = 0;
    }
    for (int64_t i = t.level_count; has_places && i < W; i++) {
        bt_gbdt_apply_part *pt = &a->part[(int64_t)ti * W + i];
        pt->row_begin = pt->n_rows = 0;
        pt->feature = pt->split_bin = pt->missing_bin = pt->default_left = 0;
    }
    if (t.level_count > 0) {
        t.applied_begin = t.level_begin;
        t.applied_count = t.level_count;
    }
    t.level_begin = next_begin;
    t.level_count = deeper ? 2 * n_pairs : 0;
    a->trees[ti] = t;
}

/* Every tree of the launch in turn (kernels/cpu/gbdt_apply.c). */
void bt_gbdt_apply_ref(const bt_gbdt_apply_args *a);

/* A root's sum from its histogram: every row lands in exactly one entry of feature 0 (a bin or
 * its missing slot), so entries [e0, e1) of the root's histogram add up to the int64 total grow.c
 * sums row by row (integers: any order gives the same). An item with no rows gets 0. */
BT_HD void bt_gbdt_root_sum_one(const bt_gbdt_gh *hist, int64_t e0, int64_t e1,
                                bt_gbdt_apply_split_item *x) {
    bt_gbdt_gh S;
    S.g = S.h = 0;
    if (x->n_rows > 0)
        for (int64_t e = e0; e < e1; e++) {
            S.g += hist[x->hist_offset + e].g;
            S.h += hist[x->hist_offset + e].h;
        }
    x->total = S;
}

/* items[i].total for every root item (kernels/cpu/gbdt_apply.c). */
void bt_gbdt_root_sum_ref(const bt_gbdt_gh *hist, int64_t e0, int64_t e1,
                          bt_gbdt_apply_split_item *items, int32_t n_items);

/* The epilogue's items (layouts of gbdt_predict.h's bt_gbdt_leaf_item and bt_gbdt_predict_item). */
typedef struct bt_gbdt_apply_leaf {
    int64_t row_begin, n, margin_offset;
    float value;
    int32_t stride, k, pad_;
} bt_gbdt_apply_leaf;

typedef struct bt_gbdt_apply_pred {
    int64_t nodes_offset, margin_offset, row_begin, n;
    int32_t n_nodes, stride, k, pad_;
} bt_gbdt_apply_pred;

/* Per tree, what its epilogue items take besides the device's nodes: its leaves' margin offset,
 * stride and k (tmpl; row_begin = the tree's segment), and its items among the host-made
 * prediction items of left-out train rows and of the valid rows (-1: none). */
typedef struct bt_gbdt_epilogue_tree {
    bt_gbdt_apply_leaf tmpl;
    int32_t pred_train, pred_valid;
} bt_gbdt_epilogue_tree;

/* Tree ti's epilogue items from its device nodes: leaves[node_base + id] for id < cap is its leaf
 * id's add (a leaf with rows, id < n_nodes) or an empty item; the prediction items it owns get
 * n_nodes. So the leaf adds and predictions follow the levels in the same graph. */
BT_HD void bt_gbdt_epilogue_tree_run(const bt_gbdt_apply_tree *trees,
                                     const bt_gbdt_epilogue_tree *et, const bt_gbdt_node *nodes,
                                     const int64_t *beg, const int64_t *cnt,
                                     bt_gbdt_apply_leaf *leaves, bt_gbdt_apply_pred *pred_train,
                                     bt_gbdt_apply_pred *pred_valid, int32_t ti) {
    const bt_gbdt_apply_tree t = trees[ti];
    const bt_gbdt_epilogue_tree e = et[ti];
    for (int32_t id = 0; id < t.cap; id++) {
        const int64_t at = (int64_t)t.node_base + id;
        bt_gbdt_apply_leaf x = e.tmpl;
        if (id < t.n_nodes && nodes[at].left < 0 && cnt[at] > 0) {
            x.row_begin = e.tmpl.row_begin + beg[at];
            x.n = cnt[at];
            x.value = nodes[at].value;
        } else {
            x.row_begin = x.n = x.margin_offset = 0;
            x.value = 0.0f;
            x.stride = x.k = 0;
        }
        x.pad_ = 0;
        leaves[at] = x;
    }
    if (e.pred_train >= 0) pred_train[e.pred_train].n_nodes = t.n_nodes;
    if (e.pred_valid >= 0) pred_valid[e.pred_valid].n_nodes = t.n_nodes;
}

/* bt_gbdt_epilogue_tree_run for every tree (kernels/cpu/gbdt_apply.c). */
void bt_gbdt_epilogue_items_ref(const bt_gbdt_apply_tree *trees, const bt_gbdt_epilogue_tree *et,
                                int32_t n_trees, const bt_gbdt_node *nodes, const int64_t *beg,
                                const int64_t *cnt, bt_gbdt_apply_leaf *leaves,
                                bt_gbdt_apply_pred *pred_train, bt_gbdt_apply_pred *pred_valid);

#if BT_HAVE_CUDA
/* ---- CUDA twin (kernels/cuda/gbdt_apply.cu, built with -fmad=false). Device pointers in a;
 * stream is a cudaStream_t. One thread per tree; a's pointers are the launch's parameters. */
#include "base/status.h"
#ifdef __cplusplus
extern "C" {
#endif

bt_status bt_gbdt_apply_cuda(const bt_gbdt_apply_args *a, void *stream);
/* bt_gbdt_root_sum_ref, one thread per item (the roots' wait of a round, on the device). */
bt_status bt_gbdt_root_sum_cuda(const bt_gbdt_gh *hist, int64_t e0, int64_t e1,
                                bt_gbdt_apply_split_item *items, int32_t n_items, void *stream);
/* bt_gbdt_epilogue_items_ref, one thread per tree. */
bt_status bt_gbdt_epilogue_items_cuda(const bt_gbdt_apply_tree *trees,
                                      const bt_gbdt_epilogue_tree *et, int32_t n_trees,
                                      const bt_gbdt_node *nodes, const int64_t *beg,
                                      const int64_t *cnt, bt_gbdt_apply_leaf *leaves,
                                      bt_gbdt_apply_pred *pred_train,
                                      bt_gbdt_apply_pred *pred_valid, void *stream);

#ifdef __cplusplus
}
#endif
#endif /* BT_HAVE_CUDA */

#endif
