/* Column-mode growth for small data sets (bt_gbdt_col_mode): one thread grows a whole tree, level
 * after level, from per-feature row lists kept sorted by bin and stably partitioned down the tree.
 * Trees of a pack grow in parallel, one per thread, so tiny trees need no barrier per level and
 * stay in the thread's cache. Same candidates, integer sums and tie order as histograms. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/gbdt_partition.h"
#include "../../kernels/gbdt_sample.h"
#include "trainer.h"

/* One thread's buffers for growing one tree at a time. */
typedef struct colws {
    int32_t cap; /* node capacity */
    bt_gbdt_node *nodes;
    int64_t *beg, *cnt;
    bt_gbdt_gh *sum;
    bt_gbdt_split *best;
    int32_t *level, *next;
    int32_t *feats_tree, *feats_level;
    int32_t *col;     /* n_features lists of n rows: each node's rows in bin order */
    uint8_t *flag;    /* a byte per row */
    int32_t *tmp;     /* n: partition scratch */
    int64_t *pg, *ph; /* n: prefix sums at the ends of runs of equal bins */
    int32_t *pb;      /* n: their bins */
    uint64_t *keys;   /* feature sampling */
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
    free(c->pg);
    free(c->ph);
    free(c->pb);
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
    c->flag = malloc(un);
    c->tmp = malloc(un * sizeof *c->tmp);
    c->pg = malloc(un * sizeof *c->pg);
    c->ph = malloc(un * sizeof *c->ph);
    c->pb = malloc(un * sizeof *c->pb);
    c->keys = malloc((2 * (size_t)F + 8) * sizeof *c->keys);
    return c->feats_tree && c->feats_level && c->col && c->flag && c->tmp && c->pg && c->ph &&
           c->pb && c->keys;
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
 * cancellation), and a NaN anywhere sends the candidate to the exact path. */
static void scan_runs(const int64_t *pg, const int64_t *ph, const int32_t *bin, int32_t m,
                      const float *cuts, float min_value, int32_t feature, bt_gbdt_gh total,
                      double gu, double hu, const bt_gbdt_split_param *p, float root_gain,
                      bt_gbdt_split *best) {
    if (m <= 0) return;
    const int64_t sg = pg[m - 1], sh = ph[m - 1]; /* all non-missing rows */
    const double alpha = p->alpha, lambda = p->lambda, mcw = p->min_child_weight;
    for (int dir = 0; dir < 2; dir++) {
        if (dir == 1 && sg == total.g && sh == total.h) return; /* no missing value */
        double K = (double)best->loss_chg + (double)root_gain;
        for (int32_t t = 0; t < m; t++) {
            int32_t j = dir == 0 ? t : m - 1 - t;
            int64_t ag, ah;
            if (dir == 0) {
                ag = pg[j];
                ah = ph[j];
            } else {
                ag = sg - (j > 0 ? pg[j - 1] : 0);
                ah = sh - (j > 0 ? ph[j - 1] : 0);
            }
            double a_g = (double)ag, a_h = (double)ah;
            double r_g = (double)(total.g - ag), r_h = (double)(total.h - ah);
            double gl = dir == 0 ? a_g : r_g, hl = dir == 0 ? a_h : r_h;
            double gr = dir == 0 ? r_g : a_g, hr = dir == 0 ? r_h : a_h;
            double G0 = gl * gu, H0 = hl * hu, G1 = gr * gu, H1 = hr * hu;
            if (!(H0 >= mcw) || !(H1 >= mcw)) continue;
            double c0 = G0 > alpha ? alpha : G0, c1 = G1 > alpha ? alpha : G1;
            c0 = c0 < -alpha ? -alpha : c0;
            c1 = c1 < -alpha ? -alpha : c1;
            double t0 = G0 - c0, t1 = G1 - c1;
            double d0 = H0 > 0 ? H0 + lambda : 1.0, d1 = H1 > 0 ? H1 + lambda : 1.0;
            double s0 = t0 * t0, s1 = t1 * t1;
            double n0 = H0 > 0 ? s0 : 0.0, n1 = H1 > 0 ? s1 : 0.0;
            if ((n0 * d1 + n1 * d0) * (1.0 + 0x1p-20) < K * (d0 * d1)) continue;
            /* exact: the reference's arithmetic (ISO C: no contraction) */
            float x0 = (float)(s0 / d0), x1 = (float)(s1 / d1);
            x0 = H0 > 0 ? x0 : 0.0f;
            x1 = H1 > 0 ? x1 : 0.0f;
            float loss = (x0 + x1) - root_gain;
            if (!(loss > best->loss_chg)) continue;
            int32_t b = bin[j];
            bt_gbdt_gh a = {ag, ah}, r = {total.g - ag, total.h - ah};
            best->loss_chg = loss;
            best->feature = feature;
            if (dir == 0) {
                best->left = a;
                best->right = r;
                best->bin = b;
                best->default_left = 0;
                best->split_cond = cuts[b];
            } else {
                best->left = r;
                best->right = a;
                best->bin = b - 1;
                best->default_left = 1;
                best->split_cond = b == 0 ? min_value : cuts[b - 1];
            }
            K = (double)best->loss_chg + (double)root_gain;
        }
    }
}

/* The running sum at the last row of each run of equal bins is the prefix sum of the node's
 * non-empty histogram bins. Branch-free: every row stores its running sum, only the last row of a
 * run advances the output. Missing rows (the largest code) end the list and are not summed. */
#define RUNS_BODY(T)                                                                               \
    do {                                                                                           \
        const T *cb = (const T *)B->cols + (int64_t)f * n;                                         \
        int32_t b = cb[L[0]];                                                                      \
        for (int64_t i = 0; i < cnt; i++) {                                                        \
            if (b == miss) break;                                                                  \
            int32_t r = L[i];                                                                      \
            int32_t nb = i + 1 < cnt ? (int32_t)cb[L[i + 1]] : -1;                                 \
            ag += gh[r].g;                                                                         \
            ah += gh[r].h;                                                                         \
            pg[m] = ag;                                                                            \
            ph[m] = ah;                                                                            \
            pb[m] = b;                                                                             \
            m += nb != b;                                                                          \
            b = nb;                                                                                \
        }                                                                                          \
    } while (0)

static void eval_node(const bt_gbdt_binning *B, colws *c, const bt_gbdt_slot *s,
                      const bt_gbdt_gh *gh, double gu, double hu, int32_t n_feats, int32_t node) {
    const int64_t n = B->train.n_rows, cnt = c->cnt[node];
    bt_gbdt_split *best = &c->best[node];
    bt_gbdt_split_reset(best);
    bt_gbdt_gh S = c->sum[node];
    /* as grow.c: no candidate when one row, or when the hessian cannot cover two children */
    const double H = (double)S.h * hu, mcw = s->sp.min_child_weight;
    if (cnt < 2 || H < 2.0 * mcw * (1.0 - 1e-9)) return;
    float root_gain = bt_gbdt_gain(&s->sp, (double)S.g * gu, H);
    int64_t *pg = c->pg, *ph = c->ph;
    int32_t *pb = c->pb;
    for (int32_t fi = 0; fi < n_feats; fi++) {
        int32_t f = c->feats_level[fi];
        const int32_t *L = c->col + (int64_t)f * n + c->beg[node];
        int32_t miss = B->missing_bin[f], m = 0;
        int64_t ag = 0, ah = 0;
        if (B->train.width == 1)
            RUNS_BODY(uint8_t);
        else
            RUNS_BODY(uint16_t);
        scan_runs(pg, ph, pb, m, B->cuts.values + B->cuts.ptr[f], B->cuts.min_values[f], f, S, gu,
                  hu, &s->sp, root_gain, best);
    }
}

/* Whether a node would be evaluated (eval_node's test), so its lists must be partitioned. */
static int will_eval(const bt_gbdt_slot *s, int64_t cnt, bt_gbdt_gh S, double hu) {
    const double H = (double)S.h * hu, mcw = s->sp.min_child_weight;
    return !(cnt < 2 || H < 2.0 * mcw * (1.0 - 1e-9));
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
        for (int32_t fi = 0; fi < n_ft; fi++) {
            int32_t f = c->feats_tree[fi];
            memcpy(c->col + (int64_t)f * n, B->order + (int64_t)f * n, (size_t)n * sizeof *c->col);
        }
    } else {
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
            const int32_t *rl = c->col + (int64_t)rowf * n + beg;
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
                bt_gbdt_partition_flags_ref(c->col + (int64_t)f * n + beg, cnt, fl, c->tmp);
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
    }

    /* leaves -> train margins */
    for (int32_t id = 0; id < n_nodes; id++) {
        const bt_gbdt_node *nd = &c->nodes[id];
        if (nd->left < 0)
            bt_gbdt_leaf_add_ref(c->col + (int64_t)rowf * n + c->beg[id], c->cnt[id], nd->value,
                                 s->margin_train, s->n_out, k);
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
