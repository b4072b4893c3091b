/* Op table suite gbdt_objective (kernels/optest.h): bt_gbdt_grad_cuda and bt_gbdt_quantize_cuda
 * against the C references on fresh random margins: squared error, logistic and softmax (3 and 7
 * classes) trials share launches over 0, 1, 257 and 5000 rows. Gradients are floats: squared error
 * must match exactly (one subtraction); logistic and softmax use exp, which the device evaluates as
 * (float)exp((double)x) and glibc as expf -- equal for all but ~1e-4 of inputs, 1 ulp apart there.
 * Those gradients lie in [-1, 1] and are differences like p - 1 (cancellation), so they are
 * compared with the case's absolute tolerance, 1e-6 (16 ulp of 1.0); the worst difference is
 * reported. Quantization, given the same floats, must match exactly: exponents, int64 values, and
 * the divergence flag for a tree holding a NaN. */
#include "kernels/cuda/optest/optest.cuh"

extern "C" {
#include "kernels/gbdt_objective.h"
}

static bool close_abs(float a, float b, double tol) {
    return a == b || fabs((double)a - (double)b) <= tol;
}

/* The difference close_abs bounds (NaN where they differ by a NaN). */
static double abs_error(float a, float b) {
    return a == b ? 0 : fabs((double)a - (double)b);
}

static void run_grad(int64_t n, double tol) {
    /* trials: objective, classes, scale_pos_weight (rows labelled 1 weigh it) */
    const int32_t objs[] = {BT_GBDT_OBJ_SQUARED,  BT_GBDT_OBJ_LOGISTIC, BT_GBDT_OBJ_SOFTPROB,
                            BT_GBDT_OBJ_SOFTPROB, BT_GBDT_OBJ_LOGISTIC, BT_GBDT_OBJ_LOGISTIC,
                            BT_GBDT_OBJ_SQUARED};
    const int32_t ks[] = {1, 1, 3, 7, 1, 1, 1};
    const float spw[] = {1.0f, 1.0f, 1.0f, 2.5f, 1.0f, 3.7f, 0.3f};
    const int n_trials = 7;
    std::vector<bt_gbdt_grad_item> items(n_trials);
    int64_t moff = 0, goff = 0;
    for (int t = 0; t < n_trials; t++) {
        items[t].objective = objs[t];
        items[t].k_outputs = ks[t];
        items[t].scale_pos_weight = spw[t];
        items[t].margin_offset = moff;
        items[t].gh_offset = goff;
        moff += n * ks[t];
        goff += n * ks[t];
    }
    std::vector<float> margin((size_t)moff), y((size_t)n);
    for (auto &m : margin) m = (float)((urand() * 2 - 1) * (urand() < 0.1 ? 40 : 4));
    /* labels: integers below 3 (valid classes for every trial; regression uses them too) */
    for (auto &v : y) v = (float)irand(3);
    std::vector<float> gr((size_t)goff), hr((size_t)goff);
    for (int t = 0; t < n_trials; t++)
        bt_gbdt_grad_ref((bt_gbdt_objective)objs[t], margin.data() + items[t].margin_offset,
                         y.data(), n, ks[t], spw[t], gr.data() + items[t].gh_offset,
                         hr.data() + items[t].gh_offset);
    float *m_d = dev_from(margin), *y_d = dev_from(y);
    float *g_d = dev_zero<float>((size_t)goff), *h_d = dev_zero<float>((size_t)goff);
    bt_gbdt_grad_item *items_d = dev_from(items);
    CHECK_OK(bt_gbdt_grad_cuda(m_d, y_d, n, g_d, h_d, items_d, n_trials, NULL));
    std::vector<float> g = host_from(g_d, (size_t)goff), h = host_from(h_d, (size_t)goff);
    int64_t bad = 0;
    char first[120] = "";
    for (int t = 0; t < n_trials; t++)
        for (int64_t i = 0; i < n * ks[t]; i++) {
            size_t j = (size_t)(items[t].gh_offset + i);
            bool same = g[j] == gr[j] && h[j] == hr[j];
            bt_optest_error(abs_error(g[j], gr[j]));
            bt_optest_error(abs_error(h[j], hr[j]));
            if (objs[t] == BT_GBDT_OBJ_SQUARED
                    ? !same
                    : !(close_abs(g[j], gr[j], tol) && close_abs(h[j], hr[j], tol))) {
                if (bad++ == 0)
                    snprintf(first, sizeof first,
                             "trial %d entry %lld: g %.9g vs %.9g, h %.9g vs %.9g", t, (long long)i,
                             g[j], gr[j], h[j], hr[j]);
            }
        }
    CHECK_MSG(bad == 0, "%lld gradients differ (n %lld), first %s", (long long)bad, (long long)n,
              first);
    cudaFree(m_d);
    cudaFree(y_d);
    cudaFree(g_d);
    cudaFree(h_d);
    cudaFree(items_d);
}

static void run_quant(int64_t n) {
    const int n_items = 6;
    std::vector<bt_gbdt_quant_item> items(n_items);
    std::vector<float> g((size_t)(n * n_items)), h((size_t)(n * n_items));
    for (int i = 0; i < n_items; i++) {
        items[i].offset = (int64_t)i * n;
        items[i].n = i == 5 ? (n > 0 ? n - 1 : 0) : n; /* a shorter tree */
        double scale = ldexp(1.0, (int)irand(40) - 20);
        for (int64_t r = 0; r < n; r++) {
            g[(size_t)(i * n + r)] = (float)((urand() * 2 - 1) * scale);
            h[(size_t)(i * n + r)] = i == 1 ? 1.0f : (float)(urand() * scale);
        }
        if (i == 2) /* tiny values far below the maximum round to 0 */
            for (int64_t r = 0; r < n; r += 2) g[(size_t)(i * n + r)] = 1e-30f;
    }
    if (n > 0) g[(size_t)(3 * n + n / 2)] = NAN; /* tree 3 diverged */
    if (n > 0) h[(size_t)(4 * n)] = INFINITY;    /* tree 4 too */
    std::vector<bt_gbdt_gh> ref((size_t)(n * n_items));
    std::vector<int32_t> eg_r(n_items), eh_r(n_items), fin_r(n_items);
    for (int i = 0; i < n_items; i++) {
        double mg = 0, mh = 0;
        int ok = 1;
        for (int64_t r = 0; r < items[i].n; r++) {
            double ag = fabs((double)g[(size_t)(items[i].offset + r)]);
            double ah = fabs((double)h[(size_t)(items[i].offset + r)]);
            if (!(ag <= 1e300) || !(ah <= 1e300)) ok = 0;
            if (ag > mg) mg = ag;
            if (ah > mh) mh = ah;
        }
        fin_r[i] = ok;
        eg_r[i] = ok ? bt_gbdt_quant_exponent(mg, items[i].n) : 0;
        eh_r[i] = ok ? bt_gbdt_quant_exponent(mh, items[i].n) : 0;
        if (ok)
            bt_gbdt_quantize_ref(g.data() + items[i].offset, h.data() + items[i].offset, items[i].n,
                                 eg_r[i], eh_r[i], ref.data() + items[i].offset);
    }
    float *g_d = dev_from(g), *h_d = dev_from(h);
    bt_gbdt_gh *out_d = dev_zero<bt_gbdt_gh>(ref.size());
    bt_gbdt_quant_item *items_d = dev_from(items);
    int32_t *eg_d = dev_zero<int32_t>(n_items), *eh_d = dev_zero<int32_t>(n_items);
    int32_t *fin_d = dev_zero<int32_t>(n_items);
    void *scratch = NULL;
    CUDA_OK(cudaMalloc(&scratch, bt_gbdt_quantize_cuda_scratch_bytes(n_items)));
    CHECK_OK(
        bt_gbdt_quantize_cuda(g_d, h_d, out_d, items_d, n_items, eg_d, eh_d, fin_d, scratch, NULL));
    std::vector<bt_gbdt_gh> out = host_from(out_d, ref.size());
    CHECK(host_from(eg_d, n_items) == eg_r);
    CHECK(host_from(eh_d, n_items) == eh_r);
    CHECK(host_from(fin_d, n_items) == fin_r);
    CHECK_MSG(same_bytes(out.data(), ref.data(), ref.size() * sizeof(bt_gbdt_gh)),
              "quantized values differ (n %lld)", (long long)n);
    cudaFree(g_d);
    cudaFree(h_d);
    cudaFree(out_d);
    cudaFree(items_d);
    cudaFree(eg_d);
    cudaFree(eh_d);
    cudaFree(fin_d);
    cudaFree(scratch);
}

/* p: rows; tol: absolute, on the logistic and softmax gradients (squared error: exact) */
BT_OPTEST_RUNNER(run_grad_case) {
    run_grad(c->p[0], c->tol);
}

/* p: rows */
BT_OPTEST_RUNNER(run_quant_case) {
    run_quant(c->p[0]);
}

static const bt_op_case cases[] = {
    {"gradients: squared, logistic, softmax 3 / 7, 0 rows", run_grad_case, {0}, 1e-6},
    {"gradients: squared, logistic, softmax 3 / 7, 1 row", run_grad_case, {1}, 1e-6},
    {"gradients: squared, logistic, softmax 3 / 7, 257 rows", run_grad_case, {257}, 1e-6},
    {"gradients: squared, logistic, softmax 3 / 7, 5000 rows", run_grad_case, {5000}, 1e-6},
    {"quantization: 6 trees, a NaN and an inf, 0 rows", run_quant_case, {0}, 0},
    {"quantization: 6 trees, a NaN and an inf, 1 row", run_quant_case, {1}, 0},
    {"quantization: 6 trees, a NaN and an inf, 257 rows", run_quant_case, {257}, 0},
    {"quantization: 6 trees, a NaN and an inf, 5000 rows", run_quant_case, {5000}, 0},
};
BT_OPTEST_SUITE(gbdt_objective, cases);
