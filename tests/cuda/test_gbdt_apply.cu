/* bt_gbdt_apply_cuda against bt_gbdt_apply_ref on fresh random inputs: 0, 1, 7, 100 and 3000 trees
 * at depths 0 to 6, random splits (no feature, a feature out of range, losses around 1e-6 and
 * gamma, empty children), per-trial lambda/alpha/min_child_weight/eta/gamma/max_depth, node
 * capacities sometimes too small, free-histogram stacks sometimes empty or full, previous pairs
 * with padding and left counts in and out of range. Every output array (trees, nodes, sums, row
 * ranges, histogram offsets, stacks, partition items, next pairs, next split items) must equal
 * the reference byte for byte -- node weights included, which an FMA would change. The roots'
 * sums (bt_gbdt_root_sum_cuda) and the epilogue items made from the resulting nodes
 * (bt_gbdt_epilogue_items_cuda) likewise. */
#include <string.h>

#include "tests/cuda/gpu_test.h"

extern "C" {
#include "kernels/gbdt_apply.h"
}

static int64_t big(void) {
    int64_t m = (int64_t)1 << (int)irand(50);
    return (int64_t)(rnd_u64() % (uint64_t)m) * (irand(2) ? 1 : -1);
}

template <typename T> static void garbage(std::vector<T> &v) {
    for (auto &x : v)
        for (size_t b = 0; b < sizeof(T); b++) ((unsigned char *)&x)[b] = (unsigned char)rnd_u64();
}

static void run_case(int32_t n_trees, int32_t depth) {
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

    /* device copies first: the reference runs in place on the host vectors */
    bt_gbdt_apply_args d;
    memset(&d, 0, sizeof d);
    d.trees = dev_from(trees);
    d.n_trees = n_trees;
    d.depth = depth;
    d.n_features = F;
    d.feat_levels = levels;
    d.n_feats = dev_from(n_feats);
    d.root_items = roots ? dev_from(root_items) : NULL;
    d.rules = dev_from(rules);
    d.missing_bin = dev_from(missing);
    d.splits = dev_from(splits);
    d.pairs_prev = dev_from(prev);
    d.n_left = dev_from(n_left);
    d.nodes = dev_from(nodes);
    d.sum = dev_from(sum);
    d.beg = dev_from(beg);
    d.cnt = dev_from(cnt);
    d.hoff = dev_from(hoff);
    d.stack = dev_from(stack);
    d.part = dev_from(part);
    d.pairs_next = dev_from(next);
    d.split_next = dev_from(snext);
    CHECK_OK(bt_gbdt_apply_cuda(&d, NULL));

    bt_gbdt_apply_args h = d;
    h.trees = trees.data();
    h.n_feats = n_feats.data();
    h.rules = rules.data();
    h.missing_bin = missing.data();
    h.root_items = roots ? root_items.data() : NULL;
    h.splits = splits.data();
    h.pairs_prev = prev.data();
    h.n_left = n_left.data();
    h.nodes = nodes.data();
    h.sum = sum.data();
    h.beg = beg.data();
    h.cnt = cnt.data();
    h.hoff = hoff.data();
    h.stack = stack.data();
    h.part = part.data();
    h.pairs_next = next.data();
    h.split_next = snext.data();
    bt_gbdt_apply_ref(&h);

#define SAME(vec, dp, what)                                                                        \
    do {                                                                                           \
        auto got_ = host_from(dp, vec.size());                                                     \
        CHECK_MSG(same_bytes(got_.data(), vec.data(), vec.size() * sizeof vec[0]),                 \
                  "%s: %d trees at depth %d", what, n_trees, depth);                               \
    } while (0)
    SAME(trees, d.trees, "trees");
    SAME(nodes, d.nodes, "nodes");
    SAME(sum, d.sum, "sums");
    SAME(beg, d.beg, "row begins");
    SAME(cnt, d.cnt, "row counts");
    SAME(hoff, d.hoff, "histogram offsets");
    SAME(stack, d.stack, "free stacks");
    SAME(part, d.part, "partition items");
    SAME(next, d.pairs_next, "next pairs");
    SAME(snext, d.split_next, "next split items");
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
        f.trees = trees.data();
        f.n_left = n_left.data();
        f.nodes = nodes.data();
        f.beg = beg.data();
        f.cnt = cnt.data();
        bt_gbdt_apply_ref(&f);
        SAME(trees, d.trees, "finish: trees");
        SAME(beg, d.beg, "finish: row begins");
        SAME(cnt, d.cnt, "finish: row counts");
    }
    /* the epilogue items of these trees from the same nodes and row ranges */
    {
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
        std::vector<bt_gbdt_apply_leaf> leaves(nodes.size());
        std::vector<bt_gbdt_apply_pred> pt((size_t)n_pred), pv((size_t)n_pred);
        garbage(leaves);
        garbage(pt);
        garbage(pv);
        bt_gbdt_epilogue_tree *et_d = dev_from(et);
        bt_gbdt_apply_leaf *leaves_d = dev_from(leaves);
        bt_gbdt_apply_pred *pt_d = dev_from(pt), *pv_d = dev_from(pv);
        CHECK_OK(bt_gbdt_epilogue_items_cuda(d.trees, et_d, n_trees, d.nodes, d.beg, d.cnt,
                                             leaves_d, pt_d, pv_d, NULL));
        bt_gbdt_epilogue_items_ref(trees.data(), et.data(), n_trees, nodes.data(), beg.data(),
                                   cnt.data(), leaves.data(), pt.data(), pv.data());
        SAME(leaves, leaves_d, "epilogue: leaf items");
        SAME(pt, pt_d, "epilogue: train prediction items");
        SAME(pv, pv_d, "epilogue: valid prediction items");
        cudaFree(et_d);
        cudaFree(leaves_d);
        cudaFree(pt_d);
        cudaFree(pv_d);
    }
    int taken = 0;
    for (const auto &p : part) taken += p.n_rows > 0;
    printf("  %d trees, depth %d: %d partitions\n", n_trees, depth, taken);
#undef SAME
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

int main(void) {
    BT_GPU_TEST_REQUIRE_GPU();
    bt_gpu_test_seed("test_gbdt_apply");
    const int32_t sizes[] = {0, 1, 7, 100, 3000};
    for (int32_t n : sizes)
        for (int32_t depth = 0; depth <= 6; depth++) run_case(n, depth);
    const int32_t roots[] = {0, 1, 33, 1000};
    for (int32_t n : roots) root_sum_case(n);
    CHECK(bt_gbdt_root_sum_cuda(NULL, 2, 1, NULL, 1, NULL) == BT_STATUS_BAD_INPUT);
    bt_gbdt_apply_args bad;
    memset(&bad, 0, sizeof bad);
    bad.n_trees = -1;
    CHECK(bt_gbdt_apply_cuda(&bad, NULL) == BT_STATUS_BAD_INPUT);
    return bt_test_finish("test_gbdt_apply");
}
