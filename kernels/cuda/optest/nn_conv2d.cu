/* Op table suite nn_conv2d (kernels/optest.h): bt_nn_conv2d_fwd_cuda / bt_nn_conv2d_bwd_cuda
 * against the C references on fresh random inputs, outputs poisoned: 3x3 and 1x1 kernels (and a
 * 5x5), stride 1 and 2, padding 0, 1, 2, odd image sizes, 1..6 slots, with and without bias, dX
 * and db; scratch for one slot at a time (groups of one) and for all slots at once; a 1x1
 * stride-1 convolution with no scratch at all (the direct path). Every element within tol x (the
 * same convolution on absolute values): strict FP32 5e-5, TF32 (the default) 2.5e-3, BF16 2e-2;
 * db within 5e-5 in all. TF32 and BF16 also run with every slot's column matrix in one scratch:
 * each must start 16-byte aligned, or cuBLAS faults (the emulation's mock too). The math mode is
 * set on the case's own cuBLAS handle. */
#include "kernels/cuda/optest/nn_optest.cuh"

extern "C" {
#include "kernels/nn_conv2d.h"
}

static void conv_case(bt_nn_blas *blas, bt_nn_math math, int S, bt_nn_conv2d_shape sh, bool bias,
                      bool with_dx, bool one_at_a_time, double tol /* of each element's scale */) {
    bt_nn_blas_set_math(blas, math);
    const int oh = bt_nn_conv2d_out_h(&sh), ow = bt_nn_conv2d_out_w(&sh);
    const size_t nx = (size_t)sh.rows * sh.h * sh.w * sh.c_in;
    const size_t ny = (size_t)sh.rows * oh * ow * sh.c_out;
    const size_t nw = (size_t)sh.k * sh.k * sh.c_in * sh.c_out;
    slot_buf<float> X, W, b, Y, dY, dX, dW, db;
    X.init(S, nx);
    W.init(S, nw);
    b.init(S, (size_t)sh.c_out);
    Y.init(S, ny);
    dY.init(S, ny);
    dX.init(S, nx);
    dW.init(S, nw);
    db.init(S, (size_t)sh.c_out);
    X.fill([] { return urand() < 0.3 ? 0.0f : frand(-1, 1); });
    W.fill([] { return frand(-0.5f, 0.5f); });
    b.fill([] { return frand(-1, 1); });
    dY.fill([] { return frand(-1, 1); });
    for (auto *p : {&X, &W, &b, &dY}) p->upload();
    for (auto *p : {&Y, &dX, &dW, &db}) p->poison();
    size_t bytes = bt_nn_conv2d_cuda_scratch_bytes(&sh, one_at_a_time ? 1 : S);
    void *scratch = NULL;
    if (bytes) CUDA_OK(cudaMalloc(&scratch, bytes));
    CHECK_OK(bt_nn_conv2d_fwd_cuda(blas, S, &sh, X.cdev(), W.cdev(), bias ? b.cdev() : NULL,
                                   Y.dev(), scratch, bytes));
    CHECK_OK(bt_nn_conv2d_bwd_cuda(blas, S, &sh, X.cdev(), W.cdev(), dY.cdev(),
                                   with_dx ? dX.dev() : NULL, dW.dev(), bias ? db.dev() : NULL,
                                   scratch, bytes));
    std::vector<float> rs(nw + 1);
    bt_nn_conv2d_fwd_ref(S, &sh, X.crefp(), W.crefp(), bias ? b.crefp() : NULL, Y.refp());
    bt_nn_conv2d_bwd_ref(S, &sh, X.crefp(), W.crefp(), dY.crefp(), with_dx ? dX.refp() : NULL,
                         dW.refp(), bias ? db.refp() : NULL, rs.data());
    /* the scale of every output: the same convolution on absolute values */
    auto aX = abs_copy(X), aW = abs_copy(W), ab = abs_copy(b), adY = abs_copy(dY);
    std::vector<std::vector<float>> mY(S, std::vector<float>(ny + 1)),
        mdW(S, std::vector<float>(nw + 1)), mdX(S, std::vector<float>(nx + 1)),
        mdb(S, std::vector<float>((size_t)sh.c_out + 1));
    auto pX = ptrs_of(aX), pW = ptrs_of(aW), pb = ptrs_of(ab), pdY = ptrs_of(adY);
    auto pmY = ptrs_of(mY), pmdW = ptrs_of(mdW), pmdX = ptrs_of(mdX), pmdb = ptrs_of(mdb);
    bt_nn_conv2d_fwd_ref(S, &sh, (const float *const *)pX.data(), (const float *const *)pW.data(),
                         bias ? (const float *const *)pb.data() : NULL, pmY.data());
    bt_nn_conv2d_bwd_ref(S, &sh, (const float *const *)pX.data(), (const float *const *)pW.data(),
                         (const float *const *)pdY.data(), pmdX.data(), pmdW.data(), pmdb.data(),
                         rs.data());
    char what[200];
    for (int s = 0; s < S; s++) {
        snprintf(what, sizeof what,
                 "conv math %d S %d rows %d %dx%dx%d->%d k %d stride %d pad %d bias %d dx %d "
                 "groups of %d slot %d",
                 (int)math, S, sh.rows, sh.h, sh.w, sh.c_in, sh.c_out, sh.k, sh.stride, sh.pad,
                 (int)bias, (int)with_dx, one_at_a_time ? 1 : S, s);
        std::string w(what);
        nn_close_mag((w + " Y").c_str(), Y.download(s).data(), Y.h[s].data(), mY[s].data(), ny,
                     tol);
        nn_close_mag((w + " dW").c_str(), dW.download(s).data(), dW.h[s].data(), mdW[s].data(), nw,
                     tol);
        if (with_dx)
            nn_close_mag((w + " dX").c_str(), dX.download(s).data(), dX.h[s].data(), mdX[s].data(),
                         nx, tol);
        if (bias) /* summed in double on the device: the reference's float rounding (the FP32
                   * bound, whatever the mode) */
            nn_close_mag((w + " db").c_str(), db.download(s).data(), db.h[s].data(), mdb[s].data(),
                         db.n, 5e-5);
    }
    /* too little scratch is refused, not overrun (no images: nothing to do, nothing refused) */
    if (bytes && sh.rows > 0)
        CHECK(bt_nn_conv2d_fwd_cuda(blas, S, &sh, X.cdev(), W.cdev(), NULL, Y.dev(), scratch,
                                    bytes / 2) == BT_STATUS_BAD_INPUT ||
              bytes / 2 >= bt_nn_conv2d_cuda_scratch_bytes(&sh, 1));
    cudaFree(scratch);
    for (auto *p : {&X, &W, &b, &Y, &dY, &dX, &dW, &db}) p->release();
}

/* rows, h, w, c_in, c_out, k, stride, pad */
static const bt_nn_conv2d_shape shapes[] = {
    {1, 1, 1, 1, 1, 1, 1, 0},   {2, 8, 8, 3, 16, 3, 1, 1},   {3, 9, 7, 5, 4, 3, 2, 1},
    {2, 8, 8, 16, 32, 1, 2, 0}, {4, 6, 6, 8, 8, 1, 1, 0},    {1, 5, 5, 2, 3, 3, 1, 0},
    {2, 11, 11, 4, 6, 5, 2, 2}, {8, 32, 32, 3, 16, 3, 1, 1}, {4, 16, 16, 16, 32, 3, 2, 1},
    {3, 7, 7, 9, 5, 3, 1, 2},   {0, 4, 4, 2, 2, 3, 1, 1}};

/* p: math, bias, dX, scratch for one slot at a time; every shape with 1 and 4 slots */
BT_OPTEST_RUNNER(run) {
    bt_nn_blas *blas = NULL;
    CHECK_OK(bt_nn_blas_init(&blas, NULL));
    if (!blas) return;
    for (const auto &sh : shapes)
        for (int S : {1, 4})
            conv_case(blas, (bt_nn_math)c->p[0], S, sh, c->p[1] != 0, c->p[2] != 0, c->p[3] != 0,
                      c->tol);
    bt_nn_blas_free(blas);
}

/* random shapes, FP32 */
BT_OPTEST_RUNNER(run_random) {
    bt_nn_blas *blas = NULL;
    CHECK_OK(bt_nn_blas_init(&blas, NULL));
    if (!blas) return;
    for (int i = 0; i < 8; i++) {
        bt_nn_conv2d_shape sh;
        sh.rows = 1 + (int)irand(6);
        sh.h = 1 + (int)irand(14);
        sh.w = 1 + (int)irand(14);
        sh.c_in = 1 + (int)irand(20);
        sh.c_out = 1 + (int)irand(20);
        sh.k = irand(2) ? 3 : 1;
        sh.stride = 1 + (int)irand(2);
        sh.pad = (int)irand(sh.k == 3 ? 3 : 1);
        if (bt_nn_conv2d_out_h(&sh) < 1 || bt_nn_conv2d_out_w(&sh) < 1) continue;
        conv_case(blas, BT_NN_MATH_FP32, 1 + (int)irand(6), sh, irand(2) == 0, irand(2) == 0,
                  irand(2) == 0, c->tol);
    }
    bt_nn_blas_free(blas);
}

static const bt_op_case cases[] = {
    {"FP32, bias, dX, scratch for all slots: 11 shapes x 1, 4 slots",
     run,
     {BT_NN_MATH_FP32, 1, 1, 0},
     5e-5},
    {"FP32, no bias, no dX, scratch per slot: 11 shapes x 1, 4 slots",
     run,
     {BT_NN_MATH_FP32, 0, 0, 1},
     5e-5},
    {"TF32, bias, dX, scratch per slot: 11 shapes x 1, 4 slots",
     run,
     {BT_NN_MATH_TF32, 1, 1, 1},
     2.5e-3},
    /* several slots' column matrices in one scratch: each must start 16-byte aligned */
    {"TF32, bias, dX, scratch for all slots: 11 shapes x 1, 4 slots",
     run,
     {BT_NN_MATH_TF32, 1, 1, 0},
     2.5e-3},
    {"BF16, bias, dX, scratch for all slots: 11 shapes x 1, 4 slots",
     run,
     {BT_NN_MATH_BF16, 1, 1, 0},
     2e-2},
    {"FP32, 8 random shapes (k 1, 3; stride 1, 2), 1 .. 6 slots", run_random, {0}, 5e-5},
};
BT_OPTEST_SUITE(nn_conv2d, cases);
