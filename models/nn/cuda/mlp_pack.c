/* The mlp pack on a CUDA stream: the same trials, slots and epochs as pack.c, trained by the CUDA
 * twins of the nn kernels (kernels/cuda/nn_*.cu) with the slots' parameters, gradients and
 * optimizer state in device memory. The host keeps pack.c's slots (hyperparameters, key, schedule,
 * step count, metrics) and does the same per-epoch bookkeeping through mlp_host.c (shuffle,
 * learning rate, metrics); an epoch is one upload (row orders, per-slot hyperparameters, a table
 * of device pointers), every mini-batch and the validation pass enqueued on the pack's stream,
 * and one download (divergence flags, step counts, loss and metric sums).
 * Built only with CUDA (BT_HAVE_CUDA); see docs/cuda.md ("NN on the GPU"). */
#include "models/nn/nn.h"

#if BT_HAVE_CUDA

#include <cuda_runtime.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/capture_lock.h"
#include "kernels/cuda/check.h"
#include "models/nn/cuda/common.h"
#include "kernels/nn_batchnorm.h"
#include "kernels/nn_blas.h"
#include "kernels/nn_dropout.h"
#include "kernels/nn_linear.h"
#include "kernels/nn_mse.h"
#include "kernels/nn_softmax_ce.h"
#include "kernels/nn_train.h"

/* pack.c's batch-norm constants (PyTorch's defaults) */
#define BN_MOMENTUM 0.1f
#define BN_EPS 1e-5f

/* ---- device copies of the shared data, one per device --------------------------------------- */

typedef struct dev_data {
    struct dev_data *next;
    int device;
    float *x_train, *x_valid; /* standardized features, row-major */
    int32_t *c_train, *c_valid;
    float *t_train, *t_valid;
} dev_data;

static void dev_data_free(dev_data *d) {
    if (!d) return;
    cudaSetDevice(d->device); /* its GPU's memory */
    bt_cuda_free(d->x_train); /* bt_cuda_free(NULL) is a no-op; errors at teardown go nowhere */
    bt_cuda_free(d->x_valid);
    bt_cuda_free(d->c_train);
    bt_cuda_free(d->c_valid);
    bt_cuda_free(d->t_train);
    bt_cuda_free(d->t_valid);
    free(d);
}

void bt_mlp_cuda_data_release(bt_model_data *data);
void bt_mlp_cuda_data_release(bt_model_data *data) {
    if (data && data->shared) {
        bt_nn_shared *sh = data->shared;
        dev_data *d = sh->cuda;
        while (d) {
            dev_data *nx = d->next;
            dev_data_free(d);
            d = nx;
        }
        sh->cuda = NULL;
    }
}

static bt_status upload(void **dst, const void *src, size_t bytes) {
    BT_TRY(bt_nn_cuda_dalloc(dst, bytes));
    if (bytes && src) CU(cudaMemcpy(*dst, src, bytes, cudaMemcpyHostToDevice));
    return BT_STATUS_OK;
}

static bt_status dev_data_make(const bt_nn_shared *sh, int device, dev_data *d) {
    const size_t F = (size_t)sh->n_features, n = (size_t)sh->n_train, nv = (size_t)sh->n_valid;
    d->device = device;
    BT_TRY(upload((void **)&d->x_train, sh->x_train, n * F * sizeof(float)));
    BT_TRY(upload((void **)&d->x_valid, sh->x_valid, nv * F * sizeof(float)));
    if (sh->regression) {
        BT_TRY(upload((void **)&d->t_train, sh->t_train, n * sizeof(float)));
        BT_TRY(upload((void **)&d->t_valid, sh->t_valid, nv * sizeof(float)));
    } else {
        BT_TRY(upload((void **)&d->c_train, sh->c_train, n * sizeof(int32_t)));
        BT_TRY(upload((void **)&d->c_valid, sh->c_valid, nv * sizeof(int32_t)));
    }
    /* cudaMemcpy from pageable memory may return before its DMA ends, and the packs' streams are
     * non-blocking (they do not wait for the legacy stream): finish the copies here */
    CU(cudaStreamSynchronize(0));
    return BT_STATUS_OK;
}

/* The device copy for the current device, made on first use (not thread-safe, like
 * bt_nn_data_prepare: packs are created from one thread). */
static bt_status dev_data_get(bt_model_data *data, const dev_data **out) {
    bt_nn_shared *sh = data->shared;
    int device = 0;
    CU(cudaGetDevice(&device));
    for (dev_data *d = sh->cuda; d; d = d->next)
        if (d->device == device) {
            *out = d;
            return BT_STATUS_OK;
        }
    dev_data *d = calloc(1, sizeof *d);
    BT_CHECK_ALLOC(d);
    bt_status st = dev_data_make(sh, device, d);
    if (st != BT_STATUS_OK) {
        dev_data_free(d);
        return st;
    }
    d->next = sh->cuda;
    sh->cuda = d;
    *out = d;
    return BT_STATUS_OK;
}

/* ---- the pack ------------------------------------------------------------------------------- */

/* Offsets into the step's pointer table of the per-position pointer arrays of one layer. */
typedef struct layer_tab {
    size_t X, W, b, Z, dW, db;                      /* linear */
    size_t gam, bet, dgam, dbet, rm, rv, xh, is, u; /* batch norm (hidden layers) */
    size_t h, mask;                                 /* activation output, dropout mask */
} layer_tab;

typedef struct step_tab {
    size_t x0, perm, lab, tgt, da, db, eval_x;
    layer_tab *l; /* D + 1 */
} step_tab;

/* Floats between two positions' blocks of n floats (common.h: 16-byte aligned starts). */
#define S(n) bt_nn_cuda_stride(n)

typedef struct cuda_pack {
    bt_pack host; /* first member: pack.c's eval and slot_failed take &host as the pack */
    bt_nn_cuda_core core;
    const dev_data *dd;
    /* per position in a step's list (capacity blocks, float ones of S(size) floats each) */
    int32_t *perm;                             /* N each */
    float *x0;                                 /* B x F; in evaluation, the validation chunk */
    float **z, **u, **xh, **istd, **h, **mask; /* host arrays (D + 1) of device buffers */
    float *da, *db;                            /* B x maxdim each */
    int32_t *lab;
    float *tgt;
    uint64_t *keys;
    float *drop;
    uint32_t *ep;
    step_tab tab;
    /* host staging of the per-position arrays, pinned (the row orders: N each) */
    uint64_t *h_keys;
    float *h_drop;
    uint32_t *h_ep;
    int32_t *h_perm;
} cuda_pack;

static cuda_pack *cp_of(bt_pack *p) {
    return (cuda_pack *)p; /* host is the first member */
}

void bt_mlp_cuda_pack_free(bt_pack *p);
void bt_mlp_cuda_pack_free(bt_pack *p) {
    if (!p) return;
    cuda_pack *c = cp_of(p);
    bt_nn_cuda_core_free(&c->core); /* first: waits for the stream */
    const int L = p->D + 1;
    for (int l = 0; l < L; l++) {
        if (c->z) bt_cuda_free(c->z[l]);
        if (c->u) bt_cuda_free(c->u[l]);
        if (c->xh) bt_cuda_free(c->xh[l]);
        if (c->istd) bt_cuda_free(c->istd[l]);
        if (c->h) bt_cuda_free(c->h[l]);
        if (c->mask) bt_cuda_free(c->mask[l]);
    }
    void *bufs[] = {c->perm, c->x0, c->da, c->db, c->lab, c->tgt, c->keys, c->drop, c->ep};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) bt_cuda_free(bufs[i]);
    free(c->z);
    free(c->u);
    free(c->xh);
    free(c->istd);
    free(c->h);
    free(c->mask);
    free(c->tab.l);
    void *pinned[] = {c->h_keys, c->h_drop, c->h_ep, c->h_perm};
    for (size_t i = 0; i < sizeof pinned / sizeof pinned[0]; i++) bt_cuda_free_host(pinned[i]);
    bt_mlp_pack_free(&c->host); /* host slots and tables, then the block itself (c == &c->host) */
}

/* Entries of the pointer table: (11 + 17 per layer) arrays of one entry per position. */
static size_t tab_entries(const bt_pack *p) {
    return ((size_t)11 + (size_t)17 * (size_t)(p->D + 1)) * (size_t)p->capacity;
}

static bt_status pack_buffers(cuda_pack *c) {
    bt_pack *p = &c->host;
    const size_t C = (size_t)p->capacity, B = (size_t)p->B;
    const size_t M = (size_t)p->maxdim, L = (size_t)p->D + 1;
    BT_TRY(bt_nn_cuda_core_alloc(&c->core, p->capacity, tab_entries(p), "mlp on cuda"));
    BT_TRY(bt_nn_cuda_dalloc((void **)&c->perm, C * (size_t)c->core.N * sizeof(int32_t)));
    BT_TRY(bt_nn_cuda_dalloc((void **)&c->x0, C * S(B * (size_t)p->F) * sizeof(float)));
    c->z = calloc(L, sizeof *c->z);
    c->u = calloc(L, sizeof *c->u);
    c->xh = calloc(L, sizeof *c->xh);
    c->istd = calloc(L, sizeof *c->istd);
    c->h = calloc(L, sizeof *c->h);
    c->mask = calloc(L, sizeof *c->mask);
    if (!c->z || !c->u || !c->xh || !c->istd || !c->h || !c->mask)
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for an mlp pack's layer tables");
    for (size_t l = 0; l < L; l++) {
        const size_t o = (size_t)p->out_dim[l], act = C * S(B * o) * sizeof(float);
        BT_TRY(bt_nn_cuda_dalloc((void **)&c->z[l], act));
        if ((int)l == p->D) continue;
        BT_TRY(bt_nn_cuda_dalloc((void **)&c->h[l], act));
        BT_TRY(bt_nn_cuda_dalloc((void **)&c->mask[l], act));
        if (!p->bn) continue;
        BT_TRY(bt_nn_cuda_dalloc((void **)&c->u[l], act));
        BT_TRY(bt_nn_cuda_dalloc((void **)&c->xh[l], act));
        BT_TRY(bt_nn_cuda_dalloc((void **)&c->istd[l], C * S(o) * sizeof(float)));
    }
    BT_TRY(bt_nn_cuda_dalloc((void **)&c->da, C * S(B * M) * sizeof(float)));
    BT_TRY(bt_nn_cuda_dalloc((void **)&c->db, C * S(B * M) * sizeof(float)));
    BT_TRY(bt_nn_cuda_dalloc((void **)&c->lab, C * B * sizeof(int32_t)));
    BT_TRY(bt_nn_cuda_dalloc((void **)&c->tgt, C * S(B) * sizeof(float)));
    BT_TRY(bt_nn_cuda_dalloc((void **)&c->keys, C * sizeof(uint64_t)));
    BT_TRY(bt_nn_cuda_dalloc((void **)&c->drop, C * sizeof(float)));
    BT_TRY(bt_nn_cuda_dalloc((void **)&c->ep, C * sizeof(uint32_t)));
    c->tab.l = calloc(L, sizeof *c->tab.l);
    if (!c->tab.l) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for an mlp pack's tables");
    BT_TRY(bt_nn_cuda_halloc((void **)&c->h_keys, C * sizeof *c->h_keys));
    BT_TRY(bt_nn_cuda_halloc((void **)&c->h_drop, C * sizeof *c->h_drop));
    BT_TRY(bt_nn_cuda_halloc((void **)&c->h_ep, C * sizeof *c->h_ep));
    BT_TRY(bt_nn_cuda_halloc((void **)&c->h_perm, C * (size_t)c->core.N * sizeof *c->h_perm));
    return BT_STATUS_OK;
}

bt_status bt_mlp_cuda_pack_init(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                                int capacity);
bt_status bt_mlp_cuda_pack_init(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                                int capacity) {
    *out = NULL;
    BT_TRY(bt_nn_cuda_capacity_check(capacity, "mlp on cuda"));
    cuda_pack *c = calloc(1, sizeof *c);
    BT_CHECK_ALLOC(c);
    bt_pack *p = &c->host;
    bt_status st = bt_mlp_layout_init(p, data, shape_hp, capacity);
    if (st == BT_STATUS_OK)
        st =
            bt_nn_cuda_core_init(&c->core, p->n_params, (int64_t)2 * p->H * p->D, p->sh->n_train,
                                 p->sh->n_valid, p->B, p->sh->regression ? 0 : p->K, "mlp on cuda");
    if (st == BT_STATUS_OK) st = dev_data_get(data, &c->dd);
    if (st == BT_STATUS_OK) st = pack_buffers(c);
    if (st != BT_STATUS_OK) {
        bt_mlp_cuda_pack_free(p);
        return st;
    }
    *out = p;
    return BT_STATUS_OK;
}

void bt_mlp_cuda_slot_clear(bt_pack *p, int slot);
void bt_mlp_cuda_slot_clear(bt_pack *p, int slot) {
    bt_mlp_slot_clear(p, slot); /* the device blocks are overwritten by the next slot_start */
}

bt_status bt_mlp_cuda_slot_start(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key);
bt_status bt_mlp_cuda_slot_start(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key) {
    cuda_pack *c = cp_of(p);
    CU(cudaSetDevice(c->core.device));
    /* the host slot: hyperparameters, key, schedule and the initial weights (pack.c's init) */
    BT_TRY(bt_mlp_slot_start(p, slot, hp, key));
    return bt_nn_cuda_core_slot_upload(&c->core, slot, p->slots[slot], 0);
}

bt_status bt_mlp_cuda_slot_download(bt_pack *p, int slot) {
    return bt_nn_cuda_core_slot_download(&cp_of(p)->core, p->slots, slot);
}

/* Snapshots: the CPU pack's blobs (common.c) */
bt_status bt_mlp_cuda_slot_save(bt_pack *p, int slot, void **buf, size_t *len);
bt_status bt_mlp_cuda_slot_save(bt_pack *p, int slot, void **buf, size_t *len) {
    return bt_nn_cuda_core_slot_save(&cp_of(p)->core, p->slots, p, slot, bt_mlp_slot_save, buf,
                                     len);
}

bt_status bt_mlp_cuda_slot_restore(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key,
                                   const void *buf, size_t len);
bt_status bt_mlp_cuda_slot_restore(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key,
                                   const void *buf, size_t len) {
    return bt_nn_cuda_core_slot_restore(&cp_of(p)->core, p->slots, p, slot, hp, key, buf, len,
                                        bt_mlp_slot_restore);
}

/* ---- the pointer table ---------------------------------------------------------------------- */

/* The table's arrays every batched GEMM reads or writes (bt_nn_cuda_tab_gemm: checked aligned,
 * else the handle falls back to FP32 or the step fails). */
static bt_status check_gemm_operands(cuda_pack *c, int n) {
    const bt_pack *p = &c->host;
    const step_tab *T = &c->tab;
    bt_nn_cuda_core *k = &c->core;
    BT_TRY(bt_nn_cuda_tab_gemm(k, T->x0, n, "mlp inputs"));
    BT_TRY(bt_nn_cuda_tab_gemm(k, T->eval_x, n, "mlp validation inputs"));
    BT_TRY(bt_nn_cuda_tab_gemm(k, T->da, n, "mlp gradients da"));
    BT_TRY(bt_nn_cuda_tab_gemm(k, T->db, n, "mlp gradients db"));
    for (int l = 0; l <= p->D; l++) {
        const layer_tab *lt = &T->l[l];
        BT_TRY(bt_nn_cuda_tab_gemm(k, lt->X, n, "mlp layer inputs"));
        BT_TRY(bt_nn_cuda_tab_gemm(k, lt->W, n, "mlp weights"));
        BT_TRY(bt_nn_cuda_tab_gemm(k, lt->Z, n, "mlp layer outputs"));
        BT_TRY(bt_nn_cuda_tab_gemm(k, lt->dW, n, "mlp weight gradients"));
    }
    return BT_STATUS_OK;
}

/* Builds, checks and uploads the table for the n positions of this step
 * (c->core.slot_of[0..n)). */
static bt_status build_tab(cuda_pack *c, int n) {
    bt_pack *p = &c->host;
    const size_t B = (size_t)p->B, F = (size_t)p->F, M = (size_t)p->maxdim, P = (size_t)c->core.P;
    const size_t R = (size_t)c->core.R, fs = sizeof(float);
    step_tab *T = &c->tab;
    size_t at = 0;
    T->x0 = bt_nn_cuda_tab_pos(&c->core, &at, c->x0, S(B * F) * fs, n);
    T->perm = bt_nn_cuda_tab_pos(&c->core, &at, c->perm, (size_t)c->core.N * sizeof(int32_t), n);
    T->lab = bt_nn_cuda_tab_pos(&c->core, &at, c->lab, B * sizeof(int32_t), n);
    T->tgt = bt_nn_cuda_tab_pos(&c->core, &at, c->tgt, S(B) * fs, n);
    T->da = bt_nn_cuda_tab_pos(&c->core, &at, c->da, S(B * M) * fs, n);
    T->db = bt_nn_cuda_tab_pos(&c->core, &at, c->db, S(B * M) * fs, n);
    /* validation: every position reads the same chunk, copied into x0's first block (evaluate) */
    T->eval_x = bt_nn_cuda_tab_pos(&c->core, &at, c->x0, 0, n);
    bt_nn_cuda_tab_blocks(&c->core, &at, n);
    for (int l = 0; l <= p->D; l++) {
        layer_tab *lt = &T->l[l];
        const size_t in = (size_t)p->in_dim[l], o = (size_t)p->out_dim[l];
        memset(lt, 0, sizeof *lt);
        lt->X = l == 0 ? T->x0 : bt_nn_cuda_tab_pos(&c->core, &at, c->h[l - 1], S(B * in) * fs, n);
        lt->W = bt_nn_cuda_tab_slot(&c->core, &at, c->core.w, P, p->w_off[l], n);
        lt->b = bt_nn_cuda_tab_slot(&c->core, &at, c->core.w, P, p->b_off[l], n);
        lt->Z = bt_nn_cuda_tab_pos(&c->core, &at, c->z[l], S(B * o) * fs, n);
        lt->dW = bt_nn_cuda_tab_slot(&c->core, &at, c->core.g, P, p->w_off[l], n);
        lt->db = bt_nn_cuda_tab_slot(&c->core, &at, c->core.g, P, p->b_off[l], n);
        if (l == p->D) break;
        lt->h = bt_nn_cuda_tab_pos(&c->core, &at, c->h[l], S(B * o) * fs, n);
        lt->mask = bt_nn_cuda_tab_pos(&c->core, &at, c->mask[l], S(B * o) * fs, n);
        if (!p->bn) continue;
        lt->gam = bt_nn_cuda_tab_slot(&c->core, &at, c->core.w, P, p->gam_off[l], n);
        lt->bet = bt_nn_cuda_tab_slot(&c->core, &at, c->core.w, P, p->bet_off[l], n);
        lt->dgam = bt_nn_cuda_tab_slot(&c->core, &at, c->core.g, P, p->gam_off[l], n);
        lt->dbet = bt_nn_cuda_tab_slot(&c->core, &at, c->core.g, P, p->bet_off[l], n);
        lt->rm = bt_nn_cuda_tab_slot(&c->core, &at, c->core.run, R, (int64_t)2 * l * p->H, n);
        lt->rv = bt_nn_cuda_tab_slot(&c->core, &at, c->core.run, R, (int64_t)(2 * l + 1) * p->H, n);
        lt->xh = bt_nn_cuda_tab_pos(&c->core, &at, c->xh[l], S(B * o) * fs, n);
        lt->is = bt_nn_cuda_tab_pos(&c->core, &at, c->istd[l], S(o) * fs, n);
        lt->u = bt_nn_cuda_tab_pos(&c->core, &at, c->u[l], S(B * o) * fs, n);
    }
    BT_TRY(check_gemm_operands(c, n));
    return bt_nn_cuda_tab_upload(&c->core, at, "mlp on cuda");
}

/* Device pointer arrays at table offset o. */
#define FP(o) BT_NN_FP(&c->core, o)
#define CFP(o) BT_NN_CFP(&c->core, o)
#define IP(o) BT_NN_IP(&c->core, o)
#define CIP(o) BT_NN_CIP(&c->core, o)

/* ---- one epoch ------------------------------------------------------------------------------ */

/* Forward pass of positions [0, n) on `rows` rows: the training batch in x0 (train: batch
 * statistics, running-stat updates, dropout keyed by (epoch, step, layer)) or the validation chunk
 * in x0's first block (eval mode). Logits land in z[D]. */
static bt_status forward(cuda_pack *c, int n, int rows, int train, uint32_t step) {
    bt_pack *p = &c->host;
    const step_tab *T = &c->tab;
    void *st = c->core.stream;
    for (int l = 0; l <= p->D; l++) {
        const layer_tab *lt = &T->l[l];
        const int in = p->in_dim[l], o = p->out_dim[l];
        const size_t X = l == 0 && !train ? T->eval_x : lt->X;
        BT_TRY(bt_nn_linear_fwd_cuda(c->core.blas, n, rows, in, o, CFP(X), CFP(lt->W), CFP(lt->b),
                                     FP(lt->Z)));
        if (l == p->D) break;
        size_t a_in = lt->Z;
        if (p->bn) {
            if (train)
                BT_TRY(bt_nn_bn_train_fwd_cuda(n, rows, o, BN_MOMENTUM, BN_EPS, CFP(lt->Z),
                                               CFP(lt->gam), CFP(lt->bet), FP(lt->rm), FP(lt->rv),
                                               FP(lt->xh), FP(lt->is), FP(lt->u), st));
            else
                BT_TRY(bt_nn_bn_eval_fwd_cuda(n, rows, o, BN_EPS, CFP(lt->Z), CFP(lt->gam),
                                              CFP(lt->bet), CFP(lt->rm), CFP(lt->rv), FP(lt->u),
                                              st));
            a_in = lt->u;
        }
        BT_TRY(bt_nn_act_fwd_slots_cuda(p->act, n, (int64_t)rows * o, CFP(a_in), FP(lt->h), st));
        if (train)
            BT_TRY(bt_nn_dropout_fwd_cuda(n, (int64_t)rows * o, c->keys, c->drop, c->ep, step,
                                          (uint32_t)l, CFP(lt->h), FP(lt->h), FP(lt->mask), st));
    }
    return BT_STATUS_OK;
}

/* Mini-batch b: gather, forward, loss, divergence check, backward, one optimizer update of every
 * position still alive (bt_mlp_fwd_bwd and run_epoch's batch body in pack.c). */
static bt_status train_batch(cuda_pack *c, int n, int64_t b, int rows) {
    bt_pack *p = &c->host;
    const step_tab *T = &c->tab;
    const bt_nn_shared *sh = p->sh;
    void *st = c->core.stream;
    const int64_t first = b * p->B;
    BT_TRY(
        bt_nn_gather_f32_cuda(n, rows, p->F, c->dd->x_train, CIP(T->perm), first, FP(T->x0), st));
    if (sh->regression)
        BT_TRY(
            bt_nn_gather_f32_cuda(n, rows, 1, c->dd->t_train, CIP(T->perm), first, FP(T->tgt), st));
    else
        BT_TRY(
            bt_nn_gather_i32_cuda(n, rows, 1, c->dd->c_train, CIP(T->perm), first, IP(T->lab), st));
    BT_TRY(forward(c, n, rows, 1, (uint32_t)b));
    const int D = p->D;
    if (sh->regression)
        BT_TRY(bt_nn_mse_cuda(n, rows, CFP(T->l[D].Z), CFP(T->tgt), c->core.loss, FP(T->da), st));
    else
        BT_TRY(bt_nn_softmax_ce_cuda(n, rows, p->K, CFP(T->l[D].Z), CIP(T->lab), c->core.smooth,
                                     c->core.loss, FP(T->da), st));
    BT_TRY(bt_nn_cuda_core_loss_check(&c->core, n, rows));
    size_t gc = T->da, gn = T->db;
    for (int l = D; l >= 0; l--) {
        const layer_tab *lt = &T->l[l];
        const int in = p->in_dim[l], o = p->out_dim[l];
        BT_TRY(bt_nn_linear_bwd_cuda(c->core.blas, n, rows, in, o, CFP(lt->X), CFP(lt->W), CFP(gc),
                                     l > 0 ? FP(gn) : NULL, FP(lt->dW), FP(lt->db)));
        if (l == 0) break;
        /* back through hidden layer l - 1: dropout, activation, batch norm */
        const layer_tab *hl = &T->l[l - 1];
        const int H = p->out_dim[l - 1];
        const int64_t e = (int64_t)rows * H;
        BT_TRY(bt_nn_dropout_bwd_cuda(n, e, CFP(hl->mask), CFP(gn), FP(gn), st));
        BT_TRY(bt_nn_act_bwd_slots_cuda(p->act, n, e, CFP(p->bn ? hl->u : hl->Z), CFP(gn), FP(gn),
                                        st));
        if (p->bn)
            BT_TRY(bt_nn_bn_bwd_cuda(n, rows, H, CFP(hl->xh), CFP(hl->is), CFP(hl->gam), CFP(gn),
                                     FP(gn), FP(hl->dgam), FP(hl->dbet), st));
        size_t t = gc;
        gc = gn;
        gn = t;
    }
    return bt_nn_cuda_core_optim_step(&c->core, n);
}

/* Validation sums of positions [0, n) in c->core.acc: eval-mode forward in chunks of B rows. */
static bt_status evaluate(cuda_pack *c, int n) {
    bt_pack *p = &c->host;
    const bt_nn_shared *sh = p->sh;
    const size_t Z = c->tab.l[p->D].Z;
    for (int64_t ch = 0; ch < c->core.n_chunks; ch++) {
        const int64_t c0 = ch * p->B;
        const int rows = (int)(c->core.nv - c0 < p->B ? c->core.nv - c0 : p->B);
        /* the chunk, at a 16-byte aligned start whatever c0 * F is (a GEMM operand); x0 is free
         * once the epoch's last batch was read, in stream order */
        CU(cudaMemcpyAsync(c->x0, c->dd->x_valid + (size_t)c0 * (size_t)p->F,
                           (size_t)rows * (size_t)p->F * sizeof(float), cudaMemcpyDeviceToDevice,
                           c->core.stream));
        BT_TRY(forward(c, n, rows, 0, 0));
        if (sh->regression)
            BT_TRY(bt_nn_reg_metrics_cuda(n, rows, CFP(Z), c->dd->t_valid + c0, sh->y_mean,
                                          sh->y_std, c->core.acc, c->core.stream));
        else
            BT_TRY(bt_nn_cuda_core_class_metrics(&c->core, n, rows, CFP(Z), c->dd->c_valid + c0));
    }
    return BT_STATUS_OK;
}

const char *bt_mlp_cuda_note(const bt_pack *p);
const char *bt_mlp_cuda_note(const bt_pack *p) {
    const cuda_pack *c = (const cuda_pack *)p;
    return c->core.math_note[0] ? c->core.math_note : NULL;
}

bt_status bt_mlp_cuda_step(bt_pack *p, const int *slots, int n_slots);
bt_status bt_mlp_cuda_step(bt_pack *p, const int *slots, int n_slots) {
    cuda_pack *c = cp_of(p);
    CU(cudaSetDevice(c->core.device));
    int n = 0;
    BT_TRY(bt_nn_cuda_core_positions(&c->core, p->slots, slots, n_slots, &n));
    if (n == 0) return BT_STATUS_OK;
    BT_TRY(bt_nn_cuda_core_epoch_begin(&c->core, p->slots, n));
    const int64_t N = c->core.N;
    cudaStream_t st = c->core.stream;
    for (int i = 0; i < n; i++) {
        const bt_mlp_slot *s = p->slots[c->core.slot_of[i]];
        /* the pinned staging is rewritten only after the previous epoch's wait (epoch_end) */
        memcpy(c->h_perm + (size_t)i * (size_t)N, s->perm, (size_t)N * sizeof(int32_t));
        c->h_keys[i] = s->key;
        c->h_drop[i] = s->dropout;
        c->h_ep[i] = (uint32_t)s->epoch;
    }
    const size_t sn = (size_t)n;
    CU(cudaMemcpyAsync(c->perm, c->h_perm, sn * (size_t)N * sizeof(int32_t), cudaMemcpyHostToDevice,
                       st));
    CU(cudaMemcpyAsync(c->keys, c->h_keys, sn * sizeof *c->h_keys, cudaMemcpyHostToDevice, st));
    CU(cudaMemcpyAsync(c->drop, c->h_drop, sn * sizeof *c->h_drop, cudaMemcpyHostToDevice, st));
    CU(cudaMemcpyAsync(c->ep, c->h_ep, sn * sizeof *c->h_ep, cudaMemcpyHostToDevice, st));
    BT_TRY(build_tab(c, n));
    const int64_t B = p->B, n_batches = (N + B - 1) / B;
    for (int64_t b = 0; b < n_batches; b++)
        BT_TRY(train_batch(c, n, b, (int)(N - b * B < B ? N - b * B : B)));
    BT_TRY(evaluate(c, n));
    return bt_nn_cuda_core_epoch_end(&c->core, p->slots, n, p->sh->regression);
}

/* Device bytes of one slot (its blocks and its share of the per-position scratch). */
static double slot_bytes(const bt_pack *p) {
    double per = 4.0 * (4.0 * (double)p->n_params + 2.0 * p->H * p->D) + 4.0 * p->sh->n_train;
    double act = (double)p->F + 2.0 * p->maxdim + 2.0;
    for (int l = 0; l <= p->D; l++)
        act += (double)p->out_dim[l] * (l < p->D ? (p->bn ? 5.0 : 3.0) : 1.0);
    return per + 4.0 * (double)p->B * act + 256.0 + 8.0 * (17.0 * (p->D + 1) + 11.0);
}

int bt_mlp_cuda_pack_capacity(const bt_model_data *data, const bt_hparams *shape_hp, int wanted);
int bt_mlp_cuda_pack_capacity(const bt_model_data *data, const bt_hparams *shape_hp, int wanted) {
    if (wanted < 1) return 1;
    if (!data->shared) return wanted;
    bt_pack *p = calloc(1, sizeof *p);
    if (!p) return wanted;
    int cap = wanted;
    /* data->shared is prepared: layout_init only reads it */
    if (bt_mlp_layout_init(p, (bt_model_data *)(uintptr_t)data, shape_hp, 1) == BT_STATUS_OK)
        cap = bt_nn_cuda_capacity_fit(wanted, 0.0, slot_bytes(p));
    bt_mlp_pack_free(p);
    return cap;
}

#endif
