/* Device memory of the CUDA gbdt pack: allocation that tells out-of-memory apart, growable device
 * buffers, the pinned staging of uploads, the histogram pool, the pack's fixed buffers, and the
 * per-trial estimate behind pack_capacity -- with the two knobs that change it (the histogram
 * budget, the levels on the device). */
#include "models/gbdt/trainer.h"

#if BT_HAVE_CUDA

#include <string.h>

#include "models/gbdt/cuda/internal.h"

#define HIST_BUDGET_DEFAULT ((int64_t)1 << 30)

/* The histogram budget new packs start with: a test knob (bt_gbdt_cuda_set_hist_budget), read
 * once per pack, so packs stepped from several threads share no mutable state. */
_Atomic int64_t bt_gcu_default_hist_budget = HIST_BUDGET_DEFAULT;
/* Whether new packs grow a wave's levels on the device (pack.h); the estimate depends on it. */
_Atomic int bt_gcu_default_device_levels = 1;

void bt_gbdt_cuda_set_device_levels(int on) {
    bt_gcu_default_device_levels = on != 0;
}

void bt_gbdt_cuda_set_hist_budget(int64_t bytes) {
    bt_gcu_default_hist_budget = bytes > 0 ? bytes : HIST_BUDGET_DEFAULT;
}

/* cudaMalloc of max(bytes, 1) that tells out-of-memory apart (*oom = 1) from other failures:
 * a step that runs out of device memory retries in smaller sub-batches (see bt_gbdt_cuda_step). */
bt_status bt_gcu_dev_malloc(void **p, size_t bytes, int *oom) {
    *p = NULL;
    cudaError_t e = bt_cuda_malloc(p, bytes ? bytes : 1);
    if (e == cudaSuccess) return BT_STATUS_OK;
    *p = NULL;
    cudaGetLastError(); /* clear it: out-of-memory is not sticky */
    if (e == cudaErrorMemoryAllocation) *oom = 1;
    return BT_FAIL(BT_STATUS_INTERNAL, "gbdt on cuda: cudaMalloc(%zu bytes): %s (%d)", bytes,
                   cudaGetErrorString(e), (int)e);
}

bt_status bt_gcu_host_malloc(void **p, size_t bytes, int *oom) {
    *p = NULL;
    cudaError_t e = bt_cuda_malloc_host(p, bytes ? bytes : 1);
    if (e == cudaSuccess) return BT_STATUS_OK;
    *p = NULL;
    cudaGetLastError();
    if (e == cudaErrorMemoryAllocation) *oom = 1;
    return BT_FAIL(BT_STATUS_INTERNAL, "gbdt on cuda: cudaMallocHost(%zu bytes): %s (%d)", bytes,
                   cudaGetErrorString(e), (int)e);
}

/* Makes b hold `bytes` (its contents are lost), half again what it needs when it grows. */
bt_status bt_gcu_dbuf_reserve(dbuf *b, size_t bytes, cudaStream_t stream, int *oom) {
    if (bytes <= b->cap && b->p) return BT_STATUS_OK;
    /* launches already queued may still read the old buffer */
    if (b->p) CU(cudaStreamSynchronize(stream));
    bt_cuda_free(b->p);
    b->p = NULL;
    b->cap = 0;
    size_t cap = bytes < 4096 ? 4096 : bytes + bytes / 2;
    BT_TRY(bt_gcu_dev_malloc(&b->p, cap, oom));
    b->cap = cap;
    return BT_STATUS_OK;
}

/* Makes the stage hold `bytes`, keeping its used part. A failed cudaMallocHost is out of memory
 * (pinned memory is a device resource too): *oom is set, so the step retries smaller. */
int bt_gcu_hstage_reserve(hstage *h, size_t bytes, int *oom) {
    if (bytes <= h->cap) return 1;
    size_t cap = bytes * 2 + 4096;
    void *np = NULL;
    if (bt_cuda_malloc_host(&np, cap) != cudaSuccess) {
        cudaGetLastError();
        *oom = 1;
        return 0;
    }
    if (h->used) memcpy(np, h->p, h->used);
    if (h->p) bt_cuda_free_host(h->p);
    h->p = np;
    h->cap = cap;
    return 1;
}

size_t bt_gcu_hstage_add(hstage *h, const void *src, size_t bytes, int *oom) {
    size_t at = (h->used + 255) & ~(size_t)255;
    if (!bt_gcu_hstage_reserve(h, at + bytes, oom)) return (size_t)-1;
    if (bytes) memcpy(h->p + at, src, bytes);
    h->used = at + bytes;
    return at;
}

int bt_gcu_back_reserve(hstage *h, size_t bytes, int *oom) {
    h->used = 0; /* nothing kept: no copy is in flight */
    return bt_gcu_hstage_reserve(h, bytes, oom);
}

void *bt_gcu_back_take(hstage *h, size_t bytes) {
    size_t at = (h->used + 255) & ~(size_t)255;
    if (at + bytes > h->cap) return NULL;
    h->used = at + bytes;
    return h->p + at;
}

/* Makes the device pool hold `slots` histograms. keep: the old ones' contents survive (the host
 * path, whose pool grows between a level's launches); else they are dead (the device path
 * rebuilds every histogram inside its graph), and growth is a free and an allocation, no copy:
 * the old pool is freed first (cudaFree waits for the work still using it), which also lowers
 * the peak. */
bt_status bt_gcu_hist_reserve(cuda_pack *c, int64_t slots, int keep) {
    if (slots <= c->hist_slots) return BT_STATUS_OK;
    int64_t ns = slots + slots / 2 + 4;
    size_t bytes = (size_t)ns * (size_t)c->T * sizeof(bt_gbdt_gh);
    bt_gbdt_gh *nh = NULL;
    if (!keep) {
        bt_cuda_free(c->hist);
        c->hist = NULL;
        c->hist_slots = 0;
    }
    BT_TRY(bt_gcu_dev_malloc((void **)&nh, bytes, &c->oom));
    if (keep && c->hist_slots > 0) {
        cudaError_t e =
            cudaMemcpyAsync(nh, c->hist, (size_t)c->hist_slots * (size_t)c->T * sizeof(bt_gbdt_gh),
                            cudaMemcpyDeviceToDevice, c->stream);
        if (e == cudaSuccess) e = cudaStreamSynchronize(c->stream);
        if (e != cudaSuccess) {
            bt_cuda_free(nh);
            CU(e);
        }
    }
    bt_cuda_free(c->hist);
    c->hist = nh;
    c->hist_slots = ns;
    return BT_STATUS_OK;
}

/* Uploads the staged arrays into the device item buffer; *base receives its device address. */
bt_status bt_gcu_stage_upload(cuda_pack *c, char **base) {
    BT_TRY(bt_gcu_dbuf_reserve(&c->items, c->stage.used, c->stream, &c->oom));
    if (c->stage.used)
        CU(cudaMemcpyAsync(c->items.p, c->stage.p, c->stage.used, cudaMemcpyHostToDevice,
                           c->stream));
    /* no wait: the stage is pinned and is not rewritten before the next read-back waits */
    *base = c->items.p;
    return BT_STATUS_OK;
}

static bt_status dalloc(void **p, size_t bytes) {
    int oom = 0;
    return bt_gcu_dev_malloc(p, bytes, &oom);
}

/* The pack's stream and fixed device buffers, sized for its capacity (bt_gbdt_cuda_pack_free
 * frees them, also after a failure here). */
bt_status bt_gcu_pack_buffers(cuda_pack *c) {
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
    /* the pinned mirrors of the margins and the split parameters (host memory: pack_capacity
     * does not count them; a failure fails pack_init, which the executor retries smaller) */
    int oom = 0;
    BT_TRY(bt_gcu_host_malloc((void **)&c->h_margin_train, CK * n * sizeof(float), &oom));
    BT_TRY(bt_gcu_host_malloc((void **)&c->h_margin_valid, CK * nv * sizeof(float), &oom));
    BT_TRY(bt_gcu_host_malloc((void **)&c->h_params, C * sizeof(bt_gbdt_split_param), &oom));
    return BT_STATUS_OK;
}

/* Outputs per slot: every slot of a sweep shares the task, so a multiclass pack sizes for the
 * largest class count it can know now; slot_start refuses a trial needing more. */
int32_t bt_gcu_pack_outputs(const bt_model_data *data, const bt_gbdt_shared *sh,
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

/* Device bytes a pack of C slots takes, from the allocations it makes (bt_gcu_pack_buffers,
 * and the worst case of what a round grows on demand), for n train rows, nv valid rows, K trees
 * per slot, T histogram entries, F features, trees of depth D and a histogram budget:
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
size_t bt_gcu_place_bytes(void) {
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
    if (bt_gcu_default_device_levels) {
        /* levels_device: fixed places (2^(D-1) per tree), node arrays, the staged tree state */
        const double place = (double)bt_gcu_place_bytes();
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

/* The pack ops' pack_capacity: the largest capacity <= wanted whose pack_bytes, plus the shared
 * device copy of the data when this device has none yet, fit the free memory cudaMemGetInfo
 * reports minus a reserve (1/16 of it, at least 64 MiB: CUDA's own allocations, cub scratch,
 * fragmentation). The depth is the shape trial's max_depth; deeper trials in the pack are what
 * the out-of-memory split of a step is for. At least 1. */
int bt_gbdt_cuda_pack_capacity(const bt_model_data *data, const bt_hparams *shape_hp, int wanted) {
    if (wanted < 1) return 1;
    const char *booster = shape_hp->v[BT_GBDT_BOOSTER].s;
    if (booster && strcmp(booster, "gblinear") == 0) return wanted; /* a host pack (pack.c) */
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
    const int32_t K = bt_gcu_pack_outputs(data, sh, shape_hp);
    const int32_t D = (int32_t)shape_hp->v[BT_GBDT_MAX_DEPTH].i;
    const int64_t budget = bt_gcu_default_hist_budget;
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

#endif /* BT_HAVE_CUDA */
