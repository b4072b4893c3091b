/* CUDA twin of the batched NHWC convolution (kernels/nn_conv2d.h) as im2col + batched GEMM.
 * With NHWC activations and [kh][kw][c_in][c_out] weights, the column matrix of one slot is
 * P x KC (P = rows * out_h * out_w output pixels, KC = k * k * c_in taps in the weights' order),
 * so the forward pass is the linear layer's product with rows = P, in = KC, out = c_out, and the
 * backward passes are its two other products. Slots are processed in groups whose column
 * matrices fit the caller's scratch; each slot's column matrix starts 16-byte aligned (its stride
 * padded to BT_NN_ALIGN_FLOATS), as the GEMMs in TF32 / BF16 need of every operand. */
#include "kernels/cuda/nn_common.cuh"

extern "C" {
#include "kernels/nn_conv2d.h"
}

namespace {

struct geom {
    int rows, h, w, ci, co, k, stride, pad, oh, ow;
    int64_t P, KC;
    int64_t cs; /* floats between two slots' column matrices: P * KC, padded */
};

geom geom_of(const bt_nn_conv2d_shape *s) {
    geom g;
    g.rows = s->rows;
    g.h = s->h;
    g.w = s->w;
    g.ci = s->c_in;
    g.co = s->c_out;
    g.k = s->k;
    g.stride = s->stride;
    g.pad = s->pad;
    g.oh = bt_nn_conv2d_out_h(s);
    g.ow = bt_nn_conv2d_out_w(s);
    g.P = (int64_t)g.rows * g.oh * g.ow;
    g.KC = (int64_t)g.k * g.k * g.ci;
    g.cs = bt_nn_align_floats(g.P * g.KC);
    return g;
}

bool direct(const geom &g) {
    return g.k == 1 && g.stride == 1 && g.pad == 0;
}

/* Bytes of the pointer table at the head of the scratch (256-aligned). */
size_t ptr_bytes(int slots) {
    return ((size_t)slots * sizeof(float *) + 255) & ~(size_t)255;
}

__global__ void col_ptrs_kernel(int n, float *col, int64_t per_slot, float **out) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = col + (size_t)i * per_slot;
}

/* col[s][p][(kh, kw, ci)] = X[s0 + s][r, oh*stride - pad + kh, ow*stride - pad + kw, ci] or 0. */
__global__ void im2col_kernel(geom g, const float *const *X, float *col) {
    const int s = blockIdx.y;
    const float *x = X[s];
    float *c = col + (size_t)s * g.cs;
    const int64_t n = g.P * g.KC;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        const int64_t p = i / g.KC;
        const int q = (int)(i - p * g.KC);
        const int ci = q % g.ci, tap = q / g.ci, kw = tap % g.k, kh = tap / g.k;
        const int ow = (int)(p % g.ow);
        const int64_t t = p / g.ow;
        const int oh = (int)(t % g.oh), r = (int)(t / g.oh);
        const int ih = oh * g.stride - g.pad + kh, iw = ow * g.stride - g.pad + kw;
        float v = 0.0f;
        if (ih >= 0 && ih < g.h && iw >= 0 && iw < g.w)
            v = x[(((size_t)r * g.h + ih) * g.w + iw) * g.ci + ci];
        c[i] = v;
    }
}

/* dX[s0 + s][r, ih, iw, ci] = sum over taps (kh, kw) whose output pixel exists of
 * dcol[s][(r, oh, ow)][(kh, kw, ci)]: the transpose of im2col as a gather (one writer per
 * element, deterministic). */
__global__ void col2im_kernel(geom g, const float *dcol, float *const *DX) {
    const int s = blockIdx.y;
    float *dx = DX[s];
    const float *c = dcol + (size_t)s * g.cs;
    const int64_t n = (int64_t)g.rows * g.h * g.w * g.ci;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        const int ci = (int)(i % g.ci);
        int64_t t = i / g.ci;
        const int iw = (int)(t % g.w);
        t /= g.w;
        const int ih = (int)(t % g.h), r = (int)(t / g.h);
        float acc = 0.0f;
        for (int kh = 0; kh < g.k; kh++) {
            const int a = ih + g.pad - kh;
            if (a < 0 || a % g.stride) continue;
            const int oh = a / g.stride;
            if (oh >= g.oh) continue;
            for (int kw = 0; kw < g.k; kw++) {
                const int b = iw + g.pad - kw;
                if (b < 0 || b % g.stride) continue;
                const int ow = b / g.stride;
                if (ow >= g.ow) continue;
                const int64_t p = ((int64_t)r * g.oh + oh) * g.ow + ow;
                acc += c[p * g.KC + ((int64_t)kh * g.k + kw) * g.ci + ci];
            }
        }
        dx[i] = acc;
    }
}

/* db[s][o] = sum over the P pixels of dY[s][p][o]: a block per (channel tile, slot), row groups
 * summed in double and combined in a fixed order. */
__global__ void __launch_bounds__(BT_NN_THREADS)
    bias_grad_kernel(int64_t P, int co, int tc, const float *const *DY, float *const *DB) {
    __shared__ double sh[BT_NN_THREADS];
    const int s = blockIdx.y, t = threadIdx.x % tc, g = threadIdx.x / tc, G = BT_NN_THREADS / tc;
    const int j = blockIdx.x * tc + t;
    double acc = 0.0;
    if (j < co && DB[s])
        for (int64_t p = g; p < P; p += G) acc += (double)DY[s][(size_t)p * co + j];
    sh[threadIdx.x] = acc;
    __syncthreads();
    if (g == 0 && j < co && DB[s]) {
        double total = 0.0;
        for (int k = 0; k < G; k++) total += sh[k * tc + t];
        DB[s][j] = (float)total;
    }
}

bt_status check(const char *what, int n_slots, const bt_nn_conv2d_shape *s) {
    BT_NN_CHECK_SLOTS(what, n_slots);
    if (!s || s->rows < 0 || s->h < 1 || s->w < 1 || s->c_in < 1 || s->c_out < 1 || s->k < 1 ||
        s->stride < 1 || s->pad < 0 || bt_nn_conv2d_out_h(s) < 1 || bt_nn_conv2d_out_w(s) < 1)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: bad convolution shape", what);
    return BT_STATUS_OK;
}

/* The column matrices are GEMM operands: their scratch must start 16-byte aligned. */
bt_status check_scratch(const char *what, const void *scratch) {
    if ((uintptr_t)scratch % BT_NN_GEMM_ALIGN != 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: scratch %p is not %d-byte aligned", what, scratch,
                       BT_NN_GEMM_ALIGN);
    return BT_STATUS_OK;
}

/* Slots per GEMM group that fit the scratch; 0 when not even one does. */
int group_size(const geom &g, int n_slots, size_t scratch_bytes) {
    const size_t per = (size_t)g.cs * sizeof(float);
    if (per == 0) return n_slots;
    for (int G = n_slots; G > 0;) {
        if (ptr_bytes(G) + (size_t)G * per <= scratch_bytes) return G;
        size_t fit = scratch_bytes > ptr_bytes(G) ? (scratch_bytes - ptr_bytes(G)) / per : 0;
        G = (int)(fit < (size_t)G ? fit : (size_t)G - 1);
    }
    return 0;
}

} // namespace

extern "C" size_t bt_nn_conv2d_cuda_scratch_bytes(const bt_nn_conv2d_shape *shape,
                                                  int slots_at_once) {
    const geom g = geom_of(shape);
    if (direct(g) || slots_at_once < 1) return 0;
    return ptr_bytes(slots_at_once) + (size_t)slots_at_once * (size_t)g.cs * sizeof(float);
}

extern "C" bt_status bt_nn_conv2d_fwd_cuda(bt_nn_blas *blas, int n_slots,
                                           const bt_nn_conv2d_shape *shape, const float *const *X,
                                           const float *const *W, const float *const *b,
                                           float *const *Y, void *scratch, size_t scratch_bytes) {
    BT_TRY(check("conv2d_fwd_cuda", n_slots, shape));
    const geom g = geom_of(shape);
    if (n_slots == 0 || g.P == 0) return BT_STATUS_OK;
    if (g.P > INT32_MAX || g.KC > INT32_MAX)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "conv2d_fwd_cuda: %lld output pixels per slot",
                       (long long)g.P);
    cudaStream_t st = blas->stream;
    const float beta = b ? 1.0f : 0.0f;
    if (b) BT_TRY(bt_nn_broadcast_rows(n_slots, g.P, g.co, b, Y, st));
    if (direct(g))
        return bt_nn_gemm_batched(blas, CUBLAS_OP_N, CUBLAS_OP_N, g.co, (int)g.P, (int)g.KC, 1.0f,
                                  W, g.co, X, (int)g.KC, beta, Y, g.co, n_slots);
    const int G = group_size(g, n_slots, scratch_bytes);
    if (G < 1)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "conv2d_fwd_cuda: scratch of %zu bytes < %zu",
                       scratch_bytes, bt_nn_conv2d_cuda_scratch_bytes(shape, 1));
    BT_TRY(check_scratch("conv2d_fwd_cuda", scratch));
    float **cp = (float **)scratch;
    float *col = (float *)((char *)scratch + ptr_bytes(G));
    col_ptrs_kernel<<<(G + 127) / 128, 128, 0, st>>>(G, col, g.cs, cp);
    BT_CUDA_CHECK_LAUNCH();
    for (int s0 = 0; s0 < n_slots; s0 += G) {
        const int n = n_slots - s0 < G ? n_slots - s0 : G;
        im2col_kernel<<<dim3(bt_nn_blocks(g.P * g.KC, n), (unsigned)n), BT_NN_THREADS, 0, st>>>(
            g, X + s0, col);
        BT_CUDA_CHECK_LAUNCH();
        BT_TRY(bt_nn_gemm_batched(blas, CUBLAS_OP_N, CUBLAS_OP_N, g.co, (int)g.P, (int)g.KC, 1.0f,
                                  W + s0, g.co, (const float *const *)cp, (int)g.KC, beta, Y + s0,
                                  g.co, n));
    }
    return BT_STATUS_OK;
}

extern "C" bt_status bt_nn_conv2d_bwd_cuda(bt_nn_blas *blas, int n_slots,
                                           const bt_nn_conv2d_shape *shape, const float *const *X,
                                           const float *const *W, const float *const *dY,
                                           float *const *dX, float *const *dW, float *const *db,
                                           void *scratch, size_t scratch_bytes) {
    BT_TRY(check("conv2d_bwd_cuda", n_slots, shape));
    const geom g = geom_of(shape);
    if (n_slots == 0) return BT_STATUS_OK;
    if (g.P > INT32_MAX || g.KC > INT32_MAX)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "conv2d_bwd_cuda: %lld output pixels per slot",
                       (long long)g.P);
    cudaStream_t st = blas->stream;
    if (db) {
        int tc = 1;
        while (tc < g.co && tc < 32) tc <<= 1;
        bias_grad_kernel<<<dim3((unsigned)((g.co + tc - 1) / tc), (unsigned)n_slots), BT_NN_THREADS,
                           0, st>>>(g.P, g.co, tc, dY, db);
        BT_CUDA_CHECK_LAUNCH();
    }
    if (g.P == 0) { /* no images: zero gradients (dX has no elements) */
        return bt_nn_broadcast_rows(n_slots, g.KC, g.co, NULL, dW, st);
    }
    if (direct(g)) {
        BT_TRY(bt_nn_gemm_batched(blas, CUBLAS_OP_N, CUBLAS_OP_T, g.co, (int)g.KC, (int)g.P, 1.0f,
                                  dY, g.co, X, (int)g.KC, 0.0f, dW, g.co, n_slots));
        if (!dX) return BT_STATUS_OK;
        return bt_nn_gemm_batched(blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)g.KC, (int)g.P, g.co, 1.0f,
                                  W, g.co, dY, g.co, 0.0f, dX, (int)g.KC, n_slots);
    }
    const int G = group_size(g, n_slots, scratch_bytes);
    if (G < 1)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "conv2d_bwd_cuda: scratch of %zu bytes < %zu",
                       scratch_bytes, bt_nn_conv2d_cuda_scratch_bytes(shape, 1));
    BT_TRY(check_scratch("conv2d_bwd_cuda", scratch));
    float **cp = (float **)scratch;
    float *col = (float *)((char *)scratch + ptr_bytes(G));
    col_ptrs_kernel<<<(G + 127) / 128, 128, 0, st>>>(G, col, g.cs, cp);
    BT_CUDA_CHECK_LAUNCH();
    for (int s0 = 0; s0 < n_slots; s0 += G) {
        const int n = n_slots - s0 < G ? n_slots - s0 : G;
        im2col_kernel<<<dim3(bt_nn_blocks(g.P * g.KC, n), (unsigned)n), BT_NN_THREADS, 0, st>>>(
            g, X + s0, col);
        BT_CUDA_CHECK_LAUNCH();
        /* dW^T (co x KC) = dY^T (co x P) col (P x KC) */
        BT_TRY(bt_nn_gemm_batched(blas, CUBLAS_OP_N, CUBLAS_OP_T, g.co, (int)g.KC, (int)g.P, 1.0f,
                                  dY + s0, g.co, (const float *const *)cp, (int)g.KC, 0.0f, dW + s0,
                                  g.co, n));
        if (!dX) continue;
        /* dcol^T (KC x P) = W (KC x co) dY^T (co x P), into the column buffer the product above
         * has read (same stream: in order) */
        BT_TRY(bt_nn_gemm_batched(blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)g.KC, (int)g.P, g.co, 1.0f,
                                  W + s0, g.co, dY + s0, g.co, 0.0f, cp, (int)g.KC, n));
        const int64_t nx = (int64_t)g.rows * g.h * g.w * g.ci;
        col2im_kernel<<<dim3(bt_nn_blocks(nx, n), (unsigned)n), BT_NN_THREADS, 0, st>>>(g, col,
                                                                                        dX + s0);
        BT_CUDA_CHECK_LAUNCH();
    }
    return BT_STATUS_OK;
}
