/* CUDA twin of the split application (kernels/gbdt_apply.h): one thread per tree runs the same
 * BT_HD function as the reference. This file is built with -fmad=false (CMakeLists.txt): node
 * weights are (double) G x unit -/+ alpha and H x unit + lambda, which nvcc would otherwise fuse
 * into FMAs and round differently from the CPU's separate multiplies and adds. */
#include <stddef.h>
#include <stdint.h>

#include "kernels/cuda/check.cuh"

extern "C" {
#include "kernels/gbdt_apply.h"
#include "kernels/gbdt_partition.h"
#include "kernels/gbdt_predict.h"
}

static_assert(sizeof(bt_gbdt_apply_part) == sizeof(bt_gbdt_partition_item) &&
                  offsetof(bt_gbdt_apply_part, default_left) ==
                      offsetof(bt_gbdt_partition_item, default_left),
              "partition item layout");
static_assert(sizeof(bt_gbdt_apply_split_item) == sizeof(bt_gbdt_split_item) &&
                  offsetof(bt_gbdt_apply_split_item, n_feats) ==
                      offsetof(bt_gbdt_split_item, n_feats),
              "split item layout");

static_assert(sizeof(bt_gbdt_apply_leaf) == sizeof(bt_gbdt_leaf_item) &&
                  offsetof(bt_gbdt_apply_leaf, k) == offsetof(bt_gbdt_leaf_item, k),
              "leaf item layout");
static_assert(sizeof(bt_gbdt_apply_pred) == sizeof(bt_gbdt_predict_item) &&
                  offsetof(bt_gbdt_apply_pred, n_nodes) == offsetof(bt_gbdt_predict_item, n_nodes),
              "predict item layout");

namespace {

constexpr int APPLY_THREADS = 64;

__global__ void apply_kernel(const bt_gbdt_apply_args a) {
    const int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= a.n_trees) return;
    bt_gbdt_apply_tree_run(&a, (int32_t)t);
}

__global__ void root_sum_kernel(const bt_gbdt_gh *__restrict__ hist, int64_t e0, int64_t e1,
                                bt_gbdt_apply_split_item *items, int32_t n_items) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n_items) return;
    bt_gbdt_root_sum_one(hist, e0, e1, &items[i]);
}

__global__ void epilogue_kernel(const bt_gbdt_apply_tree *trees, const bt_gbdt_epilogue_tree *et,
                                int32_t n_trees, const bt_gbdt_node *nodes, const int64_t *beg,
                                const int64_t *cnt, bt_gbdt_apply_leaf *leaves,
                                bt_gbdt_apply_pred *pred_train, bt_gbdt_apply_pred *pred_valid) {
    const int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= n_trees) return;
    bt_gbdt_epilogue_tree_run(trees, et, nodes, beg, cnt, leaves, pred_train, pred_valid,
                              (int32_t)t);
}

} // namespace

extern "C" bt_status bt_gbdt_apply_cuda(const bt_gbdt_apply_args *a, void *stream) {
    if (a->n_trees < 0 || a->depth < 0 || a->depth > 30)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "apply_cuda: %d trees at depth %d", (int)a->n_trees,
                       (int)a->depth);
    if (a->n_trees == 0) return BT_STATUS_OK;
    const unsigned blocks = (unsigned)((a->n_trees + APPLY_THREADS - 1) / APPLY_THREADS);
    apply_kernel<<<blocks, APPLY_THREADS, 0, (cudaStream_t)stream>>>(*a);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}

extern "C" bt_status bt_gbdt_root_sum_cuda(const bt_gbdt_gh *hist, int64_t e0, int64_t e1,
                                           bt_gbdt_apply_split_item *items, int32_t n_items,
                                           void *stream) {
    if (n_items < 0 || e0 < 0 || e1 < e0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "root_sum_cuda: %d items, entries [%lld, %lld)",
                       (int)n_items, (long long)e0, (long long)e1);
    if (n_items == 0) return BT_STATUS_OK;
    const unsigned blocks = (unsigned)((n_items + APPLY_THREADS - 1) / APPLY_THREADS);
    root_sum_kernel<<<blocks, APPLY_THREADS, 0, (cudaStream_t)stream>>>(hist, e0, e1, items,
                                                                        n_items);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}

extern "C" bt_status bt_gbdt_epilogue_items_cuda(const bt_gbdt_apply_tree *trees,
                                                 const bt_gbdt_epilogue_tree *et, int32_t n_trees,
                                                 const bt_gbdt_node *nodes, const int64_t *beg,
                                                 const int64_t *cnt, bt_gbdt_apply_leaf *leaves,
                                                 bt_gbdt_apply_pred *pred_train,
                                                 bt_gbdt_apply_pred *pred_valid, void *stream) {
    if (n_trees < 0) return BT_FAIL(BT_STATUS_BAD_INPUT, "epilogue_items_cuda: %d trees", n_trees);
    if (n_trees == 0) return BT_STATUS_OK;
    const unsigned blocks = (unsigned)((n_trees + APPLY_THREADS - 1) / APPLY_THREADS);
    epilogue_kernel<<<blocks, APPLY_THREADS, 0, (cudaStream_t)stream>>>(
        trees, et, n_trees, nodes, beg, cnt, leaves, pred_train, pred_valid);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}
