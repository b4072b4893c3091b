/* CUDA twin of the fixed-point gradient histogram and the sibling subtraction
 * (kernels/gbdt_hist.h). One launch builds the histograms of many (trial, node) items over the
 * shared bin matrix; int64 sums are added with atomics (64-bit ones in global memory, two 32-bit
 * ones and a carry in shared memory), exact and order-free in two's complement, so the result
 * equals bt_gbdt_hist_ref bit for bit whatever the thread schedule. */
#include <stdint.h>

#include "kernels/cuda/check.cuh"

extern "C" {
#include "kernels/gbdt_hist.h"
}

namespace {

constexpr int HIST_THREADS = 256;
/* 48 KiB of shared memory (the default limit, no opt-in needed): 3072 (g, h) entries. */
constexpr int HIST_SMEM_ENTRIES = 48 * 1024 / 16;
constexpr int MAX_GRID_YZ = 65535;
/* A block of the shared-memory path zeroes and flushes its whole chunk histogram whatever its
 * share of the pairs: it takes at least this many pairs per entry of the chunk, so that a small
 * item's pairs are not spread over many blocks that each pay for a whole histogram. */
constexpr int64_t HIST_PAIRS_PER_ENTRY = 8;

/* Global memory: native 64-bit atomic adds (a reduction, RED.ADD.64, as the result is unused). */
__device__ __forceinline__ void add_gh_global(unsigned long long *dst, int64_t g, int64_t h) {
    atomicAdd(dst, (unsigned long long)g);
    atomicAdd(dst + 1, (unsigned long long)h);
}

/* Shared memory has no 64-bit atomic add (it would be a compare-and-swap loop): the low 32-bit
 * word takes the low half, and the high word the high half plus the carry out of the low word's
 * add, seen in the value it had. Exact and order-free: the low words add modulo 2^32, and every
 * wrap of the low word adds one carry to the high word, whatever the order of the adds, so once
 * all are done (the block's barrier) the two words hold the 64-bit sum modulo 2^64 -- the
 * two's-complement int64 sum. A read between the adds may see the halves out of step; none does.
 * w[0] is the low word, w[1] the high one (words of an entry are never read as one 64-bit value,
 * so the layout is ours, not the machine's byte order). */
__device__ __forceinline__ void add_u64_shared(unsigned int *w, uint64_t v) {
    const unsigned int lo = (unsigned int)v, hi = (unsigned int)(v >> 32);
    const unsigned int old = atomicAdd(w, lo);
    atomicAdd(w + 1, hi + (old + lo < old ? 1u : 0u));
}

/* grid = (blocks_per_item, items, feature chunks of fpc features). Each block walks its share of
 * the (row, feature) pairs of one item and one feature chunk -- adjacent threads read adjacent
 * features of a row, which are adjacent bytes of the row-major matrix -- adding into a private
 * shared-memory copy of the chunk's histogram, then merges the non-zero entries into global
 * memory. A chunk whose entries do not fit (a feature wider than the budget, or a caller that
 * understated max_feature_entries) adds to global memory directly: slower, same sums. The two
 * paths are separate code, so every atomic's address space is known at compile time. An item
 * uses only the blocks its pairs need (HIST_PAIRS_PER_ENTRY); the rest exit at once. */
template <typename T>
__global__ void __launch_bounds__(HIST_THREADS)
    hist_kernel(const T *__restrict__ bins, int64_t n_matrix_rows, int32_t n_features,
                const uint32_t *__restrict__ off, int32_t f_begin, int32_t f_end, int32_t fpc,
                int32_t smem_entries, const int32_t *__restrict__ rows,
                const bt_gbdt_gh *__restrict__ gh, bt_gbdt_gh *hist,
                const bt_gbdt_hist_item *__restrict__ items) {
    /* 4 words per entry: g low, g high, h low, h high */
    extern __shared__ unsigned int sm[];
    const bt_gbdt_hist_item it = items[blockIdx.y];
    const int32_t f0 = f_begin + (int32_t)blockIdx.z * fpc;
    if (f0 >= f_end) return;
    const int32_t f1 = min(f_end, f0 + fpc), nf = f1 - f0;
    const int64_t base = off[f0];
    const int64_t span = (int64_t)off[f1] - base;
    const int64_t total = it.n_rows * nf;
    const bool priv = span <= smem_entries;
    /* blocks of this item: the grid's, fewer where its pairs are few (private path); each takes
     * at least one pair per thread */
    int64_t per_block = priv ? HIST_PAIRS_PER_ENTRY * span : 0;
    if (per_block < blockDim.x) per_block = blockDim.x;
    const int64_t want = total > 0 ? (total + per_block - 1) / per_block : 0;
    const int64_t nb = want < (int64_t)gridDim.x ? want : (int64_t)gridDim.x;
    /* block-uniform exits only, before any barrier */
    if (it.n_rows <= 0 || span <= 0 || (int64_t)blockIdx.x >= nb) return;
    const int64_t start = (int64_t)blockIdx.x * blockDim.x, stride = nb * blockDim.x;
    unsigned long long *ghist =
        reinterpret_cast<unsigned long long *>(hist + it.hist_offset + base);
    /* add(e, v) for each of this block's (row, feature) pairs: e the entry of the row's bin of f
     * in the chunk, v the row's sums */
    auto walk = [&](auto add) {
        auto pair = [&](int64_t i, int32_t f) {
            const int64_t r = rows[it.row_begin + i];
            if (r < 0 || r >= n_matrix_rows) return;
            const int64_t b = bins[r * n_features + f];
            if (b >= (int64_t)off[f + 1] - (int64_t)off[f]) return;
            const bt_gbdt_gh v = gh[it.gh_offset + r];
            add((int64_t)off[f] - base + b, v);
        };
        if (total + stride <= (int64_t)UINT32_MAX) {
            /* the common case: 32-bit index and division (a 64-bit division per pair costs
             * more than the pair's loads) */
            const uint32_t unf = (uint32_t)nf, ut = (uint32_t)total, us = (uint32_t)stride;
            for (uint32_t idx = (uint32_t)start + threadIdx.x; idx < ut; idx += us) {
                const uint32_t i = idx / unf;
                pair((int64_t)i, f0 + (int32_t)(idx - i * unf));
            }
        } else {
            for (int64_t idx = start + threadIdx.x; idx < total; idx += stride) {
                const int64_t i = idx / nf;
                pair(i, f0 + (int32_t)(idx - i * nf));
            }
        }
    };
    if (!priv) {
        walk([&](int64_t e, const bt_gbdt_gh &v) { add_gh_global(ghist + 2 * e, v.g, v.h); });
        return;
    }
    for (int64_t e = threadIdx.x; e < span; e += blockDim.x) {
        unsigned int *w = sm + 4 * e; /* one 16-byte store */
        w[0] = w[1] = w[2] = w[3] = 0u;
    }
    __syncthreads();
    walk([&](int64_t e, const bt_gbdt_gh &v) {
        add_u64_shared(sm + 4 * e, (uint64_t)v.g);
        add_u64_shared(sm + 4 * e + 2, (uint64_t)v.h);
    });
    __syncthreads();
    for (int64_t e = threadIdx.x; e < span; e += blockDim.x) {
        const unsigned int *w = sm + 4 * e;
        const uint64_t g = (uint64_t)w[1] << 32 | w[0], h = (uint64_t)w[3] << 32 | w[2];
        if (g | h) add_gh_global(ghist + 2 * e, (int64_t)g, (int64_t)h);
    }
}

/* grid = (blocks over [begin, end), items). */
__global__ void hist_sub_kernel(bt_gbdt_gh *hist, const bt_gbdt_hist_sub_item *__restrict__ items,
                                int64_t begin, int64_t end) {
    const bt_gbdt_hist_sub_item it = items[blockIdx.y];
    if (it.parent < 0) return; /* padding */
    for (int64_t i = begin + (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < end;
         i += (int64_t)gridDim.x * blockDim.x) {
        /* unsigned: wrap-around is the two's complement result the reference computes */
        bt_gbdt_gh *p = hist + it.parent + i;
        const bt_gbdt_gh c = hist[it.child + i];
        p->g = (int64_t)((uint64_t)p->g - (uint64_t)c.g);
        p->h = (int64_t)((uint64_t)p->h - (uint64_t)c.h);
    }
}

} // namespace

extern "C" bt_status bt_gbdt_hist_cuda(const void *bins, int32_t width, int64_t n_matrix_rows,
                                       int32_t n_features, const uint32_t *off, int32_t f_begin,
                                       int32_t f_end, int32_t max_feature_entries,
                                       const int32_t *rows, const bt_gbdt_gh *gh, bt_gbdt_gh *hist,
                                       const bt_gbdt_hist_item *items, int32_t n_items,
                                       int32_t blocks_per_item, void *stream) {
    if (width != 1 && width != 2)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "hist_cuda: bin width %d (1 or 2)", (int)width);
    if (f_begin < 0 || f_end > n_features || max_feature_entries < 1 || blocks_per_item < 1 ||
        n_items < 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "hist_cuda: features [%d, %d) of %d, max entries %d, %d blocks, %d items",
                       (int)f_begin, (int)f_end, (int)n_features, (int)max_feature_entries,
                       (int)blocks_per_item, (int)n_items);
    if (n_items == 0 || f_begin >= f_end) return BT_STATUS_OK;
    cudaStream_t s = (cudaStream_t)stream;
    /* features per chunk so that a chunk's entries fit the shared budget (at least one feature;
     * a single feature wider than the budget takes the global-atomic path) */
    int32_t fpc = HIST_SMEM_ENTRIES / max_feature_entries;
    if (fpc < 1) fpc = 1;
    const int32_t n_f = f_end - f_begin;
    const int64_t n_chunks = ((int64_t)n_f + fpc - 1) / fpc;
    if (n_chunks > MAX_GRID_YZ)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "hist_cuda: %lld feature chunks (max %d)",
                       (long long)n_chunks, MAX_GRID_YZ);
    const int64_t span = (int64_t)fpc * max_feature_entries;
    const int smem_entries = (int)(span < HIST_SMEM_ENTRIES ? span : HIST_SMEM_ENTRIES);
    const size_t smem = (size_t)smem_entries * 16;
    for (int32_t done = 0; done < n_items; done += MAX_GRID_YZ) {
        const int32_t m = n_items - done < MAX_GRID_YZ ? n_items - done : MAX_GRID_YZ;
        dim3 grid((unsigned)blocks_per_item, (unsigned)m, (unsigned)n_chunks);
        if (width == 1)
            hist_kernel<uint8_t><<<grid, HIST_THREADS, smem, s>>>(
                (const uint8_t *)bins, n_matrix_rows, n_features, off, f_begin, f_end, fpc,
                smem_entries, rows, gh, hist, items + done);
        else
            hist_kernel<uint16_t><<<grid, HIST_THREADS, smem, s>>>(
                (const uint16_t *)bins, n_matrix_rows, n_features, off, f_begin, f_end, fpc,
                smem_entries, rows, gh, hist, items + done);
        BT_CUDA_CHECK_LAUNCH();
    }
    return BT_STATUS_OK;
}

extern "C" bt_status bt_gbdt_hist_sub_cuda(bt_gbdt_gh *hist, const bt_gbdt_hist_sub_item *items,
                                           int32_t n_items, int64_t begin, int64_t end,
                                           void *stream) {
    if (n_items < 0 || begin < 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "hist_sub_cuda: %d items, begin %lld", (int)n_items,
                       (long long)begin);
    if (n_items == 0 || end <= begin) return BT_STATUS_OK;
    const int threads = 256;
    int64_t blocks = (end - begin + threads - 1) / threads;
    if (blocks > 1024) blocks = 1024; /* grid-stride loop covers the rest */
    for (int32_t done = 0; done < n_items; done += MAX_GRID_YZ) {
        const int32_t m = n_items - done < MAX_GRID_YZ ? n_items - done : MAX_GRID_YZ;
        hist_sub_kernel<<<dim3((unsigned)blocks, (unsigned)m), threads, 0, (cudaStream_t)stream>>>(
            hist, items + done, begin, end);
        BT_CUDA_CHECK_LAUNCH();
    }
    return BT_STATUS_OK;
}
