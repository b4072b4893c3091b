/* Op table suite gbdt_round_init (kernels/optest.h): bt_gbdt_round_init_cuda against
 * bt_gbdt_round_init_ref on fresh random inputs: 0, 1, 7, 100 and 3000 trees in slots of 1 to 4
 * trees (multiclass), exponents over and past the quantization's range, finite flags with some
 * slots non-finite in one tree only, sample counts 0, n, random and out of range, trees with and
 * without train and valid prediction items. Every output array (tree states, root split items, root
 * clear and build items, prediction items) must equal the reference byte for byte; then the
 * reference's meaning is checked on the host: units are ldexp(1, -e), a slot with a non-finite tree
 * grows nothing and predicts no rows, others grow their sampled rows and predict the n - m left
 * out. */
#include "kernels/cuda/optest/gbdt_optest.cuh"

extern "C" {
#include "kernels/gbdt_round_init.h"
}

static int32_t exponent(void) {
    const int64_t k = irand(8);
    return k == 0 ? 0 : k == 1 ? (int32_t)irand(2201) - 1100 : (int32_t)irand(121) - 20;
}

static void run_case(int32_t n_trees) {
    const int64_t n = 1 + irand(100000), T = 1 + irand(5000);
    /* the prologue's arrays: the launch's trees sit at an offset among more trees (later waves) */
    const int32_t first = (int32_t)irand(50);
    const int32_t n_items = first + n_trees + (int32_t)irand(10);
    std::vector<int32_t> eg((size_t)n_items + 1), eh((size_t)n_items + 1), fin((size_t)n_items + 1);
    std::vector<int64_t> nsm((size_t)n_items + 1);
    for (int32_t i = 0; i <= n_items; i++) {
        eg[(size_t)i] = exponent();
        eh[(size_t)i] = exponent();
        fin[(size_t)i] = irand(12) == 0 ? 0 : 1 + (int32_t)irand(3);
        const int64_t k = irand(8);
        nsm[(size_t)i] = k == 0   ? 0
                         : k == 1 ? n
                         : k == 2 ? -1 - irand(5)
                         : k == 3 ? n + 1 + irand(5)
                                  : irand(n + 1);
    }
    std::vector<bt_gbdt_round_init_tree> init((size_t)n_trees + 1);
    const int32_t n_pred = n_trees + 1;
    std::vector<bt_gbdt_epilogue_tree> et((size_t)n_trees + 1);
    for (int32_t j = 0; j < n_trees;) { /* slots of n_out consecutive trees */
        int32_t n_out = 1 + (int32_t)irand(4);
        if (n_out > n_trees - j) n_out = n_trees - j;
        for (int32_t k = 0; k < n_out; k++, j++) {
            bt_gbdt_round_init_tree &e = init[(size_t)j];
            memset(&e, 0, sizeof e);
            e.item = first + j;
            e.slot_first = first + j - k;
            e.n_out = n_out;
        }
    }
    garbage(et); /* each prediction item belongs to one tree at most (the pack's rule) */
    for (size_t i = 0; i < et.size(); i++) {
        et[i].pred_train = irand(3) == 0 ? -1 : (int32_t)i;
        et[i].pred_valid = irand(5) == 0 ? -1 : n_pred - 1 - (int32_t)i;
    }
    std::vector<bt_gbdt_apply_tree> trees((size_t)n_trees + 1);
    std::vector<bt_gbdt_apply_split_item> roots((size_t)n_trees + 1);
    std::vector<bt_gbdt_hist_zero_item> zero((size_t)n_trees + 1);
    std::vector<bt_gbdt_apply_build> build((size_t)n_trees + 1);
    std::vector<bt_gbdt_apply_pred> pt((size_t)n_pred), pv((size_t)n_pred);
    garbage(trees);
    garbage(roots);
    garbage(zero);
    garbage(build);
    garbage(pt);
    garbage(pv);
    const std::vector<bt_gbdt_apply_split_item> roots0 = roots;
    const std::vector<bt_gbdt_apply_pred> pv0 = pv;

    bt_gbdt_round_init_args d;
    memset(&d, 0, sizeof d);
    d.init = dev_from(init);
    d.eg = dev_from(eg);
    d.eh = dev_from(eh);
    d.finite = dev_from(fin);
    d.n_sampled = dev_from(nsm);
    d.n = n;
    d.T = T;
    d.trees = dev_from(trees);
    d.root_items = dev_from(roots);
    d.root_zero = dev_from(zero);
    d.root_build = dev_from(build);
    d.et = dev_from(et);
    d.pred_train = dev_from(pt);
    d.pred_valid = dev_from(pv);
    d.n_trees = n_trees;
    CHECK_OK(bt_gbdt_round_init_cuda(&d, NULL));

    bt_gbdt_round_init_args h = d;
    h.init = init.data();
    h.eg = eg.data();
    h.eh = eh.data();
    h.finite = fin.data();
    h.n_sampled = nsm.data();
    h.trees = trees.data();
    h.root_items = roots.data();
    h.root_zero = zero.data();
    h.root_build = build.data();
    h.et = et.data();
    h.pred_train = pt.data();
    h.pred_valid = pv.data();
    bt_gbdt_round_init_ref(&h);

#define SAME(vec, dp, what)                                                                        \
    do {                                                                                           \
        auto got_ = host_from(dp, vec.size());                                                     \
        CHECK_MSG(same_bytes(got_.data(), vec.data(), vec.size() * sizeof vec[0]), "%s: %d trees", \
                  what, n_trees);                                                                  \
    } while (0)
    SAME(trees, d.trees, "trees");
    SAME(roots, d.root_items, "root split items");
    SAME(zero, d.root_zero, "root clear items");
    SAME(build, d.root_build, "root build items");
    SAME(pt, d.pred_train, "train prediction items");
    SAME(pv, d.pred_valid, "valid prediction items");
#undef SAME

    /* what the reference means */
    int bad = 0;
    for (int32_t j = 0; j < n_trees; j++) {
        const bt_gbdt_round_init_tree &e = init[(size_t)j];
        int ok = 1;
        for (int32_t k = 0; k < e.n_out; k++) ok = ok && fin[(size_t)(e.slot_first + k)];
        int64_t m = nsm[(size_t)e.item] < 0 ? 0 : nsm[(size_t)e.item] > n ? n : nsm[(size_t)e.item];
        if (!ok) m = 0;
        const int32_t xg = eg[(size_t)e.item], xh = eh[(size_t)e.item];
        const bt_gbdt_apply_split_item &x = roots[(size_t)j];
        bad += trees[(size_t)j].g_unit != ldexp(1.0, xg > 1000 ? -1000 : xg < -1000 ? 1000 : -xg);
        bad += x.h_unit != ldexp(1.0, xh > 1000 ? -1000 : xh < -1000 ? 1000 : -xh);
        bad += x.n_rows != m || trees[(size_t)j].level_count != (m > 0);
        bad += x.n_feats != (m > 0 ? roots0[(size_t)j].n_feats : 0);
        bad += zero[(size_t)j].offset != x.hist_offset || zero[(size_t)j].n != (m > 0 ? T : 0);
        bad += build[(size_t)j].n_rows != m || build[(size_t)j].hist_offset != x.hist_offset ||
               build[(size_t)j].row_begin != trees[(size_t)j].seg;
        const bt_gbdt_epilogue_tree &p = et[(size_t)j];
        if (p.pred_train >= 0) bad += pt[(size_t)p.pred_train].n != (ok ? n - m : 0);
        if (p.pred_valid >= 0)
            bad += pv[(size_t)p.pred_valid].n != (ok ? pv0[(size_t)p.pred_valid].n : 0);
    }
    CHECK_EQ_INT(bad, 0);

    cudaFree((void *)d.init);
    cudaFree((void *)d.eg);
    cudaFree((void *)d.eh);
    cudaFree((void *)d.finite);
    cudaFree((void *)d.n_sampled);
    cudaFree(d.trees);
    cudaFree(d.root_items);
    cudaFree(d.root_zero);
    cudaFree(d.root_build);
    cudaFree((void *)d.et);
    cudaFree(d.pred_train);
    cudaFree(d.pred_valid);
}

/* p: trees (3 draws) */
BT_OPTEST_RUNNER(run) {
    for (int rep = 0; rep < 3; rep++) run_case((int32_t)c->p[0]);
}

/* the units over the whole exponent range */
BT_OPTEST_RUNNER(run_units) {
    for (int32_t e = -1000; e <= 1000; e++) CHECK(bt_gbdt_round_unit(e) == ldexp(1.0, -e));
}

/* bad arguments are refused, not launched */
BT_OPTEST_RUNNER(run_args) {
    bt_gbdt_round_init_args bad;
    memset(&bad, 0, sizeof bad);
    bad.n_trees = -1;
    CHECK(bt_gbdt_round_init_cuda(&bad, NULL) == BT_STATUS_BAD_INPUT);
    bt_status_clear();
}

static const bt_op_case cases[] = {
    {"0 trees, 3 draws", run, {0}, 0},
    {"1 tree, 3 draws", run, {1}, 0},
    {"7 trees in slots of 1 to 4 (multiclass), 3 draws", run, {7}, 0},
    {"100 trees in slots of 1 to 4 (multiclass), 3 draws", run, {100}, 0},
    {"3000 trees in slots of 1 to 4 (multiclass), 3 draws", run, {3000}, 0},
    {"units 2^-e for exponents -1000 to 1000", run_units, {0}, 0},
    {"bad arguments are refused", run_args, {0}, 0},
};
BT_OPTEST_SUITE(gbdt_round_init, cases);
