/* Column-mode growth (models/gbdt/grow_cols.c) grows exactly the trees of the histogram grower:
 * every node of every tree (split feature, bin, condition, gain, sums, leaf values) and the valid
 * margins are identical (==) with its AVX-512 and portable split evaluations, on 1 or 2 threads,
 * for random trials (alpha, lambda, min_child_weight 0, gamma, row and column sampling) on fresh
 * random data with missing values, exact ties between duplicated features, and many distinct
 * values. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/philox.h"
#include "models/gbdt/gbdt.h"
#include "models/gbdt/trainer.h"
#include "tests/bt_test.h"
#include "tests/gbdt_fixtures.h"

#define TRIALS 40
#define ROUNDS 6

static const bt_pack_ops *vt = &bt_gbdt_cpu_packs;

static double urand(void) {
    return (double)rand() / ((double)RAND_MAX + 1.0);
}

static void make_data(bt_dataset *tr, bt_dataset *va, int binary) {
    const int32_t F = 7;
    bt_test_gbdt_alloc_data(tr, va, 350, 120, F);
    for (int s = 0; s < 2; s++) {
        bt_dataset *d = s ? va : tr;
        for (int64_t r = 0; r < d->n_rows; r++) {
            float *x = d->X + r * F;
            x[0] = (float)(int)(urand() * 5);                          /* few values */
            x[1] = urand() < 0.15 ? NAN : (float)urand() * 10;         /* missing, many values */
            x[2] = (float)(int)(urand() * 40) / 3.0f;                  /* some repeats */
            x[3] = x[1];                                               /* exact ties with f1 */
            x[4] = urand() < 0.5 ? NAN : (float)(int)(urand() * 3);    /* mostly missing */
            x[5] = (float)(urand() * 1000);                            /* > max_bin values */
            x[6] = urand() < 0.05 ? NAN : (float)(int)(urand() * 300); /* missing, many bins */
            double z = x[0] * 0.5 + (isnan(x[1]) ? 2 : x[1] * 0.3) - x[5] / 400 + urand();
            d->y[r] = binary ? (float)(z > 3) : (float)z;
        }
    }
}

/* this test's trials: zero lambda, gamma and min_child_weight often, column sampling less */
static const bt_test_gbdt_trials trial_dist = {
    .eta = {0, 0, 0.1, 0.8},
    .depth_span = 8,
    .min_child_weight = {0.3, 0, 0, 2},
    .gamma = {0.6, 0, 0, 0.5},
    .lambda = {0.2, 0, 0, 3},
    .alpha = {0.5, 0, 0, 1},
    .subsample = {0.5, 1, 0.5, 0.5},
    .colsample_bytree = {0.6, 1, 0.4, 0.6},
    .colsample_bylevel = {0.6, 1, 0.4, 0.6},
};

static void random_trial(bt_value *v, int binary) {
    bt_test_gbdt_random_trial(v, &trial_dist, urand,
                              binary ? "binary:logistic" : "reg:squarederror", -1);
}

typedef struct grown {
    bt_gbdt_node *nodes[TRIALS][ROUNDS];
    int32_t n_nodes[TRIALS][ROUNDS];
    float *margin[TRIALS];
} grown;

/* mode: 1 histograms, 2 column lists; simd: column mode's AVX-512 evaluation on or off. */
static void grow(bt_dataset *tr, bt_dataset *va, bt_value (*trials)[BT_GBDT_N_PARAMS], int mode,
                 int simd, int threads, grown *out) {
    bt_gbdt_set_mode(mode);
    bt_gbdt_cols_set_simd(simd);
    bt_gbdt_set_par_min_work(0); /* parallel regions even on this small data */
    bt_model_data data = {tr, va, BT_TASK_REGRESSION, 0, NULL, threads, NULL};
    bt_hparams h0 = {trials[0]};
    CHECK_OK(bt_gbdt_family.task_of(&h0, &data.task, &data.n_classes));
    CHECK_OK(bt_gbdt_family.data_prepare(&data, &h0));
    const bt_gbdt_binning *bin = NULL;
    CHECK_OK(bt_gbdt_binning_get(&data, 256, &bin));
    CHECK_MSG(bin && (bin->order != NULL) == (mode == 2), "mode %d: column lists %s", mode,
              bin && bin->order ? "present" : "missing");
    bt_pack *p = NULL;
    CHECK_OK(vt->pack_init(&p, &data, &h0, TRIALS));
    int slots[TRIALS];
    for (int i = 0; i < TRIALS; i++) {
        bt_hparams h = {trials[i]};
        CHECK_OK(bt_gbdt_family.check(&h, data.task));
        CHECK_OK(vt->slot_start(p, i, &h, bt_philox_key(7, (uint64_t)i)));
        slots[i] = i;
    }
    for (int r = 0; r < ROUNDS; r++) CHECK_OK(vt->step(p, slots, TRIALS));
    for (int i = 0; i < TRIALS; i++) {
        const bt_gbdt_slot *s = p->slots[i];
        CHECK(s->n_trees == ROUNDS);
        for (int r = 0; r < ROUNDS && r < s->n_trees; r++) {
            int32_t k = s->trees[r].n_nodes;
            out->n_nodes[i][r] = k;
            out->nodes[i][r] = malloc(sizeof(bt_gbdt_node) * (size_t)k);
            memcpy(out->nodes[i][r], s->trees[r].nodes, sizeof(bt_gbdt_node) * (size_t)k);
        }
        out->margin[i] = malloc(sizeof(float) * (size_t)va->n_rows);
        memcpy(out->margin[i], s->margin_valid, sizeof(float) * (size_t)va->n_rows);
    }
    vt->pack_free(p);
    bt_gbdt_family.data_free(&data);
    bt_gbdt_set_par_min_work(1 << 18);
    bt_gbdt_cols_set_simd(1);
    bt_gbdt_set_mode(0);
}

static int same_trees(const grown *a, const grown *b, int64_t nv, int *splits) {
    int ok = 1;
    for (int i = 0; i < TRIALS; i++) {
        for (int r = 0; r < ROUNDS; r++) {
            if (a->n_nodes[i][r] != b->n_nodes[i][r] ||
                memcmp(a->nodes[i][r], b->nodes[i][r],
                       sizeof(bt_gbdt_node) * (size_t)a->n_nodes[i][r]) != 0)
                ok = 0;
            *splits += (a->n_nodes[i][r] - 1) / 2;
        }
        if (memcmp(a->margin[i], b->margin[i], sizeof(float) * (size_t)nv) != 0) ok = 0;
    }
    return ok;
}

static void grown_free(grown *g) {
    for (int i = 0; i < TRIALS; i++) {
        for (int r = 0; r < ROUNDS; r++) free(g->nodes[i][r]);
        free(g->margin[i]);
    }
}

static void test_same_trees(int binary) {
    bt_dataset tr = {0}, va = {0};
    make_data(&tr, &va, binary);
    static bt_value trials[TRIALS][BT_GBDT_N_PARAMS];
    for (int i = 0; i < TRIALS; i++) random_trial(trials[i], binary);
    static grown hist, avx, avx2t, port;
    memset(&hist, 0, sizeof hist);
    memset(&avx, 0, sizeof avx);
    memset(&avx2t, 0, sizeof avx2t);
    memset(&port, 0, sizeof port);
    grow(&tr, &va, trials, 1, 1, 1, &hist);
    grow(&tr, &va, trials, 2, 1, 1, &avx);
    grow(&tr, &va, trials, 2, 1, 2, &avx2t);
    grow(&tr, &va, trials, 2, 0, 2, &port);
    int splits = 0;
    const char *obj = binary ? "binary" : "regression";
    CHECK_MSG(same_trees(&hist, &avx, va.n_rows, &splits), "%s: columns (simd) vs histograms", obj);
    CHECK_MSG(same_trees(&avx, &avx2t, va.n_rows, &splits), "%s: columns, 1 vs 2 threads", obj);
    CHECK_MSG(same_trees(&avx, &port, va.n_rows, &splits), "%s: columns, simd vs portable", obj);
    CHECK_MSG(splits > 3 * TRIALS * ROUNDS, "%s: only %d splits: the trees are too small to tell",
              obj, splits / 3);
    grown_free(&hist);
    grown_free(&avx);
    grown_free(&avx2t);
    grown_free(&port);
    free(tr.X);
    free(tr.y);
    free(va.X);
    free(va.y);
}

int main(void) {
    /* fresh inputs each run; BT_TEST_SEED=<printed seed> replays a failure */
    unsigned seed = getenv("BT_TEST_SEED") ? (unsigned)strtoul(getenv("BT_TEST_SEED"), NULL, 10)
                                           : (unsigned)time(NULL);
    printf("seed %u\n", seed);
    srand(seed);
    test_same_trees(0);
    test_same_trees(1);
    return bt_test_finish("test_gbdt_cols");
}
