/* Internal to models/gbdt/cuda/: the CUDA gbdt pack (cuda_pack) and what the files of this folder
 * share -- the device copy of the data, growable device and pinned buffers, the launch groups run
 * as CUDA graphs, the trees a round grows as the host keeps them -- and the functions one of them
 * calls in another. Only for code built with BT_HAVE_CUDA: include it inside the guard. */
#ifndef BT_GBDT_CUDA_INTERNAL_H
#define BT_GBDT_CUDA_INTERNAL_H

#include <cuda_runtime.h>

#include "kernels/cuda/capture_lock.h"
#include <stdint.h>

#include "kernels/cuda/check.h"
#include "kernels/gbdt_apply.h"
#include "kernels/gbdt_level.h"
#include "kernels/gbdt_partition.h"
#include "kernels/gbdt_round_init.h"
#include "kernels/gbdt_sample.h"
#include "models/gbdt/cuda/pack.h"
#include "models/gbdt/trainer.h"

/* ---- data.c: device copies of the shared data, one per (device, binning) ------------------- */

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

bt_status bt_gcu_data_get(bt_model_data *data, const bt_gbdt_binning *B, const dev_data **out);

/* ---- the knobs new packs start with (sizing.c, graphs.c), read once per pack at pack_init ---- */

extern _Atomic int64_t bt_gcu_default_hist_budget;
extern _Atomic int bt_gcu_default_device_levels;
extern _Atomic int bt_gcu_default_use_graphs;

/* ---- launch groups (graphs.c) ------------------------------------------------------------- */

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
#define GRAPH_KEY_MAX 512

typedef struct graph_entry {
    launch_fn fn;
    size_t bytes;
    unsigned char key[GRAPH_KEY_MAX];
    cudaGraphExec_t exec;
    int direct; /* its capture or instantiation failed: the key runs without a graph from now on */
    uint64_t used;
} graph_entry;

/* ---- buffers (sizing.c) ------------------------------------------------------------------- */

/* A growable device buffer whose contents need not survive growth. */
typedef struct dbuf {
    void *p;
    size_t cap;
} dbuf;

/* Pinned host memory, growable: the stage of uploads and the read-back buffer.
 * As the stage: arrays appended with 256-byte alignment, copied in one transfer (an asynchronous
 * copy from pageable memory may synchronize with the stream). The copy reads the buffer when the
 * stream gets to it, so the buffer is rewritten only after the stream was synchronized: every
 * upload of a round is followed by a read-back that waits before the next upload is staged (the
 * CUDA emulation runs copies at that wait, so a violation shows there as wrong trees). Growing
 * it happens while staging, after that wait.
 * As the read-back buffer (bt_gcu_back_reserve / bt_gcu_back_take): what the copies before one
 * wait bring back -- finite flags, sample counts, trees, node ranges, splits, left counts -- is
 * carved from it; it is reserved (and may grow, its contents dropped) only where no copy into it
 * is in flight. */
typedef struct hstage {
    char *p;
    size_t used, cap;
} hstage;

/* ---- the pack ------------------------------------------------------------------------------ */

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
    dbuf items, split_scratch, splits, n_left, level_items;
    hstage stage, back; /* pinned: uploads, read-backs */
    /* Pinned mirrors of the margins, laid out as the device's: a started slot's margin_train and
     * margin_valid point at its segments (margins_lent), so the round's read-back is one DMA into
     * the arrays eval reads. h_params stages slot_start's split parameters. Allocated with the
     * pack, freed by pack_free. */
    float *h_margin_train, *h_margin_valid;
    bt_gbdt_split_param *h_params;
    /* Bytes of live histograms (with the levels on the device: histogram regions and places) a
     * round's wave aims to stay under (one tree at a time exceeds it if it must); halved when
     * the device runs out of memory. */
    int64_t hist_budget;
    /* The most slots one round grows together (capacity until the device ran out of memory). */
    int max_batch;
    int oom; /* set by a failed allocation of the round being grown */
    /* Whether an out-of-memory may still retry the round smaller: nothing it launched has
     * written the margins yet (set at the round's start, cleared once a wave's graph ran). */
    int retry_ok;
    /* Captured CUDA graphs of a level's launches, keyed by every launch parameter (see
     * bt_gcu_level_run); least recently used out first. */
    int use_graphs;
    int device_levels; /* a wave's levels as one graph with the split application on the device */
    dbuf dl;           /* its fixed-place buffers (see levels_device) */
    struct graph_entry *graphs;
    int n_graphs;
    uint64_t graph_tick;
    int64_t capture_failures; /* captures or instantiations that fell back to direct launches */
};

/* ---- a round's trees on the host (round.c) ------------------------------------------------- */

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

/* ---- scoped errors: set st and jump to the function's done label -------------------------- */

#define STAGE(c, arr, count, off_var)                                                              \
    do {                                                                                           \
        off_var =                                                                                  \
            bt_gcu_hstage_add(&(c)->stage, (arr), (size_t)(count) * sizeof *(arr), &(c)->oom);     \
        if (off_var == (size_t)-1) {                                                               \
            st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory staging items");                       \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

/* ptr = the next count elements of the read-back buffer (reserved before) */
#define TAKE(c, ptr, count)                                                                        \
    do {                                                                                           \
        (ptr) = bt_gcu_back_take(&(c)->back, (size_t)(count) * sizeof *(ptr));                     \
        if (!(ptr)) {                                                                              \
            st = BT_FAIL(BT_STATUS_INTERNAL, "the read-back buffer has no room for %s", #ptr);     \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

#define BACK_RESERVE(c, bytes)                                                                     \
    do {                                                                                           \
        if (!bt_gcu_back_reserve(&(c)->back, (bytes), &(c)->oom)) {                                \
            st = BT_FAIL(BT_STATUS_INTERNAL, "out of pinned memory reading back %zu bytes",        \
                         (size_t)(bytes));                                                         \
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

/* ---- sizing.c ---------------------------------------------------------------------------- */

bt_status bt_gcu_dev_malloc(void **p, size_t bytes, int *oom);
/* cudaMallocHost of max(bytes, 1) under the capture lock, out-of-memory told apart as for the
 * device (*oom): pinned memory is a device resource too. */
bt_status bt_gcu_host_malloc(void **p, size_t bytes, int *oom);
bt_status bt_gcu_dbuf_reserve(dbuf *b, size_t bytes, cudaStream_t stream, int *oom);
int bt_gcu_hstage_reserve(hstage *h, size_t bytes, int *oom);
/* Appends `bytes` of src to the stage; its offset, or (size_t)-1 when out of pinned memory. */
size_t bt_gcu_hstage_add(hstage *h, const void *src, size_t bytes, int *oom);
/* Empties the read-back buffer and makes it hold `bytes` (its contents dropped): only where no
 * copy into it is in flight. 0 when out of pinned memory (*oom set). */
int bt_gcu_back_reserve(hstage *h, size_t bytes, int *oom);
/* The next `bytes` (256-aligned) of the read-back buffer, NULL when the reservation is short. */
void *bt_gcu_back_take(hstage *h, size_t bytes);
/* Bytes to reserve for an array of `bytes` taken with bt_gcu_back_take (its alignment). */
#define BT_GCU_BACK(bytes) ((size_t)(bytes) + 256)
bt_status bt_gcu_stage_upload(cuda_pack *c, char **base);
bt_status bt_gcu_hist_reserve(cuda_pack *c, int64_t slots, int keep);
bt_status bt_gcu_pack_buffers(cuda_pack *c);
int32_t bt_gcu_pack_outputs(const bt_model_data *data, const bt_gbdt_shared *sh,
                            const bt_hparams *shape_hp);
size_t bt_gcu_place_bytes(void);

/* ---- graphs.c ---------------------------------------------------------------------------- */

void bt_gcu_graphs_clear(cuda_pack *c);
bt_status bt_gcu_graph_run(cuda_pack *c, launch_fn fn, const void *params, size_t bytes);
bt_status bt_gcu_level_run(cuda_pack *c, const level_launch *L);
/* launch_fn of a prologue_launch, an epilogue_launch */
bt_status bt_gcu_prologue_enqueue(cuda_pack *c, const void *params);
bt_status bt_gcu_epilogue_enqueue(cuda_pack *c, const void *params);
bt_status bt_gcu_partition_enqueue(cuda_pack *c, const bt_gbdt_partition_item *items,
                                   int32_t n_items, int64_t *n_left);
bt_status bt_gcu_sample_rows_enqueue(cuda_pack *c, const bt_gbdt_sample_rows_item *items,
                                     int32_t n_items, int32_t *rows_out, int64_t *n_out);
int32_t bt_gcu_pad_pow2(int64_t n);
int32_t bt_gcu_hist_bpi(int64_t max_rows, int64_t n_items);

/* ---- round.c ----------------------------------------------------------------------------- */

void bt_gcu_tgrow_free(tgrow *w);
bt_status bt_gcu_tgrow_begin(tgrow *w, int64_t n, int32_t F, uint64_t *fscratch);
bt_status bt_gcu_queue_margins(cuda_pack *c, bt_gbdt_slot **act, const int *act_slot,
                               const int *slot_ok, int n_act);

/* ---- the two rounds: the trees W[0..*n_w) of the slots act[0..n_act) (slot by slot, k = 0..
 * within one) grown from the prologue's items pro (host arrays). Slots with a non-finite gradient
 * are marked failed and their trees dropped from W (*n_w shrinks); the others' trees are grown and
 * their margins are on the host slots at return. */

/* round_host.c: each level's splits applied on the host, one graph and one wait per level */
bt_status bt_gcu_round_host(cuda_pack *c, tgrow *W, int *n_w_io, bt_gbdt_slot **act,
                            const int *act_slot, int n_act, const prologue_launch *pro);
/* round_graph.c: every level on the device, one graph and one wait per wave of trees */
bt_status bt_gcu_round_device(cuda_pack *c, tgrow *W, int *n_w_io, bt_gbdt_slot **act,
                              const int *act_slot, int n_act, const prologue_launch *pro);

#endif
