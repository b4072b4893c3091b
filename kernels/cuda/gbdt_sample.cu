/* CUDA twins of row and feature sampling (kernels/gbdt_sample.h): the same Philox draws and
 * integer comparisons as the reference (kernels/philox.h is shared host/device code), kept
 * rows/features compacted in increasing order by a block-wide prefix sum -- so the lists equal the
 * reference's exactly. Features: one block per (trial, tree) item. Rows: one block per item, or
 * for many rows several (kernels/gbdt_chunks.h): each counts its chunk's kept rows, then writes
 * them after those of the chunks before it. */
#include <stdint.h>

#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/chunks.cuh"

extern "C" {
#include "kernels/gbdt_sample.h"
#include "kernels/philox.h"
}

namespace {

using bt_chunks::chunk;
constexpr int SAMPLE_THREADS = bt_chunks::THREADS;
constexpr int MAX_GRID_X = 2147483647;

typedef cub::BlockScan<int, SAMPLE_THREADS> scan_t;

/* The reference's threshold (uint64_t)(subsample * 2^32), defined for every input: it converts
 * only subsample in [0, 1) (>= 1 keeps every row; NaN or negative keeps none). */
__device__ __forceinline__ uint64_t row_threshold(double subsample) {
    if (!(subsample > 0.0)) return 0;
    return (uint64_t)(subsample * 4294967296.0);
}

/* Whether row r is in item `it`'s list (thr: the item's threshold, all: subsample >= 1). */
__device__ __forceinline__ int row_kept(const bt_gbdt_sample_rows_item &it, uint64_t thr, bool all,
                                        int64_t r) {
    const int keep = all || (uint64_t)bt_philox_u32(it.key, it.tree, (uint64_t)r) < thr;
    return it.complement ? !keep : keep;
}

/* Writes the listed rows of [r0, r1) to out[0 ..] in increasing order by tiles; every thread of
 * the block calls it. Returns their count (in every thread). */
__device__ int64_t list_rows(const bt_gbdt_sample_rows_item &it, int64_t r0, int64_t r1,
                             int32_t *out, typename scan_t::TempStorage &tmp) {
    const bool all = it.subsample >= 1.0;
    const uint64_t thr = all ? 0 : row_threshold(it.subsample);
    int64_t m = 0; /* identical in every thread */
    for (int64_t t0 = r0; t0 < r1; t0 += SAMPLE_THREADS) {
        const int64_t r = t0 + threadIdx.x;
        const int keep = r < r1 ? row_kept(it, thr, all, r) : 0;
        int pre = 0, tile = 0;
        __syncthreads(); /* tmp reuse */
        scan_t(tmp).ExclusiveSum(keep, pre, tile);
        if (keep) out[m + pre] = (int32_t)r;
        m += tile;
    }
    return m;
}

/* One block per item (blocks_per_item 1, or n rows in one chunk: block 0 of each item); with
 * several chunks, each block lists its chunk's rows after those of the chunks before it. */
__global__ void __launch_bounds__(SAMPLE_THREADS)
    sample_rows_kernel(int64_t n, const bt_gbdt_sample_rows_item *__restrict__ items, int32_t bpi,
                       const int64_t *__restrict__ counts, int32_t *rows_out, int64_t *n_out) {
    /* two storages, no union: the emulation's scan storage keeps state between scans */
    __shared__ typename scan_t::TempStorage tmp;
    __shared__ bt_chunks::scan_storage tmp_counts;
    const chunk c = bt_chunks::of_block(n, bpi);
    const bt_gbdt_sample_rows_item it = items[c.item];
    int32_t *out = rows_out + it.out_offset;
    if (c.n <= 1) {
        if (c.b != 0) return;
        const int64_t m = list_rows(it, 0, n, out, tmp);
        if (threadIdx.x == 0) n_out[c.item] = m;
        return;
    }
    if (c.b >= c.n) return;
    int64_t total = 0;
    const int64_t before = bt_chunks::rows_before(c, bpi, counts, tmp_counts, &total);
    list_rows(it, c.beg, c.end, out + before, tmp);
    if (c.b == 0 && threadIdx.x == 0) n_out[c.item] = total;
}

/* With several chunks, first: each chunk's count of listed rows into counts[item x bpi + chunk]. */
__global__ void __launch_bounds__(SAMPLE_THREADS)
    count_rows_kernel(int64_t n, const bt_gbdt_sample_rows_item *__restrict__ items, int32_t bpi,
                      int64_t *counts) {
    typedef cub::BlockReduce<int, SAMPLE_THREADS> reduce_t;
    __shared__ typename reduce_t::TempStorage tmp;
    const chunk c = bt_chunks::of_block(n, bpi);
    if (c.n <= 1 || c.b >= c.n) return; /* uniform in the block */
    const bt_gbdt_sample_rows_item it = items[c.item];
    const bool all = it.subsample >= 1.0;
    const uint64_t thr = all ? 0 : row_threshold(it.subsample);
    int kept = 0; /* at most chunk size / SAMPLE_THREADS per thread */
    for (int64_t r = c.beg + threadIdx.x; r < c.end; r += SAMPLE_THREADS)
        kept += row_kept(it, thr, all, r);
    const int total = reduce_t(tmp).Sum(kept);
    if (threadIdx.x == 0) counts[c.item * bpi + c.b] = total;
}

/* Sort key of input position i: 32 Philox bits << 32 | i (unique), as the reference. */
__device__ __forceinline__ uint64_t feature_key(const bt_gbdt_sample_features_item &it,
                                                const int32_t *in, int32_t i) {
    const uint64_t c = (1ull << 63) | ((uint64_t)it.level << 32) | (uint32_t)in[i];
    return ((uint64_t)bt_philox_u32(it.key, it.tree, c) << 32) | (uint32_t)i;
}

/* The reference sorts the keys and keeps the k smallest; with unique keys that is "rank < k",
 * the rank counted directly (O(n_in^2) per item: feature counts are small). Kept positions are
 * then compacted in increasing order, which is the reference's sorted positions. */
__global__ void __launch_bounds__(SAMPLE_THREADS)
    sample_features_kernel(const int32_t *__restrict__ in,
                           const bt_gbdt_sample_features_item *__restrict__ items, int32_t *out,
                           int32_t *n_out, uint64_t *scratch) {
    __shared__ typename scan_t::TempStorage tmp;
    const bt_gbdt_sample_features_item it = items[blockIdx.x];
    const int32_t n_in = it.n_in > 0 ? it.n_in : 0;
    const int32_t *I = in + it.in_offset;
    int32_t *O = out + it.out_offset;
    int32_t k = (int32_t)(it.frac * (double)n_in);
    if (k < 1) k = 1;
    const bool all = k >= n_in;
    uint64_t *keys = scratch + it.in_offset;
    if (!all) {
        for (int32_t i = threadIdx.x; i < n_in; i += SAMPLE_THREADS)
            keys[i] = feature_key(it, I, i);
        __syncthreads(); /* global writes of this block are visible to it after the barrier */
    }
    int32_t m = 0;
    for (int32_t t0 = 0; t0 < n_in; t0 += SAMPLE_THREADS) {
        const int32_t i = t0 + (int32_t)threadIdx.x;
        int keep = 0;
        if (i < n_in) {
            if (all) {
                keep = 1;
            } else {
                const uint64_t ki = keys[i];
                int32_t rank = 0;
                for (int32_t j = 0; j < n_in && rank < k; j++) rank += keys[j] < ki;
                keep = rank < k;
            }
        }
        int pre = 0, tile = 0;
        __syncthreads();
        scan_t(tmp).ExclusiveSum(keep, pre, tile);
        if (keep) O[m + pre] = I[i];
        m += tile;
    }
    if (threadIdx.x == 0) n_out[blockIdx.x] = m;
}

} // namespace

extern "C" bt_status bt_gbdt_sample_rows_cuda(int64_t n, const bt_gbdt_sample_rows_item *items,
                                              int32_t n_items, int32_t blocks_per_item,
                                              int64_t *counts, int32_t *rows_out, int64_t *n_out,
                                              void *stream) {
    if (n < 0 || n > INT32_MAX || n_items < 0 || n_items > MAX_GRID_X)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "sample_rows_cuda: %lld rows, %d items", (long long)n,
                       (int)n_items);
    const int32_t bpi = blocks_per_item;
    if (!bt_gbdt_chunk_blocks_ok(bpi, n_items, counts))
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "sample_rows_cuda: %d blocks per item for %d items (counts %s)", (int)bpi,
                       (int)n_items, counts ? "given" : "NULL");
    if (n_items == 0) return BT_STATUS_OK;
    cudaStream_t s = (cudaStream_t)stream;
    const dim3 g((unsigned)n_items * (unsigned)bpi), b(SAMPLE_THREADS);
    if (bpi > 1) count_rows_kernel<<<g, b, 0, s>>>(n, items, bpi, counts);
    sample_rows_kernel<<<g, b, 0, s>>>(n, items, bpi, counts, rows_out, n_out);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}

extern "C" bt_status bt_gbdt_sample_features_cuda(const int32_t *in,
                                                  const bt_gbdt_sample_features_item *items,
                                                  int32_t n_items, int32_t *out, int32_t *n_out,
                                                  uint64_t *scratch, void *stream) {
    if (n_items < 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "sample_features_cuda: %d items", (int)n_items);
    if (n_items == 0) return BT_STATUS_OK;
    sample_features_kernel<<<(unsigned)n_items, SAMPLE_THREADS, 0, (cudaStream_t)stream>>>(
        in, items, out, n_out, scratch);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}
