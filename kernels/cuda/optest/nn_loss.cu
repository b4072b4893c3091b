/* Op table suite nn_loss (kernels/optest.h): bt_nn_softmax_ce_cuda and bt_nn_mse_cuda against
 * the C references on fresh random inputs, outputs poisoned: 1..70 slots, 1..600 rows, 2..1000
 * classes (more classes than a warp has lanes, and fewer), per-slot label smoothing 0 .. 0.3 (and
 * a NULL smoothing array), logits up to +-60 (the max subtraction), loss with and without
 * gradients. Cross-entropy gradients within tol (1e-4) normwise (p - y cancels: few-class rows
 * lose digits), its losses within tol / 10 relative (float per-row terms summed in another
 * order); MSE losses within tol (1e-12) relative, MSE gradients bit-identical. */
#include <float.h>

#include "kernels/cuda/optest/nn_optest.cuh"

extern "C" {
#include "kernels/nn_mse.h"
#include "kernels/nn_softmax_ce.h"
}

/* tol: the gradients' normwise bound; the loss is within tol / 10 relative (+ tol / 1000 times
 * the logits' magnitude, at least 1) */
static void ce_case(int S, int rows, int k, float big, bool smooth, bool grad, double tol) {
    slot_buf<float> z, d;
    slot_buf<int32_t> y;
    z.init(S, (size_t)rows * k);
    d.init(S, (size_t)rows * k);
    y.init(S, (size_t)rows);
    z.fill([big] { return frand(-big, big); });
    y.fill([k] { return (int32_t)irand(k); });
    z.upload();
    y.upload();
    d.poison();
    std::vector<float> eps((size_t)S);
    for (auto &e : eps) e = urand() < 0.3 ? 0.0f : frand(0, 0.3f);
    float *deps = dev_from(eps);
    double *dloss = dev_zero<double>((size_t)S);
    CUDA_OK(cudaMemset(dloss, 0xFF, (size_t)S * sizeof(double)));
    CHECK_OK(bt_nn_softmax_ce_cuda(S, rows, k, z.cdev(), y.cdev(), smooth ? deps : NULL, dloss,
                                   grad ? d.dev() : NULL, NULL));
    std::vector<double> ref((size_t)S);
    bt_nn_softmax_ce_ref(S, rows, k, z.crefp(), y.crefp(), smooth ? eps.data() : NULL, ref.data(),
                         grad ? d.refp() : NULL);
    std::vector<double> got = host_from(dloss, (size_t)S);
    char what[128];
    for (int s = 0; s < S; s++) {
        snprintf(what, sizeof what, "ce S %d rows %d k %d big %g smooth %d slot %d loss", S, rows,
                 k, (double)big, (int)smooth, s);
        /* a row's loss is log-sum-exp(z) - z_y in float: an absolute error of a few ulps of the
         * logits' magnitude however small the loss (logits +-60, a confident row: 1e-7 of 3e-6) */
        nn_close_d(what, got[s], ref[s], tol / 10, tol / 1000 * fmax(1.0, (double)big));
        if (!grad) continue;
        snprintf(what, sizeof what, "ce S %d rows %d k %d big %g slot %d dlogits", S, rows, k,
                 (double)big, s);
        /* (p - y) / rows in float: a few ulps of 1 / rows whatever the cancellation */
        nn_close_floor(what, d.download(s).data(), d.h[s].data(), d.n, tol, tol,
                       4.0 * FLT_EPSILON / rows);
    }
    if (!grad) {
        std::vector<float> g = d.download(0);
        bool all_nan = true;
        for (float v : g) all_nan = all_nan && isnan(v);
        CHECK_MSG(all_nan, "dlogits written although NULL was passed");
    }
    cudaFree(deps);
    cudaFree(dloss);
    z.release();
    d.release();
    y.release();
}

/* tol: the loss's relative bound (+ tol / 1000); the gradient is exact */
static void mse_case(int S, int rows, bool grad, double tol) {
    slot_buf<float> p, t, d;
    p.init(S, (size_t)rows);
    t.init(S, (size_t)rows);
    d.init(S, (size_t)rows);
    p.fill([] { return frand(-3, 3); });
    t.fill([] { return frand(-3, 3); });
    p.upload();
    t.upload();
    d.poison();
    double *dloss = dev_zero<double>((size_t)S);
    CUDA_OK(cudaMemset(dloss, 0xFF, (size_t)S * sizeof(double)));
    CHECK_OK(bt_nn_mse_cuda(S, rows, p.cdev(), t.cdev(), dloss, grad ? d.dev() : NULL, NULL));
    std::vector<double> ref((size_t)S);
    bt_nn_mse_ref(S, rows, p.crefp(), t.crefp(), ref.data(), grad ? d.refp() : NULL);
    std::vector<double> got = host_from(dloss, (size_t)S);
    for (int s = 0; s < S; s++) {
        nn_close_d("mse loss", got[s], ref[s], tol, tol / 1000);
        if (grad) nn_exact("mse dpred", d.download(s).data(), d.h[s].data(), d.n * sizeof(float));
    }
    cudaFree(dloss);
    p.release();
    t.release();
    d.release();
}

static const int ks[] = {2, 3, 10, 31, 33, 100, 1000};
static const int rows_all[] = {1, 7, 128, 600};

/* p: slots (0: 1 .. 6 at random per shape), logit range, smoothing, gradients, rows and classes
 * (-1, -1: each of rows_all x ks) */
BT_OPTEST_RUNNER(run_ce) {
    const float big = (float)c->p[1];
    const bool smooth = c->p[2] != 0, grad = c->p[3] != 0;
    if (c->p[4] >= 0) {
        ce_case((int)c->p[0], (int)c->p[4], (int)c->p[5], big, smooth, grad, c->tol);
        return;
    }
    for (int k : ks)
        for (int r : rows_all)
            ce_case(c->p[0] > 0 ? (int)c->p[0] : 1 + (int)irand(6), r, k, big, smooth, grad,
                    c->tol);
}

/* p: slots (0: 1 .. 6 at random per row count), gradients, rows (-1: each of rows_all) */
BT_OPTEST_RUNNER(run_mse) {
    for (int r : rows_all) {
        if (c->p[2] >= 0 && r != rows_all[0]) break;
        mse_case(c->p[0] > 0 ? (int)c->p[0] : 1 + (int)irand(6), c->p[2] >= 0 ? (int)c->p[2] : r,
                 c->p[1] != 0, c->tol);
    }
}

/* bad arguments are refused, not launched */
BT_OPTEST_RUNNER(run_args) {
    CHECK(bt_nn_softmax_ce_cuda(1, 1, 0, NULL, NULL, NULL, NULL, NULL, NULL) ==
          BT_STATUS_BAD_INPUT);
    bt_status_clear();
}

static const bt_op_case cases[] = {
    {"ce, logits +-4, 1 .. 6 slots: 2 .. 1000 classes, 1 .. 600 rows",
     run_ce,
     {0, 4, 1, 1, -1, -1},
     1e-4},
    {"ce, logits +-60, 2 slots: 2 .. 1000 classes, 1 .. 600 rows",
     run_ce,
     {2, 60, 1, 1, -1, -1},
     1e-4},
    {"ce, no smoothing array: 70 slots, 64 rows, 10 classes", run_ce, {70, 5, 0, 1, 64, 10}, 1e-4},
    {"ce, loss only: 3 slots, 50 rows, 10 classes", run_ce, {3, 5, 1, 0, 50, 10}, 1e-4},
    {"mse, 1 .. 6 slots, 1 .. 600 rows", run_mse, {0, 1, -1}, 1e-12},
    {"mse, loss only: 2 slots, 1 .. 600 rows", run_mse, {2, 0, -1}, 1e-12},
    {"mse, 70 slots, 33 rows", run_mse, {70, 1, 33}, 1e-12},
    {"bad arguments are refused", run_args, {0}, 0},
};
BT_OPTEST_SUITE(nn_loss, cases);
