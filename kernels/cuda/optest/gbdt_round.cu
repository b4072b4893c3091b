/* Op table suite gbdt_round (kernels/optest.h): the kernels chained as one pack's first tree level
 * would chain them, against the same chain of C references (pack.c's slot_gradients, grow.c's
 * root level): squared-error gradients of several trials with their own margins -> per-tree
 * quantization -> Philox row sampling -> root histograms -> split evaluation with per-trial
 * parameters -> stable partition -> leaf adds. Buffers are laid out as a pack would hold them (one
 * pool per quantity, trial t at t * n), and every intermediate is compared exactly: the chain must
 * be bit-identical end to end. */
#include "kernels/cuda/optest/gbdt_optest.cuh"

extern "C" {
#include "kernels/gbdt_hist.h"
#include "kernels/gbdt_objective.h"
#include "kernels/gbdt_partition.h"
#include "kernels/gbdt_predict.h"
#include "kernels/gbdt_sample.h"
#include "kernels/gbdt_split.h"
#include "kernels/philox.h"
}

/* One level of n rows, F features and T trials: its inputs, what the reference chain makes of them
 * (host) and the device chain's buffers that its later stages read. */
struct round_case {
    int64_t n, HN;
    int32_t F;
    int T;
    uint64_t tree;
    /* shared data and the trials' settings */
    std::vector<int32_t> nb;
    std::vector<uint32_t> off, cut_ptr;
    std::vector<float> cuts, min_values, y, margin, eta;
    std::vector<uint8_t> bins;
    std::vector<bt_gbdt_split_param> params;
    std::vector<double> subsample;
    std::vector<uint64_t> key;
    /* the reference chain's results */
    std::vector<float> g, h, ref_margin;
    std::vector<bt_gbdt_gh> gh, hist, total;
    std::vector<int32_t> eg, eh, rows;
    std::vector<int64_t> m, n_left;
    std::vector<bt_gbdt_split> best;
    /* the device chain's */
    uint8_t *bins_d = NULL;
    float *margin_d = NULL;
    int32_t *rows_d = NULL;
    uint32_t *off_d = NULL, *cut_ptr_d = NULL;
    bt_gbdt_gh *hist_d = NULL;
    std::vector<int64_t> m_got;
    std::vector<void *> owned; /* device buffers, freed at the end */

    void make_data();
    void reference_chain();
    void device_front();
    void device_back();
};

/* shared data: uint8 bins with missing values, cuts, labels; per trial: margins, parameters,
 * sampling */
void round_case::make_data() {
    nb.assign(F, 0);
    off.assign(F + 1, 0);
    cut_ptr.assign(F + 1, 0);
    for (int32_t f = 0; f < F; f++) {
        nb[f] = 2 + (int32_t)irand(200);
        off[f + 1] = off[f] + (uint32_t)nb[f] + 1;
        cut_ptr[f + 1] = cut_ptr[f] + (uint32_t)nb[f];
    }
    cuts.assign(cut_ptr[F], 0.0f);
    min_values.assign(F, -1.0f);
    for (int32_t f = 0; f < F; f++)
        for (int32_t b = 0; b < nb[f]; b++) cuts[cut_ptr[f] + b] = (float)b + 0.5f;
    bins.assign((size_t)(n * F), 0);
    y.assign(n, 0.0f);
    for (int64_t r = 0; r < n; r++) {
        for (int32_t f = 0; f < F; f++)
            bins[(size_t)(r * F + f)] = (uint8_t)(urand() < 0.1 ? nb[f] : (int32_t)irand(nb[f]));
        y[r] = (float)(bins[(size_t)(r * F)] % 7) + (float)urand(); /* learnable from feature 0 */
    }
    HN = off[F];
    /* per trial: margins, parameters, sampling */
    margin.assign((size_t)(n * T), 0.0f);
    for (auto &v : margin) v = (float)(urand() * 2);
    params.assign(T, bt_gbdt_split_param());
    eta.assign(T, 0.0f);
    subsample.assign(T, 0.0);
    key.assign(T, 0);
    for (int t = 0; t < T; t++) {
        params[t].min_child_weight = (float)irand(3);
        params[t].lambda = (float)(urand() * 2);
        params[t].alpha = t % 2 ? 0.0f : (float)urand();
        eta[t] = (float)(0.1 + 0.2 * urand());
        subsample[t] = t % 3 == 0 ? 1.0 : 0.5 + 0.4 * urand();
        key[t] = bt_philox_key(12345, (uint64_t)t);
    }
    tree = 3; /* round 3, one class */
}

/* the host reference chain */
void round_case::reference_chain() {
    g.assign((size_t)(n * T), 0.0f);
    h.assign((size_t)(n * T), 0.0f);
    gh.assign((size_t)(n * T), bt_gbdt_gh());
    eg.assign(T, 0);
    eh.assign(T, 0);
    rows.assign((size_t)(n * T), 0);
    std::vector<int32_t> part_scratch(n + 1);
    m.assign(T, 0);
    n_left.assign(T, 0);
    hist.assign((size_t)(HN * T), bt_gbdt_gh());
    total.assign(T, bt_gbdt_gh());
    best.assign(T, bt_gbdt_split());
    ref_margin = margin;
    for (int t = 0; t < T; t++) {
        const size_t o = (size_t)t * n;
        bt_gbdt_grad_ref(BT_GBDT_OBJ_SQUARED, margin.data() + o, y.data(), n, 1, 1.0f, g.data() + o,
                         h.data() + o);
        double mg = 0, mh = 0;
        for (int64_t i = 0; i < n; i++) {
            mg = fmax(mg, fabs((double)g[o + i]));
            mh = fmax(mh, fabs((double)h[o + i]));
        }
        eg[t] = bt_gbdt_quant_exponent(mg, n);
        eh[t] = bt_gbdt_quant_exponent(mh, n);
        bt_gbdt_quantize_ref(g.data() + o, h.data() + o, n, eg[t], eh[t], gh.data() + o);
        m[t] = bt_gbdt_sample_rows_ref(key[t], tree, n, subsample[t], rows.data() + o);
        bt_gbdt_hist_ref(bins.data(), 1, F, off.data(), 0, F, rows.data() + o, m[t], gh.data() + o,
                         hist.data() + (size_t)t * HN);
        total[t].g = total[t].h = 0;
        for (int64_t i = 0; i < m[t]; i++) {
            total[t].g += gh[o + rows[o + i]].g;
            total[t].h += gh[o + rows[o + i]].h;
        }
        bt_gbdt_split_reset(&best[t]);
        const double gu = ldexp(1.0, -eg[t]), hu = ldexp(1.0, -eh[t]);
        const double H = (double)total[t].h * hu, mcw = params[t].min_child_weight;
        if (!(m[t] < 2 || H < 2.0 * mcw * (1.0 - 1e-9))) {
            float rg = bt_gbdt_gain(&params[t], (double)total[t].g * gu, H);
            for (int32_t f = 0; f < F; f++)
                bt_gbdt_split_scan_ref(hist.data() + (size_t)t * HN + off[f], NULL, nb[f],
                                       cuts.data() + cut_ptr[f], min_values[f], f, total[t], gu, hu,
                                       &params[t], rg, &best[t]);
        }
        n_left[t] = 0;
        if (best[t].feature >= 0) {
            const bt_gbdt_split &s = best[t];
            n_left[t] =
                bt_gbdt_partition_ref(rows.data() + o, m[t], bins.data(), 1, F, s.feature, s.bin,
                                      nb[s.feature], s.default_left, part_scratch.data());
            float vl =
                eta[t] * bt_gbdt_weight(&params[t], (double)s.left.g * gu, (double)s.left.h * hu);
            float vr =
                eta[t] * bt_gbdt_weight(&params[t], (double)s.right.g * gu, (double)s.right.h * hu);
            bt_gbdt_leaf_add_ref(rows.data() + o, n_left[t], vl, ref_margin.data() + o, 1, 0);
            bt_gbdt_leaf_add_ref(rows.data() + o + n_left[t], m[t] - n_left[t], vr,
                                 ref_margin.data() + o, 1, 0);
        }
    }
}

/* the device chain up to the root histograms */
void round_case::device_front() {
    bins_d = dev_from(bins);
    float *y_d = dev_from(y);
    margin_d = dev_from(margin);
    float *g_d = dev_zero<float>((size_t)(n * T)), *h_d = dev_zero<float>((size_t)(n * T));
    std::vector<bt_gbdt_grad_item> gi(T);
    std::vector<bt_gbdt_quant_item> qi(T);
    std::vector<bt_gbdt_sample_rows_item> si(T);
    for (int t = 0; t < T; t++) {
        gi[t] = {(int64_t)t * n, (int64_t)t * n, BT_GBDT_OBJ_SQUARED, 1, 1.0f};
        qi[t] = {(int64_t)t * n, n};
        si[t].key = key[t];
        si[t].tree = tree;
        si[t].subsample = subsample[t];
        si[t].out_offset = (int64_t)t * n;
    }
    bt_gbdt_grad_item *gi_d = dev_from(gi);
    CHECK_OK(bt_gbdt_grad_cuda(margin_d, y_d, n, g_d, h_d, gi_d, T, NULL));
    CHECK(host_from(g_d, g.size()) == g);
    CHECK(host_from(h_d, h.size()) == h);
    bt_gbdt_gh *gh_d = dev_zero<bt_gbdt_gh>(gh.size());
    bt_gbdt_quant_item *qi_d = dev_from(qi);
    int32_t *eg_d = dev_zero<int32_t>(T), *eh_d = dev_zero<int32_t>(T),
            *fin_d = dev_zero<int32_t>(T);
    void *qs = NULL;
    CUDA_OK(cudaMalloc(&qs, bt_gbdt_quantize_cuda_scratch_bytes(T)));
    CHECK_OK(bt_gbdt_quantize_cuda(g_d, h_d, gh_d, qi_d, T, eg_d, eh_d, fin_d, qs, NULL));
    CHECK(host_from(eg_d, T) == eg);
    CHECK(host_from(eh_d, T) == eh);
    std::vector<bt_gbdt_gh> gh_got = host_from(gh_d, gh.size());
    CHECK(same_bytes(gh_got.data(), gh.data(), gh.size() * sizeof(bt_gbdt_gh)));
    rows_d = dev_zero<int32_t>(rows.size());
    int64_t *m_d = dev_zero<int64_t>(T);
    bt_gbdt_sample_rows_item *si_d = dev_from(si);
    /* blocks per item as the pack picks them (several for 20000 rows) */
    const int32_t sbpi = bt_gbdt_chunk_blocks(n, T);
    int64_t *scnt_d = dev_zero<int64_t>((size_t)T * (size_t)sbpi);
    CHECK_OK(bt_gbdt_sample_rows_cuda(n, si_d, T, sbpi, scnt_d, rows_d, m_d, NULL));
    m_got = host_from(m_d, T);
    CHECK(m_got == m);
    {
        /* the sampled row lists, before the reference chain partitioned them */
        std::vector<int32_t> sampled = host_from(rows_d, rows.size());
        for (int t = 0; t < T && m_got[t] == m[t]; t++) {
            std::vector<int32_t> want((size_t)n + 1);
            bt_gbdt_sample_rows_ref(key[t], tree, n, subsample[t], want.data());
            CHECK(same_bytes(sampled.data() + (size_t)t * n, want.data(),
                             (size_t)m[t] * sizeof(int32_t)));
        }
    }
    /* root histograms (items from the device's sample counts, as a pack's planner would) */
    std::vector<bt_gbdt_hist_item> hi(T);
    for (int t = 0; t < T; t++) hi[t] = {(int64_t)t * n, m_got[t], (int64_t)t * n, (int64_t)t * HN};
    off_d = dev_from(off);
    cut_ptr_d = dev_from(cut_ptr);
    bt_gbdt_hist_item *hi_d = dev_from(hi);
    hist_d = dev_zero<bt_gbdt_gh>(hist.size());
    int32_t max_entries = 0;
    for (int32_t f = 0; f < F; f++) max_entries = max_entries > nb[f] + 1 ? max_entries : nb[f] + 1;
    CHECK_OK(bt_gbdt_hist_cuda(bins_d, 1, n, F, off_d, 0, F, max_entries, rows_d, gh_d, hist_d,
                               hi_d, T, 4, NULL));
    std::vector<bt_gbdt_gh> hist_got = host_from(hist_d, hist.size());
    CHECK(same_bytes(hist_got.data(), hist.data(), hist.size() * sizeof(bt_gbdt_gh)));
    void *ptrs[] = {y_d,  g_d,   h_d, gi_d, gh_d, qi_d,   eg_d,
                    eh_d, fin_d, qs,  m_d,  si_d, scnt_d, hi_d};
    owned.insert(owned.end(), ptrs, ptrs + sizeof ptrs / sizeof ptrs[0]);
}

/* the device chain from the splits to the leaf adds */
void round_case::device_back() {
    /* splits */
    std::vector<int32_t> feats(F);
    for (int32_t f = 0; f < F; f++) feats[f] = f;
    std::vector<bt_gbdt_split_item> spi(T);
    for (int t = 0; t < T; t++) {
        memset(&spi[t], 0, sizeof spi[t]);
        spi[t].hist_offset = (int64_t)t * HN;
        spi[t].total = total[t];
        spi[t].n_rows = m_got[t];
        spi[t].g_unit = ldexp(1.0, -eg[t]);
        spi[t].h_unit = ldexp(1.0, -eh[t]);
        spi[t].trial = t;
        spi[t].feats_begin = 0;
        spi[t].n_feats = F;
    }
    float *cuts_d = dev_from(cuts), *min_d = dev_from(min_values);
    int32_t *feats_d = dev_from(feats);
    bt_gbdt_split_param *params_d = dev_from(params);
    bt_gbdt_split_item *spi_d = dev_from(spi);
    void *ss = NULL;
    CUDA_OK(cudaMalloc(&ss, bt_gbdt_split_cuda_scratch_bytes(T)));
    bt_gbdt_split *best_d = dev_zero<bt_gbdt_split>(T);
    CHECK_OK(bt_gbdt_split_cuda(hist_d, off_d, cut_ptr_d, cuts_d, min_d, feats_d, params_d, spi_d,
                                T, ss, best_d, NULL));
    std::vector<bt_gbdt_split> best_got = host_from(best_d, T);
    for (int t = 0; t < T; t++)
        CHECK_MSG(best_got[t].feature == best[t].feature && best_got[t].bin == best[t].bin &&
                      best_got[t].default_left == best[t].default_left &&
                      best_got[t].loss_chg == best[t].loss_chg &&
                      best_got[t].left.g == best[t].left.g && best_got[t].left.h == best[t].left.h,
                  "trial %d: split f %d bin %d vs f %d bin %d", t, best_got[t].feature,
                  best_got[t].bin, best[t].feature, best[t].bin);
    /* partition and leaf values of the trials that split */
    std::vector<bt_gbdt_partition_item> pi;
    std::vector<int> pt;
    for (int t = 0; t < T; t++) {
        const bt_gbdt_split &s = best_got[t];
        if (s.feature < 0) continue;
        pi.push_back({(int64_t)t * n, m_got[t], s.feature, s.bin, nb[s.feature], s.default_left});
        pt.push_back(t);
    }
    int32_t *pscr_d = dev_zero<int32_t>(rows.size());
    bt_gbdt_partition_item *pi_d = dev_from(pi);
    int64_t *nl_d = dev_zero<int64_t>(pi.size());
    /* blocks per item as the pack picks them (several for 20000 rows) */
    const int32_t pbpi = bt_gbdt_chunk_blocks(n, (int64_t)pi.size());
    int64_t *pcnt_d = dev_zero<int64_t>(pi.size() * (size_t)pbpi);
    CHECK_OK(bt_gbdt_partition_cuda(rows_d, pscr_d, bins_d, 1, F, pi_d, (int32_t)pi.size(), pbpi,
                                    pcnt_d, nl_d, NULL));
    std::vector<int64_t> nl_got = host_from(nl_d, pi.size());
    std::vector<int32_t> rows_got = host_from(rows_d, rows.size());
    for (size_t i = 0; i < pi.size(); i++) {
        const int t = pt[i];
        CHECK_EQ_INT(nl_got[i], n_left[t]);
        CHECK(same_bytes(rows_got.data() + (size_t)t * n, rows.data() + (size_t)t * n,
                         (size_t)m[t] * sizeof(int32_t)));
    }
    std::vector<bt_gbdt_leaf_item> li;
    for (size_t i = 0; i < pi.size(); i++) {
        const int t = pt[i];
        const bt_gbdt_split &s = best_got[t];
        const double gu = spi[t].g_unit, hu = spi[t].h_unit;
        bt_gbdt_leaf_item a, b;
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        a.row_begin = (int64_t)t * n;
        a.n = nl_got[i];
        a.value = eta[t] * bt_gbdt_weight(&params[t], (double)s.left.g * gu, (double)s.left.h * hu);
        b.row_begin = a.row_begin + nl_got[i];
        b.n = m_got[t] - nl_got[i];
        b.value =
            eta[t] * bt_gbdt_weight(&params[t], (double)s.right.g * gu, (double)s.right.h * hu);
        a.margin_offset = b.margin_offset = (int64_t)t * n;
        a.stride = b.stride = 1;
        li.push_back(a);
        li.push_back(b);
    }
    bt_gbdt_leaf_item *li_d = dev_from(li);
    CHECK_OK(bt_gbdt_leaf_add_cuda(rows_d, margin_d, li_d, (int32_t)li.size(), NULL));
    std::vector<float> margin_got = host_from(margin_d, margin.size());
    CHECK_MSG(same_bytes(margin_got.data(), ref_margin.data(), margin.size() * sizeof(float)),
              "margins after the level differ (n %lld)", (long long)n);
    void *ptrs[] = {cuts_d, min_d,  feats_d, params_d, spi_d, ss,
                    best_d, pscr_d, pi_d,    nl_d,     li_d,  pcnt_d};
    owned.insert(owned.end(), ptrs, ptrs + sizeof ptrs / sizeof ptrs[0]);
}

static void run_case(int64_t n, int32_t F, int T) {
    round_case x;
    x.n = n;
    x.F = F;
    x.T = T;
    x.make_data();
    x.reference_chain();
    x.device_front();
    x.device_back();
    void *ptrs[] = {x.bins_d, x.margin_d, x.rows_d, x.off_d, x.cut_ptr_d, x.hist_d};
    for (void *p : ptrs) cudaFree(p);
    for (void *p : x.owned) cudaFree(p);
}

/* p: rows, features, trials */
BT_OPTEST_RUNNER(run) {
    run_case(c->p[0], (int32_t)c->p[1], (int)c->p[2]);
}

static const bt_op_case cases[] = {
    {"one level, 0 rows, 3 features, 3 trials", run, {0, 3, 3}, 0},
    {"one level, 1 row, 3 features, 3 trials", run, {1, 3, 3}, 0},
    {"one level, 257 rows, 5 features, 6 trials", run, {257, 5, 6}, 0},
    {"one level, 20000 rows, 8 features, 12 trials", run, {20000, 8, 12}, 0},
};
BT_OPTEST_SUITE(gbdt_round, cases);
