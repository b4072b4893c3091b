/* The mlp pack on a CUDA stream: the same trials, slots and epochs as pack.c, trained by the CUDA
 * twins of the nn kernels (kernels/cuda/nn_*.cu) with the slots' parameters, gradients and
 * optimizer state in device memory. The host keeps pack.c's slots (hyperparameters, key, schedule,
 * step count, metrics) and does the same per-epoch bookkeeping through mlp_host.c (shuffle,
 * learning rate, metrics); an epoch is one upload (row orders, per-slot hyperparameters, a table
 * of device pointers), every mini-batch and the validation pass enqueued on the pack's stream,
 * and one download (divergence flags, step counts, loss and metric sums).
 * Built only with CUDA (BT_HAVE_CUDA); see docs/cuda.md ("NN on the GPU"). */
#include "nn.h"

#if BT_HAVE_CUDA

#include <cuda_runtime.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/cuda/check.h"
#include "../../kernels/nn_batchnorm.h"
#include "../../kernels/nn_blas.h"
#include "../../kernels/nn_dropout.h"
#include "../../kernels/nn_linear.h"
#include "../../kernels/nn_mse.h"
#include "../../kernels/nn_softmax_ce.h"
#include "../../kernels/nn_train.h"

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
    cudaFree(d->x_train); /* cudaFree(NULL) is a no-op; errors at teardown go nowhere */
    cudaFree(d->x_valid);
    cudaFree(d->c_train);
    cudaFree(d->c_valid);
    cudaFree(d->t_train);
    cudaFree(d->t_valid);
    free(d);
}

void bt_mlp_cuda_data_free(bt_model_data *data);
void bt_mlp_cuda_data_free(bt_model_data *data) {
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
    bt_nn_data_free(data);
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

static bt_status upload(void **dst, const void *src, size_t bytes) {
    BT_TRY(dalloc(dst, bytes));
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
    size_t x0, perm, lab, tgt, da, db, w, g, m, v, eval_x;
    layer_tab *l; /* D + 1 */
} step_tab;

typedef struct cuda_pack {
    bt_pack host; /* first member: pack.c's eval and slot_failed take &host as the pack */
    const dev_data *dd;
    int device; /* current at pack_init; every entry point makes it current again */
    cudaStream_t stream;
    bt_nn_blas *blas;
    int64_t P, R, N, nv, n_chunks; /* params and running stats per slot, train / valid rows */
    /* per slot (capacity blocks) */
    float *w, *g, *m, *v, *run;
    /* per position in a step's list (capacity blocks) */
    int32_t *perm;                             /* N each */
    float *x0;                                 /* B x F */
    float **z, **u, **xh, **istd, **h, **mask; /* host arrays (D + 1) of device buffers */
    float *da, *db;                            /* B x maxdim each */
    int32_t *lab;
    float *tgt;
    double *loss, *loss_sum, *acc; /* acc: 2 per position */
    int32_t *alive;
    int64_t *t;
    bt_nn_optim_hp *hp;
    uint64_t *keys;
    float *drop, *smooth;
    uint32_t *ep;
    /* the pointer table: device copy and host staging */
    void **dtab, **htab;
    size_t tab_cap;
    step_tab tab;
    /* host staging of the per-position arrays */
    int32_t *h_alive, *slot_of;
    int64_t *h_t;
    double *h_loss_sum, *h_acc;
    bt_nn_optim_hp *h_hp;
    uint64_t *h_keys;
    float *h_drop, *h_smooth;
    uint32_t *h_ep;
} cuda_pack;

static cuda_pack *cp_of(bt_pack *p) {
    return (cuda_pack *)p; /* host is the first member */
}

void bt_mlp_cuda_pack_free(bt_pack *p);
void bt_mlp_cuda_pack_free(bt_pack *p) {
    if (!p) return;
    cuda_pack *c = cp_of(p);
    if (c->stream) {
        cudaSetDevice(c->device);
        cudaStreamSynchronize(c->stream);
    }
    bt_nn_blas_free(c->blas);
    const int L = p->D + 1;
    for (int l = 0; l < L; l++) {
        if (c->z) cudaFree(c->z[l]);
        if (c->u) cudaFree(c->u[l]);
        if (c->xh) cudaFree(c->xh[l]);
        if (c->istd) cudaFree(c->istd[l]);
        if (c->h) cudaFree(c->h[l]);
        if (c->mask) cudaFree(c->mask[l]);
    }
    void *bufs[] = {c->w,  c->g,    c->m,    c->v,      c->run,      c->perm, c->x0,    c->da,
                    c->db, c->lab,  c->tgt,  c->loss,   c->loss_sum, c->acc,  c->alive, c->t,
                    c->hp, c->keys, c->drop, c->smooth, c->ep,       c->dtab};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) cudaFree(bufs[i]);
    if (c->stream) cudaStreamDestroy(c->stream);
    free(c->z);
    free(c->u);
    free(c->xh);
    free(c->istd);
    free(c->h);
    free(c->mask);
    free(c->tab.l);
    free(c->htab);
    free(c->h_alive);
    free(c->slot_of);
    free(c->h_t);
    free(c->h_loss_sum);
    free(c->h_acc);
    free(c->h_hp);
    free(c->h_keys);
    free(c->h_drop);
    free(c->h_smooth);
    free(c->h_ep);
    bt_mlp_pack_free(&c->host); /* host slots and tables, then the block itself (c == &c->host) */
}

/* Entries of the pointer table: (10 + 17 per layer) arrays of one entry per position, plus one
 * array per validation chunk for the first layer's input. */
static size_t tab_entries(const bt_pack *p, int64_t n_chunks) {
    return ((size_t)10 + (size_t)17 * (size_t)(p->D + 1) + (size_t)n_chunks) * (size_t)p->capacity;
}

static bt_status pack_buffers(cuda_pack *c) {
    bt_pack *p = &c->host;
    const size_t C = (size_t)p->capacity, B = (size_t)p->B, P = (size_t)c->P;
    const size_t R = (size_t)c->R, M = (size_t)p->maxdim, L = (size_t)p->D + 1;
    CU(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
    BT_TRY(bt_nn_blas_init(&c->blas, c->stream));
    BT_TRY(dalloc((void **)&c->w, C * P * sizeof(float)));
    BT_TRY(dalloc((void **)&c->g, C * P * sizeof(float)));
    BT_TRY(dalloc((void **)&c->m, C * P * sizeof(float)));
    BT_TRY(dalloc((void **)&c->v, C * P * sizeof(float)));
    BT_TRY(dalloc((void **)&c->run, C * R * sizeof(float)));
    BT_TRY(dalloc((void **)&c->perm, C * (size_t)c->N * sizeof(int32_t)));
    BT_TRY(dalloc((void **)&c->x0, C * B * (size_t)p->F * sizeof(float)));
    c->z = calloc(L, sizeof *c->z);
    c->u = calloc(L, sizeof *c->u);
    c->xh = calloc(L, sizeof *c->xh);
    c->istd = calloc(L, sizeof *c->istd);
    c->h = calloc(L, sizeof *c->h);
    c->mask = calloc(L, sizeof *c->mask);
    if (!c->z || !c->u || !c->xh || !c->istd || !c->h || !c->mask)
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for an mlp pack's layer tables");
    for (size_t l = 0; l < L; l++) {
        const size_t o = (size_t)p->out_dim[l];
        BT_TRY(dalloc((void **)&c->z[l], C * B * o * sizeof(float)));
        if ((int)l == p->D) continue;
        BT_TRY(dalloc((void **)&c->h[l], C * B * o * sizeof(float)));
        BT_TRY(dalloc((void **)&c->mask[l], C * B * o * sizeof(float)));
        if (!p->bn) continue;
        BT_TRY(dalloc((void **)&c->u[l], C * B * o * sizeof(float)));
        BT_TRY(dalloc((void **)&c->xh[l], C * B * o * sizeof(float)));
        BT_TRY(dalloc((void **)&c->istd[l], C * o * sizeof(float)));
    }
    BT_TRY(dalloc((void **)&c->da, C * B * M * sizeof(float)));
    BT_TRY(dalloc((void **)&c->db, C * B * M * sizeof(float)));
    BT_TRY(dalloc((void **)&c->lab, C * B * sizeof(int32_t)));
    BT_TRY(dalloc((void **)&c->tgt, C * B * sizeof(float)));
    BT_TRY(dalloc((void **)&c->loss, C * sizeof(double)));
    BT_TRY(dalloc((void **)&c->loss_sum, C * sizeof(double)));
    BT_TRY(dalloc((void **)&c->acc, 2 * C * sizeof(double)));
    BT_TRY(dalloc((void **)&c->alive, C * sizeof(int32_t)));
    BT_TRY(dalloc((void **)&c->t, C * sizeof(int64_t)));
    BT_TRY(dalloc((void **)&c->hp, C * sizeof(bt_nn_optim_hp)));
    BT_TRY(dalloc((void **)&c->keys, C * sizeof(uint64_t)));
    BT_TRY(dalloc((void **)&c->drop, C * sizeof(float)));
    BT_TRY(dalloc((void **)&c->smooth, C * sizeof(float)));
    BT_TRY(dalloc((void **)&c->ep, C * sizeof(uint32_t)));
    c->tab_cap = tab_entries(p, c->n_chunks);
    BT_TRY(dalloc((void **)&c->dtab, c->tab_cap * sizeof(void *)));
    c->htab = malloc(c->tab_cap * sizeof *c->htab);
    c->tab.l = calloc(L, sizeof *c->tab.l);
    c->h_alive = malloc(C * sizeof *c->h_alive);
    c->slot_of = malloc(C * sizeof *c->slot_of);
    c->h_t = malloc(C * sizeof *c->h_t);
    c->h_loss_sum = malloc(C * sizeof *c->h_loss_sum);
    c->h_acc = malloc(2 * C * sizeof *c->h_acc);
    c->h_hp = malloc(C * sizeof *c->h_hp);
    c->h_keys = malloc(C * sizeof *c->h_keys);
    c->h_drop = malloc(C * sizeof *c->h_drop);
    c->h_smooth = malloc(C * sizeof *c->h_smooth);
    c->h_ep = malloc(C * sizeof *c->h_ep);
    if (!c->htab || !c->tab.l || !c->h_alive || !c->slot_of || !c->h_t || !c->h_loss_sum ||
        !c->h_acc || !c->h_hp || !c->h_keys || !c->h_drop || !c->h_smooth || !c->h_ep)
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for an mlp pack's host staging");
    return BT_STATUS_OK;
}

bt_status bt_mlp_cuda_pack_init(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                                int capacity);
bt_status bt_mlp_cuda_pack_init(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                                int capacity) {
    *out = NULL;
    if (capacity > 65535)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "mlp on cuda: pack capacity %d exceeds 65535",
                       capacity);
    cuda_pack *c = calloc(1, sizeof *c);
    BT_CHECK_ALLOC(c);
    bt_pack *p = &c->host;
    bt_status st = bt_mlp_layout_init(p, data, shape_hp, capacity);
    if (st == BT_STATUS_OK && cudaGetDevice(&c->device) != cudaSuccess) {
        cudaGetLastError();
        st = BT_FAIL(BT_STATUS_INTERNAL, "mlp on cuda: no usable CUDA device");
    }
    if (st == BT_STATUS_OK) {
        const bt_nn_shared *sh = p->sh;
        c->P = p->n_params;
        c->R = (int64_t)2 * p->H * p->D;
        c->N = sh->n_train;
        c->nv = sh->n_valid;
        c->n_chunks = (c->nv + p->B - 1) / p->B;
        st = dev_data_get(data, &c->dd);
    }
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
    CU(cudaSetDevice(c->device));
    /* the host slot: hyperparameters, key, schedule and the initial weights (pack.c's init) */
    BT_TRY(bt_mlp_slot_start(p, slot, hp, key));
    const bt_mlp_slot *s = p->slots[slot];
    const size_t P = (size_t)c->P, R = (size_t)c->R, o = (size_t)slot;
    CU(cudaMemcpyAsync(c->w + o * P, s->w, P * sizeof(float), cudaMemcpyHostToDevice, c->stream));
    CU(cudaMemsetAsync(c->m + o * P, 0, P * sizeof(float), c->stream));
    CU(cudaMemsetAsync(c->v + o * P, 0, P * sizeof(float), c->stream));
    if (R)
        CU(cudaMemcpyAsync(c->run + o * R, s->run, R * sizeof(float), cudaMemcpyHostToDevice,
                           c->stream));
    CU(cudaStreamSynchronize(c->stream)); /* the host slot may change after return */
    return BT_STATUS_OK;
}

bt_status bt_mlp_cuda_slot_download(bt_pack *p, int slot) {
    cuda_pack *c = cp_of(p);
    if (slot < 0 || slot >= p->capacity || !p->slots[slot])
        return BT_FAIL(BT_STATUS_INTERNAL, "download: slot %d is not started", slot);
    CU(cudaSetDevice(c->device));
    bt_mlp_slot *s = p->slots[slot];
    const size_t P = (size_t)c->P, R = (size_t)c->R, o = (size_t)slot;
    CU(cudaStreamSynchronize(c->stream));
    CU(cudaMemcpy(s->w, c->w + o * P, P * sizeof(float), cudaMemcpyDeviceToHost));
    CU(cudaMemcpy(s->m, c->m + o * P, P * sizeof(float), cudaMemcpyDeviceToHost));
    CU(cudaMemcpy(s->v, c->v + o * P, P * sizeof(float), cudaMemcpyDeviceToHost));
    if (R) CU(cudaMemcpy(s->run, c->run + o * R, R * sizeof(float), cudaMemcpyDeviceToHost));
    return BT_STATUS_OK;
}

/* ---- the pointer table ---------------------------------------------------------------------- */

/* Appends n entries base + i * stride (bytes); returns the array's offset in the table. */
static size_t put_pos(cuda_pack *c, size_t *at, const void *base, size_t stride, int n) {
    size_t o = *at;
    for (int i = 0; i < n; i++)
        c->htab[o + (size_t)i] = (char *)(uintptr_t)base + (size_t)i * stride;
    *at += (size_t)n;
    return o;
}

/* Appends n entries base + (slot of position i) * per_slot + off (floats). */
static size_t put_slot(cuda_pack *c, size_t *at, float *base, size_t per_slot, int64_t off, int n) {
    size_t o = *at;
    for (int i = 0; i < n; i++)
        c->htab[o + (size_t)i] = base + (size_t)c->slot_of[i] * per_slot + (size_t)off;
    *at += (size_t)n;
    return o;
}

/* Builds and uploads the table for the n positions of this step (c->slot_of[0..n)). */
static bt_status build_tab(cuda_pack *c, int n) {
    bt_pack *p = &c->host;
    const size_t B = (size_t)p->B, F = (size_t)p->F, M = (size_t)p->maxdim, P = (size_t)c->P;
    const size_t R = (size_t)c->R, fs = sizeof(float);
    step_tab *T = &c->tab;
    size_t at = 0;
    T->x0 = put_pos(c, &at, c->x0, B * F * fs, n);
    T->perm = put_pos(c, &at, c->perm, (size_t)c->N * sizeof(int32_t), n);
    T->lab = put_pos(c, &at, c->lab, B * sizeof(int32_t), n);
    T->tgt = put_pos(c, &at, c->tgt, B * fs, n);
    T->da = put_pos(c, &at, c->da, B * M * fs, n);
    T->db = put_pos(c, &at, c->db, B * M * fs, n);
    T->w = put_slot(c, &at, c->w, P, 0, n);
    T->g = put_slot(c, &at, c->g, P, 0, n);
    T->m = put_slot(c, &at, c->m, P, 0, n);
    T->v = put_slot(c, &at, c->v, P, 0, n);
    for (int l = 0; l <= p->D; l++) {
        layer_tab *lt = &T->l[l];
        const size_t in = (size_t)p->in_dim[l], o = (size_t)p->out_dim[l];
        memset(lt, 0, sizeof *lt);
        lt->X = l == 0 ? T->x0 : put_pos(c, &at, c->h[l - 1], B * in * fs, n);
        lt->W = put_slot(c, &at, c->w, P, p->w_off[l], n);
        lt->b = put_slot(c, &at, c->w, P, p->b_off[l], n);
        lt->Z = put_pos(c, &at, c->z[l], B * o * fs, n);
        lt->dW = put_slot(c, &at, c->g, P, p->w_off[l], n);
        lt->db = put_slot(c, &at, c->g, P, p->b_off[l], n);
        if (l == p->D) break;
        lt->h = put_pos(c, &at, c->h[l], B * o * fs, n);
        lt->mask = put_pos(c, &at, c->mask[l], B * o * fs, n);
        if (!p->bn) continue;
        lt->gam = put_slot(c, &at, c->w, P, p->gam_off[l], n);
        lt->bet = put_slot(c, &at, c->w, P, p->bet_off[l], n);
        lt->dgam = put_slot(c, &at, c->g, P, p->gam_off[l], n);
        lt->dbet = put_slot(c, &at, c->g, P, p->bet_off[l], n);
        lt->rm = put_slot(c, &at, c->run, R, (int64_t)2 * l * p->H, n);
        lt->rv = put_slot(c, &at, c->run, R, (int64_t)(2 * l + 1) * p->H, n);
        lt->xh = put_pos(c, &at, c->xh[l], B * o * fs, n);
        lt->is = put_pos(c, &at, c->istd[l], o * fs, n);
        lt->u = put_pos(c, &at, c->u[l], B * o * fs, n);
    }
    /* validation chunk ch: every position reads the same rows */
    T->eval_x = at;
    for (int64_t ch = 0; ch < c->n_chunks; ch++)
        put_pos(c, &at, c->dd->x_valid + (size_t)ch * B * F, 0, n);
    if (at > c->tab_cap)
        return BT_FAIL(BT_STATUS_INTERNAL, "mlp on cuda: pointer table overflow (%zu > %zu)", at,
                       c->tab_cap);
    CU(cudaMemcpyAsync(c->dtab, c->htab, at * sizeof(void *), cudaMemcpyHostToDevice, c->stream));
    return BT_STATUS_OK;
}

/* Device pointer arrays at table offset o. */
#define FP(o) ((float *const *)(c->dtab + (o)))
#define CFP(o) ((const float *const *)(c->dtab + (o)))
#define IP(o) ((int32_t *const *)(c->dtab + (o)))
#define CIP(o) ((const int32_t *const *)(c->dtab + (o)))

/* ---- one epoch ------------------------------------------------------------------------------ */

/* Forward pass of positions [0, n) on `rows` rows: the training batch in x0 (train: batch
 * statistics, running-stat updates, dropout keyed by (epoch, step, layer)) or validation chunk
 * `chunk` (eval mode). Logits land in z[D]. */
static bt_status forward(cuda_pack *c, int n, int rows, int train, uint32_t step, int64_t chunk) {
    bt_pack *p = &c->host;
    const step_tab *T = &c->tab;
    void *st = c->stream;
    for (int l = 0; l <= p->D; l++) {
        const layer_tab *lt = &T->l[l];
        const int in = p->in_dim[l], o = p->out_dim[l];
        const size_t X = l == 0 && !train ? T->eval_x + (size_t)chunk * (size_t)n : lt->X;
        BT_TRY(bt_nn_linear_fwd_cuda(c->blas, n, rows, in, o, CFP(X), CFP(lt->W), CFP(lt->b),
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
    void *st = c->stream;
    const int64_t first = b * p->B;
    BT_TRY(
        bt_nn_gather_f32_cuda(n, rows, p->F, c->dd->x_train, CIP(T->perm), first, FP(T->x0), st));
    if (sh->regression)
        BT_TRY(
            bt_nn_gather_f32_cuda(n, rows, 1, c->dd->t_train, CIP(T->perm), first, FP(T->tgt), st));
    else
        BT_TRY(
            bt_nn_gather_i32_cuda(n, rows, 1, c->dd->c_train, CIP(T->perm), first, IP(T->lab), st));
    BT_TRY(forward(c, n, rows, 1, (uint32_t)b, 0));
    const int D = p->D;
    if (sh->regression)
        BT_TRY(bt_nn_mse_cuda(n, rows, CFP(T->l[D].Z), CFP(T->tgt), c->loss, FP(T->da), st));
    else
        BT_TRY(bt_nn_softmax_ce_cuda(n, rows, p->K, CFP(T->l[D].Z), CIP(T->lab), c->smooth, c->loss,
                                     FP(T->da), st));
    BT_TRY(bt_nn_loss_check_cuda(n, rows, c->loss, c->alive, c->t, c->loss_sum, st));
    size_t gc = T->da, gn = T->db;
    for (int l = D; l >= 0; l--) {
        const layer_tab *lt = &T->l[l];
        const int in = p->in_dim[l], o = p->out_dim[l];
        BT_TRY(bt_nn_linear_bwd_cuda(c->blas, n, rows, in, o, CFP(lt->X), CFP(lt->W), CFP(gc),
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
    return bt_nn_optim_step_cuda(n, c->P, c->hp, c->t, FP(T->w), CFP(T->g), FP(T->m), FP(T->v),
                                 c->alive, st);
}

/* Validation sums of positions [0, n) in c->acc: eval-mode forward in chunks of B rows. */
static bt_status evaluate(cuda_pack *c, int n) {
    bt_pack *p = &c->host;
    const bt_nn_shared *sh = p->sh;
    const size_t Z = c->tab.l[p->D].Z;
    for (int64_t ch = 0; ch < c->n_chunks; ch++) {
        const int64_t c0 = ch * p->B;
        const int rows = (int)(c->nv - c0 < p->B ? c->nv - c0 : p->B);
        BT_TRY(forward(c, n, rows, 0, 0, ch));
        if (sh->regression)
            BT_TRY(bt_nn_reg_metrics_cuda(n, rows, CFP(Z), c->dd->t_valid + c0, sh->y_mean,
                                          sh->y_std, c->acc, c->stream));
        else
            BT_TRY(bt_nn_class_metrics_cuda(n, rows, p->K, CFP(Z), c->dd->c_valid + c0, c->acc,
                                            c->stream));
    }
    return BT_STATUS_OK;
}

bt_status bt_mlp_cuda_step(bt_pack *p, const int *slots, int n_slots);
bt_status bt_mlp_cuda_step(bt_pack *p, const int *slots, int n_slots) {
    cuda_pack *c = cp_of(p);
    CU(cudaSetDevice(c->device));
    /* the started, not failed slots of the list, in list order */
    int n = 0;
    for (int i = 0; i < n_slots; i++) {
        int sl = slots[i];
        if (sl < 0 || sl >= p->capacity || !p->slots[sl])
            return BT_FAIL(BT_STATUS_INTERNAL, "step: slot %d is not started", sl);
        if (!p->slots[sl]->failed) {
            if (n >= p->capacity)
                return BT_FAIL(BT_STATUS_INTERNAL, "step: slot %d listed twice", sl);
            c->slot_of[n++] = sl;
        }
    }
    if (n == 0) return BT_STATUS_OK;
    const int64_t N = c->N;
    cudaStream_t st = c->stream;
    for (int i = 0; i < n; i++) {
        bt_mlp_slot *s = p->slots[c->slot_of[i]];
        bt_mlp_epoch_begin(s, N); /* mlp_host.c: the CPU's shuffle and learning rate */
        /* pageable source: cudaMemcpyAsync returns once the bytes are staged, so s->perm may
         * change afterwards */
        CU(cudaMemcpyAsync(c->perm + (size_t)i * (size_t)N, s->perm, (size_t)N * sizeof(int32_t),
                           cudaMemcpyHostToDevice, st));
        c->h_hp[i] = s->opt;
        c->h_t[i] = s->t;
        c->h_keys[i] = s->key;
        c->h_drop[i] = s->dropout;
        c->h_smooth[i] = s->smoothing;
        c->h_ep[i] = (uint32_t)s->epoch;
        c->h_alive[i] = 1;
        c->h_loss_sum[i] = 0.0;
    }
    const size_t sn = (size_t)n;
    CU(cudaMemcpyAsync(c->hp, c->h_hp, sn * sizeof *c->h_hp, cudaMemcpyHostToDevice, st));
    CU(cudaMemcpyAsync(c->t, c->h_t, sn * sizeof *c->h_t, cudaMemcpyHostToDevice, st));
    CU(cudaMemcpyAsync(c->keys, c->h_keys, sn * sizeof *c->h_keys, cudaMemcpyHostToDevice, st));
    CU(cudaMemcpyAsync(c->drop, c->h_drop, sn * sizeof *c->h_drop, cudaMemcpyHostToDevice, st));
    CU(cudaMemcpyAsync(c->smooth, c->h_smooth, sn * sizeof *c->h_smooth, cudaMemcpyHostToDevice,
                       st));
    CU(cudaMemcpyAsync(c->ep, c->h_ep, sn * sizeof *c->h_ep, cudaMemcpyHostToDevice, st));
    CU(cudaMemcpyAsync(c->alive, c->h_alive, sn * sizeof *c->h_alive, cudaMemcpyHostToDevice, st));
    CU(cudaMemcpyAsync(c->loss_sum, c->h_loss_sum, sn * sizeof *c->h_loss_sum,
                       cudaMemcpyHostToDevice, st));
    CU(cudaMemsetAsync(c->acc, 0, 2 * sn * sizeof(double), st));
    BT_TRY(build_tab(c, n));
    const int64_t B = p->B, n_batches = (N + B - 1) / B;
    for (int64_t b = 0; b < n_batches; b++)
        BT_TRY(train_batch(c, n, b, (int)(N - b * B < B ? N - b * B : B)));
    BT_TRY(evaluate(c, n));
    CU(cudaMemcpyAsync(c->h_alive, c->alive, sn * sizeof *c->h_alive, cudaMemcpyDeviceToHost, st));
    CU(cudaMemcpyAsync(c->h_t, c->t, sn * sizeof *c->h_t, cudaMemcpyDeviceToHost, st));
    CU(cudaMemcpyAsync(c->h_loss_sum, c->loss_sum, sn * sizeof *c->h_loss_sum,
                       cudaMemcpyDeviceToHost, st));
    CU(cudaMemcpyAsync(c->h_acc, c->acc, 2 * sn * sizeof *c->h_acc, cudaMemcpyDeviceToHost, st));
    CU(cudaStreamSynchronize(st));
    const double nv = (double)c->nv;
    for (int i = 0; i < n; i++) {
        bt_mlp_slot *s = p->slots[c->slot_of[i]];
        s->t = c->h_t[i];
        if (!c->h_alive[i]) { /* diverged in this epoch: leaves it, as on the CPU */
            s->failed = 1;
            continue;
        }
        s->epoch++;
        s->train_loss = c->h_loss_sum[i] / (double)N;
        bt_mlp_metrics_finish(s, p->sh->regression, &c->h_acc[2 * i], nv);
    }
    return BT_STATUS_OK;
}

/* Device bytes of one slot (its blocks and its share of the per-position scratch). */
static double slot_bytes(const bt_pack *p) {
    double per = 4.0 * (4.0 * (double)p->n_params + 2.0 * p->H * p->D) + 4.0 * p->sh->n_train;
    double act = (double)p->F + 2.0 * p->maxdim + 2.0;
    for (int l = 0; l <= p->D; l++)
        act += (double)p->out_dim[l] * (l < p->D ? (p->bn ? 5.0 : 3.0) : 1.0);
    return per + 4.0 * (double)p->B * act + 256.0 + 8.0 * (17.0 * (p->D + 1) + 10.0);
}

int bt_mlp_cuda_pack_capacity(const bt_model_data *data, const bt_hparams *shape_hp, int wanted);
int bt_mlp_cuda_pack_capacity(const bt_model_data *data, const bt_hparams *shape_hp, int wanted) {
    if (wanted < 1) return 1;
    if (!data->shared) return wanted;
    bt_pack *p = calloc(1, sizeof *p);
    if (!p) return wanted;
    int cap = wanted;
    size_t free_b = 0, total_b = 0;
    /* data->shared is prepared: layout_init only reads it */
    if (bt_mlp_layout_init(p, (bt_model_data *)(uintptr_t)data, shape_hp, 1) == BT_STATUS_OK &&
        cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) {
        double fit = 0.8 * (double)free_b / slot_bytes(p);
        if (fit < (double)cap) cap = fit >= 1.0 ? (int)fit : 1;
    } else {
        cudaGetLastError();
    }
    bt_mlp_pack_free(p);
    return cap;
}

#endif
