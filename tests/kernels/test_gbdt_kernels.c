/* The gbdt kernels' C references against naive implementations on fresh random inputs:
 * histograms by brute force, the split scan against an exhaustive XGBoost-style enumeration that
 * visits every bin, the compact (sparse) scan against the dense one, stable partition, fixed-point
 * quantization bounds, objectives, metrics (AUC against pairwise counting) and sampling. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/gbdt_hist.h"
#include "kernels/gbdt_metric.h"
#include "kernels/gbdt_objective.h"
#include "kernels/gbdt_partition.h"
#include "kernels/gbdt_predict.h"
#include "kernels/gbdt_sample.h"
#include "kernels/gbdt_split.h"
#include "tests/bt_test.h"

static double urand(void) {
    return (double)rand() / ((double)RAND_MAX + 1.0);
}

static void test_hist(int width) {
    int32_t F = 5, n = 700;
    int32_t nb[5] = {3, 17, 1, 40, 9};
    uint32_t off[6];
    off[0] = 0;
    for (int f = 0; f < F; f++) off[f + 1] = off[f] + (uint32_t)nb[f] + 1;
    void *bins = malloc((size_t)(n * F * width));
    for (int r = 0; r < n; r++)
        for (int f = 0; f < F; f++) {
            int b = (int)(urand() * (nb[f] + 1)); /* may be the missing code */
            if (width == 1)
                ((uint8_t *)bins)[r * F + f] = (uint8_t)b;
            else
                ((uint16_t *)bins)[r * F + f] = (uint16_t)b;
        }
    bt_gbdt_gh *gh = malloc(sizeof *gh * (size_t)n);
    for (int r = 0; r < n; r++) {
        gh[r].g = (int64_t)((urand() - 0.5) * 1e15);
        gh[r].h = (int64_t)(urand() * 1e15);
    }
    int32_t rows[700];
    int m = 0;
    for (int r = 0; r < n; r++)
        if (urand() < 0.6) rows[m++] = r;
    bt_gbdt_gh *h = calloc(off[F], sizeof *h), *ref = calloc(off[F], sizeof *ref);
    bt_gbdt_hist_ref(bins, width, F, off, 0, 2, rows, m, gh, h);
    bt_gbdt_hist_ref(bins, width, F, off, 2, F, rows, m, gh, h);
    for (int i = 0; i < m; i++)
        for (int f = 0; f < F; f++) {
            int b = width == 1 ? ((uint8_t *)bins)[rows[i] * F + f]
                               : ((uint16_t *)bins)[rows[i] * F + f];
            ref[off[f] + b].g += gh[rows[i]].g;
            ref[off[f] + b].h += gh[rows[i]].h;
        }
    CHECK(memcmp(h, ref, sizeof *h * off[F]) == 0);
    /* sibling trick: parent (all rows) - child (the listed rows) = the other rows */
    bt_gbdt_gh *parent = calloc(off[F], sizeof *parent), *other = calloc(off[F], sizeof *other);
    int32_t all[700], rest[700];
    int nr = 0;
    for (int r = 0, i = 0; r < n; r++) {
        all[r] = r;
        if (i < m && rows[i] == r)
            i++;
        else
            rest[nr++] = r;
    }
    bt_gbdt_hist_ref(bins, width, F, off, 0, F, all, n, gh, parent);
    bt_gbdt_hist_ref(bins, width, F, off, 0, F, rest, nr, gh, other);
    bt_gbdt_hist_sub_ref(parent, h, 0, off[F]);
    CHECK(memcmp(parent, other, sizeof *h * off[F]) == 0);
    free(bins);
    free(gh);
    free(h);
    free(ref);
    free(parent);
    free(other);
}

/* XGBoost's enumeration, visiting every bin (empty ones too), forward then (only with missing
 * values) backward, replacing on strictly greater loss. */
static void naive_scan(const bt_gbdt_gh *e, int32_t n, const float *cuts, float minv, int32_t f,
                       bt_gbdt_gh tot, double gu, double hu, const bt_gbdt_split_param *p,
                       float root_gain, bt_gbdt_split *best) {
    bt_gbdt_gh acc = {0, 0};
    for (int32_t i = 0; i < n; i++) {
        acc.g += e[i].g;
        acc.h += e[i].h;
        bt_gbdt_gh r = {tot.g - acc.g, tot.h - acc.h};
        double lh = acc.h * hu, rh = r.h * hu;
        if (!(lh >= p->min_child_weight && rh >= p->min_child_weight)) continue;
        float loss = (bt_gbdt_gain(p, acc.g * gu, lh) + bt_gbdt_gain(p, r.g * gu, rh)) - root_gain;
        if (loss > best->loss_chg) {
            best->loss_chg = loss;
            best->feature = f;
            best->bin = i;
            best->default_left = 0;
            best->split_cond = cuts[i];
            best->left = acc;
            best->right = r;
        }
    }
    if (acc.g == tot.g && acc.h == tot.h) return;
    acc.g = acc.h = 0;
    for (int32_t i = n - 1; i >= 0; i--) {
        acc.g += e[i].g;
        acc.h += e[i].h;
        bt_gbdt_gh l = {tot.g - acc.g, tot.h - acc.h};
        double lh = l.h * hu, rh = acc.h * hu;
        if (!(lh >= p->min_child_weight && rh >= p->min_child_weight)) continue;
        float loss = (bt_gbdt_gain(p, l.g * gu, lh) + bt_gbdt_gain(p, acc.g * gu, rh)) - root_gain;
        if (loss > best->loss_chg) {
            best->loss_chg = loss;
            best->feature = f;
            best->bin = i - 1;
            best->default_left = 1;
            best->split_cond = i == 0 ? minv : cuts[i - 1];
            best->left = l;
            best->right = acc;
        }
    }
}

static int same_split(const bt_gbdt_split *a, const bt_gbdt_split *b) {
    return a->loss_chg == b->loss_chg && a->feature == b->feature && a->bin == b->bin &&
           a->default_left == b->default_left && a->split_cond == b->split_cond &&
           a->left.g == b->left.g && a->left.h == b->left.h && a->right.g == b->right.g &&
           a->right.h == b->right.h;
}

static void test_split(void) {
    for (int trial = 0; trial < 400; trial++) {
        int32_t F = 1 + (int)(urand() * 4);
        bt_gbdt_split_param p = {(float)(urand() < 0.3 ? 0.0 : urand() * 3),
                                 (float)(urand() < 0.2 ? 0.0 : urand() * 2),
                                 (float)(urand() < 0.5 ? 0.0 : urand())};
        double gu = ldexp(1.0, -40), hu = ldexp(1.0, -40);
        bt_gbdt_split dense, naive, sparse, prefix;
        bt_gbdt_split_reset(&dense);
        bt_gbdt_split_reset(&naive);
        bt_gbdt_split_reset(&sparse);
        bt_gbdt_split_reset(&prefix);
        /* one node, F features drawn from the same rows so every feature has the same total */
        int32_t nrow = 1 + (int)(urand() * 40);
        int64_t g[64], h[64];
        bt_gbdt_gh tot = {0, 0};
        for (int r = 0; r < nrow; r++) {
            /* small integer-valued gradients make exact ties common */
            g[r] = (int64_t)((int)(urand() * 7) - 3) * ((int64_t)1 << 38);
            h[r] = (int64_t)(1 + (int)(urand() * 3)) * ((int64_t)1 << 38);
            tot.g += g[r];
            tot.h += h[r];
        }
        float root_gain = bt_gbdt_gain(&p, tot.g * gu, tot.h * hu);
        for (int32_t f = 0; f < F; f++) {
            int32_t nb = 1 + (int)(urand() * 12);
            bt_gbdt_gh e[13];
            memset(e, 0, sizeof e);
            float cuts[13];
            for (int b = 0; b < nb; b++) cuts[b] = (float)b + 0.5f;
            for (int r = 0; r < nrow; r++) {
                int b = urand() < 0.2 ? nb : (int)(urand() * nb); /* nb = missing */
                e[b].g += g[r];
                e[b].h += h[r];
            }
            bt_gbdt_split_scan_ref(e, NULL, nb, cuts, -1.0f, f, tot, gu, hu, &p, root_gain, &dense);
            naive_scan(e, nb, cuts, -1.0f, f, tot, gu, hu, &p, root_gain, &naive);
            int32_t ids[13], nc = 0;
            bt_gbdt_gh ce[13];
            for (int b = 0; b < nb; b++)
                if (e[b].g || e[b].h) {
                    ids[nc] = b;
                    ce[nc++] = e[b];
                }
            bt_gbdt_split_scan_ref(ce, ids, nc, cuts, -1.0f, f, tot, gu, hu, &p, root_gain,
                                   &sparse);
            int64_t pg[13], ph[13];
            for (int j = 0; j < nc; j++) {
                pg[j] = ce[j].g + (j ? pg[j - 1] : 0);
                ph[j] = ce[j].h + (j ? ph[j - 1] : 0);
            }
            bt_gbdt_split_scan_prefix_ref(pg, ph, ids, nc, cuts, -1.0f, f, tot, gu, hu, &p,
                                          root_gain, &prefix);
        }
        CHECK(same_split(&dense, &naive));
        CHECK(same_split(&dense, &sparse));
        CHECK(same_split(&dense, &prefix));
    }
    /* XGBoost's weight and gain formulas */
    bt_gbdt_split_param p = {1.0f, 2.0f, 0.5f};
    CHECK(bt_gbdt_weight(&p, 3.0, 4.0) == (float)(-(3.0 - 0.5) / 6.0));
    CHECK(bt_gbdt_weight(&p, -0.2, 4.0) == 0.0f);
    CHECK(bt_gbdt_weight(&p, 3.0, 0.5) == 0.0f); /* below min_child_weight */
    CHECK(bt_gbdt_gain(&p, -3.0, 4.0) == (float)(2.5 * 2.5 / 6.0));
    CHECK(bt_gbdt_gain(&p, -3.0, 0.0) == 0.0f);
}

static void test_partition(void) {
    int32_t F = 3, n = 1000;
    uint8_t *bins = malloc((size_t)(n * F));
    for (int i = 0; i < n * F; i++) bins[i] = (uint8_t)(urand() * 11); /* 10 = missing */
    int32_t rows[1000], orig[1000], scratch[1000];
    int m = 0;
    for (int r = 0; r < n; r++)
        if (urand() < 0.7) rows[m++] = r;
    memcpy(orig, rows, sizeof rows);
    for (int dl = 0; dl < 2; dl++) {
        memcpy(rows, orig, sizeof rows);
        int64_t nl = bt_gbdt_partition_ref(rows, m, bins, 1, F, 1, 4, 10, dl, scratch);
        int64_t k = 0;
        for (int pass = 0; pass < 2; pass++)
            for (int i = 0; i < m; i++) {
                int b = bins[orig[i] * F + 1];
                int left = b == 10 ? dl : b <= 4;
                if (left == (pass == 0)) {
                    CHECK(rows[k] == orig[i]);
                    k++;
                }
                if (pass == 0 && left) CHECK(k <= nl);
            }
        CHECK(k == m);
    }
    free(bins);
}

static void test_quantize(void) {
    for (int t = 0; t < 50; t++) {
        int64_t n = 1 + (int64_t)(urand() * 5000);
        double scale = pow(10.0, urand() * 20 - 10);
        float *g = malloc(sizeof *g * (size_t)n), *h = malloc(sizeof *h * (size_t)n);
        double mg = 0, mh = 0;
        for (int64_t i = 0; i < n; i++) {
            g[i] = (float)((urand() - 0.5) * scale);
            h[i] = (float)(urand() * scale);
            mg = fmax(mg, fabs(g[i]));
            mh = fmax(mh, h[i]);
        }
        int32_t eg = bt_gbdt_quant_exponent(mg, n), eh = bt_gbdt_quant_exponent(mh, n);
        bt_gbdt_gh *q = malloc(sizeof *q * (size_t)n);
        bt_gbdt_quantize_ref(g, h, n, eg, eh, q);
        /* worst-case sums stay below 2^62; values keep at least ~40 bits of the largest */
        CHECK(mg * (double)n * ldexp(1.0, eg) < ldexp(1.0, 62));
        CHECK(mg * (double)n * ldexp(1.0, eg) >= ldexp(1.0, 60));
        long double sg = 0, sq = 0;
        for (int64_t i = 0; i < n; i++) {
            sg += g[i];
            sq += q[i].g;
            CHECK(fabs(q[i].g * ldexp(1.0, -eg) - g[i]) <= ldexp(1.0, -eg));
        }
        CHECK(fabsl(sq * ldexpl(1.0L, -eg) - sg) <= n * ldexp(1.0, -eg));
        free(g);
        free(h);
        free(q);
    }
    CHECK_EQ_INT(bt_gbdt_quant_exponent(0.0, 10), 0);
}

static void test_objective(void) {
    int64_t n = 200;
    int32_t K = 4;
    float *m = malloc(sizeof *m * (size_t)(n * K)), *y = malloc(sizeof *y * (size_t)n);
    float *g = malloc(sizeof *g * (size_t)(n * K)), *h = malloc(sizeof *h * (size_t)(n * K));
    for (int64_t i = 0; i < n * K; i++) m[i] = (float)(urand() * 8 - 4);
    for (int64_t i = 0; i < n; i++) y[i] = (float)(int)(urand() * 2);
    bt_gbdt_grad_ref(BT_GBDT_OBJ_SQUARED, m, y, n, 1, 1.0f, g, h);
    for (int64_t i = 0; i < n; i++) CHECK(g[i] == m[i] - y[i] && h[i] == 1.0f);
    bt_gbdt_grad_ref(BT_GBDT_OBJ_LOGISTIC, m, y, n, 1, 1.0f, g, h);
    for (int64_t i = 0; i < n; i++) {
        double p = 1 / (1 + exp(-(double)m[i]));
        CHECK_NEAR(g[i], p - y[i], 1e-6);
        CHECK_NEAR(h[i], p * (1 - p), 1e-6);
    }
    /* scale_pos_weight: rows labelled 1 weigh w (gradient and hessian), others 1 (XGBoost) */
    float *g1 = malloc(sizeof *g1 * (size_t)n), *h1 = malloc(sizeof *h1 * (size_t)n);
    for (int obj = BT_GBDT_OBJ_SQUARED; obj <= BT_GBDT_OBJ_LOGISTIC; obj++) {
        bt_gbdt_grad_ref((bt_gbdt_objective)obj, m, y, n, 1, 1.0f, g1, h1);
        bt_gbdt_grad_ref((bt_gbdt_objective)obj, m, y, n, 1, 3.5f, g, h);
        int pos = 0;
        for (int64_t i = 0; i < n; i++) {
            const float w = y[i] == 1.0f ? 3.5f : 1.0f;
            pos += y[i] == 1.0f;
            CHECK(g[i] == g1[i] * w && h[i] == h1[i] * w);
        }
        CHECK(pos > 0 && pos < n);
    }
    free(g1);
    free(h1);
    for (int64_t i = 0; i < n; i++) y[i] = (float)(int)(urand() * K);
    bt_gbdt_grad_ref(BT_GBDT_OBJ_SOFTPROB, m, y, n, K, 2.0f, g, h); /* softprob: no weight */
    for (int64_t i = 0; i < n; i++) {
        double mx = -1e30, s = 0;
        for (int k = 0; k < K; k++) mx = fmax(mx, m[i * K + k]);
        for (int k = 0; k < K; k++) s += exp(m[i * K + k] - mx);
        for (int k = 0; k < K; k++) {
            double p = exp(m[i * K + k] - mx) / s;
            CHECK_NEAR(g[k * n + i], p - (y[i] == k), 1e-6);
            CHECK_NEAR(h[k * n + i], 2 * p * (1 - p), 1e-6); /* XGBoost's factor 2 */
        }
    }
    free(m);
    free(y);
    free(g);
    free(h);
}

static void test_metric(void) {
    int64_t n = 300;
    float *m = malloc(sizeof *m * (size_t)(n * 3)), *y = malloc(sizeof *y * (size_t)n);
    void *scratch = malloc(bt_gbdt_metric_scratch_bytes(n, 3));
    for (int64_t i = 0; i < n; i++) {
        m[i] = (float)((int)(urand() * 9) - 4) * 0.5f; /* many tied scores */
        y[i] = (float)(urand() < 0.4);
    }
    double se = 0, ae = 0, ll = 0, er = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = y[i] - m[i], p = 1 / (1 + exp(-(double)m[i]));
        se += d * d;
        ae += fabs(d);
        ll += -(y[i] * log(p) + (1 - y[i]) * log(1 - p));
        er += (p > 0.5) != (y[i] > 0.5);
    }
    CHECK_NEAR(bt_gbdt_metric_ref(BT_GBDT_METRIC_RMSE, 0, m, y, n, 1, scratch), sqrt(se / n), 1e-6);
    CHECK_NEAR(bt_gbdt_metric_ref(BT_GBDT_METRIC_MSE, 0, m, y, n, 1, scratch), se / n, 1e-6);
    CHECK_NEAR(bt_gbdt_metric_ref(BT_GBDT_METRIC_MAE, 0, m, y, n, 1, scratch), ae / n, 1e-6);
    CHECK_NEAR(bt_gbdt_metric_ref(BT_GBDT_METRIC_LOGLOSS, 1, m, y, n, 1, scratch), ll / n, 1e-6);
    CHECK_NEAR(bt_gbdt_metric_ref(BT_GBDT_METRIC_ERROR, 1, m, y, n, 1, scratch), er / n, 1e-12);
    CHECK_NEAR(bt_gbdt_metric_ref(BT_GBDT_METRIC_ACCURACY, 1, m, y, n, 1, scratch), 1 - er / n,
               1e-12);
    /* AUC = P(score_pos > score_neg) + 0.5 P(tie), by counting pairs */
    double pairs = 0, wins = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            if (y[i] > 0.5 && y[j] < 0.5) {
                pairs++;
                wins += m[i] > m[j] ? 1.0 : m[i] == m[j] ? 0.5 : 0.0;
            }
    CHECK_NEAR(bt_gbdt_metric_ref(BT_GBDT_METRIC_AUC, 1, m, y, n, 1, scratch), wins / pairs, 1e-12);
    for (int64_t i = 0; i < n; i++) y[i] = 1;
    CHECK(isnan(bt_gbdt_metric_ref(BT_GBDT_METRIC_AUC, 1, m, y, n, 1, scratch)));
    /* multiclass */
    double ml = 0, me = 0;
    for (int64_t i = 0; i < n; i++) {
        for (int k = 0; k < 3; k++) m[i * 3 + k] = (float)(urand() * 6 - 3);
        y[i] = (float)(int)(urand() * 3);
        double s = 0;
        int best = 0;
        for (int k = 0; k < 3; k++) {
            s += exp(m[i * 3 + k]);
            if (m[i * 3 + k] > m[i * 3 + best]) best = k;
        }
        ml += -log(exp(m[i * 3 + (int)y[i]]) / s);
        me += best != (int)y[i];
    }
    CHECK_NEAR(bt_gbdt_metric_ref(BT_GBDT_METRIC_MLOGLOSS, 2, m, y, n, 3, scratch), ml / n, 1e-6);
    CHECK_NEAR(bt_gbdt_metric_ref(BT_GBDT_METRIC_MERROR, 2, m, y, n, 3, scratch), me / n, 1e-12);
    CHECK(isnan(bt_gbdt_metric_ref(BT_GBDT_METRIC_RMSE, 0, m, y, 0, 1, scratch)));
    free(m);
    free(y);
    free(scratch);
}

static void test_sample_predict(void) {
    uint64_t key = 0x1234u + (uint64_t)rand();
    int32_t *rows = malloc(sizeof *rows * 20000), *rows2 = malloc(sizeof *rows2 * 20000);
    int64_t k = bt_gbdt_sample_rows_ref(key, 3, 20000, 0.3, rows);
    CHECK(k > 5400 && k < 6600);
    for (int64_t i = 1; i < k; i++) CHECK(rows[i] > rows[i - 1]);
    CHECK(bt_gbdt_sample_rows_ref(key, 3, 20000, 0.3, rows2) == k);
    CHECK(memcmp(rows, rows2, sizeof *rows * (size_t)k) == 0);
    CHECK(bt_gbdt_sample_rows_ref(key, 4, 20000, 0.3, rows2) != k ||
          memcmp(rows, rows2, sizeof *rows * (size_t)k) != 0);
    CHECK_EQ_INT(bt_gbdt_sample_rows_ref(key, 3, 100, 1.0, rows), 100);
    int32_t in[30], out[30];
    uint64_t scratch[60];
    for (int i = 0; i < 30; i++) in[i] = 2 * i + 1;
    int32_t nf = bt_gbdt_sample_features_ref(key, 1, 0, in, 30, 0.5, out, scratch);
    CHECK_EQ_INT(nf, 15);
    for (int i = 0; i < nf; i++) CHECK(out[i] % 2 == 1 && (i == 0 || out[i] > out[i - 1]));
    CHECK_EQ_INT(bt_gbdt_sample_features_ref(key, 1, 0, in, 30, 0.001, out, scratch), 1);
    CHECK_EQ_INT(bt_gbdt_sample_features_ref(key, 1, 0, in, 30, 1.0, out, scratch), 30);
    /* prediction: a stump on feature 1 at 0.5, missing left */
    bt_gbdt_node t[3] = {{1, 2, -1, 1, 0, 1, 0.5f, 0, 0, 0, 0},
                         {-1, -1, 0, 0, 0, 0, 0, -1.0f, 0, 0, 0},
                         {-1, -1, 0, 0, 0, 0, 0, 2.0f, 0, 0, 0}};
    float X[8] = {0, 0.4f, 0, 0.5f, 0, NAN, 0, 7};
    float mg[8] = {0};
    bt_gbdt_predict_add_ref(t, X, 2, NULL, 4, mg, 2, 1);
    CHECK(mg[1] == -1 && mg[3] == 2 && mg[5] == -1 && mg[7] == 2 && mg[0] == 0);
    int32_t lr[2] = {0, 3};
    bt_gbdt_leaf_add_ref(lr, 2, 0.25f, mg, 2, 0);
    CHECK(mg[0] == 0.25f && mg[6] == 0.25f && mg[2] == 0);
    free(rows);
    free(rows2);
}

int main(void) {
    /* fresh inputs each run; BT_TEST_SEED=<printed seed> replays a failure */
    unsigned seed = getenv("BT_TEST_SEED") ? (unsigned)strtoul(getenv("BT_TEST_SEED"), NULL, 10)
                                           : 777u ^ (unsigned)time(NULL);
    printf("seed %u\n", seed);
    srand(seed);
    test_hist(1);
    test_hist(2);
    test_split();
    test_partition();
    test_quantize();
    test_objective();
    test_metric();
    test_sample_predict();
    return bt_test_finish("test_gbdt_kernels");
}
