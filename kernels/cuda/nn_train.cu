/* CUDA twins of the training-step bookkeeping (kernels/nn_train.h): row gathers (one thread per
 * element, exact), the divergence check (one thread per slot, exact: the same double operations
 * unfused), the validation metric sums (one block per slot, one warp per row, doubles summed
 * in a fixed order) and class counts (exact, in row order). */
#include "kernels/cuda/nn_common.cuh"

extern "C" {
#include "kernels/nn_train.h"
}

namespace {

template <typename T>
__global__ void gather_kernel(int rows, int width, const T *src, const int32_t *const *idx,
                              int64_t first, T *const *dst) {
    const int s = blockIdx.y;
    const int32_t *ix = idx[s] + first;
    T *d = dst[s];
    const int64_t n = (int64_t)rows * width;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        const int64_t r = i / width, j = i - r * width;
        d[i] = src[(int64_t)ix[r] * width + j];
    }
}

__global__ void loss_check_kernel(int n_slots, int rows, const double *loss, int32_t *alive,
                                  int64_t *t, double *loss_sum) {
    const int s = blockIdx.x * blockDim.x + threadIdx.x;
    if (s >= n_slots || !alive[s]) return;
    const double l = loss[s];
    if (!isfinite(l)) {
        alive[s] = 0;
        return;
    }
    t[s] += 1;
    loss_sum[s] = __dadd_rn(loss_sum[s], __dmul_rn(l, (double)rows));
}

/* A row's predicted class over the warp, first index on ties (the reference's "first strictly
 * greater"): each lane keeps its first best, lanes merge preferring the larger value, then the
 * smaller index (bi == k: nothing seen yet). Every lane gets the index; *max the row's max. */
static __device__ __forceinline__ int warp_argmax(const float *z, int k, int lane, float *max) {
    float bv = -INFINITY;
    int bi = k;
    for (int j = lane; j < k; j += 32)
        if (bi == k || z[j] > bv) {
            bv = z[j];
            bi = j;
        }
    for (int o = 16; o > 0; o >>= 1) {
        const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
        const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
        if (oi < k && (bi == k || ov > bv || (ov == bv && oi < bi))) {
            bv = ov;
            bi = oi;
        }
    }
    *max = bv;
    return bi;
}

__global__ void __launch_bounds__(BT_NN_THREADS)
    class_kernel(int rows, int k, const float *const *logits, const int32_t *labels, double *acc) {
    __shared__ double sh[BT_NN_THREADS];
    const int s = blockIdx.x;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, n_warps = BT_NN_THREADS / 32;
    const float *Z = logits[s];
    double correct = 0.0, ll = 0.0;
    for (int r = warp; r < rows; r += n_warps) {
        const float *z = Z + (size_t)r * k;
        const int32_t y = labels[r];
        float mx; /* the row's max, as the reference's softmax subtracts it */
        const int bi = warp_argmax(z, k, lane, &mx);
        float sum = 0.0f;
        for (int j = lane; j < k; j += 32) sum += expf(z[j] - mx);
        sum = bt_nn_warp_sum(sum);
        if (lane == 0) {
            correct += bi == y ? 1.0 : 0.0;
            const float py = expf(z[y] - mx) * (1.0f / sum);
            ll -= log(py > 1e-15f ? (double)py : 1e-15);
        }
    }
    const double c = bt_nn_block_sum(correct, sh);
    const double l = bt_nn_block_sum(ll, sh);
    if (threadIdx.x == 0) {
        acc[2 * s] += c;
        acc[2 * s + 1] += l;
    }
}

/* One block per slot, rows in tiles of one row per warp: each warp finds its row's class, then
 * thread 0 adds the tile's rows to the counts in row order (no atomics; exact either way). */
__global__ void __launch_bounds__(BT_NN_THREADS)
    counts_kernel(int rows, int k, const float *const *logits, const int32_t *labels,
                  double *counts) {
    const int n_warps = BT_NN_THREADS / 32;
    __shared__ int pred[BT_NN_THREADS / 32];
    const int s = blockIdx.x;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    double *c = counts + (size_t)3 * k * s;
    for (int r0 = 0; r0 < rows; r0 += n_warps) {
        const int r = r0 + warp;
        if (r < rows) { /* the same for the whole warp: its shuffles stay converged */
            float mx;
            const int p = warp_argmax(logits[s] + (size_t)r * k, k, lane, &mx);
            if (lane == 0) pred[warp] = p;
        }
        __syncthreads();
        if (threadIdx.x == 0)
            for (int w = 0; w < n_warps && r0 + w < rows; w++) {
                const int p = pred[w];
                const int32_t y = labels[r0 + w];
                c[p] += 1.0;
                c[k + y] += 1.0;
                if (p == y) c[2 * k + y] += 1.0;
            }
        __syncthreads();
    }
}

__global__ void __launch_bounds__(BT_NN_THREADS)
    reg_kernel(int rows, const float *const *pred, const float *target, double y_mean, double y_std,
               double *acc) {
    __shared__ double sh[BT_NN_THREADS];
    const int s = blockIdx.x;
    const float *P = pred[s];
    double se = 0.0, ae = 0.0;
    for (int r = threadIdx.x; r < rows; r += BT_NN_THREADS) {
        const double p = __dadd_rn(__dmul_rn((double)P[r], y_std), y_mean);
        const double y = __dadd_rn(__dmul_rn((double)target[r], y_std), y_mean);
        const double e = p - y;
        se = __dadd_rn(se, __dmul_rn(e, e));
        ae += fabs(e);
    }
    const double a = bt_nn_block_sum(se, sh);
    const double b = bt_nn_block_sum(ae, sh);
    if (threadIdx.x == 0) {
        acc[2 * s] += a;
        acc[2 * s + 1] += b;
    }
}

template <typename T>
bt_status gather(const char *what, int n_slots, int rows, int width, const T *src,
                 const int32_t *const *idx, int64_t first, T *const *dst, void *stream) {
    BT_NN_CHECK_SLOTS(what, n_slots);
    if (rows < 0 || width < 0 || first < 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: rows %d width %d first %lld", what, rows, width,
                       (long long)first);
    const int64_t n = (int64_t)rows * width;
    if (n == 0 || n_slots == 0) return BT_STATUS_OK;
    gather_kernel<T><<<dim3(bt_nn_blocks(n, n_slots), (unsigned)n_slots), BT_NN_THREADS, 0,
                       (cudaStream_t)stream>>>(rows, width, src, idx, first, dst);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}

} // namespace

extern "C" bt_status bt_nn_gather_f32_cuda(int n_slots, int rows, int width, const float *src,
                                           const int32_t *const *idx, int64_t first,
                                           float *const *dst, void *stream) {
    return gather<float>("gather_f32_cuda", n_slots, rows, width, src, idx, first, dst, stream);
}

extern "C" bt_status bt_nn_gather_i32_cuda(int n_slots, int rows, int width, const int32_t *src,
                                           const int32_t *const *idx, int64_t first,
                                           int32_t *const *dst, void *stream) {
    return gather<int32_t>("gather_i32_cuda", n_slots, rows, width, src, idx, first, dst, stream);
}

extern "C" bt_status bt_nn_loss_check_cuda(int n_slots, int rows, const double *loss,
                                           int32_t *alive, int64_t *t, double *loss_sum,
                                           void *stream) {
    if (n_slots < 0 || rows < 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "loss_check_cuda: %d slots, %d rows", n_slots, rows);
    if (n_slots == 0) return BT_STATUS_OK;
    loss_check_kernel<<<(n_slots + 127) / 128, 128, 0, (cudaStream_t)stream>>>(n_slots, rows, loss,
                                                                               alive, t, loss_sum);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}

extern "C" bt_status bt_nn_class_metrics_cuda(int n_slots, int rows, int k,
                                              const float *const *logits, const int32_t *labels,
                                              double *acc, void *stream) {
    if (n_slots < 0 || rows < 0 || k < 1)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "class_metrics_cuda: %d slots, %d rows, %d classes",
                       n_slots, rows, k);
    if (n_slots == 0 || rows == 0) return BT_STATUS_OK;
    class_kernel<<<(unsigned)n_slots, BT_NN_THREADS, 0, (cudaStream_t)stream>>>(rows, k, logits,
                                                                                labels, acc);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}

extern "C" bt_status bt_nn_class_counts_cuda(int n_slots, int rows, int k,
                                             const float *const *logits, const int32_t *labels,
                                             double *counts, void *stream) {
    if (n_slots < 0 || rows < 0 || k < 1)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "class_counts_cuda: %d slots, %d rows, %d classes",
                       n_slots, rows, k);
    if (n_slots == 0 || rows == 0) return BT_STATUS_OK;
    counts_kernel<<<(unsigned)n_slots, BT_NN_THREADS, 0, (cudaStream_t)stream>>>(rows, k, logits,
                                                                                 labels, counts);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}

extern "C" bt_status bt_nn_reg_metrics_cuda(int n_slots, int rows, const float *const *pred,
                                            const float *target, double y_mean, double y_std,
                                            double *acc, void *stream) {
    if (n_slots < 0 || rows < 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "reg_metrics_cuda: %d slots, %d rows", n_slots, rows);
    if (n_slots == 0 || rows == 0) return BT_STATUS_OK;
    reg_kernel<<<(unsigned)n_slots, BT_NN_THREADS, 0, (cudaStream_t)stream>>>(rows, pred, target,
                                                                              y_mean, y_std, acc);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}
