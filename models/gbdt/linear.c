/* booster gblinear: XGBoost 1.7's linear booster (src/linear/: updater_shotgun.cc,
 * updater_coordinate.cc, coordinate_common.h) for the slots of a gblinear pack. A round: the
 * objective's gradients at the current margins, a Newton step on each output's bias, then one
 * coordinate-descent pass over the features (elastic net: reg_alpha, reg_lambda scaled by the
 * row count; the bias is not regularized) in the feature_selector's order, each update applied
 * to the gradients at once; margins are then predicted afresh, as XGBoost does every round.
 * Float and double exactly where XGBoost has them, sums in row order: XGBoost with nthread=1
 * gives the same numbers (its shotgun with more threads updates features racily). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/philox.h"
#include "models/gbdt/trainer.h"

enum { SEL_CYCLIC = 0, SEL_SHUFFLE, SEL_RANDOM, SEL_GREEDY, SEL_THRIFTY };
/* Philox streams of the shuffle and random selectors (trees' row sampling uses others) */
#define LIN_STREAM_SHUFFLE 0x6c696e31ull
#define LIN_STREAM_RANDOM 0x6c696e32ull

int bt_gbdt_linear_selector(const char *name) {
    static const char *const names[] = {"cyclic", "shuffle", "random", "greedy", "thrifty"};
    for (int i = 0; i < 5; i++)
        if (name && strcmp(name, names[i]) == 0) return i;
    return SEL_CYCLIC;
}

bt_status bt_gbdt_linear_init(bt_pack *p) {
    const bt_dataset *tr = p->data->train;
    const int64_t n = tr->n_rows;
    const int32_t F = tr->n_features;
    p->col_off = calloc((size_t)F + 1, sizeof *p->col_off);
    BT_CHECK_ALLOC(p->col_off);
    for (int64_t i = 0; i < n; i++)
        for (int32_t f = 0; f < F; f++) p->col_off[f + 1] += !isnan(tr->X[i * F + f]);
    for (int32_t f = 0; f < F; f++) p->col_off[f + 1] += p->col_off[f];
    const int64_t nnz = p->col_off[F];
    p->col_row = malloc((size_t)(nnz > 0 ? nnz : 1) * sizeof *p->col_row);
    p->col_val = malloc((size_t)(nnz > 0 ? nnz : 1) * sizeof *p->col_val);
    int64_t *pos = malloc((size_t)(F > 0 ? F : 1) * sizeof *pos);
    if (!p->col_row || !p->col_val || !pos) {
        free(pos);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for gblinear's columns");
    }
    memcpy(pos, p->col_off, (size_t)F * sizeof *pos);
    for (int64_t i = 0; i < n; i++) /* rows ascending in every column, as XGBoost's CSC page */
        for (int32_t f = 0; f < F; f++) {
            const float v = tr->X[i * F + f];
            if (isnan(v)) continue;
            p->col_row[pos[f]] = (int32_t)i;
            p->col_val[pos[f]++] = v;
        }
    free(pos);
    return BT_STATUS_OK;
}

bt_status bt_gbdt_linear_slot_init(const bt_pack *p, bt_gbdt_slot *s) {
    const int64_t cells = ((int64_t)p->data->train->n_features + 1) * s->n_out;
    s->lin_w = calloc((size_t)cells, sizeof *s->lin_w);
    BT_CHECK_ALLOC(s->lin_w);
    if (s->early_stopping_rounds > 0) {
        s->lin_best = calloc((size_t)cells, sizeof *s->lin_best);
        BT_CHECK_ALLOC(s->lin_best);
    }
    return BT_STATUS_OK;
}

/* XGBoost's CoordinateDelta: the elastic-net Newton step of one weight, clipped so that the L1
 * term never carries the weight across 0. */
static double coord_delta(double sg, double sh, double w, double alpha, double lambda) {
    if (sh < 1e-5f) return 0.0;
    const double g2 = sg + lambda * w, h2 = sh + lambda;
    if (w - g2 / h2 >= 0) return fmax(-(g2 + alpha) / h2, -w);
    return fmin(-(g2 - alpha) / h2, -w);
}

/* Sums of gradient x value and hessian x value^2 over feature f's rows (hessian >= 0). */
static void col_sums(const bt_pack *p, int32_t f, const float *g, const float *h, double *sg,
                     double *sh) {
    double a = 0.0, b = 0.0;
    for (int64_t j = p->col_off[f]; j < p->col_off[f + 1]; j++) {
        const int32_t r = p->col_row[j];
        const float v = p->col_val[j];
        if (h[r] < 0.0f) continue;
        const float gv = g[r] * v, hvv = h[r] * v * v;
        a += gv;
        b += hvv;
    }
    *sg = a;
    *sh = b;
}

typedef struct lin_round {
    const bt_pack *p;
    bt_gbdt_slot *s;
    float *g, *h;        /* class-major n_out x n */
    int32_t *order;      /* F */
    float *deltaw;       /* F */
    float alpha, lambda; /* XGBoost's denormalized penalties (times the row count) */
} lin_round;

/* Weight f of output k moves by eta x its coordinate delta; the gradients follow at once. */
static void update_feature(lin_round *L, int32_t f, int32_t k) {
    const bt_pack *p = L->p;
    bt_gbdt_slot *s = L->s;
    const int64_t n = p->data->train->n_rows;
    float *g = L->g + (int64_t)k * n;
    const float *h = L->h + (int64_t)k * n;
    float *w = &s->lin_w[(int64_t)f * s->n_out + k];
    double sg, sh;
    col_sums(p, f, g, h, &sg, &sh);
    const float dw = (float)((double)s->eta * coord_delta(sg, sh, *w, L->alpha, L->lambda));
    *w += dw;
    if (dw == 0.0f) return;
    for (int64_t j = p->col_off[f]; j < p->col_off[f + 1]; j++) {
        const int32_t r = p->col_row[j];
        if (h[r] < 0.0f) continue;
        const float step = h[r] * p->col_val[j] * dw;
        g[r] += step;
    }
}

/* |delta| (without eta) of every feature of output k at the current gradients. */
static void univariate_deltas(lin_round *L, int32_t k) {
    const bt_pack *p = L->p;
    const int64_t n = p->data->train->n_rows;
    const int32_t F = p->data->train->n_features;
    for (int32_t f = 0; f < F; f++) {
        double sg, sh;
        col_sums(p, f, L->g + (int64_t)k * n, L->h + (int64_t)k * n, &sg, &sh);
        L->deltaw[f] = (float)coord_delta(sg, sh, L->s->lin_w[(int64_t)f * L->s->n_out + k],
                                          L->alpha, L->lambda);
    }
}

static const float *sort_key;
static int by_delta_desc(const void *a, const void *b) {
    const int32_t i = *(const int32_t *)a, j = *(const int32_t *)b;
    const float x = fabsf(sort_key[i]), y = fabsf(sort_key[j]);
    return x > y ? -1 : x < y ? 1 : (i > j) - (i < j);
}

/* The coordinate-descent pass of output k in the slot's feature order. greedy and thrifty stop
 * after top_k features, and one short of F (XGBoost's counter does). */
static void feature_pass(lin_round *L, int32_t k) {
    bt_gbdt_slot *s = L->s;
    const int32_t F = L->p->data->train->n_features;
    const int64_t limit = s->top_k > 0 ? s->top_k : INT64_MAX;
    if (s->selector == SEL_THRIFTY) {
        univariate_deltas(L, k);
        for (int32_t f = 0; f < F; f++) L->order[f] = f;
#pragma omp critical(bt_gbdt_linear_sort)
        {
            sort_key = L->deltaw;
            qsort(L->order, (size_t)F, sizeof *L->order, by_delta_desc);
        }
    }
    for (int32_t i = 0; i < F; i++) {
        int32_t f = i;
        if (s->selector == SEL_GREEDY || s->selector == SEL_THRIFTY) {
            if (i >= limit || i + 1 == F) break;
            if (s->selector == SEL_THRIFTY) {
                f = L->order[i];
            } else {
                univariate_deltas(L, k);
                float best = 0.0f;
                f = 0;
                for (int32_t c = 0; c < F; c++)
                    if (fabsf(L->deltaw[c]) > best) best = fabsf(L->deltaw[(f = c)]);
            }
        } else if (s->selector == SEL_SHUFFLE) {
            f = L->order[i];
        } else if (s->selector == SEL_RANDOM) {
            uint64_t ctr = ((uint64_t)s->round << 32) | (uint64_t)(uint32_t)i;
            f = (int32_t)(bt_philox_u32(s->key, ctr, LIN_STREAM_RANDOM) % (uint32_t)F);
        }
        update_feature(L, f, k);
    }
}

/* One round of a slot: gradients, biases, the feature pass, fresh margins. 0 if it diverged. */
static int linear_round(const bt_pack *p, bt_gbdt_slot *s, float *g, float *h, int32_t *order,
                        float *deltaw) {
    const bt_dataset *tr = p->data->train, *va = p->data->valid;
    const int64_t n = tr->n_rows;
    const int32_t F = tr->n_features, K = s->n_out;
    bt_gbdt_grad_ref(s->obj, s->margin_train, tr->y, n, K, s->scale_pos_weight, g, h);
    for (int64_t i = 0; i < n * K; i++)
        if (!isfinite(g[i]) || !isfinite(h[i])) return 0;
    lin_round L = {p,
                   s,
                   g,
                   h,
                   order,
                   deltaw,
                   (float)((double)s->sp.alpha * (double)n),
                   (float)((double)s->sp.lambda * (double)n)};
    float *bias = s->lin_w + (int64_t)F * K;
    for (int32_t k = 0; k < K; k++) {
        float *gk = g + (int64_t)k * n;
        const float *hk = h + (int64_t)k * n;
        double sg = 0.0, sh = 0.0;
        for (int64_t i = 0; i < n; i++)
            if (hk[i] >= 0.0f) {
                sg += gk[i];
                sh += hk[i];
            }
        const float db = (float)((double)s->eta * (-sg / sh));
        bias[k] += db;
        if (db != 0.0f)
            for (int64_t i = 0; i < n; i++)
                if (hk[i] >= 0.0f) gk[i] += hk[i] * db;
    }
    if (s->selector == SEL_SHUFFLE) { /* one order per round, Philox-keyed (not XGBoost's) */
        for (int32_t f = 0; f < F; f++) order[f] = f;
        for (int32_t f = F - 1; f > 0; f--) {
            uint64_t ctr = ((uint64_t)s->round << 32) | (uint64_t)(uint32_t)f;
            int32_t j =
                (int32_t)(bt_philox_u32(s->key, ctr, LIN_STREAM_SHUFFLE) % (uint32_t)(f + 1));
            int32_t t = order[f];
            order[f] = order[j];
            order[j] = t;
        }
    }
    for (int32_t k = 0; k < K; k++) feature_pass(&L, k);
    /* margins afresh: (bias + base) then + x * w feature by feature, missing values skipped */
    for (int s2 = 0; s2 < 2; s2++) {
        const bt_dataset *d = s2 ? va : tr;
        float *m = s2 ? s->margin_valid : s->margin_train;
        if (!d || d->n_rows <= 0) continue;
        for (int64_t i = 0; i < d->n_rows; i++)
            for (int32_t k = 0; k < K; k++) {
                float psum = bias[k] + s->base_margin;
                for (int32_t f = 0; f < F; f++) {
                    const float x = d->X[i * F + f];
                    if (isnan(x)) continue;
                    const float t = x * s->lin_w[(int64_t)f * K + k];
                    psum += t;
                }
                m[i * K + k] = psum;
            }
    }
    return 1;
}

bt_status bt_gbdt_linear_step(bt_pack *p, bt_gbdt_slot **act, int n_act) {
    const bt_dataset *tr = p->data->train, *va = p->data->valid;
    const int64_t n = tr->n_rows, nv = va && va->n_rows > 0 ? va->n_rows : 0;
    const int32_t F = tr->n_features;
    const int nt = p->threads;
    bt_status st = BT_STATUS_OK;
    const int64_t work = (int64_t)n_act * n * F;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (bt_gbdt_par_ok(nt, n_act, work))
    for (int a = 0; a < n_act; a++) {
        bt_gbdt_slot *s = act[a];
        const int64_t cells = n * s->n_out;
        float *g = malloc((size_t)cells * sizeof *g), *h = malloc((size_t)cells * sizeof *h);
        int32_t *order = malloc((size_t)(F > 0 ? F : 1) * sizeof *order);
        float *deltaw = malloc((size_t)(F > 0 ? F : 1) * sizeof *deltaw);
        void *scratch = malloc(bt_gbdt_metric_scratch_bytes(nv > 0 ? nv : n, 64) +
                               (size_t)s->n_out * sizeof(float));
        if (!g || !h || !order || !deltaw || !scratch) {
#pragma omp critical(bt_gbdt_linear_oom)
            st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory for a gblinear round");
        } else if (!linear_round(p, s, g, h, order, deltaw)) {
            s->failed = 1;
        } else {
            s->round++;
            int bad = 0;
            for (int64_t j = 0; j < nv * s->n_out && !bad; j++) bad = !isfinite(s->margin_valid[j]);
            for (int64_t j = 0; j < n * s->n_out && !bad; j++) bad = !isfinite(s->margin_train[j]);
            const size_t wbytes = ((size_t)F + 1) * (size_t)s->n_out * sizeof(float);
            if (bad) {
                s->failed = 1;
            } else if (s->early_stopping_rounds > 0) {
                int stopped_now = 0;
                bt_gbdt_early_stop(p, s, scratch, &stopped_now);
                if (stopped_now)
                    memcpy(s->lin_w, s->lin_best, wbytes);
                else if (s->best_round == s->round)
                    memcpy(s->lin_best, s->lin_w, wbytes);
            }
        }
        free(g);
        free(h);
        free(order);
        free(deltaw);
        free(scratch);
    }
    return st;
}
