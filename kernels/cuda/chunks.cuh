/* Device side of kernels/gbdt_chunks.h: which chunk of which item a block walks, and where its
 * rows go (the item's count scan). Blocks are numbered item x blocks_per_item + chunk. */
#ifndef BT_KERNEL_CUDA_CHUNKS_CUH
#define BT_KERNEL_CUDA_CHUNKS_CUH

#include <stdint.h>

#include <cub/block/block_scan.cuh>

extern "C" {
#include "kernels/gbdt_chunks.h"
}

namespace bt_chunks {

constexpr int THREADS = 256; /* every chunked kernel's block */
static_assert(BT_GBDT_CHUNK_MAX_BPI <= THREADS, "one chunk count per thread");
static_assert(BT_GBDT_CHUNK_ROWS % THREADS == 0, "chunks of whole tiles");

/* This block's item, its chunk [beg, end) of the item's n rows, and the item's chunk count. */
struct chunk {
    int64_t item, beg, end;
    int32_t b, n;
};

__device__ __forceinline__ chunk of_block(int64_t n_rows, int32_t bpi) {
    chunk c;
    c.item = blockIdx.x / bpi;
    c.b = (int32_t)(blockIdx.x % bpi);
    int64_t size = (n_rows + bpi - 1) / bpi;
    size = (size + THREADS - 1) / THREADS * THREADS;
    if (size < BT_GBDT_CHUNK_ROWS) size = BT_GBDT_CHUNK_ROWS;
    c.n = n_rows > 0 ? (int32_t)((n_rows + size - 1) / size) : 0;
    c.beg = (int64_t)c.b * size;
    c.end = c.beg + size < n_rows ? c.beg + size : n_rows;
    return c;
}

/* The item's chunk counts scanned (every thread of the block calls it; c.n <= THREADS):
 * the rows of the chunks before c (returned) and of every chunk (*total). */
typedef cub::BlockScan<long long, THREADS> count_scan_t;
struct scan_storage {
    count_scan_t::TempStorage scan;
    long long before;
};

__device__ __forceinline__ int64_t rows_before(const chunk &c, int32_t bpi,
                                               const int64_t *__restrict__ counts,
                                               scan_storage &tmp, int64_t *total) {
    const int tid = threadIdx.x;
    const long long mine = tid < c.n ? (long long)counts[c.item * bpi + tid] : 0;
    long long pre = 0, all = 0;
    count_scan_t(tmp.scan).ExclusiveSum(mine, pre, all);
    if (tid == c.b) tmp.before = pre;
    __syncthreads(); /* before written */
    *total = all;
    return tmp.before;
}

} // namespace bt_chunks

#endif
