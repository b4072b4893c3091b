/* Op table suite gbdt_partition (kernels/optest.h): bt_gbdt_partition_cuda against
 * bt_gbdt_partition_ref on fresh random inputs: several trials' nodes per launch (disjoint segments
 * of one row array), uint8 and uint16 matrices, splits that send everything, nothing or part of the
 * rows left, with missing values either way, and 0, 1, 255, 256, 257 and many-tile row counts; one
 * block per item, the pack's rule and the most blocks per item; big items (100k+ rows, many chunks,
 * chunk edges) mixed with tiny ones in one launch. Row order and left counts: compared exactly. */
#include "kernels/cuda/optest/gbdt_optest.cuh"

extern "C" {
#include "kernels/gbdt_partition.h"
}

/* One launch over items of the given sizes (-1: a random subset of the n rows, all of them for
 * item 0) with bpi blocks per item (0: the pack's rule). */
static void run_items(int width, int32_t max_bins, int64_t n, int32_t F,
                      const std::vector<int64_t> &sizes, int32_t bpi) {
    const int n_items = (int)sizes.size();
    std::vector<int32_t> nb(F);
    for (int32_t f = 0; f < F; f++) nb[f] = 1 + (int32_t)irand(max_bins);
    std::vector<uint8_t> b8((size_t)(n * F));
    std::vector<uint16_t> b16((size_t)(n * F));
    for (int64_t r = 0; r < n; r++)
        for (int32_t f = 0; f < F; f++) {
            uint16_t b = (uint16_t)irand(nb[f] + 1); /* nb[f] = missing */
            b8[(size_t)(r * F + f)] = (uint8_t)b;
            b16[(size_t)(r * F + f)] = b;
        }
    const void *bins_h = width == 1 ? (const void *)b8.data() : (const void *)b16.data();
    /* item i: a node of its own trial, a random subset of rows in random order */
    std::vector<int32_t> rows;
    std::vector<bt_gbdt_partition_item> items;
    int64_t max_rows = 0;
    for (int i = 0; i < n_items; i++) {
        bt_gbdt_partition_item it;
        it.row_begin = (int64_t)rows.size();
        double keep = sizes[i] >= 0 ? 1.0 : i == 0 ? 1.0 : urand();
        for (int64_t r = 0; r < n; r++)
            if (urand() < keep) rows.push_back((int32_t)r);
        it.n_rows = (int64_t)rows.size() - it.row_begin;
        for (int64_t k = it.n_rows - 1; k > 0; k--) {
            int64_t j = irand(k + 1);
            int32_t x = rows[it.row_begin + k];
            rows[it.row_begin + k] = rows[it.row_begin + j];
            rows[it.row_begin + j] = x;
        }
        if (sizes[i] >= 0 && sizes[i] < it.n_rows) { /* the first sizes[i] of a permutation */
            it.n_rows = sizes[i];
            rows.resize((size_t)(it.row_begin + it.n_rows));
        }
        if (it.n_rows > max_rows) max_rows = it.n_rows;
        it.feature = (int32_t)irand(F);
        it.missing_bin = nb[it.feature];
        int mode = (int)irand(4);
        it.split_bin = mode == 0   ? -1                 /* none left but missing */
                       : mode == 1 ? nb[it.feature] - 1 /* all non-missing left */
                                   : (int32_t)irand(nb[it.feature]);
        it.default_left = (int32_t)irand(2);
        items.push_back(it);
    }
    if (bpi == 0) bpi = bt_gbdt_chunk_blocks(max_rows, n_items);
    std::vector<int32_t> ref = rows, scratch(rows.size() + 1);
    std::vector<int64_t> ref_left(n_items);
    for (int i = 0; i < n_items; i++) {
        const bt_gbdt_partition_item &it = items[i];
        if (it.n_rows == 0) { /* (the reference would memcpy from a NULL empty vector) */
            ref_left[i] = 0;
            continue;
        }
        ref_left[i] = bt_gbdt_partition_ref(ref.data() + it.row_begin, it.n_rows, bins_h, width, F,
                                            it.feature, it.split_bin, it.missing_bin,
                                            it.default_left, scratch.data());
    }
    void *bins_d = width == 1 ? (void *)dev_from(b8) : (void *)dev_from(b16);
    int32_t *rows_d = dev_from(rows);
    int32_t *scratch_d = dev_zero<int32_t>(rows.size());
    bt_gbdt_partition_item *items_d = dev_from(items);
    int64_t *left_d = dev_zero<int64_t>(n_items);
    /* exactly the counts a launch writes (NULL with one block per item) */
    int64_t *counts_d = bpi > 1 ? dev_zero<int64_t>((size_t)n_items * bpi) : NULL;
    CHECK_OK(bt_gbdt_partition_cuda(rows_d, scratch_d, bins_d, width, F, items_d, n_items, bpi,
                                    counts_d, left_d, NULL));
    std::vector<int32_t> got = host_from(rows_d, rows.size());
    std::vector<int64_t> got_left = host_from(left_d, (size_t)n_items);
    CHECK_MSG(got == ref, "rows differ (width %d, n %lld, %d items, %d blocks per item)", width,
              (long long)n, n_items, (int)bpi);
    CHECK_MSG(got_left == ref_left, "left counts differ (width %d, n %lld, %d blocks per item)",
              width, (long long)n, (int)bpi);
    cudaFree(bins_d);
    cudaFree(rows_d);
    cudaFree(scratch_d);
    cudaFree(items_d);
    cudaFree(left_d);
    if (counts_d) cudaFree(counts_d);
}

static void run_case(int width, int32_t max_bins, int64_t n, int32_t F, int n_items, int32_t bpi) {
    run_items(width, max_bins, n, F, std::vector<int64_t>((size_t)n_items, -1), bpi);
}

/* p: width, max bins, features, items, blocks per item (0: the pack's rule); 0, 1, 255, 256, 257,
 * 1000 and 70001 rows each */
BT_OPTEST_RUNNER(run) {
    const int64_t sizes[] = {0, 1, 255, 256, 257, 1000, 70001};
    for (int64_t n : sizes)
        run_case((int)c->p[0], (int32_t)c->p[1], n, (int32_t)c->p[2], (int)c->p[3],
                 (int32_t)c->p[4]);
}

/* big and tiny items in one launch: chunk edges (4096 = one chunk, 4097 = two, the last one row
 * long), a 150000-row root cut into many chunks; p: width, max bins, features, blocks per item
 * (0: the pack's rule) */
BT_OPTEST_RUNNER(run_mixed) {
    const std::vector<int64_t> mixed = {150000, 0, 1, 4096, 4097, 300, 12289, 100003, 8192, 255};
    run_items((int)c->p[0], (int32_t)c->p[1], 150000, (int32_t)c->p[2], mixed, (int32_t)c->p[3]);
}

/* the rule: powers of two, bounded, and within the counts buffer */
BT_OPTEST_RUNNER(run_rule) {
    CHECK_EQ_INT(bt_gbdt_chunk_blocks(0, 1), 1);
    CHECK_EQ_INT(bt_gbdt_chunk_blocks(BT_GBDT_CHUNK_ROWS, 1), 1);
    CHECK_EQ_INT(bt_gbdt_chunk_blocks(BT_GBDT_CHUNK_ROWS + 1, 1), 2);
    CHECK_EQ_INT(bt_gbdt_chunk_blocks(1000000, 64), 256);
    CHECK_EQ_INT(bt_gbdt_chunk_blocks(1000000, 4096), 16);
    CHECK_EQ_INT(bt_gbdt_chunk_blocks(1000000, 1 << 20), 1);
}

/* refused: not a power of two, too many, no counts, a grid past the counts buffer */
BT_OPTEST_RUNNER(run_args) {
    int64_t *one = dev_zero<int64_t>(1);
    const bt_status bad[] = {
        bt_gbdt_partition_cuda(NULL, NULL, NULL, 1, 1, NULL, 1, 3, one, one, NULL),
        bt_gbdt_partition_cuda(NULL, NULL, NULL, 1, 1, NULL, 1, 0, one, one, NULL),
        bt_gbdt_partition_cuda(NULL, NULL, NULL, 1, 1, NULL, 1, 2 * BT_GBDT_CHUNK_MAX_BPI, one, one,
                               NULL),
        bt_gbdt_partition_cuda(NULL, NULL, NULL, 1, 1, NULL, 1, 2, NULL, one, NULL),
        bt_gbdt_partition_cuda(NULL, NULL, NULL, 1, 1, NULL, BT_GBDT_CHUNK_COUNTS / 2 + 1, 2, one,
                               one, NULL)};
    for (bt_status st : bad) CHECK(st == BT_STATUS_BAD_INPUT);
    bt_status_clear();
    cudaFree(one);
}

static const bt_op_case cases[] = {
    {"uint8, 255 bins, 6 items, one block per item, 0 to 70001 rows", run, {1, 255, 5, 6, 1}, 0},
    {"uint16, 512 bins, 4 items, the pack's rule, 0 to 70001 rows", run, {2, 512, 3, 4, 0}, 0},
    {"uint16, 256 bins + missing, 5 items, 0 to 70001 rows", run, {2, 256, 4, 5, 0}, 0},
    {"uint8, 2 bins (long runs), 9 items, 0 to 70001 rows", run, {1, 2, 2, 9, 0}, 0},
    {"150000 rows in big and tiny items, uint8, the pack's rule", run_mixed, {1, 255, 4, 0}, 0},
    {"150000 rows in big and tiny items, uint16, 8 blocks per item", run_mixed, {2, 512, 3, 8}, 0},
    {"150000 rows in big and tiny items, 3 bins, the most blocks",
     run_mixed,
     {1, 3, 2, BT_GBDT_CHUNK_MAX_BPI},
     0},
    {"150000 rows in big and tiny items, uint16, 2 blocks per item", run_mixed, {2, 300, 5, 2}, 0},
    {"blocks per item: the pack's rule", run_rule, {0}, 0},
    {"bad arguments are refused", run_args, {0}, 0},
};
BT_OPTEST_SUITE(gbdt_partition, cases);
