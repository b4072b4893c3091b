/* CUDA twin of the stable row partition (kernels/gbdt_partition.h). An item of one chunk is done
 * by one block: it walks the node's rows in tiles; a block-wide prefix sum of the "goes left"
 * flags gives every row its place, so left rows keep their order at the front (written in place,
 * behind the tiles already read) and right rows keep theirs in scratch, then follow them. A
 * bigger item is cut into chunks, one block each, in three launches: each block counts its
 * chunk's left rows; each block scans the item's chunk counts for its offsets and places its rows
 * into scratch by the same tile scan (left rows after the left rows of the chunks before it, right
 * rows after every left row and the right rows of the chunks before it); each block copies its
 * chunk of scratch back. Either way exactly the row order bt_gbdt_partition_ref produces. */
#include <stdint.h>

#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/chunks.cuh"

extern "C" {
#include "kernels/gbdt_partition.h"
}

namespace {

using bt_chunks::chunk;
constexpr int PART_THREADS = bt_chunks::THREADS;
constexpr int MAX_GRID_X = 2147483647;

typedef cub::BlockScan<int, PART_THREADS> scan_t;

template <typename T>
__device__ __forceinline__ int goes_left(const T *__restrict__ bins, int32_t n_features,
                                         const bt_gbdt_partition_item &it, int32_t r) {
    const int32_t b = bins[(int64_t)r * n_features + it.feature];
    return b == it.missing_bin ? it.default_left != 0 : b <= it.split_bin;
}

/* Places rows R[0..n) by tiles: left row j (in order) at L[j], right row j at Q[j]. Every thread
 * of the block calls it; L may be R itself (left row j was read at an index >= j, in this or an
 * earlier tile; the barrier before each tile's scan orders the reads before the writes). Returns
 * the left count (in every thread). */
template <typename T>
__device__ int64_t place_rows(const int32_t *R, int64_t n, int32_t *L, int32_t *Q,
                              const T *__restrict__ bins, int32_t n_features,
                              const bt_gbdt_partition_item &it, typename scan_t::TempStorage &tmp) {
    const int tid = threadIdx.x;
    int64_t nl = 0, nr = 0; /* identical in every thread */
    for (int64_t t0 = 0; t0 < n; t0 += PART_THREADS) {
        const int64_t i = t0 + tid;
        const bool valid = i < n;
        int32_t r = 0;
        int left = 0;
        if (valid) {
            r = R[i];
            left = goes_left(bins, n_features, it, r);
        }
        int pre = 0, tile_left = 0;
        __syncthreads(); /* every read of this tile happens before any write below; tmp reuse */
        scan_t(tmp).ExclusiveSum(left, pre, tile_left);
        if (valid) {
            if (left)
                L[nl + pre] = r;
            else
                Q[nr + (tid - pre)] = r; /* threads before tid in this tile are all valid */
        }
        const int64_t tile_n = n - t0 < PART_THREADS ? n - t0 : PART_THREADS;
        nl += tile_left;
        nr += tile_n - tile_left;
    }
    return nl;
}

/* One block per item (blocks_per_item 1), or block 0 of a one-chunk item: in place, right rows
 * parked in scratch and copied back behind the left ones. */
template <typename T>
__device__ void partition_one_block(int32_t *rows, int32_t *scratch, const T *__restrict__ bins,
                                    int32_t n_features, const bt_gbdt_partition_item &it,
                                    int64_t *n_left, typename scan_t::TempStorage &tmp) {
    int32_t *R = rows + it.row_begin;
    int32_t *S = scratch + it.row_begin;
    const int64_t nl = place_rows(R, it.n_rows, R, S, bins, n_features, it, tmp);
    const int64_t nr = it.n_rows - nl;
    __syncthreads(); /* scratch complete */
    for (int64_t j = threadIdx.x; j < nr; j += PART_THREADS) R[nl + j] = S[j];
    if (threadIdx.x == 0) *n_left = nl;
}

template <typename T>
__global__ void __launch_bounds__(PART_THREADS)
    partition_kernel(int32_t *rows, int32_t *scratch, const T *__restrict__ bins,
                     int32_t n_features, const bt_gbdt_partition_item *__restrict__ items,
                     int64_t *n_left) {
    __shared__ typename scan_t::TempStorage tmp;
    const bt_gbdt_partition_item it = items[blockIdx.x];
    partition_one_block(rows, scratch, bins, n_features, it, &n_left[blockIdx.x], tmp);
}

/* Pass 1 of a big item: a chunk's left count into counts[item x bpi + chunk]. */
template <typename T>
__global__ void __launch_bounds__(PART_THREADS)
    count_kernel(const int32_t *__restrict__ rows, const T *__restrict__ bins, int32_t n_features,
                 const bt_gbdt_partition_item *__restrict__ items, int32_t bpi, int64_t *counts) {
    typedef cub::BlockReduce<int, PART_THREADS> reduce_t;
    __shared__ typename reduce_t::TempStorage tmp;
    const bt_gbdt_partition_item it = items[blockIdx.x / bpi];
    const chunk c = bt_chunks::of_block(it.n_rows, bpi);
    if (c.n <= 1 || c.b >= c.n) return; /* uniform in the block */
    const int32_t *R = rows + it.row_begin;
    int left = 0; /* at most chunk size / PART_THREADS per thread */
    for (int64_t i = c.beg + threadIdx.x; i < c.end; i += PART_THREADS)
        left += goes_left(bins, n_features, it, R[i]);
    const int total = reduce_t(tmp).Sum(left);
    if (threadIdx.x == 0) counts[c.item * bpi + c.b] = total;
}

/* Pass 2: block 0 of a one-chunk item partitions it in place; a big item's blocks place their
 * chunks' rows into scratch at their final positions. */
template <typename T>
__global__ void __launch_bounds__(PART_THREADS)
    place_kernel(int32_t *rows, int32_t *scratch, const T *__restrict__ bins, int32_t n_features,
                 const bt_gbdt_partition_item *__restrict__ items, int32_t bpi,
                 const int64_t *__restrict__ counts, int64_t *n_left) {
    /* two storages, no union: the emulation's scan storage keeps state between scans */
    __shared__ typename scan_t::TempStorage tmp_rows;
    __shared__ bt_chunks::scan_storage tmp_counts;
    const bt_gbdt_partition_item it = items[blockIdx.x / bpi];
    const chunk c = bt_chunks::of_block(it.n_rows, bpi);
    if (c.n <= 1) {
        if (c.b == 0)
            partition_one_block(rows, scratch, bins, n_features, it, &n_left[c.item], tmp_rows);
        return;
    }
    if (c.b >= c.n) return;
    int64_t total = 0;
    const int64_t before = bt_chunks::rows_before(c, bpi, counts, tmp_counts, &total);
    int32_t *S = scratch + it.row_begin;
    place_rows(rows + it.row_begin + c.beg, c.end - c.beg, S + before, S + total + (c.beg - before),
               bins, n_features, it, tmp_rows);
    if (c.b == 0 && threadIdx.x == 0) n_left[c.item] = total;
}

/* Pass 3: a big item's chunks copied back from scratch. */
__global__ void __launch_bounds__(PART_THREADS)
    copy_back_kernel(int32_t *rows, const int32_t *__restrict__ scratch,
                     const bt_gbdt_partition_item *__restrict__ items, int32_t bpi) {
    const bt_gbdt_partition_item it = items[blockIdx.x / bpi];
    const chunk c = bt_chunks::of_block(it.n_rows, bpi);
    if (c.n <= 1 || c.b >= c.n) return;
    for (int64_t i = c.beg + threadIdx.x; i < c.end; i += PART_THREADS)
        rows[it.row_begin + i] = scratch[it.row_begin + i];
}

template <typename T>
void launch_partition(int32_t *rows, int32_t *scratch, const T *bins, int32_t n_features,
                      const bt_gbdt_partition_item *items, int32_t n_items, int32_t bpi,
                      int64_t *counts, int64_t *n_left, cudaStream_t s) {
    if (bpi == 1) {
        partition_kernel<T><<<(unsigned)n_items, PART_THREADS, 0, s>>>(rows, scratch, bins,
                                                                       n_features, items, n_left);
        return;
    }
    const dim3 g((unsigned)n_items * (unsigned)bpi), b(PART_THREADS);
    count_kernel<T><<<g, b, 0, s>>>(rows, bins, n_features, items, bpi, counts);
    place_kernel<T><<<g, b, 0, s>>>(rows, scratch, bins, n_features, items, bpi, counts, n_left);
    copy_back_kernel<<<g, b, 0, s>>>(rows, scratch, items, bpi);
}

} // namespace

extern "C" bt_status bt_gbdt_partition_cuda(int32_t *rows, int32_t *scratch, const void *bins,
                                            int32_t width, int32_t n_features,
                                            const bt_gbdt_partition_item *items, int32_t n_items,
                                            int32_t blocks_per_item, int64_t *counts,
                                            int64_t *n_left, void *stream) {
    if (width != 1 && width != 2)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "partition_cuda: bin width %d (1 or 2)", (int)width);
    if (n_items < 0 || n_items > MAX_GRID_X)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "partition_cuda: %d items", (int)n_items);
    const int32_t bpi = blocks_per_item;
    if (!bt_gbdt_chunk_blocks_ok(bpi, n_items, counts))
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "partition_cuda: %d blocks per item for %d items (counts %s)", (int)bpi,
                       (int)n_items, counts ? "given" : "NULL");
    if (n_items == 0) return BT_STATUS_OK;
    cudaStream_t s = (cudaStream_t)stream;
    if (width == 1)
        launch_partition(rows, scratch, (const uint8_t *)bins, n_features, items, n_items, bpi,
                         counts, n_left, s);
    else
        launch_partition(rows, scratch, (const uint16_t *)bins, n_features, items, n_items, bpi,
                         counts, n_left, s);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}
