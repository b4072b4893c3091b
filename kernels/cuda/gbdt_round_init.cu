/* CUDA twin of the round init (kernels/gbdt_round_init.h): one thread per tree runs the same BT_HD
 * function as the reference. Integers and products of powers of two only: bit-identical. */
#include <stddef.h>
#include <stdint.h>

#include "kernels/cuda/check.cuh"

extern "C" {
#include "kernels/gbdt_hist.h"
#include "kernels/gbdt_round_init.h"
}

static_assert(sizeof(bt_gbdt_apply_build) == sizeof(bt_gbdt_hist_item) &&
                  offsetof(bt_gbdt_apply_build, hist_offset) ==
                      offsetof(bt_gbdt_hist_item, hist_offset),
              "histogram build item layout");

namespace {

constexpr int INIT_THREADS = 64;

__global__ void round_init_kernel(const bt_gbdt_round_init_args a) {
    const int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= a.n_trees) return;
    bt_gbdt_round_init_tree_run(&a, (int32_t)j);
}

} // namespace

extern "C" bt_status bt_gbdt_round_init_cuda(const bt_gbdt_round_init_args *a, void *stream) {
    if (a->n_trees < 0 || a->n < 0 || a->T < 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "round_init_cuda: %d trees, %lld rows, %lld entries",
                       (int)a->n_trees, (long long)a->n, (long long)a->T);
    if (a->n_trees == 0) return BT_STATUS_OK;
    const unsigned blocks = (unsigned)((a->n_trees + INIT_THREADS - 1) / INIT_THREADS);
    round_init_kernel<<<blocks, INIT_THREADS, 0, (cudaStream_t)stream>>>(*a);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}
