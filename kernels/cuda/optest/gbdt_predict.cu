/* Op table suite gbdt_predict (kernels/optest.h): bt_gbdt_predict_add_cuda and
 * bt_gbdt_leaf_add_cuda against the C references on fresh random trees and data: several trials
 * (two classes each, so two margins per row) per launch, raw values with NaNs (default
 * directions), all rows or a row list, 0 / 1 / 257 / 4000 rows, and a lone-root tree. One float
 * add per margin entry: compared exactly. */
#include "kernels/cuda/optest/optest.cuh"

extern "C" {
#include "kernels/gbdt_predict.h"
}

/* A random tree in XGBoost's layout: children allocated in pairs, level by level. */
static std::vector<bt_gbdt_node> random_tree(int32_t F, int max_depth) {
    std::vector<bt_gbdt_node> t(1);
    memset(&t[0], 0, sizeof t[0]);
    t[0].left = t[0].right = t[0].parent = -1;
    std::vector<int32_t> level(1, 0), next;
    for (int d = 0; d < max_depth; d++) {
        next.clear();
        for (int32_t id : level) {
            if (urand() < 0.25) continue; /* stays a leaf */
            int32_t l = (int32_t)t.size();
            bt_gbdt_node c;
            memset(&c, 0, sizeof c);
            c.left = c.right = -1;
            c.parent = id;
            t.push_back(c);
            t.push_back(c);
            t[id].left = l;
            t[id].right = l + 1;
            t[id].feature = (int32_t)irand(F);
            t[id].split_cond = (float)(urand() * 2 - 1);
            t[id].default_left = (int32_t)irand(2);
            next.push_back(l);
            next.push_back(l + 1);
        }
        level = next;
    }
    for (auto &nd : t)
        if (nd.left < 0) nd.value = (float)((urand() * 2 - 1) * 0.3);
    return t;
}

static void run_case(int64_t n) {
    const int32_t F = 6, K = 2, n_trials = 4;
    std::vector<float> X((size_t)(n * F));
    for (auto &x : X) x = urand() < 0.1 ? NAN : (float)(urand() * 2.2 - 1.1);
    std::vector<bt_gbdt_node> nodes;
    std::vector<bt_gbdt_predict_item> items;
    std::vector<int32_t> rows;
    std::vector<float> margin((size_t)(n * K * n_trials));
    for (auto &m : margin) m = (float)(urand() * 4 - 2);
    for (int t = 0; t < n_trials; t++)
        for (int32_t k = 0; k < K; k++) {
            std::vector<bt_gbdt_node> tree = random_tree(F, t == 0 && k == 0 ? 0 : 1 + t * 2);
            bt_gbdt_predict_item it;
            memset(&it, 0, sizeof it);
            it.nodes_offset = (int64_t)nodes.size();
            it.n_nodes = (int32_t)tree.size();
            nodes.insert(nodes.end(), tree.begin(), tree.end());
            it.margin_offset = (int64_t)t * n * K;
            it.stride = K;
            it.k = k;
            if (t % 2 == 1) { /* a row list: the rows left out of a subsample */
                it.row_begin = (int64_t)rows.size();
                for (int64_t r = 0; r < n; r++)
                    if (urand() < 0.3) rows.push_back((int32_t)r);
                it.n = (int64_t)rows.size() - it.row_begin;
            } else {
                it.row_begin = -1;
                it.n = n;
            }
            items.push_back(it);
        }
    std::vector<float> ref = margin;
    for (const auto &it : items)
        bt_gbdt_predict_add_ref(nodes.data() + it.nodes_offset, X.data(), F,
                                it.row_begin >= 0 ? rows.data() + it.row_begin : NULL, it.n,
                                ref.data() + it.margin_offset, it.stride, it.k);
    bt_gbdt_node *nodes_d = dev_from(nodes);
    float *X_d = dev_from(X), *m_d = dev_from(margin);
    int32_t *rows_d = dev_from(rows);
    bt_gbdt_predict_item *items_d = dev_from(items);
    CHECK_OK(bt_gbdt_predict_add_cuda(nodes_d, X_d, F, rows_d, m_d, items_d, (int32_t)items.size(),
                                      NULL));
    std::vector<float> got = host_from(m_d, margin.size());
    CHECK_MSG(same_bytes(got.data(), ref.data(), got.size() * sizeof(float)),
              "predict_add margins differ (n %lld)", (long long)n);

    /* leaves: per trial, its rows cut into leaf segments, each adding its value */
    std::vector<int32_t> lrows;
    std::vector<bt_gbdt_leaf_item> leaves;
    for (int t = 0; t < n_trials; t++) {
        int64_t beg = (int64_t)lrows.size();
        for (int64_t r = 0; r < n; r++) lrows.push_back((int32_t)r);
        for (int64_t i = n - 1; i > 0; i--) {
            int64_t j = irand(i + 1);
            int32_t x = lrows[beg + i];
            lrows[beg + i] = lrows[beg + j];
            lrows[beg + j] = x;
        }
        int64_t at = beg, end = beg + n;
        while (true) {
            bt_gbdt_leaf_item L;
            memset(&L, 0, sizeof L);
            L.row_begin = at;
            L.n = irand(end - at + 1);
            L.margin_offset = (int64_t)t * n * K;
            L.value = (float)(urand() - 0.5);
            L.stride = K;
            L.k = t % K;
            leaves.push_back(L);
            at += L.n;
            if (at >= end) break;
        }
    }
    for (const auto &L : leaves)
        bt_gbdt_leaf_add_ref(lrows.data() + L.row_begin, L.n, L.value, ref.data() + L.margin_offset,
                             L.stride, L.k);
    int32_t *lrows_d = dev_from(lrows);
    bt_gbdt_leaf_item *leaves_d = dev_from(leaves);
    CHECK_OK(bt_gbdt_leaf_add_cuda(lrows_d, m_d, leaves_d, (int32_t)leaves.size(), NULL));
    got = host_from(m_d, margin.size());
    CHECK_MSG(same_bytes(got.data(), ref.data(), got.size() * sizeof(float)),
              "leaf_add margins differ (n %lld)", (long long)n);
    cudaFree(nodes_d);
    cudaFree(X_d);
    cudaFree(m_d);
    cudaFree(rows_d);
    cudaFree(items_d);
    cudaFree(lrows_d);
    cudaFree(leaves_d);
}

/* p: rows */
BT_OPTEST_RUNNER(run) {
    run_case(c->p[0]);
}

static const bt_op_case cases[] = {
    {"4 trials x 2 classes, NaNs, row lists, 0 rows", run, {0}, 0},
    {"4 trials x 2 classes, NaNs, row lists, 1 row", run, {1}, 0},
    {"4 trials x 2 classes, NaNs, row lists, 257 rows", run, {257}, 0},
    {"4 trials x 2 classes, NaNs, row lists, 4000 rows", run, {4000}, 0},
};
BT_OPTEST_SUITE(gbdt_predict, cases);
