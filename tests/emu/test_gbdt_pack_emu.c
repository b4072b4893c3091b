/* The CUDA gbdt pack's host logic under the CUDA emulation (tests/emu, see emu.h for what that
 * proves and what it does not): on random trials and several seeds the emulated GPU pack must give
 * the CPU pack's trees and metrics bit for bit (all objectives: the emulated kernels are the C
 * references; some trials with scale_pos_weight), the same whatever its slot or pack mates, after
 * refills, with a diverging trial failing alone, under a memory budget that forces out-of-memory
 * splits, at the capacity pack_capacity picks, with levels replayed from captured graphs, and
 * without touching memory outside its allocations or leaking any. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/emu/emu.h"
#include "kernels/gbdt_apply.h"
#include "kernels/philox.h"
#include "models/gbdt/gbdt.h"
#include "models/gbdt/cuda/pack.h"
#include "models/gbdt/trainer.h"
#include "tests/bt_test.h"
#include "tests/test_rng.h"
#include "tests/gbdt_fixtures.h"

/* The emulated launcher (emu_kernels.c); the header declares it only when BT_HAVE_CUDA is set. */
bt_status bt_gbdt_apply_cuda(const bt_gbdt_apply_args *a, void *stream);

#define ROUNDS 5
#define TRIALS 12

static void make_data(bt_dataset *tr, bt_dataset *va, bt_task task, int K, int64_t n) {
    bt_test_gbdt_make_data(urand, tr, va, task, K, n, n / 3 + 1, 6, 5);
}

/* the pack tests' trials, some with early stopping */
static void random_trial(bt_value *v, const char *obj, int K) {
    bt_test_gbdt_trials d = bt_test_gbdt_pack_trials;
    d.early_stop_p = 0.2;
    bt_test_gbdt_random_trial(v, &d, urand, obj, K);
}

/* Two slots' models are the same bit for bit: rounds, flags, every node of every tree. */
static int same_model(const bt_gbdt_slot *a, const bt_gbdt_slot *b) {
    if (!a || !b) return a == b;
    if (a->n_trees != b->n_trees || a->round != b->round || a->failed != b->failed ||
        a->stopped != b->stopped)
        return 0;
    for (int64_t t = 0; t < a->n_trees; t++)
        if (a->trees[t].n_nodes != b->trees[t].n_nodes ||
            memcmp(a->trees[t].nodes, b->trees[t].nodes,
                   (size_t)a->trees[t].n_nodes * sizeof(bt_gbdt_node)) != 0)
            return 0;
    return 1;
}

typedef struct run {
    bt_pack *p;
    double metric[TRIALS][ROUNDS];
} run;

/* Trains trials in slots slot_of[i] of a fresh pack of `capacity` for ROUNDS rounds. */
/* cudaMallocHost calls the next train makes fail once its slots are started (test_pinned_oom) */
static int fail_host_allocs_in_steps;

static void train(run *out, const bt_pack_ops *vt, bt_model_data *data,
                  bt_value (*trials)[BT_GBDT_N_PARAMS], const int *slot_of, int n, int capacity,
                  const char *metric) {
    bt_hparams h0 = {trials[0]};
    out->p = NULL;
    CHECK_OK(vt->pack_init(&out->p, data, &h0, capacity));
    if (!out->p) return;
    int slots[TRIALS];
    for (int i = 0; i < n; i++) {
        bt_hparams h = {trials[i]};
        CHECK_OK(vt->slot_start(out->p, slot_of[i], &h, bt_philox_key(7, (uint64_t)i)));
        slots[i] = slot_of[i];
    }
    bt_emu_fail_host_allocs(fail_host_allocs_in_steps);
    fail_host_allocs_in_steps = 0;
    for (int r = 0; r < ROUNDS; r++) {
        CHECK_OK(vt->step(out->p, slots, n));
        for (int i = 0; i < n; i++)
            CHECK_OK(vt->eval(out->p, slot_of[i], metric, &out->metric[i][r]));
    }
}

static int same_metric(double a, double b) {
    return memcmp(&a, &b, sizeof a) == 0;
}

/* CPU pack vs emulated GPU pack (same slots) vs emulated GPU pack (other slots, larger pack),
 * then refills of the even slots stepped alone; everything must agree bit for bit. */
static void test_task(bt_task task, const char *obj, int K, const char *metric, int64_t n) {
    const bt_pack_ops *cpu = &bt_gbdt_cpu_packs, *gpu = &bt_gbdt_cuda_packs;
    CHECK(gpu != NULL && gpu != cpu);
    if (!gpu) return;
    bt_dataset tr = {0}, va = {0};
    make_data(&tr, &va, task, K, n);
    bt_model_data data = {&tr, &va, task, K, NULL, 1, NULL};
    static bt_value trials[TRIALS][BT_GBDT_N_PARAMS];
    for (int i = 0; i < TRIALS; i++) random_trial(trials[i], obj, K);
    /* some trials weigh the rows labelled 1 (XGBoost's scale_pos_weight; softprob ignores it) */
    for (int i = 1; i < TRIALS; i += 3)
        trials[i][BT_GBDT_SCALE_POS_WEIGHT] = bt_value_float(0.25 + (double)(i % 4));
    int slot_of[TRIALS], rev[TRIALS];
    for (int i = 0; i < TRIALS; i++) {
        slot_of[i] = i;
        rev[i] = TRIALS - 1 - i + 3;
    }
    static run rc, rg, rr;
    train(&rc, cpu, &data, trials, slot_of, TRIALS, TRIALS, metric);
    train(&rg, gpu, &data, trials, slot_of, TRIALS, TRIALS, metric);
    train(&rr, gpu, &data, trials, rev, TRIALS, TRIALS + 3, metric);
    int n_trees = 0, diff = 0, diff_rev = 0;
    if (rc.p && rg.p && rr.p) {
        for (int i = 0; i < TRIALS; i++) {
            const bt_gbdt_slot *a = rc.p->slots[i], *b = rg.p->slots[i], *c = rr.p->slots[rev[i]];
            n_trees += (int)a->n_trees;
            diff += !same_model(a, b);
            diff_rev += !same_model(b, c);
            for (int r = 0; r < ROUNDS; r++) {
                diff += !same_metric(rc.metric[i][r], rg.metric[i][r]);
                diff_rev += !same_metric(rg.metric[i][r], rr.metric[i][r]);
            }
            char *ja = NULL, *jb = NULL;
            size_t la = 0, lb = 0;
            CHECK_OK(bt_gbdt_family.export_model(rc.p, i, "xgboost-json", &ja, &la));
            CHECK_OK(bt_gbdt_family.export_model(rg.p, i, "xgboost-json", &jb, &lb));
            diff += !(ja && jb && la == lb && memcmp(ja, jb, la) == 0);
            free(ja);
            free(jb);
        }
        /* the executor refills freed slots: new trials in the even slots, stepped alone */
        int even[TRIALS], n_even = 0;
        static bt_value fresh[TRIALS][BT_GBDT_N_PARAMS];
        for (int i = 0; i < TRIALS; i += 2) {
            random_trial(fresh[i], obj, K);
            bt_hparams h = {fresh[i]};
            cpu->slot_clear(rc.p, i);
            gpu->slot_clear(rg.p, i);
            CHECK_OK(cpu->slot_start(rc.p, i, &h, bt_philox_key(9, (uint64_t)i)));
            CHECK_OK(gpu->slot_start(rg.p, i, &h, bt_philox_key(9, (uint64_t)i)));
            even[n_even++] = i;
        }
        for (int r = 0; r < 3; r++) {
            CHECK_OK(cpu->step(rc.p, even, n_even));
            CHECK_OK(gpu->step(rg.p, even, n_even));
        }
        for (int i = 0; i < TRIALS; i++) {
            diff += !same_model(rc.p->slots[i], rg.p->slots[i]);
            double xa = 0, xb = 0;
            CHECK_OK(cpu->eval(rc.p, i, metric, &xa));
            CHECK_OK(gpu->eval(rg.p, i, metric, &xb));
            diff += !same_metric(xa, xb);
        }
    }
    printf("  %s, %lld rows: %d trees, %d CPU/GPU differences, %d GPU slot/pack differences\n", obj,
           (long long)n, n_trees, diff, diff_rev);
    CHECK(n_trees >= TRIALS);
    CHECK_EQ_INT(diff, 0);
    CHECK_EQ_INT(diff_rev, 0);
    cpu->pack_free(rc.p);
    gpu->pack_free(rg.p);
    gpu->pack_free(rr.p);
    if (gpu->data_release) gpu->data_release(&data);
    bt_gbdt_family.data_free(&data);
    bt_dataset_free(&tr);
    bt_dataset_free(&va);
}

/* A trial whose margins are infinite fails alone; its pack mates train as without it. */
static void test_nan_fails_alone(void) {
    const bt_pack_ops *cpu = &bt_gbdt_cpu_packs, *gpu = &bt_gbdt_cuda_packs;
    bt_dataset tr = {0}, va = {0};
    make_data(&tr, &va, BT_TASK_REGRESSION, 0, 800);
    bt_model_data data = {&tr, &va, BT_TASK_REGRESSION, 0, NULL, 1, NULL};
    bt_value t[4][BT_GBDT_N_PARAMS];
    for (int i = 0; i < 4; i++) random_trial(t[i], "reg:squarederror", 0);
    t[1][BT_GBDT_BASE_SCORE] = bt_value_float(INFINITY);
    t[2][BT_GBDT_ETA] = bt_value_float(1e30); /* finite gradients, then margins overflow */
    t[2][BT_GBDT_EARLY_STOPPING_ROUNDS] = bt_value_int(0);
    bt_hparams h0 = {t[0]};
    bt_pack *p = NULL, *q = NULL;
    CHECK_OK(gpu->pack_init(&p, &data, &h0, 4));
    CHECK_OK(cpu->pack_init(&q, &data, &h0, 4));
    if (!p || !q) return;
    for (int i = 0; i < 4; i++) {
        bt_hparams h = {t[i]};
        CHECK_OK(gpu->slot_start(p, i, &h, bt_philox_key(1, (uint64_t)i)));
        if (i == 0 || i == 3) CHECK_OK(cpu->slot_start(q, i, &h, bt_philox_key(1, (uint64_t)i)));
    }
    int all[4] = {0, 1, 2, 3}, two[2] = {0, 3};
    for (int r = 0; r < 4; r++) {
        CHECK_OK(gpu->step(p, all, 4));
        CHECK_OK(cpu->step(q, two, 2));
    }
    CHECK(gpu->slot_failed(p, 1));
    CHECK(gpu->slot_failed(p, 2));
    CHECK(!gpu->slot_failed(p, 0) && !gpu->slot_failed(p, 3));
    double x = 0;
    CHECK_OK(gpu->eval(p, 1, "rmse", &x));
    CHECK(isnan(x));
    for (int s = 0; s < 4; s += 3) {
        CHECK(same_model(p->slots[s], q->slots[s]));
        double a = 0, b = 0;
        CHECK_OK(gpu->eval(p, s, "rmse", &a));
        CHECK_OK(cpu->eval(q, s, "rmse", &b));
        CHECK(same_metric(a, b) && isfinite(a));
    }
    gpu->pack_free(p);
    cpu->pack_free(q);
    if (gpu->data_release) gpu->data_release(&data);
    bt_gbdt_family.data_free(&data);
    bt_dataset_free(&tr);
    bt_dataset_free(&va);
}

/* Trials of fixed depth for the memory tests (depth decides the histogram pool). */
static void deep_trials(bt_value (*t)[BT_GBDT_N_PARAMS], int n, int depth) {
    for (int i = 0; i < n; i++) {
        random_trial(t[i], "reg:squarederror", 0);
        t[i][BT_GBDT_MAX_DEPTH] = bt_value_int(depth);
        t[i][BT_GBDT_MIN_CHILD_WEIGHT] = bt_value_float(0);
        t[i][BT_GBDT_GAMMA] = bt_value_float(0);
        t[i][BT_GBDT_EARLY_STOPPING_ROUNDS] = bt_value_int(0);
    }
}

/* A step that runs out of device memory splits its slots into smaller sub-batches and goes on
 * with the same results; a trial that does not fit even alone fails alone. */
static void test_oom_split(void) {
    const bt_pack_ops *cpu = &bt_gbdt_cpu_packs, *gpu = &bt_gbdt_cuda_packs;
    enum { N = 10 };
    bt_dataset tr = {0}, va = {0};
    make_data(&tr, &va, BT_TASK_REGRESSION, 0, 1500);
    bt_model_data data = {&tr, &va, BT_TASK_REGRESSION, 0, NULL, 1, NULL};
    bt_value t[N][BT_GBDT_N_PARAMS];
    deep_trials(t, N, 7);
    int slots[N];
    for (int i = 0; i < N; i++) slots[i] = i;
    bt_hparams h0 = {t[0]};
    run rc, rg;
    train(&rc, cpu, &data, t, slots, N, N, "rmse");
    bt_emu_stats st0, st1;
    bt_emu_stats_get(&st0);
    bt_pack *p = NULL;
    CHECK_OK(gpu->pack_init(&p, &data, &h0, N));
    if (!p || !rc.p) return;
    /* room for about three trees' live histograms, not for ten */
    const int64_t T = (int64_t)p->bin->off[p->bin->train.n_features];
    const size_t H = (size_t)T * 16 * 64;
    bt_emu_stats_get(&st1);
    bt_emu_set_mem_budget(st1.bytes_live + 3 * H + 65536);
    for (int i = 0; i < N; i++) {
        bt_hparams h = {t[i]};
        CHECK_OK(gpu->slot_start(p, i, &h, bt_philox_key(7, (uint64_t)i)));
    }
    for (int r = 0; r < ROUNDS; r++) {
        CHECK_OK(gpu->step(p, slots, N));
        for (int i = 0; i < N; i++) CHECK_OK(gpu->eval(p, i, "rmse", &rg.metric[i][r]));
    }
    bt_emu_stats st2;
    bt_emu_stats_get(&st2);
    printf("  out of memory: %lld failed allocations, split into smaller sub-batches\n",
           (long long)(st2.failed_mallocs - st0.failed_mallocs));
    CHECK(st2.failed_mallocs > st0.failed_mallocs); /* the budget did bite */
    int diff = 0;
    for (int i = 0; i < N; i++) {
        diff += !same_model(rc.p->slots[i], p->slots[i]) || gpu->slot_failed(p, i);
        for (int r = 0; r < ROUNDS; r++) diff += !same_metric(rc.metric[i][r], rg.metric[i][r]);
    }
    CHECK_EQ_INT(diff, 0);
    /* no room for even one round of one slot: every trial fails, the step does not */
    bt_emu_stats_get(&st1);
    bt_emu_set_mem_budget(st1.bytes_live + 1024);
    gpu->pack_free(p); /* frees the round's pool: now a new pack's round cannot fit */
    p = NULL;
    bt_emu_set_mem_budget(0);
    CHECK_OK(gpu->pack_init(&p, &data, &h0, N));
    if (p) {
        for (int i = 0; i < N; i++) {
            bt_hparams h = {t[i]};
            CHECK_OK(gpu->slot_start(p, i, &h, bt_philox_key(7, (uint64_t)i)));
        }
        bt_emu_stats_get(&st1);
        bt_emu_set_mem_budget(st1.bytes_live + 1024);
        CHECK_OK(gpu->step(p, slots, N));
        int n_failed = 0;
        for (int i = 0; i < N; i++) n_failed += gpu->slot_failed(p, i);
        CHECK_EQ_INT(n_failed, N);
        double x = 0;
        CHECK_OK(gpu->eval(p, 0, "rmse", &x));
        CHECK(isnan(x));
    }
    bt_emu_set_mem_budget(0);
    gpu->pack_free(p);
    cpu->pack_free(rc.p);
    if (gpu->data_release) gpu->data_release(&data);
    bt_gbdt_family.data_free(&data);
    bt_dataset_free(&tr);
    bt_dataset_free(&va);
}

/* Pinned staging memory that cannot be had (cudaMallocHost failing) is out of memory like device
 * memory: the step retries in smaller sub-batches and gives the CPU's results, with the levels on
 * the device and with the splits applied on the host. Pinned mirrors that cannot be had fail
 * pack_init cleanly (the executor retries a smaller pack). */
static void test_pinned_oom(void) {
    const bt_pack_ops *cpu = &bt_gbdt_cpu_packs, *gpu = &bt_gbdt_cuda_packs;
    enum { N = 6 };
    bt_dataset tr = {0}, va = {0};
    make_data(&tr, &va, BT_TASK_REGRESSION, 0, 800);
    bt_model_data data = {&tr, &va, BT_TASK_REGRESSION, 0, NULL, 1, NULL};
    bt_value t[N][BT_GBDT_N_PARAMS];
    deep_trials(t, N, 5);
    int slots[N];
    for (int i = 0; i < N; i++) slots[i] = i;
    run rc;
    train(&rc, cpu, &data, t, slots, N, N, "rmse");
    { /* no pinned mirror: pack_init fails, leaving nothing behind */
        bt_hparams h0 = {t[0]};
        bt_pack *p = NULL;
        bt_emu_fail_host_allocs(1);
        bt_status st = gpu->pack_init(&p, &data, &h0, N);
        bt_emu_fail_host_allocs(0);
        CHECK(st != BT_STATUS_OK && p == NULL);
        bt_status_clear();
    }
    for (int dl = 1; dl >= 0; dl--) {
        bt_gbdt_cuda_set_device_levels(dl);
        run rg;
        fail_host_allocs_in_steps = 2; /* the first round's stage: twice */
        train(&rg, gpu, &data, t, slots, N, N, "rmse");
        bt_emu_fail_host_allocs(0);
        int diff = 0;
        for (int i = 0; rg.p && rc.p && i < N; i++) {
            diff += !same_model(rc.p->slots[i], rg.p->slots[i]) || gpu->slot_failed(rg.p, i);
            for (int r = 0; r < ROUNDS; r++) diff += !same_metric(rc.metric[i][r], rg.metric[i][r]);
        }
        CHECK_MSG(diff == 0, "pinned out of memory, device levels %d: %d differences", dl, diff);
        gpu->pack_free(rg.p);
    }
    bt_gbdt_cuda_set_device_levels(1);
    printf("  pinned memory out: the step retried smaller, the CPU's trees\n");
    cpu->pack_free(rc.p);
    if (gpu->data_release) gpu->data_release(&data);
    bt_gbdt_family.data_free(&data);
    bt_dataset_free(&tr);
    bt_dataset_free(&va);
}

/* pack_capacity: at most `wanted`, at least 1, larger with more free memory, and a pack of that
 * capacity (trials no deeper than the shape trial) runs its rounds without one failed allocation:
 * the per-trial estimate bounds what the pack really takes. */
static void test_capacity(void) {
    const bt_pack_ops *gpu = (&bt_gbdt_cuda_packs);
    CHECK(gpu->pack_capacity != NULL && gpu->concurrent_steps == 1);
    CHECK(bt_gbdt_cpu_packs.concurrent_steps == 0);
    if (!gpu->pack_capacity) return;
    enum { N = 64 };
    bt_dataset tr = {0}, va = {0};
    make_data(&tr, &va, BT_TASK_REGRESSION, 0, 3000);
    bt_model_data data = {&tr, &va, BT_TASK_REGRESSION, 0, NULL, 1, NULL};
    static bt_value t[N][BT_GBDT_N_PARAMS];
    deep_trials(t, N, 6);
    bt_hparams h0 = {t[0]};
    CHECK_EQ_INT(gpu->pack_capacity(&data, &h0, N), N); /* 80 GiB free */
    int prev = 0;
    for (size_t mib = 70; mib <= 100; mib += 10) {
        bt_emu_set_mem_budget(mib << 20);
        int cap = gpu->pack_capacity(&data, &h0, N);
        bt_emu_stats st0, st1;
        bt_emu_stats_get(&st0);
        CHECK(cap >= 1 && cap <= N && cap >= prev);
        prev = cap;
        /* the budget beyond the reserve: 64 MiB is kept back, so 70 MiB leaves room for few */
        bt_pack *p = NULL;
        CHECK_OK(gpu->pack_init(&p, &data, &h0, cap));
        int slots[N];
        for (int i = 0; p && i < cap; i++) {
            bt_hparams h = {t[i]};
            CHECK_OK(gpu->slot_start(p, i, &h, bt_philox_key(3, (uint64_t)i)));
            slots[i] = i;
        }
        for (int r = 0; p && r < 3; r++) CHECK_OK(gpu->step(p, slots, cap));
        bt_emu_stats_get(&st1);
        printf("  capacity with %zu MiB: %d slots\n", mib, cap);
        CHECK_EQ_INT(st1.failed_mallocs - st0.failed_mallocs, 0);
        for (int i = 0; p && i < cap; i++) CHECK(!gpu->slot_failed(p, i));
        gpu->pack_free(p);
        if (gpu->data_release) gpu->data_release(&data);
        bt_gbdt_family.data_free(&data); /* the next pack_capacity counts the shared copy again */
    }
    CHECK(prev > 1);
    bt_emu_set_mem_budget(0);
    bt_dataset_free(&tr);
    bt_dataset_free(&va);
}

/* Levels run as captured CUDA graphs: the same models as direct launches, direct launches per
 * round bounded by a constant (the round's prologue and epilogue), graphs replayed rather than
 * re-captured once the pack settles. */
static void test_graphs(void) {
    const bt_pack_ops *gpu = (&bt_gbdt_cuda_packs);
    enum { N = 16, R = 10, M = 3 };
    bt_dataset tr = {0}, va = {0};
    make_data(&tr, &va, BT_TASK_REGRESSION, 0, 2000);
    bt_model_data data = {&tr, &va, BT_TASK_REGRESSION, 0, NULL, 1, NULL};
    static bt_value t[N][BT_GBDT_N_PARAMS];
    for (int i = 0; i < N; i++) {
        random_trial(t[i], "reg:squarederror", 0);
        t[i][BT_GBDT_EARLY_STOPPING_ROUNDS] = bt_value_int(0);
    }
    bt_hparams h0 = {t[0]};
    /* modes: 0 no graphs, 1 graphs with a wave's levels on the device (the default), 2 graphs
     * with each level's splits applied on the host */
    bt_pack *p[M] = {NULL, NULL, NULL};
    int slots[N];
    int64_t direct[M] = {0}, glaunch[M] = {0}, inst_early[M] = {0}, inst_late[M] = {0};
    int64_t syncs[M] = {0}, graphs_per_round[M] = {0}, syncs_min[M], graphs_late_min[M];
    int max_depth = 0;
    for (int i = 0; i < N; i++)
        if (t[i][BT_GBDT_MAX_DEPTH].i > max_depth) max_depth = (int)t[i][BT_GBDT_MAX_DEPTH].i;
    for (int g = 0; g < M; g++) {
        syncs_min[g] = graphs_late_min[g] = INT64_MAX;
        bt_gbdt_cuda_set_graphs(g > 0);
        bt_gbdt_cuda_set_device_levels(g < 2);
        CHECK_OK(gpu->pack_init(&p[g], &data, &h0, N));
        for (int i = 0; p[g] && i < N; i++) {
            bt_hparams h = {t[i]};
            CHECK_OK(gpu->slot_start(p[g], i, &h, bt_philox_key(5, (uint64_t)i)));
            slots[i] = i;
        }
        for (int r = 0; p[g] && r < R; r++) {
            bt_emu_stats a, b;
            bt_emu_stats_get(&a);
            CHECK_OK(gpu->step(p[g], slots, N));
            bt_emu_stats_get(&b);
            if (r >= R / 2) direct[g] += b.launches - a.launches;
            glaunch[g] += b.graph_launches - a.graph_launches;
            if (b.graph_launches - a.graph_launches > graphs_per_round[g])
                graphs_per_round[g] = b.graph_launches - a.graph_launches;
            if (r >= R / 2 && b.graph_launches - a.graph_launches < graphs_late_min[g])
                graphs_late_min[g] = b.graph_launches - a.graph_launches;
            *(r < R / 2 ? &inst_early[g] : &inst_late[g]) += b.instantiations - a.instantiations;
            if (r >= R / 2 && b.syncs - a.syncs > syncs[g]) syncs[g] = b.syncs - a.syncs;
            if (r >= R / 2 && b.syncs - a.syncs < syncs_min[g]) syncs_min[g] = b.syncs - a.syncs;
        }
    }
    bt_gbdt_cuda_set_graphs(1);
    bt_gbdt_cuda_set_device_levels(1);
    for (int g = 1; g < M; g++)
        printf("  graphs, %s: %lld direct launches in rounds 6-10 (%lld without graphs), at most "
               "%lld graph launches per round, %lld + %lld captures in rounds 1-5 + 6-10, %lld to "
               "%lld host waits per round in rounds 6-10 (depth <= %d)\n",
               g == 1 ? "levels on the device" : "splits applied on the host", (long long)direct[g],
               (long long)direct[0], (long long)graphs_per_round[g], (long long)inst_early[g],
               (long long)inst_late[g], (long long)syncs_min[g], (long long)syncs[g], max_depth);
    for (int g = 1; g < M; g++)
        if (p[0] && p[g]) {
            int diff = 0;
            for (int i = 0; i < N; i++) diff += !same_model(p[0]->slots[i], p[g]->slots[i]);
            CHECK_EQ_INT(diff, 0);
        }
    CHECK_EQ_INT(glaunch[0], 0);
    for (int g = 1; g < M; g++) {
        CHECK(glaunch[g] >= R - 1); /* from the second round on, every round is graphs */
        /* every launch group of a round is a graph once its key was seen before (a key's first
         * sight runs directly), so after the first rounds direct launches nearly vanish */
        CHECK(direct[g] * 4 <= direct[0]);
        CHECK(inst_late[g] <= inst_early[g]);             /* captures do not grow with rounds */
        CHECK(glaunch[g] > inst_early[g] + inst_late[g]); /* replays happen */
    }
    /* levels on the device: the prologue, round init, roots, all levels, leaves and predictions
     * -- in the settled rounds one graph and one wait (the trees, finite flags, sample counts and
     * margins) per round whatever the depth, and never more than one graph in a round */
    CHECK_EQ_INT(graphs_late_min[1], 1);
    CHECK(graphs_per_round[1] <= 1);
    CHECK_EQ_INT(syncs_min[1], 1);
    CHECK_EQ_INT(syncs[1], 1);
    /* splits applied on the host: prologue, roots' histograms, roots' evaluation, one per deeper
     * level, last partition, epilogue; one wait per level, the roots' sums, the last partition,
     * the gradients, the margins; an on-demand buffer that grows waits once more */
    CHECK(graphs_per_round[2] <= max_depth + 4);
    CHECK(syncs_min[2] <= max_depth + 4);
    CHECK(syncs[2] <= max_depth + 8);
    for (int g = 0; g < M; g++) gpu->pack_free(p[g]);
    if (gpu->data_release) gpu->data_release(&data);
    bt_gbdt_family.data_free(&data);
    bt_dataset_free(&tr);
    bt_dataset_free(&va);
}

/* concurrent_steps: packs own their streams and scratch, so two packs stepped from two threads at
 * once give what each gives alone (a shared mutable buffer in the pack code would mix them). */
typedef struct stepper {
    const bt_pack_ops *vt;
    bt_pack *p;
    int n, rounds;
    bt_status st;
} stepper;

static void *step_thread(void *arg) {
    stepper *x = arg;
    int slots[TRIALS];
    for (int i = 0; i < x->n; i++) slots[i] = i;
    for (int r = 0; r < x->rounds && x->st == BT_STATUS_OK; r++)
        x->st = x->vt->step(x->p, slots, x->n);
    return NULL;
}

static void test_threads(void) {
    const bt_pack_ops *gpu = (&bt_gbdt_cuda_packs);
    bt_dataset tr = {0}, va = {0};
    make_data(&tr, &va, BT_TASK_BINARY, 2, 1200);
    bt_model_data data = {&tr, &va, BT_TASK_BINARY, 2, NULL, 1, NULL};
    static bt_value t[2][TRIALS][BT_GBDT_N_PARAMS];
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < TRIALS; i++) random_trial(t[k][i], "binary:logistic", 2);
    bt_pack *alone[2] = {NULL, NULL}, *together[2] = {NULL, NULL};
    for (int pass = 0; pass < 2; pass++) {
        bt_pack **pk = pass ? together : alone;
        for (int k = 0; k < 2; k++) { /* pack_init from one thread (the shared device copy) */
            bt_hparams h0 = {t[k][0]};
            CHECK_OK(gpu->pack_init(&pk[k], &data, &h0, TRIALS));
            for (int i = 0; pk[k] && i < TRIALS; i++) {
                bt_hparams h = {t[k][i]};
                CHECK_OK(
                    gpu->slot_start(pk[k], i, &h, bt_philox_key(11 + (uint64_t)k, (uint64_t)i)));
            }
        }
        if (!pk[0] || !pk[1]) return;
        stepper x[2] = {{gpu, pk[0], TRIALS, ROUNDS, BT_STATUS_OK},
                        {gpu, pk[1], TRIALS, ROUNDS, BT_STATUS_OK}};
        if (pass == 0) {
            step_thread(&x[0]);
            step_thread(&x[1]);
        } else {
            pthread_t th[2];
            for (int k = 0; k < 2; k++)
                CHECK(pthread_create(&th[k], NULL, step_thread, &x[k]) == 0);
            for (int k = 0; k < 2; k++) pthread_join(th[k], NULL);
        }
        CHECK_OK(x[0].st);
        CHECK_OK(x[1].st);
    }
    int diff = 0;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < TRIALS; i++)
            diff += !same_model(alone[k]->slots[i], together[k]->slots[i]);
    printf("  two packs stepped from two threads: %d differences\n", diff);
    CHECK_EQ_INT(diff, 0);
    for (int k = 0; k < 2; k++) {
        gpu->pack_free(alone[k]);
        gpu->pack_free(together[k]);
    }
    if (gpu->data_release) gpu->data_release(&data);
    bt_gbdt_family.data_free(&data);
    bt_dataset_free(&tr);
    bt_dataset_free(&va);
}

static int all_bytes(const void *p, size_t n, int byte) {
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != (unsigned char)byte) return 0;
    return 1;
}

/* The device-side split application (kernels/gbdt_apply.h, through the emulated launcher that runs
 * its reference) against the CPU grower's own rules (bt_gbdt_split_takes, bt_gbdt_node_split of
 * grow.c): random trees level by level with random splits and partitions, the device side laid
 * out at fixed places, the host side as models/gbdt/cuda/round_host.c applies a level. Nodes, node
 * counts, row ranges, partition items and the next level's split sums must agree exactly; no
 * histogram is lost or handed out twice. */
static void test_apply_levels(void) {
    enum { NT = 40, F = 8, DMAX = 7 };
    const int64_t T = 64, W_MAX = (int64_t)1 << DMAX;
    bt_gbdt_slot sl[NT];
    bt_gbdt_rules ru[NT];
    bt_gbdt_apply_tree tr[NT];
    int32_t missing[F], n_feats[NT * DMAX];
    for (int i = 0; i < NT * DMAX; i++) n_feats[i] = 1 + (int32_t)(urand() * F);
    for (int f = 0; f < F; f++) missing[f] = 10 + f;
    memset(sl, 0, sizeof sl);
    memset(ru, 0, sizeof ru);
    memset(tr, 0, sizeof tr);
    int64_t n_nodes_all = 0, n_stack = 0;
    const int64_t m = 5000;
    for (int t = 0; t < NT; t++) {
        bt_gbdt_slot *s = &sl[t];
        s->max_depth = (int32_t)(urand() * (DMAX + 1)); /* 0 .. 7 */
        s->eta = (float)(0.05 + urand());
        s->gamma = urand() < 0.3 ? 0.0f : (float)(urand() * 0.5);
        s->sp.lambda = urand() < 0.2 ? 0.0f : (float)(urand() * 3);
        s->sp.alpha = urand() < 0.3 ? 0.0f : (float)(urand() * 2);
        s->sp.min_child_weight = (float)(urand() * 2);
        ru[t].sp = s->sp;
        ru[t].eta = s->eta;
        ru[t].gamma = s->gamma;
        ru[t].max_depth = s->max_depth;
        tr[t].seg = (int64_t)t * m;
        tr[t].g_unit = ldexp(1.0, -(int)(urand() * 40));
        tr[t].h_unit = ldexp(1.0, -(int)(urand() * 40));
        tr[t].rules = t;
        tr[t].trial = t / 2;
        tr[t].cap = (int32_t)((1 << (s->max_depth + 1)) - 1);
        tr[t].node_base = (int32_t)n_nodes_all;
        n_nodes_all += tr[t].cap;
        tr[t].n_nodes = 1;
        tr[t].level_begin = 0;
        tr[t].level_count = 1;
        tr[t].feats_begin = t * F * DMAX;
        tr[t].stack_cap = s->max_depth > 1 ? 1 << (s->max_depth - 1) : 1;
        tr[t].stack_base = n_stack;
        n_stack += tr[t].stack_cap;
        tr[t].n_free = tr[t].stack_cap - 1; /* the root holds the region's last slot */
    }
    /* host side */
    bt_gbdt_node *hn = calloc((size_t)n_nodes_all, sizeof *hn);
    bt_gbdt_gh *hs = calloc((size_t)n_nodes_all, sizeof *hs);
    int64_t *hb = calloc((size_t)n_nodes_all, sizeof *hb), *hc = calloc((size_t)n_nodes_all, 8);
    int32_t *lvl = malloc(sizeof(int32_t) * (size_t)NT * (size_t)W_MAX * 2);
    int32_t *nxt = malloc(sizeof(int32_t) * (size_t)NT * (size_t)W_MAX * 2);
    int32_t n_lvl[NT], n_nxt[NT], n_nodes[NT];
    int64_t *stack_h = malloc(sizeof(int64_t) * (size_t)n_stack);
    /* device side (same initial state) */
    bt_gbdt_node *dn = NULL;
    bt_gbdt_gh *ds = NULL;
    int64_t *db = NULL, *dc = NULL, *dh = NULL, *dst = NULL, *dnl = NULL;
    bt_gbdt_apply_tree *dt = NULL;
    bt_gbdt_rules *dr = NULL;
    int32_t *dm = NULL, *dnf = NULL;
    bt_gbdt_split *dsp = NULL;
    bt_gbdt_apply_part *dpart = NULL;
    bt_gbdt_level_pair *dpa = NULL, *dpb = NULL;
    bt_gbdt_apply_split_item *dsn = NULL;
    const size_t places = (size_t)NT * (size_t)W_MAX;
    CHECK(cudaMalloc((void **)&dn, sizeof *dn * (size_t)n_nodes_all) == cudaSuccess);
    CHECK(cudaMalloc((void **)&ds, sizeof *ds * (size_t)n_nodes_all) == cudaSuccess);
    CHECK(cudaMalloc((void **)&db, 8 * (size_t)n_nodes_all) == cudaSuccess);
    CHECK(cudaMalloc((void **)&dc, 8 * (size_t)n_nodes_all) == cudaSuccess);
    CHECK(cudaMalloc((void **)&dh, 8 * (size_t)n_nodes_all) == cudaSuccess);
    CHECK(cudaMalloc((void **)&dst, 8 * (size_t)n_stack) == cudaSuccess);
    CHECK(cudaMalloc((void **)&dnl, 8 * places) == cudaSuccess);
    CHECK(cudaMalloc((void **)&dt, sizeof tr) == cudaSuccess);
    CHECK(cudaMalloc((void **)&dr, sizeof ru) == cudaSuccess);
    CHECK(cudaMalloc((void **)&dm, sizeof missing) == cudaSuccess);
    CHECK(cudaMalloc((void **)&dnf, sizeof n_feats) == cudaSuccess);
    CHECK(cudaMalloc((void **)&dsp, sizeof *dsp * places) == cudaSuccess);
    CHECK(cudaMalloc((void **)&dpart, sizeof *dpart * places) == cudaSuccess);
    CHECK(cudaMalloc((void **)&dpa, sizeof *dpa * places) == cudaSuccess);
    CHECK(cudaMalloc((void **)&dpb, sizeof *dpb * places) == cudaSuccess);
    CHECK(cudaMalloc((void **)&dsn, sizeof *dsn * 2 * places) == cudaSuccess);
    bt_gbdt_split *sp = malloc(sizeof *sp * places);
    bt_gbdt_apply_part *part = malloc(sizeof *part * places);
    bt_gbdt_apply_split_item *sn = malloc(sizeof *sn * 2 * places);
    int64_t *nl = malloc(8 * places), *hoff = malloc(8 * (size_t)n_nodes_all);
    bt_gbdt_node *gn = malloc(sizeof *gn * (size_t)n_nodes_all);
    for (int t = 0; t < NT; t++) {
        bt_gbdt_node *nodes = hn + tr[t].node_base;
        bt_gbdt_gh *sum = hs + tr[t].node_base;
        sum[0].g = (int64_t)((urand() - 0.5) * 1e12);
        sum[0].h = (int64_t)(urand() * 1e12) + 1;
        float wt = bt_gbdt_weight(&sl[t].sp, (double)sum[0].g * tr[t].g_unit,
                                  (double)sum[0].h * tr[t].h_unit);
        bt_gbdt_leaf_init(nodes, sum, tr[t].h_unit, 0, -1, wt, wt * sl[t].eta);
        hb[tr[t].node_base] = 0;
        hc[tr[t].node_base] = m;
        hoff[tr[t].node_base] = (tr[t].stack_base + tr[t].stack_cap - 1) * T;
        for (int32_t j = 0; j + 1 < tr[t].stack_cap; j++)
            stack_h[tr[t].stack_base + j] = (tr[t].stack_base + j) * T;
        n_lvl[t] = 1;
        lvl[(size_t)t * (size_t)W_MAX * 2] = 0;
        n_nodes[t] = 1;
    }
    CHECK(cudaMemcpy(dn, hn, sizeof *dn * (size_t)n_nodes_all, cudaMemcpyHostToDevice) == 0);
    CHECK(cudaMemcpy(ds, hs, sizeof *ds * (size_t)n_nodes_all, cudaMemcpyHostToDevice) == 0);
    CHECK(cudaMemcpy(db, hb, 8 * (size_t)n_nodes_all, cudaMemcpyHostToDevice) == 0);
    CHECK(cudaMemcpy(dc, hc, 8 * (size_t)n_nodes_all, cudaMemcpyHostToDevice) == 0);
    CHECK(cudaMemcpy(dh, hoff, 8 * (size_t)n_nodes_all, cudaMemcpyHostToDevice) == 0);
    CHECK(cudaMemcpy(dst, stack_h, 8 * (size_t)n_stack, cudaMemcpyHostToDevice) == 0);
    CHECK(cudaMemcpy(dt, tr, sizeof tr, cudaMemcpyHostToDevice) == 0);
    CHECK(cudaMemcpy(dr, ru, sizeof ru, cudaMemcpyHostToDevice) == 0);
    CHECK(cudaMemcpy(dm, missing, sizeof missing, cudaMemcpyHostToDevice) == 0);
    CHECK(cudaMemcpy(dnf, n_feats, sizeof n_feats, cudaMemcpyHostToDevice) == 0);
    int64_t n_taken = 0, mismatches = 0, place_bad = 0;
    bt_gbdt_level_pair *pn = malloc(sizeof *pn * places);
    int32_t depth_end = 0; /* one past the last depth applied */
    for (int32_t depth = 0; depth <= DMAX; depth++) {
        const int64_t W = (int64_t)1 << depth;
        int any = 0;
        for (int t = 0; t < NT; t++) any |= n_lvl[t] > 0;
        if (!any) break;
        depth_end = depth + 1;
        /* random splits at the device's places; children sums that add up to the parent's */
        for (int t = 0; t < NT; t++)
            for (int32_t i = 0; i < n_lvl[t]; i++) {
                int32_t id = lvl[(size_t)t * (size_t)W_MAX * 2 + (size_t)i];
                bt_gbdt_gh S = hs[tr[t].node_base + id];
                bt_gbdt_split *x = &sp[(size_t)(t * W + i)];
                bt_gbdt_split_reset(x);
                double u = urand();
                x->feature = u < 0.1 ? -1 : (int32_t)(urand() * F);
                x->loss_chg = u < 0.2 ? 1e-6f : (float)(urand() * 2);
                x->bin = (int32_t)(urand() * 10);
                x->default_left = urand() < 0.5;
                x->split_cond = (float)urand();
                x->left.g = (int64_t)(urand() * (double)S.g);
                x->left.h = urand() < 0.05 ? 0 : (int64_t)(urand() * (double)S.h);
                x->right.g = S.g - x->left.g;
                x->right.h = S.h - x->left.h;
            }
        CHECK(cudaMemcpy(dsp, sp, sizeof *sp * places, cudaMemcpyHostToDevice) == 0);
        /* a sentinel in every place: a tree past its depth must leave its places alone */
        CHECK(cudaMemset(dpart, 0x5A, sizeof *dpart * places) == 0);
        CHECK(cudaMemset(dsn, 0x5A, sizeof *dsn * 2 * places) == 0);
        CHECK(cudaMemset((depth & 1) ? dpb : dpa, 0x5A, sizeof *dpa * places) == 0);
        bt_gbdt_apply_args a;
        memset(&a, 0, sizeof a);
        a.trees = dt;
        a.n_trees = NT;
        a.depth = depth;
        a.n_features = F;
        a.feat_levels = DMAX;
        a.n_feats = dnf;
        a.rules = dr;
        a.missing_bin = dm;
        a.splits = dsp;
        a.pairs_prev = (depth & 1) ? dpa : dpb;
        a.n_left = dnl;
        a.nodes = dn;
        a.sum = ds;
        a.beg = db;
        a.cnt = dc;
        a.hoff = dh;
        a.stack = dst;
        a.part = dpart;
        a.pairs_next = (depth & 1) ? dpb : dpa;
        a.split_next = dsn;
        CHECK_OK(bt_gbdt_apply_cuda(&a, NULL));
        CHECK(cudaDeviceSynchronize() == 0);
        CHECK(cudaMemcpy(part, dpart, sizeof *part * places, cudaMemcpyDeviceToHost) == 0);
        CHECK(cudaMemcpy(sn, dsn, sizeof *sn * 2 * places, cudaMemcpyDeviceToHost) == 0);
        CHECK(cudaMemcpy(pn, (depth & 1) ? dpb : dpa, sizeof *pn * places,
                         cudaMemcpyDeviceToHost) == 0);
        for (int t = 0; t < NT; t++) {
            /* places only while depth < max(max_depth, 1); next-level items only while deeper */
            const int own = depth < (sl[t].max_depth > 1 ? sl[t].max_depth : 1);
            const int deeper = depth + 1 < sl[t].max_depth;
            for (int64_t i = 0; i < W; i++) {
                const bt_gbdt_apply_part *pt = &part[(size_t)(t * W + i)];
                if (!own)
                    place_bad += !all_bytes(pt, sizeof *pt, 0x5A);
                else if (i >= n_lvl[t])
                    place_bad += pt->n_rows != 0 || pt->row_begin != 0;
                const bt_gbdt_level_pair *q = &pn[(size_t)(t * W + i)];
                if (!deeper) place_bad += !all_bytes(q, sizeof *q, 0x5A);
            }
            for (int64_t j = 0; j < 2 * W; j++) {
                const bt_gbdt_apply_split_item *x = &sn[(size_t)(t * 2 * W + j)];
                if (!deeper)
                    place_bad += !all_bytes(x, sizeof *x, 0x5A);
                else if (j >= 2 * n_lvl[t])
                    place_bad += x->n_rows != 0 || x->n_feats != 0;
            }
        }
        /* the host applies the same splits as models/gbdt/cuda/round_host.c does, then partitions
         * at random */
        for (int t = 0; t < NT; t++) {
            bt_gbdt_node *nodes = hn + tr[t].node_base;
            bt_gbdt_gh *sum = hs + tr[t].node_base;
            int64_t *beg = hb + tr[t].node_base, *cnt = hc + tr[t].node_base;
            n_nxt[t] = 0;
            for (int32_t i = 0; i < n_lvl[t]; i++) {
                int32_t id = lvl[(size_t)t * (size_t)W_MAX * 2 + (size_t)i];
                const bt_gbdt_split *x = &sp[(size_t)(t * W + i)];
                const bt_gbdt_apply_part *pt = &part[(size_t)(t * W + i)];
                if (!bt_gbdt_split_takes(&sl[t], x, depth)) {
                    mismatches += pt->n_rows != 0;
                    nl[(size_t)(t * W + i)] = 0;
                    continue;
                }
                n_taken++;
                int32_t L = n_nodes[t]++, R = n_nodes[t]++;
                bt_gbdt_node_split(&sl[t], nodes, sum, tr[t].g_unit, tr[t].h_unit, id, x, L, R);
                mismatches += pt->row_begin != tr[t].seg + beg[id] || pt->n_rows != cnt[id] ||
                              pt->feature != x->feature || pt->split_bin != x->bin ||
                              pt->missing_bin != missing[x->feature] ||
                              pt->default_left != x->default_left;
                int64_t left = (int64_t)(urand() * (double)(cnt[id] + 1));
                nl[(size_t)(t * W + i)] = left;
                beg[L] = beg[id];
                cnt[L] = left;
                beg[R] = beg[id] + left;
                cnt[R] = cnt[id] - left;
                if (depth + 1 < sl[t].max_depth) {
                    const bt_gbdt_apply_split_item *a0 = &sn[(size_t)(t * 2 * W + n_nxt[t])];
                    mismatches += a0[0].total.g != sum[L].g || a0[0].total.h != sum[L].h ||
                                  a0[1].total.g != sum[R].g || a0[1].total.h != sum[R].h ||
                                  a0[0].trial != tr[t].trial || a0[0].g_unit != tr[t].g_unit ||
                                  a0[1].feats_begin != tr[t].feats_begin + (depth + 1) * F ||
                                  a0[1].n_feats != n_feats[t * DMAX + depth + 1];
                    nxt[(size_t)t * (size_t)W_MAX * 2 + (size_t)n_nxt[t]++] = L;
                    nxt[(size_t)t * (size_t)W_MAX * 2 + (size_t)n_nxt[t]++] = R;
                }
            }
            n_lvl[t] = n_nxt[t];
            memcpy(lvl + (size_t)t * (size_t)W_MAX * 2, nxt + (size_t)t * (size_t)W_MAX * 2,
                   sizeof(int32_t) * (size_t)n_nxt[t]);
        }
        /* the partition's left counts, at the places the partition kernel writes them */
        CHECK(cudaMemcpy(dnl, nl, 8 * places, cudaMemcpyHostToDevice) == 0);
    }
    { /* the last partition's children: the finishing launch resolves their rows */
        bt_gbdt_apply_args a;
        memset(&a, 0, sizeof a);
        a.trees = dt;
        a.n_trees = NT;
        a.depth = depth_end;
        a.finish = 1;
        a.n_left = dnl;
        a.nodes = dn;
        a.beg = db;
        a.cnt = dc;
        CHECK_OK(bt_gbdt_apply_cuda(&a, NULL));
    }
    CHECK(cudaMemcpy(tr, dt, sizeof tr, cudaMemcpyDeviceToHost) == 0);
    {
        int64_t *gb = malloc(8 * (size_t)n_nodes_all), *gc = malloc(8 * (size_t)n_nodes_all);
        CHECK(cudaMemcpy(gb, db, 8 * (size_t)n_nodes_all, cudaMemcpyDeviceToHost) == 0);
        CHECK(cudaMemcpy(gc, dc, 8 * (size_t)n_nodes_all, cudaMemcpyDeviceToHost) == 0);
        int64_t bad = 0;
        for (int t = 0; t < NT; t++)
            for (int32_t id = 0; id < n_nodes[t]; id++)
                bad += gb[tr[t].node_base + id] != hb[tr[t].node_base + id] ||
                       gc[tr[t].node_base + id] != hc[tr[t].node_base + id];
        CHECK_MSG(bad == 0, "%lld node row ranges differ", (long long)bad);
        free(gb);
        free(gc);
    }
    CHECK(cudaMemcpy(gn, dn, sizeof *gn * (size_t)n_nodes_all, cudaMemcpyDeviceToHost) == 0);
    CHECK(cudaMemcpy(stack_h, dst, 8 * (size_t)n_stack, cudaMemcpyDeviceToHost) == 0);
    int64_t stack_bad = 0;
    for (int t = 0; t < NT; t++) {
        CHECK_MSG(tr[t].n_nodes == n_nodes[t] && tr[t].error == 0 && tr[t].level_count == 0,
                  "tree %d: %d nodes (host %d), error %d", t, tr[t].n_nodes, n_nodes[t],
                  tr[t].error);
        CHECK_MSG(memcmp(gn + tr[t].node_base, hn + tr[t].node_base,
                         sizeof *gn * (size_t)n_nodes[t]) == 0,
                  "tree %d (max_depth %d): nodes differ", t, sl[t].max_depth);
        /* every histogram back on its tree's stack, each once */
        stack_bad += tr[t].n_free != tr[t].stack_cap;
        for (int32_t j = 0; j < tr[t].n_free && j < tr[t].stack_cap; j++) {
            int64_t v = stack_h[tr[t].stack_base + j] / T - tr[t].stack_base;
            int dup = v < 0 || v >= tr[t].stack_cap;
            for (int32_t k = 0; k < j && !dup; k++)
                dup = stack_h[tr[t].stack_base + k] == stack_h[tr[t].stack_base + j];
            stack_bad += dup;
        }
    }
    CHECK_MSG(mismatches == 0, "%lld partition or split items differ", (long long)mismatches);
    CHECK_MSG(stack_bad == 0, "%lld histogram stack errors", (long long)stack_bad);
    CHECK_MSG(place_bad == 0, "%lld places written past a tree's depth or padding not written",
              (long long)place_bad);
    CHECK(n_taken > NT);
    printf(" apply: %d trees, %lld splits taken, nodes equal to grow.c's rules\n", NT,
           (long long)n_taken);
    cudaFree(dn);
    cudaFree(ds);
    cudaFree(db);
    cudaFree(dc);
    cudaFree(dh);
    cudaFree(dst);
    cudaFree(dnl);
    cudaFree(dt);
    cudaFree(dr);
    cudaFree(dm);
    cudaFree(dnf);
    cudaFree(dsp);
    cudaFree(dpart);
    cudaFree(dpa);
    cudaFree(dpb);
    cudaFree(dsn);
    free(hn);
    free(hs);
    free(hb);
    free(hc);
    free(lvl);
    free(nxt);
    free(stack_h);
    free(sp);
    free(part);
    free(sn);
    free(nl);
    free(hoff);
    free(gn);
    free(pn);
}

int main(void) {
    const char *s = getenv("BT_TEST_SEED");
    uint64_t seed = s && *s ? strtoull(s, NULL, 10) : (uint64_t)time(NULL);
    printf("test_gbdt_pack_emu: seed %llu (BT_TEST_SEED replays it)\n", (unsigned long long)seed);
    bt_gbdt_set_mode(1); /* the CPU grows from histograms too (same splits; docs/gbdt.md) */
    bt_emu_stats_reset();
    for (int k = 0; k < 3; k++) {
        bt_test_rng_seed(seed + (uint64_t)k);
        printf(" seed %llu\n", (unsigned long long)(seed + (uint64_t)k));
        bt_emu_set_poison(k == 1 ? 0xFF : 0xA5); /* NaN floats / -1 ints in fresh memory */
        test_task(BT_TASK_REGRESSION, "reg:squarederror", 0, "rmse", 1500);
        test_task(BT_TASK_BINARY, "binary:logistic", 2, "logloss", 1200);
        test_task(BT_TASK_MULTICLASS, "multi:softprob", 3, "mlogloss", 900);
        if (k == 0) {
            bt_gbdt_cuda_set_hist_budget(1); /* one tree per wave: the same trees */
            test_task(BT_TASK_REGRESSION, "reg:squarederror", 0, "mae", 1000);
            bt_gbdt_cuda_set_hist_budget(0);
        }
    }
    test_apply_levels();
    test_nan_fails_alone();
    test_oom_split();
    test_pinned_oom();
    test_capacity();
    test_graphs();
    test_threads();
    bt_emu_stats st;
    bt_emu_stats_get(&st);
    printf(
        "emulation: %lld launches, %lld copies, %lld syncs, %lld graph launches, peak %zu bytes\n",
        (long long)st.launches, (long long)st.copies, (long long)st.syncs,
        (long long)st.graph_launches, st.bytes_peak);
    CHECK_MSG(st.violations == 0, "%lld violations, first: %s", (long long)st.violations,
              bt_emu_violation());
    CHECK_MSG(st.bytes_live == 0, "%zu device bytes leaked", st.bytes_live);
    return bt_test_finish("test_gbdt_pack_emu");
}
