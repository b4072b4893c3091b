/* Op table suite gbdt_split (kernels/optest.h): bt_gbdt_split_cuda against models/gbdt/grow.c's
 * eval_node written with the C references (bt_gbdt_split_reset, the early exit, bt_gbdt_gain,
 * bt_gbdt_split_scan_ref per listed feature), on histograms built by bt_gbdt_hist_ref from fresh
 * random rows and quantized gradients. Several trials with their own lambda / alpha /
 * min_child_weight share a launch; a duplicated feature, empty bins and trials with few distinct
 * gradient values create exact loss ties (across features and between bins of one scan), which
 * must resolve as the reference does. Every field of every split is compared exactly (losses bit
 * for bit). */
#include "kernels/cuda/optest/optest.cuh"

extern "C" {
#include "kernels/gbdt_hist.h"
#include "kernels/gbdt_objective.h"
#include "kernels/gbdt_split.h"
}

static bool same_split(const bt_gbdt_split &a, const bt_gbdt_split &b) {
    return same_bytes(&a.loss_chg, &b.loss_chg, sizeof(float)) && a.feature == b.feature &&
           a.bin == b.bin && a.default_left == b.default_left &&
           same_bytes(&a.split_cond, &b.split_cond, sizeof(float)) && a.left.g == b.left.g &&
           a.left.h == b.left.h && a.right.g == b.right.g && a.right.h == b.right.h;
}

/* The reference: grow.c's eval_node, its histogram path, for every item. */
static void eval_nodes(const std::vector<bt_gbdt_split_item> &items,
                       const std::vector<int32_t> &feats,
                       const std::vector<bt_gbdt_split_param> &params,
                       const std::vector<bt_gbdt_gh> &hist, const std::vector<int32_t> &nb,
                       const std::vector<uint32_t> &off, const std::vector<uint32_t> &cut_ptr,
                       const std::vector<float> &cuts, const std::vector<float> &min_values,
                       std::vector<bt_gbdt_split> &ref) {
    for (size_t i = 0; i < items.size(); i++) {
        const bt_gbdt_split_item &it = items[i];
        const bt_gbdt_split_param &p = params[it.trial];
        bt_gbdt_split_reset(&ref[i]);
        const double H = (double)it.total.h * it.h_unit, mcw = p.min_child_weight;
        if (it.n_rows < 2 || H < 2.0 * mcw * (1.0 - 1e-9)) continue;
        float root_gain = bt_gbdt_gain(&p, (double)it.total.g * it.g_unit, H);
        for (int32_t fi = 0; fi < it.n_feats; fi++) {
            int32_t f = feats[it.feats_begin + fi];
            bt_gbdt_split_scan_ref(hist.data() + it.hist_offset + off[f], NULL, nb[f],
                                   cuts.data() + cut_ptr[f], min_values[f], f, it.total, it.g_unit,
                                   it.h_unit, &p, root_gain, &ref[i]);
        }
    }
}

static void run_case(int32_t max_bins, int64_t n, int32_t F, int n_trials, int nodes_per_trial,
                     double p_missing, bool discrete = false) {
    /* F - 1 random features plus a copy of feature 0 (ties across features) */
    std::vector<int32_t> nb(F);
    for (int32_t f = 0; f < F; f++) nb[f] = f == F - 1 ? nb[0] : 1 + (int32_t)irand(max_bins);
    if (F > 2) nb[1] = max_bins;
    std::vector<uint32_t> off(F + 1, 0), cut_ptr(F + 1, 0);
    for (int32_t f = 0; f < F; f++) {
        off[f + 1] = off[f] + (uint32_t)nb[f] + 1;
        cut_ptr[f + 1] = cut_ptr[f] + (uint32_t)nb[f];
    }
    std::vector<float> cuts(cut_ptr[F]), min_values(F);
    for (int32_t f = 0; f < F; f++) {
        float v = (float)(urand() * 10 - 5);
        min_values[f] = v - 1.0f;
        for (int32_t b = 0; b < nb[f]; b++) {
            v += (float)(0.01 + urand());
            cuts[cut_ptr[f] + b] = v;
        }
    }
    const int width = max_bins >= 256 ? 2 : 1;
    std::vector<uint16_t> bins((size_t)(n * F));
    for (int64_t r = 0; r < n; r++) {
        /* a skewed draw leaves many bins empty */
        for (int32_t f = 0; f < F - 1; f++) {
            double u = urand();
            bins[(size_t)(r * F + f)] =
                urand() < p_missing ? (uint16_t)nb[f] : (uint16_t)(u * u * nb[f]);
        }
        bins[(size_t)(r * F + F - 1)] = bins[(size_t)(r * F)];
    }
    std::vector<uint8_t> bins8;
    if (width == 1) {
        bins8.resize(bins.size());
        for (size_t i = 0; i < bins.size(); i++) bins8[i] = (uint8_t)bins[i];
    }
    const void *bins_h = width == 1 ? (const void *)bins8.data() : (const void *)bins.data();
    const int64_t HN = off[F];

    std::vector<bt_gbdt_split_param> params(n_trials);
    for (int t = 0; t < n_trials; t++) {
        const float mcws[] = {0.0f, 0.5f, 1.0f, 3.0f};
        params[t].min_child_weight = mcws[irand(4)];
        params[t].lambda = irand(3) == 0 ? 0.0f : (float)(urand() * 3);
        params[t].alpha = irand(2) == 0 ? 0.0f : (float)(urand() * 2);
    }
    std::vector<bt_gbdt_split_item> items;
    std::vector<int32_t> feats;
    std::vector<bt_gbdt_gh> hist;
    for (int t = 0; t < n_trials; t++) {
        /* the trial's float gradients, quantized as pack.c does */
        std::vector<float> g(n), h(n);
        double mg = 0, mh = 0;
        for (int64_t r = 0; r < n; r++) {
            if (discrete || t % 4 == 3) {
                /* few distinct values: sums repeat exactly, so different bins tie exactly --
                 * within one scan direction too */
                g[r] = t % 2 ? (float)(irand(3) - 1) : (float)(0.5 * (double)(irand(5) - 2));
                h[r] = t % 2 ? 1.0f : (float)(0.5 * (double)irand(3));
            } else {
                g[r] = (float)(urand() * 2 - 1 + (t % 2 ? 0.3 : 0.0));
                h[r] = (float)(t % 3 == 0 ? 1.0 : 0.05 + urand());
            }
            mg = fmax(mg, fabs((double)g[r]));
            mh = fmax(mh, fabs((double)h[r]));
        }
        const int32_t eg = bt_gbdt_quant_exponent(mg, n), eh = bt_gbdt_quant_exponent(mh, n);
        std::vector<bt_gbdt_gh> gh(n);
        if (n) bt_gbdt_quantize_ref(g.data(), h.data(), n, eg, eh, gh.data());
        /* nodes: consecutive segments of a shuffled row list; tiny ones included */
        std::vector<int32_t> R(n);
        for (int64_t r = 0; r < n; r++) R[r] = (int32_t)r;
        for (int64_t i = n - 1; i > 0; i--) {
            int64_t j = irand(i + 1);
            int32_t x = R[i];
            R[i] = R[j];
            R[j] = x;
        }
        int64_t beg = 0;
        for (int k = 0; k < nodes_per_trial; k++) {
            int64_t len = k == nodes_per_trial - 1 ? n - beg
                          : k == 0                 ? (n - beg < 1 ? n - beg : 1)
                                                   : irand(n - beg + 1);
            bt_gbdt_split_item it;
            memset(&it, 0, sizeof it);
            it.hist_offset = (int64_t)hist.size();
            hist.resize(hist.size() + (size_t)HN);
            memset(hist.data() + it.hist_offset, 0, (size_t)HN * sizeof(bt_gbdt_gh));
            if (len)
                bt_gbdt_hist_ref(bins_h, width, F, off.data(), 0, F, R.data() + beg, len, gh.data(),
                                 hist.data() + it.hist_offset);
            for (int64_t i = beg; i < beg + len; i++) {
                it.total.g += gh[R[i]].g;
                it.total.h += gh[R[i]].h;
            }
            it.n_rows = len;
            it.g_unit = ldexp(1.0, -eg);
            it.h_unit = ldexp(1.0, -eh);
            it.trial = t;
            /* candidate features: all, a random increasing subset, or none */
            it.feats_begin = (int32_t)feats.size();
            int mode = (int)irand(5);
            for (int32_t f = 0; f < F; f++)
                if (mode < 3 || (mode == 3 && urand() < 0.5)) feats.push_back(f);
            it.n_feats = (int32_t)feats.size() - it.feats_begin;
            items.push_back(it);
            beg += len;
        }
    }
    std::vector<bt_gbdt_split> ref(items.size());
    eval_nodes(items, feats, params, hist, nb, off, cut_ptr, cuts, min_values, ref);
    bt_gbdt_gh *hist_d = dev_from(hist);
    uint32_t *off_d = dev_from(off), *cut_ptr_d = dev_from(cut_ptr);
    float *cuts_d = dev_from(cuts), *min_d = dev_from(min_values);
    int32_t *feats_d = dev_from(feats);
    bt_gbdt_split_param *params_d = dev_from(params);
    bt_gbdt_split_item *items_d = dev_from(items);
    void *scratch = NULL;
    CUDA_OK(cudaMalloc(&scratch, bt_gbdt_split_cuda_scratch_bytes((int32_t)items.size())));
    bt_gbdt_split *out_d = dev_zero<bt_gbdt_split>(items.size());
    CHECK_OK(bt_gbdt_split_cuda(hist_d, off_d, cut_ptr_d, cuts_d, min_d, feats_d, params_d, items_d,
                                (int32_t)items.size(), scratch, out_d, NULL));
    std::vector<bt_gbdt_split> got = host_from(out_d, items.size());
    int n_bad = 0;
    char first[120] = "";
    for (size_t i = 0; i < items.size(); i++)
        if (!same_split(got[i], ref[i]) && n_bad++ == 0)
            snprintf(first, sizeof first,
                     "item %zu: f %d bin %d dl %d loss %.9g vs f %d bin %d"
                     " dl %d loss %.9g",
                     i, got[i].feature, got[i].bin, got[i].default_left, got[i].loss_chg,
                     ref[i].feature, ref[i].bin, ref[i].default_left, ref[i].loss_chg);
    CHECK_MSG(n_bad == 0, "%d of %zu splits differ (max_bins %d, n %lld, F %d), %s", n_bad,
              items.size(), max_bins, (long long)n, F, first);
    cudaFree(hist_d);
    cudaFree(off_d);
    cudaFree(cut_ptr_d);
    cudaFree(cuts_d);
    cudaFree(min_d);
    cudaFree(feats_d);
    cudaFree(params_d);
    cudaFree(items_d);
    cudaFree(scratch);
    cudaFree(out_d);
}

/* p: max bins, features, trials, nodes per trial, missing values (per mille); rows: each of 0,
 * 1, 2, 255, 257 and 3000 */
BT_OPTEST_RUNNER(run) {
    const int64_t sizes[] = {0, 1, 2, 255, 257, 3000};
    for (int64_t n : sizes)
        run_case((int32_t)c->p[0], n, (int32_t)c->p[1], (int)c->p[2], (int)c->p[3],
                 (double)c->p[4] / 1000);
}

/* several tiles per feature */
BT_OPTEST_RUNNER(run_tiles) {
    run_case(1000, 20000, 5, 6, 8, 0.05);
}

/* many small nodes of few distinct gradients: ties between bins of one scan */
BT_OPTEST_RUNNER(run_ties) {
    for (int rep = 0; rep < 100; rep++) run_case(6, 80, 4, 32, 16, 0.3, true);
}

static const bt_op_case cases[] = {
    {"uint8, no missing values (forward scan only), 0 to 3000 rows", run, {255, 6, 4, 5, 0}, 0},
    {"uint8, missing values (both scans), 0 to 3000 rows", run, {255, 6, 4, 5, 200}, 0},
    {"max_bin 512, uint16, tiles of the block scan, 0 to 3000 rows", run, {512, 4, 3, 4, 100}, 0},
    {"max_bin 256 + missing values: uint16, 0 to 3000 rows", run, {256, 5, 4, 4, 200}, 0},
    {"3 bins, 12 features: ties everywhere, 0 to 3000 rows", run, {3, 12, 5, 6, 300}, 0},
    {"1000 bins: several tiles per feature, 20000 rows", run_tiles, {0}, 0},
    {"ties within one scan: 100 x 32 trials x 16 small nodes", run_ties, {0}, 0},
};
BT_OPTEST_SUITE(gbdt_split, cases);
