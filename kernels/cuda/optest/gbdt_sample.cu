/* Op table suite gbdt_sample (kernels/optest.h): bt_gbdt_sample_rows_cuda and
 * bt_gbdt_sample_features_cuda against the C references: the same Philox keys and counters must
 * keep exactly the same rows (0, 1, 257, 4096, 4097, 10000, 150001 rows, one block per item and
 * several, up to the most; subsample 1, 0.999, 0.73, 0.5, 0.1, 0; and their complements, the rows a
 * subsampled tree still predicts as grow.c does) and the same features (per tree and per level,
 * fractions down to "at least one", 0 / 1 / 300 candidates, candidate lists that skip features).
 * Compared exactly. */
#include "kernels/cuda/optest/gbdt_optest.cuh"

extern "C" {
#include "kernels/gbdt_sample.h"
#include "kernels/philox.h"
}

/* bpi blocks per item (0: the pack's rule). */
static void run_rows(int64_t n, int32_t bpi) {
    /* items 6..11 ask for the complements of items 0..5 */
    const double subs[] = {1.0, 0.5, 0.1, 0.0, 0.999, 0.73};
    const int n_items = 12;
    std::vector<bt_gbdt_sample_rows_item> items(n_items);
    for (int i = 0; i < n_items; i++) {
        memset(&items[i], 0, sizeof items[i]);
        items[i].key = i < 6 ? bt_philox_key(rnd_u64(), (uint64_t)i) : items[i - 6].key;
        items[i].tree = i < 6 ? rnd_u64() % 1000 : items[i - 6].tree;
        items[i].subsample = subs[i % 6];
        items[i].out_offset = (int64_t)i * n;
        items[i].complement = i >= 6;
    }
    std::vector<int32_t> ref((size_t)(n * n_items) + 1, -1);
    std::vector<int64_t> ref_n(n_items);
    for (int i = 0; i < 6; i++)
        ref_n[i] = bt_gbdt_sample_rows_ref(items[i].key, items[i].tree, n, items[i].subsample,
                                           ref.data() + items[i].out_offset);
    for (int i = 6; i < n_items; i++) {
        /* the complement: rows 0..n-1 not in item i - 6's list, in order */
        const int32_t *kept = ref.data() + items[i - 6].out_offset;
        int64_t j = 0, m = 0;
        for (int64_t r = 0; r < n; r++) {
            if (j < ref_n[i - 6] && kept[j] == r)
                j++;
            else
                ref[(size_t)(items[i].out_offset + m++)] = (int32_t)r;
        }
        ref_n[i] = m;
        CHECK_EQ_INT(ref_n[i] + ref_n[i - 6], n);
    }
    std::vector<int32_t> init((size_t)(n * n_items) + 1, -1);
    int32_t *out_d = dev_from(init);
    int64_t *n_d = dev_zero<int64_t>(n_items);
    bt_gbdt_sample_rows_item *items_d = dev_from(items);
    if (bpi == 0) bpi = bt_gbdt_chunk_blocks(n, n_items);
    /* exactly the counts a launch writes (NULL with one block per item) */
    int64_t *counts_d = bpi > 1 ? dev_zero<int64_t>((size_t)n_items * bpi) : NULL;
    CHECK_OK(bt_gbdt_sample_rows_cuda(n, items_d, n_items, bpi, counts_d, out_d, n_d, NULL));
    CHECK(host_from(n_d, n_items) == ref_n);
    CHECK_MSG(host_from(out_d, init.size()) == ref, "sampled rows differ (n %lld, %d blocks)",
              (long long)n, (int)bpi);
    if (counts_d) cudaFree(counts_d);
    cudaFree(out_d);
    cudaFree(n_d);
    cudaFree(items_d);
}

static void run_features(int32_t n_feat) {
    const double fracs[] = {1.0, 0.5, 0.8, 0.01, 0.0, 0.333};
    const int n_items = 6;
    std::vector<bt_gbdt_sample_features_item> items(n_items);
    std::vector<int32_t> in;
    for (int i = 0; i < n_items; i++) {
        items[i].key = bt_philox_key(rnd_u64(), (uint64_t)i);
        items[i].tree = rnd_u64() % 1000;
        items[i].level = (uint32_t)irand(8);
        items[i].frac = fracs[i];
        items[i].in_offset = (int64_t)in.size();
        items[i].out_offset = items[i].in_offset;
        for (int32_t f = 0; f < n_feat; f++) /* an increasing list, some features skipped */
            if (i % 2 == 0 || urand() < 0.7) in.push_back(f);
        items[i].n_in = (int32_t)((int64_t)in.size() - items[i].in_offset);
    }
    std::vector<int32_t> ref(in.size() + 1, -1);
    std::vector<int32_t> ref_n(n_items);
    std::vector<uint64_t> scratch(2 * (size_t)n_feat + 2);
    for (int i = 0; i < n_items; i++)
        ref_n[i] = bt_gbdt_sample_features_ref(
            items[i].key, items[i].tree, items[i].level, in.data() + items[i].in_offset,
            items[i].n_in, items[i].frac, ref.data() + items[i].out_offset, scratch.data());
    std::vector<int32_t> init(in.size() + 1, -1);
    int32_t *in_d = dev_from(in), *out_d = dev_from(init);
    int32_t *n_d = dev_zero<int32_t>(n_items);
    uint64_t *scr_d = dev_zero<uint64_t>(in.size());
    bt_gbdt_sample_features_item *items_d = dev_from(items);
    CHECK_OK(bt_gbdt_sample_features_cuda(in_d, items_d, n_items, out_d, n_d, scr_d, NULL));
    CHECK(host_from(n_d, n_items) == ref_n);
    CHECK_MSG(host_from(out_d, init.size()) == ref, "sampled features differ (%d candidates)",
              n_feat);
    cudaFree(in_d);
    cudaFree(out_d);
    cudaFree(n_d);
    cudaFree(scr_d);
    cudaFree(items_d);
}

/* p: rows (-1: each of 0, 1, 257 and 10000), blocks per item (0: the pack's rule) */
BT_OPTEST_RUNNER(run) {
    const int64_t sizes[] = {0, 1, 257, 10000};
    if (c->p[0] >= 0)
        run_rows(c->p[0], (int32_t)c->p[1]);
    else
        for (int64_t n : sizes) run_rows(n, (int32_t)c->p[1]);
}

/* refused: not a power of two, no counts, a grid past the counts buffer */
BT_OPTEST_RUNNER(run_args) {
    int64_t *one = dev_zero<int64_t>(1);
    CHECK(bt_gbdt_sample_rows_cuda(10, NULL, 1, 3, one, NULL, one, NULL) == BT_STATUS_BAD_INPUT);
    CHECK(bt_gbdt_sample_rows_cuda(10, NULL, 1, 2, NULL, NULL, one, NULL) == BT_STATUS_BAD_INPUT);
    CHECK(bt_gbdt_sample_rows_cuda(10, NULL, BT_GBDT_CHUNK_COUNTS, 2, one, NULL, one, NULL) ==
          BT_STATUS_BAD_INPUT);
    bt_status_clear();
    cudaFree(one);
}

/* 0, 1, 2, 300 and 1000 candidates */
BT_OPTEST_RUNNER(run_feats) {
    const int32_t feats[] = {0, 1, 2, 300, 1000};
    for (int32_t f : feats) run_features(f);
}

static const bt_op_case cases[] = {
    {"rows, one block per item, 0 / 1 / 257 / 10000 rows", run, {-1, 1}, 0},
    {"rows, the pack's rule, 0 / 1 / 257 / 10000 rows", run, {-1, 0}, 0},
    {"rows, 4096 rows (one chunk), 4 blocks per item", run, {4096, 4}, 0},
    {"rows, 4097 rows (the last chunk one row), the pack's rule", run, {4097, 0}, 0},
    {"rows, 150001 rows, the pack's rule", run, {150001, 0}, 0},
    {"rows, 150001 rows, 8 blocks per item", run, {150001, 8}, 0},
    {"rows, 150001 rows, the most blocks per item", run, {150001, BT_GBDT_CHUNK_MAX_BPI}, 0},
    {"rows: bad arguments are refused", run_args, {0}, 0},
    {"features per tree and level, 0 / 1 / 2 / 300 / 1000 candidates", run_feats, {0}, 0},
};
BT_OPTEST_SUITE(gbdt_sample, cases);
