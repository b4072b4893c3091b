/* Emulated launchers of the gbdt CUDA kernels (kernels/gbdt_*.h, the BT_HAVE_CUDA part): each one
 * checks its device pointers, then enqueues on its stream an operation that runs the kernel's C
 * reference item by item with the launcher's documented item semantics (offsets, strides, the
 * split twin's early exit, complement row samples), after checking every item's ranges against
 * the allocations they point into. An item out of range is skipped and recorded as a violation.
 * The kernels' own arithmetic is not emulated: see emu.h. Test-only; never in the library. */
#undef BT_HAVE_CUDA
#define BT_HAVE_CUDA 1

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/emu/emu.h"
#include "kernels/gbdt_apply.h"
#include "kernels/gbdt_hist.h"
#include "kernels/gbdt_level.h"
#include "kernels/gbdt_objective.h"
#include "kernels/gbdt_partition.h"
#include "kernels/gbdt_predict.h"
#include "kernels/gbdt_round_init.h"
#include "kernels/gbdt_sample.h"
#include "kernels/gbdt_split.h"
#include "base/status.h"

/* Range of `count` elements of type T at element offset `at` from device pointer `base`. */
#define IN(base, at, count, what)                                                                  \
    bt_emu_check_at((base), (int64_t)(at) * (int64_t)sizeof *(base),                               \
                    (size_t)((count) > 0 ? (count) : 0) * sizeof *(base), (what))

static bt_status launch(void *stream, void (*fn)(void *), const void *arg, size_t bytes,
                        const char *name) {
    cudaError_t e = bt_emu_enqueue((cudaStream_t)stream, fn, arg, bytes, 1);
    if (e != cudaSuccess)
        return BT_FAIL(BT_STATUS_INTERNAL, "%s: %s (%d)", name, cudaGetErrorString(e), (int)e);
    return BT_STATUS_OK;
}

/* Launch-time check of a pointer argument the kernel reads or writes `bytes` of. */
static bt_status arg_ok(const void *p, size_t bytes, const char *what) {
    if (bytes == 0 || bt_emu_check(p, bytes, what)) return BT_STATUS_OK;
    return BT_FAIL(BT_STATUS_INTERNAL, "emulated launch: %s", bt_emu_violation());
}

/* Blocks per item of a chunked launcher (kernels/gbdt_chunks.h) as the kernels check them, and
 * the counts they would write (n_items x blocks_per_item) inside an allocation. */
static bt_status chunks_ok(int32_t bpi, int32_t n_items, const int64_t *counts, const char *what) {
    if (!bt_gbdt_chunk_blocks_ok(bpi, n_items, counts))
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: %d blocks per item for %d items", what, (int)bpi,
                       (int)n_items);
    if (bpi > 1 && n_items > 0)
        return arg_ok(counts, (size_t)n_items * (size_t)bpi * sizeof *counts, "chunk counts");
    return BT_STATUS_OK;
}

/* Largest row id in rows[0..n) (0 when empty), for margin range checks. */
static int64_t max_row(const int32_t *rows, int64_t n) {
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (rows[i] > m) m = rows[i];
    return m;
}

/* ---- gradients and quantization ---- */

typedef struct grad_args {
    const float *margin, *y;
    int64_t n;
    float *g, *h;
    const bt_gbdt_grad_item *items;
    int32_t n_items;
} grad_args;

static void grad_run(void *p) {
    const grad_args *a = p;
    bt_emu_count_kernel();
    for (int32_t i = 0; i < a->n_items; i++) {
        const bt_gbdt_grad_item *it = &a->items[i];
        int64_t cells = a->n * it->k_outputs;
        if (!IN(a->margin, it->margin_offset, cells, "grad margin") ||
            !IN(a->g, it->gh_offset, cells, "grad g") || !IN(a->h, it->gh_offset, cells, "grad h"))
            continue;
        bt_gbdt_grad_ref((bt_gbdt_objective)it->objective, a->margin + it->margin_offset, a->y,
                         a->n, it->k_outputs, it->scale_pos_weight, a->g + it->gh_offset,
                         a->h + it->gh_offset);
    }
}

bt_status bt_gbdt_grad_cuda(const float *margin, const float *y, int64_t n, float *g, float *h,
                            const bt_gbdt_grad_item *items, int32_t n_items, void *stream) {
    if (n_items <= 0) return BT_STATUS_OK;
    BT_TRY(arg_ok(items, (size_t)n_items * sizeof *items, "grad items"));
    BT_TRY(arg_ok(y, (size_t)n * sizeof *y, "grad labels"));
    grad_args a = {margin, y, n, g, h, items, n_items};
    return launch(stream, grad_run, &a, sizeof a, "bt_gbdt_grad_cuda");
}

size_t bt_gbdt_quantize_cuda_scratch_bytes(int32_t n_items) {
    return (size_t)(n_items > 0 ? n_items : 1) * 2 * sizeof(double);
}

typedef struct quant_args {
    const float *g, *h;
    bt_gbdt_gh *out;
    const bt_gbdt_quant_item *items;
    int32_t n_items;
    int32_t *eg, *eh, *finite;
} quant_args;

static void quant_run(void *p) {
    const quant_args *a = p;
    bt_emu_count_kernel();
    for (int32_t i = 0; i < a->n_items; i++) {
        const bt_gbdt_quant_item *it = &a->items[i];
        if (!IN(a->g, it->offset, it->n, "quantize g") ||
            !IN(a->h, it->offset, it->n, "quantize h") ||
            !IN(a->out, it->offset, it->n, "quantize out"))
            continue;
        const float *g = a->g + it->offset, *h = a->h + it->offset;
        double mg = 0, mh = 0;
        int ok = 1;
        for (int64_t r = 0; r < it->n && ok; r++) {
            double ag = fabs((double)g[r]), ah = fabs((double)h[r]);
            ok = isfinite(ag) && isfinite(ah);
            if (ag > mg) mg = ag;
            if (ah > mh) mh = ah;
        }
        a->finite[i] = ok;
        if (!ok) {
            a->eg[i] = a->eh[i] = 0;
            continue;
        }
        a->eg[i] = bt_gbdt_quant_exponent(mg, it->n);
        a->eh[i] = bt_gbdt_quant_exponent(mh, it->n);
        bt_gbdt_quantize_ref(g, h, it->n, a->eg[i], a->eh[i], a->out + it->offset);
    }
}

bt_status bt_gbdt_quantize_cuda(const float *g, const float *h, bt_gbdt_gh *out,
                                const bt_gbdt_quant_item *items, int32_t n_items, int32_t *eg,
                                int32_t *eh, int32_t *finite, void *scratch, void *stream) {
    if (n_items <= 0) return BT_STATUS_OK;
    const size_t ni = (size_t)n_items;
    BT_TRY(arg_ok(items, ni * sizeof *items, "quantize items"));
    BT_TRY(arg_ok(eg, ni * sizeof *eg, "quantize eg"));
    BT_TRY(arg_ok(eh, ni * sizeof *eh, "quantize eh"));
    BT_TRY(arg_ok(finite, ni * sizeof *finite, "quantize finite"));
    BT_TRY(arg_ok(scratch, bt_gbdt_quantize_cuda_scratch_bytes(n_items), "quantize scratch"));
    quant_args a = {g, h, out, items, n_items, eg, eh, finite};
    return launch(stream, quant_run, &a, sizeof a, "bt_gbdt_quantize_cuda");
}

/* ---- row and feature samples ---- */

typedef struct rows_args {
    int64_t n;
    const bt_gbdt_sample_rows_item *items;
    int32_t n_items;
    int32_t *rows_out;
    int64_t *n_out;
} rows_args;

static void rows_run(void *p) {
    const rows_args *a = p;
    bt_emu_count_kernel();
    for (int32_t i = 0; i < a->n_items; i++) {
        const bt_gbdt_sample_rows_item *it = &a->items[i];
        if (!IN(a->rows_out, it->out_offset, a->n, "sample rows out")) continue;
        int32_t *o = a->rows_out + it->out_offset;
        int64_t m = bt_gbdt_sample_rows_ref(it->key, it->tree, a->n, it->subsample, o);
        if (it->complement) {
            /* the kept rows are increasing: walk them backwards while writing the others */
            int32_t *kept = malloc((size_t)(m > 0 ? m : 1) * sizeof *kept);
            if (!kept) abort();
            memcpy(kept, o, (size_t)m * sizeof *kept);
            int64_t j = 0, c = 0;
            for (int64_t r = 0; r < a->n; r++) {
                if (j < m && kept[j] == r) {
                    j++;
                    continue;
                }
                o[c++] = (int32_t)r;
            }
            free(kept);
            m = c;
        }
        a->n_out[i] = m;
    }
}

bt_status bt_gbdt_sample_rows_cuda(int64_t n, const bt_gbdt_sample_rows_item *items,
                                   int32_t n_items, int32_t blocks_per_item, int64_t *counts,
                                   int32_t *rows_out, int64_t *n_out, void *stream) {
    BT_TRY(chunks_ok(blocks_per_item, n_items, counts, "sample_rows_cuda"));
    if (n_items <= 0) return BT_STATUS_OK;
    BT_TRY(arg_ok(items, (size_t)n_items * sizeof *items, "sample rows items"));
    BT_TRY(arg_ok(n_out, (size_t)n_items * sizeof *n_out, "sample rows counts"));
    rows_args a = {n, items, n_items, rows_out, n_out};
    return launch(stream, rows_run, &a, sizeof a, "bt_gbdt_sample_rows_cuda");
}

typedef struct feats_args {
    const int32_t *in;
    const bt_gbdt_sample_features_item *items;
    int32_t n_items;
    int32_t *out, *n_out;
    uint64_t *scratch;
} feats_args;

static void feats_run(void *p) {
    const feats_args *a = p;
    bt_emu_count_kernel();
    for (int32_t i = 0; i < a->n_items; i++) {
        const bt_gbdt_sample_features_item *it = &a->items[i];
        if (!IN(a->in, it->in_offset, it->n_in, "sample features in") ||
            !IN(a->out, it->out_offset, it->n_in, "sample features out") ||
            !IN(a->scratch, it->in_offset, it->n_in, "sample features scratch"))
            continue;
        a->n_out[i] = bt_gbdt_sample_features_ref(
            it->key, it->tree, it->level, a->in + it->in_offset, it->n_in, it->frac,
            a->out + it->out_offset, a->scratch + it->in_offset);
    }
}

bt_status bt_gbdt_sample_features_cuda(const int32_t *in, const bt_gbdt_sample_features_item *items,
                                       int32_t n_items, int32_t *out, int32_t *n_out,
                                       uint64_t *scratch, void *stream) {
    if (n_items <= 0) return BT_STATUS_OK;
    BT_TRY(arg_ok(items, (size_t)n_items * sizeof *items, "sample features items"));
    BT_TRY(arg_ok(n_out, (size_t)n_items * sizeof *n_out, "sample features counts"));
    feats_args a = {in, items, n_items, out, n_out, scratch};
    return launch(stream, feats_run, &a, sizeof a, "bt_gbdt_sample_features_cuda");
}

/* ---- histograms ---- */

typedef struct hist_args {
    const void *bins;
    int32_t width;
    int64_t n_matrix_rows;
    int32_t n_features;
    const uint32_t *off;
    int32_t f_begin, f_end;
    const int32_t *rows;
    const bt_gbdt_gh *gh;
    bt_gbdt_gh *hist;
    const bt_gbdt_hist_item *items;
    int32_t n_items;
} hist_args;

static void hist_run(void *p) {
    const hist_args *a = p;
    bt_emu_count_kernel();
    const int64_t T = a->off[a->n_features];
    for (int32_t i = 0; i < a->n_items; i++) {
        const bt_gbdt_hist_item *it = &a->items[i];
        if (!IN(a->rows, it->row_begin, it->n_rows, "hist rows") ||
            !IN(a->gh, it->gh_offset, a->n_matrix_rows, "hist gh") ||
            !IN(a->hist, it->hist_offset, T, "hist out"))
            continue;
        bt_gbdt_hist_ref(a->bins, a->width, a->n_features, a->off, a->f_begin, a->f_end,
                         a->rows + it->row_begin, it->n_rows, a->gh + it->gh_offset,
                         a->hist + it->hist_offset);
    }
}

bt_status bt_gbdt_hist_cuda(const void *bins, int32_t width, int64_t n_matrix_rows,
                            int32_t n_features, const uint32_t *off, int32_t f_begin, int32_t f_end,
                            int32_t max_feature_entries, const int32_t *rows, const bt_gbdt_gh *gh,
                            bt_gbdt_gh *hist, const bt_gbdt_hist_item *items, int32_t n_items,
                            int32_t blocks_per_item, void *stream) {
    if (n_items <= 0) return BT_STATUS_OK;
    if (blocks_per_item < 1 || max_feature_entries < 1)
        return BT_FAIL(BT_STATUS_INTERNAL, "emulated hist launch: blocks_per_item %d, entries %d",
                       blocks_per_item, max_feature_entries);
    BT_TRY(arg_ok(items, (size_t)n_items * sizeof *items, "hist items"));
    BT_TRY(arg_ok(off, (size_t)(n_features + 1) * sizeof *off, "hist off"));
    BT_TRY(arg_ok(bins, (size_t)n_matrix_rows * (size_t)n_features * (size_t)width, "hist bins"));
    for (int32_t f = f_begin; f < f_end; f++)
        if ((int32_t)(off[f + 1] - off[f]) > max_feature_entries)
            return BT_FAIL(BT_STATUS_INTERNAL,
                           "emulated hist launch: feature %d has %u entries > %d", f,
                           off[f + 1] - off[f], max_feature_entries);
    hist_args a = {bins, width, n_matrix_rows, n_features, off,    f_begin, f_end,
                   rows, gh,    hist,          items,      n_items};
    return launch(stream, hist_run, &a, sizeof a, "bt_gbdt_hist_cuda");
}

typedef struct sub_args {
    bt_gbdt_gh *hist;
    const bt_gbdt_hist_sub_item *items;
    int32_t n_items;
    int64_t begin, end;
} sub_args;

static void sub_run(void *p) {
    const sub_args *a = p;
    bt_emu_count_kernel();
    for (int32_t i = 0; i < a->n_items; i++) {
        const bt_gbdt_hist_sub_item *it = &a->items[i];
        if (it->parent < 0) continue; /* padding */
        if (!IN(a->hist, it->parent + a->begin, a->end - a->begin, "hist sub parent") ||
            !IN(a->hist, it->child + a->begin, a->end - a->begin, "hist sub child"))
            continue;
        bt_gbdt_hist_sub_ref(a->hist + it->parent, a->hist + it->child, a->begin, a->end);
    }
}

bt_status bt_gbdt_hist_sub_cuda(bt_gbdt_gh *hist, const bt_gbdt_hist_sub_item *items,
                                int32_t n_items, int64_t begin, int64_t end, void *stream) {
    if (n_items <= 0) return BT_STATUS_OK;
    BT_TRY(arg_ok(items, (size_t)n_items * sizeof *items, "hist sub items"));
    sub_args a = {hist, items, n_items, begin, end};
    return launch(stream, sub_run, &a, sizeof a, "bt_gbdt_hist_sub_cuda");
}

typedef struct zero_args {
    bt_gbdt_gh *hist;
    const bt_gbdt_hist_zero_item *items;
    int32_t n_items;
} zero_args;

static void zero_run(void *p) {
    const zero_args *a = p;
    bt_emu_count_kernel();
    for (int32_t i = 0; i < a->n_items; i++) {
        const bt_gbdt_hist_zero_item *it = &a->items[i];
        if (it->n > 0 && !IN(a->hist, it->offset, it->n, "hist zero")) continue;
        bt_gbdt_hist_zero_ref(a->hist, it, 1);
    }
}

bt_status bt_gbdt_hist_zero_cuda(bt_gbdt_gh *hist, const bt_gbdt_hist_zero_item *items,
                                 int32_t n_items, void *stream) {
    if (n_items < 0) return BT_FAIL(BT_STATUS_BAD_INPUT, "hist_zero_cuda: %d items", n_items);
    if (n_items == 0) return BT_STATUS_OK;
    BT_TRY(arg_ok(items, (size_t)n_items * sizeof *items, "hist zero items"));
    zero_args a = {hist, items, n_items};
    return launch(stream, zero_run, &a, sizeof a, "bt_gbdt_hist_zero_cuda");
}

typedef struct level_args {
    const bt_gbdt_level_pair *pairs;
    int32_t n_pairs;
    const int64_t *n_left;
    int64_t T;
    bt_gbdt_hist_zero_item *zero;
    bt_gbdt_hist_item *build;
    bt_gbdt_hist_sub_item *sub;
    bt_gbdt_split_item *split;
} level_args;

static void level_run(void *p) {
    const level_args *a = p;
    bt_emu_count_kernel();
    for (int32_t i = 0; i < a->n_pairs; i++) {
        const bt_gbdt_level_pair *q = &a->pairs[i];
        bt_gbdt_level_out o;
        if (q->part < 0) {
            a->zero[i].offset = a->zero[i].n = 0;
            memset(&a->build[i], 0, sizeof a->build[i]);
            a->sub[i].parent = -1;
            a->sub[i].child = 0;
            continue;
        }
        if (!IN(a->n_left, q->part, 1, "level left count") ||
            !IN(a->split, q->split_left, 1, "level split item") ||
            !IN(a->split, q->split_right, 1, "level split item"))
            continue;
        bt_gbdt_level_prepare_ref(q, 1, a->n_left, &o);
        a->zero[i].offset = q->new_hist;
        a->zero[i].n = a->T;
        bt_gbdt_hist_item b = {q->seg + o.small_begin, o.small_rows, q->seg, q->new_hist};
        a->build[i] = b;
        a->sub[i].parent = q->parent_hist;
        a->sub[i].child = q->new_hist;
        a->split[q->split_left].hist_offset = o.left_hist;
        a->split[q->split_left].n_rows = o.left_rows;
        a->split[q->split_right].hist_offset = o.right_hist;
        a->split[q->split_right].n_rows = o.right_rows;
    }
}

bt_status bt_gbdt_level_prepare_cuda(const bt_gbdt_level_pair *pairs, int32_t n_pairs,
                                     const int64_t *n_left, int64_t T, bt_gbdt_hist_zero_item *zero,
                                     bt_gbdt_hist_item *build, bt_gbdt_hist_sub_item *sub,
                                     bt_gbdt_split_item *split, void *stream) {
    if (n_pairs < 0 || T < 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "level_prepare_cuda: %d pairs", n_pairs);
    if (n_pairs == 0) return BT_STATUS_OK;
    const size_t np = (size_t)n_pairs;
    BT_TRY(arg_ok(pairs, np * sizeof *pairs, "level pairs"));
    BT_TRY(arg_ok(zero, np * sizeof *zero, "level zero items"));
    BT_TRY(arg_ok(build, np * sizeof *build, "level build items"));
    BT_TRY(arg_ok(sub, np * sizeof *sub, "level sub items"));
    level_args a = {pairs, n_pairs, n_left, T, zero, build, sub, split};
    return launch(stream, level_run, &a, sizeof a, "bt_gbdt_level_prepare_cuda");
}

/* ---- split application ---- */

static void apply_run(void *p) {
    const bt_gbdt_apply_args *a = p;
    bt_emu_count_kernel();
    const int64_t W = (int64_t)1 << a->depth;
    for (int32_t t = 0; t < a->n_trees; t++) {
        const bt_gbdt_apply_tree *x = &a->trees[t];
        int ok = x->cap >= 0 && x->node_base >= 0 && x->level_begin >= 0 &&
                 x->level_begin + x->level_count <= x->cap && x->level_count <= W &&
                 IN(a->nodes, x->node_base, x->cap, "apply nodes") &&
                 IN(a->beg, x->node_base, x->cap, "apply row begins") &&
                 IN(a->cnt, x->node_base, x->cap, "apply row counts");
        if (ok && !a->finish)
            ok = IN(a->sum, x->node_base, x->cap, "apply sums") &&
                 IN(a->hoff, x->node_base, x->cap, "apply histogram offsets") &&
                 IN(a->stack, x->stack_base, x->stack_cap, "apply free stack") && x->n_free >= 0 &&
                 x->n_free <= x->stack_cap && IN(a->rules, x->rules, 1, "apply rules");
        if (ok && a->depth == 0 && a->root_items) ok = IN(a->root_items, t, 1, "apply root item");
        if (ok && a->depth > 0 && x->applied_count > 0)
            ok = x->applied_begin >= 0 && x->applied_begin + x->applied_count <= x->cap &&
                 IN(a->n_left, (int64_t)t * (W / 2), x->applied_count, "apply left counts");
        for (int32_t k = 0; ok && !a->finish && a->depth > 0 && 2 * k + 1 < x->level_count; k++) {
            const bt_gbdt_level_pair *q = &a->pairs_prev[(int64_t)t * (W / 2) + k];
            ok = q->part < 0 || IN(a->n_left, q->part, 1, "apply left count");
        }
        if (ok) bt_gbdt_apply_tree_run(a, t);
    }
}

bt_status bt_gbdt_apply_cuda(const bt_gbdt_apply_args *a, void *stream) {
    if (a->n_trees < 0 || a->depth < 0 || a->depth > 30)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "apply_cuda: %d trees at depth %d", a->n_trees,
                       a->depth);
    if (a->n_trees == 0) return BT_STATUS_OK;
    const size_t nt = (size_t)a->n_trees, W = (size_t)1 << a->depth;
    BT_TRY(arg_ok(a->trees, nt * sizeof *a->trees, "apply trees"));
    if (a->finish) return launch(stream, apply_run, a, sizeof *a, "bt_gbdt_apply_cuda");
    if (a->feat_levels > 0)
        BT_TRY(arg_ok(a->n_feats, nt * (size_t)a->feat_levels * sizeof *a->n_feats,
                      "apply feature counts"));
    BT_TRY(arg_ok(a->splits, nt * W * sizeof *a->splits, "apply splits"));
    BT_TRY(arg_ok(a->part, nt * W * sizeof *a->part, "apply partition items"));
    BT_TRY(arg_ok(a->pairs_next, nt * W * sizeof *a->pairs_next, "apply next pairs"));
    BT_TRY(arg_ok(a->split_next, 2 * nt * W * sizeof *a->split_next, "apply next split items"));
    BT_TRY(arg_ok(a->missing_bin, (size_t)a->n_features * sizeof *a->missing_bin,
                  "apply missing bins"));
    if (a->depth > 0)
        BT_TRY(arg_ok(a->pairs_prev, nt * (W / 2) * sizeof *a->pairs_prev, "apply previous pairs"));
    return launch(stream, apply_run, a, sizeof *a, "bt_gbdt_apply_cuda");
}

typedef struct root_sum_args {
    const bt_gbdt_gh *hist;
    int64_t e0, e1;
    bt_gbdt_apply_split_item *items;
    int32_t n_items;
} root_sum_args;

static void root_sum_run(void *p) {
    const root_sum_args *a = p;
    bt_emu_count_kernel();
    for (int32_t i = 0; i < a->n_items; i++) {
        bt_gbdt_apply_split_item *x = &a->items[i];
        if (x->n_rows > 0 && !IN(a->hist, x->hist_offset + a->e0, a->e1 - a->e0, "root sum hist"))
            continue;
        bt_gbdt_root_sum_one(a->hist, a->e0, a->e1, x);
    }
}

bt_status bt_gbdt_root_sum_cuda(const bt_gbdt_gh *hist, int64_t e0, int64_t e1,
                                bt_gbdt_apply_split_item *items, int32_t n_items, void *stream) {
    if (n_items < 0 || e0 < 0 || e1 < e0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "root_sum_cuda: %d items", n_items);
    if (n_items == 0) return BT_STATUS_OK;
    BT_TRY(arg_ok(items, (size_t)n_items * sizeof *items, "root sum items"));
    root_sum_args a = {hist, e0, e1, items, n_items};
    return launch(stream, root_sum_run, &a, sizeof a, "bt_gbdt_root_sum_cuda");
}

typedef struct epi_args {
    const bt_gbdt_apply_tree *trees;
    const bt_gbdt_epilogue_tree *et;
    int32_t n_trees;
    const bt_gbdt_node *nodes;
    const int64_t *beg, *cnt;
    bt_gbdt_apply_leaf *leaves;
    bt_gbdt_apply_pred *pred_train, *pred_valid;
} epi_args;

static void epi_run(void *p) {
    const epi_args *a = p;
    bt_emu_count_kernel();
    for (int32_t t = 0; t < a->n_trees; t++) {
        const bt_gbdt_apply_tree *x = &a->trees[t];
        const bt_gbdt_epilogue_tree *e = &a->et[t];
        if (x->n_nodes > x->cap || !IN(a->nodes, x->node_base, x->cap, "epilogue nodes") ||
            !IN(a->beg, x->node_base, x->cap, "epilogue row begins") ||
            !IN(a->cnt, x->node_base, x->cap, "epilogue row counts") ||
            !IN(a->leaves, x->node_base, x->cap, "epilogue leaf items") ||
            (e->pred_train >= 0 && !IN(a->pred_train, e->pred_train, 1, "epilogue train item")) ||
            (e->pred_valid >= 0 && !IN(a->pred_valid, e->pred_valid, 1, "epilogue valid item")))
            continue;
        bt_gbdt_epilogue_tree_run(a->trees, a->et, a->nodes, a->beg, a->cnt, a->leaves,
                                  a->pred_train, a->pred_valid, t);
    }
}

bt_status bt_gbdt_epilogue_items_cuda(const bt_gbdt_apply_tree *trees,
                                      const bt_gbdt_epilogue_tree *et, int32_t n_trees,
                                      const bt_gbdt_node *nodes, const int64_t *beg,
                                      const int64_t *cnt, bt_gbdt_apply_leaf *leaves,
                                      bt_gbdt_apply_pred *pred_train,
                                      bt_gbdt_apply_pred *pred_valid, void *stream) {
    if (n_trees < 0) return BT_FAIL(BT_STATUS_BAD_INPUT, "epilogue_items_cuda: %d trees", n_trees);
    if (n_trees == 0) return BT_STATUS_OK;
    BT_TRY(arg_ok(trees, (size_t)n_trees * sizeof *trees, "epilogue trees"));
    BT_TRY(arg_ok(et, (size_t)n_trees * sizeof *et, "epilogue tree items"));
    epi_args a = {trees, et, n_trees, nodes, beg, cnt, leaves, pred_train, pred_valid};
    return launch(stream, epi_run, &a, sizeof a, "bt_gbdt_epilogue_items_cuda");
}

/* ---- round init ---- */

static void round_init_run(void *p) {
    const bt_gbdt_round_init_args *a = p;
    bt_emu_count_kernel();
    for (int32_t j = 0; j < a->n_trees; j++) {
        const bt_gbdt_round_init_tree *e = &a->init[j];
        const bt_gbdt_epilogue_tree *x = &a->et[j];
        if (e->n_out < 0 || e->item < e->slot_first || e->item >= e->slot_first + e->n_out ||
            !IN(a->finite, e->slot_first, e->n_out, "round init finite flags") ||
            !IN(a->eg, e->item, 1, "round init exponents") ||
            !IN(a->eh, e->item, 1, "round init exponents") ||
            !IN(a->n_sampled, e->item, 1, "round init sample counts") ||
            (x->pred_train >= 0 && !IN(a->pred_train, x->pred_train, 1, "round init train item")) ||
            (x->pred_valid >= 0 && !IN(a->pred_valid, x->pred_valid, 1, "round init valid item")))
            continue;
        bt_gbdt_round_init_tree_run(a, j);
    }
}

bt_status bt_gbdt_round_init_cuda(const bt_gbdt_round_init_args *a, void *stream) {
    if (a->n_trees < 0 || a->n < 0 || a->T < 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "round_init_cuda: %d trees", a->n_trees);
    if (a->n_trees == 0) return BT_STATUS_OK;
    const size_t nt = (size_t)a->n_trees;
    BT_TRY(arg_ok(a->init, nt * sizeof *a->init, "round init trees"));
    BT_TRY(arg_ok(a->trees, nt * sizeof *a->trees, "round init tree states"));
    BT_TRY(arg_ok(a->root_items, nt * sizeof *a->root_items, "round init root items"));
    BT_TRY(arg_ok(a->root_zero, nt * sizeof *a->root_zero, "round init root clear items"));
    BT_TRY(arg_ok(a->root_build, nt * sizeof *a->root_build, "round init root build items"));
    BT_TRY(arg_ok(a->et, nt * sizeof *a->et, "round init epilogue trees"));
    return launch(stream, round_init_run, a, sizeof *a, "bt_gbdt_round_init_cuda");
}

/* ---- split evaluation ---- */

size_t bt_gbdt_split_cuda_scratch_bytes(int32_t n_items) {
    return (size_t)(n_items > 0 ? n_items : 1) * 8 * sizeof(bt_gbdt_split);
}

typedef struct split_args {
    const bt_gbdt_gh *hist;
    const uint32_t *off, *cut_ptr;
    const float *cut_values, *min_values;
    const int32_t *feats;
    const bt_gbdt_split_param *params;
    const bt_gbdt_split_item *items;
    int32_t n_items;
    bt_gbdt_split *out;
} split_args;

static void split_run(void *p) {
    const split_args *a = p;
    bt_emu_count_kernel();
    for (int32_t i = 0; i < a->n_items; i++) {
        const bt_gbdt_split_item *it = &a->items[i];
        bt_gbdt_split *o = &a->out[i];
        bt_gbdt_split_reset(o);
        if (!IN(a->params, it->trial, 1, "split params")) continue;
        const bt_gbdt_split_param *sp = &a->params[it->trial];
        double H = (double)it->total.h * it->h_unit;
        /* eval_node's early exit, as the twin does it */
        if (it->n_rows < 2 || H < 2.0 * sp->min_child_weight * (1.0 - 1e-9)) continue;
        if (!IN(a->feats, it->feats_begin, it->n_feats, "split features")) continue;
        float root_gain = bt_gbdt_gain(sp, (double)it->total.g * it->g_unit, H);
        for (int32_t j = 0; j < it->n_feats; j++) {
            int32_t f = a->feats[it->feats_begin + j];
            int32_t n_bins = (int32_t)(a->off[f + 1] - a->off[f] - 1);
            if (!IN(a->hist, it->hist_offset + a->off[f], n_bins + 1, "split histogram")) break;
            bt_gbdt_split_scan_ref(a->hist + it->hist_offset + a->off[f], NULL, n_bins,
                                   a->cut_values + a->cut_ptr[f], a->min_values[f], f, it->total,
                                   it->g_unit, it->h_unit, sp, root_gain, o);
        }
    }
}

bt_status bt_gbdt_split_cuda(const bt_gbdt_gh *hist, const uint32_t *off, const uint32_t *cut_ptr,
                             const float *cut_values, const float *min_values, const int32_t *feats,
                             const bt_gbdt_split_param *params, const bt_gbdt_split_item *items,
                             int32_t n_items, void *scratch, bt_gbdt_split *out, void *stream) {
    if (n_items <= 0) return BT_STATUS_OK;
    BT_TRY(arg_ok(items, (size_t)n_items * sizeof *items, "split items"));
    BT_TRY(arg_ok(out, (size_t)n_items * sizeof *out, "split out"));
    BT_TRY(arg_ok(scratch, bt_gbdt_split_cuda_scratch_bytes(n_items), "split scratch"));
    split_args a = {hist, off, cut_ptr, cut_values, min_values, feats, params, items, n_items, out};
    return launch(stream, split_run, &a, sizeof a, "bt_gbdt_split_cuda");
}

/* ---- partition, leaves, predictions ---- */

typedef struct part_args {
    int32_t *rows, *scratch;
    const void *bins;
    int32_t width, n_features;
    const bt_gbdt_partition_item *items;
    int32_t n_items;
    int64_t *n_left;
} part_args;

static void part_run(void *p) {
    const part_args *a = p;
    bt_emu_count_kernel();
    for (int32_t i = 0; i < a->n_items; i++) {
        const bt_gbdt_partition_item *it = &a->items[i];
        if (!IN(a->rows, it->row_begin, it->n_rows, "partition rows") ||
            !IN(a->scratch, it->row_begin, it->n_rows, "partition scratch"))
            continue;
        a->n_left[i] = bt_gbdt_partition_ref(
            a->rows + it->row_begin, it->n_rows, a->bins, a->width, a->n_features, it->feature,
            it->split_bin, it->missing_bin, it->default_left, a->scratch + it->row_begin);
    }
}

bt_status bt_gbdt_partition_cuda(int32_t *rows, int32_t *scratch, const void *bins, int32_t width,
                                 int32_t n_features, const bt_gbdt_partition_item *items,
                                 int32_t n_items, int32_t blocks_per_item, int64_t *counts,
                                 int64_t *n_left, void *stream) {
    BT_TRY(chunks_ok(blocks_per_item, n_items, counts, "partition_cuda"));
    if (n_items <= 0) return BT_STATUS_OK;
    BT_TRY(arg_ok(items, (size_t)n_items * sizeof *items, "partition items"));
    BT_TRY(arg_ok(n_left, (size_t)n_items * sizeof *n_left, "partition counts"));
    part_args a = {rows, scratch, bins, width, n_features, items, n_items, n_left};
    return launch(stream, part_run, &a, sizeof a, "bt_gbdt_partition_cuda");
}

typedef struct leaf_args {
    const int32_t *rows;
    float *margin;
    const bt_gbdt_leaf_item *items;
    int32_t n_items;
} leaf_args;

static void leaf_run(void *p) {
    const leaf_args *a = p;
    bt_emu_count_kernel();
    for (int32_t i = 0; i < a->n_items; i++) {
        const bt_gbdt_leaf_item *it = &a->items[i];
        if (!IN(a->rows, it->row_begin, it->n, "leaf rows")) continue;
        const int32_t *r = a->rows + it->row_begin;
        if (it->n > 0 && !IN(a->margin, it->margin_offset,
                             max_row(r, it->n) * it->stride + it->k + 1, "leaf margin"))
            continue;
        bt_gbdt_leaf_add_ref(r, it->n, it->value, a->margin + it->margin_offset, it->stride, it->k);
    }
}

bt_status bt_gbdt_leaf_add_cuda(const int32_t *rows, float *margin, const bt_gbdt_leaf_item *items,
                                int32_t n_items, void *stream) {
    if (n_items <= 0) return BT_STATUS_OK;
    BT_TRY(arg_ok(items, (size_t)n_items * sizeof *items, "leaf items"));
    leaf_args a = {rows, margin, items, n_items};
    return launch(stream, leaf_run, &a, sizeof a, "bt_gbdt_leaf_add_cuda");
}

typedef struct pred_args {
    const bt_gbdt_node *nodes;
    const float *X;
    int32_t n_features;
    const int32_t *rows;
    float *margin;
    const bt_gbdt_predict_item *items;
    int32_t n_items;
} pred_args;

static void pred_run(void *p) {
    const pred_args *a = p;
    bt_emu_count_kernel();
    for (int32_t i = 0; i < a->n_items; i++) {
        const bt_gbdt_predict_item *it = &a->items[i];
        if (!IN(a->nodes, it->nodes_offset, it->n_nodes, "predict nodes")) continue;
        const int32_t *r = NULL;
        int64_t top = it->n - 1;
        if (it->row_begin >= 0) {
            if (!IN(a->rows, it->row_begin, it->n, "predict rows")) continue;
            r = a->rows + it->row_begin;
            top = max_row(r, it->n);
        }
        if (it->n <= 0) continue;
        if (!IN(a->X, 0, (top + 1) * a->n_features, "predict features") ||
            !IN(a->margin, it->margin_offset, top * it->stride + it->k + 1, "predict margin"))
            continue;
        bt_gbdt_predict_add_ref(a->nodes + it->nodes_offset, a->X, a->n_features, r, it->n,
                                a->margin + it->margin_offset, it->stride, it->k);
    }
}

bt_status bt_gbdt_predict_add_cuda(const bt_gbdt_node *nodes, const float *X, int32_t n_features,
                                   const int32_t *rows, float *margin,
                                   const bt_gbdt_predict_item *items, int32_t n_items,
                                   void *stream) {
    if (n_items <= 0) return BT_STATUS_OK;
    BT_TRY(arg_ok(items, (size_t)n_items * sizeof *items, "predict items"));
    pred_args a = {nodes, X, n_features, rows, margin, items, n_items};
    return launch(stream, pred_run, &a, sizeof a, "bt_gbdt_predict_add_cuda");
}
