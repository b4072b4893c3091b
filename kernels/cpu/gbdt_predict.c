/* C reference of the prediction updates (see kernels/gbdt_predict.h). */
#include "kernels/gbdt_predict.h"

void bt_gbdt_predict_add_ref(const bt_gbdt_node *nodes, const float *X, int32_t n_features,
                             const int32_t *rows, int64_t n, float *margin, int32_t stride,
                             int32_t k) {
    for (int64_t i = 0; i < n; i++) {
        int64_t r = rows ? rows[i] : i;
        int32_t leaf = bt_gbdt_tree_leaf(nodes, X + r * n_features);
        margin[r * stride + k] += nodes[leaf].value;
    }
}

void bt_gbdt_leaf_add_ref(const int32_t *rows, int64_t n, float value, float *margin,
                          int32_t stride, int32_t k) {
    for (int64_t i = 0; i < n; i++) margin[(int64_t)rows[i] * stride + k] += value;
}
