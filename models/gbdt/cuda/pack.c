/* The gbdt pack on a CUDA stream: the same trials, slots and trees as pack.c, grown by the CUDA
 * twins of the kernels (kernels/cuda/gbdt_*.cu). By default a round is one cached CUDA graph --
 * gradients, round init, every level with the split application on the device, leaves and
 * predictions -- and one host wait that brings back the trees and margins (per wave of trees);
 * with bt_gbdt_cuda_set_device_levels(0) the host applies each level's splits with grow.c's
 * functions and waits once per level. Trees land on the host in pack.c's bt_gbdt_tree format, so
 * eval/export/early stopping reuse the CPU code. Built only with CUDA (BT_HAVE_CUDA); see
 * docs/cuda.md ("The gbdt pack on the GPU"). */
#include "models/gbdt/cuda/pack.h"
#include "models/gbdt/trainer.h"

#if BT_HAVE_CUDA

#include <cuda_runtime.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/check.h"
#include "kernels/gbdt_apply.h"
#include "kernels/gbdt_level.h"
#include "kernels/gbdt_partition.h"
#include "kernels/gbdt_round_init.h"
#include "kernels/gbdt_sample.h"

/* ---- device copies of the shared data, one per (device, binning) -------------------------- */

typedef struct dev_data {
    struct dev_data *next;
    int device;
    const bt_gbdt_binning *bin;
    void *bins; /* row-major n x F cells of bin->train.width bytes */
    uint32_t *off, *cut_ptr;
    float *cut_values, *min_values;
    float *y_train, *X_train, *X_valid; /* X_valid NULL without a valid set */
    int32_t max_entries;                /* widest feature: bins + missing */
} dev_data;

static void dev_data_free(dev_data *d) {
    if (!d) return;
    /* cudaFree of NULL is a no-op; errors at teardown have nowhere to go */
    cudaFree(d->bins);
    cudaFree(d->off);
    cudaFree(d->cut_ptr);
    cudaFree(d->cut_values);
    cudaFree(d->min_values);
    cudaFree(d->y_train);
    cudaFree(d->X_train);
    cudaFree(d->X_valid);
    free(d);
}

void bt_gbdt_cuda_data_free(bt_model_data *data) {
    if (data && data->shared) {
        bt_gbdt_shared *sh = data->shared;
        dev_data *d = sh->cuda;
        while (d) {
            dev_data *nx = d->next;
            dev_data_free(d);
            d = nx;
        }
        sh->cuda = NULL;
    }
    bt_gbdt_data_free(data);
}

/* cudaMalloc + an asynchronous copy of `bytes` on `stream` (at least one byte is allocated, so
 * pointers are never NULL for an empty array). The caller synchronizes the stream: a synchronous
 * cudaMemcpy from pageable memory may return before its DMA completed (CUDA's "API
 * synchronization behavior"), on the legacy stream, which the packs' non-blocking streams do not
 * wait for. */
static bt_status upload(void **dst, const void *src, size_t bytes, cudaStream_t stream) {
    CU(cudaMalloc(dst, bytes ? bytes : 1));
    if (bytes) CU(cudaMemcpyAsync(*dst, src, bytes, cudaMemcpyHostToDevice, stream));
    return BT_STATUS_OK;
}

static bt_status dev_data_upload(const bt_model_data *data, const bt_gbdt_binning *B, dev_data *d,
                                 cudaStream_t s) {
    const bt_binned *bm = &B->train;
    const int64_t n = bm->n_rows;
    const int32_t F = bm->n_features;
    const bt_dataset *tr = data->train, *va = data->valid;
    BT_TRY(upload(&d->bins, bm->bins, (size_t)n * (size_t)F * (size_t)bm->width, s));
    BT_TRY(upload((void **)&d->off, B->off, (size_t)(F + 1) * sizeof(uint32_t), s));
    BT_TRY(upload((void **)&d->cut_ptr, B->cuts.ptr, (size_t)(F + 1) * sizeof(uint32_t), s));
    BT_TRY(
        upload((void **)&d->cut_values, B->cuts.values, (size_t)B->cuts.ptr[F] * sizeof(float), s));
    BT_TRY(upload((void **)&d->min_values, B->cuts.min_values, (size_t)F * sizeof(float), s));
    BT_TRY(upload((void **)&d->y_train, tr->y, (size_t)n * sizeof(float), s));
    BT_TRY(upload((void **)&d->X_train, tr->X, (size_t)n * (size_t)F * sizeof(float), s));
    if (va && va->n_rows > 0)
        BT_TRY(
            upload((void **)&d->X_valid, va->X, (size_t)va->n_rows * (size_t)F * sizeof(float), s));
    return BT_STATUS_OK;
}

/* The device copies, complete when it returns: every copy runs on a stream of its own that is
 * synchronized before any pack stream may read the data. */
static bt_status dev_data_make(const bt_model_data *data, const bt_gbdt_binning *B, int device,
                               dev_data *d) {
    const int32_t F = B->train.n_features;
    d->device = device;
    d->bin = B;
    cudaStream_t s = NULL;
    CU(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    bt_status st = dev_data_upload(data, B, d, s);
    cudaError_t e = cudaStreamSynchronize(s); /* also after a failure: queued copies finish */
    cudaStreamDestroy(s);
    BT_TRY(st);
    CU(e);
    d->max_entries = 1;
    for (int32_t f = 0; f < F; f++)
        if ((int32_t)(B->off[f + 1] - B->off[f]) > d->max_entries)
            d->max_entries = (int32_t)(B->off[f + 1] - B->off[f]);
    return BT_STATUS_OK;
}

/* The device copy for the current device and binning, made on first use (not thread-safe, like
 * bt_gbdt_binning_get). */
static bt_status dev_data_get(bt_model_data *data, const bt_gbdt_binning *B, const dev_data **out) {
    bt_gbdt_shared *sh = data->shared;
    int device = 0;
    CU(cudaGetDevice(&device));
    for (dev_data *d = sh->cuda; d; d = d->next)
        if (d->device == device && d->bin == B) {
            *out = d;
            return BT_STATUS_OK;
        }
    dev_data *d = calloc(1, sizeof *d);
    BT_CHECK_ALLOC(d);
    bt_status st = dev_data_make(data, B, device, d);
    if (st != BT_STATUS_OK) {
        dev_data_free(d);
        return st;
    }
    d->next = sh->cuda;
    sh->cuda = d;
    *out = d;
    return BT_STATUS_OK;
}

/* ---- the pack ----------------------------------------------------------------------------- */

#define HIST_BUDGET_DEFAULT ((int64_t)1 << 30)

/* The histogram budget new packs start with: a test knob (bt_gbdt_cuda_set_hist_budget), read
 * once per pack, so packs stepped from several threads share no mutable state. */
static _Atomic int64_t default_hist_budget = HIST_BUDGET_DEFAULT;
static _Atomic int default_use_graphs = 1;
static _Atomic int default_device_levels = 1;

void bt_gbdt_cuda_set_device_levels(int on) {
    default_device_levels = on != 0;
}

void bt_gbdt_cuda_set_hist_budget(int64_t bytes) {
    default_hist_budget = bytes > 0 ? bytes : HIST_BUDGET_DEFAULT;
}

void bt_gbdt_cuda_set_graphs(int on) {
    default_use_graphs = on != 0;
}

/* Every parameter of one level's launches (the pack's constant data aside): two equal structs
 * enqueue the same launch sequence, so a graph captured for one replays the other. Item lists
 * are read from device memory when the graph runs, so their contents may change. */
typedef struct level_launch {
    bt_gbdt_gh *hist;
    const bt_gbdt_partition_item *part; /* the previous level's partition */
    int64_t *n_left;
    const bt_gbdt_level_pair *pairs; /* write zero, build and sub, and patch split */
    bt_gbdt_hist_zero_item *zero;
    bt_gbdt_hist_item *build;
    bt_gbdt_hist_sub_item *sub;
    const int32_t *feats;
    bt_gbdt_split_item *split;
    void *split_scratch;
    bt_gbdt_split *splits;
    int32_t n_part, n_pairs, n_build, n_sub, n_split, bpi; /* zero items: n_build */
} level_launch;

/* The round's first launches: gradients, quantization, row samples. */
typedef struct prologue_launch {
    const bt_gbdt_grad_item *grad;
    const bt_gbdt_quant_item *quant;
    const bt_gbdt_sample_rows_item *rows;
    int32_t n_slots, n_trees;
} prologue_launch;

/* The round's last launches: leaf values into the train margins, the rows a subsampled tree left
 * out (sampled again, as complements) and the valid rows through the new trees. */
typedef struct epilogue_launch {
    const bt_gbdt_leaf_item *leaves;
    const bt_gbdt_sample_rows_item *left_out;
    const bt_gbdt_predict_item *pred_train, *pred_valid;
    const bt_gbdt_node *nodes;
    int32_t n_leaves, n_left_out, n_valid;
} epilogue_launch;

typedef struct cuda_pack cuda_pack;
/* Enqueues a group of launches; params (zeroed, padding included, before being filled) holds
 * every parameter the launches take beyond the pack's fixed buffers. */
typedef bt_status (*launch_fn)(cuda_pack *c, const void *params);

#define GRAPH_CACHE 32
/* The most levels a wave on the device has (max_depth is at most 16). */
#define BT_GBDT_LEVELS_MAX 30
#define GRAPH_KEY_MAX 512

typedef struct graph_entry {
    launch_fn fn;
    size_t bytes;
    unsigned char key[GRAPH_KEY_MAX];
    cudaGraphExec_t exec;
    uint64_t used;
} graph_entry;

static void graphs_clear(cuda_pack *c);

/* cudaMalloc of max(bytes, 1) that tells out-of-memory apart (*oom = 1) from other failures:
 * a step that runs out of device memory retries in smaller sub-batches (see bt_gbdt_cuda_step). */
static bt_status dev_malloc(void **p, size_t bytes, int *oom) {
    *p = NULL;
    cudaError_t e = cudaMalloc(p, bytes ? bytes : 1);
    if (e == cudaSuccess) return BT_STATUS_OK;
    *p = NULL;
    cudaGetLastError(); /* clear it: out-of-memory is not sticky */
    if (e == cudaErrorMemoryAllocation) *oom = 1;
    return BT_FAIL(BT_STATUS_INTERNAL, "gbdt on cuda: cudaMalloc(%zu bytes): %s (%d)", bytes,
                   cudaGetErrorString(e), (int)e);
}

/* A growable device buffer whose contents need not survive growth. */
typedef struct dbuf {
    void *p;
    size_t cap;
} dbuf;

static bt_status dbuf_reserve(dbuf *b, size_t bytes, cudaStream_t stream, int *oom) {
    if (bytes <= b->cap && b->p) return BT_STATUS_OK;
    /* launches already queued may still read the old buffer */
    if (b->p) CU(cudaStreamSynchronize(stream));
    cudaFree(b->p);
    b->p = NULL;
    b->cap = 0;
    size_t cap = bytes < 4096 ? 4096 : bytes + bytes / 2;
    BT_TRY(dev_malloc(&b->p, cap, oom));
    b->cap = cap;
    return BT_STATUS_OK;
}

/* Host side of an upload: arrays appended with 256-byte alignment, copied in one transfer from
 * pinned memory (an asynchronous copy from pageable memory may synchronize with the stream).
 * The copy reads the buffer when the stream gets to it, so the buffer is rewritten only after the
 * stream was synchronized: every upload of cuda_round is followed by a read-back that waits
 * before the next upload is staged (the CUDA emulation runs copies at that wait, so a violation
 * shows there as wrong trees). Growing it happens while staging, after that wait. */
typedef struct hstage {
    char *p;
    size_t used, cap;
} hstage;

/* Makes the stage hold `bytes`, keeping its used part. A failed cudaMallocHost is out of memory
 * (pinned memory is a device resource too): *oom is set, so the step retries smaller. */
static int hstage_reserve(hstage *h, size_t bytes, int *oom) {
    if (bytes <= h->cap) return 1;
    size_t cap = bytes * 2 + 4096;
    void *np = NULL;
    if (cudaMallocHost(&np, cap) != cudaSuccess) {
        cudaGetLastError();
        *oom = 1;
        return 0;
    }
    if (h->used) memcpy(np, h->p, h->used);
    if (h->p) cudaFreeHost(h->p);
    h->p = np;
    h->cap = cap;
    return 1;
}

static size_t hstage_add(hstage *h, const void *src, size_t bytes, int *oom) {
    size_t at = (h->used + 255) & ~(size_t)255;
    if (!hstage_reserve(h, at + bytes, oom)) return (size_t)-1;
    if (bytes) memcpy(h->p + at, src, bytes);
    h->used = at + bytes;
    return at;
}

struct cuda_pack {
    bt_pack host; /* first member: the CPU's eval and export take &host as the pack */
    const dev_data *dd;
    int device; /* the device current at pack_init; every entry point makes it current again */
    cudaStream_t stream;
    int32_t K;     /* outputs per slot the buffers are sized for */
    int64_t n, nv; /* train rows, valid rows (0 without a valid set) */
    /* per slot s, output k ("tree" t = s * K + k); segments of n entries at t * n */
    float *margin_train; /* s * n * K: row-major n x n_out, as the host slot's */
    float *margin_valid; /* s * max(nv, 1) * K */
    float *g, *h;
    bt_gbdt_gh *gh;
    int32_t *rows, *scratch;
    int64_t *chunk_counts;       /* BT_GBDT_CHUNK_COUNTS: multi-block partition and row sampling */
    bt_gbdt_split_param *params; /* capacity, written at slot_start */
    /* per launch item (at most capacity * K): quantization results and sample counts; the sample
     * counts' second half receives the epilogue's left-out counts (unused), so a later wave's
     * round init still reads the prologue's */
    int32_t *eg, *eh, *finite;
    int64_t *n_sampled;
    void *qscratch;
    /* histogram pool: hist_slots histograms of T entries */
    bt_gbdt_gh *hist;
    int64_t hist_slots, T;
    dbuf items, split_scratch, splits, n_left, nodes, level_items;
    hstage stage;
    /* Bytes of live histograms (with the levels on the device: histogram regions and places) a
     * round's wave aims to stay under (one tree at a time exceeds it if it must); halved when
     * the device runs out of memory. */
    int64_t hist_budget;
    /* The most slots one round grows together (capacity until the device ran out of memory). */
    int max_batch;
    int oom; /* set by a failed allocation of the round being grown */
    /* Captured CUDA graphs of a level's launches, keyed by every launch parameter (see level_run);
     * least recently used out first. */
    int use_graphs;
    int device_levels; /* a wave's levels as one graph with the split application on the device */
    dbuf dl;           /* its fixed-place buffers (see levels_device) */
    struct graph_entry *graphs;
    int n_graphs;
    uint64_t graph_tick;
};

static cuda_pack *cp_of(bt_pack *p) {
    return (cuda_pack *)p; /* host is the first member */
}

void bt_gbdt_cuda_pack_free(bt_pack *p) {
    if (!p) return;
    cuda_pack *c = cp_of(p);
    if (c->stream) {
        cudaSetDevice(c->device);
        cudaStreamSynchronize(c->stream);
    }
    void *bufs[] = {c->margin_train, c->margin_valid, c->g,       c->h,
                    c->gh,           c->rows,         c->scratch, c->params,
                    c->eg,           c->eh,           c->finite,  c->n_sampled,
                    c->qscratch,     c->hist,         c->items.p, c->split_scratch.p,
                    c->splits.p,     c->n_left.p,     c->nodes.p, c->level_items.p,
                    c->dl.p,         c->chunk_counts};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) cudaFree(bufs[i]);
    graphs_clear(c);
    free(c->graphs);
    if (c->stream) cudaStreamDestroy(c->stream);
    if (c->stage.p) cudaFreeHost(c->stage.p);
    bt_gbdt_pack_free(&c->host); /* frees the slots, then the block (c == &c->host) */
}

static bt_status dalloc(void **p, size_t bytes) {
    int oom = 0;
    return dev_malloc(p, bytes, &oom);
}

static bt_status pack_buffers(cuda_pack *c) {
    const size_t C = (size_t)c->host.capacity, K = (size_t)c->K, n = (size_t)c->n;
    const size_t nv = (size_t)(c->nv > 0 ? c->nv : 1), CK = C * K;
    CU(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
    BT_TRY(dalloc((void **)&c->margin_train, CK * n * sizeof(float)));
    BT_TRY(dalloc((void **)&c->margin_valid, CK * nv * sizeof(float)));
    BT_TRY(dalloc((void **)&c->g, CK * n * sizeof(float)));
    BT_TRY(dalloc((void **)&c->h, CK * n * sizeof(float)));
    BT_TRY(dalloc((void **)&c->gh, CK * n * sizeof(bt_gbdt_gh)));
    BT_TRY(dalloc((void **)&c->rows, CK * n * sizeof(int32_t)));
    BT_TRY(dalloc((void **)&c->scratch, CK * n * sizeof(int32_t)));
    BT_TRY(dalloc((void **)&c->chunk_counts, BT_GBDT_CHUNK_COUNTS * sizeof(int64_t)));
    BT_TRY(dalloc((void **)&c->params, C * sizeof(bt_gbdt_split_param)));
    BT_TRY(dalloc((void **)&c->eg, CK * sizeof(int32_t)));
    BT_TRY(dalloc((void **)&c->eh, CK * sizeof(int32_t)));
    BT_TRY(dalloc((void **)&c->finite, CK * sizeof(int32_t)));
    BT_TRY(dalloc((void **)&c->n_sampled, 2 * CK * sizeof(int64_t)));
    BT_TRY(dalloc(&c->qscratch, bt_gbdt_quantize_cuda_scratch_bytes((int32_t)CK)));
    return BT_STATUS_OK;
}

/* Outputs per slot: every slot of a sweep shares the task, so a multiclass pack sizes for the
 * largest class count it can know now; slot_start refuses a trial needing more. */
static int32_t pack_outputs(const bt_model_data *data, const bt_gbdt_shared *sh,
                            const bt_hparams *shape_hp) {
    int32_t K = 1;
    if (data->task == BT_TASK_MULTICLASS) {
        K = sh ? sh->n_classes : 0;
        if (data->n_classes > K) K = data->n_classes;
        if ((int32_t)shape_hp->v[BT_GBDT_NUM_CLASS].i > K)
            K = (int32_t)shape_hp->v[BT_GBDT_NUM_CLASS].i;
        if (K < 2) K = 2;
    }
    return K;
}

/* ---- sizing: the per-trial estimate behind pack_capacity ---------------------------------- */

/* Device bytes a pack of C slots takes, from the allocations it makes (pack_buffers, and the
 * worst case of what a round grows on demand), for n train rows, nv valid rows, K trees per
 * slot, T histogram entries, F features, trees of depth D and a histogram budget:
 *   per tree (C*K of them):  36 n            g, h, row list, partition scratch and train margin
 *                                             (4 bytes each) and the quantized pair (16)
 *                          + 4 max(nv, 1)     valid margin
 *                          + 56               exponents, finite flag, sample counts, quantize
 * scratch
 *                          + 1.5 (2^(D+1) - 1) x 44      the round's node copy (bt_gbdt_node)
 *                          + 1.5 2^D x 240    a level's item lists at most (histogram, subtraction,
 *                                             split and partition items, splits, left counts,
 * leaves)
 *                          + 1.5 x 4 F        a level's candidate features
 *   per slot:                sizeof(bt_gbdt_split_param)
 *   histogram pool:          1.5 min(budget, C K H) + 4 x 16 T,  H = 16 T min(2^(D-1), n) (one
 *                            tree's live histograms; the pool grows by half again, plus 4)
 * (1.5: growable buffers take half again what they need). */
/* Device bytes of one place of the levels on the device (wave_plan_make's fixed-place buffer):
 * a split, a partition item, two pairs, two split items, a left count, clear/build/subtract
 * items, a free-stack entry and split scratch. */
static size_t place_bytes(void) {
    return sizeof(bt_gbdt_split) + sizeof(bt_gbdt_apply_part) + 2 * sizeof(bt_gbdt_level_pair) +
           2 * sizeof(bt_gbdt_apply_split_item) + sizeof(int64_t) + sizeof(bt_gbdt_hist_zero_item) +
           sizeof(bt_gbdt_hist_item) + sizeof(bt_gbdt_hist_sub_item) + sizeof(int64_t) +
           bt_gbdt_split_cuda_scratch_bytes(1);
}

static double pack_bytes(double C, int64_t n, int64_t nv, int32_t K, int64_t T, int32_t F,
                         int32_t D, int64_t budget) {
    if (D < 1) D = 1;
    if (D > 30) D = 30;
    const double nodes = (double)((int64_t)1 << (D + 1)) - 1, level = (double)((int64_t)1 << D);
    double tree = 36.0 * (double)n + 4.0 * (double)(nv > 0 ? nv : 1) + 56.0 +
                  1.5 * nodes * (double)sizeof(bt_gbdt_node) + 6.0 * F;
    if (default_device_levels) {
        /* levels_device: fixed places (2^(D-1) per tree), node arrays, the staged tree state */
        const double place = (double)place_bytes();
        const double node = (double)(sizeof(bt_gbdt_node) + sizeof(bt_gbdt_gh) + 3 * 8 +
                                     sizeof(bt_gbdt_apply_leaf));
        const double state =
            (double)(sizeof(bt_gbdt_apply_tree) + sizeof(bt_gbdt_rules) +
                     sizeof(bt_gbdt_round_init_tree) + sizeof(bt_gbdt_apply_split_item) +
                     sizeof(bt_gbdt_hist_zero_item) + sizeof(bt_gbdt_apply_build) +
                     sizeof(bt_gbdt_epilogue_tree) + 2 * sizeof(bt_gbdt_apply_pred) +
                     sizeof(bt_gbdt_sample_rows_item)) +
            4.0 * (double)D * (F + 1);
        tree += 1.5 * (level / 2 * place + nodes * node + state) + 6.0 * F;
    } else {
        tree += 1.5 * level * 240.0;
    }
    double live = (double)((int64_t)1 << (D - 1));
    if (live > (double)n) live = (double)n;
    double H = 16.0 * (double)T * live, hist = C * K * H;
    if (hist > (double)budget) hist = (double)budget > H ? (double)budget : H;
    return C * (K * tree + (double)sizeof(bt_gbdt_split_param)) + 1.5 * hist + 64.0 * (double)T +
           (double)(BT_GBDT_CHUNK_COUNTS * sizeof(int64_t));
}

/* The vtable's pack_capacity: the largest capacity <= wanted whose pack_bytes, plus the shared
 * device copy of the data when this device has none yet, fit the free memory cudaMemGetInfo
 * reports minus a reserve (1/16 of it, at least 64 MiB: CUDA's own allocations, cub scratch,
 * fragmentation). The depth is the shape trial's max_depth; deeper trials in the pack are what
 * the out-of-memory split of a step is for. At least 1. */
int bt_gbdt_cuda_pack_capacity(const bt_model_data *data, const bt_hparams *shape_hp, int wanted) {
    if (wanted < 1) return 1;
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
        cudaGetLastError();
        return wanted; /* no information: the pack will find out (and split) */
    }
    const bt_gbdt_shared *sh = data->shared;
    const int32_t max_bin = (int32_t)shape_hp->v[BT_GBDT_MAX_BIN].i;
    const int64_t n = data->train ? data->train->n_rows : 0;
    const int64_t nv = data->valid ? data->valid->n_rows : 0;
    const int32_t F = data->train ? data->train->n_features : 0;
    const bt_gbdt_binning *bin = NULL;
    for (int i = 0; sh && i < sh->n_binnings; i++)
        if (sh->binnings[i]->max_bin == max_bin) bin = sh->binnings[i];
    /* without the binning yet: every feature at max_bin bins plus its missing slot */
    int64_t T = bin ? (int64_t)bin->off[F] : (int64_t)F * ((int64_t)max_bin + 1);
    double shared = 0;
    int device = 0, have = 0;
    cudaGetDevice(&device);
    for (const dev_data *d = sh ? sh->cuda : NULL; d && bin; d = d->next)
        have |= d->device == device && d->bin == bin;
    if (!have) {
        int width = bin ? bin->train.width : (max_bin < 256 ? 1 : 2);
        shared = (double)n * F * (width + 4.0) + 4.0 * n + 4.0 * (double)nv * F + 8.0 * (double)T +
                 16.0 * F;
    }
    double reserve = (double)free_b / 16;
    if (reserve < 64.0 * 1048576) reserve = 64.0 * 1048576;
    const double room = (double)free_b - reserve - shared;
    const int32_t K = pack_outputs(data, sh, shape_hp);
    const int32_t D = (int32_t)shape_hp->v[BT_GBDT_MAX_DEPTH].i;
    const int64_t budget = default_hist_budget;
    int lo = 1, hi = wanted; /* largest c in [1, wanted] that fits, by bisection (monotone) */
    if (pack_bytes(hi, n, nv, K, T, F, D, budget) <= room) return hi;
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        if (pack_bytes(mid, n, nv, K, T, F, D, budget) <= room)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

bt_status bt_gbdt_cuda_pack_init(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                                 int capacity) {
    *out = NULL;
    if (capacity < 1) return BT_FAIL(BT_STATUS_INTERNAL, "pack capacity must be >= 1");
    const bt_gbdt_binning *bin = NULL;
    BT_TRY(bt_gbdt_binning_get(data, (int32_t)shape_hp->v[BT_GBDT_MAX_BIN].i, &bin));
    const bt_gbdt_shared *sh = data->shared;
    const int64_t n = bin->train.n_rows;
    const int32_t F = bin->train.n_features;
    if (n < 1 || F < 1)
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "gbdt on cuda: the train set has %lld rows and %d "
                       "features; both must be >= 1",
                       (long long)n, F);
    if (n > INT32_MAX) /* row ids are int32 on both sides */
        return BT_FAIL(BT_STATUS_BAD_INPUT, "gbdt on cuda: %lld train rows exceed int32",
                       (long long)n);
    const int32_t K = pack_outputs(data, sh, shape_hp);
    cuda_pack *c = calloc(1, sizeof *c);
    BT_CHECK_ALLOC(c);
    c->host.slots = calloc((size_t)capacity, sizeof *c->host.slots);
    if (!c->host.slots) {
        free(c);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for %d slots", capacity);
    }
    c->host.data = data;
    c->host.bin = bin;
    c->host.capacity = capacity;
    c->host.threads = data->threads > 0 ? data->threads : 1;
    c->K = K;
    c->n = n;
    c->nv = data->valid && data->valid->n_rows > 0 ? data->valid->n_rows : 0;
    c->T = (int64_t)bin->off[F];
    c->hist_budget = default_hist_budget;
    c->max_batch = capacity;
    c->use_graphs = default_use_graphs;
    c->device_levels = default_device_levels;
    c->graphs = calloc(GRAPH_CACHE, sizeof *c->graphs);
    if (!c->graphs) {
        free(c->host.slots);
        free(c);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for the graph cache");
    }
    bt_status st = BT_STATUS_OK;
    if (cudaGetDevice(&c->device) != cudaSuccess) {
        cudaGetLastError();
        st = BT_FAIL(BT_STATUS_INTERNAL, "gbdt on cuda: no usable CUDA device");
    }
    if (st == BT_STATUS_OK) st = dev_data_get(data, bin, &c->dd);
    if (st == BT_STATUS_OK) st = pack_buffers(c);
    if (st != BT_STATUS_OK) {
        bt_gbdt_cuda_pack_free(&c->host);
        return st;
    }
    *out = &c->host;
    return BT_STATUS_OK;
}

void bt_gbdt_cuda_slot_clear(bt_pack *p, int slot) {
    bt_gbdt_slot_clear(p, slot); /* device segments are overwritten by the next slot_start */
}

bt_status bt_gbdt_cuda_slot_start(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key) {
    cuda_pack *c = cp_of(p);
    CU(cudaSetDevice(c->device));
    BT_TRY(bt_gbdt_slot_start(p, slot, hp, key));
    bt_gbdt_slot *s = p->slots[slot];
    if (s->n_out > c->K) {
        int32_t k = s->n_out;
        bt_gbdt_slot_clear(p, slot);
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "gbdt on cuda: the trial has %d classes, the pack was sized for %d", k,
                       c->K);
    }
    /* host margins start at base_margin (bt_gbdt_slot_start); the device copy starts the same */
    const size_t K = (size_t)c->K;
    CU(cudaMemcpyAsync(c->margin_train + (size_t)slot * (size_t)c->n * K, s->margin_train,
                       (size_t)c->n * (size_t)s->n_out * sizeof(float), cudaMemcpyHostToDevice,
                       c->stream));
    if (c->nv > 0)
        CU(cudaMemcpyAsync(c->margin_valid + (size_t)slot * (size_t)c->nv * K, s->margin_valid,
                           (size_t)c->nv * (size_t)s->n_out * sizeof(float), cudaMemcpyHostToDevice,
                           c->stream));
    CU(cudaMemcpyAsync(c->params + slot, &s->sp, sizeof s->sp, cudaMemcpyHostToDevice, c->stream));
    CU(cudaStreamSynchronize(c->stream)); /* the host slot's buffers may change after return */
    return BT_STATUS_OK;
}

/* ---- one round ---------------------------------------------------------------------------- */

/* One tree of the round, grown on the host's bookkeeping over device rows and histograms. */
typedef struct tgrow {
    bt_gbdt_slot *s;
    int slot;
    int32_t k;
    int64_t seg; /* (slot * K + k) * n: this tree's segment of g, h, gh, rows, scratch */
    double gu, hu;
    int64_t m; /* sampled rows */
    int32_t n_nodes, cap;
    bt_gbdt_node *nodes;
    int64_t *beg, *cnt, *hslot; /* hslot: histogram pool slot, -1 = none */
    bt_gbdt_gh *sum;
    int32_t *level, n_level, *next, n_next;
    int32_t *part_of; /* a split node's item in the pending partition, -1 = none */
    int32_t *feats_tree, n_feats_tree, *feats_level, n_feats_level;
    int64_t feats_begin; /* this level's list in the uploaded feature array */
} tgrow;

static void tgrow_free(tgrow *w) {
    free(w->nodes);
    free(w->beg);
    free(w->cnt);
    free(w->hslot);
    free(w->sum);
    free(w->level);
    free(w->next);
    free(w->feats_tree);
    free(w->feats_level);
    free(w->part_of);
}

static int tgrow_alloc(tgrow *w, int64_t n, int32_t F) {
    int64_t cap = (1ll << (w->s->max_depth + 1)) - 1; /* as grow.c sizes it */
    if (cap > 2 * n + 1) cap = 2 * n + 1;
    w->cap = (int32_t)cap;
    w->nodes = calloc((size_t)cap, sizeof *w->nodes);
    w->beg = calloc((size_t)cap, sizeof *w->beg);
    w->cnt = calloc((size_t)cap, sizeof *w->cnt);
    w->hslot = malloc((size_t)cap * sizeof *w->hslot);
    w->sum = calloc((size_t)cap, sizeof *w->sum);
    w->level = malloc((size_t)cap * sizeof *w->level);
    w->next = malloc((size_t)cap * sizeof *w->next);
    w->feats_tree = malloc((size_t)F * sizeof *w->feats_tree);
    w->feats_level = malloc((size_t)F * sizeof *w->feats_level);
    w->part_of = malloc((size_t)cap * sizeof *w->part_of);
    if (!(w->nodes && w->beg && w->cnt && w->hslot && w->sum && w->level && w->next &&
          w->feats_tree && w->feats_level && w->part_of))
        return 0;
    for (int32_t i = 0; i < w->cap; i++) w->hslot[i] = w->part_of[i] = -1;
    return 1;
}

/* Allocates tree w and draws its per-tree feature sample (colsample_bytree), as grow.c does;
 * fscratch holds 2 F + 8 words. */
static bt_status tgrow_begin(tgrow *w, int64_t n, int32_t F, uint64_t *fscratch) {
    if (!tgrow_alloc(w, n, F)) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory growing trees");
    const bt_gbdt_slot *s = w->s;
    uint64_t tree = (uint64_t)s->round * (uint64_t)s->n_out + (uint64_t)w->k;
    for (int32_t f = 0; f < F; f++) w->feats_level[f] = f;
    w->n_feats_tree = bt_gbdt_sample_features_ref(s->key, tree, 0, w->feats_level, F,
                                                  s->colsample_bytree, w->feats_tree, fscratch);
    return BT_STATUS_OK;
}

static void set_leaf(tgrow *w, int32_t id, int32_t parent, float base_weight, float value) {
    bt_gbdt_leaf_init(w->nodes, w->sum, w->hu, id, parent, base_weight, value);
}

/* Histogram pool slots: a stack of free ids over [0, n_used); the device pool grows to fit. */
typedef struct hpool {
    int64_t *free_ids;
    int64_t n_free, n_used, cap;
} hpool;

static int64_t hpool_get(hpool *hp) {
    if (hp->n_free > 0) return hp->free_ids[--hp->n_free];
    return hp->n_used++;
}

static int hpool_put(hpool *hp, int64_t id) {
    if (id < 0) return 1;
    if (hp->n_free == hp->cap) {
        int64_t cap = hp->cap ? 2 * hp->cap : 64;
        int64_t *np = realloc(hp->free_ids, (size_t)cap * sizeof *np);
        if (!np) return 0;
        hp->free_ids = np;
        hp->cap = cap;
    }
    hp->free_ids[hp->n_free++] = id;
    return 1;
}

/* Makes the device pool hold `slots` histograms. keep: the old ones' contents survive (the host
 * path, whose pool grows between a level's launches); else they are dead (the device path
 * rebuilds every histogram inside its graph), and growth is a free and an allocation, no copy:
 * the old pool is freed first (cudaFree waits for the work still using it), which also lowers
 * the peak. */
static bt_status hist_reserve(cuda_pack *c, int64_t slots, int keep) {
    if (slots <= c->hist_slots) return BT_STATUS_OK;
    int64_t ns = slots + slots / 2 + 4;
    size_t bytes = (size_t)ns * (size_t)c->T * sizeof(bt_gbdt_gh);
    bt_gbdt_gh *nh = NULL;
    if (!keep) {
        cudaFree(c->hist);
        c->hist = NULL;
        c->hist_slots = 0;
    }
    BT_TRY(dev_malloc((void **)&nh, bytes, &c->oom));
    if (keep && c->hist_slots > 0) {
        cudaError_t e =
            cudaMemcpyAsync(nh, c->hist, (size_t)c->hist_slots * (size_t)c->T * sizeof(bt_gbdt_gh),
                            cudaMemcpyDeviceToDevice, c->stream);
        if (e == cudaSuccess) e = cudaStreamSynchronize(c->stream);
        if (e != cudaSuccess) {
            cudaFree(nh);
            CU(e);
        }
    }
    cudaFree(c->hist);
    c->hist = nh;
    c->hist_slots = ns;
    return BT_STATUS_OK;
}

/* Uploads the staged arrays into the device item buffer; *base receives its device address. */
static bt_status stage_upload(cuda_pack *c, char **base) {
    BT_TRY(dbuf_reserve(&c->items, c->stage.used, c->stream, &c->oom));
    if (c->stage.used)
        CU(cudaMemcpyAsync(c->items.p, c->stage.p, c->stage.used, cudaMemcpyHostToDevice,
                           c->stream));
    /* no wait: the stage is pinned and is not rewritten before the next read-back waits */
    *base = c->items.p;
    return BT_STATUS_OK;
}

#define STAGE(c, arr, count, off_var)                                                              \
    do {                                                                                           \
        off_var = hstage_add(&(c)->stage, (arr), (size_t)(count) * sizeof *(arr), &(c)->oom);      \
        if (off_var == (size_t)-1) {                                                               \
            st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory staging items");                       \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

#define CUG(expr)                                                                                  \
    do {                                                                                           \
        cudaError_t cu_e_ = (expr);                                                                \
        if (cu_e_ != cudaSuccess) {                                                                \
            st = BT_CU_FAIL(cu_e_, #expr);                                                         \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

#define TRYG(expr)                                                                                 \
    do {                                                                                           \
        st = (expr);                                                                               \
        if (st != BT_STATUS_OK) goto done;                                                         \
    } while (0)

#define ALLOCG(ptr, count)                                                                         \
    do {                                                                                           \
        free(ptr);                                                                                 \
        (ptr) = malloc((size_t)((count) > 0 ? (count) : 1) * sizeof *(ptr));                       \
        if (!(ptr)) {                                                                              \
            st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory: %s", #ptr);                           \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

static void graphs_clear(cuda_pack *c) {
    for (int i = 0; i < c->n_graphs; i++)
        if (c->graphs[i].exec) cudaGraphExecDestroy(c->graphs[i].exec);
    c->n_graphs = 0;
}

/* Partition and row sample launches (every one of a round): blocks per item from n, the bound on
 * any node's rows (the host does not know the counts with the levels on the device) and a row
 * sample's row count, and the padded item count, so graph keys repeat; the chunk counts go to the
 * pack's one buffer (launches are in stream order). */
static bt_status partition_enqueue(cuda_pack *c, const bt_gbdt_partition_item *items,
                                   int32_t n_items, int64_t *n_left) {
    const bt_binned *bm = &c->host.bin->train;
    return bt_gbdt_partition_cuda(c->rows, c->scratch, c->dd->bins, bm->width, bm->n_features,
                                  items, n_items, bt_gbdt_chunk_blocks(c->n, n_items),
                                  c->chunk_counts, n_left, (void *)c->stream);
}

static bt_status sample_rows_enqueue(cuda_pack *c, const bt_gbdt_sample_rows_item *items,
                                     int32_t n_items, int32_t *rows_out, int64_t *n_out) {
    return bt_gbdt_sample_rows_cuda(c->n, items, n_items, bt_gbdt_chunk_blocks(c->n, n_items),
                                    c->chunk_counts, rows_out, n_out, (void *)c->stream);
}

/* The launches of a level: partition the previous level's split nodes, resolve the sibling pairs
 * (their ranges, which child to build), clear the histograms to build, build them, subtract
 * siblings, evaluate the level's nodes (each part skipped when it has no items). */
static bt_status level_enqueue(cuda_pack *c, const level_launch *L) {
    const dev_data *dd = c->dd;
    const bt_binned *bm = &c->host.bin->train;
    void *stream = (void *)c->stream;
    if (L->n_part > 0) BT_TRY(partition_enqueue(c, L->part, L->n_part, L->n_left));
    if (L->n_pairs > 0)
        BT_TRY(bt_gbdt_level_prepare_cuda(L->pairs, L->n_pairs, L->n_left, c->T, L->zero, L->build,
                                          L->sub, L->split, stream));
    if (L->n_build > 0) {
        BT_TRY(bt_gbdt_hist_zero_cuda(L->hist, L->zero, L->n_build, stream));
        BT_TRY(bt_gbdt_hist_cuda(dd->bins, bm->width, c->n, bm->n_features, dd->off, 0,
                                 bm->n_features, dd->max_entries, c->rows, c->gh, L->hist, L->build,
                                 L->n_build, L->bpi, stream));
    }
    if (L->n_sub > 0) BT_TRY(bt_gbdt_hist_sub_cuda(L->hist, L->sub, L->n_sub, 0, c->T, stream));
    if (L->n_split > 0)
        BT_TRY(bt_gbdt_split_cuda(L->hist, dd->off, dd->cut_ptr, dd->cut_values, dd->min_values,
                                  L->feats, c->params, L->split, L->n_split, L->split_scratch,
                                  L->splits, stream));
    return BT_STATUS_OK;
}

/* Runs a group of launches as a CUDA graph: replayed when a graph of the same function and
 * parameters was captured before (item counts are padded to powers of two, so a pack whose active
 * slots do not change keeps replaying the same few graphs round after round). A key seen for the
 * first time runs directly -- which also loads the kernels' modules before any capture, as lazy
 * loading inside a capture is best avoided -- and is remembered; the second time it is captured
 * (thread-local mode: other threads driving other packs may allocate meanwhile), instantiated
 * and launched. A replay enqueues exactly what fn would with the same parameters, so it is valid
 * whatever buffers were reallocated since the capture. */
static bt_status graph_run(cuda_pack *c, launch_fn fn, const void *params, size_t bytes) {
    if (!c->use_graphs || bytes > GRAPH_KEY_MAX) return fn(c, params);
    graph_entry *ge = NULL;
    for (int i = 0; i < c->n_graphs && !ge; i++)
        if (c->graphs[i].fn == fn && c->graphs[i].bytes == bytes &&
            memcmp(c->graphs[i].key, params, bytes) == 0)
            ge = &c->graphs[i];
    if (ge && ge->exec) {
        ge->used = ++c->graph_tick;
        CU(cudaGraphLaunch(ge->exec, c->stream));
        return BT_STATUS_OK;
    }
    if (!ge) { /* first sight: remember the key, launch directly */
        int at = c->n_graphs;
        if (at == GRAPH_CACHE) { /* evict the least recently used */
            at = 0;
            for (int i = 1; i < c->n_graphs; i++)
                if (c->graphs[i].used < c->graphs[at].used) at = i;
            if (c->graphs[at].exec) cudaGraphExecDestroy(c->graphs[at].exec);
        } else {
            c->n_graphs++;
        }
        ge = &c->graphs[at];
        ge->fn = fn;
        ge->bytes = bytes;
        memcpy(ge->key, params, bytes);
        ge->exec = NULL;
        ge->used = ++c->graph_tick;
        return fn(c, params);
    }
    cudaGraph_t g = NULL;
    CU(cudaStreamBeginCapture(c->stream, cudaStreamCaptureModeThreadLocal));
    bt_status st = fn(c, params);
    cudaError_t e = cudaStreamEndCapture(c->stream, &g);
    if (st != BT_STATUS_OK || e != cudaSuccess) {
        if (g) cudaGraphDestroy(g);
        if (st != BT_STATUS_OK) return st;
        CU(e);
    }
    cudaGraphExec_t x = NULL;
    e = cudaGraphInstantiate(&x, g, 0);
    cudaGraphDestroy(g);
    CU(e);
    ge->exec = x;
    ge->used = ++c->graph_tick;
    CU(cudaGraphLaunch(x, c->stream));
    return BT_STATUS_OK;
}

static bt_status level_enqueue_v(cuda_pack *c, const void *params) {
    return level_enqueue(c, params);
}

static bt_status level_run(cuda_pack *c, const level_launch *L) {
    return graph_run(c, level_enqueue_v, L, sizeof *L);
}

static bt_status prologue_enqueue(cuda_pack *c, const void *params) {
    const prologue_launch *L = params;
    void *stream = (void *)c->stream;
    BT_TRY(bt_gbdt_grad_cuda(c->margin_train, c->dd->y_train, c->n, c->g, c->h, L->grad, L->n_slots,
                             stream));
    BT_TRY(bt_gbdt_quantize_cuda(c->g, c->h, c->gh, L->quant, L->n_trees, c->eg, c->eh, c->finite,
                                 c->qscratch, stream));
    return sample_rows_enqueue(c, L->rows, L->n_trees, c->rows, c->n_sampled);
}

static bt_status epilogue_enqueue(cuda_pack *c, const void *params) {
    const epilogue_launch *L = params;
    const dev_data *dd = c->dd;
    const int32_t F = c->host.bin->train.n_features;
    void *stream = (void *)c->stream;
    if (L->n_leaves)
        BT_TRY(bt_gbdt_leaf_add_cuda(c->rows, c->margin_train, L->leaves, L->n_leaves, stream));
    if (L->n_left_out) {
        /* the partition scratch is free now: it receives the left-out rows (n_sampled is
         * overwritten; it was read at the start of the round) */
        BT_TRY(sample_rows_enqueue(c, L->left_out, L->n_left_out, c->scratch, c->n_sampled));
        BT_TRY(bt_gbdt_predict_add_cuda(L->nodes, dd->X_train, F, c->scratch, c->margin_train,
                                        L->pred_train, L->n_left_out, stream));
    }
    if (L->n_valid)
        BT_TRY(bt_gbdt_predict_add_cuda(L->nodes, dd->X_valid, F, c->scratch, c->margin_valid,
                                        L->pred_valid, L->n_valid, stream));
    return BT_STATUS_OK;
}

/* Smallest power of two >= n (0 for 0): item counts padded to it repeat across rounds. */
static int32_t pad_pow2(int64_t n) {
    int64_t p = 1;
    if (n <= 0) return 0;
    while (p < n) p *= 2;
    return (int32_t)p;
}

/* Blocks per item of a histogram launch over n_items items of at most max_rows rows each: one per
 * 16384 rows of the largest, a power of two (graph keys repeat) in [1, 64], halved while the grid
 * would exceed 2^20 blocks (a feature chunk's blocks past an item's rows exit at once, but a
 * deep level has many items). */
static int32_t hist_bpi(int64_t max_rows, int64_t n_items) {
    int32_t bpi = pad_pow2((max_rows + 16383) / 16384);
    if (bpi < 1) bpi = 1;
    if (bpi > 64) bpi = 64;
    while (bpi > 1 && (int64_t)bpi * n_items > ((int64_t)1 << 20)) bpi /= 2;
    return bpi;
}

/* The split items of a wave's level (trees g0..g1), in level order; pi_tree/pi_node say whose. */
static int32_t split_items(const tgrow *W, int g0, int g1, int64_t T, bt_gbdt_split_item *pi,
                           int32_t *pi_tree, int32_t *pi_node) {
    int32_t n_split = 0;
    for (int t = g0; t < g1; t++) {
        const tgrow *w = &W[t];
        for (int32_t i = 0; i < w->n_level; i++) {
            int32_t id = w->level[i];
            bt_gbdt_split_item x;
            memset(&x, 0, sizeof x);
            x.hist_offset = w->hslot[id] * T;
            x.total = w->sum[id];
            x.n_rows = w->cnt[id];
            x.g_unit = w->gu;
            x.h_unit = w->hu;
            x.trial = w->slot;
            x.feats_begin = (int32_t)w->feats_begin;
            x.n_feats = w->n_feats_level;
            pi_tree[n_split] = t;
            pi_node[n_split] = id;
            pi[n_split++] = x;
        }
    }
    return n_split;
}

/* The children's row ranges of partitioned nodes, from their left counts (checked). */
static bt_status children_ranges(tgrow *W, const int32_t *ti_tree, const int32_t *ti_node,
                                 const int64_t *nleft, int32_t n_part) {
    for (int32_t j = 0; j < n_part; j++) {
        tgrow *w = &W[ti_tree[j]];
        int32_t id = ti_node[j];
        const bt_gbdt_node *nd = &w->nodes[id];
        if (nleft[j] < 0 || nleft[j] > w->cnt[id])
            return BT_FAIL(BT_STATUS_INTERNAL,
                           "gbdt on cuda: partition sent %lld of %lld rows left",
                           (long long)nleft[j], (long long)w->cnt[id]);
        w->beg[nd->left] = w->beg[id];
        w->cnt[nd->left] = nleft[j];
        w->beg[nd->right] = w->beg[id] + nleft[j];
        w->cnt[nd->right] = w->cnt[id] - nleft[j];
    }
    return BT_STATUS_OK;
}

/* Padding items: no rows, nothing to clear or subtract, nodes that exit at once. */
static void pad_items(bt_gbdt_hist_zero_item *zi, bt_gbdt_hist_item *hi, int32_t nb, int32_t pb,
                      bt_gbdt_hist_sub_item *si, int32_t ns, int32_t ps, bt_gbdt_split_item *pi,
                      int32_t np, int32_t pp) {
    for (int32_t j = nb; j < pb; j++) {
        memset(&zi[j], 0, sizeof zi[j]);
        memset(&hi[j], 0, sizeof hi[j]);
    }
    for (int32_t j = ns; j < ps; j++) {
        si[j].parent = -1;
        si[j].child = 0;
    }
    for (int32_t j = np; j < pp; j++) memset(&pi[j], 0, sizeof pi[j]);
}

/* Queues the copies of the stepped slots' margins to their host slots (no wait). */
static bt_status queue_margins(cuda_pack *c, bt_gbdt_slot **act, const int *act_slot,
                               const int *slot_ok, int n_act) {
    const int64_t n = c->n, nv = c->nv, K = c->K;
    for (int i = 0; i < n_act; i++) {
        bt_gbdt_slot *s = act[i];
        if (slot_ok && !slot_ok[i]) continue;
        CU(cudaMemcpyAsync(s->margin_train, c->margin_train + (int64_t)act_slot[i] * n * K,
                           (size_t)n * (size_t)s->n_out * sizeof(float), cudaMemcpyDeviceToHost,
                           c->stream));
        if (nv > 0)
            CU(cudaMemcpyAsync(s->margin_valid, c->margin_valid + (int64_t)act_slot[i] * nv * K,
                               (size_t)nv * (size_t)s->n_out * sizeof(float),
                               cudaMemcpyDeviceToHost, c->stream));
    }
    return BT_STATUS_OK;
}

/* The slots a round steps, for the margins' read-back after its last wave. */
typedef struct round_slots {
    bt_gbdt_slot **act;
    const int *act_slot, *slot_ok;
    int n_act;
} round_slots;

/* ---- a round on the device ---------------------------------------------------------------------
 * Every launch of a round for a wave of nw trees, with the split application on the device
 * (kernels/gbdt_apply.h), in one graph: (first wave) the prologue -- gradients, quantization, row
 * samples --, the round init (kernels/gbdt_round_init.h: units, the roots' items, disabled slots),
 * the roots' histograms and sums; depth 0 evaluates the roots and applies; each depth d > 0
 * partitions the previous level's splits, resolves its sibling pairs, clears, builds and subtracts
 * histograms, evaluates and applies; the last partition and a finishing apply give the leaves'
 * rows; the epilogue adds the leaves and predicts left-out and valid rows. Items live at fixed
 * places (tree x 2^d + position, padding past the live count), so the launches depend on (nw,
 * levels, n) and buffer addresses only, and a pack whose active slots do not change replays one
 * graph per wave. */
typedef struct dlevels_launch {
    prologue_launch pro; /* the first wave only (n_slots 0 after) */
    const bt_gbdt_round_init_tree *init;
    bt_gbdt_gh *hist;
    bt_gbdt_hist_zero_item *root_zero;
    bt_gbdt_apply_build *root_build;
    int32_t root_bpi, pad0_;
    bt_gbdt_apply_tree *trees;
    const bt_gbdt_rules *rules;
    const int32_t *missing_bin, *feats, *n_feats;
    bt_gbdt_apply_split_item *root_items; /* the roots' sums are written into them */
    bt_gbdt_split *splits;
    bt_gbdt_apply_part *part;
    bt_gbdt_level_pair *pairs[2];
    bt_gbdt_apply_split_item *split_items;
    int64_t *n_left;
    bt_gbdt_hist_zero_item *zero;
    bt_gbdt_hist_item *build;
    bt_gbdt_hist_sub_item *sub;
    void *split_scratch;
    bt_gbdt_node *nodes;
    bt_gbdt_gh *sum;
    int64_t *beg, *cnt, *hoff, *stack;
    /* the epilogue: leaf adds (one item per node place), left-out train rows, valid rows */
    const bt_gbdt_epilogue_tree *et;
    bt_gbdt_apply_leaf *leaves;
    const bt_gbdt_sample_rows_item *left_out;
    bt_gbdt_apply_pred *pred_train, *pred_valid;
    int32_t nw, levels, n_node_places, n_left_out, n_valid, pad_;
    /* trees with places at depth d (max_depth > d), the wave's first ones: deepest first */
    int32_t deep[BT_GBDT_LEVELS_MAX];
} dlevels_launch;

static bt_status dlevels_enqueue(cuda_pack *c, const void *params) {
    const dlevels_launch *L = params;
    const dev_data *dd = c->dd;
    const bt_binned *bm = &c->host.bin->train;
    const int32_t F = bm->n_features;
    void *stream = (void *)c->stream;
    if (L->pro.n_slots > 0) BT_TRY(prologue_enqueue(c, &L->pro));
    bt_gbdt_round_init_args ri;
    memset(&ri, 0, sizeof ri);
    ri.init = L->init;
    ri.eg = c->eg;
    ri.eh = c->eh;
    ri.finite = c->finite;
    ri.n_sampled = c->n_sampled;
    ri.n = c->n;
    ri.T = c->T;
    ri.trees = L->trees;
    ri.root_items = L->root_items;
    ri.root_zero = L->root_zero;
    ri.root_build = L->root_build;
    ri.et = L->et;
    ri.pred_train = L->pred_train;
    ri.pred_valid = L->pred_valid;
    ri.n_trees = L->nw;
    BT_TRY(bt_gbdt_round_init_cuda(&ri, stream));
    bt_gbdt_apply_args a;
    memset(&a, 0, sizeof a);
    a.trees = L->trees;
    a.n_trees = L->nw;
    a.n_features = F;
    a.feat_levels = L->levels;
    a.n_feats = L->n_feats;
    a.rules = L->rules;
    a.missing_bin = L->missing_bin;
    a.splits = L->splits;
    a.n_left = L->n_left;
    a.nodes = L->nodes;
    a.sum = L->sum;
    a.beg = L->beg;
    a.cnt = L->cnt;
    a.hoff = L->hoff;
    a.stack = L->stack;
    a.part = L->part;
    a.split_next = L->split_items;
    /* the roots: clear and build (no-op items for empty or disabled trees), then their sums */
    BT_TRY(bt_gbdt_hist_zero_cuda(L->hist, L->root_zero, L->nw, stream));
    BT_TRY(bt_gbdt_hist_cuda(dd->bins, bm->width, c->n, F, dd->off, 0, F, dd->max_entries, c->rows,
                             c->gh, L->hist, (const bt_gbdt_hist_item *)L->root_build, L->nw,
                             L->root_bpi, stream));
    BT_TRY(bt_gbdt_root_sum_cuda(L->hist, c->host.bin->off[0], c->host.bin->off[1], L->root_items,
                                 L->nw, stream));
    for (int32_t d = 0; d < L->levels; d++) {
        /* places of trees deep enough only: the previous level's partition (deep[d - 1] trees),
         * this level's pairs and split items (deep[d]); the apply also runs the trees that end
         * here (their last rows) */
        const int32_t W = (int32_t)1 << d, np = L->deep[d] * (W / 2), ns = L->deep[d] * W;
        const int32_t n_prev = d > 0 ? L->deep[d - 1] : L->nw;
        if (d == 0) {
            BT_TRY(bt_gbdt_split_cuda(L->hist, dd->off, dd->cut_ptr, dd->cut_values, dd->min_values,
                                      L->feats, c->params,
                                      (const bt_gbdt_split_item *)L->root_items, L->nw,
                                      L->split_scratch, L->splits, stream));
        } else {
            /* the host does not know the rows here: a built (smaller) child has at most half its
             * parent's, so n / 2 at any depth -- one big unbalanced node gets as many blocks as
             * a balanced level's largest (n >> d would give it one at depth 6) */
            const int32_t bpi = hist_bpi(c->n / 2, np);
            BT_TRY(partition_enqueue(c, (const bt_gbdt_partition_item *)L->part, n_prev * (W / 2),
                                     L->n_left));
            BT_TRY(bt_gbdt_level_prepare_cuda(L->pairs[(d - 1) & 1], np, L->n_left, c->T, L->zero,
                                              L->build, L->sub,
                                              (bt_gbdt_split_item *)L->split_items, stream));
            BT_TRY(bt_gbdt_hist_zero_cuda(L->hist, L->zero, np, stream));
            BT_TRY(bt_gbdt_hist_cuda(dd->bins, bm->width, c->n, F, dd->off, 0, F, dd->max_entries,
                                     c->rows, c->gh, L->hist, L->build, np, bpi, stream));
            BT_TRY(bt_gbdt_hist_sub_cuda(L->hist, L->sub, np, 0, c->T, stream));
            BT_TRY(bt_gbdt_split_cuda(L->hist, dd->off, dd->cut_ptr, dd->cut_values, dd->min_values,
                                      L->feats, c->params,
                                      (const bt_gbdt_split_item *)L->split_items, ns,
                                      L->split_scratch, L->splits, stream));
        }
        a.depth = d;
        a.n_trees = n_prev;
        a.root_items = d == 0 ? L->root_items : NULL;
        a.pairs_prev = d > 0 ? L->pairs[(d - 1) & 1] : NULL;
        a.pairs_next = L->pairs[d & 1];
        BT_TRY(bt_gbdt_apply_cuda(&a, stream));
    }
    const int32_t last = L->deep[L->levels - 1] * ((int32_t)1 << (L->levels - 1));
    BT_TRY(partition_enqueue(c, (const bt_gbdt_partition_item *)L->part, last, L->n_left));
    bt_gbdt_apply_args f;
    memset(&f, 0, sizeof f);
    f.trees = L->trees;
    f.n_trees = L->deep[L->levels - 1];
    f.depth = L->levels;
    f.finish = 1;
    f.n_left = L->n_left;
    f.nodes = L->nodes;
    f.beg = L->beg;
    f.cnt = L->cnt;
    BT_TRY(bt_gbdt_apply_cuda(&f, stream));
    /* the epilogue of these trees, from their device nodes */
    BT_TRY(bt_gbdt_epilogue_items_cuda(L->trees, L->et, L->nw, L->nodes, L->beg, L->cnt, L->leaves,
                                       L->pred_train, L->pred_valid, stream));
    BT_TRY(bt_gbdt_leaf_add_cuda(c->rows, c->margin_train, (const bt_gbdt_leaf_item *)L->leaves,
                                 L->n_node_places, stream));
    if (L->n_left_out) {
        /* the partition scratch is free now (as in epilogue_enqueue); the counts go to the second
         * half of n_sampled, so a later wave's round init still reads the prologue's */
        BT_TRY(sample_rows_enqueue(c, L->left_out, L->n_left_out, c->scratch,
                                   c->n_sampled + (int64_t)c->host.capacity * c->K));
        BT_TRY(bt_gbdt_predict_add_cuda(L->nodes, dd->X_train, F, c->scratch, c->margin_train,
                                        (const bt_gbdt_predict_item *)L->pred_train, L->n_left_out,
                                        stream));
    }
    if (L->n_valid)
        BT_TRY(bt_gbdt_predict_add_cuda(L->nodes, dd->X_valid, F, c->scratch, c->margin_valid,
                                        (const bt_gbdt_predict_item *)L->pred_valid, L->n_valid,
                                        stream));
    return BT_STATUS_OK;
}

/* Carves n bytes (256-aligned) from a running offset. */
static size_t carve(size_t *at, size_t bytes) {
    size_t o = (*at + 255) & ~(size_t)255;
    *at = o + bytes;
    return o;
}

/* What a wave of trees W[g0..g1) needs: its depth count, histogram slots (a region of
 * min(2^(max_depth-1), n) per tree), node places, prediction items, and the bytes of its
 * fixed-place device buffer (offsets in off[], see levels_device) and of its staged items (an
 * upper bound: every array may lose 255 bytes to alignment). */
typedef struct wave_plan {
    int32_t levels, n_pt, n_pv;
    int32_t deep[BT_GBDT_LEVELS_MAX]; /* trees with max(max_depth, 1) > d */
    int64_t n_stack, n_nodes;
    int64_t places; /* the most places of one level: max over d of deep[d] x 2^d */
    size_t dl_bytes, stage_bytes;
    size_t off[18];
} wave_plan;

static int64_t region_slots(const bt_gbdt_slot *s, int64_t n) {
    int64_t sc = s->max_depth > 1 ? (int64_t)1 << (s->max_depth - 1) : 1;
    return sc < n ? sc : n;
}

static bt_status wave_plan_make(const cuda_pack *c, const tgrow *W, int g0, int g1,
                                const prologue_launch *pro, wave_plan *p) {
    const int32_t F = c->host.bin->train.n_features;
    const int32_t nw = g1 - g0;
    memset(p, 0, sizeof *p);
    p->levels = 1;
    for (int t = g0; t < g1; t++) {
        const bt_gbdt_slot *s = W[t].s;
        if (s->max_depth > p->levels) p->levels = s->max_depth;
        for (int32_t d = 0; d < BT_GBDT_LEVELS_MAX && (d == 0 || d < s->max_depth); d++)
            p->deep[d]++;
        p->n_stack += region_slots(s, c->n);
        p->n_nodes += W[t].cap;
        p->n_pt += s->subsample < 1.0;
        p->n_pv += c->nv > 0;
    }
    if (p->levels > BT_GBDT_LEVELS_MAX)
        return BT_FAIL(BT_STATUS_INTERNAL, "gbdt on cuda: max_depth %d", p->levels);
    for (int32_t d = 0; d < p->levels; d++)
        if (((int64_t)p->deep[d] << d) > p->places) p->places = (int64_t)p->deep[d] << d;
    /* every level's places fit P: part, splits, split items (< deep[d] 2^d, and the next level's
     * deep[d + 1] 2^(d + 1)), pairs, left counts, histogram items */
    const size_t P = (size_t)p->places, NN = (size_t)(p->n_nodes > 0 ? p->n_nodes : 1);
    const size_t w = (size_t)nw;
    size_t at = 0, k = 0;
    p->off[k++] = carve(&at, P * sizeof(bt_gbdt_split));
    p->off[k++] = carve(&at, P * sizeof(bt_gbdt_apply_part));
    p->off[k++] = carve(&at, P * sizeof(bt_gbdt_level_pair));
    p->off[k++] = carve(&at, P * sizeof(bt_gbdt_level_pair));
    p->off[k++] = carve(&at, 2 * P * sizeof(bt_gbdt_apply_split_item));
    p->off[k++] = carve(&at, P * sizeof(int64_t));
    p->off[k++] = carve(&at, P * sizeof(bt_gbdt_hist_zero_item));
    p->off[k++] = carve(&at, P * sizeof(bt_gbdt_hist_item));
    p->off[k++] = carve(&at, P * sizeof(bt_gbdt_hist_sub_item));
    p->off[k++] = carve(&at, bt_gbdt_split_cuda_scratch_bytes((int32_t)P));
    p->off[k++] = carve(&at, NN * sizeof(bt_gbdt_node));
    p->off[k++] = carve(&at, NN * sizeof(bt_gbdt_gh));
    p->off[k++] = carve(&at, NN * sizeof(int64_t));
    p->off[k++] = carve(&at, NN * sizeof(int64_t));
    p->off[k++] = carve(&at, NN * sizeof(int64_t));
    p->off[k++] = carve(&at, NN * sizeof(bt_gbdt_apply_leaf));
    p->off[k++] = carve(&at, w * sizeof(bt_gbdt_hist_zero_item));
    p->off[k++] = carve(&at, w * sizeof(bt_gbdt_apply_build));
    p->dl_bytes = at;
    size_t sb =
        w * (sizeof(bt_gbdt_apply_tree) + sizeof(bt_gbdt_rules) + sizeof(bt_gbdt_apply_split_item) +
             sizeof(bt_gbdt_round_init_tree) + sizeof(bt_gbdt_epilogue_tree)) +
        w * (size_t)p->levels * ((size_t)F + 1) * sizeof(int32_t) + (size_t)F * sizeof(int32_t) +
        (size_t)p->n_stack * sizeof(int64_t) +
        (size_t)p->n_pt * (sizeof(bt_gbdt_sample_rows_item) + sizeof(bt_gbdt_apply_pred)) +
        (size_t)p->n_pv * sizeof(bt_gbdt_apply_pred) + 16 * 256;
    if (pro)
        sb +=
            (size_t)pro->n_slots * sizeof(bt_gbdt_grad_item) +
            (size_t)pro->n_trees * (sizeof(bt_gbdt_quant_item) + sizeof(bt_gbdt_sample_rows_item)) +
            3 * 256;
    p->stage_bytes = sb;
    return BT_STATUS_OK;
}

/* Grows trees W[g0..g1) on the device with one upload, one graph and one wait (see
 * dlevels_launch); pro: the round's prologue (host arrays), staged and run with the first wave
 * (else NULL). fin and nsm (the round's finite flags and sample counts, by tree) are read back at
 * the first wave's wait and read by later waves. A tree whose slot has a non-finite tree was
 * disabled on the device and is left with n_nodes 0. Fills the other trees' nodes, n_nodes, m and
 * node row ranges (checked). */
static bt_status levels_device(cuda_pack *c, tgrow *W, int g0, int g1, const prologue_launch *pro,
                               int32_t *fin, int64_t *nsm, const round_slots *last) {
    const bt_gbdt_binning *B = c->host.bin;
    const int32_t F = B->train.n_features;
    const int64_t T = c->T, n = c->n;
    const int32_t nw = g1 - g0;
    bt_status st = BT_STATUS_OK;
    wave_plan pl;
    BT_TRY(wave_plan_make(c, W, g0, g1, pro, &pl));
    const int32_t levels = pl.levels;
    bt_gbdt_apply_tree *tr = calloc((size_t)nw, sizeof *tr);
    bt_gbdt_rules *ru = calloc((size_t)nw, sizeof *ru);
    bt_gbdt_apply_split_item *ri = calloc((size_t)nw, sizeof *ri);
    bt_gbdt_round_init_tree *init = calloc((size_t)nw, sizeof *init);
    int32_t *feats = calloc((size_t)nw * (size_t)levels * (size_t)F, sizeof *feats);
    int32_t *nf = calloc((size_t)nw * (size_t)levels, sizeof *nf);
    uint64_t *fscratch = malloc((2 * (size_t)F + 8) * sizeof *fscratch);
    int64_t *stack = malloc((size_t)(pl.n_stack > 0 ? pl.n_stack : 1) * sizeof *stack);
    int64_t *rb = NULL, *rc = NULL;
    bt_gbdt_node *rn = NULL;
    bt_gbdt_epilogue_tree *et = calloc((size_t)nw, sizeof *et);
    bt_gbdt_apply_pred *ptr = calloc((size_t)nw, sizeof *ptr),
                       *pva = calloc((size_t)nw, sizeof *pva);
    bt_gbdt_sample_rows_item *lo = calloc((size_t)nw, sizeof *lo);
    int *ord = malloc((size_t)(nw > 0 ? nw : 1) * sizeof *ord);
    int32_t n_pt = 0, n_pv = 0;
    if (!(tr && ru && ri && init && feats && nf && fscratch && stack && et && ptr && pva && lo &&
          ord)) {
        st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory for the device levels");
        goto done;
    }
    /* device order: deepest trees first (stable), so the trees with places at depth d are the
     * first pl.deep[d] and each level's launches cover just them; ord[j] is W's index */
    for (int32_t D = levels, j = 0; D >= 1; D--)
        for (int t = g0; t < g1; t++)
            if ((W[t].s->max_depth > 1 ? W[t].s->max_depth : 1) == D) ord[j++] = t;
    int64_t n_nodes_all = 0, n_stack = 0;
    for (int j = 0; j < nw; j++) {
        tgrow *w = &W[ord[j]];
        const bt_gbdt_slot *s = w->s;
        const int64_t sc = region_slots(s, n);
        /* the tree's histogram region [n_stack, + sc): its root's first, the others free */
        tr[j].seg = w->seg;
        tr[j].stack_base = n_stack;
        tr[j].rules = j;
        tr[j].trial = w->slot;
        tr[j].node_base = (int32_t)n_nodes_all;
        tr[j].cap = w->cap;
        tr[j].n_nodes = 1;
        tr[j].feats_begin = j * levels * F;
        tr[j].n_free = (int32_t)sc - 1;
        tr[j].stack_cap = (int32_t)sc;
        for (int64_t i = 1; i < sc; i++) stack[n_stack + i - 1] = (n_stack + i) * T;
        init[j].item = ord[j];
        init[j].slot_first = ord[j] - w->k;
        init[j].n_out = s->n_out;
        n_nodes_all += w->cap;
        ru[j].sp = s->sp;
        ru[j].eta = s->eta;
        ru[j].gamma = s->gamma;
        ru[j].max_depth = s->max_depth;
        /* the level feature samples do not depend on the data: all levels now (grow.c draws the
         * same, level by level) */
        uint64_t tree = (uint64_t)s->round * (uint64_t)s->n_out + (uint64_t)w->k;
        for (int32_t d = 0; d < levels; d++)
            nf[j * levels + d] = bt_gbdt_sample_features_ref(
                s->key, tree, (uint32_t)d + 1, w->feats_tree, w->n_feats_tree, s->colsample_bylevel,
                feats + ((int64_t)j * levels + d) * F, fscratch);
        /* units, rows and the root's items: bt_gbdt_round_init_cuda */
        ri[j].hist_offset = n_stack * T;
        ri[j].trial = w->slot;
        ri[j].feats_begin = j * levels * F;
        ri[j].n_feats = nf[j * levels];
        n_stack += sc;
        /* the epilogue: leaves into the train margins, rows a subsampled tree left out (n - m:
         * the round init), the valid rows; n_nodes is the device's */
        et[j].tmpl.row_begin = w->seg;
        et[j].tmpl.margin_offset = (int64_t)w->slot * n * c->K;
        et[j].tmpl.stride = s->n_out;
        et[j].tmpl.k = w->k;
        et[j].pred_train = et[j].pred_valid = -1;
        bt_gbdt_apply_pred p;
        memset(&p, 0, sizeof p);
        p.nodes_offset = tr[j].node_base;
        p.stride = s->n_out;
        p.k = w->k;
        if (s->subsample < 1.0) { /* every round, so the launch does not depend on m */
            lo[n_pt].key = s->key;
            lo[n_pt].tree = tree;
            lo[n_pt].subsample = s->subsample;
            lo[n_pt].out_offset = w->seg;
            lo[n_pt].complement = 1;
            p.margin_offset = (int64_t)w->slot * n * c->K;
            p.row_begin = w->seg;
            et[j].pred_train = n_pt;
            ptr[n_pt++] = p;
        }
        if (c->nv > 0) {
            p.margin_offset = (int64_t)w->slot * c->nv * c->K;
            p.row_begin = -1;
            p.n = c->nv;
            et[j].pred_valid = n_pv;
            pva[n_pv++] = p;
        }
    }
    TRYG(hist_reserve(c, n_stack, 0));
    c->stage.used = 0;
    size_t o_g = 0, o_q = 0, o_r = 0;
    if (pro) {
        STAGE(c, pro->grad, pro->n_slots, o_g);
        STAGE(c, pro->quant, pro->n_trees, o_q);
        STAGE(c, pro->rows, pro->n_trees, o_r);
    }
    size_t o_tr, o_ru, o_ri, o_in, o_fe, o_nf, o_mi, o_st;
    STAGE(c, tr, nw, o_tr);
    STAGE(c, ru, nw, o_ru);
    STAGE(c, ri, nw, o_ri);
    STAGE(c, init, nw, o_in);
    STAGE(c, feats, (int64_t)nw * levels * F, o_fe);
    STAGE(c, nf, (int64_t)nw * levels, o_nf);
    STAGE(c, B->missing_bin, F, o_mi);
    STAGE(c, stack, n_stack, o_st);
    size_t o_et, o_lo, o_pt, o_pv;
    STAGE(c, et, nw, o_et);
    STAGE(c, lo, n_pt, o_lo);
    STAGE(c, ptr, n_pt, o_pt);
    STAGE(c, pva, n_pv, o_pv);
    char *dbase = NULL;
    TRYG(stage_upload(c, &dbase));
    TRYG(dbuf_reserve(&c->dl, pl.dl_bytes, c->stream, &c->oom));
    char *db = c->dl.p;
    const size_t *o = pl.off;
    dlevels_launch L;
    memset(&L, 0, sizeof L); /* compared with memcmp */
    if (pro) {
        L.pro.grad = (const bt_gbdt_grad_item *)(dbase + o_g);
        L.pro.quant = (const bt_gbdt_quant_item *)(dbase + o_q);
        L.pro.rows = (const bt_gbdt_sample_rows_item *)(dbase + o_r);
        L.pro.n_slots = pro->n_slots;
        L.pro.n_trees = pro->n_trees;
    }
    L.init = (const bt_gbdt_round_init_tree *)(dbase + o_in);
    L.hist = c->hist;
    L.root_bpi = hist_bpi(n, nw); /* a root has at most n rows */
    L.trees = (bt_gbdt_apply_tree *)(dbase + o_tr);
    L.rules = (const bt_gbdt_rules *)(dbase + o_ru);
    L.root_items = (bt_gbdt_apply_split_item *)(dbase + o_ri);
    L.feats = (const int32_t *)(dbase + o_fe);
    L.n_feats = (const int32_t *)(dbase + o_nf);
    L.missing_bin = (const int32_t *)(dbase + o_mi);
    L.stack = (int64_t *)(dbase + o_st);
    L.splits = (bt_gbdt_split *)(db + o[0]);
    L.part = (bt_gbdt_apply_part *)(db + o[1]);
    L.pairs[0] = (bt_gbdt_level_pair *)(db + o[2]);
    L.pairs[1] = (bt_gbdt_level_pair *)(db + o[3]);
    L.split_items = (bt_gbdt_apply_split_item *)(db + o[4]);
    L.n_left = (int64_t *)(db + o[5]);
    L.zero = (bt_gbdt_hist_zero_item *)(db + o[6]);
    L.build = (bt_gbdt_hist_item *)(db + o[7]);
    L.sub = (bt_gbdt_hist_sub_item *)(db + o[8]);
    L.split_scratch = db + o[9];
    L.nodes = (bt_gbdt_node *)(db + o[10]);
    L.sum = (bt_gbdt_gh *)(db + o[11]);
    L.beg = (int64_t *)(db + o[12]);
    L.cnt = (int64_t *)(db + o[13]);
    L.hoff = (int64_t *)(db + o[14]);
    L.leaves = (bt_gbdt_apply_leaf *)(db + o[15]);
    L.root_zero = (bt_gbdt_hist_zero_item *)(db + o[16]);
    L.root_build = (bt_gbdt_apply_build *)(db + o[17]);
    L.et = (const bt_gbdt_epilogue_tree *)(dbase + o_et);
    L.left_out = (const bt_gbdt_sample_rows_item *)(dbase + o_lo);
    L.pred_train = (bt_gbdt_apply_pred *)(dbase + o_pt);
    L.pred_valid = (bt_gbdt_apply_pred *)(dbase + o_pv);
    L.nw = nw;
    L.levels = levels;
    memcpy(L.deep, pl.deep, sizeof L.deep);
    L.n_node_places = (int32_t)n_nodes_all;
    L.n_left_out = n_pt;
    L.n_valid = n_pv;
    TRYG(graph_run(c, dlevels_enqueue, &L, sizeof L));
    /* one wait: (first wave) the round's finite flags and sample counts; the trees' states, nodes
     * and node row ranges; (last wave) the margins */
    const size_t NN = (size_t)(n_nodes_all > 0 ? n_nodes_all : 1);
    rn = malloc(NN * sizeof *rn);
    rb = malloc(NN * sizeof *rb);
    rc = malloc(NN * sizeof *rc);
    if (!(rn && rb && rc)) {
        st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory for the device levels");
        goto done;
    }
    if (pro) {
        CUG(cudaMemcpyAsync(fin, c->finite, (size_t)pro->n_trees * sizeof *fin,
                            cudaMemcpyDeviceToHost, c->stream));
        CUG(cudaMemcpyAsync(nsm, c->n_sampled, (size_t)pro->n_trees * sizeof *nsm,
                            cudaMemcpyDeviceToHost, c->stream));
    }
    CUG(cudaMemcpyAsync(tr, L.trees, (size_t)nw * sizeof *tr, cudaMemcpyDeviceToHost, c->stream));
    CUG(cudaMemcpyAsync(rn, L.nodes, NN * sizeof *rn, cudaMemcpyDeviceToHost, c->stream));
    CUG(cudaMemcpyAsync(rb, L.beg, NN * sizeof *rb, cudaMemcpyDeviceToHost, c->stream));
    CUG(cudaMemcpyAsync(rc, L.cnt, NN * sizeof *rc, cudaMemcpyDeviceToHost, c->stream));
    if (last) TRYG(queue_margins(c, last->act, last->act_slot, last->slot_ok, last->n_act));
    CUG(cudaStreamSynchronize(c->stream));
    for (int j = 0; j < nw; j++) {
        tgrow *w = &W[ord[j]];
        const int t0 = init[j].slot_first;
        int ok = 1;
        for (int32_t k = 0; k < init[j].n_out; k++) ok = ok && fin[t0 + k];
        w->n_nodes = 0;
        if (!ok) continue; /* disabled on the device: the caller fails its slot */
        w->m = nsm[ord[j]];
        if (w->m < 0 || w->m > n) {
            st = BT_FAIL(BT_STATUS_INTERNAL, "gbdt on cuda: sampled %lld of %lld rows",
                         (long long)w->m, (long long)n);
            goto done;
        }
        if (tr[j].error || tr[j].n_nodes < 1 || tr[j].n_nodes > w->cap) {
            st = BT_FAIL(BT_STATUS_INTERNAL,
                         "gbdt on cuda: the device's split application failed (error %d, %d "
                         "nodes)",
                         tr[j].error, tr[j].n_nodes);
            goto done;
        }
        w->n_nodes = tr[j].n_nodes;
        const int64_t nb = tr[j].node_base;
        memcpy(w->nodes, rn + nb, (size_t)w->n_nodes * sizeof *w->nodes);
        for (int32_t id = 0; id < w->n_nodes; id++) {
            if (rb[nb + id] < 0 || rc[nb + id] < 0 || rb[nb + id] + rc[nb + id] > w->m) {
                st = BT_FAIL(BT_STATUS_INTERNAL, "gbdt on cuda: node %d has rows [%lld, +%lld)", id,
                             (long long)rb[nb + id], (long long)rc[nb + id]);
                goto done;
            }
            w->beg[id] = rb[nb + id];
            w->cnt[id] = rc[nb + id];
        }
    }
done:
    free(tr);
    free(ru);
    free(ri);
    free(init);
    free(feats);
    free(nf);
    free(fscratch);
    free(stack);
    free(rn);
    free(rb);
    free(rc);
    free(et);
    free(ptr);
    free(pva);
    free(lo);
    free(ord);
    return st;
}

/* A round of the listed slots with the levels on the device: W[0..*n_w) are their trees (slot by
 * slot, k = 0.. within one), pro the prologue's items (host arrays). Trees go in waves whose
 * histogram regions fit the pack's budget (trees are independent: waves change nothing but peak
 * memory), one graph and one wait each; everything a wave allocates is reserved before the first
 * wave runs, so an out-of-memory retry finds the margins untouched. Slots with a non-finite
 * gradient are marked failed and their trees dropped from W (*n_w shrinks); the others' trees are
 * grown. */
static bt_status round_device(cuda_pack *c, tgrow *W, int *n_w_io, bt_gbdt_slot **act,
                              const int *act_slot, int n_act, const prologue_launch *pro) {
    const int32_t F = c->host.bin->train.n_features;
    const int64_t n = c->n, T = c->T;
    const int n_w = *n_w_io;
    bt_status st = BT_STATUS_OK;
    int32_t *fin = malloc((size_t)n_w * sizeof *fin);
    int64_t *nsm = malloc((size_t)n_w * sizeof *nsm);
    int *wave_end = malloc((size_t)n_w * sizeof *wave_end);
    uint64_t *fscratch = malloc((2 * (size_t)F + 8) * sizeof *fscratch);
    if (!(fin && nsm && wave_end && fscratch)) {
        st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory growing trees");
        goto done;
    }
    for (int t = 0; t < n_w; t++) {
        st = tgrow_begin(&W[t], n, F, fscratch);
        if (st != BT_STATUS_OK) goto done;
    }
    /* the waves, and the most any of them needs (reserved now) */
    int n_waves = 0;
    int64_t max_slots = 0;
    size_t max_dl = 0, max_stage = 0;
    for (int g0 = 0, g1 = 0; g0 < n_w; g0 = g1) {
        int64_t wave_bytes = 0;
        for (g1 = g0; g1 < n_w; g1++) {
            /* its histogram region and its places at its deepest level (a bound of its share of
             * the wave's place buffer) */
            const bt_gbdt_slot *s = W[g1].s;
            int64_t bytes =
                region_slots(s, n) * T * (int64_t)sizeof(bt_gbdt_gh) +
                ((int64_t)1 << (s->max_depth > 1 ? s->max_depth - 1 : 0)) * (int64_t)place_bytes();
            if (g1 > g0 && wave_bytes + bytes > c->hist_budget) break;
            wave_bytes += bytes;
        }
        wave_plan pl;
        TRYG(wave_plan_make(c, W, g0, g1, g0 == 0 ? pro : NULL, &pl));
        if (pl.n_stack > max_slots) max_slots = pl.n_stack;
        if (pl.dl_bytes > max_dl) max_dl = pl.dl_bytes;
        if (pl.stage_bytes > max_stage) max_stage = pl.stage_bytes;
        wave_end[n_waves++] = g1;
    }
    TRYG(hist_reserve(c, max_slots, 0));
    TRYG(dbuf_reserve(&c->dl, max_dl, c->stream, &c->oom));
    TRYG(dbuf_reserve(&c->items, max_stage, c->stream, &c->oom));
    if (!hstage_reserve(&c->stage, max_stage, &c->oom)) { /* a wave only stages, never grows */
        st = BT_FAIL(BT_STATUS_INTERNAL, "out of pinned memory staging %zu bytes", max_stage);
        goto done;
    }
    round_slots rs = {act, act_slot, NULL, n_act}; /* a disabled slot's margins are unchanged */
    for (int v = 0, g0 = 0; v < n_waves; g0 = wave_end[v++])
        TRYG(levels_device(c, W, g0, wave_end[v], v == 0 ? pro : NULL, fin, nsm,
                           v + 1 == n_waves ? &rs : NULL));
    /* a slot with any non-finite gradient fails (as pack.c's slot_gradients); its trees drop out */
    int kept = 0;
    for (int i = 0, t = 0; i < n_act; i++) {
        int ok = 1;
        for (int32_t k = 0; k < act[i]->n_out; k++) ok = ok && fin[t + k];
        if (!ok) act[i]->failed = 1;
        for (int32_t k = 0; k < act[i]->n_out; k++, t++) {
            if (ok) {
                W[kept++] = W[t];
            } else {
                tgrow_free(&W[t]);
            }
        }
    }
    for (int t = kept; t < n_w; t++) memset(&W[t], 0, sizeof W[t]);
    *n_w_io = kept;
done:
    free(fin);
    free(nsm);
    free(wave_end);
    free(fscratch);
    return st;
}

/* Grows one round for the listed slots (not failed, not stopped, trees capacity ready): gradients,
 * quantization, row sampling, the levels, leaves, predictions of out-of-sample train rows and of
 * the valid set, then copies margins and trees to the host slots. Slots whose gradients are not
 * finite are marked failed and grow nothing. */
static bt_status cuda_round(cuda_pack *c, bt_gbdt_slot **act, const int *act_slot, int n_act) {
    const bt_gbdt_binning *B = c->host.bin;
    const bt_binned *bm = &B->train;
    const int64_t n = c->n, nv = c->nv, K = c->K, T = c->T;
    const int32_t F = bm->n_features;
    bt_status st = BT_STATUS_OK;
    char *dbase = NULL;
    size_t o1 = 0, o2 = 0, o3 = 0, o4 = 0, o5 = 0;
    hpool hp = {0};

    int n_w = 0;
    for (int i = 0; i < n_act; i++) n_w += act[i]->n_out;
    tgrow *W = calloc((size_t)(n_w > 0 ? n_w : 1), sizeof *W);
    BT_CHECK_ALLOC(W);
    /* host scratch, sized per use */
    bt_gbdt_grad_item *gi = NULL;
    bt_gbdt_quant_item *qi = NULL;
    bt_gbdt_sample_rows_item *ri = NULL;
    int32_t *eg = NULL, *eh = NULL, *fin = NULL;
    int64_t *nsm = NULL, *nleft = NULL;
    int32_t *feats = NULL;
    bt_gbdt_hist_item *hi = NULL;
    bt_gbdt_hist_zero_item *zi = NULL;
    bt_gbdt_level_pair *pairs = NULL;
    int32_t *pair_tree = NULL;
    int64_t *pair_new = NULL;
    bt_gbdt_hist_sub_item *si = NULL;
    bt_gbdt_split_item *pi = NULL;
    bt_gbdt_split *splits = NULL;
    bt_gbdt_partition_item *ti = NULL;
    int32_t *ti_tree = NULL, *ti_node = NULL, *pi_tree = NULL, *pi_node = NULL;
    bt_gbdt_gh *root_bins = NULL;
    uint64_t *fscratch = NULL;
    bt_gbdt_leaf_item *li = NULL;
    bt_gbdt_predict_item *pti = NULL, *pvi = NULL;
    bt_gbdt_node *all_nodes = NULL;
    int *slot_ok = NULL;

    for (int i = 0, t = 0; i < n_act; i++)
        for (int32_t k = 0; k < act[i]->n_out; k++, t++) {
            W[t].s = act[i];
            W[t].slot = act_slot[i];
            W[t].k = k;
            W[t].seg = ((int64_t)act_slot[i] * K + k) * n;
        }

    /* 1. gradients (per slot), quantization and row samples (per tree) */
    ALLOCG(gi, n_act);
    ALLOCG(qi, n_w);
    ALLOCG(ri, n_w);
    for (int i = 0; i < n_act; i++) {
        bt_gbdt_grad_item x = {(int64_t)act_slot[i] * n * K, (int64_t)act_slot[i] * K * n,
                               (int32_t)act[i]->obj, act[i]->n_out};
        gi[i] = x;
    }
    for (int t = 0; t < n_w; t++) {
        const bt_gbdt_slot *s = W[t].s;
        bt_gbdt_quant_item q = {W[t].seg, n};
        qi[t] = q;
        memset(&ri[t], 0, sizeof ri[t]);
        ri[t].key = s->key;
        ri[t].tree = (uint64_t)s->round * (uint64_t)s->n_out + (uint64_t)W[t].k;
        ri[t].subsample = s->subsample;
        ri[t].out_offset = W[t].seg;
        ri[t].complement = 0;
    }
    if (c->device_levels) { /* the whole round in one graph and one wait (per wave) */
        const prologue_launch pro = {gi, qi, ri, n_act, n_w}; /* host arrays, staged there */
        TRYG(round_device(c, W, &n_w, act, act_slot, n_act, &pro));
        goto trees_out;
    }
    c->stage.used = 0;
    STAGE(c, gi, n_act, o1);
    STAGE(c, qi, n_w, o2);
    STAGE(c, ri, n_w, o3);
    TRYG(stage_upload(c, &dbase));
    {
        prologue_launch pl;
        memset(&pl, 0, sizeof pl); /* compared with memcmp */
        pl.grad = (const bt_gbdt_grad_item *)(dbase + o1);
        pl.quant = (const bt_gbdt_quant_item *)(dbase + o2);
        pl.rows = (const bt_gbdt_sample_rows_item *)(dbase + o3);
        pl.n_slots = n_act;
        pl.n_trees = n_w;
        TRYG(graph_run(c, prologue_enqueue, &pl, sizeof pl));
    }
    ALLOCG(eg, n_w);
    ALLOCG(eh, n_w);
    ALLOCG(fin, n_w);
    ALLOCG(nsm, n_w);
    CUG(cudaMemcpyAsync(eg, c->eg, (size_t)n_w * sizeof *eg, cudaMemcpyDeviceToHost, c->stream));
    CUG(cudaMemcpyAsync(eh, c->eh, (size_t)n_w * sizeof *eh, cudaMemcpyDeviceToHost, c->stream));
    CUG(cudaMemcpyAsync(fin, c->finite, (size_t)n_w * sizeof *fin, cudaMemcpyDeviceToHost,
                        c->stream));
    CUG(cudaMemcpyAsync(nsm, c->n_sampled, (size_t)n_w * sizeof *nsm, cudaMemcpyDeviceToHost,
                        c->stream));
    CUG(cudaStreamSynchronize(c->stream));

    /* a slot with any non-finite gradient fails (as pack.c's slot_gradients); its trees drop out */
    ALLOCG(slot_ok, n_act);
    for (int i = 0, t = 0; i < n_act; i++) {
        slot_ok[i] = 1;
        for (int32_t k = 0; k < act[i]->n_out; k++, t++) slot_ok[i] = slot_ok[i] && fin[t];
        if (!slot_ok[i]) act[i]->failed = 1;
    }
    {
        int kept = 0;
        for (int t = 0; t < n_w; t++) {
            if (W[t].s->failed) continue;
            W[t].gu = ldexp(1.0, -eg[t]);
            W[t].hu = ldexp(1.0, -eh[t]);
            W[t].m = nsm[t];
            if (W[t].m < 0 || W[t].m > n) {
                st = BT_FAIL(BT_STATUS_INTERNAL, "gbdt on cuda: sampled %lld of %lld rows",
                             (long long)W[t].m, (long long)n);
                goto done;
            }
            W[kept++] = W[t];
        }
        for (int t = kept; t < n_w; t++) memset(&W[t], 0, sizeof W[t]);
        n_w = kept;
    }
    ALLOCG(fscratch, 2 * (int64_t)F + 8);
    for (int t = 0; t < n_w; t++) {
        tgrow *w = &W[t];
        const bt_gbdt_slot *s = w->s;
        st = tgrow_begin(w, n, F, fscratch);
        if (st != BT_STATUS_OK) goto done;
        w->n_nodes = 1;
        w->beg[0] = 0;
        w->cnt[0] = w->m;
        /* root sums come from the root histogram (depth 0 below); an empty root is a 0 leaf */
        w->sum[0].g = w->sum[0].h = 0;
        float wt = bt_gbdt_weight(&s->sp, 0.0, 0.0);
        set_leaf(w, 0, -1, wt, wt * s->eta);
        w->level[0] = 0;
        w->n_level = w->m > 0 ? 1 : 0;
    }

    /* 2. levels, in waves of trees whose histograms fit the pool budget (a tree at depth d holds
     * at most min(2^d, rows) histograms at once); trees are independent, so waves change nothing
     * but peak memory */
    for (int g0 = 0, g1 = 0; g0 < n_w; g0 = g1) {
        int64_t wave_bytes = 0;
        for (g1 = g0; g1 < n_w; g1++) {
            int32_t d = W[g1].s->max_depth > 1 ? W[g1].s->max_depth - 1 : 0;
            int64_t live = d < 40 ? (int64_t)1 << d : INT64_MAX / 4;
            if (live > W[g1].m) live = W[g1].m > 0 ? W[g1].m : 1;
            int64_t bytes = live * T * (int64_t)sizeof(bt_gbdt_gh);
            if (g1 > g0 && wave_bytes + bytes > c->hist_budget) break;
            wave_bytes += bytes;
        }
        /* partition items of the last applied level (ti, ti_tree, ti_node): they run at the start
         * of the next level's graph, whose pairs learn their children's ranges on the device */
        int32_t n_part = 0;
        for (int depth = 0;; depth++) {
            int64_t n_nodes_lv = 0, n_build = 0, n_feats = 0, max_rows = 0;
            int32_t n_pairs = 0;
            for (int t = g0; t < g1; t++) {
                n_nodes_lv += W[t].n_level;
                if (W[t].n_level) n_feats += F;
            }
            if (n_nodes_lv == 0) break;
            const int32_t pn = pad_pow2(n_nodes_lv);
            ALLOCG(feats, n_feats);
            ALLOCG(zi, pn);
            ALLOCG(hi, pn);
            ALLOCG(si, pn);
            ALLOCG(pi, pn);
            ALLOCG(pi_tree, n_nodes_lv);
            ALLOCG(pi_node, n_nodes_lv);
            ALLOCG(pairs, pn);
            ALLOCG(pair_tree, pn);
            ALLOCG(pair_new, pn);
            n_feats = 0;
            for (int t = g0; t < g1; t++) {
                tgrow *w = &W[t];
                if (w->n_level == 0) continue;
                const bt_gbdt_slot *s = w->s;
                uint64_t tree = (uint64_t)s->round * (uint64_t)s->n_out + (uint64_t)w->k;
                w->n_feats_level = bt_gbdt_sample_features_ref(
                    s->key, tree, (uint32_t)depth + 1, w->feats_tree, w->n_feats_tree,
                    s->colsample_bylevel, w->feats_level, fscratch);
                w->feats_begin = n_feats;
                memcpy(feats + n_feats, w->feats_level, (size_t)w->n_feats_level * sizeof *feats);
                n_feats += w->n_feats_level;
                /* histograms: the root is built; below, the smaller child of each pair is built and
                 * the larger one is its parent's histogram minus it (exact in integers) */
                if (depth == 0) {
                    w->hslot[0] = hpool_get(&hp);
                    bt_gbdt_hist_item x = {w->seg, w->cnt[0], w->seg, w->hslot[0] * T};
                    hi[n_build++] = x;
                    if (w->cnt[0] > max_rows) max_rows = w->cnt[0];
                    continue;
                }
                /* which child is smaller is known once the parent's partition ran: the pair is
                 * resolved on the device (kernels/gbdt_level.h); the host learns it from the left
                 * count it reads back with the splits */
                for (int32_t i = 0; i + 1 < w->n_level; i += 2) {
                    int32_t a = w->level[i];
                    int32_t P = w->nodes[a].parent;
                    if (P < 0 || w->hslot[P] < 0 || w->part_of[P] < 0) {
                        st = BT_FAIL(BT_STATUS_INTERNAL, "gbdt on cuda: a level's parent has no "
                                                         "histogram");
                        goto done;
                    }
                    bt_gbdt_level_pair q;
                    memset(&q, 0, sizeof q);
                    q.seg = w->seg;
                    q.parent_begin = w->beg[P];
                    q.parent_rows = w->cnt[P];
                    q.parent_hist = w->hslot[P] * T;
                    pair_new[n_pairs] = hpool_get(&hp);
                    q.new_hist = pair_new[n_pairs] * T;
                    q.part = w->part_of[P];
                    /* split items are made in level order: the pair's children are 2k, 2k + 1 */
                    q.split_left = 2 * n_pairs;
                    q.split_right = 2 * n_pairs + 1;
                    w->hslot[P] = -1; /* its histogram becomes the larger child's */
                    pair_tree[n_pairs] = t;
                    pairs[n_pairs++] = q;
                    if (w->cnt[P] / 2 > max_rows) max_rows = w->cnt[P] / 2;
                }
            }
            TRYG(hist_reserve(c, hp.n_used, 1));
            /* from the actual counts: a root's rows, or half the largest parent's */
            const int32_t bpi = hist_bpi(max_rows, pad_pow2(depth == 0 ? n_build : n_pairs));
            int32_t n_split = 0;
            level_launch lv;
            memset(&lv, 0, sizeof lv); /* padding bytes too: the struct is compared with memcmp */
            if (depth == 0) {
                /* the roots: clear and build; their sums come from their histograms, then the
                 * evaluation (a second upload, ordered after these launches) */
                const int32_t pb = pad_pow2(n_build);
                for (int64_t j = 0; j < n_build; j++) {
                    zi[j].offset = hi[j].hist_offset;
                    zi[j].n = T;
                }
                pad_items(zi, hi, (int32_t)n_build, pb, si, 0, 0, pi, 0, 0);
                c->stage.used = 0;
                STAGE(c, zi, pb, o1);
                STAGE(c, hi, pb, o2);
                TRYG(stage_upload(c, &dbase));
                lv.hist = c->hist;
                lv.zero = (bt_gbdt_hist_zero_item *)(dbase + o1);
                lv.build = (bt_gbdt_hist_item *)(dbase + o2);
                lv.n_build = pb;
                lv.bpi = bpi;
                TRYG(level_run(c, &lv));
                /* every row falls in exactly one entry of feature 0 (a bin or its missing slot), so
                 * those entries sum to the root's total, the same integers grow.c adds row by row
                 */
                const int64_t e0 = B->off[0], ne = (int64_t)(B->off[1] - B->off[0]);
                ALLOCG(root_bins, ne * (int64_t)n_w);
                for (int t = g0; t < g1; t++)
                    if (W[t].n_level > 0)
                        CUG(cudaMemcpyAsync(
                            root_bins + (int64_t)t * ne, c->hist + W[t].hslot[0] * T + e0,
                            (size_t)ne * sizeof *root_bins, cudaMemcpyDeviceToHost, c->stream));
                CUG(cudaStreamSynchronize(c->stream));
                for (int t = g0; t < g1; t++) {
                    tgrow *w = &W[t];
                    if (w->n_level == 0) continue;
                    bt_gbdt_gh S = {0, 0};
                    for (int64_t e = 0; e < ne; e++) {
                        S.g += root_bins[(int64_t)t * ne + e].g;
                        S.h += root_bins[(int64_t)t * ne + e].h;
                    }
                    w->sum[0] = S;
                    float wt = bt_gbdt_weight(&w->s->sp, (double)S.g * w->gu, (double)S.h * w->hu);
                    set_leaf(w, 0, -1, wt, wt * w->s->eta);
                }
                n_split = split_items(W, g0, g1, T, pi, pi_tree, pi_node);
                const int32_t pp = pad_pow2(n_split);
                pad_items(zi, hi, 0, 0, si, 0, 0, pi, n_split, pp);
                c->stage.used = 0;
                STAGE(c, feats, n_feats, o4);
                STAGE(c, pi, pp, o5);
                TRYG(stage_upload(c, &dbase));
                TRYG(dbuf_reserve(&c->split_scratch, bt_gbdt_split_cuda_scratch_bytes(pp),
                                  c->stream, &c->oom));
                TRYG(dbuf_reserve(&c->splits, (size_t)(pp > 0 ? pp : 1) * sizeof(bt_gbdt_split),
                                  c->stream, &c->oom));
                memset(&lv, 0, sizeof lv);
                lv.hist = c->hist;
                lv.feats = (const int32_t *)(dbase + o4);
                lv.split = (bt_gbdt_split_item *)(dbase + o5);
                lv.split_scratch = c->split_scratch.p;
                lv.splits = (bt_gbdt_split *)c->splits.p;
                lv.n_split = pp;
                TRYG(level_run(c, &lv));
            } else {
                /* one upload and one graph: the previous level's partition, the pairs, clear,
                 * build, subtract, evaluate. The nodes' sums are known (node_split); their row
                 * counts and histogram offsets in the split items are filled on the device. */
                n_split = split_items(W, g0, g1, T, pi, pi_tree, pi_node);
                const int32_t pp = pad_pow2(n_split), pq = pad_pow2(n_pairs);
                const int32_t pt = pad_pow2(n_part);
                pad_items(zi, hi, 0, 0, si, 0, 0, pi, n_split, pp);
                for (int32_t j = n_pairs; j < pq; j++) {
                    memset(&pairs[j], 0, sizeof pairs[j]);
                    pairs[j].part = -1;
                }
                for (int32_t j = n_part; j < pt; j++) memset(&ti[j], 0, sizeof ti[j]);
                c->stage.used = 0;
                STAGE(c, ti, pt, o1);
                STAGE(c, pairs, pq, o2);
                STAGE(c, feats, n_feats, o4);
                STAGE(c, pi, pp, o5);
                TRYG(stage_upload(c, &dbase));
                TRYG(dbuf_reserve(&c->n_left, (size_t)(pt > 0 ? pt : 1) * sizeof(int64_t),
                                  c->stream, &c->oom));
                const size_t zb = (size_t)pq * sizeof(bt_gbdt_hist_zero_item),
                             bb = (size_t)pq * sizeof(bt_gbdt_hist_item);
                TRYG(dbuf_reserve(&c->level_items,
                                  zb + bb + (size_t)pq * sizeof(bt_gbdt_hist_sub_item), c->stream,
                                  &c->oom));
                TRYG(dbuf_reserve(&c->split_scratch, bt_gbdt_split_cuda_scratch_bytes(pp),
                                  c->stream, &c->oom));
                TRYG(dbuf_reserve(&c->splits, (size_t)(pp > 0 ? pp : 1) * sizeof(bt_gbdt_split),
                                  c->stream, &c->oom));
                char *lb = c->level_items.p;
                lv.hist = c->hist;
                lv.part = (const bt_gbdt_partition_item *)(dbase + o1);
                lv.n_part = pt;
                lv.n_left = (int64_t *)c->n_left.p;
                lv.pairs = (const bt_gbdt_level_pair *)(dbase + o2);
                lv.n_pairs = pq;
                lv.zero = (bt_gbdt_hist_zero_item *)lb;
                lv.build = (bt_gbdt_hist_item *)(lb + zb);
                lv.sub = (bt_gbdt_hist_sub_item *)(lb + zb + bb);
                lv.n_build = pq;
                lv.n_sub = pq;
                lv.feats = (const int32_t *)(dbase + o4);
                lv.split = (bt_gbdt_split_item *)(dbase + o5);
                lv.split_scratch = c->split_scratch.p;
                lv.splits = (bt_gbdt_split *)c->splits.p;
                lv.n_split = pp;
                lv.bpi = bpi;
                TRYG(level_run(c, &lv));
                ALLOCG(nleft, n_part);
                CUG(cudaMemcpyAsync(nleft, c->n_left.p, (size_t)n_part * sizeof *nleft,
                                    cudaMemcpyDeviceToHost, c->stream));
            }
            ALLOCG(splits, n_split);
            CUG(cudaMemcpyAsync(splits, c->splits.p, (size_t)n_split * sizeof *splits,
                                cudaMemcpyDeviceToHost, c->stream));
            CUG(cudaStreamSynchronize(c->stream));
            if (depth > 0) {
                /* the previous level's children ranges, then the pairs' histograms, by the rule
                 * the device applied (bt_gbdt_level_resolve: the left child is smaller on ties) */
                TRYG(children_ranges(W, ti_tree, ti_node, nleft, n_part));
                for (int32_t k = 0; k < n_pairs; k++) {
                    tgrow *w = &W[pair_tree[k]];
                    int32_t a = pi_node[2 * k], b = pi_node[2 * k + 1];
                    int32_t sm = w->cnt[a] <= w->cnt[b] ? a : b, lg = sm == a ? b : a;
                    w->hslot[lg] = pairs[k].parent_hist / T;
                    w->hslot[sm] = pair_new[k];
                }
                n_part = 0;
            }

            /* apply: grow.c's apply_level, node by node in level order */
            ALLOCG(ti, pad_pow2(n_split));
            ALLOCG(ti_tree, n_split);
            ALLOCG(ti_node, n_split);
            for (int t = g0; t < g1; t++) W[t].n_next = 0;
            for (int32_t i = 0; i < n_split; i++) {
                tgrow *w = &W[pi_tree[i]];
                const bt_gbdt_slot *s = w->s;
                int32_t id = pi_node[i];
                const bt_gbdt_split *sp = &splits[i];
                int ok = bt_gbdt_split_takes(s, sp, depth);
                if (ok && (sp->feature >= F || w->n_nodes + 2 > w->cap)) {
                    st = BT_FAIL(BT_STATUS_INTERNAL,
                                 "gbdt on cuda: split of feature %d or node "
                                 "%d out of range",
                                 sp->feature, w->n_nodes);
                    goto done;
                }
                if (!ok) {
                    if (!hpool_put(&hp, w->hslot[id])) goto oom;
                    w->hslot[id] = -1;
                    continue;
                }
                int32_t L = w->n_nodes++, R = w->n_nodes++;
                bt_gbdt_node_split(s, w->nodes, w->sum, w->gu, w->hu, id, sp, L, R);
                const bt_gbdt_node *nd = &w->nodes[id];
                if (depth + 1 < s->max_depth) {
                    w->next[w->n_next++] = L;
                    w->next[w->n_next++] = R;
                } else {
                    if (!hpool_put(&hp, w->hslot[id])) goto oom;
                    w->hslot[id] = -1;
                }
                bt_gbdt_partition_item x = {
                    w->seg + w->beg[id],         w->cnt[id],      nd->feature, nd->bin,
                    B->missing_bin[nd->feature], nd->default_left};
                w->part_of[id] = n_part;
                ti_tree[n_part] = pi_tree[i];
                ti_node[n_part] = id;
                ti[n_part++] = x;
            }
            for (int t = g0; t < g1; t++) {
                tgrow *w = &W[t];
                int32_t *tmp = w->level;
                w->level = w->next;
                w->next = tmp;
                w->n_level = w->n_next;
            }
        }
        if (n_part > 0) {
            /* the last level's partition: its children are leaves, whose rows the leaf adds need */
            const int32_t pt = pad_pow2(n_part);
            for (int32_t j = n_part; j < pt; j++) memset(&ti[j], 0, sizeof ti[j]);
            c->stage.used = 0;
            STAGE(c, ti, pt, o1);
            TRYG(stage_upload(c, &dbase));
            TRYG(dbuf_reserve(&c->n_left, (size_t)pt * sizeof(int64_t), c->stream, &c->oom));
            level_launch lv;
            memset(&lv, 0, sizeof lv);
            lv.part = (const bt_gbdt_partition_item *)(dbase + o1);
            lv.n_part = pt;
            lv.n_left = (int64_t *)c->n_left.p;
            TRYG(level_run(c, &lv));
            ALLOCG(nleft, n_part);
            CUG(cudaMemcpyAsync(nleft, c->n_left.p, (size_t)n_part * sizeof *nleft,
                                cudaMemcpyDeviceToHost, c->stream));
            CUG(cudaStreamSynchronize(c->stream));
            TRYG(children_ranges(W, ti_tree, ti_node, nleft, n_part));
        }
    }

    /* 3. leaves -> train margins; the trees to the device for predictions */
    {
        int64_t n_leaves = 0, n_nodes_all = 0;
        for (int t = 0; t < n_w; t++) {
            n_nodes_all += W[t].n_nodes;
            for (int32_t id = 0; id < W[t].n_nodes; id++)
                n_leaves += W[t].nodes[id].left < 0 && W[t].cnt[id] > 0;
        }
        ALLOCG(li, pad_pow2(n_leaves));
        ALLOCG(pti, n_w);
        ALLOCG(pvi, n_w);
        ALLOCG(all_nodes, n_nodes_all);
        ALLOCG(ri, n_w);
        int64_t nl = 0, no = 0;
        int32_t n_pt = 0, n_pv = 0;
        for (int t = 0; t < n_w; t++) {
            tgrow *w = &W[t];
            const bt_gbdt_slot *s = w->s;
            for (int32_t id = 0; id < w->n_nodes; id++) {
                const bt_gbdt_node *nd = &w->nodes[id];
                if (nd->left >= 0 || w->cnt[id] == 0) continue;
                bt_gbdt_leaf_item x;
                memset(&x, 0, sizeof x);
                x.row_begin = w->seg + w->beg[id];
                x.n = w->cnt[id];
                x.margin_offset = (int64_t)w->slot * n * K;
                x.value = nd->value;
                x.stride = s->n_out;
                x.k = w->k;
                li[nl++] = x;
            }
            memcpy(all_nodes + no, w->nodes, (size_t)w->n_nodes * sizeof *all_nodes);
            bt_gbdt_predict_item p;
            memset(&p, 0, sizeof p);
            p.nodes_offset = no;
            p.n_nodes = w->n_nodes;
            p.stride = s->n_out;
            p.k = w->k;
            if (s->subsample < 1.0 && w->m < n) {
                /* rows left out of this tree still get its prediction (grow.c does the same) */
                memset(&ri[n_pt], 0, sizeof ri[n_pt]);
                ri[n_pt].key = s->key;
                ri[n_pt].tree = (uint64_t)s->round * (uint64_t)s->n_out + (uint64_t)w->k;
                ri[n_pt].subsample = s->subsample;
                ri[n_pt].out_offset = w->seg;
                ri[n_pt].complement = 1;
                p.margin_offset = (int64_t)w->slot * n * K;
                p.row_begin = w->seg;
                p.n = n - w->m; /* the complement of the kept rows */
                pti[n_pt++] = p;
            }
            if (nv > 0) {
                p.margin_offset = (int64_t)w->slot * nv * K;
                p.row_begin = -1;
                p.n = nv;
                pvi[n_pv++] = p;
            }
            no += w->n_nodes;
        }
        if (nl > INT32_MAX / 2) {
            st = BT_FAIL(BT_STATUS_INTERNAL, "gbdt on cuda: %lld leaves in one round",
                         (long long)nl);
            goto done;
        }
        const int32_t pl = pad_pow2(nl); /* stable launch parameters: no-op leaves (n = 0) */
        for (int64_t j = nl; j < pl; j++) memset(&li[j], 0, sizeof li[j]);
        c->stage.used = 0;
        STAGE(c, li, pl, o1);
        STAGE(c, ri, n_pt, o2);
        STAGE(c, pti, n_pt, o3);
        STAGE(c, pvi, n_pv, o4);
        TRYG(stage_upload(c, &dbase));
        TRYG(dbuf_reserve(&c->nodes, (size_t)no * sizeof(bt_gbdt_node), c->stream, &c->oom));
        if (no)
            CUG(cudaMemcpyAsync(c->nodes.p, all_nodes, (size_t)no * sizeof(bt_gbdt_node),
                                cudaMemcpyHostToDevice, c->stream));
        epilogue_launch el;
        memset(&el, 0, sizeof el); /* compared with memcmp */
        el.leaves = (const bt_gbdt_leaf_item *)(dbase + o1);
        el.left_out = (const bt_gbdt_sample_rows_item *)(dbase + o2);
        el.pred_train = (const bt_gbdt_predict_item *)(dbase + o3);
        el.pred_valid = (const bt_gbdt_predict_item *)(dbase + o4);
        el.nodes = (const bt_gbdt_node *)c->nodes.p;
        el.n_leaves = pl;
        el.n_left_out = n_pt;
        el.n_valid = n_pv;
        TRYG(graph_run(c, epilogue_enqueue, &el, sizeof el));
    }

    /* 4. margins and trees to the host slots (metrics are computed on the host from these;
     * with the levels on the device the last wave's graph made the leaves and predictions and
     * its wait brought the margins) */
    TRYG(queue_margins(c, act, act_slot, slot_ok, n_act));
    CUG(cudaStreamSynchronize(c->stream));
trees_out:
    for (int t = 0; t < n_w; t++) {
        tgrow *w = &W[t];
        bt_gbdt_slot *s = w->s;
        int64_t ti_ = (int64_t)s->round * s->n_out + w->k;
        bt_gbdt_node *nodes = malloc((size_t)w->n_nodes * sizeof *nodes);
        if (!nodes) goto oom;
        memcpy(nodes, w->nodes, (size_t)w->n_nodes * sizeof *nodes);
        s->trees[ti_].nodes = nodes;
        s->trees[ti_].n_nodes = w->n_nodes;
    }
    goto done;
oom:
    st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
done:
    for (int t = 0; t < n_w; t++) tgrow_free(&W[t]);
    free(W);
    free(gi);
    free(qi);
    free(ri);
    free(eg);
    free(eh);
    free(fin);
    free(nsm);
    free(nleft);
    free(feats);
    free(hi);
    free(zi);
    free(pairs);
    free(pair_tree);
    free(pair_new);
    free(si);
    free(pi);
    free(splits);
    free(ti);
    free(ti_tree);
    free(ti_node);
    free(pi_tree);
    free(pi_node);
    free(root_bins);
    free(fscratch);
    free(li);
    free(pti);
    free(pvi);
    free(all_nodes);
    free(slot_ok);
    free(hp.free_ids);
    return st;
}

/* ---- the step: pack.c's bookkeeping around cuda_round ------------------------------------- */

/* pack.c's finish_round and early_stopping on the host copies; a stop also restores the device's
 * valid margins (the train margins no longer matter: a stopped slot never steps again). */
static bt_status finish_round(cuda_pack *c, bt_gbdt_slot *s, int slot) {
    const bt_pack *p = &c->host;
    const int64_t n = c->n, nv = c->nv;
    s->n_trees = (int64_t)s->round * s->n_out + s->n_out;
    s->round++;
    int bad = 0;
    for (int64_t j = 0; j < nv * s->n_out && !bad; j++) bad = !isfinite(s->margin_valid[j]);
    for (int64_t j = 0; j < n * s->n_out && !bad; j++) bad = !isfinite(s->margin_train[j]);
    if (bad) {
        s->failed = 1;
        return BT_STATUS_OK;
    }
    if (s->early_stopping_rounds <= 0) return BT_STATUS_OK;
    void *scratch = malloc(bt_gbdt_metric_scratch_bytes(nv > 0 ? nv : n, 64) +
                           (size_t)s->n_out * sizeof(float));
    BT_CHECK_ALLOC(scratch);
    double x = bt_gbdt_slot_metric(p, s, bt_gbdt_default_metric_id(s->obj), scratch);
    free(scratch);
    size_t bytes = (size_t)nv * (size_t)s->n_out * sizeof(float);
    if (s->round == 1 || x < s->best_metric) {
        s->best_metric = x;
        s->best_round = s->round;
        if (bytes) memcpy(s->best_valid, s->margin_valid, bytes);
        return BT_STATUS_OK;
    }
    if (s->round - s->best_round < s->early_stopping_rounds) return BT_STATUS_OK;
    s->stopped = 1;
    if (bytes) {
        memcpy(s->margin_valid, s->best_valid, bytes);
        CU(cudaMemcpyAsync(c->margin_valid + (int64_t)slot * nv * c->K, s->margin_valid, bytes,
                           cudaMemcpyHostToDevice, c->stream));
        CU(cudaStreamSynchronize(c->stream));
    }
    int64_t keep = (int64_t)s->best_round * s->n_out;
    for (int64_t t = keep; t < s->n_trees; t++) free(s->trees[t].nodes);
    s->n_trees = keep;
    s->round = s->best_round;
    return BT_STATUS_OK;
}

/* Gives back what a round grows on demand (histogram pool, item lists, node copy): after an
 * out-of-memory it is the memory to return before retrying smaller. */
static void release_round_buffers(cuda_pack *c) {
    cudaStreamSynchronize(c->stream);
    graphs_clear(c);
    cudaFree(c->hist);
    c->hist = NULL;
    c->hist_slots = 0;
    dbuf *b[] = {&c->items, &c->split_scratch, &c->splits, &c->n_left,
                 &c->nodes, &c->level_items,   &c->dl};
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        cudaFree(b[i]->p);
        b[i]->p = NULL;
        b[i]->cap = 0;
    }
}

/* Grows one round for act[0..n_act) in sub-batches of at most c->max_batch slots. A sub-batch
 * that runs out of device memory gives back the on-demand buffers, halves the batch size (kept
 * for later steps) and the histogram budget, and tries again; one slot that still does not fit
 * with one tree's histograms at a time fails alone. Retrying is sound because cuda_round changes
 * nothing a retry reads before its last allocation (margins are first written after it; trees
 * reach the host slots at the very end), and a slot's trees do not depend on its batch mates. */
static bt_status round_batched(cuda_pack *c, bt_gbdt_slot **act, const int *act_slot, int n_act) {
    for (int b0 = 0; b0 < n_act;) {
        int nb = n_act - b0 < c->max_batch ? n_act - b0 : c->max_batch;
        c->oom = 0;
        bt_status st = cuda_round(c, act + b0, act_slot + b0, nb);
        if (st == BT_STATUS_OK) {
            b0 += nb;
            continue;
        }
        if (!c->oom) return st;
        release_round_buffers(c);
        if (nb > 1) {
            c->max_batch = nb / 2;
            c->hist_budget = c->hist_budget / 2 > 0 ? c->hist_budget / 2 : 1;
        } else if (c->hist_budget > 1) {
            c->hist_budget = 1; /* one tree's histograms at a time (multiclass slots) */
        } else {
            act[b0]->failed = 1; /* does not fit alone: this trial fails, the pack goes on */
            b0++;
        }
    }
    return BT_STATUS_OK;
}

bt_status bt_gbdt_cuda_step(bt_pack *p, const int *slots, int n_slots) {
    cuda_pack *c = cp_of(p);
    CU(cudaSetDevice(c->device));
    bt_gbdt_slot **act = malloc((size_t)(n_slots > 0 ? n_slots : 1) * sizeof *act);
    int *act_slot = malloc((size_t)(n_slots > 0 ? n_slots : 1) * sizeof *act_slot);
    if (!act || !act_slot) {
        free(act);
        free(act_slot);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    int n_act = 0;
    bt_status st = bt_gbdt_step_begin(p, slots, n_slots, c->nv, act, act_slot, &n_act);
    if (st == BT_STATUS_OK && n_act > 0) st = round_batched(c, act, act_slot, n_act);
    for (int i = 0; i < n_act && st == BT_STATUS_OK; i++)
        if (!act[i]->failed) st = finish_round(c, act[i], act_slot[i]);
    free(act);
    free(act_slot);
    return st;
}

#endif /* BT_HAVE_CUDA */
