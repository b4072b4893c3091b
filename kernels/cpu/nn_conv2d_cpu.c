/* The NHWC convolution for the CPU packs (kernels/nn_conv2d.h, _cpu): direct convolution with a
 * register tile of pixels x channels kept in vector accumulators while the taps and the reduced
 * channels stream past (nn_conv2d_tiles.h), OpenMP over independent outputs. Out-of-image taps
 * read a zero vector instead of branching, so the inner loops are straight. On x86-64 GCC builds
 * a 16-float, 8-pixel instance for AVX-512 (used when the tiled channel count is a multiple of
 * 16) and an 8-float, 4-pixel instance for AVX2 and SSE2, and picks at run time; no FMA
 * contraction, so every instance rounds alike. */
#include <stdlib.h>
#include <string.h>

#include "kernels/nn_conv2d.h"

enum { NR = 16 };   /* widest scalar remainder tile */
enum { DW_CI = 8 }; /* input channels per dW work item (a multiple of every instance's tile) */

#define BT_INLINE static inline __attribute__((always_inline))
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) &&                             \
    !defined(__SANITIZE_ADDRESS__)
#define BT_HAVE_Z 1
#define CT_VW 16
#define CT_MR 8
#define CT_NAME(x) x##_z
#define CT_ATTR __attribute__((target("avx512f")))
#include "kernels/cpu/nn_conv2d_tiles.h"
#undef CT_VW
#undef CT_MR
#undef CT_NAME
#undef CT_ATTR
#define CT_ATTR __attribute__((target_clones("avx2", "default")))
#else
#define BT_HAVE_Z 0
#define CT_ATTR
#endif
#define CT_VW 8
#define CT_MR 4
#define CT_NAME(x) x##_y
#include "kernels/cpu/nn_conv2d_tiles.h"
#if !BT_HAVE_Z
#define fwd_row_z fwd_row_y
#define dx_row_z dx_row_y
#define dw_tap_z dw_tap_y
#endif

/* Whether the 16-float instance serves a pass whose tiled channel count is `channels`. */
static int use_z(int channels) {
#if BT_HAVE_Z
    return channels % 16 == 0 && __builtin_cpu_supports("avx512f");
#else
    (void)channels;
    return 0;
#endif
}

static float *zero_vector(const bt_nn_conv2d_shape *sh) {
    size_t n = (size_t)(sh->c_in > sh->c_out ? sh->c_in : sh->c_out);
    return calloc(n ? n : 1, sizeof(float));
}

void bt_nn_conv2d_fwd_cpu(int n_slots, const bt_nn_conv2d_shape *sh, const float *const *X,
                          const float *const *W, const float *const *b, float *const *Y,
                          int threads) {
    const int oh_n = bt_nn_conv2d_out_h(sh), ow_n = bt_nn_conv2d_out_w(sh);
    const size_t in_img = (size_t)sh->h * sh->w * sh->c_in;
    const size_t out_img = (size_t)oh_n * ow_n * sh->c_out;
    float *zeros = zero_vector(sh);
    if (!zeros) { /* no memory for one vector: the reference needs none */
        bt_nn_conv2d_fwd_ref(n_slots, sh, X, W, b, Y);
        return;
    }
    const long items = (long)n_slots * sh->rows * oh_n;
    const int z = use_z(sh->c_out);
#pragma omp parallel for schedule(static) num_threads(threads > 0 ? threads : 1)
    for (long it = 0; it < items; it++) {
        const int s = (int)(it / ((long)sh->rows * oh_n)),
                  rest = (int)(it % ((long)sh->rows * oh_n));
        const int r = rest / oh_n, oh = rest % oh_n;
        (z ? fwd_row_z : fwd_row_y)(sh, ow_n, X[s] + (size_t)r * in_img, W[s], b ? b[s] : NULL,
                                    Y[s] + (size_t)r * out_img + (size_t)oh * ow_n * sh->c_out, oh,
                                    zeros);
    }
    free(zeros);
}

void bt_nn_conv2d_bwd_cpu(int n_slots, const bt_nn_conv2d_shape *sh, const float *const *X,
                          const float *const *W, const float *const *dY, float *const *dX,
                          float *const *dW, float *const *db, float *scratch, int threads) {
    const int oh_n = bt_nn_conv2d_out_h(sh), ow_n = bt_nn_conv2d_out_w(sh);
    const int ci = sh->c_in, co = sh->c_out, k = sh->k, taps = k * k;
    const size_t wn = (size_t)taps * ci * co;
    const size_t in_img = (size_t)sh->h * sh->w * ci, out_img = (size_t)oh_n * ow_n * co;
    const int nt = threads > 0 ? threads : 1;
    const int zw = use_z(co), zx = use_z(ci); /* dW tiles output channels, dX input channels */
    const int nci = (ci + DW_CI - 1) / DW_CI; /* dW work items: (slot, tap, input-channel block) */
    float *zeros = dX ? zero_vector(sh) : NULL;
    if (dX && !zeros) {
        bt_nn_conv2d_bwd_ref(n_slots, sh, X, W, dY, dX, dW, db, scratch);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
#pragma omp for schedule(static)
        for (int it = 0; it < n_slots * taps * nci; it++) {
            const int s = it / (taps * nci), t = it / nci % taps, c0 = it % nci * DW_CI;
            (zw ? dw_tap_z : dw_tap_y)(sh, oh_n, ow_n, X[s], dY[s], dW[s] + (size_t)t * ci * co,
                                       t / k, t % k, c0, ci - c0 < DW_CI ? ci : c0 + DW_CI);
        }
#pragma omp for schedule(static) nowait
        for (int s = 0; s < n_slots; s++) {
            if (!db || !db[s]) continue;
            memset(db[s], 0, (size_t)co * sizeof(float));
            for (size_t p = 0; p < (size_t)sh->rows * oh_n * ow_n; p++)
                for (int j = 0; j < co; j++) db[s][j] += dY[s][p * co + j];
        }
        if (dX) {
#pragma omp for schedule(static)
            for (long it = 0; it < (long)n_slots * taps * ci; it++) {
                const int s = (int)(it / ((long)taps * ci)), rest = (int)(it % ((long)taps * ci));
                const int t = rest / ci, c = rest % ci;
                float *wt = scratch + (size_t)s * wn;
                for (int o = 0; o < co; o++)
                    wt[((size_t)t * co + o) * ci + c] = W[s][((size_t)t * ci + c) * co + o];
            }
            const long items = (long)n_slots * sh->rows * sh->h;
#pragma omp for schedule(static)
            for (long it = 0; it < items; it++) {
                const int s = (int)(it / ((long)sh->rows * sh->h));
                const int rest = (int)(it % ((long)sh->rows * sh->h));
                const int r = rest / sh->h, ih = rest % sh->h;
                (zx ? dx_row_z : dx_row_y)(
                    sh, oh_n, ow_n, dY[s] + (size_t)r * out_img, scratch + (size_t)s * wn,
                    dX[s] + (size_t)r * in_img + (size_t)ih * sh->w * ci, ih, zeros);
            }
        }
    }
    free(zeros);
}
