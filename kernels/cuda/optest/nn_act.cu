/* Op table suite nn_act (kernels/optest.h): the elementwise nn kernels against the C references
 * on fresh random inputs, outputs poisoned: activations (relu exact; tanh and gelu within a few
 * ulp: device tanhf/erff/expf are within 2 ulp of the host's), contiguous and per-slot forms, in
 * place and not; dropout (masks and outputs bit-identical: both sides call bt_nn_dropout_keep)
 * for p = 0, 0.1, 0.5, 0.9 per slot at different epochs, steps and layers; the residual add and
 * its backward accumulation (exact); global average pooling forward and backward (exact: the same
 * float sums in the same order). */
#include "kernels/cuda/optest/nn_optest.cuh"

extern "C" {
#include "kernels/nn_act.h"
#include "kernels/nn_dropout.h"
#include "kernels/nn_pool.h"
#include "kernels/nn_residual.h"
}

static void act_case(bt_nn_act a, int S, int64_t n, bool in_place, double tol) {
    slot_buf<float> x, y, dy, dx;
    x.init(S, (size_t)n);
    y.init(S, (size_t)n);
    dy.init(S, (size_t)n);
    dx.init(S, (size_t)n);
    x.fill([] { return urand() < 0.05 ? 0.0f : frand(-6, 6); });
    dy.fill([] { return frand(-1, 1); });
    x.upload();
    dy.upload();
    y.poison();
    dx.poison();
    char what[128];
    /* per-slot form */
    if (in_place) {
        /* y = act(x) with y aliasing x; dx = act'(x) dy with dx aliasing dy: use copies */
        slot_buf<float> xx, gg;
        xx.init(S, (size_t)n);
        gg.init(S, (size_t)n);
        xx.h = x.h;
        gg.h = dy.h;
        xx.upload();
        gg.upload();
        CHECK_OK(bt_nn_act_bwd_slots_cuda(a, S, n, x.cdev(), gg.cdev(), gg.dev(), NULL));
        CHECK_OK(bt_nn_act_fwd_slots_cuda(a, S, n, xx.cdev(), xx.dev(), NULL));
        for (int s = 0; s < S; s++) {
            std::vector<float> ry(n), rdx(n);
            bt_nn_act_fwd_ref(a, n, x.h[s].data(), ry.data());
            bt_nn_act_bwd_ref(a, n, x.h[s].data(), dy.h[s].data(), rdx.data());
            snprintf(what, sizeof what, "act %d in place n %lld slot %d", (int)a, (long long)n, s);
            nn_close(what, xx.download(s).data(), ry.data(), (size_t)n, tol, tol);
            nn_close(what, gg.download(s).data(), rdx.data(), (size_t)n, tol, tol);
        }
        xx.release();
        gg.release();
    } else {
        CHECK_OK(bt_nn_act_fwd_slots_cuda(a, S, n, x.cdev(), y.dev(), NULL));
        CHECK_OK(bt_nn_act_bwd_slots_cuda(a, S, n, x.cdev(), dy.cdev(), dx.dev(), NULL));
        for (int s = 0; s < S; s++) {
            std::vector<float> ry(n), rdx(n);
            bt_nn_act_fwd_ref(a, n, x.h[s].data(), ry.data());
            bt_nn_act_bwd_ref(a, n, x.h[s].data(), dy.h[s].data(), rdx.data());
            snprintf(what, sizeof what, "act %d n %lld slot %d", (int)a, (long long)n, s);
            nn_close(what, y.download(s).data(), ry.data(), (size_t)n, tol, tol);
            nn_close(what, dx.download(s).data(), rdx.data(), (size_t)n, tol, tol);
        }
        /* contiguous form on slot 0's buffers */
        y.poison();
        dx.poison();
        CHECK_OK(bt_nn_act_fwd_cuda(a, n, x.dp[0], y.dp[0], NULL));
        CHECK_OK(bt_nn_act_bwd_cuda(a, n, x.dp[0], dy.dp[0], dx.dp[0], NULL));
        std::vector<float> ry(n), rdx(n);
        bt_nn_act_fwd_ref(a, n, x.h[0].data(), ry.data());
        bt_nn_act_bwd_ref(a, n, x.h[0].data(), dy.h[0].data(), rdx.data());
        snprintf(what, sizeof what, "act %d contiguous n %lld", (int)a, (long long)n);
        nn_close(what, y.download(0).data(), ry.data(), (size_t)n, tol, tol);
        nn_close(what, dx.download(0).data(), rdx.data(), (size_t)n, tol, tol);
    }
    x.release();
    y.release();
    dy.release();
    dx.release();
}

static void dropout_case(int S, int64_t n) {
    slot_buf<float> x, y, mask, dy, dx;
    x.init(S, (size_t)n);
    y.init(S, (size_t)n);
    mask.init(S, (size_t)n);
    dy.init(S, (size_t)n);
    dx.init(S, (size_t)n);
    x.fill([] { return frand(-3, 3); });
    dy.fill([] { return frand(-1, 1); });
    x.upload();
    dy.upload();
    y.poison();
    mask.poison();
    dx.poison();
    std::vector<uint64_t> key((size_t)S);
    std::vector<float> p((size_t)S);
    std::vector<uint32_t> ep((size_t)S);
    const float ps[] = {0.0f, 0.1f, 0.5f, 0.9f, 0.25f};
    for (int s = 0; s < S; s++) {
        key[s] = rnd_u64();
        p[s] = ps[s % 5];
        ep[s] = (uint32_t)irand(1000);
    }
    const uint32_t step = (uint32_t)irand(5000), layer = (uint32_t)irand(4);
    uint64_t *dkey = dev_from(key);
    float *dp = dev_from(p);
    uint32_t *dep = dev_from(ep);
    CHECK_OK(bt_nn_dropout_fwd_cuda(S, n, dkey, dp, dep, step, layer, x.cdev(), y.dev(), mask.dev(),
                                    NULL));
    CHECK_OK(bt_nn_dropout_bwd_cuda(S, n, mask.cdev(), dy.cdev(), dx.dev(), NULL));
    std::vector<std::vector<float>> ry(S, std::vector<float>(n + 1)), rm = ry, rdx = ry;
    std::vector<float *> pry(S), prm(S), prdx(S);
    for (int s = 0; s < S; s++) {
        pry[s] = ry[s].data();
        prm[s] = rm[s].data();
        prdx[s] = rdx[s].data();
    }
    bt_nn_dropout_fwd_ref(S, n, key.data(), p.data(), ep.data(), step, layer, x.crefp(), pry.data(),
                          prm.data());
    bt_nn_dropout_bwd_ref(S, n, (const float *const *)prm.data(), dy.crefp(), prdx.data());
    for (int s = 0; s < S; s++) {
        char what[96];
        snprintf(what, sizeof what, "dropout p %.2f n %lld slot %d mask", (double)p[s],
                 (long long)n, s);
        nn_exact(what, mask.download(s).data(), rm[s].data(), (size_t)n * sizeof(float));
        snprintf(what, sizeof what, "dropout p %.2f n %lld slot %d y", (double)p[s], (long long)n,
                 s);
        nn_exact(what, y.download(s).data(), ry[s].data(), (size_t)n * sizeof(float));
        snprintf(what, sizeof what, "dropout p %.2f n %lld slot %d dx", (double)p[s], (long long)n,
                 s);
        nn_exact(what, dx.download(s).data(), rdx[s].data(), (size_t)n * sizeof(float));
        if (p[s] >= 0.5f && n >= 1000) { /* the mask drops about p of the elements */
            int64_t kept = 0;
            for (int64_t e = 0; e < n; e++) kept += rm[s][e] != 0.0f;
            CHECK_MSG(fabs((double)kept / n - (1.0 - p[s])) < 0.05, "kept %lld of %lld at p %g",
                      (long long)kept, (long long)n, (double)p[s]);
        }
    }
    /* in place: y aliases x */
    CHECK_OK(bt_nn_dropout_fwd_cuda(S, n, dkey, dp, dep, step, layer, x.cdev(), x.dev(), mask.dev(),
                                    NULL));
    for (int s = 0; s < S; s++)
        nn_exact("dropout in place", x.download(s).data(), ry[s].data(), (size_t)n * sizeof(float));
    cudaFree(dkey);
    cudaFree(dp);
    cudaFree(dep);
    x.release();
    y.release();
    mask.release();
    dy.release();
    dx.release();
}

static void residual_case(int S, int64_t n) {
    slot_buf<float> x, sc, y, dy, dx, ds;
    for (auto *b : {&x, &sc, &y, &dy, &dx, &ds}) b->init(S, (size_t)n);
    for (auto *b : {&x, &sc, &dy, &ds}) {
        b->fill([] { return frand(-2, 2); });
        b->upload();
    }
    y.poison();
    dx.poison();
    CHECK_OK(bt_nn_residual_fwd_cuda(S, n, x.cdev(), sc.cdev(), y.dev(), NULL));
    CHECK_OK(bt_nn_residual_bwd_cuda(S, n, dy.cdev(), dx.dev(), ds.dev(), NULL));
    bt_nn_residual_fwd_ref(S, n, x.crefp(), sc.crefp(), y.refp());
    bt_nn_residual_bwd_ref(S, n, dy.crefp(), dx.refp(), ds.refp());
    for (int s = 0; s < S; s++) {
        nn_exact("residual y", y.download(s).data(), y.h[s].data(), (size_t)n * sizeof(float));
        nn_exact("residual dx", dx.download(s).data(), dx.h[s].data(), (size_t)n * sizeof(float));
        nn_exact("residual dshortcut", ds.download(s).data(), ds.h[s].data(),
                 (size_t)n * sizeof(float));
    }
    /* dx NULL: only the shortcut accumulates (again) */
    CHECK_OK(bt_nn_residual_bwd_cuda(S, n, dy.cdev(), NULL, ds.dev(), NULL));
    bt_nn_residual_bwd_ref(S, n, dy.crefp(), NULL, ds.refp());
    for (int s = 0; s < S; s++)
        nn_exact("residual dshortcut twice", ds.download(s).data(), ds.h[s].data(),
                 (size_t)n * sizeof(float));
    for (auto *b : {&x, &sc, &y, &dy, &dx, &ds}) b->release();
}

static void gap_case(int S, int rows, int hw, int c) {
    slot_buf<float> x, y, dy, dx;
    x.init(S, (size_t)rows * hw * c);
    y.init(S, (size_t)rows * c);
    dy.init(S, (size_t)rows * c);
    dx.init(S, (size_t)rows * hw * c);
    x.fill([] { return urand() < 0.4 ? 0.0f : frand(0, 3); });
    dy.fill([] { return frand(-1, 1); });
    x.upload();
    dy.upload();
    y.poison();
    dx.poison();
    CHECK_OK(bt_nn_gap_fwd_cuda(S, rows, hw, c, x.cdev(), y.dev(), NULL));
    CHECK_OK(bt_nn_gap_bwd_cuda(S, rows, hw, c, dy.cdev(), dx.dev(), NULL));
    bt_nn_gap_fwd_ref(S, rows, hw, c, x.crefp(), y.refp());
    bt_nn_gap_bwd_ref(S, rows, hw, c, dy.crefp(), dx.refp());
    for (int s = 0; s < S; s++) {
        nn_exact("gap y", y.download(s).data(), y.h[s].data(), y.n * sizeof(float));
        nn_exact("gap dx", dx.download(s).data(), dx.h[s].data(), dx.n * sizeof(float));
    }
    x.release();
    y.release();
    dy.release();
    dx.release();
}

/* the element counts the loops run over, when a case names none */
static const int64_t sizes[] = {1, 31, 257, 10007, 200000};

/* p: activation, slots, in place; tol: of values of order 1 (0: exact) */
BT_OPTEST_RUNNER(run_act) {
    for (int64_t n : sizes) act_case((bt_nn_act)c->p[0], (int)c->p[1], n, c->p[2] != 0, c->tol);
}

/* p: slots, elements (-1: each of sizes) */
BT_OPTEST_RUNNER(run_dropout) {
    for (int64_t n : sizes) {
        if (c->p[1] >= 0 && n != sizes[0]) break;
        dropout_case((int)c->p[0], c->p[1] >= 0 ? c->p[1] : n);
    }
}

/* p: slots */
BT_OPTEST_RUNNER(run_residual) {
    for (int64_t n : sizes) residual_case((int)c->p[0], n);
}

/* p: slots, rows, pixels, channels */
BT_OPTEST_RUNNER(run_gap) {
    gap_case((int)c->p[0], (int)c->p[1], (int)c->p[2], (int)c->p[3]);
}

/* bad arguments are refused, not launched */
BT_OPTEST_RUNNER(run_args) {
    CHECK(bt_nn_act_fwd_cuda((bt_nn_act)3, 1, NULL, NULL, NULL) == BT_STATUS_BAD_INPUT);
    bt_status_clear();
}

static const bt_op_case cases[] = {
    {"relu, 3 slots, n 1 .. 200000", run_act, {BT_NN_ACT_RELU, 3, 0}, 0},
    {"relu in place, 2 slots, n 1 .. 200000", run_act, {BT_NN_ACT_RELU, 2, 1}, 0},
    {"tanh, 3 slots, n 1 .. 200000", run_act, {BT_NN_ACT_TANH, 3, 0}, 2e-6},
    {"tanh in place, 2 slots, n 1 .. 200000", run_act, {BT_NN_ACT_TANH, 2, 1}, 2e-6},
    {"gelu, 3 slots, n 1 .. 200000", run_act, {BT_NN_ACT_GELU, 3, 0}, 2e-6},
    {"gelu in place, 2 slots, n 1 .. 200000", run_act, {BT_NN_ACT_GELU, 2, 1}, 2e-6},
    {"dropout p 0 .. 0.9, 5 slots, n 1 .. 200000", run_dropout, {5, -1}, 0},
    {"dropout, 64 slots, n 4096", run_dropout, {64, 4096}, 0},
    {"residual add and backward, 3 slots, n 1 .. 200000", run_residual, {3}, 0},
    {"global avg pool: 1 slot, 1 row, 1 pixel, 1 channel", run_gap, {1, 1, 1, 1}, 0},
    {"global avg pool: 3 slots, 7 rows, 64 pixels, 16 channels", run_gap, {3, 7, 64, 16}, 0},
    {"global avg pool: 4 slots, 128 rows, 64 pixels, 64 channels", run_gap, {4, 128, 64, 64}, 0},
    {"global avg pool: 2 slots, 5 rows, 49 pixels, 3 channels", run_gap, {2, 5, 49, 3}, 0},
    {"bad arguments are refused", run_args, {0}, 0},
};
BT_OPTEST_SUITE(nn_act, cases);
