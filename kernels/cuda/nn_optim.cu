/* CUDA twin of the optimizers' update (kernels/nn_optim.h): one launch over (parameter blocks,
 * slots); each block reads its slot's hyperparameters once and applies that slot's rule with the
 * reference's float expressions, operation by operation (__f*_rn intrinsics keep nvcc from fusing
 * multiply-adds, which would round differently from the host). */
#include "kernels/cuda/nn_common.cuh"

extern "C" {
#include "kernels/nn_optim.h"
}

#define MUL __fmul_rn
#define ADD __fadd_rn
#define SUB __fsub_rn
#define DIV __fdiv_rn

namespace {

__global__ void __launch_bounds__(BT_NN_THREADS)
    step_kernel(int64_t n, const bt_nn_optim_hp *HP, const int64_t *T, float *const *W,
                const float *const *Gr, float *const *M, float *const *V, const int32_t *active) {
    const int s = blockIdx.y;
    if (active && !active[s]) return;
    const bt_nn_optim_hp h = HP[s];
    const int64_t t = T[s];
    float *w = W[s], *m = M[s], *v = V[s];
    const float *g = Gr[s];
    const float lr = h.lr, wd = h.weight_decay;
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    const int64_t i0 = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    switch (h.kind) {
    case BT_NN_OPT_SGD: {
        const float mu = h.momentum;
        for (int64_t i = i0; i < n; i += stride) {
            float d = ADD(g[i], MUL(wd, w[i]));
            if (mu != 0.0f) {
                const float b = t == 1 ? d : ADD(MUL(mu, m[i]), d);
                m[i] = b;
                d = h.nesterov ? ADD(d, MUL(mu, b)) : b;
            }
            w[i] = SUB(w[i], MUL(lr, d));
        }
        break;
    }
    case BT_NN_OPT_ADAM:
    case BT_NN_OPT_ADAMW: {
        const float b1 = h.beta1, b2 = h.beta2, eps = h.eps;
        const bool decoupled = h.kind == BT_NN_OPT_ADAMW;
        const float bc1 = (float)(1.0 - pow((double)b1, (double)t));
        const float bc2_sqrt = (float)sqrt(1.0 - pow((double)b2, (double)t));
        const float step = DIV(lr, bc1);
        const float shrink = SUB(1.0f, MUL(lr, wd));
        const float c1 = SUB(1.0f, b1), c2 = SUB(1.0f, b2);
        for (int64_t i = i0; i < n; i += stride) {
            float d = g[i], wi = w[i];
            if (decoupled)
                wi = MUL(wi, shrink);
            else
                d = ADD(d, MUL(wd, wi));
            const float mi = ADD(MUL(b1, m[i]), MUL(c1, d));
            const float vi = ADD(MUL(b2, v[i]), MUL(MUL(c2, d), d));
            m[i] = mi;
            v[i] = vi;
            const float denom = ADD(DIV(sqrtf(vi), bc2_sqrt), eps);
            w[i] = SUB(wi, MUL(step, DIV(mi, denom)));
        }
        break;
    }
    case BT_NN_OPT_RMSPROP: {
        const float a = h.alpha, eps = h.eps, mu = h.momentum, ca = SUB(1.0f, a);
        for (int64_t i = i0; i < n; i += stride) {
            const float d = ADD(g[i], MUL(wd, w[i]));
            const float sq = ADD(MUL(a, v[i]), MUL(MUL(ca, d), d));
            v[i] = sq;
            float u = DIV(d, ADD(sqrtf(sq), eps));
            if (mu != 0.0f) {
                u = ADD(MUL(mu, m[i]), u);
                m[i] = u;
            }
            w[i] = SUB(w[i], MUL(lr, u));
        }
        break;
    }
    }
}

} // namespace

extern "C" bt_status bt_nn_optim_step_cuda(int n_slots, int64_t n, const bt_nn_optim_hp *hp,
                                           const int64_t *t, float *const *w, const float *const *g,
                                           float *const *m, float *const *v, const int32_t *active,
                                           void *stream) {
    BT_NN_CHECK_SLOTS("optim_step_cuda", n_slots);
    if (n < 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "optim_step_cuda: %lld parameters", (long long)n);
    if (n == 0 || n_slots == 0) return BT_STATUS_OK;
    step_kernel<<<dim3(bt_nn_blocks(n, n_slots), (unsigned)n_slots), BT_NN_THREADS, 0,
                  (cudaStream_t)stream>>>(n, hp, t, w, g, m, v, active);
    BT_CUDA_CHECK_LAUNCH();
    return BT_STATUS_OK;
}
