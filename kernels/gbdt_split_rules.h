/* The rules that turn an evaluated split into tree nodes -- whether a split is taken (XGBoost's
 * kRtEps, both children with hessian, gamma, max_depth), child numbering, leaf values eta x weight
 * -- as BT_HD inline functions, so grow.c (the CPU grower), pack_cuda.c's host bookkeeping and the
 * device-side split application (kernels/gbdt_apply.h) run the same source and cannot drift apart.
 * Ownership: nothing is allocated; callers own every array. */
#ifndef BT_GBDT_SPLIT_RULES_H
#define BT_GBDT_SPLIT_RULES_H

#include <stdint.h>

#include "kernels/gbdt_predict.h" /* bt_gbdt_node */
#include "kernels/gbdt_split.h"   /* bt_gbdt_split, bt_gbdt_weight, BT_HD */

/* A trial's tree-shaping parameters (the slot's sp, eta, gamma, max_depth), one row per trial in
 * device arrays. */
typedef struct bt_gbdt_rules {
    bt_gbdt_split_param sp;
    float eta, gamma;
    int32_t max_depth;
    int32_t pad_;
} bt_gbdt_rules;

/* Whether split sp of a node at `depth` is taken. */
BT_HD int bt_gbdt_rules_takes(const bt_gbdt_rules *r, const bt_gbdt_split *sp, int depth) {
    return sp->feature >= 0 && sp->loss_chg > 1e-6f && sp->left.h != 0 && sp->right.h != 0 &&
           !(sp->loss_chg < r->gamma) && depth < r->max_depth;
}

/* nodes[id] becomes a leaf with parent, base weight and value; its hessian sum from sum[id]
 * (field by field, so the bytes equal a memset-then-fill: the struct has no padding). */
BT_HD void bt_gbdt_rules_leaf_init(bt_gbdt_node *nodes, const bt_gbdt_gh *sum, double hu,
                                   int32_t id, int32_t parent, float base_weight, float value) {
    bt_gbdt_node *nd = &nodes[id];
    nd->left = nd->right = -1;
    nd->parent = parent;
    nd->feature = 0;
    nd->bin = 0;
    nd->default_left = 0;
    nd->split_cond = 0.0f;
    nd->value = value;
    nd->base_weight = base_weight;
    nd->loss_chg = 0.0f;
    nd->sum_hess = (float)((double)sum[id].h * hu);
}

/* nodes[id] becomes split sp with children L and R (leaves valued eta x weight); sum[L], sum[R]
 * receive the children's fixed-point sums; gu, hu are the tree's quantization units. Device code
 * using this must not contract a*b+c into an FMA (kernels/cuda/gbdt_apply.cu is built with
 * -fmad=false): the host does separate IEEE multiplies and adds. */
BT_HD void bt_gbdt_rules_node_split(const bt_gbdt_rules *r, bt_gbdt_node *nodes, bt_gbdt_gh *sum,
                                    double gu, double hu, int32_t id, const bt_gbdt_split *sp,
                                    int32_t L, int32_t R) {
    bt_gbdt_node *nd = &nodes[id];
    bt_gbdt_gh S = sum[id];
    nd->left = L;
    nd->right = R;
    nd->feature = sp->feature;
    nd->bin = sp->bin;
    nd->default_left = sp->default_left;
    nd->split_cond = sp->split_cond;
    nd->loss_chg = sp->loss_chg;
    nd->base_weight = bt_gbdt_weight(&r->sp, (double)S.g * gu, (double)S.h * hu);
    nd->value = 0.0f;
    sum[L] = sp->left;
    sum[R] = sp->right;
    float wl = bt_gbdt_weight(&r->sp, (double)sp->left.g * gu, (double)sp->left.h * hu);
    float wr = bt_gbdt_weight(&r->sp, (double)sp->right.g * gu, (double)sp->right.h * hu);
    bt_gbdt_rules_leaf_init(nodes, sum, hu, L, id, wl * r->eta, wl * r->eta);
    bt_gbdt_rules_leaf_init(nodes, sum, hu, R, id, wr * r->eta, wr * r->eta);
}

#endif
