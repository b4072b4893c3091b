/* The resnet pack on a CUDA stream: the same trials, slots and epochs as resnet_pack.c /
 * resnet_net.c, every layer of every slot of the pack advanced by one batched launch of the nn
 * CUDA twins (conv2d im2col + batched GEMM, batch norm, relu, residual add, pooling, linear,
 * softmax cross-entropy, the fused optimizer). The host keeps the CPU pack's layout and slots
 * (bt_resnet_layout_init, bt_resnet_slot_start: same offsets, same init) and its per-epoch
 * bookkeeping (shuffle, learning rate, metrics). Each mini-batch's input is gathered on the host
 * by the CPU's own bt_resnet_gather (crop, flip, per-channel normalization) into a pinned staging
 * buffer and uploaded, so the augmentation draws and pixels are the CPU's bit for bit.
 * Built only with CUDA (BT_HAVE_CUDA); see docs/cuda.md ("The resnet pack on the GPU"). */
#include "resnet.h"

#if BT_HAVE_CUDA

#include <cuda_runtime.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/cuda/check.h"
#include "../../kernels/nn_act.h"
#include "../../kernels/nn_batchnorm.h"
#include "../../kernels/nn_blas.h"
#include "../../kernels/nn_linear.h"
#include "../../kernels/nn_pool.h"
#include "../../kernels/nn_residual.h"
#include "../../kernels/nn_softmax_ce.h"
#include "../../kernels/nn_train.h"

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
    size_t w, g, m, v, fcw, fcb, dfcw, dfcb, eval_x;
    conv_tab *cv; /* n_conv */
} step_tab;

typedef struct rn_cuda_pack {
    bt_resnet_pack host; /* first member: resnet_pack.c's eval and slot_failed take &host */
    int device;          /* current at pack_init; every entry point makes it current again */
    cudaStream_t stream;
    cudaEvent_t staged; /* recorded after a batch's upload: the staging buffer is free again */
    bt_nn_blas *blas;
    int64_t P, R, N, nv, n_chunks; /* params and running stats per slot, train / valid rows */
    /* per slot (capacity blocks) */
    float *w, *g, *m, *v, *run;
    /* per position in a step's list (capacity blocks) */
    float *x0;                     /* B x in_n (NHWC, normalized) */
    int32_t *lab;                  /* B */
    float *z, *ga, *gb, *gc;       /* B x max_n */
    float **xh, **istd, **out;     /* host arrays (n_conv) of device buffers; out NULL for cs */
    float *pool, *dpool;           /* B x feat */
    float *logit, *dlogit;         /* B x K */
    double *loss, *loss_sum, *acc; /* acc: 2 per position */
    int32_t *alive;
    int64_t *t;
    bt_nn_optim_hp *hp;
    float *smooth;
    /* per pack */
    float *valid_x; /* nv x in_n, normalized once (no augmentation in evaluation) */
    int32_t *valid_c;
    void *scratch; /* conv im2col scratch */
    size_t scratch_bytes;
    /* the pointer table: device copy and host staging */
    void **dtab, **htab;
    size_t tab_cap;
    step_tab tab;
    /* pinned staging of a mini-batch: inputs and labels of every position */
    float *h_x0;
    int32_t *h_lab;
    /* host staging of the per-position arrays */
    int32_t *h_alive, *slot_of;
    int64_t *h_t;
    double *h_loss_sum, *h_acc;
    bt_nn_optim_hp *h_hp;
    float *h_smooth;
} rn_cuda_pack;

static rn_cuda_pack *cp_of(bt_pack *p) {
    return (rn_cuda_pack *)(void *)p; /* host is the first member */
}

void bt_resnet_cuda_pack_free(bt_pack *p);
void bt_resnet_cuda_pack_free(bt_pack *p) {
    if (!p) return;
    rn_cuda_pack *c = cp_of(p);
    bt_resnet_pack *h = &c->host;
    if (c->stream) {
        cudaSetDevice(c->device);
        cudaStreamSynchronize(c->stream);
    }
    bt_nn_blas_free(c->blas);
    for (int u = 0; u < h->n_conv; u++) {
        if (c->xh) cudaFree(c->xh[u]);
        if (c->istd) cudaFree(c->istd[u]);
        if (c->out) cudaFree(c->out[u]);
    }
    void *bufs[] = {c->w,      c->g,       c->m,        c->v,       c->run,   c->x0,    c->lab,
                    c->z,      c->ga,      c->gb,       c->gc,      c->pool,  c->dpool, c->logit,
                    c->dlogit, c->loss,    c->loss_sum, c->acc,     c->alive, c->t,     c->hp,
                    c->smooth, c->valid_x, c->valid_c,  c->scratch, c->dtab};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) cudaFree(bufs[i]);
    cudaFreeHost(c->h_x0);
    cudaFreeHost(c->h_lab);
    if (c->staged) cudaEventDestroy(c->staged);
    if (c->stream) cudaStreamDestroy(c->stream);
    free(c->xh);
    free(c->istd);
    free(c->out);
    free(c->tab.cv);
    free(c->htab);
    free(c->h_alive);
    free(c->slot_of);
    free(c->h_t);
    free(c->h_loss_sum);
    free(c->h_acc);
    free(c->h_hp);
    free(c->h_smooth);
    bt_resnet_pack_free((bt_pack *)h); /* host slots and tables, then the block itself (c == h) */
}

/* cudaMalloc that leaves no error behind when it fails: the executor retries a smaller pack, and
 * a later cudaGetLastError (the launch checks) must not report this out-of-memory. */
static bt_status dalloc(void **p, size_t bytes) {
    cudaError_t e = cudaMalloc(p, bytes ? bytes : 1);
    if (e != cudaSuccess) {
        cudaGetLastError();
        *p = NULL;
        return BT_FAIL(BT_STATUS_INTERNAL, "cudaMalloc(%zu bytes): %s (%d)", bytes,
                       cudaGetErrorString(e), (int)e);
    }
    return BT_STATUS_OK;
}

static bt_status halloc(void **p, size_t bytes) {
    cudaError_t e = cudaMallocHost(p, bytes ? bytes : 1);
    if (e != cudaSuccess) {
        cudaGetLastError();
        *p = NULL;
        return BT_FAIL(BT_STATUS_INTERNAL, "cudaMallocHost(%zu bytes): %s (%d)", bytes,
                       cudaGetErrorString(e), (int)e);
    }
    return BT_STATUS_OK;
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
    const size_t C = (size_t)h->capacity, B = (size_t)h->B, P = (size_t)c->P;
    const size_t R = (size_t)c->R, M = h->max_n, fs = sizeof(float);
    CU(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
    CU(cudaEventCreateWithFlags(&c->staged, cudaEventDisableTiming));
    BT_TRY(bt_nn_blas_init(&c->blas, c->stream));
    BT_TRY(dalloc((void **)&c->w, C * P * fs));
    BT_TRY(dalloc((void **)&c->g, C * P * fs));
    BT_TRY(dalloc((void **)&c->m, C * P * fs));
    BT_TRY(dalloc((void **)&c->v, C * P * fs));
    BT_TRY(dalloc((void **)&c->run, C * R * fs));
    BT_TRY(dalloc((void **)&c->x0, C * B * h->in_n * fs));
    BT_TRY(dalloc((void **)&c->lab, C * B * sizeof(int32_t)));
    BT_TRY(dalloc((void **)&c->z, C * B * M * fs));
    BT_TRY(dalloc((void **)&c->ga, C * B * M * fs));
    BT_TRY(dalloc((void **)&c->gb, C * B * M * fs));
    BT_TRY(dalloc((void **)&c->gc, C * B * M * fs));
    c->xh = calloc((size_t)h->n_conv, sizeof *c->xh);
    c->istd = calloc((size_t)h->n_conv, sizeof *c->istd);
    c->out = calloc((size_t)h->n_conv, sizeof *c->out);
    c->tab.cv = calloc((size_t)h->n_conv, sizeof *c->tab.cv);
    if (!c->xh || !c->istd || !c->out || !c->tab.cv)
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for a resnet pack's unit tables");
    for (int u = 0; u < h->n_conv; u++) {
        const bt_rn_conv *cv = &h->conv[u];
        BT_TRY(dalloc((void **)&c->xh[u], C * B * cv->out_n * fs));
        BT_TRY(dalloc((void **)&c->istd[u], C * (size_t)cv->sh.c_out * fs));
    }
    /* unit outputs kept for the backward pass: the stem, and both convolutions of each block
     * (a projection's output lives in ga during the forward pass, as on the CPU) */
    BT_TRY(dalloc((void **)&c->out[0], C * B * h->conv[0].out_n * fs));
    for (int b = 0; b < h->n_blocks; b++) {
        const bt_rn_block *bk = &h->blk[b];
        BT_TRY(dalloc((void **)&c->out[bk->c1], C * B * h->conv[bk->c1].out_n * fs));
        BT_TRY(dalloc((void **)&c->out[bk->c2], C * B * h->conv[bk->c2].out_n * fs));
    }
    BT_TRY(dalloc((void **)&c->pool, C * B * (size_t)h->feat * fs));
    BT_TRY(dalloc((void **)&c->dpool, C * B * (size_t)h->feat * fs));
    BT_TRY(dalloc((void **)&c->logit, C * B * (size_t)h->K * fs));
    BT_TRY(dalloc((void **)&c->dlogit, C * B * (size_t)h->K * fs));
    BT_TRY(dalloc((void **)&c->loss, C * sizeof(double)));
    BT_TRY(dalloc((void **)&c->loss_sum, C * sizeof(double)));
    BT_TRY(dalloc((void **)&c->acc, 2 * C * sizeof(double)));
    BT_TRY(dalloc((void **)&c->alive, C * sizeof(int32_t)));
    BT_TRY(dalloc((void **)&c->t, C * sizeof(int64_t)));
    BT_TRY(dalloc((void **)&c->hp, C * sizeof(bt_nn_optim_hp)));
    BT_TRY(dalloc((void **)&c->smooth, C * sizeof(float)));
    c->scratch_bytes = scratch_for(h, scratch_group(h));
    BT_TRY(dalloc(&c->scratch, c->scratch_bytes));
    c->tab_cap = tab_entries(h, c->n_chunks);
    BT_TRY(dalloc((void **)&c->dtab, c->tab_cap * sizeof(void *)));
    BT_TRY(halloc((void **)&c->h_x0, C * B * h->in_n * fs));
    BT_TRY(halloc((void **)&c->h_lab, C * B * sizeof(int32_t)));
    c->htab = malloc(c->tab_cap * sizeof *c->htab);
    c->h_alive = malloc(C * sizeof *c->h_alive);
    c->slot_of = malloc(C * sizeof *c->slot_of);
    c->h_t = malloc(C * sizeof *c->h_t);
    c->h_loss_sum = malloc(C * sizeof *c->h_loss_sum);
    c->h_acc = malloc(2 * C * sizeof *c->h_acc);
    c->h_hp = malloc(C * sizeof *c->h_hp);
    c->h_smooth = malloc(C * sizeof *c->h_smooth);
    if (!c->htab || !c->h_alive || !c->slot_of || !c->h_t || !c->h_loss_sum || !c->h_acc ||
        !c->h_hp || !c->h_smooth)
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for a resnet pack's host staging");
    return BT_STATUS_OK;
}

/* The validation images, normalized by the CPU's gather (no augmentation), and their labels:
 * uploaded once per pack. */
static bt_status upload_valid(rn_cuda_pack *c) {
    bt_resnet_pack *h = &c->host;
    const size_t nv = (size_t)c->nv, in_n = h->in_n, nf = (size_t)h->sh->n_features;
    BT_TRY(dalloc((void **)&c->valid_x, (nv ? nv : 1) * in_n * sizeof(float)));
    BT_TRY(dalloc((void **)&c->valid_c, (nv ? nv : 1) * sizeof(int32_t)));
    float *tmp = malloc((nv ? nv : 1) * in_n * sizeof(float));
    if (!tmp) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory normalizing the validation set");
#pragma omp parallel for schedule(static) num_threads(h->threads)
    for (int64_t r = 0; r < (int64_t)nv; r++)
        bt_resnet_gather(h, h->x_valid + (size_t)r * nf, NULL, 0, tmp + (size_t)r * in_n);
    cudaError_t e = cudaMemcpy(c->valid_x, tmp, nv * in_n * sizeof(float), cudaMemcpyHostToDevice);
    free(tmp);
    CU(e);
    CU(cudaMemcpy(c->valid_c, h->sh->c_valid, nv * sizeof(int32_t), cudaMemcpyHostToDevice));
    return BT_STATUS_OK;
}

bt_status bt_resnet_cuda_pack_init(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                                   int capacity);
bt_status bt_resnet_cuda_pack_init(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                                   int capacity) {
    *out = NULL;
    if (capacity > 65535)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "resnet on cuda: pack capacity %d exceeds 65535",
                       capacity);
    rn_cuda_pack *c = calloc(1, sizeof *c);
    BT_CHECK_ALLOC(c);
    bt_resnet_pack *h = &c->host;
    bt_status st = bt_resnet_layout_init(h, data, shape_hp->v, capacity);
    if (st == BT_STATUS_OK && cudaGetDevice(&c->device) != cudaSuccess) {
        cudaGetLastError();
        st = BT_FAIL(BT_STATUS_INTERNAL, "resnet on cuda: no usable CUDA device");
    }
    if (st == BT_STATUS_OK) {
        c->P = h->n_params;
        c->R = h->n_run;
        c->N = h->sh->n_train;
        c->nv = h->sh->n_valid;
        c->n_chunks = (c->nv + h->B - 1) / h->B;
        st = pack_buffers(c);
    }
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
    CU(cudaSetDevice(c->device));
    /* the host slot: hyperparameters, key, schedule, augmentation and the CPU's initial weights */
    BT_TRY(bt_resnet_slot_start(p, slot, hp, key));
    const bt_nn_slot *s = c->host.slots[slot];
    const size_t P = (size_t)c->P, R = (size_t)c->R, o = (size_t)slot;
    CU(cudaMemcpyAsync(c->w + o * P, s->w, P * sizeof(float), cudaMemcpyHostToDevice, c->stream));
    CU(cudaMemsetAsync(c->m + o * P, 0, P * sizeof(float), c->stream));
    CU(cudaMemsetAsync(c->v + o * P, 0, P * sizeof(float), c->stream));
    CU(cudaMemcpyAsync(c->run + o * R, s->run, R * sizeof(float), cudaMemcpyHostToDevice,
                       c->stream));
    CU(cudaStreamSynchronize(c->stream)); /* the host slot may change after return */
    return BT_STATUS_OK;
}

bt_status bt_resnet_cuda_slot_download(bt_pack *p, int slot) {
    rn_cuda_pack *c = cp_of(p);
    bt_resnet_pack *h = &c->host;
    if (slot < 0 || slot >= h->capacity || !h->slots[slot])
        return BT_FAIL(BT_STATUS_INTERNAL, "download: slot %d is not started", slot);
    CU(cudaSetDevice(c->device));
    bt_nn_slot *s = h->slots[slot];
    const size_t P = (size_t)c->P, R = (size_t)c->R, o = (size_t)slot;
    CU(cudaStreamSynchronize(c->stream));
    CU(cudaMemcpy(s->w, c->w + o * P, P * sizeof(float), cudaMemcpyDeviceToHost));
    CU(cudaMemcpy(s->m, c->m + o * P, P * sizeof(float), cudaMemcpyDeviceToHost));
    CU(cudaMemcpy(s->v, c->v + o * P, P * sizeof(float), cudaMemcpyDeviceToHost));
    CU(cudaMemcpy(s->run, c->run + o * R, R * sizeof(float), cudaMemcpyDeviceToHost));
    return BT_STATUS_OK;
}

/* ---- the pointer table ---------------------------------------------------------------------- */

/* Appends n entries base + i * stride (bytes); returns the array's offset in the table. */
static size_t put_pos(rn_cuda_pack *c, size_t *at, const void *base, size_t stride, int n) {
    size_t o = *at;
    for (int i = 0; i < n; i++)
        c->htab[o + (size_t)i] = (char *)(uintptr_t)base + (size_t)i * stride;
    *at += (size_t)n;
    return o;
}

/* Appends n entries base + (slot of position i) * per_slot + off (floats). */
static size_t put_slot(rn_cuda_pack *c, size_t *at, float *base, size_t per_slot, int64_t off,
                       int n) {
    size_t o = *at;
    for (int i = 0; i < n; i++)
        c->htab[o + (size_t)i] = base + (size_t)c->slot_of[i] * per_slot + (size_t)off;
    *at += (size_t)n;
    return o;
}

/* Builds and uploads the table for the n positions of this step (c->slot_of[0..n)). */
static bt_status build_tab(rn_cuda_pack *c, int n) {
    bt_resnet_pack *h = &c->host;
    const size_t B = (size_t)h->B, M = h->max_n, P = (size_t)c->P, R = (size_t)c->R;
    const size_t fs = sizeof(float), F = (size_t)h->feat, K = (size_t)h->K;
    step_tab *T = &c->tab;
    size_t at = 0;
    T->x0 = put_pos(c, &at, c->x0, B * h->in_n * fs, n);
    T->lab = put_pos(c, &at, c->lab, B * sizeof(int32_t), n);
    T->z = put_pos(c, &at, c->z, B * M * fs, n);
    T->ga = put_pos(c, &at, c->ga, B * M * fs, n);
    T->gb = put_pos(c, &at, c->gb, B * M * fs, n);
    T->gc = put_pos(c, &at, c->gc, B * M * fs, n);
    T->pool = put_pos(c, &at, c->pool, B * F * fs, n);
    T->dpool = put_pos(c, &at, c->dpool, B * F * fs, n);
    T->logit = put_pos(c, &at, c->logit, B * K * fs, n);
    T->dlogit = put_pos(c, &at, c->dlogit, B * K * fs, n);
    T->w = put_slot(c, &at, c->w, P, 0, n);
    T->g = put_slot(c, &at, c->g, P, 0, n);
    T->m = put_slot(c, &at, c->m, P, 0, n);
    T->v = put_slot(c, &at, c->v, P, 0, n);
    T->fcw = put_slot(c, &at, c->w, P, h->fc_w, n);
    T->fcb = put_slot(c, &at, c->w, P, h->fc_b, n);
    T->dfcw = put_slot(c, &at, c->g, P, h->fc_w, n);
    T->dfcb = put_slot(c, &at, c->g, P, h->fc_b, n);
    for (int u = 0; u < h->n_conv; u++) {
        const bt_rn_conv *cv = &h->conv[u];
        conv_tab *ct = &T->cv[u];
        const int64_t co = cv->sh.c_out;
        ct->W = put_slot(c, &at, c->w, P, cv->w_off, n);
        ct->dW = put_slot(c, &at, c->g, P, cv->w_off, n);
        ct->gam = put_slot(c, &at, c->w, P, cv->gam_off, n);
        ct->bet = put_slot(c, &at, c->w, P, cv->bet_off, n);
        ct->dgam = put_slot(c, &at, c->g, P, cv->gam_off, n);
        ct->dbet = put_slot(c, &at, c->g, P, cv->bet_off, n);
        ct->rm = put_slot(c, &at, c->run, R, cv->run_off, n);
        ct->rv = put_slot(c, &at, c->run, R, cv->run_off + co, n);
        ct->xh = put_pos(c, &at, c->xh[u], B * cv->out_n * fs, n);
        ct->is = put_pos(c, &at, c->istd[u], (size_t)co * fs, n);
        ct->out = c->out[u] ? put_pos(c, &at, c->out[u], B * cv->out_n * fs, n) : 0;
    }
    /* validation chunk ch: every position reads the same images */
    T->eval_x = at;
    for (int64_t ch = 0; ch < c->n_chunks; ch++)
        put_pos(c, &at, c->valid_x + (size_t)ch * B * h->in_n, 0, n);
    if (at > c->tab_cap)
        return BT_FAIL(BT_STATUS_INTERNAL, "resnet on cuda: pointer table overflow (%zu > %zu)", at,
                       c->tab_cap);
    CU(cudaMemcpyAsync(c->dtab, c->htab, at * sizeof(void *), cudaMemcpyHostToDevice, c->stream));
    return BT_STATUS_OK;
}

/* Device pointer arrays at table offset o. */
#define FP(o) ((float *const *)(c->dtab + (o)))
#define CFP(o) ((const float *const *)(c->dtab + (o)))
#define IP(o) ((int32_t *const *)(c->dtab + (o)))
#define CIP(o) ((const int32_t *const *)(c->dtab + (o)))

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
    BT_TRY(bt_nn_conv2d_fwd_cuda(c->blas, n, &sh, CFP(X), CFP(ct->W), NULL, FP(Z), c->scratch,
                                 c->scratch_bytes));
    if (train)
        return bt_nn_bn_train_fwd_cuda(n, m, co, BN_MOMENTUM, BN_EPS, CFP(Z), CFP(ct->gam),
                                       CFP(ct->bet), FP(ct->rm), FP(ct->rv), FP(ct->xh), FP(ct->is),
                                       FP(Y), c->stream);
    return bt_nn_bn_eval_fwd_cuda(n, m, co, BN_EPS, CFP(Z), CFP(ct->gam), CFP(ct->bet), CFP(ct->rm),
                                  CFP(ct->rv), FP(Y), c->stream);
}

static bt_status relu(rn_cuda_pack *c, int n, int64_t len, size_t Y) {
    return bt_nn_act_fwd_slots_cuda(BT_NN_ACT_RELU, n, len, CFP(Y), FP(Y), c->stream);
}

/* dY = relu'(Y) dY, Y the relu's output. */
static bt_status relu_bwd(rn_cuda_pack *c, int n, int64_t len, size_t dY, size_t Y) {
    return bt_nn_act_bwd_slots_cuda(BT_NN_ACT_RELU, n, len, CFP(Y), CFP(dY), FP(dY), c->stream);
}

/* Y += X */
static bt_status add(rn_cuda_pack *c, int n, int64_t len, size_t Y, size_t X) {
    return bt_nn_residual_fwd_cuda(n, len, CFP(Y), CFP(X), FP(Y), c->stream);
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
                              FP(c->tab.pool), c->stream));
    return bt_nn_linear_fwd_cuda(c->blas, n, rows, h->feat, h->K, CFP(c->tab.pool), CFP(c->tab.fcw),
                                 CFP(c->tab.fcb), FP(c->tab.logit));
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
                             FP(ct->dgam), FP(ct->dbet), c->stream));
    return bt_nn_conv2d_bwd_cuda(c->blas, n, &sh, CFP(X), CFP(ct->W), CFP(dBN),
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
    BT_TRY(bt_nn_softmax_ce_cuda(n, rows, h->K, CFP(T->logit), CIP(T->lab), c->smooth, c->loss,
                                 FP(T->dlogit), c->stream));
    BT_TRY(bt_nn_loss_check_cuda(n, rows, c->loss, c->alive, c->t, c->loss_sum, c->stream));
    BT_TRY(bt_nn_linear_bwd_cuda(c->blas, n, rows, h->feat, h->K, CFP(T->pool), CFP(T->fcw),
                                 CFP(T->dlogit), FP(T->dpool), FP(T->dfcw), FP(T->dfcb)));
    const int last = h->blk[h->n_blocks - 1].c2;
    size_t ga = T->ga, gb = T->gb;
    const size_t gc = T->gc;
    BT_TRY(bt_nn_gap_bwd_cuda(n, rows, cv[last].oh * cv[last].ow, h->feat, CFP(T->dpool), FP(ga),
                              c->stream));
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
    return bt_nn_optim_step_cuda(n, c->P, c->hp, c->t, FP(T->w), CFP(T->g), FP(T->m), FP(T->v),
                                 c->alive, c->stream);
}

/* Gathers mini-batch b of the n positions on the host (the CPU's crop, flip and normalization,
 * keyed by each slot's epoch and the image's place in the epoch) and enqueues its upload. The
 * staging buffer is reused once the previous batch's upload has run (the event). */
static bt_status stage_batch(rn_cuda_pack *c, int n, int64_t b, int rows) {
    const bt_resnet_pack *h = &c->host;
    const size_t B = (size_t)h->B, in_n = h->in_n, nf = (size_t)h->sh->n_features;
    CU(cudaEventSynchronize(c->staged));
    const int64_t items = (int64_t)n * rows;
#pragma omp parallel for schedule(static) num_threads(h->threads)
    for (int64_t it = 0; it < items; it++) {
        const int i = (int)(it / rows), r = (int)(it % rows);
        const bt_nn_slot *s = h->slots[c->slot_of[i]];
        const int32_t row = s->perm[b * h->B + r];
        bt_resnet_gather(h, h->x_train + (size_t)row * nf, s,
                         (uint32_t)b * (uint32_t)h->B + (uint32_t)r,
                         c->h_x0 + ((size_t)i * B + (size_t)r) * in_n);
        c->h_lab[(size_t)i * B + (size_t)r] = h->sh->c_train[row];
    }
    /* positions keep their B-image stride; the rows past `rows` of the last batch are not read */
    const size_t sn = (size_t)(n - 1) * B + (size_t)rows;
    CU(cudaMemcpyAsync(c->x0, c->h_x0, sn * in_n * sizeof(float), cudaMemcpyHostToDevice,
                       c->stream));
    CU(cudaMemcpyAsync(c->lab, c->h_lab, sn * sizeof(int32_t), cudaMemcpyHostToDevice, c->stream));
    CU(cudaEventRecord(c->staged, c->stream));
    return BT_STATUS_OK;
}

/* Validation sums of positions [0, n) in c->acc: eval-mode forward in chunks of B images. */
static bt_status evaluate(rn_cuda_pack *c, int n) {
    const bt_resnet_pack *h = &c->host;
    for (int64_t ch = 0; ch < c->n_chunks; ch++) {
        const int64_t c0 = ch * h->B;
        const int rows = (int)(c->nv - c0 < h->B ? c->nv - c0 : h->B);
        BT_TRY(forward(c, n, rows, c->tab.eval_x + (size_t)ch * (size_t)n, 0));
        BT_TRY(bt_nn_class_metrics_cuda(n, rows, h->K, CFP(c->tab.logit), c->valid_c + c0, c->acc,
                                        c->stream));
    }
    return BT_STATUS_OK;
}

bt_status bt_resnet_cuda_step(bt_pack *p, const int *slots, int n_slots);
bt_status bt_resnet_cuda_step(bt_pack *p, const int *slots, int n_slots) {
    rn_cuda_pack *c = cp_of(p);
    bt_resnet_pack *h = &c->host;
    CU(cudaSetDevice(c->device));
    /* the started, not failed slots of the list, in list order */
    int n = 0;
    for (int i = 0; i < n_slots; i++) {
        int sl = slots[i];
        if (sl < 0 || sl >= h->capacity || !h->slots[sl])
            return BT_FAIL(BT_STATUS_INTERNAL, "step: slot %d is not started", sl);
        if (!h->slots[sl]->failed) {
            if (n >= h->capacity)
                return BT_FAIL(BT_STATUS_INTERNAL, "step: slot %d listed twice", sl);
            c->slot_of[n++] = sl;
        }
    }
    if (n == 0) return BT_STATUS_OK;
    const int64_t N = c->N;
    cudaStream_t st = c->stream;
    for (int i = 0; i < n; i++) {
        bt_nn_slot *s = h->slots[c->slot_of[i]];
        bt_mlp_epoch_begin(s, N); /* mlp_host.c: the CPU's shuffle and learning rate */
        c->h_hp[i] = s->opt;
        c->h_t[i] = s->t;
        c->h_smooth[i] = s->smoothing;
        c->h_alive[i] = 1;
        c->h_loss_sum[i] = 0.0;
    }
    const size_t sn = (size_t)n;
    CU(cudaMemcpyAsync(c->hp, c->h_hp, sn * sizeof *c->h_hp, cudaMemcpyHostToDevice, st));
    CU(cudaMemcpyAsync(c->t, c->h_t, sn * sizeof *c->h_t, cudaMemcpyHostToDevice, st));
    CU(cudaMemcpyAsync(c->smooth, c->h_smooth, sn * sizeof *c->h_smooth, cudaMemcpyHostToDevice,
                       st));
    CU(cudaMemcpyAsync(c->alive, c->h_alive, sn * sizeof *c->h_alive, cudaMemcpyHostToDevice, st));
    CU(cudaMemcpyAsync(c->loss_sum, c->h_loss_sum, sn * sizeof *c->h_loss_sum,
                       cudaMemcpyHostToDevice, st));
    CU(cudaMemsetAsync(c->acc, 0, 2 * sn * sizeof(double), st));
    BT_TRY(build_tab(c, n));
    const int64_t B = h->B, n_batches = (N + B - 1) / B;
    for (int64_t b = 0; b < n_batches; b++) {
        const int rows = (int)(N - b * B < B ? N - b * B : B);
        BT_TRY(stage_batch(c, n, b, rows));
        BT_TRY(train_batch(c, n, rows));
    }
    BT_TRY(evaluate(c, n));
    CU(cudaMemcpyAsync(c->h_alive, c->alive, sn * sizeof *c->h_alive, cudaMemcpyDeviceToHost, st));
    CU(cudaMemcpyAsync(c->h_t, c->t, sn * sizeof *c->h_t, cudaMemcpyDeviceToHost, st));
    CU(cudaMemcpyAsync(c->h_loss_sum, c->loss_sum, sn * sizeof *c->h_loss_sum,
                       cudaMemcpyDeviceToHost, st));
    CU(cudaMemcpyAsync(c->h_acc, c->acc, 2 * sn * sizeof *c->h_acc, cudaMemcpyDeviceToHost, st));
    CU(cudaStreamSynchronize(st));
    for (int i = 0; i < n; i++) {
        bt_nn_slot *s = h->slots[c->slot_of[i]];
        s->t = c->h_t[i];
        if (!c->h_alive[i]) { /* diverged in this epoch: leaves it, as on the CPU */
            s->failed = 1;
            continue;
        }
        s->epoch++;
        s->train_loss = c->h_loss_sum[i] / (double)N;
        bt_nn_class_metrics_set(s, c->h_acc[2 * i], c->h_acc[2 * i + 1], c->nv);
    }
    return BT_STATUS_OK;
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
    size_t free_b = 0, total_b = 0;
    /* data->shared is prepared: layout_init only reads it (and the train set's channel sums) */
    if (bt_resnet_layout_init(h, (bt_model_data *)(uintptr_t)data, shape_hp->v, 1) ==
            BT_STATUS_OK &&
        cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) {
        const int64_t nv = h->sh->n_valid, n_chunks = (nv + h->B - 1) / h->B;
        /* per pack: the normalized validation set and the im2col scratch (at most the budget,
         * at least one slot's worth) */
        double one = (double)scratch_for(h, 1);
        double fixed = 4.0 * (double)h->in_n * (double)nv + 4.0 * (double)nv +
                       (one > (double)SCRATCH_BUDGET ? one : (double)SCRATCH_BUDGET);
        double usable = 0.8 * (double)free_b - fixed;
        double fit = usable > 0 ? usable / slot_bytes(h, n_chunks) : 0.0;
        if (fit < (double)cap) cap = fit >= 1.0 ? (int)fit : 1;
    } else {
        cudaGetLastError();
    }
    bt_resnet_pack_free((bt_pack *)h);
    return cap;
}

#endif
