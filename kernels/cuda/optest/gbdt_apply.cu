/* Op table suite gbdt_apply (kernels/optest.h): bt_gbdt_apply_cuda against bt_gbdt_apply_ref on
 * fresh random inputs: 0, 1, 7, 100 and 3000 trees at depths 0 to 6, random splits (no feature, a
 * feature out of range, losses around 1e-6 and gamma, empty children), per-trial
 * lambda/alpha/min_child_weight/eta/gamma/max_depth, node capacities sometimes too small,
 * free-histogram stacks sometimes empty or full, previous pairs with padding and left counts in
 * and out of range. Every output array (trees, nodes, sums, row ranges, histogram offsets, stacks,
 * partition items, next pairs, next split items) must equal the reference byte for byte -- node
 * weights included, which an FMA would change. The roots' sums (bt_gbdt_root_sum_cuda) and the
 * epilogue items made from the resulting nodes (bt_gbdt_epilogue_items_cuda) likewise. */
#include "kernels/cuda/optest/gbdt_optest.cuh"

extern "C" {
#include "kernels/gbdt_apply.h"
}

static int64_t big(void) {
    int64_t m = (int64_t)1 << (int)irand(50);
    return (int64_t)(rnd_u64() % (uint64_t)m) * (irand(2) ? 1 : -1);
}

/* One launch's random inputs, on the host (the reference updates them in place). */
struct apply_inputs {
    int32_t n_trees, depth, F, levels;
    bool roots;
    std::vector<bt_gbdt_rules> rules;
    std::vector<int32_t> missing, n_feats;
    std::vector<bt_gbdt_apply_tree> trees;
    std::vector<bt_gbdt_node> nodes;
    std::vector<bt_gbdt_apply_split_item> root_items, snext;
    std::vector<bt_gbdt_gh> sum;
    std::vector<int64_t> beg, cnt, hoff, stack, n_left;
    std::vector<bt_gbdt_level_pair> prev, next;
    std::vector<bt_gbdt_split> splits;
    std::vector<bt_gbdt_apply_part> part;
};

static void make_inputs(apply_inputs &a, int32_t n_trees, int32_t depth) {
    const int64_t W = (int64_t)1 << depth;
    const int32_t F = 1 + (int32_t)irand(40);
    const int64_t T = 1 + irand(3000);
    const int32_t n_rules = 1 + (int32_t)irand(9);
    std::vector<bt_gbdt_rules> rules((size_t)n_rules);
    for (auto &r : rules) {
        memset(&r, 0, sizeof r);
        const float mcw[] = {0.0f, 0.5f, 1.0f, 3.0f};
        r.sp.min_child_weight = mcw[irand(4)];
        r.sp.lambda = irand(4) == 0 ? 0.0f : (float)(urand() * 5);
        r.sp.alpha = irand(3) == 0 ? 0.0f : (float)(urand() * 2);
        r.eta = (float)(0.01 + urand());
        r.gamma = irand(3) == 0 ? 0.0f : (float)(urand() * 1e-3);
        r.max_depth = depth + (int32_t)irand(4); /* depth itself: nothing taken */
    }
    std::vector<int32_t> missing((size_t)F);
    for (auto &m : missing) m = (int32_t)irand(300);
    std::vector<bt_gbdt_apply_tree> trees((size_t)n_trees);
    int64_t n_nodes_all = 0, n_stack = 0;
    const int64_t n_left_len = n_trees * W + 1; /* also the finishing launch's places */
    for (auto &t : trees) {
        memset(&t, 0, sizeof t);
        t.seg = irand(1000) * 4096;
        t.g_unit = ldexp(1.0, -(int)irand(60));
        t.h_unit = ldexp(1.0, -(int)irand(60));
        t.rules = (int32_t)irand(n_rules);
        t.trial = (int32_t)irand(500);
        t.level_count = depth == 0 ? (int32_t)(irand(5) != 0) : 2 * (int32_t)irand(W / 2 + 1);
        t.level_begin = depth == 0 ? 0 : 1 + (int32_t)irand(50);
        t.n_nodes = t.level_begin + t.level_count;
        /* room for every child, sometimes less */
        t.cap = t.n_nodes + 2 * t.level_count - (irand(5) == 0 ? (int32_t)irand(3) : 0);
        if (t.cap < t.n_nodes) t.cap = t.n_nodes;
        t.node_base = (int32_t)n_nodes_all;
        n_nodes_all += t.cap;
        t.feats_begin = (int32_t)irand(10000);
        /* a pending level (depth > 0): node ids below level_begin */
        t.applied_count = depth > 0 ? (int32_t)irand(W / 2 + 1) : 0;
        t.applied_begin = t.level_begin - t.applied_count;
        if (t.applied_begin < 0) t.applied_begin = 0, t.applied_count = t.level_begin;
        t.stack_cap = (int32_t)(W + irand(3));
        t.n_free = (int32_t)irand(t.stack_cap + 1);
        t.stack_base = n_stack;
        n_stack += t.stack_cap;
        t.error = irand(10) == 0 ? BT_GBDT_APPLY_RANGE : 0;
    }
    std::vector<bt_gbdt_node> nodes((size_t)n_nodes_all + 1);
    garbage(nodes);
    /* pending splits point at children inside their tree (or are leaves); level nodes are
     * leaves, as the previous launch made them */
    for (const auto &t : trees) {
        for (int32_t i = 0; i < t.level_count; i++)
            nodes[(size_t)(t.node_base + t.level_begin + i)].left =
                nodes[(size_t)(t.node_base + t.level_begin + i)].right = -1;
        for (int32_t i = 0; i < t.applied_count; i++) {
            bt_gbdt_node &nd = nodes[(size_t)(t.node_base + t.applied_begin + i)];
            nd.left = irand(3) == 0 ? -1 : (int32_t)irand(t.cap);
            nd.right = (int32_t)irand(t.cap);
        }
    }
    const int32_t levels = depth + 1 + (int32_t)irand(3);
    std::vector<int32_t> n_feats((size_t)n_trees * (size_t)levels + 1);
    for (auto &x : n_feats) x = (int32_t)irand(F + 1);
    const bool roots = depth == 0 && irand(2);
    std::vector<bt_gbdt_apply_split_item> root_items((size_t)n_trees + 1);
    for (auto &x : root_items) {
        memset(&x, 0, sizeof x);
        x.total.g = big();
        x.total.h = llabs(big());
        x.n_rows = irand(4) == 0 ? 0 : irand(100000);
        x.hist_offset = irand(1000) * T;
    }
    std::vector<bt_gbdt_gh> sum((size_t)n_nodes_all + 1);
    for (auto &s : sum) {
        s.g = big();
        s.h = llabs(big());
    }
    std::vector<int64_t> beg((size_t)n_nodes_all + 1), cnt((size_t)n_nodes_all + 1),
        hoff((size_t)n_nodes_all + 1);
    for (size_t i = 0; i < beg.size(); i++) {
        beg[i] = irand(100000);
        cnt[i] = irand(4) == 0 ? irand(3) : irand(100000);
        hoff[i] = irand(8) == 0 ? -1 : irand(1000) * T;
    }
    std::vector<int64_t> stack((size_t)n_stack + 1);
    for (auto &x : stack) x = irand(1000) * T;
    std::vector<bt_gbdt_level_pair> prev((size_t)(n_trees * (W / 2) + 1));
    for (auto &q : prev) {
        memset(&q, 0, sizeof q);
        q.seg = irand(1000) * 4096;
        q.parent_begin = irand(100000);
        q.parent_rows = irand(4) == 0 ? irand(3) : irand(100000);
        q.parent_hist = irand(1000) * T;
        q.new_hist = irand(1000) * T;
        q.part = irand(10) == 0 ? -1 : (int32_t)irand(n_left_len);
    }
    std::vector<int64_t> n_left((size_t)n_left_len);
    for (auto &x : n_left) {
        int64_t k = irand(5);
        x = k == 0 ? 0 : k == 1 ? -3 : k == 2 ? 300000 : irand(100000);
    }
    std::vector<bt_gbdt_split> splits((size_t)(n_trees * W + 1));
    for (auto &s : splits) {
        bt_gbdt_split_reset(&s);
        int64_t k = irand(12);
        s.feature = k == 0 ? -1 : k == 1 ? F + (int32_t)irand(3) : (int32_t)irand(F);
        const float losses[] = {0.0f, 1e-6f, 1.0000001e-6f, 1e-3f, (float)urand() * 100};
        s.loss_chg = losses[irand(5)];
        s.bin = (int32_t)irand(300) - 1;
        s.default_left = (int32_t)irand(2);
        s.split_cond = (float)(urand() * 10 - 5);
        s.left.g = big();
        s.left.h = irand(8) == 0 ? 0 : llabs(big());
        s.right.g = big();
        s.right.h = irand(8) == 0 ? 0 : llabs(big());
    }
    std::vector<bt_gbdt_apply_part> part((size_t)(n_trees * W + 1));
    std::vector<bt_gbdt_level_pair> next((size_t)(n_trees * W + 1));
    std::vector<bt_gbdt_apply_split_item> snext((size_t)(n_trees * 2 * W + 1));
    garbage(part);
    garbage(next);
    garbage(snext);
    a.n_trees = n_trees;
    a.depth = depth;
    a.F = F;
    a.levels = levels;
    a.roots = roots;
    a.rules = std::move(rules);
    a.missing = std::move(missing);
    a.n_feats = std::move(n_feats);
    a.trees = std::move(trees);
    a.nodes = std::move(nodes);
    a.root_items = std::move(root_items);
    a.snext = std::move(snext);
    a.sum = std::move(sum);
    a.beg = std::move(beg);
    a.cnt = std::move(cnt);
    a.hoff = std::move(hoff);
    a.stack = std::move(stack);
    a.n_left = std::move(n_left);
    a.prev = std::move(prev);
    a.next = std::move(next);
    a.splits = std::move(splits);
    a.part = std::move(part);
}

/* The device's copy of `vec` equals the host's, byte for byte. */
#define SAME(vec, dp, what)                                                                        \
    do {                                                                                           \
        auto got_ = host_from(dp, vec.size());                                                     \
        CHECK_MSG(same_bytes(got_.data(), vec.data(), vec.size() * sizeof vec[0]),                 \
                  "%s: %d trees at depth %d", what, n_trees, depth);                               \
    } while (0)

/* the epilogue items of these trees from the same nodes and row ranges (d: the device's) */
static void check_epilogue(const bt_gbdt_apply_args &d, apply_inputs &a) {
    const int32_t n_trees = a.n_trees, depth = a.depth;
    std::vector<bt_gbdt_epilogue_tree> et((size_t)n_trees + 1);
    const int32_t n_pred = n_trees + 1;
    /* each prediction item belongs to one tree at most (the pack's rule) */
    for (size_t i = 0; i < et.size(); i++) {
        bt_gbdt_epilogue_tree &e = et[i];
        memset(&e, 0, sizeof e);
        e.tmpl.row_begin = irand(1000) * 4096;
        e.tmpl.margin_offset = irand(1000) * 3;
        e.tmpl.stride = 1 + (int32_t)irand(3);
        e.tmpl.k = (int32_t)irand(e.tmpl.stride);
        e.pred_train = irand(3) == 0 ? -1 : (int32_t)i;
        e.pred_valid = irand(5) == 0 ? -1 : n_pred - 1 - (int32_t)i;
    }
    std::vector<bt_gbdt_apply_leaf> leaves(a.nodes.size());
    std::vector<bt_gbdt_apply_pred> pt((size_t)n_pred), pv((size_t)n_pred);
    garbage(leaves);
    garbage(pt);
    garbage(pv);
    bt_gbdt_epilogue_tree *et_d = dev_from(et);
    bt_gbdt_apply_leaf *leaves_d = dev_from(leaves);
    bt_gbdt_apply_pred *pt_d = dev_from(pt), *pv_d = dev_from(pv);
    CHECK_OK(bt_gbdt_epilogue_items_cuda(d.trees, et_d, n_trees, d.nodes, d.beg, d.cnt, leaves_d,
                                         pt_d, pv_d, NULL));
    bt_gbdt_epilogue_items_ref(a.trees.data(), et.data(), n_trees, a.nodes.data(), a.beg.data(),
                               a.cnt.data(), leaves.data(), pt.data(), pv.data());
    SAME(leaves, leaves_d, "epilogue: leaf items");
    SAME(pt, pt_d, "epilogue: train prediction items");
    SAME(pv, pv_d, "epilogue: valid prediction items");
    cudaFree(et_d);
    cudaFree(leaves_d);
    cudaFree(pt_d);
    cudaFree(pv_d);
}

static void run_case(int32_t n_trees, int32_t depth) {
    apply_inputs a;
    make_inputs(a, n_trees, depth);
    /* device copies first: the reference runs in place on the host vectors */
    bt_gbdt_apply_args d;
    memset(&d, 0, sizeof d);
    d.trees = dev_from(a.trees);
    d.n_trees = n_trees;
    d.depth = depth;
    d.n_features = a.F;
    d.feat_levels = a.levels;
    d.n_feats = dev_from(a.n_feats);
    d.root_items = a.roots ? dev_from(a.root_items) : NULL;
    d.rules = dev_from(a.rules);
    d.missing_bin = dev_from(a.missing);
    d.splits = dev_from(a.splits);
    d.pairs_prev = dev_from(a.prev);
    d.n_left = dev_from(a.n_left);
    d.nodes = dev_from(a.nodes);
    d.sum = dev_from(a.sum);
    d.beg = dev_from(a.beg);
    d.cnt = dev_from(a.cnt);
    d.hoff = dev_from(a.hoff);
    d.stack = dev_from(a.stack);
    d.part = dev_from(a.part);
    d.pairs_next = dev_from(a.next);
    d.split_next = dev_from(a.snext);
    CHECK_OK(bt_gbdt_apply_cuda(&d, NULL));

    bt_gbdt_apply_args h = d;
    h.trees = a.trees.data();
    h.n_feats = a.n_feats.data();
    h.rules = a.rules.data();
    h.missing_bin = a.missing.data();
    h.root_items = a.roots ? a.root_items.data() : NULL;
    h.splits = a.splits.data();
    h.pairs_prev = a.prev.data();
    h.n_left = a.n_left.data();
    h.nodes = a.nodes.data();
    h.sum = a.sum.data();
    h.beg = a.beg.data();
    h.cnt = a.cnt.data();
    h.hoff = a.hoff.data();
    h.stack = a.stack.data();
    h.part = a.part.data();
    h.pairs_next = a.next.data();
    h.split_next = a.snext.data();
    bt_gbdt_apply_ref(&h);

    SAME(a.trees, d.trees, "trees");
    SAME(a.nodes, d.nodes, "nodes");
    SAME(a.sum, d.sum, "sums");
    SAME(a.beg, d.beg, "row begins");
    SAME(a.cnt, d.cnt, "row counts");
    SAME(a.hoff, d.hoff, "histogram offsets");
    SAME(a.stack, d.stack, "free stacks");
    SAME(a.part, d.part, "partition items");
    SAME(a.next, d.pairs_next, "next pairs");
    SAME(a.snext, d.split_next, "next split items");
    /* the finishing launch after this level's partition: only the pending ranges move */
    {
        bt_gbdt_apply_args f;
        memset(&f, 0, sizeof f);
        f.n_trees = n_trees;
        f.depth = depth + 1;
        f.finish = 1;
        f.trees = d.trees;
        f.n_left = d.n_left;
        f.nodes = d.nodes;
        f.beg = d.beg;
        f.cnt = d.cnt;
        CHECK_OK(bt_gbdt_apply_cuda(&f, NULL));
        f.trees = a.trees.data();
        f.n_left = a.n_left.data();
        f.nodes = a.nodes.data();
        f.beg = a.beg.data();
        f.cnt = a.cnt.data();
        bt_gbdt_apply_ref(&f);
        SAME(a.trees, d.trees, "finish: trees");
        SAME(a.beg, d.beg, "finish: row begins");
        SAME(a.cnt, d.cnt, "finish: row counts");
    }
    check_epilogue(d, a);
    cudaFree(d.trees);
    cudaFree((void *)d.rules);
    cudaFree((void *)d.n_feats);
    cudaFree((void *)d.root_items);
    cudaFree((void *)d.missing_bin);
    cudaFree((void *)d.splits);
    cudaFree((void *)d.pairs_prev);
    cudaFree((void *)d.n_left);
    cudaFree(d.nodes);
    cudaFree(d.sum);
    cudaFree(d.beg);
    cudaFree(d.cnt);
    cudaFree(d.hoff);
    cudaFree(d.stack);
    cudaFree(d.part);
    cudaFree(d.pairs_next);
    cudaFree(d.split_next);
}
#undef SAME

/* bt_gbdt_root_sum_cuda: roots of 0 .. many rows over random histograms, feature 0's entries at
 * an offset, some items empty (their total must become 0). */
static void root_sum_case(int32_t n_items) {
    const int64_t T = 1 + irand(2000), e0 = irand(T), e1 = e0 + irand(T - e0 + 1);
    const int64_t slots = 1 + irand(50);
    std::vector<bt_gbdt_gh> hist((size_t)(slots * T));
    for (auto &x : hist) {
        x.g = big() >> 12;
        x.h = llabs(big()) >> 12;
    }
    std::vector<bt_gbdt_apply_split_item> items((size_t)n_items + 1);
    for (auto &x : items) {
        memset(&x, 0, sizeof x);
        x.n_rows = irand(4) == 0 ? 0 : 1 + irand(100000);
        x.hist_offset = irand(slots) * T;
        x.total.g = big(); /* overwritten */
        x.trial = (int32_t)irand(100);
    }
    bt_gbdt_gh *hist_d = dev_from(hist);
    bt_gbdt_apply_split_item *items_d = dev_from(items);
    CHECK_OK(bt_gbdt_root_sum_cuda(hist_d, e0, e1, items_d, n_items, NULL));
    bt_gbdt_root_sum_ref(hist.data(), e0, e1, items.data(), n_items);
    auto got = host_from(items_d, items.size());
    CHECK_MSG(same_bytes(got.data(), items.data(), items.size() * sizeof items[0]),
              "root sums, %d items", n_items);
    cudaFree(hist_d);
    cudaFree(items_d);
}

/* p: trees (depths 0 to 6 each) */
BT_OPTEST_RUNNER(run) {
    for (int32_t depth = 0; depth <= 6; depth++) run_case((int32_t)c->p[0], depth);
}

/* p: root items */
BT_OPTEST_RUNNER(run_root_sum) {
    root_sum_case((int32_t)c->p[0]);
}

/* bad arguments are refused, not launched */
BT_OPTEST_RUNNER(run_args) {
    CHECK(bt_gbdt_root_sum_cuda(NULL, 2, 1, NULL, 1, NULL) == BT_STATUS_BAD_INPUT);
    bt_gbdt_apply_args bad;
    memset(&bad, 0, sizeof bad);
    bad.n_trees = -1;
    CHECK(bt_gbdt_apply_cuda(&bad, NULL) == BT_STATUS_BAD_INPUT);
    bt_status_clear();
}

static const bt_op_case cases[] = {
    {"0 trees, depths 0 to 6", run, {0}, 0},
    {"1 tree, depths 0 to 6", run, {1}, 0},
    {"7 trees, depths 0 to 6", run, {7}, 0},
    {"100 trees, depths 0 to 6", run, {100}, 0},
    {"3000 trees, depths 0 to 6", run, {3000}, 0},
    {"root sums, 0 items", run_root_sum, {0}, 0},
    {"root sums, 1 item", run_root_sum, {1}, 0},
    {"root sums, 33 items", run_root_sum, {33}, 0},
    {"root sums, 1000 items", run_root_sum, {1000}, 0},
    {"bad arguments are refused", run_args, {0}, 0},
};
BT_OPTEST_SUITE(gbdt_apply, cases);
