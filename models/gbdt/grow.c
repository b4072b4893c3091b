/* Level-synchronous growth of one round of trees for the slots of a step. The trees of the round
 * (one per slot and class: a "grower") advance one depth level at a time, in cache-sized waves,
 * in four phases: build histograms, evaluate splits, apply them, partition rows. Each phase is a
 * list of independent jobs run in parallel; every job writes only its own node's data and every
 * sum is an integer, so results are identical whatever the thread count, the wave size or the
 * pack's other trials. Histograms use the sibling trick (build the smaller child, subtract it
 * from the parent's histogram for the larger one); nodes with very few rows sort their rows per
 * feature instead; both give exactly the same candidate sums. Small data sets grow from sorted
 * column lists instead (grow_cols.c), one whole tree per thread. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/gbdt_partition.h"
#include "kernels/gbdt_sample.h"
#include "kernels/gbdt_split_rules.h"
#include "models/gbdt/trainer.h"

#define SPARSE_MAX 32 /* nodes with at most this many rows may be evaluated without a histogram */

typedef struct grower {
    bt_gbdt_slot *s;
    int32_t k, max_depth;
    const bt_gbdt_gh *gh;
    int32_t *rows;
    double gu, hu;
    int32_t n_nodes, cap;
    bt_gbdt_node *nodes;
    int64_t *beg, *cnt;
    bt_gbdt_gh *sum;
    bt_gbdt_gh **hist;
    int32_t *sub_from; /* >= 0: hist = parent's buffer minus this node's hist (sibling trick) */
    bt_gbdt_split *best;
    int32_t *level, n_level, *next, n_next;
    int32_t *feats_tree, n_feats_tree, *feats_level, n_feats_level;
} grower;

typedef struct job {
    grower *w;
    int32_t node, f_begin, f_end;
} job;

typedef struct workspace {
    bt_gbdt_gh **pool; /* free histogram buffers */
    int n_pool, cap_pool;
    job *jobs;
    int n_jobs, cap_jobs;
    int32_t **part_scratch;  /* per thread, n_train rows */
    uint64_t **sort_scratch; /* per thread, keys for sparse evaluation and feature sampling */
    int n_threads;
    int64_t n_rows;
    int32_t n_features;
} workspace;

void bt_gbdt_grow_free(void *grow) {
    workspace *ws = grow;
    if (!ws) return;
    for (int i = 0; i < ws->n_pool; i++) free(ws->pool[i]);
    free(ws->pool);
    free(ws->jobs);
    for (int t = 0; t < ws->n_threads; t++) {
        free(ws->part_scratch[t]);
        free(ws->sort_scratch[t]);
    }
    free(ws->part_scratch);
    free(ws->sort_scratch);
    free(ws);
}

static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Whether a phase is worth a parallel region. Forking and joining threads costs microseconds on
 * an idle machine but milliseconds when the cores are shared (OpenMP threads spin at barriers
 * while their partner is descheduled), so phases below ~0.3 ms of work run serially. Either way
 * the result is the same. */
static int64_t par_min_work = 1 << 18;

void bt_gbdt_set_par_min_work(int64_t cells) {
    par_min_work = cells;
}

int bt_gbdt_par_ok(int nt, int n_jobs, int64_t work) {
    return nt > 1 && n_jobs > 1 && work >= par_min_work;
}

static int par_ok(int nt, int n_jobs, int64_t work) {
    return bt_gbdt_par_ok(nt, n_jobs, work);
}

/* Row-feature cells the jobs of the current list touch. */
static int64_t jobs_work(const workspace *ws, int per_feature) {
    int64_t w = 0;
    for (int j = 0; j < ws->n_jobs; j++) {
        const job *jb = &ws->jobs[j];
        w += jb->w->cnt[jb->node] * (per_feature ? (int64_t)(jb->f_end - jb->f_begin) : 1);
    }
    return w;
}

static bt_status ws_get(bt_pack *p, workspace **out) {
    if (p->grow) {
        *out = p->grow;
        return BT_STATUS_OK;
    }
    workspace *ws = calloc(1, sizeof *ws);
    BT_CHECK_ALLOC(ws);
    p->grow = ws;
    ws->n_threads = p->threads;
    ws->n_rows = p->bin->train.n_rows;
    ws->n_features = p->bin->train.n_features;
    ws->part_scratch = calloc((size_t)ws->n_threads, sizeof *ws->part_scratch);
    ws->sort_scratch = calloc((size_t)ws->n_threads, sizeof *ws->sort_scratch);
    BT_CHECK_ALLOC(ws->part_scratch);
    BT_CHECK_ALLOC(ws->sort_scratch);
    size_t nsort = 2 * (size_t)(ws->n_features > SPARSE_MAX ? ws->n_features : SPARSE_MAX) + 8;
    for (int t = 0; t < ws->n_threads; t++) {
        ws->part_scratch[t] = malloc((size_t)ws->n_rows * sizeof(int32_t));
        ws->sort_scratch[t] = malloc(nsort * sizeof(uint64_t) + 4 * SPARSE_MAX * sizeof(int64_t));
        BT_CHECK_ALLOC(ws->part_scratch[t]);
        BT_CHECK_ALLOC(ws->sort_scratch[t]);
    }
    *out = ws;
    return BT_STATUS_OK;
}

static bt_gbdt_gh *hist_acquire(workspace *ws, int64_t total) {
    if (ws->n_pool > 0) return ws->pool[--ws->n_pool];
    return malloc((size_t)total * sizeof(bt_gbdt_gh));
}

static int hist_release(workspace *ws, bt_gbdt_gh *h) {
    if (!h) return 1;
    if (ws->n_pool == ws->cap_pool) {
        int cap = ws->cap_pool ? 2 * ws->cap_pool : 64;
        bt_gbdt_gh **np = realloc(ws->pool, (size_t)cap * sizeof *np);
        if (!np) {
            free(h);
            return 1;
        }
        ws->pool = np;
        ws->cap_pool = cap;
    }
    ws->pool[ws->n_pool++] = h;
    return 1;
}

static int job_push(workspace *ws, grower *w, int32_t node, int32_t fb, int32_t fe) {
    if (ws->n_jobs == ws->cap_jobs) {
        int cap = ws->cap_jobs ? 2 * ws->cap_jobs : 256;
        job *nj = realloc(ws->jobs, (size_t)cap * sizeof *nj);
        if (!nj) return 0;
        ws->jobs = nj;
        ws->cap_jobs = cap;
    }
    job j = {w, node, fb, fe};
    ws->jobs[ws->n_jobs++] = j;
    return 1;
}

static void grower_free(grower *w) {
    free(w->nodes);
    free(w->beg);
    free(w->cnt);
    free(w->sum);
    free(w->hist);
    free(w->sub_from);
    free(w->best);
    free(w->level);
    free(w->next);
    free(w->feats_tree);
    free(w->feats_level);
}

static int grower_alloc(grower *w, int64_t n_rows, int32_t n_features) {
    int64_t cap = (1ll << (w->max_depth + 1)) - 1;
    if (cap > 2 * n_rows + 1) cap = 2 * n_rows + 1;
    w->cap = (int32_t)cap;
    w->nodes = calloc((size_t)cap, sizeof *w->nodes);
    w->beg = calloc((size_t)cap, sizeof *w->beg);
    w->cnt = calloc((size_t)cap, sizeof *w->cnt);
    w->sum = calloc((size_t)cap, sizeof *w->sum);
    w->hist = calloc((size_t)cap, sizeof *w->hist);
    w->sub_from = malloc((size_t)cap * sizeof *w->sub_from);
    w->best = calloc((size_t)cap, sizeof *w->best);
    w->level = malloc((size_t)cap * sizeof *w->level);
    w->next = malloc((size_t)cap * sizeof *w->next);
    w->feats_tree = malloc((size_t)n_features * sizeof *w->feats_tree);
    w->feats_level = malloc((size_t)n_features * sizeof *w->feats_level);
    return w->nodes && w->beg && w->cnt && w->sum && w->hist && w->sub_from && w->best &&
           w->level && w->next && w->feats_tree && w->feats_level;
}

/* The rules live in kernels/gbdt_split_rules.h (shared with the device-side split application). */
static bt_gbdt_rules slot_rules(const bt_gbdt_slot *s) {
    bt_gbdt_rules r;
    memset(&r, 0, sizeof r);
    r.sp = s->sp;
    r.eta = s->eta;
    r.gamma = s->gamma;
    r.max_depth = s->max_depth;
    return r;
}

void bt_gbdt_leaf_init(bt_gbdt_node *nodes, const bt_gbdt_gh *sum, double hu, int32_t id,
                       int32_t parent, float base_weight, float value) {
    bt_gbdt_rules_leaf_init(nodes, sum, hu, id, parent, base_weight, value);
}

int bt_gbdt_split_takes(const bt_gbdt_slot *s, const bt_gbdt_split *sp, int depth) {
    bt_gbdt_rules r = slot_rules(s);
    return bt_gbdt_rules_takes(&r, sp, depth);
}

void bt_gbdt_node_split(const bt_gbdt_slot *s, bt_gbdt_node *nodes, bt_gbdt_gh *sum, double gu,
                        double hu, int32_t id, const bt_gbdt_split *sp, int32_t L, int32_t R) {
    bt_gbdt_rules r = slot_rules(s);
    bt_gbdt_rules_node_split(&r, nodes, sum, gu, hu, id, sp, L, R);
}

static void set_leaf(grower *w, int32_t id, int32_t parent, float base_weight, float value) {
    bt_gbdt_leaf_init(w->nodes, w->sum, w->hu, id, parent, base_weight, value);
    w->hist[id] = NULL;
    w->sub_from[id] = -1;
}

/* Whether a node with m rows is worth a histogram (else its rows are sorted per feature). */
static int dense_ok(const bt_pack *p, int64_t m) {
    int32_t F = p->bin->train.n_features;
    int64_t T = p->bin->off[F];
    return m > SPARSE_MAX || m * 4 * F >= T;
}

/* ---- phase B: split evaluation ------------------------------------------------------------ */

static void eval_sparse(const bt_pack *p, grower *w, int32_t node, float root_gain,
                        uint64_t *scratch) {
    const bt_gbdt_binning *B = p->bin;
    const bt_binned *bm = &B->train;
    int64_t m = w->cnt[node];
    const int32_t *rows = w->rows + w->beg[node];
    uint64_t *keys = scratch;
    int32_t *cbin = (int32_t *)(scratch + SPARSE_MAX);
    bt_gbdt_gh *ce = (bt_gbdt_gh *)(scratch + 2 * SPARSE_MAX);
    for (int32_t fi = 0; fi < w->n_feats_level; fi++) {
        int32_t f = w->feats_level[fi];
        for (int64_t i = 0; i < m; i++) {
            uint64_t b = (uint64_t)bt_binned_get(bm, rows[i], f);
            uint64_t key = b << 32 | (uint64_t)i;
            int64_t j = i;
            while (j > 0 && keys[j - 1] > key) {
                keys[j] = keys[j - 1];
                j--;
            }
            keys[j] = key;
        }
        int32_t nc = 0;
        int32_t miss = B->missing_bin[f];
        for (int64_t i = 0; i < m; i++) {
            int32_t b = (int32_t)(keys[i] >> 32);
            if (b == miss) break;
            const bt_gbdt_gh *x = &w->gh[rows[keys[i] & 0xffffffffu]];
            if (nc > 0 && cbin[nc - 1] == b) {
                ce[nc - 1].g += x->g;
                ce[nc - 1].h += x->h;
            } else {
                cbin[nc] = b;
                ce[nc] = *x;
                nc++;
            }
        }
        bt_gbdt_split_scan_ref(ce, cbin, nc, B->cuts.values + B->cuts.ptr[f], B->cuts.min_values[f],
                               f, w->sum[node], w->gu, w->hu, &w->s->sp, root_gain, &w->best[node]);
    }
}

static void eval_node(const bt_pack *p, grower *w, int32_t node, uint64_t *scratch) {
    const bt_gbdt_binning *B = p->bin;
    int32_t F = B->train.n_features;
    bt_gbdt_split_reset(&w->best[node]);
    if (w->sub_from[node] >= 0)
        bt_gbdt_hist_sub_ref(w->hist[node], w->hist[w->sub_from[node]], 0, B->off[F]);
    bt_gbdt_gh S = w->sum[node];
    /* Both children need hessian >= min_child_weight and a positive gain over the parent: a node
     * with one row, or whose hessian cannot cover two children (with a margin far above the
     * rounding of the dequantized sums), has no candidate -- skip the scan. */
    const double H = (double)S.h * w->hu, mcw = w->s->sp.min_child_weight;
    if (w->cnt[node] < 2 || H < 2.0 * mcw * (1.0 - 1e-9)) return;
    float root_gain = bt_gbdt_gain(&w->s->sp, (double)S.g * w->gu, H);
    if (!w->hist[node]) {
        eval_sparse(p, w, node, root_gain, scratch);
        return;
    }
    for (int32_t fi = 0; fi < w->n_feats_level; fi++) {
        int32_t f = w->feats_level[fi];
        bt_gbdt_split_scan_ref(w->hist[node] + B->off[f], NULL, B->missing_bin[f],
                               B->cuts.values + B->cuts.ptr[f], B->cuts.min_values[f], f, S, w->gu,
                               w->hu, &w->s->sp, root_gain, &w->best[node]);
    }
}

/* ---- planning of one level's histograms ----------------------------------------------------- */

static int plan_build(workspace *ws, grower *w, int32_t node) {
    return job_push(ws, w, node, 0, ws->n_features);
}

static int plan_level(bt_pack *p, workspace *ws, grower *w, int depth) {
    const int32_t F = ws->n_features;
    const int64_t T = p->bin->off[F];
    if (depth == 0) {
        int32_t r = w->level[0];
        if (dense_ok(p, w->cnt[r])) {
            if (!(w->hist[r] = hist_acquire(ws, T))) return 0;
            if (!plan_build(ws, w, r)) return 0;
        }
        return 1;
    }
    for (int32_t i = 0; i + 1 < w->n_level; i += 2) {
        int32_t a = w->level[i], b = w->level[i + 1];
        int32_t P = w->nodes[a].parent;
        bt_gbdt_gh *HP = w->hist[P];
        w->hist[P] = NULL;
        int32_t sm = w->cnt[a] <= w->cnt[b] ? a : b, lg = sm == a ? b : a;
        int dl = dense_ok(p, w->cnt[lg]), ds = dense_ok(p, w->cnt[sm]);
        if (HP && dl && (w->cnt[lg] - w->cnt[sm]) * F > T) {
            if (!(w->hist[sm] = hist_acquire(ws, T))) return 0;
            if (!plan_build(ws, w, sm)) return 0;
            w->hist[lg] = HP;
            w->sub_from[lg] = sm;
            continue;
        }
        if (dl) {
            w->hist[lg] = HP ? HP : hist_acquire(ws, T);
            if (!w->hist[lg] || !plan_build(ws, w, lg)) return 0;
        } else {
            hist_release(ws, HP);
        }
        if (ds) {
            if (!(w->hist[sm] = hist_acquire(ws, T))) return 0;
            if (!plan_build(ws, w, sm)) return 0;
        }
    }
    return 1;
}

/* Splits build jobs of large nodes into feature blocks when there are too few jobs to keep every
 * thread busy (one trial on a big data set). Blocks write disjoint histogram entries. */
static int split_jobs(workspace *ws) {
    int nt = ws->n_threads, n = ws->n_jobs;
    if (nt <= 1 || n >= 2 * nt) return 1;
    int32_t F = ws->n_features;
    int blocks = nt * 2 < F ? nt * 2 : F;
    if (blocks <= 1) return 1;
    for (int j = 0; j < n; j++) {
        job jb = ws->jobs[j];
        if (jb.w->cnt[jb.node] < 4096) continue;
        for (int b = 0; b < blocks; b++) {
            int32_t fb = (int32_t)((int64_t)F * b / blocks),
                    fe = (int32_t)((int64_t)F * (b + 1) / blocks);
            if (b == 0) {
                ws->jobs[j].f_begin = fb;
                ws->jobs[j].f_end = fe;
            } else if (!job_push(ws, jb.w, jb.node, fb, fe)) {
                return 0;
            }
        }
    }
    return 1;
}

/* ---- phase C: apply the best splits ------------------------------------------------------- */

static void apply_level(workspace *ws, grower *w, int depth) {
    const bt_gbdt_slot *s = w->s;
    w->n_next = 0;
    for (int32_t i = 0; i < w->n_level; i++) {
        int32_t id = w->level[i];
        const bt_gbdt_split *sp = &w->best[id];
        int ok = bt_gbdt_split_takes(s, sp, depth);
        if (!ok) {
            hist_release(ws, w->hist[id]);
            w->hist[id] = NULL;
            continue;
        }
        int32_t L = w->n_nodes++, R = w->n_nodes++;
        bt_gbdt_node_split(s, w->nodes, w->sum, w->gu, w->hu, id, sp, L, R);
        w->hist[L] = w->hist[R] = NULL;
        w->sub_from[L] = w->sub_from[R] = -1;
        if (depth + 1 < w->max_depth) {
            w->next[w->n_next++] = L;
            w->next[w->n_next++] = R;
        } else {
            hist_release(ws, w->hist[id]);
            w->hist[id] = NULL;
        }
    }
}

/* ---- the round ----------------------------------------------------------------------------- */

/* The roots of the round's trees W[0..n_w): sums over the sampled rows, leaf values, per-tree
 * feature samples. */
static void grow_roots(bt_pack *p, workspace *ws, grower *W, int n_w) {
    const bt_binned *bm = &p->bin->train;
    const int64_t n = bm->n_rows;
    const int32_t F = bm->n_features;
    const int nt = p->threads;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (par_ok(nt, n_w, n_w * n))
    for (int g = 0; g < n_w; g++) {
        grower *w = &W[g];
        const bt_gbdt_slot *s = w->s;
        int64_t m = s->n_sampled[w->k];
        bt_gbdt_gh S = {0, 0};
        for (int64_t i = 0; i < m; i++) {
            S.g += w->gh[w->rows[i]].g;
            S.h += w->gh[w->rows[i]].h;
        }
        w->sum[0] = S;
        w->n_nodes = 1;
        w->beg[0] = 0;
        w->cnt[0] = m;
        float wt = bt_gbdt_weight(&s->sp, (double)S.g * w->gu, (double)S.h * w->hu);
        set_leaf(w, 0, -1, wt, wt * s->eta);
        uint64_t tree = (uint64_t)s->round * (uint64_t)s->n_out + (uint64_t)w->k;
        int32_t *all = w->feats_level;
        for (int32_t f = 0; f < F; f++) all[f] = f;
        w->n_feats_tree = bt_gbdt_sample_features_ref(s->key, tree, 0, all, F, s->colsample_bytree,
                                                      w->feats_tree, ws->sort_scratch[thread_id()]);
        w->level[0] = 0;
        w->n_level = m > 0 ? 1 : 0;
    }
}

/* One depth level of the wave W[g0..g1), in four phases of parallel jobs: histograms, evaluation,
 * application, partition. *more is 0 when no tree of the wave has nodes at this depth (then
 * nothing is done: the wave is grown). */
static bt_status grow_level(bt_pack *p, workspace *ws, grower *W, int g0, int g1, int depth,
                            int *more) {
    const bt_gbdt_binning *B = p->bin;
    const bt_binned *bm = &B->train;
    const int64_t n = bm->n_rows;
    const int32_t F = bm->n_features;
    const int nt = p->threads;
    int ok = 1;
    int any = 0;
    ws->n_jobs = 0;
    for (int g = g0; g < g1 && ok; g++) {
        grower *w = &W[g];
        if (w->n_level == 0) continue;
        any = 1;
        const bt_gbdt_slot *s = w->s;
        uint64_t tree = (uint64_t)s->round * (uint64_t)s->n_out + (uint64_t)w->k;
        w->n_feats_level = bt_gbdt_sample_features_ref(
            s->key, tree, (uint32_t)depth + 1, w->feats_tree, w->n_feats_tree, s->colsample_bylevel,
            w->feats_level, ws->sort_scratch[0]);
        ok = plan_level(p, ws, w, depth);
    }
    *more = any;
    if (!any) return BT_STATUS_OK;
    if (ok) ok = split_jobs(ws);
    if (!ok) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory planning histograms");
    /* phase A: histograms */
    int nj = ws->n_jobs;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (par_ok(nt, nj, jobs_work(ws, 1)))
    for (int j = 0; j < nj; j++) {
        job *jb = &ws->jobs[j];
        grower *w = jb->w;
        bt_gbdt_gh *h = w->hist[jb->node];
        memset(h + B->off[jb->f_begin], 0,
               (size_t)(B->off[jb->f_end] - B->off[jb->f_begin]) * sizeof *h);
        bt_gbdt_hist_ref(bm->bins, bm->width, F, B->off, jb->f_begin, jb->f_end,
                         w->rows + w->beg[jb->node], w->cnt[jb->node], w->gh, h);
    }
    /* phase B: evaluation, one job per node */
    ws->n_jobs = 0;
    for (int g = g0; g < g1 && ok; g++)
        for (int32_t i = 0; i < W[g].n_level && ok; i++)
            ok = job_push(ws, &W[g], W[g].level[i], 0, F);
    if (!ok) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    nj = ws->n_jobs;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (par_ok(nt, nj, jobs_work(ws, 1)))
    for (int j = 0; j < nj; j++) {
        /* the larger sibling subtracts the smaller one's histogram: order them so the
         * subtraction never races with the smaller one's own evaluation (read-only). */
        eval_node(p, ws->jobs[j].w, ws->jobs[j].node, ws->sort_scratch[thread_id()]);
    }
    /* release the small siblings' reference kept for subtraction: nothing to do (owned) */
    /* phase C: apply */
    ws->n_jobs = 0;
    for (int g = g0; g < g1 && ok; g++) {
        grower *w = &W[g];
        if (w->n_level == 0) continue;
        apply_level(ws, w, depth);
        for (int32_t i = 0; i < w->n_level && ok; i++) {
            int32_t id = w->level[i];
            if (w->nodes[id].left >= 0) ok = job_push(ws, w, id, 0, 0);
        }
        int32_t *t = w->level;
        w->level = w->next;
        w->next = t;
        w->n_level = w->n_next;
        for (int32_t i = 0; i < w->n_level; i++) w->sub_from[w->level[i]] = -1;
    }
    if (!ok) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    /* phase D: partition */
    nj = ws->n_jobs;
#pragma omp parallel for schedule(dynamic, 1)                                                      \
    num_threads(nt) if (par_ok(nt, nj, jobs_work(ws, 0) * 4))
    for (int j = 0; j < nj; j++) {
        grower *w = ws->jobs[j].w;
        int32_t id = ws->jobs[j].node;
        const bt_gbdt_node *nd = &w->nodes[id];
        int64_t nl;
        /* the split feature's column: stride 1, so rows of a node share lines */
        const char *col =
            (const char *)B->cols + (size_t)nd->feature * (size_t)n * (size_t)bm->width;
        nl = bt_gbdt_partition_ref(w->rows + w->beg[id], w->cnt[id], col, bm->width, 1, 0, nd->bin,
                                   B->missing_bin[nd->feature], nd->default_left,
                                   ws->part_scratch[thread_id()]);
        w->beg[nd->left] = w->beg[id];
        w->cnt[nd->left] = nl;
        w->beg[nd->right] = w->beg[id] + nl;
        w->cnt[nd->right] = w->cnt[id] - nl;
    }
    return BT_STATUS_OK;
}

/* Leaves into the train margins (and the rows a subsampled tree left out through it); the
 * finished trees join the model. */
static bt_status grow_finish(bt_pack *p, workspace *ws, grower *W, int n_w) {
    const bt_binned *bm = &p->bin->train;
    const int64_t n = bm->n_rows;
    const int32_t F = bm->n_features;
    const int nt = p->threads;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (par_ok(nt, n_w, n_w * n))
    for (int g = 0; g < n_w; g++) {
        grower *w = &W[g];
        bt_gbdt_slot *s = w->s;
        for (int32_t id = 0; id < w->n_nodes; id++) {
            const bt_gbdt_node *nd = &w->nodes[id];
            if (nd->left < 0)
                bt_gbdt_leaf_add_ref(w->rows + w->beg[id], w->cnt[id], nd->value, s->margin_train,
                                     s->n_out, w->k);
        }
        if (s->subsample < 1.0) {
            /* rows left out of this tree still get its prediction */
            uint64_t tree = (uint64_t)s->round * (uint64_t)s->n_out + (uint64_t)w->k;
            uint64_t thr = (uint64_t)(s->subsample * 4294967296.0);
            const float *X = p->data->train->X;
            for (int64_t r = 0; r < n; r++)
                if ((uint64_t)bt_philox_u32(s->key, tree, (uint64_t)r) >= thr) {
                    int32_t leaf = bt_gbdt_tree_leaf(w->nodes, X + r * F);
                    s->margin_train[r * s->n_out + w->k] += w->nodes[leaf].value;
                }
        }
    }
    for (int g = 0; g < n_w; g++) {
        grower *w = &W[g];
        bt_gbdt_slot *s = w->s;
        for (int32_t id = 0; id < w->n_nodes; id++) hist_release(ws, w->hist[id]);
        int64_t t = (int64_t)s->round * s->n_out + w->k;
        bt_gbdt_node *nodes = malloc((size_t)w->n_nodes * sizeof *nodes);
        if (!nodes) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
        memcpy(nodes, w->nodes, (size_t)w->n_nodes * sizeof *nodes);
        s->trees[t].nodes = nodes;
        s->trees[t].n_nodes = w->n_nodes;
    }
    return BT_STATUS_OK;
}

bt_status bt_gbdt_grow_round(bt_pack *p, bt_gbdt_slot **slots, int n_slots) {
    workspace *ws = NULL;
    BT_TRY(ws_get(p, &ws));
    const bt_gbdt_binning *B = p->bin;
    const bt_binned *bm = &B->train;
    const int64_t n = bm->n_rows;
    const int32_t F = bm->n_features;
    const int nt = p->threads;
    bt_status st = BT_STATUS_OK;

    int n_w = 0;
    for (int i = 0; i < n_slots; i++) n_w += slots[i]->n_out;
    grower *W = calloc((size_t)(n_w > 0 ? n_w : 1), sizeof *W);
    BT_CHECK_ALLOC(W);
    int ok = 1;
    for (int i = 0, g = 0; i < n_slots; i++) {
        bt_gbdt_slot *s = slots[i];
        for (int32_t k = 0; k < s->n_out; k++, g++) {
            grower *w = &W[g];
            w->s = s;
            w->k = k;
            w->max_depth = s->max_depth;
            w->gh = s->gh + (int64_t)k * n;
            w->rows = s->rows + (int64_t)k * n;
            w->gu = ldexp(1.0, -s->eg[k]);
            w->hu = ldexp(1.0, -s->eh[k]);
            ok = ok && grower_alloc(w, n, F);
        }
    }
    if (!ok) {
        st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory growing trees");
        goto done;
    }

    grow_roots(p, ws, W, n_w);

    /* Trees grow in waves: every level of a wave is run before the next wave starts. All trees
     * of a round could go at once (as a GPU does), but on a CPU the wave's gradients, row lists
     * and histograms then stay in cache; results do not depend on the grouping. */
    const int64_t per_tree = n * (int64_t)(sizeof(bt_gbdt_gh) + 2 * sizeof(int32_t)) +
                             (int64_t)B->off[F] * (int64_t)sizeof(bt_gbdt_gh) * 8;
    int wave = (int)((64ll << 20) / (per_tree > 0 ? per_tree : 1));
    if (wave < 2 * nt) wave = 2 * nt;
    for (int g0 = 0; g0 < n_w; g0 += wave) {
        const int g1 = g0 + wave < n_w ? g0 + wave : n_w;
        for (int depth = 0, more = 1; more; depth++) {
            st = grow_level(p, ws, W, g0, g1, depth, &more);
            if (st != BT_STATUS_OK) goto done;
        }
    }
    st = grow_finish(p, ws, W, n_w);
done:
    for (int g = 0; g < n_w; g++) grower_free(&W[g]);
    free(W);
    return st;
}
