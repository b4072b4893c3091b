/* C reference of the device-side split application (kernels/gbdt_apply.h): the trees of a launch
 * one after another, each by the same BT_HD function the CUDA twin's threads run. */
#include "kernels/gbdt_apply.h"

void bt_gbdt_apply_ref(const bt_gbdt_apply_args *a) {
    for (int32_t t = 0; t < a->n_trees; t++) bt_gbdt_apply_tree_run(a, t);
}

void bt_gbdt_root_sum_ref(const bt_gbdt_gh *hist, int64_t e0, int64_t e1,
                          bt_gbdt_apply_split_item *items, int32_t n_items) {
    for (int32_t i = 0; i < n_items; i++) bt_gbdt_root_sum_one(hist, e0, e1, &items[i]);
}

void bt_gbdt_epilogue_items_ref(const bt_gbdt_apply_tree *trees, const bt_gbdt_epilogue_tree *et,
                                int32_t n_trees, const bt_gbdt_node *nodes, const int64_t *beg,
                                const int64_t *cnt, bt_gbdt_apply_leaf *leaves,
                                bt_gbdt_apply_pred *pred_train, bt_gbdt_apply_pred *pred_valid) {
    for (int32_t t = 0; t < n_trees; t++)
        bt_gbdt_epilogue_tree_run(trees, et, nodes, beg, cnt, leaves, pred_train, pred_valid, t);
}
