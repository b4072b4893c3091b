/* CUDA twin of the stable row partition (kernels/gbdt_partition.h): one block per (trial, node)
 * item walks the node's rows in tiles; a block-wide prefix sum of the "goes left" flags gives
 * every row its place, so left rows keep their order at the front (written in place, behind the
 * tiles already read) and right rows keep theirs in scratch, then follow them -- exactly the row
 * order bt_gbdt_partition_ref produces. */
#include <stdint.h>

#include <cub/block/block_scan.cuh>

#include "kernels/cuda/check.cuh"

extern "C" {
#include "kernels/gbdt_partition.h"
}

namespace {

constexpr int PART_THREADS = 256;
constexpr int MAX_GRID_X = 2147483647;

template <typename T>
__global__ void __launch_bounds__(PART_THREADS)
    partition_kernel(int32_t *rows, int32_t *scratch, const T *__restrict__ bins,
                     int32_t n_features, const bt_gbdt_partition_item *__restrict__ items,
                     int64_t *n_left) {
    typedef cub::BlockScan<int, PART_THREADS> scan_t;
    __shared__ typename scan_t::TempStorage tmp;
    const bt_gbdt_partition_item it = items[blockIdx.x];
    int32_t *R = rows + it.row_begin;
    int32_t *S = scratch + it.row_begin;
    const int tid = threadIdx.x;
    int64_t nl = 0, nr = 0; /* identical in every thread */
    for (int64_t t0 = 0; t0 < it.n_rows; t0 += PART_THREADS) {
        const int64_t i = t0 + tid;
        const bool valid = i < it.n_rows;
        int32_t r = 0;
        int left = 0;
        if (valid) {
            r = R[i];
            const int32_t b = bins[(int64_t)r * n_features + it.feature];
            left = b == it.missing_bin ? it.default_left != 0 : b <= it.split_bin;
        }
        int pre = 0, tile_left = 0;
        __syncthreads(); /* every read of this tile happens before any write below; tmp reuse */
        scan_t(tmp).ExclusiveSum(left, pre, tile_left);
        if (valid) {
            if (left)
                R[nl + pre] = r; /* nl + pre <= i: a slot already read */
            else
                S[nr + (tid - pre)] = r; /* threads before tid in this tile are all valid */
        }
        const int64_t tile_n = it.n_rows - t0 < PART_THREADS ? it.n_rows - t0 : PART_THREADS;
        nl += tile_left;
        nr += tile_n - tile_left;
    }
    __syncthreads(); /* scratch complete */
    for (int64_t j = tid; j < nr; j += PART_THREADS) R[nl + j] = S[j];
    if (tid == 0) n_left[blockIdx.x] = nl;
}

} // namespace

extern "C" bt_status bt_gbdt_partition_cuda(int32_t *rows, int32_t *scratch, const void *bins,
                                            int32_t width, int32_t n_features,
                                            const bt_gbdt_partition_item *items, int32_t n_items,
                                            int64_t *n_left, void *stream) {
    if (width != 1 && width != 2)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "partition_cuda: bin width %d (1 or 2)", (int)width);
    if (n_items < 0 || n_items > MAX_GRID_X)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "partition_cuda: %d items", (int)n_items);
    if (n_items == 0) return BT_STATUS_OK;
    cudaStream_t s = (cudaStream_t)stream;
    if (width == 1)
        partition_kernel<uint8_t><<<(unsigned)n_items, PART_THREADS, 0, s>>>(
            rows, scratch, (const uint8_t *)bins, n_features, items, n_left);
    else
        partition_kernel<uint16_t><<<(unsigned)n_items, PART_THREADS, 0, s>>>(
            rows, scratch, (const uint16_t *)bins, n_features, items, n_left);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}
