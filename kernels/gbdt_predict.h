/* Trees and prediction updates: a tree is an array of nodes in XGBoost's order (root 0, children
 * allocated in pairs as nodes expand level by level); predicting adds each row's leaf value to its
 * float margin, comparing raw values with `x < split_cond` (NaN takes the default direction) as
 * XGBoost's predictor does. Ownership: callers own every buffer. */
#ifndef BT_KERNEL_GBDT_PREDICT_H
#define BT_KERNEL_GBDT_PREDICT_H

#include <stdint.h>

typedef struct bt_gbdt_node {
    int32_t left, right;  /* children, -1 at leaves */
    int32_t parent;       /* -1 at the root */
    int32_t feature;      /* split feature (0 at leaves) */
    int32_t bin;          /* split bin: non-missing rows with bin <= this go left */
    int32_t default_left; /* where missing values go */
    float split_cond;     /* raw-value rule: x < split_cond goes left */
    float value;          /* leaf value (eta * weight) at leaves */
    float base_weight;    /* as XGBoost stores it: weight at splits and a lone root, leaf value at
                             other leaves */
    float loss_chg;       /* gain of the split, 0 at leaves */
    float sum_hess;       /* hessian sum of the node */
} bt_gbdt_node;

/* Leaf index of raw row x (n_features values). */
static inline int32_t bt_gbdt_tree_leaf(const bt_gbdt_node *nodes, const float *x) {
    int32_t i = 0;
    while (nodes[i].left >= 0) {
        float v = x[nodes[i].feature];
        int left = v != v ? nodes[i].default_left : v < nodes[i].split_cond;
        i = left ? nodes[i].left : nodes[i].right;
    }
    return i;
}

/* margin[r * stride + k] += leaf value of row r of X (row-major, n_features columns), for the rows
 * listed in rows[0..n) or, with rows NULL, for rows 0..n-1. */
void bt_gbdt_predict_add_ref(const bt_gbdt_node *nodes, const float *X, int32_t n_features,
                             const int32_t *rows, int64_t n, float *margin, int32_t stride,
                             int32_t k);

/* margin[rows[i] * stride + k] += value for i in [0, n): a leaf's rows after training. */
void bt_gbdt_leaf_add_ref(const int32_t *rows, int64_t n, float value, float *margin,
                          int32_t stride, int32_t k);

#if BT_HAVE_CUDA
/* ---- CUDA twins (kernels/cuda/gbdt_predict.cu). Device pointers; stream is a cudaStream_t. */
#include "base/status.h"
#ifdef __cplusplus
extern "C" {
#endif

/* One tree added to one trial's margins: nodes[nodes_offset .. + n_nodes), rows rows[row_begin ..
 * row_begin + n) or, with row_begin < 0, rows 0..n-1 of X; margin[margin_offset + r * stride + k].
 * Items of one launch must write disjoint margin entries (e.g. one tree per trial and class). */
typedef struct bt_gbdt_predict_item {
    int64_t nodes_offset, margin_offset, row_begin, n;
    int32_t n_nodes, stride, k, pad_;
} bt_gbdt_predict_item;

bt_status bt_gbdt_predict_add_cuda(const bt_gbdt_node *nodes, const float *X, int32_t n_features,
                                   const int32_t *rows, float *margin,
                                   const bt_gbdt_predict_item *items, int32_t n_items,
                                   void *stream);

/* One leaf: margin[margin_offset + rows[row_begin + i] * stride + k] += value, i in [0, n). */
typedef struct bt_gbdt_leaf_item {
    int64_t row_begin, n, margin_offset;
    float value;
    int32_t stride, k, pad_;
} bt_gbdt_leaf_item;

bt_status bt_gbdt_leaf_add_cuda(const int32_t *rows, float *margin, const bt_gbdt_leaf_item *items,
                                int32_t n_items, void *stream);

#ifdef __cplusplus
}
#endif
#endif /* BT_HAVE_CUDA */

#endif
