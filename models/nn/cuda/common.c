/* The core the two nn GPU packs share (mlp_pack.c, resnet_pack.c): see common.h.
 * Built only with CUDA (BT_HAVE_CUDA); see docs/cuda.md ("NN on the GPU"). */
#include "models/nn/nn.h"

#if BT_HAVE_CUDA

#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/nn_train.h"
#include "kernels/cuda/capture_lock.h"
#include "kernels/cuda/check.h"
#include "models/nn/cuda/common.h"

/* cudaMalloc or (pinned) cudaMallocHost under the capture lock, the error cleared when it fails */
static bt_status alloc_clean(void **p, size_t bytes, int pinned) {
    cudaError_t e =
        pinned ? bt_cuda_malloc_host(p, bytes ? bytes : 1) : bt_cuda_malloc(p, bytes ? bytes : 1);
    if (e != cudaSuccess) {
        cudaGetLastError();
        *p = NULL;
        return BT_FAIL(BT_STATUS_INTERNAL, "%s(%zu bytes): %s (%d)",
                       pinned ? "cudaMallocHost" : "cudaMalloc", bytes, cudaGetErrorString(e),
                       (int)e);
    }
    return BT_STATUS_OK;
}

bt_status bt_nn_cuda_dalloc(void **p, size_t bytes) {
    return alloc_clean(p, bytes, 0);
}

bt_status bt_nn_cuda_halloc(void **p, size_t bytes) {
    return alloc_clean(p, bytes, 1);
}

bt_status bt_nn_cuda_capacity_check(int capacity, const char *what) {
    if (capacity > 65535)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: pack capacity %d exceeds 65535", what, capacity);
    return BT_STATUS_OK;
}

bt_status bt_nn_cuda_core_init(bt_nn_cuda_core *k, int64_t P, int64_t R, int64_t N, int64_t nv,
                               int64_t B, int32_t K, const char *what) {
    if (cudaGetDevice(&k->device) != cudaSuccess) {
        cudaGetLastError();
        return BT_FAIL(BT_STATUS_INTERNAL, "%s: no usable CUDA device", what);
    }
    k->P = P;
    k->R = R;
    k->N = N;
    k->nv = nv;
    k->K = K;
    k->n_chunks = (nv + B - 1) / B;
    return BT_STATUS_OK;
}

bt_status bt_nn_cuda_core_alloc(bt_nn_cuda_core *k, int capacity, size_t tab_cap,
                                const char *what) {
    const size_t C = (size_t)capacity, P = (size_t)k->P, R = (size_t)k->R, fs = sizeof(float);
    k->capacity = capacity;
    CU(cudaStreamCreateWithFlags(&k->stream, cudaStreamNonBlocking));
    BT_TRY(bt_nn_blas_init(&k->blas, k->stream));
    BT_TRY(bt_nn_cuda_dalloc((void **)&k->w, C * P * fs));
    BT_TRY(bt_nn_cuda_dalloc((void **)&k->g, C * P * fs));
    BT_TRY(bt_nn_cuda_dalloc((void **)&k->m, C * P * fs));
    BT_TRY(bt_nn_cuda_dalloc((void **)&k->v, C * P * fs));
    BT_TRY(bt_nn_cuda_dalloc((void **)&k->run, C * R * fs));
    /* the alignment gaps of the slot blocks are never written by a layer: zero gradients there
     * keep the optimizer's whole-block update from moving them (w, m, v come from the host slot,
     * or are zeroed, at slot_upload) */
    CU(cudaMemsetAsync(k->g, 0, C * P * fs, k->stream));
    BT_TRY(bt_nn_cuda_dalloc((void **)&k->loss, C * sizeof(double)));
    BT_TRY(bt_nn_cuda_dalloc((void **)&k->loss_sum, C * sizeof(double)));
    BT_TRY(bt_nn_cuda_dalloc((void **)&k->acc, 2 * C * sizeof(double)));
    BT_TRY(bt_nn_cuda_dalloc((void **)&k->counts, 3 * (size_t)k->K * C * sizeof(double)));
    BT_TRY(bt_nn_cuda_dalloc((void **)&k->alive, C * sizeof(int32_t)));
    BT_TRY(bt_nn_cuda_dalloc((void **)&k->t, C * sizeof(int64_t)));
    BT_TRY(bt_nn_cuda_dalloc((void **)&k->hp, C * sizeof(bt_nn_optim_hp)));
    BT_TRY(bt_nn_cuda_dalloc((void **)&k->smooth, C * fs));
    k->tab_cap = tab_cap;
    BT_TRY(bt_nn_cuda_dalloc((void **)&k->dtab, tab_cap * sizeof(void *)));
    /* pinned: every epoch uploads or downloads them (asynchronous DMAs that read or write them
     * when the stream gets there: rewritten only after epoch_end's wait) */
    BT_TRY(bt_nn_cuda_halloc((void **)&k->htab, tab_cap * sizeof *k->htab));
    BT_TRY(bt_nn_cuda_halloc((void **)&k->h_alive, C * sizeof *k->h_alive));
    BT_TRY(bt_nn_cuda_halloc((void **)&k->h_t, C * sizeof *k->h_t));
    BT_TRY(bt_nn_cuda_halloc((void **)&k->h_loss_sum, C * sizeof *k->h_loss_sum));
    BT_TRY(bt_nn_cuda_halloc((void **)&k->h_acc, 2 * C * sizeof *k->h_acc));
    BT_TRY(bt_nn_cuda_halloc((void **)&k->h_hp, C * sizeof *k->h_hp));
    BT_TRY(bt_nn_cuda_halloc((void **)&k->h_smooth, C * sizeof *k->h_smooth));
    k->slot_of = malloc(C * sizeof *k->slot_of);
    BT_TRY(
        bt_nn_cuda_halloc((void **)&k->h_counts, (3 * (size_t)k->K * C + 1) * sizeof *k->h_counts));
    if (!k->slot_of) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for %s", what);
    return BT_STATUS_OK;
}

void bt_nn_cuda_core_free(bt_nn_cuda_core *k) {
    if (k->stream) {
        cudaSetDevice(k->device);
        cudaStreamSynchronize(k->stream);
    }
    bt_nn_blas_free(k->blas);
    k->blas = NULL;
    void *bufs[] = {k->w,   k->g,      k->m,     k->v, k->run, k->loss,   k->loss_sum,
                    k->acc, k->counts, k->alive, k->t, k->hp,  k->smooth, k->dtab};
    /* frees of NULL are no-ops; errors at teardown go nowhere */
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) bt_cuda_free(bufs[i]);
    if (k->stream) cudaStreamDestroy(k->stream);
    void *pinned[] = {k->htab,  k->h_alive,  k->h_t,  k->h_loss_sum,
                      k->h_acc, k->h_counts, k->h_hp, k->h_smooth};
    for (size_t i = 0; i < sizeof pinned / sizeof pinned[0]; i++) bt_cuda_free_host(pinned[i]);
    free(k->slot_of);
    *k = (bt_nn_cuda_core){.device = k->device};
}

bt_status bt_nn_cuda_core_slot_upload(bt_nn_cuda_core *k, int slot, const bt_nn_slot *s,
                                      int moments) {
    const size_t P = (size_t)k->P, R = (size_t)k->R, o = (size_t)slot;
    CU(cudaMemcpyAsync(k->w + o * P, s->w, P * sizeof(float), cudaMemcpyHostToDevice, k->stream));
    if (moments) {
        CU(cudaMemcpyAsync(k->m + o * P, s->m, P * sizeof(float), cudaMemcpyHostToDevice,
                           k->stream));
        CU(cudaMemcpyAsync(k->v + o * P, s->v, P * sizeof(float), cudaMemcpyHostToDevice,
                           k->stream));
    } else {
        CU(cudaMemsetAsync(k->m + o * P, 0, P * sizeof(float), k->stream));
        CU(cudaMemsetAsync(k->v + o * P, 0, P * sizeof(float), k->stream));
    }
    if (R)
        CU(cudaMemcpyAsync(k->run + o * R, s->run, R * sizeof(float), cudaMemcpyHostToDevice,
                           k->stream));
    CU(cudaStreamSynchronize(k->stream)); /* the host slot may change after return */
    return BT_STATUS_OK;
}

bt_status bt_nn_cuda_core_slot_download(bt_nn_cuda_core *k, bt_nn_slot *const *slots, int slot) {
    if (slot < 0 || slot >= k->capacity || !slots[slot])
        return BT_FAIL(BT_STATUS_INTERNAL, "download: slot %d is not started", slot);
    CU(cudaSetDevice(k->device));
    bt_nn_slot *s = slots[slot];
    const size_t P = (size_t)k->P, R = (size_t)k->R, o = (size_t)slot;
    CU(cudaStreamSynchronize(k->stream));
    CU(cudaMemcpy(s->w, k->w + o * P, P * sizeof(float), cudaMemcpyDeviceToHost));
    CU(cudaMemcpy(s->m, k->m + o * P, P * sizeof(float), cudaMemcpyDeviceToHost));
    CU(cudaMemcpy(s->v, k->v + o * P, P * sizeof(float), cudaMemcpyDeviceToHost));
    if (R) CU(cudaMemcpy(s->run, k->run + o * R, R * sizeof(float), cudaMemcpyDeviceToHost));
    return BT_STATUS_OK;
}

bt_status bt_nn_cuda_core_slot_save(bt_nn_cuda_core *k, bt_nn_slot *const *slots, bt_pack *p,
                                    int slot, bt_status (*save)(bt_pack *, int, void **, size_t *),
                                    void **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    BT_TRY(bt_nn_cuda_core_slot_download(k, slots, slot)); /* the host copies are stale otherwise */
    return save(p, slot, buf, len);
}

bt_status bt_nn_cuda_core_slot_restore(bt_nn_cuda_core *k, bt_nn_slot *const *slots, bt_pack *p,
                                       int slot, const bt_hparams *hp, uint64_t key,
                                       const void *buf, size_t len,
                                       bt_status (*restore)(bt_pack *, int, const bt_hparams *,
                                                            uint64_t, const void *, size_t)) {
    CU(cudaSetDevice(k->device));
    BT_TRY(restore(p, slot, hp, key, buf, len));
    return bt_nn_cuda_core_slot_upload(k, slot, slots[slot], 1);
}

bt_status bt_nn_cuda_core_positions(bt_nn_cuda_core *k, bt_nn_slot *const *slots, const int *list,
                                    int n_list, int *n) {
    *n = 0;
    for (int i = 0; i < n_list; i++) {
        int sl = list[i];
        if (sl < 0 || sl >= k->capacity || !slots[sl])
            return BT_FAIL(BT_STATUS_INTERNAL, "step: slot %d is not started", sl);
        if (!slots[sl]->failed) {
            if (*n >= k->capacity)
                return BT_FAIL(BT_STATUS_INTERNAL, "step: slot %d listed twice", sl);
            k->slot_of[(*n)++] = sl;
        }
    }
    return BT_STATUS_OK;
}

/* ---- the pointer table ---------------------------------------------------------------------- */

size_t bt_nn_cuda_tab_pos(bt_nn_cuda_core *k, size_t *at, const void *base, size_t stride, int n) {
    size_t o = *at;
    for (int i = 0; i < n; i++)
        k->htab[o + (size_t)i] = (char *)(uintptr_t)base + (size_t)i * stride;
    *at += (size_t)n;
    return o;
}

size_t bt_nn_cuda_tab_slot(bt_nn_cuda_core *k, size_t *at, float *base, size_t per_slot,
                           int64_t off, int n) {
    size_t o = *at;
    for (int i = 0; i < n; i++)
        k->htab[o + (size_t)i] = base + (size_t)k->slot_of[i] * per_slot + (size_t)off;
    *at += (size_t)n;
    return o;
}

void bt_nn_cuda_tab_blocks(bt_nn_cuda_core *k, size_t *at, int n) {
    const size_t P = (size_t)k->P;
    k->tab_w = bt_nn_cuda_tab_slot(k, at, k->w, P, 0, n);
    k->tab_g = bt_nn_cuda_tab_slot(k, at, k->g, P, 0, n);
    k->tab_m = bt_nn_cuda_tab_slot(k, at, k->m, P, 0, n);
    k->tab_v = bt_nn_cuda_tab_slot(k, at, k->v, P, 0, n);
}

bt_status bt_nn_cuda_tab_gemm(bt_nn_cuda_core *k, size_t o, int n, const char *what) {
    for (int i = 0; i < n; i++) {
        const uintptr_t a = (uintptr_t)k->htab[o + (size_t)i];
        if (a % sizeof(float) != 0)
            return BT_FAIL(BT_STATUS_INTERNAL,
                           "pointer table: %s of position %d at %p is not float-aligned", what, i,
                           (void *)a);
        const bt_nn_math math = bt_nn_blas_math(k->blas);
        if (a % bt_nn_math_alignment(math) == 0) continue;
        /* only the fast modes get here (FP32 needs float alignment only), once */
        snprintf(k->math_note, sizeof k->math_note,
                 "%s of position %d at %p is not %d-byte aligned: cuBLAS runs in FP32 instead of "
                 "%s",
                 what, i, (void *)a, BT_NN_GEMM_ALIGN, math == BT_NN_MATH_BF16 ? "BF16" : "TF32");
        bt_nn_blas_set_math(k->blas, BT_NN_MATH_FP32);
    }
    return BT_STATUS_OK;
}

bt_status bt_nn_cuda_tab_upload(bt_nn_cuda_core *k, size_t at, const char *what) {
    if (at > k->tab_cap)
        return BT_FAIL(BT_STATUS_INTERNAL, "%s: pointer table overflow (%zu > %zu)", what, at,
                       k->tab_cap);
    CU(cudaMemcpyAsync(k->dtab, k->htab, at * sizeof(void *), cudaMemcpyHostToDevice, k->stream));
    return BT_STATUS_OK;
}

/* ---- one epoch ------------------------------------------------------------------------------ */

bt_status bt_nn_cuda_core_epoch_begin(bt_nn_cuda_core *k, bt_nn_slot *const *slots, int n) {
    for (int i = 0; i < n; i++) {
        bt_nn_slot *s = slots[k->slot_of[i]];
        bt_mlp_epoch_begin(s, k->N); /* mlp_host.c: the CPU's shuffle and learning rate */
        k->h_hp[i] = s->opt;
        k->h_t[i] = s->t;
        k->h_smooth[i] = s->smoothing;
        k->h_alive[i] = 1;
        k->h_loss_sum[i] = 0.0;
    }
    const size_t sn = (size_t)n;
    cudaStream_t st = k->stream;
    CU(cudaMemcpyAsync(k->hp, k->h_hp, sn * sizeof *k->h_hp, cudaMemcpyHostToDevice, st));
    CU(cudaMemcpyAsync(k->t, k->h_t, sn * sizeof *k->h_t, cudaMemcpyHostToDevice, st));
    CU(cudaMemcpyAsync(k->smooth, k->h_smooth, sn * sizeof *k->h_smooth, cudaMemcpyHostToDevice,
                       st));
    CU(cudaMemcpyAsync(k->alive, k->h_alive, sn * sizeof *k->h_alive, cudaMemcpyHostToDevice, st));
    CU(cudaMemcpyAsync(k->loss_sum, k->h_loss_sum, sn * sizeof *k->h_loss_sum,
                       cudaMemcpyHostToDevice, st));
    CU(cudaMemsetAsync(k->acc, 0, 2 * sn * sizeof(double), st));
    if (k->K > 0) CU(cudaMemsetAsync(k->counts, 0, 3 * (size_t)k->K * sn * sizeof(double), st));
    return BT_STATUS_OK;
}

bt_status bt_nn_cuda_core_class_metrics(bt_nn_cuda_core *k, int n, int rows,
                                        const float *const *logits, const int32_t *labels) {
    BT_TRY(bt_nn_class_metrics_cuda(n, rows, k->K, logits, labels, k->acc, k->stream));
    return bt_nn_class_counts_cuda(n, rows, k->K, logits, labels, k->counts, k->stream);
}

bt_status bt_nn_cuda_core_loss_check(bt_nn_cuda_core *k, int n, int rows) {
    return bt_nn_loss_check_cuda(n, rows, k->loss, k->alive, k->t, k->loss_sum, k->stream);
}

bt_status bt_nn_cuda_core_optim_step(bt_nn_cuda_core *k, int n) {
    return bt_nn_optim_step_cuda(n, k->P, k->hp, k->t, BT_NN_FP(k, k->tab_w),
                                 BT_NN_CFP(k, k->tab_g), BT_NN_FP(k, k->tab_m),
                                 BT_NN_FP(k, k->tab_v), k->alive, k->stream);
}

bt_status bt_nn_cuda_core_epoch_end(bt_nn_cuda_core *k, bt_nn_slot *const *slots, int n,
                                    int regression) {
    const size_t sn = (size_t)n;
    cudaStream_t st = k->stream;
    CU(cudaMemcpyAsync(k->h_alive, k->alive, sn * sizeof *k->h_alive, cudaMemcpyDeviceToHost, st));
    CU(cudaMemcpyAsync(k->h_t, k->t, sn * sizeof *k->h_t, cudaMemcpyDeviceToHost, st));
    CU(cudaMemcpyAsync(k->h_loss_sum, k->loss_sum, sn * sizeof *k->h_loss_sum,
                       cudaMemcpyDeviceToHost, st));
    CU(cudaMemcpyAsync(k->h_acc, k->acc, 2 * sn * sizeof *k->h_acc, cudaMemcpyDeviceToHost, st));
    if (k->K > 0)
        CU(cudaMemcpyAsync(k->h_counts, k->counts, 3 * (size_t)k->K * sn * sizeof *k->h_counts,
                           cudaMemcpyDeviceToHost, st));
    CU(cudaStreamSynchronize(st));
    for (int i = 0; i < n; i++) {
        bt_nn_slot *s = slots[k->slot_of[i]];
        s->t = k->h_t[i];
        if (!k->h_alive[i]) { /* diverged in this epoch: leaves it, as on the CPU */
            s->failed = 1;
            continue;
        }
        s->epoch++;
        s->train_loss = k->h_loss_sum[i] / (double)k->N;
        bt_mlp_metrics_finish(s, regression, &k->h_acc[2 * i],
                              k->h_counts + 3 * (size_t)k->K * (size_t)i, k->K, (double)k->nv);
    }
    return BT_STATUS_OK;
}

int bt_nn_cuda_capacity_fit(int wanted, double fixed_bytes, double slot_bytes) {
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
        cudaGetLastError();
        return wanted;
    }
    double usable = 0.8 * (double)free_b - fixed_bytes;
    double fit = usable > 0 ? usable / slot_bytes : 0.0;
    return fit < (double)wanted ? (fit >= 1.0 ? (int)fit : 1) : wanted;
}

#endif
