/* CUDA twin of the between-levels bookkeeping (kernels/gbdt_level.h): one thread per sibling pair
 * resolves it with the same BT_HD function as the reference (integer arithmetic) and writes the
 * next level's launch items, so a level follows the previous partition without the host. */
#include <stdint.h>

#include "kernels/cuda/check.cuh"

extern "C" {
#include "kernels/gbdt_level.h"
}

namespace {

constexpr int LEVEL_THREADS = 128;

__global__ void level_prepare_kernel(const bt_gbdt_level_pair *__restrict__ pairs, int32_t n_pairs,
                                     const int64_t *__restrict__ n_left, int64_t T,
                                     bt_gbdt_hist_zero_item *zero, bt_gbdt_hist_item *build,
                                     bt_gbdt_hist_sub_item *sub, bt_gbdt_split_item *split) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n_pairs) return;
    const bt_gbdt_level_pair p = pairs[i];
    if (p.part < 0) {
        zero[i].offset = 0;
        zero[i].n = 0;
        build[i].row_begin = 0;
        build[i].n_rows = 0;
        build[i].gh_offset = 0;
        build[i].hist_offset = 0;
        sub[i].parent = -1;
        sub[i].child = 0;
        return;
    }
    const bt_gbdt_level_out o = bt_gbdt_level_resolve(p, n_left[p.part]);
    zero[i].offset = p.new_hist;
    zero[i].n = T;
    build[i].row_begin = p.seg + o.small_begin;
    build[i].n_rows = o.small_rows;
    build[i].gh_offset = p.seg;
    build[i].hist_offset = p.new_hist;
    sub[i].parent = p.parent_hist;
    sub[i].child = p.new_hist;
    split[p.split_left].hist_offset = o.left_hist;
    split[p.split_left].n_rows = o.left_rows;
    split[p.split_right].hist_offset = o.right_hist;
    split[p.split_right].n_rows = o.right_rows;
}

} // namespace

extern "C" bt_status
bt_gbdt_level_prepare_cuda(const bt_gbdt_level_pair *pairs, int32_t n_pairs, const int64_t *n_left,
                           int64_t T, bt_gbdt_hist_zero_item *zero, bt_gbdt_hist_item *build,
                           bt_gbdt_hist_sub_item *sub, bt_gbdt_split_item *split, void *stream) {
    if (n_pairs < 0 || T < 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "level_prepare_cuda: %d pairs, T %lld", (int)n_pairs,
                       (long long)T);
    if (n_pairs == 0) return BT_STATUS_OK;
    const unsigned blocks = (unsigned)((n_pairs + LEVEL_THREADS - 1) / LEVEL_THREADS);
    level_prepare_kernel<<<blocks, LEVEL_THREADS, 0, (cudaStream_t)stream>>>(
        pairs, n_pairs, n_left, T, zero, build, sub, split);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}
