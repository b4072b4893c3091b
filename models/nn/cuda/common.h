/* What the two nn packs on a CUDA stream (the mlp's mlp_pack.c, the resnet's resnet_pack.c)
 * share: checked device and pinned allocation, and the pack core -- the stream and cuBLAS handle,
 * every slot's parameter, gradient, optimizer and running-statistic blocks, the per-position
 * arrays of the fused loss check and optimizer (with their host staging), the table of device
 * pointers a step's batched launches read, and an epoch's upload of the positions' hyperparameters
 * and download of their losses, step counts and validation sums.
 * Ownership: a pack embeds one bt_nn_cuda_core; bt_nn_cuda_core_alloc allocates all of it and
 * bt_nn_cuda_core_free (safe on a partly allocated or zeroed core) frees all of it, after waiting
 * for the stream, so a pack frees its own device buffers after it. The slots (bt_nn_slot: the
 * host copies, hyperparameters, schedule, metrics) stay the CPU pack's.
 * Only for code built with BT_HAVE_CUDA; include after <cuda_runtime.h>. */
#ifndef BT_NN_CUDA_COMMON_H
#define BT_NN_CUDA_COMMON_H

#include "kernels/nn_blas.h"
#include "kernels/nn_optim.h"
#include "models/nn/nn.h"

/* cudaMalloc / cudaMallocHost that leave no error behind when they fail: the executor retries a
 * smaller pack, and a later cudaGetLastError (the launch checks) must not report this
 * out-of-memory. A size of 0 allocates 1 byte. */
bt_status bt_nn_cuda_dalloc(void **p, size_t bytes);
bt_status bt_nn_cuda_halloc(void **p, size_t bytes);

typedef struct bt_nn_cuda_core {
    int device; /* current at pack_init; every entry point makes it current again */
    cudaStream_t stream;
    bt_nn_blas *blas;
    int capacity;
    int64_t P, R, N, nv, n_chunks; /* params and running stats per slot, train / valid rows */
    /* per slot (capacity blocks) */
    float *w, *g, *m, *v, *run;
    /* per position in a step's list (capacity entries) */
    double *loss, *loss_sum, *acc; /* acc: 2 per position */
    int32_t *alive;
    int64_t *t;
    bt_nn_optim_hp *hp;
    float *smooth;
    /* the pointer table: device copy and host staging (pinned: uploaded every step); tab_w..tab_v:
     * the offsets of the positions' whole blocks (bt_nn_cuda_tab_blocks) */
    void **dtab, **htab;
    size_t tab_cap, tab_w, tab_g, tab_m, tab_v;
    /* "" or why the cuBLAS handle fell back to FP32 for good (bt_nn_cuda_tab_gemm) */
    char math_note[192];
    /* host staging of the per-position arrays (pinned, as htab); slot_of[i]: the slot at
     * position i */
    int32_t *h_alive, *slot_of;
    int64_t *h_t;
    double *h_loss_sum, *h_acc;
    bt_nn_optim_hp *h_hp;
    float *h_smooth;
} bt_nn_cuda_core;

/* An error unless `capacity` slots fit one launch's grid (at most 65535 positions); `what` names
 * the pack in errors ("mlp on cuda"). */
bt_status bt_nn_cuda_capacity_check(int capacity, const char *what);

/* The current device and the pack's sizes: P parameters and R running statistics per slot, N
 * train and nv validation rows, validation chunks of B rows. */
bt_status bt_nn_cuda_core_init(bt_nn_cuda_core *k, int64_t P, int64_t R, int64_t N, int64_t nv,
                               int64_t B, const char *what);

/* The stream, the cuBLAS handle, the blocks of `capacity` slots (after core_init) and the
 * per-position arrays, with a pointer table of tab_cap entries. */
bt_status bt_nn_cuda_core_alloc(bt_nn_cuda_core *k, int capacity, size_t tab_cap, const char *what);
void bt_nn_cuda_core_free(bt_nn_cuda_core *k);

/* A started slot's device blocks: w and run from the host slot, m and v zeroed (moments 0: a
 * fresh trial) or from the host slot too (moments 1: a restored snapshot); returns once the copies
 * are done (the host slot may change after). */
bt_status bt_nn_cuda_core_slot_upload(bt_nn_cuda_core *k, int slot, const bt_nn_slot *s,
                                      int moments);
/* The device blocks of slots[slot] back into its host copies (w, m, v, run). */
bt_status bt_nn_cuda_core_slot_download(bt_nn_cuda_core *k, bt_nn_slot *const *slots, int slot);

/* Snapshots (pack ops slot_save / slot_restore) of a GPU pack p whose host slots are `slots`: the
 * CPU family's blob (`save`) of the host slot after a download of its device blocks; or the host
 * slot restored by the CPU family's `restore` and uploaded whole, moments included. */
bt_status bt_nn_cuda_core_slot_save(bt_nn_cuda_core *k, bt_nn_slot *const *slots, bt_pack *p,
                                    int slot, bt_status (*save)(bt_pack *, int, void **, size_t *),
                                    void **buf, size_t *len);
bt_status bt_nn_cuda_core_slot_restore(bt_nn_cuda_core *k, bt_nn_slot *const *slots, bt_pack *p,
                                       int slot, const bt_hparams *hp, uint64_t key,
                                       const void *buf, size_t len,
                                       bt_status (*restore)(bt_pack *, int, const bt_hparams *,
                                                            uint64_t, const void *, size_t));

/* The started, not failed slots of list[0..n_list), in list order, into k->slot_of[0..*n). */
bt_status bt_nn_cuda_core_positions(bt_nn_cuda_core *k, bt_nn_slot *const *slots, const int *list,
                                    int n_list, int *n);

/* ---- the pointer table ---- */

/* Floats between two positions' blocks of n floats: n rounded up to BT_NN_ALIGN_FLOATS, so every
 * block of a cudaMalloc'd buffer starts 16-byte aligned, as the batched GEMMs need of their
 * operands in TF32 and BF16 (kernels/nn_blas.h). The slot blocks need nothing more: P and every
 * tensor offset in them are multiples already (the layouts of mlp_host.c, resnet_pack.c). */
static inline size_t bt_nn_cuda_stride(size_t n) {
    return (size_t)bt_nn_align_floats((int64_t)n);
}

/* Appends n entries base + i * stride (bytes); returns the array's offset in the table. */
size_t bt_nn_cuda_tab_pos(bt_nn_cuda_core *k, size_t *at, const void *base, size_t stride, int n);
/* Appends n entries base + (slot of position i) * per_slot + off (floats). */
size_t bt_nn_cuda_tab_slot(bt_nn_cuda_core *k, size_t *at, float *base, size_t per_slot,
                           int64_t off, int n);
/* Appends the n positions' whole w, g, m and v blocks, for bt_nn_cuda_core_optim_step. */
void bt_nn_cuda_tab_blocks(bt_nn_cuda_core *k, size_t *at, int n);
/* The alignment check of the n entries at table offset o, an array a batched GEMM reads or writes
 * (`what` names it in messages), made as the table is built. An entry that is not even
 * float-aligned is an internal error (no math mode takes it). One that is float- but not 16-byte
 * aligned would fault in TF32 / BF16 (cudaErrorMisalignedAddress, which loses the context): the
 * handle falls back to FP32 for the rest of the pack's life, and k->math_note says which operand
 * and why (the packs' layouts never need it; docs/cuda.md, "Operand alignment"). */
bt_status bt_nn_cuda_tab_gemm(bt_nn_cuda_core *k, size_t o, int n, const char *what);
/* Enqueues the upload of the table's first `at` entries (an error when they overflow it). */
bt_status bt_nn_cuda_tab_upload(bt_nn_cuda_core *k, size_t at, const char *what);

/* Device pointer arrays at table offset o. */
#define BT_NN_FP(k, o) ((float *const *)((k)->dtab + (o)))
#define BT_NN_CFP(k, o) ((const float *const *)((k)->dtab + (o)))
#define BT_NN_IP(k, o) ((int32_t *const *)((k)->dtab + (o)))
#define BT_NN_CIP(k, o) ((const int32_t *const *)((k)->dtab + (o)))

/* ---- one epoch ---- */

/* The divergence check of a mini-batch of `rows` rows (a position whose loss is not finite stops
 * updating; the others add their loss) and the fused optimizer update of the positions still
 * alive, on the pack's stream. */
bt_status bt_nn_cuda_core_loss_check(bt_nn_cuda_core *k, int n, int rows);
bt_status bt_nn_cuda_core_optim_step(bt_nn_cuda_core *k, int n);

/* Starts the epoch of the n positions (the CPU's shuffle and learning rate, bt_mlp_epoch_begin)
 * and enqueues the upload of their optimizer hyperparameters, step counts, smoothing, alive
 * flags and zeroed loss and validation sums. */
bt_status bt_nn_cuda_core_epoch_begin(bt_nn_cuda_core *k, bt_nn_slot *const *slots, int n);
/* Downloads the epoch's results of the n positions, waits for the stream and finishes each slot
 * as the CPU does: a diverged one fails, the others count the epoch, keep the mean train loss and
 * their metrics (bt_mlp_metrics_finish). */
bt_status bt_nn_cuda_core_epoch_end(bt_nn_cuda_core *k, bt_nn_slot *const *slots, int n,
                                    int regression);

/* The capacity of at most `wanted` slots that fits 80% of the device's free memory, with
 * fixed_bytes per pack and slot_bytes per slot (at least 1; `wanted` when the free memory
 * cannot be read). */
int bt_nn_cuda_capacity_fit(int wanted, double fixed_bytes, double slot_bytes);

#endif
