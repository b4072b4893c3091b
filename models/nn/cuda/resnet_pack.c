/* The resnet pack on a CUDA stream: the same trials, slots and epochs as resnet_pack.c /
 * resnet_net.c, every layer of every slot of the pack advanced by one batched launch of the nn
 * CUDA twins (conv2d im2col + batched GEMM, batch norm, relu, residual add, pooling, linear,
 * softmax cross-entropy, the fused optimizer). The host keeps the CPU pack's layout and slots
 * (bt_resnet_layout_init, bt_resnet_slot_start: same offsets, same init) and its per-epoch
 * bookkeeping (shuffle, learning rate, metrics). Each mini-batch's input is gathered on the host
 * by the CPU's own bt_resnet_gather (crop, flip, per-channel normalization) into a pinned staging
 * buffer and uploaded, so the augmentation draws and pixels are the CPU's bit for bit.
 * Built only with CUDA (BT_HAVE_CUDA); see docs/cuda.md ("The resnet pack on the GPU"). */
#include "models/nn/resnet.h"

#if BT_HAVE_CUDA

#include <cuda_runtime.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/capture_lock.h"
#include "kernels/cuda/check.h"
#include "models/nn/cuda/common.h"
#include "kernels/nn_act.h"
#include "kernels/nn_batchnorm.h"
#include "kernels/nn_blas.h"
#include "kernels/nn_linear.h"
#include "kernels/nn_pool.h"
#include "kernels/nn_residual.h"
#include "kernels/nn_softmax_ce.h"
#include "kernels/nn_train.h"

/* resnet_net.c's batch-norm constants (PyTorch's defaults) */
#define BN_MOMENTUM 0.1f
#define BN_EPS 1e-5f

/* Device memory the convolutions' im2col scratch may take (at least one slot's worth): more
 * lets more slots share one GEMM launch. */
#define SCRATCH_BUDGET ((size_t)512 << 20)

/* Offsets into the step's pointer table of one convolution unit's per-position arrays. */
typedef struct conv_tab {
    size_t W, dW, gam, bet, dgam, dbet, rm, rv; /* into the slots' blocks */
    size_t xh, is, out;                         /* activations (out: 0 for a projection) */
} conv_tab;

typedef struct step_tab {
    size_t x0, lab, z, ga, gb, gc, pool, dpool, logit, dlogit;
    size_t fcw, fcb, dfcw, dfcb, eval_x;
    conv_tab *cv; /* n_conv */
} step_tab;

/* Floats between two positions' (or validation chunks') blocks of n floats (common.h: 16-byte
 * aligned starts). */
#define S(n) bt_nn_cuda_stride(n)

typedef struct rn_cuda_pack {
    bt_resnet_pack host; /* first member: resnet_pack.c's eval and slot_failed take &host */
    bt_nn_cuda_core core;
    cudaEvent_t staged; /* recorded after a batch's upload: the staging buffer is free again */
    /* per position in a step's list (capacity blocks, float ones of S(size) floats each) */
    float *x0;                 /* B x in_n (NHWC, normalized) */
    int32_t *lab;              /* B */
    float *z, *ga, *gb, *gc;   /* B x max_n */
    float **xh, **istd, **out; /* host arrays (n_conv) of device buffers; out NULL for cs */
    float *pool, *dpool;       /* B x feat */
    float *logit, *dlogit;     /* B x K */
    /* per pack */
    float *valid_x; /* n_chunks blocks of S(B x in_n): normalized once (no augmentation) */
    int32_t *valid_c;
    void *scratch; /* conv im2col scratch */
    size_t scratch_bytes;
    step_tab tab;
    /* pinned staging of a mini-batch: inputs and labels of every position (x0's layout) */
    float *h_x0;
    int32_t *h_lab;
} rn_cuda_pack;

static rn_cuda_pack *cp_of(bt_pack *p) {
    return (rn_cuda_pack *)(void *)p; /* host is the first member */
}

void bt_resnet_cuda_pack_free(bt_pack *p);
void bt_resnet_cuda_pack_free(bt_pack *p) {
    if (!p) return;
    rn_cuda_pack *c = cp_of(p);
    bt_resnet_pack *h = &c->host;
    bt_nn_cuda_core_free(&c->core); /* first: waits for the stream */
    for (int u = 0; u < h->n_conv; u++) {
        if (c->xh) bt_cuda_free(c->xh[u]);
        if (c->istd) bt_cuda_free(c->istd[u]);
        if (c->out) bt_cuda_free(c->out[u]);
    }
    void *bufs[] = {c->x0,    c->lab,   c->z,      c->ga,      c->gb,      c->gc,     c->pool,
                    c->dpool, c->logit, c->dlogit, c->valid_x, c->valid_c, c->scratch};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) bt_cuda_free(bufs[i]);
    bt_cuda_free_host(c->h_x0);
    bt_cuda_free_host(c->h_lab);
    if (c->staged) cudaEventDestroy(c->staged);
    free(c->xh);
    free(c->istd);
    free(c->out);
    free(c->tab.cv);
    bt_resnet_pack_free((bt_pack *)h); /* host slots and tables, then the block itself (c == h) */
}

/* Pointer-table entries: per position, 19 fixed arrays and 11 per convolution unit, plus one
 * input array per validation chunk. */
static size_t tab_entries(const bt_resnet_pack *h, int64_t n_chunks) {
    return ((size_t)19 + (size_t)11 * (size_t)h->n_conv + (size_t)n_chunks) * (size_t)h->capacity;
}

/* The shape of unit u for `rows` images. */
static bt_nn_conv2d_shape conv_shape(const bt_resnet_pack *h, int u, int rows) {
    bt_nn_conv2d_shape sh = h->conv[u].sh;
    sh.rows = rows;
    return sh;
}

/* im2col scratch for `slots` slots per GEMM group: the largest any unit needs at a full batch. */
static size_t scratch_for(const bt_resnet_pack *h, int slots) {
    size_t most = 0;
    for (int u = 0; u < h->n_conv; u++) {
        bt_nn_conv2d_shape sh = conv_shape(h, u, h->B);
        size_t b = bt_nn_conv2d_cuda_scratch_bytes(&sh, slots);
        if (b > most) most = b;
    }
    return most;
}

static int scratch_group(const bt_resnet_pack *h) {
    size_t one = scratch_for(h, 1);
    size_t g = one ? SCRATCH_BUDGET / one : (size_t)h->capacity;
    if (g < 1) g = 1;
    if (g > (size_t)h->capacity) g = (size_t)h->capacity;
    return (int)g;
}

static bt_status pack_buffers(rn_cuda_pack *c) {
    bt_resnet_pack *h = &c->host;
    const size_t C = (size_t)h->capacity, B = (size_t)h->B, M = h->max_n, fs = sizeof(float);
    BT_TRY(bt_nn_cuda_core_alloc(&c->core, h->capacity, tab_entries(h, c->core.n_chunks),
                                 "resnet on cuda"));
    CU(cudaEventCreateWithFlags(&c->staged, cudaEventDisableTiming));
    BT_TRY(bt_nn_cuda_dalloc((void **)&c->x0, C * S(B * h->in_n) * fs));
    BT_TRY(bt_nn_cuda_dalloc((void **)&c->lab, C * B * sizeof(int32_t)));
    BT_TRY(bt_nn_cuda_dalloc((void **)&c->z, C * S(B * M) * fs));
    BT_TRY(bt_nn_cuda_dalloc((void **)&c->ga, C * S(B * M) * fs));
    BT_TRY(bt_nn_cuda_dalloc((void **)&c->gb, C * S(B * M) * fs));
    BT_TRY(bt_nn_cuda_dalloc((void **)&c->gc, C * S(B * M) * fs));
    c->xh = calloc((size_t)h->n_conv, sizeof *c->xh);
    c->istd = calloc((size_t)h->n_conv, sizeof *c->istd);
    c->out = calloc((size_t)h->n_conv, sizeof *c->out);
    c->tab.cv = calloc((size_t)h->n_conv, sizeof *c->tab.cv);
    if (!c->xh || !c->istd || !c->out || !c->tab.cv)
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for a resnet pack's unit tables");
    for (int u = 0; u < h->n_conv; u++) {
        const bt_rn_conv *cv = &h->conv[u];
        BT_TRY(bt_nn_cuda_dalloc((void **)&c->xh[u], C * S(B * cv->out_n) * fs));
        BT_TRY(bt_nn_cuda_dalloc((void **)&c->istd[u], C * S((size_t)cv->sh.c_out) * fs));
    }
    /* unit outputs kept for the backward pass: the stem, and both convolutions of each block
     * (a projection's output lives in ga during the forward pass, as on the CPU) */
    BT_TRY(bt_nn_cuda_dalloc((void **)&c->out[0], C * S(B * h->conv[0].out_n) * fs));
    for (int b = 0; b < h->n_blocks; b++) {
        const bt_rn_block *bk = &h->blk[b];
        BT_TRY(bt_nn_cuda_dalloc((void **)&c->out[bk->c1], C * S(B * h->conv[bk->c1].out_n) * fs));
        BT_TRY(bt_nn_cuda_dalloc((void **)&c->out[bk->c2], C * S(B * h->conv[bk->c2].out_n) * fs));
    }
    BT_TRY(bt_nn_cuda_dalloc((void **)&c->pool, C * S(B * (size_t)h->feat) * fs));
    BT_TRY(bt_nn_cuda_dalloc((void **)&c->dpool, C * S(B * (size_t)h->feat) * fs));
    BT_TRY(bt_nn_cuda_dalloc((void **)&c->logit, C * S(B * (size_t)h->K) * fs));
    BT_TRY(bt_nn_cuda_dalloc((void **)&c->dlogit, C * S(B * (size_t)h->K) * fs));
    c->scratch_bytes = scratch_for(h, scratch_group(h));
    BT_TRY(bt_nn_cuda_dalloc(&c->scratch, c->scratch_bytes));
    BT_TRY(bt_nn_cuda_halloc((void **)&c->h_x0, C * S(B * h->in_n) * fs));
    BT_TRY(bt_nn_cuda_halloc((void **)&c->h_lab, C * B * sizeof(int32_t)));
    return BT_STATUS_OK;
}

/* The validation images, normalized by the CPU's gather (no augmentation), in chunks of B images
 * each starting 16-byte aligned (the first convolution's GEMM operand), and their labels:
 * uploaded once per pack. */
static bt_status upload_valid(rn_cuda_pack *c) {
    bt_resnet_pack *h = &c->host;
    const size_t nv = (size_t)c->core.nv, in_n = h->in_n, nf = (size_t)h->sh->n_features;
    const size_t B = (size_t)h->B, cs = S(B * in_n), n = (size_t)c->core.n_chunks * cs;
    BT_TRY(bt_nn_cuda_dalloc((void **)&c->valid_x, (n ? n : 1) * sizeof(float)));
    BT_TRY(bt_nn_cuda_dalloc((void **)&c->valid_c, (nv ? nv : 1) * sizeof(int32_t)));
    float *tmp = calloc(n ? n : 1, sizeof(float)); /* the gaps zero, never read */
    if (!tmp) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory normalizing the validation set");
#pragma omp parallel for schedule(static) num_threads(h->threads)
    for (int64_t r = 0; r < (int64_t)nv; r++)
        bt_resnet_gather(h, h->x_valid + (size_t)r * nf, NULL, 0,
                         tmp + (size_t)r / B * cs + (size_t)r % B * in_n);
    cudaError_t e = cudaMemcpy(c->valid_x, tmp, n * sizeof(float), cudaMemcpyHostToDevice);
    free(tmp);
    CU(e);
    CU(cudaMemcpy(c->valid_c, h->sh->c_valid, nv * sizeof(int32_t), cudaMemcpyHostToDevice));
    /* pageable copies may return before their DMA ends; the pack's stream does not wait for the
     * legacy stream */
    CU(cudaStreamSynchronize(0));
    return BT_STATUS_OK;
}

bt_status bt_resnet_cuda_pack_init(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                                   int capacity);
bt_status bt_resnet_cuda_pack_init(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                                   int capacity) {
    *out = NULL;
    BT_TRY(bt_nn_cuda_capacity_check(capacity, "resnet on cuda"));
    rn_cuda_pack *c = calloc(1, sizeof *c);
    BT_CHECK_ALLOC(c);
    bt_resnet_pack *h = &c->host;
    bt_status st = bt_resnet_layout_init(h, data, shape_hp->v, capacity);
    if (st == BT_STATUS_OK)
        st = bt_nn_cuda_core_init(&c->core, h->n_params, h->n_run, h->sh->n_train, h->sh->n_valid,
                                  h->B, "resnet on cuda");
    if (st == BT_STATUS_OK) st = pack_buffers(c);
    if (st == BT_STATUS_OK) st = upload_valid(c);
    if (st != BT_STATUS_OK) {
        bt_resnet_cuda_pack_free((bt_pack *)c);
        return st;
    }
    *out = (bt_pack *)c;
    return BT_STATUS_OK;
}

void bt_resnet_cuda_slot_clear(bt_pack *p, int slot);
void bt_resnet_cuda_slot_clear(bt_pack *p, int slot) {
    bt_resnet_slot_clear(p, slot); /* the device blocks are overwritten by the next slot_start */
}

bt_status bt_resnet_cuda_slot_start(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key);
bt_status bt_resnet_cuda_slot_start(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key) {
    rn_cuda_pack *c = cp_of(p);
    CU(cudaSetDevice(c->core.device));
    /* the host slot: hyperparameters, key, schedule, augmentation and the CPU's initial weights */
    BT_TRY(bt_resnet_slot_start(p, slot, hp, key));
    return bt_nn_cuda_core_slot_upload(&c->core, slot, c->host.slots[slot], 0);
}

bt_status bt_resnet_cuda_slot_download(bt_pack *p, int slot) {
    return bt_nn_cuda_core_slot_download(&cp_of(p)->core, cp_of(p)->host.slots, slot);
}

/* Snapshots: the CPU pack's blobs (common.c) */
bt_status bt_resnet_cuda_slot_save(bt_pack *p, int slot, void **buf, size_t *len);
bt_status bt_resnet_cuda_slot_save(bt_pack *p, int slot, void **buf, size_t *len) {
    return bt_nn_cuda_core_slot_save(&cp_of(p)->core, cp_of(p)->host.slots, p, slot,
                                     bt_resnet_slot_save, buf, len);
}

bt_status bt_resnet_cuda_slot_restore(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key,
                                      const void *buf, size_t len);
bt_status bt_resnet_cuda_slot_restore(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key,
                                      const void *buf, size_t len) {
    return bt_nn_cuda_core_slot_restore(&cp_of(p)->core, cp_of(p)->host.slots, p, slot, hp, key,
                                        buf, len, bt_resnet_slot_restore);
}

/* ---- the pointer table ---------------------------------------------------------------------- */

/* The table's arrays every batched GEMM reads or writes (bt_nn_cuda_tab_gemm: checked aligned,
 * else the handle falls back to FP32 or the step fails). */
static bt_status check_gemm_operands(rn_cuda_pack *c, int n) {
    const bt_resnet_pack *h = &c->host;
    const step_tab *T = &c->tab;
    bt_nn_cuda_core *k = &c->core;
    const size_t act[] = {T->x0, T->z, T->ga, T->gb, T->gc, T->pool, T->dpool, T->logit, T->dlogit};
    for (size_t i = 0; i < sizeof act / sizeof act[0]; i++)
        BT_TRY(bt_nn_cuda_tab_gemm(k, act[i], n, "resnet activations"));
    BT_TRY(bt_nn_cuda_tab_gemm(k, T->fcw, n, "resnet classifier weights"));
    BT_TRY(bt_nn_cuda_tab_gemm(k, T->dfcw, n, "resnet classifier weight gradients"));
    for (int64_t ch = 0; ch < c->core.n_chunks; ch++)
        BT_TRY(bt_nn_cuda_tab_gemm(k, T->eval_x + (size_t)ch * (size_t)n, n, "resnet validation"));
    for (int u = 0; u < h->n_conv; u++) {
        BT_TRY(bt_nn_cuda_tab_gemm(k, T->cv[u].W, n, "resnet convolution weights"));
        BT_TRY(bt_nn_cuda_tab_gemm(k, T->cv[u].dW, n, "resnet convolution weight gradients"));
        if (c->out[u]) BT_TRY(bt_nn_cuda_tab_gemm(k, T->cv[u].out, n, "resnet unit outputs"));
    }
    return BT_STATUS_OK;
}

/* Builds, checks and uploads the table for the n positions of this step
 * (c->core.slot_of[0..n)). */
static bt_status build_tab(rn_cuda_pack *c, int n) {
    bt_resnet_pack *h = &c->host;
    const size_t B = (size_t)h->B, M = h->max_n, P = (size_t)c->core.P, R = (size_t)c->core.R;
    const size_t fs = sizeof(float), F = (size_t)h->feat, K = (size_t)h->K;
    step_tab *T = &c->tab;
    size_t at = 0;
    T->x0 = bt_nn_cuda_tab_pos(&c->core, &at, c->x0, S(B * h->in_n) * fs, n);
    T->lab = bt_nn_cuda_tab_pos(&c->core, &at, c->lab, B * sizeof(int32_t), n);
    T->z = bt_nn_cuda_tab_pos(&c->core, &at, c->z, S(B * M) * fs, n);
    T->ga = bt_nn_cuda_tab_pos(&c->core, &at, c->ga, S(B * M) * fs, n);
    T->gb = bt_nn_cuda_tab_pos(&c->core, &at, c->gb, S(B * M) * fs, n);
    T->gc = bt_nn_cuda_tab_pos(&c->core, &at, c->gc, S(B * M) * fs, n);
    T->pool = bt_nn_cuda_tab_pos(&c->core, &at, c->pool, S(B * F) * fs, n);
    T->dpool = bt_nn_cuda_tab_pos(&c->core, &at, c->dpool, S(B * F) * fs, n);
    T->logit = bt_nn_cuda_tab_pos(&c->core, &at, c->logit, S(B * K) * fs, n);
    T->dlogit = bt_nn_cuda_tab_pos(&c->core, &at, c->dlogit, S(B * K) * fs, n);
    bt_nn_cuda_tab_blocks(&c->core, &at, n);
    T->fcw = bt_nn_cuda_tab_slot(&c->core, &at, c->core.w, P, h->fc_w, n);
    T->fcb = bt_nn_cuda_tab_slot(&c->core, &at, c->core.w, P, h->fc_b, n);
    T->dfcw = bt_nn_cuda_tab_slot(&c->core, &at, c->core.g, P, h->fc_w, n);
    T->dfcb = bt_nn_cuda_tab_slot(&c->core, &at, c->core.g, P, h->fc_b, n);
    for (int u = 0; u < h->n_conv; u++) {
        const bt_rn_conv *cv = &h->conv[u];
        conv_tab *ct = &T->cv[u];
        const int64_t co = cv->sh.c_out;
        ct->W = bt_nn_cuda_tab_slot(&c->core, &at, c->core.w, P, cv->w_off, n);
        ct->dW = bt_nn_cuda_tab_slot(&c->core, &at, c->core.g, P, cv->w_off, n);
        ct->gam = bt_nn_cuda_tab_slot(&c->core, &at, c->core.w, P, cv->gam_off, n);
        ct->bet = bt_nn_cuda_tab_slot(&c->core, &at, c->core.w, P, cv->bet_off, n);
        ct->dgam = bt_nn_cuda_tab_slot(&c->core, &at, c->core.g, P, cv->gam_off, n);
        ct->dbet = bt_nn_cuda_tab_slot(&c->core, &at, c->core.g, P, cv->bet_off, n);
        ct->rm = bt_nn_cuda_tab_slot(&c->core, &at, c->core.run, R, cv->run_off, n);
        ct->rv = bt_nn_cuda_tab_slot(&c->core, &at, c->core.run, R, cv->run_off + co, n);
        ct->xh = bt_nn_cuda_tab_pos(&c->core, &at, c->xh[u], S(B * cv->out_n) * fs, n);
        ct->is = bt_nn_cuda_tab_pos(&c->core, &at, c->istd[u], S((size_t)co) * fs, n);
        ct->out =
            c->out[u] ? bt_nn_cuda_tab_pos(&c->core, &at, c->out[u], S(B * cv->out_n) * fs, n) : 0;
    }
    /* validation chunk ch: every position reads the same images */
    T->eval_x = at;
    for (int64_t ch = 0; ch < c->core.n_chunks; ch++)
        bt_nn_cuda_tab_pos(&c->core, &at, c->valid_x + (size_t)ch * S(B * h->in_n), 0, n);
    BT_TRY(check_gemm_operands(c, n));
    return bt_nn_cuda_tab_upload(&c->core, at, "resnet on cuda");
}

/* Device pointer arrays at table offset o. */
#define FP(o) BT_NN_FP(&c->core, o)
#define CFP(o) BT_NN_CFP(&c->core, o)
#define CIP(o) BT_NN_CIP(&c->core, o)

/* ---- forward and backward (resnet_net.c's, launch for launch) ------------------------------- */

/* Unit u on input arrays X, batch norm into arrays Y (train: batch statistics, xhat and inverse
 * std saved, running statistics updated; else the running statistics). */
static bt_status conv_bn(rn_cuda_pack *c, int n, int rows, int u, size_t X, size_t Y, int train) {
    const bt_resnet_pack *h = &c->host;
    const bt_rn_conv *cv = &h->conv[u];
    const conv_tab *ct = &c->tab.cv[u];
    const bt_nn_conv2d_shape sh = conv_shape(h, u, rows);
    const int co = sh.c_out, m = rows * cv->oh * cv->ow;
    const size_t Z = c->tab.z;
    BT_TRY(bt_nn_conv2d_fwd_cuda(c->core.blas, n, &sh, CFP(X), CFP(ct->W), NULL, FP(Z), c->scratch,
                                 c->scratch_bytes));
    if (train)
        return bt_nn_bn_train_fwd_cuda(n, m, co, BN_MOMENTUM, BN_EPS, CFP(Z), CFP(ct->gam),
                                       CFP(ct->bet), FP(ct->rm), FP(ct->rv), FP(ct->xh), FP(ct->is),
                                       FP(Y), c->core.stream);
    return bt_nn_bn_eval_fwd_cuda(n, m, co, BN_EPS, CFP(Z), CFP(ct->gam), CFP(ct->bet), CFP(ct->rm),
                                  CFP(ct->rv), FP(Y), c->core.stream);
}

static bt_status relu(rn_cuda_pack *c, int n, int64_t len, size_t Y) {
    return bt_nn_act_fwd_slots_cuda(BT_NN_ACT_RELU, n, len, CFP(Y), FP(Y), c->core.stream);
}

/* dY = relu'(Y) dY, Y the relu's output. */
static bt_status relu_bwd(rn_cuda_pack *c, int n, int64_t len, size_t dY, size_t Y) {
    return bt_nn_act_bwd_slots_cuda(BT_NN_ACT_RELU, n, len, CFP(Y), CFP(dY), FP(dY),
                                    c->core.stream);
}

/* Y += X */
static bt_status add(rn_cuda_pack *c, int n, int64_t len, size_t Y, size_t X) {
    return bt_nn_residual_fwd_cuda(n, len, CFP(Y), CFP(X), FP(Y), c->core.stream);
}

/* Block b's input arrays: the stem's output or the previous block's. */
static size_t block_in(const rn_cuda_pack *c, int b) {
    const bt_resnet_pack *h = &c->host;
    return b == 0 ? c->tab.cv[0].out : c->tab.cv[h->blk[b - 1].c2].out;
}

/* Forward from input arrays X0 to the logits. */
static bt_status forward(rn_cuda_pack *c, int n, int rows, size_t X0, int train) {
    const bt_resnet_pack *h = &c->host;
    const bt_rn_conv *cv = h->conv;
    const conv_tab *ct = c->tab.cv;
    BT_TRY(conv_bn(c, n, rows, 0, X0, ct[0].out, train));
    BT_TRY(relu(c, n, (int64_t)rows * (int64_t)cv[0].out_n, ct[0].out));
    for (int b = 0; b < h->n_blocks; b++) {
        const bt_rn_block *bk = &h->blk[b];
        const size_t in = block_in(c, b);
        const int64_t on = (int64_t)rows * (int64_t)cv[bk->c2].out_n;
        BT_TRY(conv_bn(c, n, rows, bk->c1, in, ct[bk->c1].out, train));
        BT_TRY(relu(c, n, (int64_t)rows * (int64_t)cv[bk->c1].out_n, ct[bk->c1].out));
        BT_TRY(conv_bn(c, n, rows, bk->c2, ct[bk->c1].out, ct[bk->c2].out, train));
        size_t sc = in;
        if (bk->cs >= 0) { /* projection into ga, free during the forward pass */
            BT_TRY(conv_bn(c, n, rows, bk->cs, in, c->tab.ga, train));
            sc = c->tab.ga;
        }
        BT_TRY(add(c, n, on, ct[bk->c2].out, sc));
        BT_TRY(relu(c, n, on, ct[bk->c2].out));
    }
    const int last = h->blk[h->n_blocks - 1].c2;
    BT_TRY(bt_nn_gap_fwd_cuda(n, rows, cv[last].oh * cv[last].ow, h->feat, CFP(ct[last].out),
                              FP(c->tab.pool), c->core.stream));
    return bt_nn_linear_fwd_cuda(c->core.blas, n, rows, h->feat, h->K, CFP(c->tab.pool),
                                 CFP(c->tab.fcw), CFP(c->tab.fcb), FP(c->tab.logit));
}

/* Backward through batch norm and convolution of unit u: dY holds the gradient at the bn output,
 * dBN receives the one at the bn input (may be dY), dX the one at the conv input (skipped when
 * has_dx is 0); weight gradients land in the slots' blocks. */
static bt_status conv_bn_bwd(rn_cuda_pack *c, int n, int rows, int u, size_t X, size_t dY,
                             size_t dBN, size_t dX, int has_dx) {
    const bt_resnet_pack *h = &c->host;
    const bt_rn_conv *cv = &h->conv[u];
    const conv_tab *ct = &c->tab.cv[u];
    const bt_nn_conv2d_shape sh = conv_shape(h, u, rows);
    const int co = sh.c_out, m = rows * cv->oh * cv->ow;
    BT_TRY(bt_nn_bn_bwd_cuda(n, m, co, CFP(ct->xh), CFP(ct->is), CFP(ct->gam), CFP(dY), FP(dBN),
                             FP(ct->dgam), FP(ct->dbet), c->core.stream));
    return bt_nn_conv2d_bwd_cuda(c->core.blas, n, &sh, CFP(X), CFP(ct->W), CFP(dBN),
                                 has_dx ? FP(dX) : NULL, FP(ct->dW), NULL, c->scratch,
                                 c->scratch_bytes);
}

/* Mini-batch b (inputs and labels already in x0 and lab): forward, loss, divergence check,
 * backward, one optimizer update of every position still alive (bt_resnet_fwd_bwd and
 * bt_nn_run_epoch's batch body). */
static bt_status train_batch(rn_cuda_pack *c, int n, int rows) {
    const bt_resnet_pack *h = &c->host;
    const bt_rn_conv *cv = h->conv;
    const step_tab *T = &c->tab;
    const conv_tab *ct = T->cv;
    BT_TRY(forward(c, n, rows, T->x0, 1));
    BT_TRY(bt_nn_softmax_ce_cuda(n, rows, h->K, CFP(T->logit), CIP(T->lab), c->core.smooth,
                                 c->core.loss, FP(T->dlogit), c->core.stream));
    BT_TRY(bt_nn_cuda_core_loss_check(&c->core, n, rows));
    BT_TRY(bt_nn_linear_bwd_cuda(c->core.blas, n, rows, h->feat, h->K, CFP(T->pool), CFP(T->fcw),
                                 CFP(T->dlogit), FP(T->dpool), FP(T->dfcw), FP(T->dfcb)));
    const int last = h->blk[h->n_blocks - 1].c2;
    size_t ga = T->ga, gb = T->gb;
    const size_t gc = T->gc;
    BT_TRY(bt_nn_gap_bwd_cuda(n, rows, cv[last].oh * cv[last].ow, h->feat, CFP(T->dpool), FP(ga),
                              c->core.stream));
    for (int b = h->n_blocks - 1; b >= 0; b--) {
        const bt_rn_block *bk = &h->blk[b];
        const size_t in = block_in(c, b);
        const int64_t in_n = (int64_t)rows * (int64_t)cv[bk->c1].in_n;
        const int64_t on = (int64_t)rows * (int64_t)cv[bk->c2].out_n;
        const int64_t mid = (int64_t)rows * (int64_t)cv[bk->c1].out_n;
        BT_TRY(relu_bwd(c, n, on, ga, ct[bk->c2].out));
        /* the main path reads ga into gb; ga stays for the shortcut */
        BT_TRY(conv_bn_bwd(c, n, rows, bk->c2, ct[bk->c1].out, ga, gb, gc, 1));
        BT_TRY(relu_bwd(c, n, mid, gc, ct[bk->c1].out));
        BT_TRY(conv_bn_bwd(c, n, rows, bk->c1, in, gc, gc, gb, 1));
        size_t dsc = ga;
        if (bk->cs >= 0) {
            BT_TRY(conv_bn_bwd(c, n, rows, bk->cs, in, ga, ga, gc, 1));
            dsc = gc;
        }
        BT_TRY(add(c, n, in_n, gb, dsc));
        const size_t t = ga;
        ga = gb;
        gb = t;
    }
    BT_TRY(relu_bwd(c, n, (int64_t)rows * (int64_t)cv[0].out_n, ga, ct[0].out));
    BT_TRY(conv_bn_bwd(c, n, rows, 0, T->x0, ga, ga, 0, 0));
    return bt_nn_cuda_core_optim_step(&c->core, n);
}

/* Gathers mini-batch b of the n positions on the host (the CPU's crop, flip and normalization,
 * keyed by each slot's epoch and the image's place in the epoch) and enqueues its upload. The
 * staging buffer is reused once the previous batch's upload has run (the event). */
static bt_status stage_batch(rn_cuda_pack *c, int n, int64_t b, int rows) {
    const bt_resnet_pack *h = &c->host;
    const size_t B = (size_t)h->B, in_n = h->in_n, nf = (size_t)h->sh->n_features;
    const size_t xs = S(B * in_n);
    CU(cudaEventSynchronize(c->staged));
    const int64_t items = (int64_t)n * rows;
#pragma omp parallel for schedule(static) num_threads(h->threads)
    for (int64_t it = 0; it < items; it++) {
        const int i = (int)(it / rows), r = (int)(it % rows);
        const bt_nn_slot *s = h->slots[c->core.slot_of[i]];
        const int32_t row = s->perm[b * h->B + r];
        bt_resnet_gather(h, h->x_train + (size_t)row * nf, s,
                         (uint32_t)b * (uint32_t)h->B + (uint32_t)r,
                         c->h_x0 + (size_t)i * xs + (size_t)r * in_n);
        c->h_lab[(size_t)i * B + (size_t)r] = h->sh->c_train[row];
    }
    /* positions keep their strides; the rows past `rows` of the last batch are not read */
    CU(cudaMemcpyAsync(c->x0, c->h_x0, ((size_t)(n - 1) * xs + (size_t)rows * in_n) * sizeof(float),
                       cudaMemcpyHostToDevice, c->core.stream));
    CU(cudaMemcpyAsync(c->lab, c->h_lab, ((size_t)(n - 1) * B + (size_t)rows) * sizeof(int32_t),
                       cudaMemcpyHostToDevice, c->core.stream));
    CU(cudaEventRecord(c->staged, c->core.stream));
    return BT_STATUS_OK;
}

/* Validation sums of positions [0, n) in c->core.acc: eval-mode forward in chunks of B images. */
static bt_status evaluate(rn_cuda_pack *c, int n) {
    const bt_resnet_pack *h = &c->host;
    for (int64_t ch = 0; ch < c->core.n_chunks; ch++) {
        const int64_t c0 = ch * h->B;
        const int rows = (int)(c->core.nv - c0 < h->B ? c->core.nv - c0 : h->B);
        BT_TRY(forward(c, n, rows, c->tab.eval_x + (size_t)ch * (size_t)n, 0));
        BT_TRY(bt_nn_class_metrics_cuda(n, rows, h->K, CFP(c->tab.logit), c->valid_c + c0,
                                        c->core.acc, c->core.stream));
    }
    return BT_STATUS_OK;
}

const char *bt_resnet_cuda_note(const bt_pack *p);
const char *bt_resnet_cuda_note(const bt_pack *p) {
    const rn_cuda_pack *c = (const rn_cuda_pack *)p;
    return c->core.math_note[0] ? c->core.math_note : NULL;
}

bt_status bt_resnet_cuda_step(bt_pack *p, const int *slots, int n_slots);
bt_status bt_resnet_cuda_step(bt_pack *p, const int *slots, int n_slots) {
    rn_cuda_pack *c = cp_of(p);
    bt_resnet_pack *h = &c->host;
    CU(cudaSetDevice(c->core.device));
    int n = 0;
    BT_TRY(bt_nn_cuda_core_positions(&c->core, h->slots, slots, n_slots, &n));
    if (n == 0) return BT_STATUS_OK;
    BT_TRY(bt_nn_cuda_core_epoch_begin(&c->core, h->slots, n));
    BT_TRY(build_tab(c, n));
    const int64_t N = c->core.N, B = h->B, n_batches = (N + B - 1) / B;
    for (int64_t b = 0; b < n_batches; b++) {
        const int rows = (int)(N - b * B < B ? N - b * B : B);
        BT_TRY(stage_batch(c, n, b, rows));
        BT_TRY(train_batch(c, n, rows));
    }
    BT_TRY(evaluate(c, n));
    return bt_nn_cuda_core_epoch_end(&c->core, h->slots, n, 0);
}

/* ---- sizing -----------------------------------------------------------------------------------
 */

/* Device bytes of one slot: its blocks (w, g, m, v, running statistics) and its position's
 * activations (pack_buffers), plus its pointer-table entries. */
static double slot_bytes(const bt_resnet_pack *h, int64_t n_chunks) {
    double img = (double)h->in_n + 4.0 * (double)h->max_n + 2.0 * h->feat + 2.0 * h->K + 1.0;
    double per_pos = 0;
    for (int u = 0; u < h->n_conv; u++) {
        img += (double)h->conv[u].out_n; /* xh */
        per_pos += (double)h->conv[u].sh.c_out;
    }
    img += (double)h->conv[0].out_n;
    for (int b = 0; b < h->n_blocks; b++)
        img += (double)(h->conv[h->blk[b].c1].out_n + h->conv[h->blk[b].c2].out_n);
    return 4.0 * (4.0 * (double)h->n_params + (double)h->n_run) + 4.0 * (double)h->B * img +
           4.0 * per_pos + 64.0 + 8.0 * (19.0 + 11.0 * h->n_conv + (double)n_chunks);
}

int bt_resnet_cuda_pack_capacity(const bt_model_data *data, const bt_hparams *shape_hp, int wanted);
int bt_resnet_cuda_pack_capacity(const bt_model_data *data, const bt_hparams *shape_hp,
                                 int wanted) {
    if (wanted < 1) return 1;
    if (!data->shared) return wanted;
    bt_resnet_pack *h = calloc(1, sizeof *h);
    if (!h) return wanted;
    int cap = wanted;
    /* data->shared is prepared: layout_init only reads it (and the train set's channel sums) */
    if (bt_resnet_layout_init(h, (bt_model_data *)(uintptr_t)data, shape_hp->v, 1) ==
        BT_STATUS_OK) {
        const int64_t nv = h->sh->n_valid, n_chunks = (nv + h->B - 1) / h->B;
        /* per pack: the normalized validation set and the im2col scratch (at most the budget,
         * at least one slot's worth) */
        double one = (double)scratch_for(h, 1);
        double fixed = 4.0 * (double)h->in_n * (double)nv + 4.0 * (double)nv +
                       (one > (double)SCRATCH_BUDGET ? one : (double)SCRATCH_BUDGET);
        cap = bt_nn_cuda_capacity_fit(wanted, fixed, slot_bytes(h, n_chunks));
    }
    bt_resnet_pack_free((bt_pack *)h);
    return cap;
}

#endif
