/* The CUDA gbdt pack's launch groups and the graphs they run as: a cache of captured graphs keyed
 * by every launch parameter (bt_gcu_graph_run), with the fallback to direct launches when a
 * capture fails (kernels/cuda/capture_lock.h keeps allocations out of captures); a
 * level's launches, the round's prologue and epilogue, partitions and row samples; the padded
 * item counts and blocks per item that make keys repeat. */
#include "models/gbdt/trainer.h"

#if BT_HAVE_CUDA

#include <string.h>

#include "kernels/cuda/capture_lock.h"
#include "models/gbdt/cuda/internal.h"

/* Whether new packs run launch groups as CUDA graphs: a test knob (bt_gbdt_cuda_set_graphs). */
_Atomic int bt_gcu_default_use_graphs = 1;

void bt_gbdt_cuda_set_graphs(int on) {
    bt_gcu_default_use_graphs = on != 0;
}

/* Destroys the cached graphs, keys and all (before buffers they were captured with go away). */
void bt_gcu_graphs_clear(cuda_pack *c) {
    for (int i = 0; i < c->n_graphs; i++)
        if (c->graphs[i].exec) cudaGraphExecDestroy(c->graphs[i].exec);
    c->n_graphs = 0;
}

/* Partition and row sample launches (every one of a round): blocks per item from n, the bound on
 * any node's rows (the host does not know the counts with the levels on the device) and a row
 * sample's row count, and the padded item count, so graph keys repeat; the chunk counts go to the
 * pack's one buffer (launches are in stream order). */
bt_status bt_gcu_partition_enqueue(cuda_pack *c, const bt_gbdt_partition_item *items,
                                   int32_t n_items, int64_t *n_left) {
    const bt_binned *bm = &c->host.bin->train;
    return bt_gbdt_partition_cuda(c->rows, c->scratch, c->dd->bins, bm->width, bm->n_features,
                                  items, n_items, bt_gbdt_chunk_blocks(c->n, n_items),
                                  c->chunk_counts, n_left, (void *)c->stream);
}

bt_status bt_gcu_sample_rows_enqueue(cuda_pack *c, const bt_gbdt_sample_rows_item *items,
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
    if (L->n_part > 0) BT_TRY(bt_gcu_partition_enqueue(c, L->part, L->n_part, L->n_left));
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

/* Captures fn's launches for key ge, instantiates and launches the graph. A capture that fails
 * (another thread synchronized the device meanwhile, or used the legacy stream...) or a graph that
 * cannot be instantiated runs fn directly instead -- nothing of a failed capture ran, and a replay
 * enqueues exactly what fn does, so the bits are the same -- and the key is not captured again
 * (a failure may well repeat). An instantiation out of memory is out of memory (*oom, so the step
 * retries smaller) while a retry is still sound (retry_ok); fn's own failure is returned. */
static bt_status graph_capture(cuda_pack *c, graph_entry *ge, launch_fn fn, const void *params) {
    cudaGraph_t g = NULL;
    bt_status st = BT_STATUS_OK;
    bt_cuda_capture_enter();
    cudaError_t e = cudaStreamBeginCapture(c->stream, cudaStreamCaptureModeThreadLocal);
    if (e == cudaSuccess) {
        st = fn(c, params);
        e = cudaStreamEndCapture(c->stream, &g);
    }
    bt_cuda_capture_lock_leave();
    if (e == cudaSuccess && st != BT_STATUS_OK) { /* fn failed, as it would have directly */
        cudaGraphDestroy(g);
        return st;
    }
    cudaGraphExec_t x = NULL;
    if (e == cudaSuccess) {
        e = cudaGraphInstantiate(&x, g, 0);
        cudaGraphDestroy(g);
        if (e == cudaErrorMemoryAllocation && c->retry_ok) {
            cudaGetLastError(); /* out-of-memory is not sticky */
            c->oom = 1;
            return BT_CU_FAIL(e, "cudaGraphInstantiate");
        }
    } else if (g) {
        cudaGraphDestroy(g);
    }
    if (e != cudaSuccess) {
        cudaGetLastError(); /* a launch into the failed capture may have left its error */
        ge->direct = 1;
        c->capture_failures++;
        return fn(c, params);
    }
    ge->exec = x;
    CU(cudaGraphLaunch(x, c->stream));
    return BT_STATUS_OK;
}

/* Runs a group of launches as a CUDA graph: replayed when a graph of the same function and
 * parameters was captured before (item counts are padded to powers of two, so a pack whose active
 * slots do not change keeps replaying the same few graphs round after round). A key seen for the
 * first time runs directly -- which also loads the kernels' modules before any capture, as lazy
 * loading inside a capture is best avoided -- and is remembered; the second time it is captured
 * (thread-local mode: other threads driving other packs may allocate meanwhile), instantiated
 * and launched (graph_capture; a key whose capture failed runs directly from then on). A replay
 * enqueues exactly what fn would with the same parameters, so it is valid whatever buffers were
 * reallocated since the capture. */
bt_status bt_gcu_graph_run(cuda_pack *c, launch_fn fn, const void *params, size_t bytes) {
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
    if (ge && ge->direct) {
        ge->used = ++c->graph_tick;
        return fn(c, params);
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
        ge->direct = 0;
        ge->used = ++c->graph_tick;
        return fn(c, params);
    }
    ge->used = ++c->graph_tick;
    return graph_capture(c, ge, fn, params);
}

static bt_status level_enqueue_v(cuda_pack *c, const void *params) {
    return level_enqueue(c, params);
}

bt_status bt_gcu_level_run(cuda_pack *c, const level_launch *L) {
    return bt_gcu_graph_run(c, level_enqueue_v, L, sizeof *L);
}

bt_status bt_gcu_prologue_enqueue(cuda_pack *c, const void *params) {
    const prologue_launch *L = params;
    void *stream = (void *)c->stream;
    BT_TRY(bt_gbdt_grad_cuda(c->margin_train, c->dd->y_train, c->n, c->g, c->h, L->grad, L->n_slots,
                             stream));
    BT_TRY(bt_gbdt_quantize_cuda(c->g, c->h, c->gh, L->quant, L->n_trees, c->eg, c->eh, c->finite,
                                 c->qscratch, stream));
    return bt_gcu_sample_rows_enqueue(c, L->rows, L->n_trees, c->rows, c->n_sampled);
}

bt_status bt_gcu_epilogue_enqueue(cuda_pack *c, const void *params) {
    const epilogue_launch *L = params;
    const dev_data *dd = c->dd;
    const int32_t F = c->host.bin->train.n_features;
    void *stream = (void *)c->stream;
    if (L->n_leaves)
        BT_TRY(bt_gbdt_leaf_add_cuda(c->rows, c->margin_train, L->leaves, L->n_leaves, stream));
    if (L->n_left_out) {
        /* the partition scratch is free now: it receives the left-out rows (n_sampled is
         * overwritten; it was read at the start of the round) */
        BT_TRY(bt_gcu_sample_rows_enqueue(c, L->left_out, L->n_left_out, c->scratch, c->n_sampled));
        BT_TRY(bt_gbdt_predict_add_cuda(L->nodes, dd->X_train, F, c->scratch, c->margin_train,
                                        L->pred_train, L->n_left_out, stream));
    }
    if (L->n_valid)
        BT_TRY(bt_gbdt_predict_add_cuda(L->nodes, dd->X_valid, F, c->scratch, c->margin_valid,
                                        L->pred_valid, L->n_valid, stream));
    return BT_STATUS_OK;
}

/* Smallest power of two >= n (0 for 0): item counts padded to it repeat across rounds. */
int32_t bt_gcu_pad_pow2(int64_t n) {
    int64_t p = 1;
    if (n <= 0) return 0;
    while (p < n) p *= 2;
    return (int32_t)p;
}

/* Blocks per item of a histogram launch over n_items items of at most max_rows rows each: one per
 * 16384 rows of the largest, a power of two (graph keys repeat) in [1, 64], halved while the grid
 * would exceed 2^20 blocks (a deep level has many items). A bound, not what each item gets: the
 * kernel reads an item's rows and uses only the blocks its pairs need (kernels/gbdt_hist.h), the
 * others exit at once. */
int32_t bt_gcu_hist_bpi(int64_t max_rows, int64_t n_items) {
    int32_t bpi = bt_gcu_pad_pow2((max_rows + 16383) / 16384);
    if (bpi < 1) bpi = 1;
    if (bpi > 64) bpi = 64;
    while (bpi > 1 && (int64_t)bpi * n_items > ((int64_t)1 << 20)) bpi /= 2;
    return bpi;
}

#endif /* BT_HAVE_CUDA */
