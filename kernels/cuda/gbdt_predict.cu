/* CUDA twins of the margin updates (kernels/gbdt_predict.h): a whole tree added to a trial's
 * margins over raw feature values (the valid set, or train rows left out of a subsample), and a
 * leaf's value added to its train rows after growth. Many (trial, tree) or (trial, leaf) items
 * per launch; one float add per margin entry, so results equal the reference exactly. */
#include <stdint.h>

#include "kernels/cuda/check.cuh"

extern "C" {
#include "kernels/gbdt_predict.h"
}

namespace {

constexpr int PRED_THREADS = 256;
constexpr int MAX_GRID_Y = 65535;
/* Deeper than any tree gbdt grows (max_depth <= 16); stops a malformed tree from looping. */
constexpr int MAX_WALK = 64;

/* bt_gbdt_tree_leaf with bounds: a child index outside the tree stops the walk at the node. */
__device__ __forceinline__ int32_t tree_leaf(const bt_gbdt_node *nodes, int32_t n_nodes,
                                             const float *x) {
    int32_t i = 0;
    for (int step = 0; step < MAX_WALK && nodes[i].left >= 0; step++) {
        const float v = x[nodes[i].feature];
        const int left = v != v ? nodes[i].default_left : v < nodes[i].split_cond;
        const int32_t next = left ? nodes[i].left : nodes[i].right;
        if (next < 0 || next >= n_nodes) break;
        i = next;
    }
    return i;
}

/* grid = (row blocks, items), grid-stride over the item's rows. */
__global__ void predict_kernel(const bt_gbdt_node *__restrict__ nodes, const float *__restrict__ X,
                               int32_t n_features, const int32_t *__restrict__ rows, float *margin,
                               const bt_gbdt_predict_item *__restrict__ items) {
    const bt_gbdt_predict_item it = items[blockIdx.y];
    if (it.n_nodes <= 0) return;
    const bt_gbdt_node *T = nodes + it.nodes_offset;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < it.n;
         i += (int64_t)gridDim.x * blockDim.x) {
        const int64_t r = it.row_begin >= 0 ? (int64_t)rows[it.row_begin + i] : i;
        const int32_t leaf = tree_leaf(T, it.n_nodes, X + r * n_features);
        float *m = margin + it.margin_offset + r * it.stride + it.k;
        *m = __fadd_rn(*m, T[leaf].value);
    }
}

__global__ void leaf_kernel(const int32_t *__restrict__ rows, float *margin,
                            const bt_gbdt_leaf_item *__restrict__ items) {
    const bt_gbdt_leaf_item it = items[blockIdx.y];
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < it.n;
         i += (int64_t)gridDim.x * blockDim.x) {
        float *m = margin + it.margin_offset + (int64_t)rows[it.row_begin + i] * it.stride + it.k;
        *m = __fadd_rn(*m, it.value);
    }
}

} // namespace

/* Row counts live on the device, so a fixed grid of blocks per item strides over them. */
extern "C" bt_status bt_gbdt_predict_add_cuda(const bt_gbdt_node *nodes, const float *X,
                                              int32_t n_features, const int32_t *rows,
                                              float *margin, const bt_gbdt_predict_item *items,
                                              int32_t n_items, void *stream) {
    if (n_items < 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "predict_add_cuda: %d items", (int)n_items);
    for (int32_t done = 0; done < n_items; done += MAX_GRID_Y) {
        const int32_t m = n_items - done < MAX_GRID_Y ? n_items - done : MAX_GRID_Y;
        predict_kernel<<<dim3(64, (unsigned)m), PRED_THREADS, 0, (cudaStream_t)stream>>>(
            nodes, X, n_features, rows, margin, items + done);
        BT_CUDA_CHECK_LAUNCH();
    }
    return BT_STATUS_OK;
}

extern "C" bt_status bt_gbdt_leaf_add_cuda(const int32_t *rows, float *margin,
                                           const bt_gbdt_leaf_item *items, int32_t n_items,
                                           void *stream) {
    if (n_items < 0) return BT_FAIL(BT_STATUS_BAD_INPUT, "leaf_add_cuda: %d items", (int)n_items);
    for (int32_t done = 0; done < n_items; done += MAX_GRID_Y) {
        const int32_t m = n_items - done < MAX_GRID_Y ? n_items - done : MAX_GRID_Y;
        leaf_kernel<<<dim3(16, (unsigned)m), PRED_THREADS, 0, (cudaStream_t)stream>>>(rows, margin,
                                                                                      items + done);
        BT_CUDA_CHECK_LAUNCH();
    }
    return BT_STATUS_OK;
}
