/* Op table suite nn_linear (kernels/optest.h): bt_nn_linear_fwd_cuda / bt_nn_linear_bwd_cuda
 * against the C references on fresh random inputs: 1..9 slots per launch, rows / in / out from 1
 * to a few hundred (odd sizes, a 1-wide layer), inputs with exact zeros (what relu leaves), with
 * and without dX, outputs poisoned first. Every element within tol x (the same product on
 * absolute values): strict FP32 5e-5 (float32 sums of a few hundred terms in another order), TF32
 * (the default) 2.5e-3 (both operands rounded to 11 significant bits: 2 x 2^-11 per product),
 * BF16 2e-2 (rounded to 8; METHOD.md's normwise tf32 ~3e-4 and bf16 1e-3 .. 1e-2 are what large
 * random products show). db is bit-identical in every mode. The math mode is set on the case's
 * own cuBLAS handle. */
#include "kernels/cuda/optest/nn_optest.cuh"

extern "C" {
#include "kernels/nn_linear.h"
}

/* tol: per element, relative to the sum of |terms| (nn_close_mag) */
static void run_case(bt_nn_blas *blas, bt_nn_math math, int S, int rows, int in, int out,
                     bool with_dx, double tol) {
    bt_nn_blas_set_math(blas, math);
    slot_buf<float> X, W, b, Y, dY, dX, dW, db;
    X.init(S, (size_t)rows * in);
    W.init(S, (size_t)in * out);
    b.init(S, (size_t)out);
    Y.init(S, (size_t)rows * out);
    dY.init(S, (size_t)rows * out);
    dX.init(S, (size_t)rows * in);
    dW.init(S, (size_t)in * out);
    db.init(S, (size_t)out);
    X.fill([] { return urand() < 0.3 ? 0.0f : frand(-2, 2); });
    W.fill([] { return frand(-1, 1); });
    b.fill([] { return frand(-1, 1); });
    dY.fill([] { return frand(-1, 1); });
    X.upload();
    W.upload();
    b.upload();
    dY.upload();
    Y.poison();
    dX.poison();
    dW.poison();
    db.poison();
    bt_nn_linear_fwd_ref(S, rows, in, out, X.crefp(), W.crefp(), b.crefp(), Y.refp());
    std::vector<float> scratch((size_t)in * out + 1);
    bt_nn_linear_bwd_ref(S, rows, in, out, X.crefp(), W.crefp(), dY.crefp(),
                         with_dx ? dX.refp() : NULL, dW.refp(), db.refp(), scratch.data());
    CHECK_OK(bt_nn_linear_fwd_cuda(blas, S, rows, in, out, X.cdev(), W.cdev(), b.cdev(), Y.dev()));
    CHECK_OK(bt_nn_linear_bwd_cuda(blas, S, rows, in, out, X.cdev(), W.cdev(), dY.cdev(),
                                   with_dx ? dX.dev() : NULL, dW.dev(), db.dev()));
    /* the scale of every output: the same products on absolute values */
    auto aX = abs_copy(X), aW = abs_copy(W), ab = abs_copy(b), adY = abs_copy(dY);
    std::vector<std::vector<float>> mY(S, std::vector<float>(Y.n + 1)), mdW = mY, mdX = mY;
    for (auto &v : mdW) v.resize(dW.n + 1);
    for (auto &v : mdX) v.resize(dX.n + 1);
    std::vector<float> mdb_scratch((size_t)out + 1);
    std::vector<std::vector<float>> mdb(S, std::vector<float>((size_t)out + 1));
    auto pX = ptrs_of(aX), pW = ptrs_of(aW), pb = ptrs_of(ab), pdY = ptrs_of(adY);
    auto pmY = ptrs_of(mY), pmdW = ptrs_of(mdW), pmdX = ptrs_of(mdX), pmdb = ptrs_of(mdb);
    bt_nn_linear_fwd_ref(S, rows, in, out, (const float *const *)pX.data(),
                         (const float *const *)pW.data(), (const float *const *)pb.data(),
                         pmY.data());
    bt_nn_linear_bwd_ref(S, rows, in, out, (const float *const *)pX.data(),
                         (const float *const *)pW.data(), (const float *const *)pdY.data(),
                         pmdX.data(), pmdW.data(), pmdb.data(), scratch.data());
    char what[160];
    for (int s = 0; s < S; s++) {
        snprintf(what, sizeof what, "math %d S %d rows %d in %d out %d slot %d", (int)math, S, rows,
                 in, out, s);
        std::string w(what);
        nn_close_mag((w + " Y").c_str(), Y.download(s).data(), Y.h[s].data(), mY[s].data(), Y.n,
                     tol);
        nn_close_mag((w + " dW").c_str(), dW.download(s).data(), dW.h[s].data(), mdW[s].data(),
                     dW.n, tol);
        std::vector<float> g = db.download(s);
        nn_exact((w + " db").c_str(), g.data(), db.h[s].data(), db.n * sizeof(float));
        if (with_dx)
            nn_close_mag((w + " dX").c_str(), dX.download(s).data(), dX.h[s].data(), mdX[s].data(),
                         dX.n, tol);
    }
    if (!with_dx) { /* dX untouched: still poison */
        std::vector<float> g = dX.download(0);
        bool all_nan = true;
        for (float v : g) all_nan = all_nan && isnan(v);
        CHECK_MSG(all_nan, "dX written although NULL was passed");
    }
    X.release();
    W.release();
    b.release();
    Y.release();
    dY.release();
    dX.release();
    dW.release();
    db.release();
}

/* slots, rows, in, out */
static const int shapes[][4] = {{1, 1, 1, 1},       {3, 7, 5, 3},   {5, 32, 64, 10},
                                {2, 128, 1, 257},   {4, 1, 300, 2}, {9, 200, 33, 17},
                                {1, 500, 784, 128}, {2, 0, 5, 3}};

/* p: math, dX; every shape */
BT_OPTEST_RUNNER(run) {
    bt_nn_blas *blas = NULL;
    CHECK_OK(bt_nn_blas_init(&blas, NULL));
    if (!blas) return;
    for (const auto &sh : shapes)
        run_case(blas, (bt_nn_math)c->p[0], sh[0], sh[1], sh[2], sh[3], c->p[1] != 0, c->tol);
    bt_nn_blas_free(blas);
}

/* random shapes, FP32 */
BT_OPTEST_RUNNER(run_random) {
    bt_nn_blas *blas = NULL;
    CHECK_OK(bt_nn_blas_init(&blas, NULL));
    if (!blas) return;
    for (int i = 0; i < 6; i++)
        run_case(blas, BT_NN_MATH_FP32, 1 + (int)irand(12), 1 + (int)irand(300),
                 1 + (int)irand(300), 1 + (int)irand(100), irand(2) == 0, c->tol);
    bt_nn_blas_free(blas);
}

/* a new handle takes the default mode; bad arguments are refused, not launched; mode names */
BT_OPTEST_RUNNER(run_args) {
    bt_nn_blas *blas = NULL;
    CHECK_OK(bt_nn_blas_init(&blas, NULL));
    if (!blas) return;
    CHECK(bt_nn_blas_math(blas) == bt_nn_blas_default_math());
    CHECK(bt_nn_linear_fwd_cuda(blas, -1, 1, 1, 1, NULL, NULL, NULL, NULL) == BT_STATUS_BAD_INPUT);
    bt_status_clear();
    CHECK(bt_nn_math_from_name("tf32") == BT_NN_MATH_TF32);
    CHECK(bt_nn_math_from_name("fp32") == BT_NN_MATH_FP32);
    CHECK(bt_nn_math_from_name("bf16") == BT_NN_MATH_BF16);
    CHECK(bt_nn_math_from_name("fp16") == -1);
    bt_nn_blas_free(blas);
    bt_nn_blas_free(NULL);
}

static const bt_op_case cases[] = {
    {"TF32, dX: 8 shapes, 1 .. 9 slots, up to 500 x 784 -> 128", run, {BT_NN_MATH_TF32, 1}, 2.5e-3},
    {"FP32, dX: 8 shapes, 1 .. 9 slots, up to 500 x 784 -> 128", run, {BT_NN_MATH_FP32, 1}, 5e-5},
    {"BF16, dX: 8 shapes, 1 .. 9 slots, up to 500 x 784 -> 128", run, {BT_NN_MATH_BF16, 1}, 2e-2},
    {"FP32, no dX (left untouched): 8 shapes", run, {BT_NN_MATH_FP32, 0}, 5e-5},
    {"FP32, 6 random shapes up to 12 slots, 300 x 300 -> 100", run_random, {0}, 5e-5},
    {"default mode, mode names, bad arguments are refused", run_args, {0}, 0},
};
BT_OPTEST_SUITE(nn_linear, cases);
