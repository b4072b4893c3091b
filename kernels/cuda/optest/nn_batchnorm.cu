/* Op table suite nn_batchnorm (kernels/optest.h): the batch-norm kernels against the C
 * references on fresh random inputs, outputs poisoned: 1..64 slots, rows 1 (variance 0), 2, 7,
 * 128, 3000 and a resnet-like 32768 x 16, channels 1, 3, 16, 33 (a partial tile), 64, 256; inputs
 * with an offset and scale per channel; running statistics updated from non-trivial values.
 * Training forward and backward within tol (1e-5) normwise (the double column sums are added in
 * another order, so the mean and variance may differ in their last bits), the per-channel
 * outputs (inv_std, running statistics, dgamma, dbeta) within tol / 10; evaluation forward
 * bit-identical. dx also computed in place (dx aliasing dy). */
#include "kernels/cuda/optest/nn_optest.cuh"

extern "C" {
#include "kernels/nn_batchnorm.h"
}

static void bn_case(int S, int rows, int c, double tol) {
    slot_buf<float> x, gam, bet, rm, rv, xh, is, y, dy, dx, dg, db, ye;
    x.init(S, (size_t)rows * c);
    gam.init(S, (size_t)c);
    bet.init(S, (size_t)c);
    rm.init(S, (size_t)c);
    rv.init(S, (size_t)c);
    xh.init(S, (size_t)rows * c);
    is.init(S, (size_t)c);
    y.init(S, (size_t)rows * c);
    ye.init(S, (size_t)rows * c);
    dy.init(S, (size_t)rows * c);
    dx.init(S, (size_t)rows * c);
    dg.init(S, (size_t)c);
    db.init(S, (size_t)c);
    std::vector<float> off((size_t)c), scl((size_t)c);
    for (int j = 0; j < c; j++) {
        off[j] = frand(-3, 3);
        scl[j] = frand(0.1f, 4);
    }
    for (int s = 0; s < S; s++)
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < c; j++) x.h[s][(size_t)r * c + j] = off[j] + scl[j] * frand(-1, 1);
    gam.fill([] { return frand(0.5f, 1.5f); });
    bet.fill([] { return frand(-0.5f, 0.5f); });
    rm.fill([] { return frand(-1, 1); });
    rv.fill([] { return frand(0.5f, 2); });
    dy.fill([] { return frand(-1, 1); });
    for (auto *b : {&x, &gam, &bet, &rm, &rv, &dy}) b->upload();
    for (auto *b : {&xh, &is, &y, &ye, &dx, &dg, &db}) b->poison();
    const float mom = 0.1f, eps = 1e-5f;
    /* eval first (it reads the running statistics the training pass then updates) */
    CHECK_OK(bt_nn_bn_eval_fwd_cuda(S, rows, c, eps, x.cdev(), gam.cdev(), bet.cdev(), rm.cdev(),
                                    rv.cdev(), ye.dev(), NULL));
    bt_nn_bn_eval_fwd_ref(S, rows, c, eps, x.crefp(), gam.crefp(), bet.crefp(), rm.crefp(),
                          rv.crefp(), ye.refp());
    CHECK_OK(bt_nn_bn_train_fwd_cuda(S, rows, c, mom, eps, x.cdev(), gam.cdev(), bet.cdev(),
                                     rm.dev(), rv.dev(), xh.dev(), is.dev(), y.dev(), NULL));
    bt_nn_bn_train_fwd_ref(S, rows, c, mom, eps, x.crefp(), gam.crefp(), bet.crefp(), rm.refp(),
                           rv.refp(), xh.refp(), is.refp(), y.refp());
    /* backward from the reference's own xhat and inv_std, so it is checked on its own */
    slot_buf<float> xh2, is2;
    xh2.init(S, xh.n);
    is2.init(S, is.n);
    xh2.h = xh.h;
    is2.h = is.h;
    xh2.upload();
    is2.upload();
    CHECK_OK(bt_nn_bn_bwd_cuda(S, rows, c, xh2.cdev(), is2.cdev(), gam.cdev(), dy.cdev(), dx.dev(),
                               dg.dev(), db.dev(), NULL));
    /* and in place: dx aliasing dy (a copy of dy) */
    slot_buf<float> dyi;
    dyi.init(S, dy.n);
    dyi.h = dy.h;
    dyi.upload();
    slot_buf<float> dgi, dbi;
    dgi.init(S, (size_t)c);
    dbi.init(S, (size_t)c);
    CHECK_OK(bt_nn_bn_bwd_cuda(S, rows, c, xh2.cdev(), is2.cdev(), gam.cdev(), dyi.cdev(),
                               dyi.dev(), dgi.dev(), dbi.dev(), NULL));
    bt_nn_bn_bwd_ref(S, rows, c, xh.crefp(), is.crefp(), gam.crefp(), dy.crefp(), dx.refp(),
                     dg.refp(), db.refp());
    char what[128];
    for (int s = 0; s < S; s++) {
        snprintf(what, sizeof what, "bn S %d rows %d c %d slot %d", S, rows, c, s);
        std::string w(what);
        nn_exact((w + " eval y").c_str(), ye.download(s).data(), ye.h[s].data(),
                 ye.n * sizeof(float));
        nn_close((w + " y").c_str(), y.download(s).data(), y.h[s].data(), y.n, tol, tol);
        nn_close((w + " xhat").c_str(), xh.download(s).data(), xh.h[s].data(), xh.n, tol, tol);
        nn_close((w + " inv_std").c_str(), is.download(s).data(), is.h[s].data(), is.n, tol / 10,
                 tol / 10);
        nn_close((w + " run_mean").c_str(), rm.download(s).data(), rm.h[s].data(), rm.n, tol / 10,
                 tol / 10);
        nn_close((w + " run_var").c_str(), rv.download(s).data(), rv.h[s].data(), rv.n, tol / 10,
                 tol / 10);
        nn_close((w + " dx").c_str(), dx.download(s).data(), dx.h[s].data(), dx.n, tol, tol);
        nn_close((w + " dgamma").c_str(), dg.download(s).data(), dg.h[s].data(), dg.n, tol / 10,
                 tol / 10);
        nn_close((w + " dbeta").c_str(), db.download(s).data(), db.h[s].data(), db.n, tol / 10,
                 tol / 10);
        nn_close((w + " dx in place").c_str(), dyi.download(s).data(), dx.h[s].data(), dx.n, tol,
                 tol);
        nn_close((w + " dgamma in place").c_str(), dgi.download(s).data(), dg.h[s].data(), dg.n,
                 tol / 10, tol / 10);
    }
    for (auto *b : {&x, &gam, &bet, &rm, &rv, &xh, &is, &y, &dy, &dx, &dg, &db, &ye, &xh2, &is2,
                    &dyi, &dgi, &dbi})
        b->release();
}

/* p: rows, slots (0: 1 .. 5 at random per channel count), channels (-1: each of 1, 3, 16, 33,
 * 64, 256) */
BT_OPTEST_RUNNER(run) {
    const int cs[] = {1, 3, 16, 33, 64, 256};
    for (int ch : cs) {
        if (c->p[2] >= 0 && ch != cs[0]) break;
        bn_case(c->p[1] > 0 ? (int)c->p[1] : 1 + (int)irand(5), (int)c->p[0],
                c->p[2] >= 0 ? (int)c->p[2] : ch, c->tol);
    }
}

/* bad arguments are refused, not launched */
BT_OPTEST_RUNNER(run_args) {
    CHECK(bt_nn_bn_bwd_cuda(1, 0, 4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL) ==
          BT_STATUS_BAD_INPUT);
    bt_status_clear();
}

static const bt_op_case cases[] = {
    {"1 row (variance 0), 1 .. 5 slots, 1 .. 256 channels", run, {1, 0, -1}, 1e-5},
    {"2 rows, 1 .. 5 slots, 1 .. 256 channels", run, {2, 0, -1}, 1e-5},
    {"7 rows, 1 .. 5 slots, 1 .. 256 channels", run, {7, 0, -1}, 1e-5},
    {"128 rows, 1 .. 5 slots, 1 .. 256 channels", run, {128, 0, -1}, 1e-5},
    {"3000 rows, 1 .. 5 slots, 1 .. 256 channels", run, {3000, 0, -1}, 1e-5},
    {"64 slots, 128 rows, 32 channels", run, {128, 64, 32}, 1e-5},
    {"resnet-like: 2 slots, 32768 rows, 16 channels", run, {32768, 2, 16}, 1e-5},
    {"bad arguments are refused", run_args, {0}, 0},
};
BT_OPTEST_SUITE(nn_batchnorm, cases);
