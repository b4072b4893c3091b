/* The GPU packs' host <-> device copies under the CUDA emulation (tests/emu): per round of a
 * 64-slot gbdt pack (levels on the device and on the host) and per epoch of the mlp and resnet
 * packs, the bytes each way, split by host memory (pinned: a cudaMallocHost block; pageable:
 * anything else), counted by the emulated runtime as the copies run. Every per-step copy must use
 * pinned memory: a pageable copy blocks the calling thread and serializes with other pack
 * threads on a GPU, and cannot be part of a captured graph (the emulation refuses it there). The
 * bytes are printed: the read-back of a round is the margins, (n + nv) x 4 bytes per stepped
 * slot, plus the trees. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/emu/emu.h"
#include "kernels/nn_blas.h"
#include "kernels/philox.h"
#include "models/gbdt/cuda/pack.h"
#include "models/gbdt/gbdt.h"
#include "models/nn/nn.h"
#include "models/nn/resnet.h"
#include "tests/bt_test.h"
#include "tests/gbdt_fixtures.h"
#include "tests/test_rng.h"

/* The copies between two readings of the counters. */
typedef struct traffic {
    int64_t h2d_pinned, h2d_pageable, d2h_pinned, d2h_pageable, pageable_copies, syncs;
} traffic;

static traffic traffic_since(const bt_emu_stats *a) {
    bt_emu_stats b;
    bt_emu_stats_get(&b);
    traffic t = {b.h2d_pinned - a->h2d_pinned,           b.h2d_pageable - a->h2d_pageable,
                 b.d2h_pinned - a->d2h_pinned,           b.d2h_pageable - a->d2h_pageable,
                 b.pageable_copies - a->pageable_copies, b.syncs - a->syncs};
    return t;
}

/* Prints t and checks that no copy used pageable memory. */
static void check_pinned(const char *what, const traffic *t) {
    printf("  %s: to the device %lld B pinned, %lld B pageable; to the host %lld B pinned, %lld B "
           "pageable (%lld pageable copies), %lld waits\n",
           what, (long long)t->h2d_pinned, (long long)t->h2d_pageable, (long long)t->d2h_pinned,
           (long long)t->d2h_pageable, (long long)t->pageable_copies, (long long)t->syncs);
    CHECK_MSG(t->pageable_copies == 0 && t->h2d_pageable == 0 && t->d2h_pageable == 0,
              "%s: %lld copies with pageable host memory", what, (long long)t->pageable_copies);
}

/* ---- gbdt ---------------------------------------------------------------------------------- */

enum { GBDT_SLOTS = 64, GBDT_ROUNDS = 4, GBDT_N = 2000, GBDT_NV = 500 };

/* A 64-slot pack of random squared-error trials, levels on the device or on the host: slot_start
 * and every round, with graphs (settled from the third round); a round reads back at least every
 * slot's margins. */
static void test_gbdt(int device_levels) {
    bt_dataset tr, va;
    memset(&tr, 0, sizeof tr);
    memset(&va, 0, sizeof va);
    bt_test_gbdt_make_data(urand, &tr, &va, BT_TASK_REGRESSION, 0, GBDT_N, GBDT_NV, 6, 5);
    bt_model_data data = {&tr, &va, BT_TASK_REGRESSION, 0, NULL, 1};
    static bt_value t[GBDT_SLOTS][BT_GBDT_N_PARAMS];
    for (int i = 0; i < GBDT_SLOTS; i++) {
        bt_test_gbdt_random_trial(t[i], &bt_test_gbdt_pack_trials, urand, "reg:squarederror", 0);
        t[i][BT_GBDT_EARLY_STOPPING_ROUNDS] = bt_value_int(0);
    }
    const bt_pack_ops *gpu = &bt_gbdt_cuda_packs;
    bt_gbdt_cuda_set_device_levels(device_levels);
    bt_hparams h0 = {t[0]};
    bt_pack *p = NULL;
    CHECK_OK(gpu->pack_init(&p, &data, &h0, GBDT_SLOTS));
    bt_gbdt_cuda_set_device_levels(1);
    const char *path = device_levels ? "levels on the device" : "levels on the host";
    if (p) {
        bt_emu_stats a;
        bt_emu_stats_get(&a);
        int slots[GBDT_SLOTS];
        for (int i = 0; i < GBDT_SLOTS; i++) {
            bt_hparams h = {t[i]};
            CHECK_OK(gpu->slot_start(p, i, &h, bt_philox_key(7, (uint64_t)i)));
            slots[i] = i;
        }
        char what[160];
        snprintf(what, sizeof what, "gbdt, %s, %d slots x (%d + %d rows): slot_start", path,
                 GBDT_SLOTS, GBDT_N, GBDT_NV);
        traffic s = traffic_since(&a);
        check_pinned(what, &s);
        const int64_t margins = (int64_t)GBDT_SLOTS * (GBDT_N + GBDT_NV) * (int64_t)sizeof(float);
        for (int r = 0; r < GBDT_ROUNDS; r++) {
            bt_emu_stats_get(&a);
            CHECK_OK(gpu->step(p, slots, GBDT_SLOTS));
            traffic x = traffic_since(&a);
            snprintf(what, sizeof what, "gbdt, %s, round %d", path, r + 1);
            check_pinned(what, &x);
            CHECK_MSG(x.d2h_pinned + x.d2h_pageable >= margins,
                      "%s: %lld bytes read back, the margins are %lld", what,
                      (long long)(x.d2h_pinned + x.d2h_pageable), (long long)margins);
            if (r == GBDT_ROUNDS - 1)
                printf("  gbdt, %s: margins %lld B of %lld B read back per round (the rest: trees, "
                       "flags, counts)\n",
                       path, (long long)margins, (long long)(x.d2h_pinned + x.d2h_pageable));
        }
        for (int i = 0; i < GBDT_SLOTS; i++) CHECK(!gpu->slot_failed(p, i));
        gpu->pack_free(p);
    }
    if (gpu->data_release) gpu->data_release(&data);
    bt_gbdt_family.data_free(&data);
    bt_dataset_free(&tr);
    bt_dataset_free(&va);
}

/* ---- nn ------------------------------------------------------------------------------------ */

/* n rows of F features, 3 classes (class k brighter in feature band k), no missing values. */
static void make_rows(bt_dataset *d, int64_t n, int F, int c, int s) {
    memset(d, 0, sizeof *d);
    d->n_rows = n;
    d->n_features = F;
    d->X = malloc((size_t)n * (size_t)F * sizeof(float));
    d->y = malloc((size_t)n * sizeof(float));
    if (c) d->channels = c, d->height = s, d->width = s;
    for (int64_t i = 0; i < n; i++) {
        int k = (int)(i % 3);
        d->y[i] = (float)k;
        for (int f = 0; f < F; f++)
            d->X[i * F + f] = (float)(urand() + (f * 3 / F == k ? 1.5 : 0.0)) * 50.0f;
    }
}

/* A pack of `n_slots` slots of trial v (family fam, ops vt) over tr and va, 3 classes: every
 * slot stepped `epochs` times, each epoch's copies checked. */
static void nn_case(const char *name, const bt_model_family *fam, const bt_pack_ops *vt,
                    bt_dataset *tr, bt_dataset *va, const bt_value *v, int n_slots, int epochs) {
    bt_model_data data = {
        .train = tr, .valid = va, .task = BT_TASK_MULTICLASS, .n_classes = 3, .threads = 1};
    bt_hparams h = {v};
    bt_pack *p = NULL;
    int slots[16];
    CHECK_OK(vt->pack_init(&p, &data, &h, n_slots));
    for (int i = 0; p && i < n_slots; i++) {
        CHECK_OK(vt->slot_start(p, i, &h, bt_philox_key(5, (uint64_t)i)));
        slots[i] = i;
    }
    for (int e = 0; p && e < epochs; e++) {
        bt_emu_stats a;
        bt_emu_stats_get(&a);
        CHECK_OK(vt->step(p, slots, n_slots));
        traffic x = traffic_since(&a);
        char what[96];
        snprintf(what, sizeof what, "%s, %d slots, epoch %d", name, n_slots, e + 1);
        check_pinned(what, &x);
        CHECK(x.h2d_pinned > 0 && x.d2h_pinned > 0); /* the epoch's upload and download ran */
    }
    if (p) vt->pack_free(p);
    if (vt->data_release) vt->data_release(&data);
    fam->data_free(&data);
    bt_dataset_free(tr);
    bt_dataset_free(va);
}

static void test_mlp(void) {
    bt_dataset tr, va;
    make_rows(&tr, 200, 6, 0, 0);
    make_rows(&va, 60, 6, 0, 0);
    bt_value v[BT_MLP_N_PARAMS];
    for (int i = 0; i < BT_MLP_N_PARAMS; i++) v[i] = bt_mlp_params[i].def;
    v[BT_MLP_WIDTH] = bt_value_int(16);
    v[BT_MLP_DEPTH] = bt_value_int(2);
    v[BT_MLP_BATCH_SIZE] = bt_value_int(64);
    v[BT_MLP_DROPOUT] = bt_value_float(0.1);
    nn_case("mlp", &bt_mlp_family, &bt_mlp_cuda_packs, &tr, &va, v, 8, 2);
}

static void test_resnet(void) {
    bt_dataset tr, va;
    make_rows(&tr, 40, 64, 1, 8);
    make_rows(&va, 20, 64, 1, 8);
    bt_value v[BT_RESNET_N_PARAMS];
    for (int i = 0; i < BT_RESNET_N_PARAMS; i++) v[i] = bt_resnet_params[i].def;
    v[BT_RESNET_DEPTH] = bt_value_int(8);
    v[BT_RESNET_WIDTH] = bt_value_int(4);
    v[BT_RESNET_BATCH_SIZE] = bt_value_int(16);
    nn_case("resnet", &bt_resnet_family, &bt_resnet_cuda_packs, &tr, &va, v, 3, 1);
}

int main(void) {
    const char *s = getenv("BT_TEST_SEED");
    uint64_t seed = s && *s ? strtoull(s, NULL, 10) : (uint64_t)time(NULL);
    printf("test_copies_emu: seed %llu (BT_TEST_SEED replays it)\n", (unsigned long long)seed);
    bt_test_rng_seed(seed);
    bt_nn_blas_set_default_math(BT_NN_MATH_FP32);
    bt_emu_stats_reset();
    test_gbdt(1);
    test_gbdt(0);
    test_mlp();
    test_resnet();
    bt_emu_stats st;
    bt_emu_stats_get(&st);
    CHECK_MSG(st.violations == 0 && st.bytes_live == 0,
              "%lld violations (first: %s), %zu device bytes leaked", (long long)st.violations,
              bt_emu_violation(), st.bytes_live);
    return bt_test_finish("test_copies_emu");
}
