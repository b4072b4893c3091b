/* Round init on the device: one thread per tree turns the prologue's results (quantization
 * exponents, finite flags, sample counts) into the tree's starting state and the roots' launch
 * items, so the host need not wait between the prologue and the levels and a whole round is one
 * CUDA graph with one host wait (docs/cuda.md, "One round"). A slot with any non-finite tree is
 * disabled here: its trees grow nothing and add nothing to the margins; the host marks it failed
 * after the round's wait. Ownership: callers own every buffer; nothing is allocated here. */
#ifndef BT_KERNEL_GBDT_ROUND_INIT_H
#define BT_KERNEL_GBDT_ROUND_INIT_H

#include <stdint.h>

#include "kernels/gbdt_apply.h"

/* A histogram build item (layout of gbdt_hist.h's bt_gbdt_hist_item, declared there only under
 * BT_HAVE_CUDA). */
typedef struct bt_gbdt_apply_build {
    int64_t row_begin, n_rows, gh_offset, hist_offset;
} bt_gbdt_apply_build;

/* Tree j of a round init launch: its index in the prologue's arrays (exponents, finite flags,
 * sample counts) and its slot's trees there, items [slot_first, slot_first + n_out). */
typedef struct bt_gbdt_round_init_tree {
    int32_t item, slot_first, n_out, pad_;
} bt_gbdt_round_init_tree;

/* Everything one launch reads and writes; tree j owns trees[j], root_items[j], root_zero[j],
 * root_build[j] and the prediction items et[j] names. Staged by the host beforehand: the trees'
 * seg and the rest of their state but units and level_count; the root items' hist_offset (the
 * tree's root histogram), trial, feats_begin and n_feats; the valid prediction items' n. */
typedef struct bt_gbdt_round_init_args {
    const bt_gbdt_round_init_tree *init;
    const int32_t *eg, *eh, *finite;
    const int64_t *n_sampled;
    int64_t n; /* train rows: a sample count is clamped to [0, n] (the host checks the raw one) */
    int64_t T; /* entries per histogram */
    bt_gbdt_apply_tree *trees;
    bt_gbdt_apply_split_item *root_items;
    bt_gbdt_hist_zero_item *root_zero;
    bt_gbdt_apply_build *root_build;
    const bt_gbdt_epilogue_tree *et;
    bt_gbdt_apply_pred *pred_train, *pred_valid;
    int32_t n_trees, pad_;
} bt_gbdt_round_init_args;

/* 2^-e for a quantization exponent (|e| <= 1000, bt_gbdt_quant_exponent's range, clamped): by
 * squaring powers of two, exact, the value ldexp(1, -e) gives. */
BT_HD double bt_gbdt_round_unit(int32_t e) {
    if (e > 1000) e = 1000;
    if (e < -1000) e = -1000;
    double r = 1.0, b = e < 0 ? 2.0 : 0.5;
    for (uint32_t k = (uint32_t)(e < 0 ? -e : e); k; k >>= 1) {
        if (k & 1) r *= b;
        b *= b;
    }
    return r;
}

/* Tree j: units 2^-eg, 2^-eh into its state and root split item; m = its sample count (0 when its
 * slot has a non-finite tree) as the root's rows and the left-out rows n - m of its train
 * prediction item; with m > 0 one level (the root), a clear of its root histogram and a build of
 * its m rows into it; with m = 0 none of those (n_feats 0 too). A disabled slot's prediction items
 * get no rows, so its margins stay untouched. */
BT_HD void bt_gbdt_round_init_tree_run(const bt_gbdt_round_init_args *a, int32_t j) {
    const bt_gbdt_round_init_tree e = a->init[j];
    int ok = 1;
    for (int32_t k = 0; k < e.n_out; k++) ok = ok && a->finite[e.slot_first + k] != 0;
    int64_t m = a->n_sampled[e.item];
    if (m < 0) m = 0;
    if (m > a->n) m = a->n;
    if (!ok) m = 0;
    const double gu = bt_gbdt_round_unit(a->eg[e.item]), hu = bt_gbdt_round_unit(a->eh[e.item]);
    bt_gbdt_apply_tree *t = &a->trees[j];
    t->g_unit = gu;
    t->h_unit = hu;
    t->level_count = m > 0 ? 1 : 0;
    bt_gbdt_apply_split_item *x = &a->root_items[j];
    x->total.g = x->total.h = 0; /* bt_gbdt_root_sum */
    x->n_rows = m;
    x->g_unit = gu;
    x->h_unit = hu;
    if (m == 0) x->n_feats = 0;
    bt_gbdt_hist_zero_item *z = &a->root_zero[j];
    z->offset = x->hist_offset;
    z->n = m > 0 ? a->T : 0;
    bt_gbdt_apply_build *b = &a->root_build[j];
    b->row_begin = t->seg;
    b->n_rows = m;
    b->gh_offset = t->seg;
    b->hist_offset = x->hist_offset;
    const bt_gbdt_epilogue_tree et = a->et[j];
    if (et.pred_train >= 0) a->pred_train[et.pred_train].n = ok ? a->n - m : 0;
    if (et.pred_valid >= 0 && !ok) a->pred_valid[et.pred_valid].n = 0;
}

/* Every tree of the launch in turn (kernels/cpu/gbdt_round_init.c). */
void bt_gbdt_round_init_ref(const bt_gbdt_round_init_args *a);

#if BT_HAVE_CUDA
/* ---- CUDA twin (kernels/cuda/gbdt_round_init.cu). Device pointers in a; stream is a
 * cudaStream_t. One thread per tree. */
#include "base/status.h"
#ifdef __cplusplus
extern "C" {
#endif

bt_status bt_gbdt_round_init_cuda(const bt_gbdt_round_init_args *a, void *stream);

#ifdef __cplusplus
}
#endif
#endif /* BT_HAVE_CUDA */

#endif
