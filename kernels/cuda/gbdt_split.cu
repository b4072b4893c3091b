/* CUDA twin of histogram split evaluation (kernels/gbdt_split.h): models/gbdt/grow.c's eval_node
 * on the histogram path for many (trial, node) items per launch. The reference keeps the first
 * strictly best candidate in its visiting order (features in list order; per feature the forward
 * scan by increasing bin, then the backward scan by decreasing bin); here every candidate gets a
 * unique key in that order and the winner is the largest loss with the smallest key -- the same
 * candidate, found by an order-free reduction. The gain and loss are the reference's own BT_HD
 * functions (kernels/gbdt_split.h); they and the rest of the float/double operations here use
 * explicit _rn intrinsics so that nvcc cannot contract a*b+c into an FMA, which would round
 * differently. */
#include <stdint.h>

#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>

#include "kernels/cuda/check.cuh"

extern "C" {
#include "kernels/gbdt_split.h"
}

namespace {

constexpr int SPLIT_THREADS = 256;
/* Blocks per item; each block takes features x, x + SPLIT_BLOCKS, ... of the item's list, so any
 * list length works, and a node's features are scanned in parallel. */
constexpr int SPLIT_BLOCKS = 8;
constexpr int MAX_GRID_Y = 65535;

/* A candidate; key orders candidates as the reference visits them: (list position, direction,
 * step of the scan). loss == 0 with key INT64_MAX is "none". */
struct cand {
    float loss;
    int32_t feature, bin, default_left;
    float split_cond;
    int32_t pad_;
    long long key;
    bt_gbdt_gh left, right;
};

__device__ __forceinline__ void cand_none(cand *c) {
    c->loss = 0.0f;
    c->feature = -1;
    c->bin = -1;
    c->default_left = 0;
    c->split_cond = 0.0f;
    c->pad_ = 0;
    c->key = INT64_MAX;
    c->left.g = c->left.h = c->right.g = c->right.h = 0;
}

/* a beats b: larger loss, then earlier in the reference's order. Stored losses are > 0 or none. */
__device__ __forceinline__ bool cand_better(const cand &a, const cand &b) {
    return a.loss > b.loss || (a.loss == b.loss && a.key < b.key);
}

/* eval_node's early exit: one row, or a hessian that cannot cover two children. */
__device__ __forceinline__ bool node_can_split(const bt_gbdt_split_item &it,
                                               const bt_gbdt_split_param &p) {
    const double H = __dmul_rn((double)it.total.h, it.h_unit);
    const double lim = __dmul_rn(__dmul_rn(2.0, (double)p.min_child_weight), 1.0 - 1e-9);
    return !(it.n_rows < 2 || H < lim);
}

__device__ __forceinline__ void consider(cand *best, float loss, long long key, int32_t feature,
                                         int32_t bin, int32_t default_left, float split_cond,
                                         bt_gbdt_gh left, bt_gbdt_gh right) {
    if (!(loss > 0.0f)) return; /* the reference's best starts at 0; NaN never wins */
    cand c;
    c.loss = loss;
    c.key = key;
    if (!cand_better(c, *best)) return;
    c.feature = feature;
    c.bin = bin;
    c.default_left = default_left;
    c.split_cond = split_cond;
    c.pad_ = 0;
    c.left = left;
    c.right = right;
    *best = c;
}

/* grid = (SPLIT_BLOCKS, items). Writes the block's best candidate to part[item * SPLIT_BLOCKS +
 * blockIdx.x]. */
__global__ void __launch_bounds__(SPLIT_THREADS)
    split_kernel(const bt_gbdt_gh *__restrict__ hist, const uint32_t *__restrict__ off,
                 const uint32_t *__restrict__ cut_ptr, const float *__restrict__ cut_values,
                 const float *__restrict__ min_values, const int32_t *__restrict__ feats,
                 const bt_gbdt_split_param *__restrict__ params,
                 const bt_gbdt_split_item *__restrict__ items, cand *part) {
    typedef cub::BlockScan<unsigned long long, SPLIT_THREADS> scan_t;
    typedef cub::BlockReduce<unsigned long long, SPLIT_THREADS> reduce_t;
    __shared__ union {
        typename scan_t::TempStorage scan;
        typename reduce_t::TempStorage reduce;
    } tmp;
    __shared__ cand red[SPLIT_THREADS];

    const bt_gbdt_split_item it = items[blockIdx.y];
    const int tid = threadIdx.x;
    cand best;
    cand_none(&best);
    const bt_gbdt_split_param p = params[it.trial];
    /* Block-uniform early exit (it and p are the same for every thread): padding items and
     * nodes that cannot split, and blocks with no feature of their own, skip the reductions. */
    if (!node_can_split(it, p) || blockIdx.x >= it.n_feats) {
        if (tid == 0) part[(int64_t)blockIdx.y * SPLIT_BLOCKS + blockIdx.x] = best;
        return;
    }
    {
        const float root_gain = bt_gbdt_gain(&p, bt_dmul_rn((double)it.total.g, it.g_unit),
                                             bt_dmul_rn((double)it.total.h, it.h_unit));
        const double alpha = p.alpha, lambda = p.lambda, mcw = p.min_child_weight;
        const unsigned long long Tg = (unsigned long long)it.total.g;
        const unsigned long long Th = (unsigned long long)it.total.h;
        for (int32_t fi = blockIdx.x; fi < it.n_feats; fi += gridDim.x) {
            const int32_t f = feats[it.feats_begin + fi];
            const bt_gbdt_gh *e = hist + it.hist_offset + off[f];
            const int64_t nb = (int64_t)off[f + 1] - (int64_t)off[f] - 1; /* missing code */
            const float *cuts = cut_values + cut_ptr[f];
            /* pass 1: sum of the non-missing bins (unsigned: two's complement wrap, as the
             * reference's int64 running sum) -- the backward scan runs only if it differs from
             * the node's total, i.e. the node has rows missing f */
            unsigned long long sg = 0, sh = 0;
            for (int64_t i = tid; i < nb; i += SPLIT_THREADS) {
                sg += (unsigned long long)e[i].g;
                sh += (unsigned long long)e[i].h;
            }
            sg = reduce_t(tmp.reduce).Sum(sg);
            __syncthreads();
            sh = reduce_t(tmp.reduce).Sum(sh);
            __shared__ unsigned long long nm[2];
            if (tid == 0) {
                nm[0] = sg;
                nm[1] = sh;
            }
            __syncthreads();
            const unsigned long long Sg = nm[0], Sh = nm[1];
            const bool backward = !(Sg == Tg && Sh == Th);
            /* pass 2: prefix sums tile by tile; bin i gives the forward candidate "bins <= i
             * left" and the backward one "bins >= i right, missing left" */
            unsigned long long carry_g = 0, carry_h = 0;
            for (int64_t t0 = 0; t0 < nb; t0 += SPLIT_THREADS) {
                const int64_t i = t0 + tid;
                unsigned long long vg = 0, vh = 0;
                if (i < nb) {
                    vg = (unsigned long long)e[i].g;
                    vh = (unsigned long long)e[i].h;
                }
                unsigned long long pg, ph, agg_g, agg_h;
                __syncthreads();
                scan_t(tmp.scan).InclusiveSum(vg, pg, agg_g);
                __syncthreads();
                scan_t(tmp.scan).InclusiveSum(vh, ph, agg_h);
                pg += carry_g;
                ph += carry_h;
                carry_g += agg_g;
                carry_h += agg_h;
                if (i >= nb || (vg | vh) == 0) continue; /* empty bins: never strictly better */
                const long long kf = (long long)fi << 33;
                {
                    const bt_gbdt_gh L = {(int64_t)pg, (int64_t)ph};
                    const bt_gbdt_gh R = {(int64_t)(Tg - pg), (int64_t)(Th - ph)};
                    const float loss =
                        bt_gbdt_split_loss((double)L.g, (double)L.h, (double)R.g, (double)R.h,
                                           it.g_unit, it.h_unit, alpha, lambda, mcw, root_gain);
                    consider(&best, loss, kf | (long long)i, f, (int32_t)i, 0, cuts[i], L, R);
                }
                if (backward) {
                    const unsigned long long rg = Sg - (pg - vg), rh = Sh - (ph - vh);
                    const bt_gbdt_gh R = {(int64_t)rg, (int64_t)rh};
                    const bt_gbdt_gh L = {(int64_t)(Tg - rg), (int64_t)(Th - rh)};
                    const float loss =
                        bt_gbdt_split_loss((double)L.g, (double)L.h, (double)R.g, (double)R.h,
                                           it.g_unit, it.h_unit, alpha, lambda, mcw, root_gain);
                    const long long key = kf | (1ll << 32) | (long long)(nb - 1 - i);
                    consider(&best, loss, key, f, (int32_t)i - 1, 1,
                             i == 0 ? min_values[f] : cuts[i - 1], L, R);
                }
            }
            __syncthreads(); /* nm and tmp are reused by the next feature */
        }
    }
    /* block reduction of the threads' bests; keys are unique, so the order is irrelevant */
    red[tid] = best;
    __syncthreads();
    for (int s = SPLIT_THREADS / 2; s > 0; s >>= 1) {
        if (tid < s && cand_better(red[tid + s], red[tid])) red[tid] = red[tid + s];
        __syncthreads();
    }
    if (tid == 0) part[(int64_t)blockIdx.y * SPLIT_BLOCKS + blockIdx.x] = red[0];
}

/* One thread per item: the best of its blocks' candidates, written as a bt_gbdt_split. */
__global__ void split_finish_kernel(const cand *__restrict__ part, int32_t n_items,
                                    bt_gbdt_split *out) {
    const int32_t i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n_items) return;
    cand best = part[(int64_t)i * SPLIT_BLOCKS];
    for (int b = 1; b < SPLIT_BLOCKS; b++)
        if (cand_better(part[(int64_t)i * SPLIT_BLOCKS + b], best))
            best = part[(int64_t)i * SPLIT_BLOCKS + b];
    bt_gbdt_split s;
    s.loss_chg = best.loss;
    s.feature = best.feature;
    s.bin = best.bin;
    s.default_left = best.default_left;
    s.split_cond = best.split_cond;
    s.left = best.left;
    s.right = best.right;
    out[i] = s;
}

} // namespace

extern "C" size_t bt_gbdt_split_cuda_scratch_bytes(int32_t n_items) {
    return (size_t)(n_items > 0 ? n_items : 1) * SPLIT_BLOCKS * sizeof(cand);
}

extern "C" bt_status bt_gbdt_split_cuda(const bt_gbdt_gh *hist, const uint32_t *off,
                                        const uint32_t *cut_ptr, const float *cut_values,
                                        const float *min_values, const int32_t *feats,
                                        const bt_gbdt_split_param *params,
                                        const bt_gbdt_split_item *items, int32_t n_items,
                                        void *scratch, bt_gbdt_split *out, void *stream) {
    if (n_items < 0) return BT_FAIL(BT_STATUS_BAD_INPUT, "split_cuda: %d items", (int)n_items);
    if (n_items == 0) return BT_STATUS_OK;
    cudaStream_t s = (cudaStream_t)stream;
    cand *part = (cand *)scratch;
    for (int32_t done = 0; done < n_items; done += MAX_GRID_Y) {
        const int32_t m = n_items - done < MAX_GRID_Y ? n_items - done : MAX_GRID_Y;
        split_kernel<<<dim3(SPLIT_BLOCKS, (unsigned)m), SPLIT_THREADS, 0, s>>>(
            hist, off, cut_ptr, cut_values, min_values, feats, params, items + done,
            part + (int64_t)done * SPLIT_BLOCKS);
        BT_CUDA_CHECK_LAUNCH();
    }
    split_finish_kernel<<<(unsigned)((n_items + 127) / 128), 128, 0, s>>>(part, n_items, out);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}
