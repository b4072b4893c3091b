/* bt_nn_softmax_ce_cuda and bt_nn_mse_cuda against the C references on fresh random inputs,
 * outputs poisoned: 1..70 slots, 1..600 rows, 2..1000 classes (more classes than a warp has
 * lanes, and fewer), per-slot label smoothing 0 .. 0.3 (and a NULL smoothing array), logits up
 * to +-60 (the max subtraction), loss with and without gradients. Losses within 1e-5 relative
 * (float per-row terms summed in another order), gradients within 1e-4 normwise (p - y cancels:
 * few-class rows lose digits); MSE gradients bit-identical. */
#include "tests/cuda/gpu_test.h"
#include "tests/cuda/nn_test.h"

extern "C" {
#include "kernels/nn_mse.h"
#include "kernels/nn_softmax_ce.h"
}

static void ce_case(int S, int rows, int k, float big, bool smooth, bool grad) {
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
        nn_close_d(what, got[s], ref[s], 1e-5, 1e-7);
        if (!grad) continue;
        snprintf(what, sizeof what, "ce S %d rows %d k %d big %g slot %d dlogits", S, rows, k,
                 (double)big, s);
        nn_close(what, d.download(s).data(), d.h[s].data(), d.n, 1e-4, 1e-4);
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

static void mse_case(int S, int rows, bool grad) {
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
        nn_close_d("mse loss", got[s], ref[s], 1e-12, 1e-15);
        if (grad) nn_exact("mse dpred", d.download(s).data(), d.h[s].data(), d.n * sizeof(float));
    }
    cudaFree(dloss);
    p.release();
    t.release();
    d.release();
}

int main(void) {
    BT_GPU_TEST_REQUIRE_GPU();
    bt_gpu_test_seed("test_nn_loss");
    const int ks[] = {2, 3, 10, 31, 33, 100, 1000};
    const int rows[] = {1, 7, 128, 600};
    for (int k : ks)
        for (int r : rows) {
            ce_case(1 + (int)irand(6), r, k, 4.0f, true, true);
            ce_case(2, r, k, 60.0f, true, true);
        }
    ce_case(70, 64, 10, 5.0f, false, true);
    ce_case(3, 50, 10, 5.0f, true, false);
    for (int r : rows) {
        mse_case(1 + (int)irand(6), r, true);
        mse_case(2, r, false);
    }
    mse_case(70, 33, true);
    CHECK(bt_nn_softmax_ce_cuda(1, 1, 0, NULL, NULL, NULL, NULL, NULL, NULL) ==
          BT_STATUS_BAD_INPUT);
    return bt_test_finish("test_nn_loss");
}
