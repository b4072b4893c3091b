/* Column-mode growth for small data sets (bt_gbdt_col_mode): one thread grows a whole tree, level
 * after level, from per-feature row lists kept sorted by bin and stably partitioned down the tree.
 * Trees of a pack grow in parallel, one per thread, so tiny trees need no barrier per level and
 * stay in the thread's cache. Same candidates, integer sums and tie order as histograms. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gbdt_partition.h"
#include "kernels/gbdt_sample.h"
#include "models/gbdt/trainer.h"

#if defined(__GNUC__)
#define BT_INLINE inline __attribute__((always_inline))
#else
#define BT_INLINE inline
#endif
#define LANES 8 /* the split screen runs on whole groups of LANES candidates (P is padded) */

/* Which split evaluation runs: 1 AVX-512 where the CPU has it, 0 portable; -1 not decided yet
 * (bt_gbdt_cols_prepare decides, outside any parallel region). */
static int simd_mode = -1;

/* One thread's buffers for growing one tree at a time. */
typedef struct colws {
    int32_t cap; /* node capacity */
    bt_gbdt_node *nodes;
    int64_t *beg, *cnt;
    bt_gbdt_gh *sum;
    bt_gbdt_split *best;
    int32_t *level, *next;
    int32_t *feats_tree, *feats_level;
    int32_t *col;       /* n_features lists of n rows: each node's rows in bin order */
    const int32_t *src; /* where the current level's lists are: col, or the binning's order */
    uint8_t *flag;      /* a byte per row */
    int32_t *tmp;       /* n: partition scratch */
    bt_gbdt_gh *P;      /* prefix sums at the ends of runs of equal bins */
    int32_t *pb;        /* their bins */
    double *V, *W;      /* the screen's terms */
    int64_t cap_batch;  /* entries of P, pb, V, W (plus LANES of padding) */
    int64_t tot;        /* entries of the current batch */
    int64_t *seg;       /* per feature of a batch: where its prefix sums start */
    int32_t *segm;      /* and how many runs it has */
    uint64_t *keys;     /* feature sampling */
} colws;

typedef struct colset {
    colws *ws;
    int n_ws;
    int64_t n;
    int32_t n_features;
} colset;

static void colws_free(colws *c) {
    free(c->nodes);
    free(c->beg);
    free(c->cnt);
    free(c->sum);
    free(c->best);
    free(c->level);
    free(c->next);
    free(c->feats_tree);
    free(c->feats_level);
    free(c->col);
    free(c->flag);
    free(c->tmp);
    free(c->P);
    free(c->pb);
    free(c->V);
    free(c->W);
    free(c->seg);
    free(c->segm);
    free(c->keys);
    memset(c, 0, sizeof *c);
}

void bt_gbdt_cols_free(void *cols) {
    colset *cs = cols;
    if (!cs) return;
    for (int t = 0; t < cs->n_ws; t++) colws_free(&cs->ws[t]);
    free(cs->ws);
    free(cs);
}

static int colws_alloc(colws *c, int64_t n, int32_t F) {
    size_t un = (size_t)(n > 0 ? n : 1);
    c->feats_tree = malloc((size_t)F * sizeof *c->feats_tree);
    c->feats_level = malloc((size_t)F * sizeof *c->feats_level);
    c->col = malloc(un * (size_t)F * sizeof *c->col);
    c->flag = calloc(un + 4, 1);                 /* gathered 4 bytes at a time */
    c->tmp = malloc((un + 16) * sizeof *c->tmp); /* whole 16-lane stores */
    /* several features' prefix sums at once, padded for the screen's whole vectors */
    int64_t cap = 2 * ((int64_t)un + 1) > 16384 ? 2 * ((int64_t)un + 1) : 16384;
    c->cap_batch = cap;
    c->P = calloc((size_t)(cap + LANES), sizeof *c->P);
    c->pb = calloc((size_t)(cap + LANES), sizeof *c->pb);
    c->V = calloc((size_t)(cap + LANES), sizeof *c->V);
    c->W = calloc((size_t)(cap + LANES), sizeof *c->W);
    c->seg = malloc((size_t)F * sizeof *c->seg);
    c->segm = malloc((size_t)F * sizeof *c->segm);
    c->keys = malloc((2 * (size_t)F + 8) * sizeof *c->keys);
    return c->feats_tree && c->feats_level && c->col && c->flag && c->tmp && c->P && c->pb &&
           c->V && c->W && c->seg && c->segm && c->keys;
}

static int colws_reserve_nodes(colws *c, int32_t cap) {
    if (c->cap >= cap) return 1;
    free(c->nodes);
    free(c->beg);
    free(c->cnt);
    free(c->sum);
    free(c->best);
    free(c->level);
    free(c->next);
    c->nodes = malloc((size_t)cap * sizeof *c->nodes);
    c->beg = malloc((size_t)cap * sizeof *c->beg);
    c->cnt = malloc((size_t)cap * sizeof *c->cnt);
    c->sum = malloc((size_t)cap * sizeof *c->sum);
    c->best = malloc((size_t)cap * sizeof *c->best);
    c->level = malloc((size_t)cap * sizeof *c->level);
    c->next = malloc((size_t)cap * sizeof *c->next);
    int ok = c->nodes && c->beg && c->cnt && c->sum && c->best && c->level && c->next;
    c->cap = ok ? cap : 0;
    return ok;
}

static int32_t node_cap(int32_t max_depth, int64_t n) {
    int64_t cap = max_depth >= 30 ? INT32_MAX : (1ll << (max_depth + 1)) - 1;
    if (cap > 2 * n + 1) cap = 2 * n + 1;
    return (int32_t)cap;
}

bt_status bt_gbdt_cols_prepare(bt_pack *p, bt_gbdt_slot *const *act, int n_act) {
    if (simd_mode < 0) bt_gbdt_cols_set_simd(1);
    const int64_t n = p->bin->train.n_rows;
    const int32_t F = p->bin->train.n_features;
    colset *cs = p->cols;
    if (!cs) {
        cs = calloc(1, sizeof *cs);
        BT_CHECK_ALLOC(cs);
        cs->ws = calloc((size_t)p->threads, sizeof *cs->ws);
        if (!cs->ws) {
            free(cs);
            return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
        }
        p->cols = cs;
        cs->n = n;
        cs->n_features = F;
        for (int t = 0; t < p->threads; t++) {
            cs->n_ws++;
            if (!colws_alloc(&cs->ws[t], n, F))
                return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for column lists");
        }
    }
    int32_t cap = 1;
    for (int i = 0; i < n_act; i++) {
        int32_t c = node_cap(act[i]->max_depth, n);
        if (c > cap) cap = c;
    }
    for (int t = 0; t < cs->n_ws; t++)
        if (!colws_reserve_nodes(&cs->ws[t], cap))
            return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for %d tree nodes", cap);
    return BT_STATUS_OK;
}

/* ---- split evaluation ------------------------------------------------------------------------ */

/* bt_gbdt_split_scan_prefix_ref, candidate for candidate, with a division-free screen in front of
 * each exact loss. With q = t^2 / d the exact real gains of a candidate, its float loss is
 * fl(fl(x0 + x1) - root_gain) with x = fl32(fl64(fl64(t * t) / d)), each x <= q (1 + 2^-23), so
 * loss > best implies (q0 + q1)(1 + 2^-22) > best + root_gain (rounding is monotonic and best is a
 * float). Candidates that fail the screen by a margin of 2^-20 can never be strictly better and
 * are skipped; every other candidate runs the reference's exact arithmetic in the reference's
 * order, so the result is bit-identical. All terms of the screen are non-negative (no
 * cancellation), and a NaN anywhere sends the candidate to the exact path.
 *
 * Prefix layout: P[0] = 0 and P[i + 1] the sum of the node's non-missing rows up to run i. The
 * forward scan's candidate j sends P[j + 1] left; the backward scan's sends bins >= bin[j] right,
 * i.e. the missing rows plus P[j] left. Either way left = base + P[j + off]. */
#define SCREEN 64

/* pass[t] = 1 unless candidate t (left sums base + P[t], t < k rounded up to LANES) surely loses
 * to a best loss K - root_gain: (n0 d1 + n1 d0)(1 + 2^-20) < K d0 d1, or min_child_weight fails.
 * Returns the number of passes. */
static BT_INLINE int64_t screen(const bt_gbdt_gh *P, int k, int64_t bg, int64_t bh,
                                bt_gbdt_gh total, double gu, double hu,
                                const bt_gbdt_split_param *p, double K, int64_t *pass) {
    const double alpha = p->alpha, lambda = p->lambda, mcw = p->min_child_weight;
    const int kk = (k + LANES - 1) / LANES * LANES;
    int64_t any = 0;
    for (int t = 0; t < kk; t++) {
        int64_t lg = bg + P[t].g, lh = bh + P[t].h;
        double G0 = (double)lg * gu, H0 = (double)lh * hu;
        double G1 = (double)(total.g - lg) * gu, H1 = (double)(total.h - lh) * hu;
        double c0 = G0 > alpha ? alpha : G0, c1 = G1 > alpha ? alpha : G1;
        c0 = c0 < -alpha ? -alpha : c0;
        c1 = c1 < -alpha ? -alpha : c1;
        double t0_ = G0 - c0, t1_ = G1 - c1;
        double d0 = H0 > 0 ? H0 + lambda : 1.0, d1 = H1 > 0 ? H1 + lambda : 1.0;
        double n0 = H0 > 0 ? t0_ * t0_ : 0.0, n1 = H1 > 0 ? t1_ * t1_ : 0.0;
        double v = (n0 * d1 + n1 * d0) * (1.0 + 0x1p-20);
        int64_t lose = v < K * (d0 * d1);
        int64_t bad = !(H0 >= mcw) | !(H1 >= mcw);
        pass[t] = !(lose | bad);
        any += pass[t] & (t < k);
    }
    return any;
}

/* The reference's loss of the candidate with left sums (lg, lh) (bt_gbdt_split_loss); -inf when
 * min_child_weight fails. */
static BT_INLINE float exact_loss(int64_t lg, int64_t lh, bt_gbdt_gh total, double gu, double hu,
                                  const bt_gbdt_split_param *p, float root_gain) {
    return bt_gbdt_split_loss((double)lg, (double)lh, (double)(total.g - lg),
                              (double)(total.h - lh), gu, hu, p->alpha, p->lambda,
                              p->min_child_weight, root_gain);
}

static BT_INLINE void scan_runs(const bt_gbdt_gh *P, const int32_t *bin, int32_t m,
                                const float *cuts, float min_value, int32_t feature,
                                bt_gbdt_gh total, double gu, double hu,
                                const bt_gbdt_split_param *p, float root_gain, int dir0,
                                bt_gbdt_split *best) {
    if (m <= 0) return;
    const int64_t sg = P[m].g, sh = P[m].h; /* all non-missing rows */
    int64_t pass[SCREEN];
    for (int dir = dir0; dir < 2; dir++) {
        if (dir == 1 && sg == total.g && sh == total.h) return; /* no missing value */
        const int off = dir == 0 ? 1 : 0;
        const int64_t bg = dir == 0 ? 0 : total.g - sg, bh = dir == 0 ? 0 : total.h - sh;
        /* forward: blocks from the bottom, candidates upwards; backward: the reverse */
        for (int32_t blk = 0; blk < m; blk += SCREEN) {
            int32_t k = m - blk < SCREEN ? m - blk : SCREEN;
            int32_t j0 = dir == 0 ? blk : m - blk - k;
            if (!screen(P + j0 + off, k, bg, bh, total, gu, hu, p,
                        (double)best->loss_chg + (double)root_gain, pass))
                continue;
            for (int32_t u = 0; u < k; u++) {
                int32_t t = dir == 0 ? u : k - 1 - u, j = j0 + t;
                if (!pass[t]) continue;
                int64_t lg = bg + P[j + off].g, lh = bh + P[j + off].h;
                float loss = exact_loss(lg, lh, total, gu, hu, p, root_gain);
                if (!(loss > best->loss_chg)) continue;
                int32_t b = bin[j];
                bt_gbdt_gh l = {lg, lh}, r = {total.g - lg, total.h - lh};
                best->loss_chg = loss;
                best->feature = feature;
                best->left = l;
                best->right = r;
                if (dir == 0) {
                    best->bin = b;
                    best->default_left = 0;
                    best->split_cond = cuts[b];
                } else {
                    best->bin = b - 1;
                    best->default_left = 1;
                    best->split_cond = b == 0 ? min_value : cuts[b - 1];
                }
            }
        }
    }
}

/* V[t] and W[t] of the screen for left sums P[t], t < k rounded up to LANES (P is padded). */
static BT_INLINE void screen_terms(const bt_gbdt_gh *P, int64_t k, bt_gbdt_gh total, double gu,
                                   double hu, const bt_gbdt_split_param *p, double *V, double *W) {
    const double alpha = p->alpha, lambda = p->lambda, mcw = p->min_child_weight;
    const int64_t kk = (k + LANES - 1) / LANES * LANES;
    for (int64_t t = 0; t < kk; t++) {
        int64_t lg = P[t].g, lh = P[t].h;
        double G0 = (double)lg * gu, H0 = (double)lh * hu;
        double G1 = (double)(total.g - lg) * gu, H1 = (double)(total.h - lh) * hu;
        double c0 = G0 > alpha ? alpha : G0, c1 = G1 > alpha ? alpha : G1;
        c0 = c0 < -alpha ? -alpha : c0;
        c1 = c1 < -alpha ? -alpha : c1;
        double t0 = G0 - c0, t1 = G1 - c1;
        double d0 = H0 > 0 ? H0 + lambda : 1.0, d1 = H1 > 0 ? H1 + lambda : 1.0;
        double n0 = H0 > 0 ? t0 * t0 : 0.0, n1 = H1 > 0 ? t1 * t1 : 0.0;
        double v = (n0 * d1 + n1 * d0) * (1.0 + 0x1p-20);
        V[t] = (H0 >= mcw) & (H1 >= mcw) ? v : -INFINITY;
        W[t] = d0 * d1;
    }
}

/* The running sum at the last row of each run of equal bins is the prefix sum of the node's
 * non-empty histogram bins: P[m + 1] for run m, whose bin goes to pb[m]; returns the number of
 * runs. Missing rows (the largest code) end the list and are not summed. Branch-free: every row
 * stores its running sum, only the last row of a run advances the output. Kept out of line so
 * that the walk's pointers stay in registers. */
typedef int64_t bt_v2i __attribute__((vector_size(16), aligned(8), may_alias));

#define RUNS_BODY(T)                                                                               \
    do {                                                                                           \
        const T *cb = (const T *)cols;                                                             \
        while (cnt > 0 && cb[L[cnt - 1]] == miss) cnt--;                                           \
        if (cnt == 0) return 0;                                                                    \
        bt_v2i acc = {0, 0};                                                                       \
        bt_v2i *out = (bt_v2i *)(P + 1);                                                           \
        int64_t m = 0;                                                                             \
        int32_t b = cb[L[0]];                                                                      \
        for (int64_t i = 0; i + 1 < cnt; i++) {                                                    \
            int32_t nb = cb[L[i + 1]];                                                             \
            acc += *(const bt_v2i *)(gh + L[i]);                                                   \
            out[m] = acc;                                                                          \
            pb[m] = b;                                                                             \
            m += nb != b;                                                                          \
            b = nb;                                                                                \
        }                                                                                          \
        out[m] = acc + *(const bt_v2i *)(gh + L[cnt - 1]);                                         \
        pb[m] = b;                                                                                 \
        return (int32_t)m + 1;                                                                     \
    } while (0)

__attribute__((noinline)) static int32_t walk_runs1(const int32_t *L, int64_t cnt, const void *cols,
                                                    int32_t miss, const bt_gbdt_gh *gh,
                                                    bt_gbdt_gh *P, int32_t *pb) {
    RUNS_BODY(uint8_t);
}

__attribute__((noinline)) static int32_t walk_runs2(const int32_t *L, int64_t cnt, const void *cols,
                                                    int32_t miss, const bt_gbdt_gh *gh,
                                                    bt_gbdt_gh *P, int32_t *pb) {
    RUNS_BODY(uint16_t);
}

/* Walks features feats_level[f0..] of a node into one array (each feature: a 0, then its prefix
 * sums) while they fit; returns how many did, with their offsets and run counts in seg/segm. */
static BT_INLINE int32_t walk_batch(const bt_gbdt_binning *B, colws *c, const bt_gbdt_gh *gh,
                                    int32_t n_feats, int32_t node, int32_t f0) {
    const int64_t n = B->train.n_rows, cnt = c->cnt[node];
    const int32_t w = B->train.width;
    int32_t nb = 0;
    int64_t tot = 0;
    for (; f0 + nb < n_feats && tot + cnt + 1 <= c->cap_batch; nb++) {
        int32_t f = c->feats_level[f0 + nb];
        const int32_t *L = c->src + (int64_t)f * n + c->beg[node];
        const void *cb = (const char *)B->cols + (size_t)f * (size_t)n * (size_t)w;
        c->P[tot].g = c->P[tot].h = 0;
        int32_t m = (w == 1 ? walk_runs1 : walk_runs2)(L, cnt, cb, B->missing_bin[f], gh,
                                                       c->P + tot, c->pb + tot);
        c->seg[nb] = tot;
        c->segm[nb] = m;
        tot += m + 1;
    }
    c->tot = tot;
    return nb;
}

/* A forward candidate's exact loss; it becomes the best when strictly better. */
static BT_INLINE void try_forward(bt_gbdt_split *best, int32_t f, int64_t lg, int64_t lh,
                                  bt_gbdt_gh S, double gu, double hu, const bt_gbdt_split_param *sp,
                                  float root_gain, int32_t b, const float *cuts) {
    float loss = exact_loss(lg, lh, S, gu, hu, sp, root_gain);
    if (!(loss > best->loss_chg)) return;
    bt_gbdt_gh l = {lg, lh}, r = {S.g - lg, S.h - lh};
    best->loss_chg = loss;
    best->feature = f;
    best->left = l;
    best->right = r;
    best->bin = b;
    best->default_left = 0;
    best->split_cond = cuts[b];
}

/* The node's sums allow a split at all (as grow.c: not with one row, nor when the hessian cannot
 * cover two children); resets best either way. */
static BT_INLINE int node_open(const colws *c, const bt_gbdt_slot *s, double gu, double hu,
                               int32_t node, bt_gbdt_split *best, float *root_gain) {
    bt_gbdt_split_reset(best);
    bt_gbdt_gh S = c->sum[node];
    const double H = (double)S.h * hu, mcw = s->sp.min_child_weight;
    if (c->cnt[node] < 2 || H < 2.0 * mcw * (1.0 - 1e-9)) return 0;
    *root_gain = bt_gbdt_gain(&s->sp, (double)S.g * gu, H);
    return 1;
}

/* Portable evaluation: the screen's terms of a batch in one vector loop, then the candidates in
 * the reference's order against the running best. Cloned per instruction set; the exact losses
 * are plain IEEE arithmetic without contraction, so every clone finds the same split. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((optimize("no-trapping-math"), target_clones("avx2", "default")))
#endif
static void
eval_node_generic(const bt_gbdt_binning *B, colws *c, const bt_gbdt_slot *s, const bt_gbdt_gh *gh,
                  double gu, double hu, int32_t n_feats, int32_t node) {
    bt_gbdt_split *best = &c->best[node];
    float root_gain;
    if (!node_open(c, s, gu, hu, node, best, &root_gain)) return;
    const bt_gbdt_gh S = c->sum[node];
    const double rg = (double)root_gain;
    const bt_gbdt_gh *P = c->P;
    const int32_t *pb = c->pb;
    const double *V = c->V, *W = c->W;
    for (int32_t f0 = 0; f0 < n_feats;) {
        int32_t nb = walk_batch(B, c, gh, n_feats, node, f0);
        screen_terms(P, c->tot, S, gu, hu, &s->sp, c->V, c->W);
        for (int32_t q = 0; q < nb; q++) {
            const int32_t f = c->feats_level[f0 + q], m = c->segm[q];
            const int64_t o = c->seg[q] + 1; /* forward candidate j has left sums P[o + j] */
            const float *cuts = B->cuts.values + B->cuts.ptr[f];
            for (int32_t j0 = 0; j0 < m; j0 += LANES) {
                double K = (double)best->loss_chg + rg;
                int any = 0;
                for (int l = 0; l < LANES; l++) any |= !(V[o + j0 + l] < K * W[o + j0 + l]);
                if (!any) continue;
                const int32_t j1 = j0 + LANES < m ? j0 + LANES : m;
                for (int32_t j = j0; j < j1; j++) {
                    if (V[o + j] < K * W[o + j]) continue;
                    try_forward(best, f, P[o + j].g, P[o + j].h, S, gu, hu, &s->sp, root_gain,
                                pb[o - 1 + j], cuts);
                    K = (double)best->loss_chg + rg;
                }
            }
            /* missing rows in the node: the backward scan (rare), feature by feature */
            if (m > 0 && (P[o - 1 + m].g != S.g || P[o - 1 + m].h != S.h))
                scan_runs(P + o - 1, pb + o - 1, m, cuts, B->cuts.min_values[f], f, S, gu, hu,
                          &s->sp, root_gain, 1, best);
        }
        f0 += nb;
    }
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define BT_COLS_AVX512 1

/* The same with AVX-512: each group of 8 forward candidates is screened in registers against the
 * running best (no stores), and only the lanes of its mask run the exact loss, in order. */
__attribute__((target("avx512f,avx512dq"))) static void
eval_node_avx512(const bt_gbdt_binning *B, colws *c, const bt_gbdt_slot *s, const bt_gbdt_gh *gh,
                 double gu, double hu, int32_t n_feats, int32_t node) {
    bt_gbdt_split *best = &c->best[node];
    float root_gain;
    if (!node_open(c, s, gu, hu, node, best, &root_gain)) return;
    const bt_gbdt_gh S = c->sum[node];
    const double rg = (double)root_gain;
    const bt_gbdt_gh *P = c->P;
    const int32_t *pb = c->pb;
    const bt_gbdt_split_param *sp = &s->sp;
    const __m512d vgu = _mm512_set1_pd(gu), vhu = _mm512_set1_pd(hu);
    const __m512d va = _mm512_set1_pd(sp->alpha), vna = _mm512_set1_pd(-(double)sp->alpha);
    const __m512d vl = _mm512_set1_pd(sp->lambda), vmcw = _mm512_set1_pd(sp->min_child_weight);
    const __m512d one = _mm512_set1_pd(1.0), zero = _mm512_setzero_pd();
    const __m512d eps = _mm512_set1_pd(1.0 + 0x1p-20);
    const __m512i tg = _mm512_set1_epi64(S.g), th = _mm512_set1_epi64(S.h);
    const __m512i ie = _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i io = _mm512_set_epi64(15, 13, 11, 9, 7, 5, 3, 1);
    for (int32_t f0 = 0; f0 < n_feats;) {
        int32_t nb = walk_batch(B, c, gh, n_feats, node, f0);
        for (int32_t q = 0; q < nb; q++) {
            const int32_t f = c->feats_level[f0 + q], m = c->segm[q];
            const int64_t o = c->seg[q] + 1;
            const float *cuts = B->cuts.values + B->cuts.ptr[f];
            for (int32_t j0 = 0; j0 < m; j0 += 8) {
                /* P is padded: the lanes past m read initialized memory and are masked off */
                __mmask8 live = m - j0 >= 8 ? 0xff : (__mmask8)((1u << (m - j0)) - 1);
                __m512i a = _mm512_loadu_si512((const void *)(P + o + j0));
                __m512i b = _mm512_loadu_si512((const void *)(P + o + j0 + 4));
                __m512i lg = _mm512_permutex2var_epi64(a, ie, b);
                __m512i lh = _mm512_permutex2var_epi64(a, io, b);
                __m512d G0 = _mm512_mul_pd(_mm512_cvtepi64_pd(lg), vgu);
                __m512d H0 = _mm512_mul_pd(_mm512_cvtepi64_pd(lh), vhu);
                __m512d G1 = _mm512_mul_pd(_mm512_cvtepi64_pd(_mm512_sub_epi64(tg, lg)), vgu);
                __m512d H1 = _mm512_mul_pd(_mm512_cvtepi64_pd(_mm512_sub_epi64(th, lh)), vhu);
                __m512d t0 = _mm512_sub_pd(G0, _mm512_max_pd(_mm512_min_pd(G0, va), vna));
                __m512d t1 = _mm512_sub_pd(G1, _mm512_max_pd(_mm512_min_pd(G1, va), vna));
                __mmask8 p0 = _mm512_cmp_pd_mask(H0, zero, _CMP_GT_OQ);
                __mmask8 p1 = _mm512_cmp_pd_mask(H1, zero, _CMP_GT_OQ);
                __m512d d0 = _mm512_mask_add_pd(one, p0, H0, vl);
                __m512d d1 = _mm512_mask_add_pd(one, p1, H1, vl);
                __m512d n0 = _mm512_maskz_mul_pd(p0, t0, t0);
                __m512d n1 = _mm512_maskz_mul_pd(p1, t1, t1);
                __m512d V =
                    _mm512_mul_pd(_mm512_add_pd(_mm512_mul_pd(n0, d1), _mm512_mul_pd(n1, d0)), eps);
                __m512d KW = _mm512_mul_pd(_mm512_set1_pd((double)best->loss_chg + rg),
                                           _mm512_mul_pd(d0, d1));
                __mmask8 pass = live & _mm512_cmp_pd_mask(H0, vmcw, _CMP_GE_OQ) &
                                _mm512_cmp_pd_mask(H1, vmcw, _CMP_GE_OQ) &
                                _mm512_cmp_pd_mask(V, KW, _CMP_NLT_UQ);
                while (pass) {
                    int32_t j = j0 + __builtin_ctz(pass);
                    pass &= (__mmask8)(pass - 1);
                    try_forward(best, f, P[o + j].g, P[o + j].h, S, gu, hu, sp, root_gain,
                                pb[o - 1 + j], cuts);
                }
            }
            if (m > 0 && (P[o - 1 + m].g != S.g || P[o - 1 + m].h != S.h))
                scan_runs(P + o - 1, pb + o - 1, m, cuts, B->cuts.min_values[f], f, S, gu, hu, sp,
                          root_gain, 1, best);
        }
        f0 += nb;
    }
}
#endif

void bt_gbdt_cols_set_simd(int on) {
#if BT_COLS_AVX512
    simd_mode = on && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
#else
    simd_mode = 0;
    (void)on;
#endif
}

static void eval_node(const bt_gbdt_binning *B, colws *c, const bt_gbdt_slot *s,
                      const bt_gbdt_gh *gh, double gu, double hu, int32_t n_feats, int32_t node) {
#if BT_COLS_AVX512
    if (simd_mode) {
        eval_node_avx512(B, c, s, gh, gu, hu, n_feats, node);
        return;
    }
#endif
    eval_node_generic(B, c, s, gh, gu, hu, n_feats, node);
}

/* Whether a node would be evaluated (eval_node's test), so its lists must be partitioned. */
static int will_eval(const bt_gbdt_slot *s, int64_t cnt, bt_gbdt_gh S, double hu) {
    const double H = (double)S.h * hu, mcw = s->sp.min_child_weight;
    return !(cnt < 2 || H < 2.0 * mcw * (1.0 - 1e-9));
}

/* ---- partition ------------------------------------------------------------------------------ */

#if BT_COLS_AVX512
/* partition() 16 rows at a time: gather their flags, compress the left rows to dst (never past
 * rows already read when dst is src) and the right ones into tmp (n + 16 entries). */
__attribute__((target("avx512f"))) static int64_t
partition_avx512(const int32_t *src, int32_t *dst, int64_t n, const uint8_t *fl, int32_t *tmp) {
    int64_t nl = 0, nr = 0, i = 0;
    const __m512i lo = _mm512_set1_epi32(0xff);
    for (; i + 16 <= n; i += 16) {
        __m512i r = _mm512_loadu_si512((const void *)(src + i));
        __m512i f = _mm512_i32gather_epi32(r, (const void *)fl, 1);
        __mmask16 left = _mm512_test_epi32_mask(f, lo);
        _mm512_storeu_si512((void *)(dst + nl), _mm512_maskz_compress_epi32(left, r));
        _mm512_storeu_si512((void *)(tmp + nr), _mm512_maskz_compress_epi32((__mmask16)~left, r));
        int k = __builtin_popcount(left);
        nl += k;
        nr += 16 - k;
    }
    for (; i < n; i++) {
        int32_t r = src[i];
        int64_t left = fl[r] != 0;
        dst[nl] = r;
        tmp[nr] = r;
        nl += left;
        nr += 1 - left;
    }
    memcpy(dst + nl, tmp, (size_t)nr * sizeof *dst);
    return nl;
}
#endif

/* Stable partition of src[0..n) into dst (src itself, or a list of its own) by flag: rows with
 * fl[row] set first; bt_gbdt_partition_flags_ref when in place. */
static int64_t partition(const int32_t *src, int32_t *dst, int64_t n, const uint8_t *fl,
                         int32_t *tmp) {
#if BT_COLS_AVX512
    if (simd_mode) return partition_avx512(src, dst, n, fl, tmp);
#endif
    if (src == dst) return bt_gbdt_partition_flags_ref(dst, n, fl, tmp);
    int64_t nl = 0, nr = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t r = src[i];
        int64_t left = fl[r] != 0;
        dst[nl] = r;
        tmp[nr] = r;
        nl += left;
        nr += 1 - left;
    }
    memcpy(dst + nl, tmp, (size_t)nr * sizeof *dst);
    return nl;
}

/* ---- one tree -------------------------------------------------------------------------------- */

#define FLAGS_BODY(T)                                                                              \
    do {                                                                                           \
        const T *cb = (const T *)B->cols + (int64_t)nd->feature * n;                               \
        const int32_t miss = B->missing_bin[nd->feature], sb = nd->bin;                            \
        const int dl = nd->default_left != 0;                                                      \
        for (int64_t q = 0; q < cnt; q++) {                                                        \
            int32_t r = rl[q], b = cb[r];                                                          \
            int left = b == miss ? dl : b <= sb;                                                   \
            fl[r] = (uint8_t)left;                                                                 \
            nl += left;                                                                            \
        }                                                                                          \
    } while (0)

static bt_status grow_tree(bt_pack *p, colws *c, bt_gbdt_slot *s, int32_t k) {
    const bt_gbdt_binning *B = p->bin;
    const int64_t n = B->train.n_rows;
    const int32_t F = B->train.n_features;
    const bt_gbdt_gh *gh = s->gh + (int64_t)k * n;
    const int32_t *rows = s->rows + (int64_t)k * n;
    const int64_t m = s->n_sampled[k];
    const double gu = ldexp(1.0, -s->eg[k]), hu = ldexp(1.0, -s->eh[k]);
    const uint64_t tree = (uint64_t)s->round * (uint64_t)s->n_out + (uint64_t)k;

    /* root */
    bt_gbdt_gh S = {0, 0};
    for (int64_t i = 0; i < m; i++) {
        S.g += gh[rows[i]].g;
        S.h += gh[rows[i]].h;
    }
    c->sum[0] = S;
    c->beg[0] = 0;
    c->cnt[0] = m;
    int32_t n_nodes = 1;
    float wt = bt_gbdt_weight(&s->sp, (double)S.g * gu, (double)S.h * hu);
    bt_gbdt_leaf_init(c->nodes, c->sum, hu, 0, -1, wt, wt * s->eta);
    for (int32_t f = 0; f < F; f++) c->feats_level[f] = f;
    const int32_t n_ft = bt_gbdt_sample_features_ref(s->key, tree, 0, c->feats_level, F,
                                                     s->colsample_bytree, c->feats_tree, c->keys);
    /* the first sampled feature's lists double as the nodes' row lists */
    const int32_t rowf = c->feats_tree[0];
    if (m == n) {
        c->src = B->order; /* the root reads the binning's lists; its split writes col */
    } else {
        c->src = c->col;
        uint8_t *in = c->flag;
        memset(in, 0, (size_t)n);
        for (int64_t i = 0; i < m; i++) in[rows[i]] = 1;
        for (int32_t fi = 0; fi < n_ft; fi++) {
            int32_t f = c->feats_tree[fi];
            const int32_t *ord = B->order + (int64_t)f * n;
            int32_t *dst = c->col + (int64_t)f * n;
            for (int64_t i = 0, j = 0; i < n; i++) {
                dst[j] = ord[i];
                j += in[ord[i]];
            }
        }
    }

    int32_t *level = c->level, *next = c->next;
    int32_t n_level = m > 0 ? 1 : 0;
    level[0] = 0;
    for (int depth = 0; n_level > 0; depth++) {
        int32_t n_fl =
            bt_gbdt_sample_features_ref(s->key, tree, (uint32_t)depth + 1, c->feats_tree, n_ft,
                                        s->colsample_bylevel, c->feats_level, c->keys);
        for (int32_t i = 0; i < n_level; i++) eval_node(B, c, s, gh, gu, hu, n_fl, level[i]);
        int32_t n_next = 0;
        const int deeper = depth + 1 < s->max_depth;
        for (int32_t i = 0; i < n_level; i++) {
            int32_t id = level[i];
            const bt_gbdt_split *sp = &c->best[id];
            if (!bt_gbdt_split_takes(s, sp, depth)) continue;
            int32_t lc = n_nodes++, rc = n_nodes++;
            bt_gbdt_node_split(s, c->nodes, c->sum, gu, hu, id, sp, lc, rc);
            /* partition the node's rows: decide once per row, then split the lists */
            const bt_gbdt_node *nd = &c->nodes[id];
            const int64_t beg = c->beg[id], cnt = c->cnt[id];
            const int32_t *rl = c->src + (int64_t)rowf * n + beg;
            uint8_t *fl = c->flag;
            int64_t nl = 0;
            if (B->train.width == 1)
                FLAGS_BODY(uint8_t);
            else
                FLAGS_BODY(uint16_t);
            c->beg[lc] = beg;
            c->cnt[lc] = nl;
            c->beg[rc] = beg + nl;
            c->cnt[rc] = cnt - nl;
            int more = deeper &&
                       (will_eval(s, nl, c->sum[lc], hu) || will_eval(s, cnt - nl, c->sum[rc], hu));
            /* children that stay leaves need only the row list */
            for (int32_t fi = 0; fi < (more ? n_ft : 1); fi++) {
                int32_t f = more ? c->feats_tree[fi] : rowf;
                partition(c->src + (int64_t)f * n + beg, c->col + (int64_t)f * n + beg, cnt, fl,
                          c->tmp);
            }
            if (deeper) {
                next[n_next++] = lc;
                next[n_next++] = rc;
            }
        }
        int32_t *t = level;
        level = next;
        next = t;
        n_level = n_next;
        c->src = c->col;
    }

    /* leaves -> train margins (a lone root: its rows are the sampled rows) */
    for (int32_t id = 0; id < n_nodes; id++) {
        const bt_gbdt_node *nd = &c->nodes[id];
        if (nd->left < 0)
            bt_gbdt_leaf_add_ref(n_nodes == 1 ? rows : c->col + (int64_t)rowf * n + c->beg[id],
                                 c->cnt[id], nd->value, s->margin_train, s->n_out, k);
    }
    if (s->subsample < 1.0) {
        /* rows left out of this tree still get its prediction */
        uint64_t thr = (uint64_t)(s->subsample * 4294967296.0);
        const float *X = p->data->train->X;
        for (int64_t r = 0; r < n; r++)
            if ((uint64_t)bt_philox_u32(s->key, tree, (uint64_t)r) >= thr) {
                int32_t leaf = bt_gbdt_tree_leaf(c->nodes, X + r * F);
                s->margin_train[r * s->n_out + k] += c->nodes[leaf].value;
            }
    }
    int64_t t = (int64_t)s->round * s->n_out + k;
    bt_gbdt_node *nodes = malloc((size_t)n_nodes * sizeof *nodes);
    BT_CHECK_ALLOC(nodes);
    memcpy(nodes, c->nodes, (size_t)n_nodes * sizeof *nodes);
    s->trees[t].nodes = nodes;
    s->trees[t].n_nodes = n_nodes;
    return BT_STATUS_OK;
}

bt_status bt_gbdt_cols_grow(bt_pack *p, bt_gbdt_slot *s, int tid) {
    colset *cs = p->cols;
    colws *c = &cs->ws[tid];
    if (c->cap < node_cap(s->max_depth, cs->n))
        return BT_FAIL(BT_STATUS_INTERNAL, "column workspace not prepared for this slot");
    for (int32_t k = 0; k < s->n_out; k++) BT_TRY(grow_tree(p, c, s, k));
    return BT_STATUS_OK;
}
