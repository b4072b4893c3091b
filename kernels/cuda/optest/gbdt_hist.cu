/* Op table suite gbdt_hist (kernels/optest.h): bt_gbdt_hist_cuda and bt_gbdt_hist_sub_cuda
 * (with a padding item) against the C references on fresh random inputs: several trials x nodes
 * per launch, uint8 (max_bin 256) and uint16 (512 and 4000 bins, the latter wider than the
 * shared-memory budget: its chunk adds to global memory) matrices, 0 / 1 / non-multiple-of-256 /
 * larger row counts, a feature sub-range, empty nodes, items that use every block of the grid and
 * items that use fewer, and gradients whose sums make the low 32-bit word of a shared-memory entry
 * wrap at almost every add (the carry into the high word). Histograms are int64 sums: compared
 * exactly. */
#include "kernels/cuda/optest/optest.cuh"

extern "C" {
#include "kernels/gbdt_hist.h"
}

/* Gradients and hessians next to multiples of 2^32, so that adding them wraps the low 32-bit word
 * of a sum at almost every add, up and down (|value| <= 2^33: no sum of a case overflows). */
static int64_t edge_value(bool hess) {
    const int64_t W = 1ll << 32;
    static const int64_t g[] = {1,      -1, W - 1,  1 - W,     W / 2,
                                -W / 2, W,  -W - 1, 2 * W - 1, W / 2 - 1};
    static const int64_t h[] = {W - 1, W / 2 + 1, 1, W - 3, 2 * W - 1};
    return hess ? h[irand(sizeof h / sizeof h[0])] : g[irand(sizeof g / sizeof g[0])];
}

static void run_case(int width, int32_t max_entries, int64_t n, int32_t F, int n_trials,
                     int nodes_per_trial, int blocks_per_item, bool sub_range, bool edge) {
    /* features with random bin counts, one of them at the maximum */
    std::vector<uint32_t> off(F + 1, 0);
    for (int32_t f = 0; f < F; f++) {
        int32_t entries = f == F / 2 ? max_entries : 2 + (int32_t)irand(max_entries - 1);
        off[f + 1] = off[f] + (uint32_t)entries;
    }
    const int64_t H = off[F];
    std::vector<uint8_t> b8;
    std::vector<uint16_t> b16;
    if (width == 1)
        b8.resize((size_t)(n * F));
    else
        b16.resize((size_t)(n * F));
    for (int64_t r = 0; r < n; r++)
        for (int32_t f = 0; f < F; f++) {
            int64_t b = irand(off[f + 1] - off[f]); /* the last code is "missing" */
            if (width == 1)
                b8[(size_t)(r * F + f)] = (uint8_t)b;
            else
                b16[(size_t)(r * F + f)] = (uint16_t)b;
        }
    const void *bins_h = width == 1 ? (const void *)b8.data() : (const void *)b16.data();
    /* per trial: gradients of every row, a row list (a random subset in random order) cut into
     * consecutive node segments, some empty */
    std::vector<bt_gbdt_gh> gh((size_t)(n * n_trials));
    for (auto &v : gh) {
        v.g = edge ? edge_value(false) : (int64_t)(rnd_u64() >> 14) - (int64_t)(1ll << 49);
        v.h = edge ? edge_value(true) : (int64_t)(rnd_u64() >> 14);
    }
    std::vector<int32_t> rows((size_t)(n * n_trials));
    std::vector<bt_gbdt_hist_item> items;
    for (int t = 0; t < n_trials; t++) {
        int32_t *R = rows.data() + (size_t)t * n;
        int64_t m = 0;
        for (int64_t r = 0; r < n; r++)
            if (urand() < 0.8) R[m++] = (int32_t)r;
        for (int64_t i = m - 1; i > 0; i--) {
            int64_t j = irand(i + 1);
            int32_t x = R[i];
            R[i] = R[j];
            R[j] = x;
        }
        int64_t beg = 0;
        for (int k = 0; k < nodes_per_trial; k++) {
            int64_t len = k == nodes_per_trial - 1 ? m - beg : irand(m - beg + 1);
            bt_gbdt_hist_item it;
            it.row_begin = (int64_t)t * n + beg;
            it.n_rows = len;
            it.gh_offset = (int64_t)t * n;
            it.hist_offset = (int64_t)items.size() * H;
            items.push_back(it);
            beg += len;
        }
    }
    const int32_t f_begin = sub_range ? F / 3 : 0, f_end = sub_range ? F - 1 : F;
    const size_t n_items = items.size();
    std::vector<bt_gbdt_gh> ref(n_items * (size_t)H);
    for (size_t i = 0; i < n_items; i++)
        bt_gbdt_hist_ref(bins_h, width, F, off.data(), f_begin, f_end,
                         rows.data() + items[i].row_begin, items[i].n_rows,
                         gh.data() + items[i].gh_offset, ref.data() + items[i].hist_offset);

    void *bins_d = width == 1 ? (void *)dev_from(b8) : (void *)dev_from(b16);
    uint32_t *off_d = dev_from(off);
    int32_t *rows_d = dev_from(rows);
    bt_gbdt_gh *gh_d = dev_from(gh);
    bt_gbdt_hist_item *items_d = dev_from(items);
    bt_gbdt_gh *hist_d = dev_zero<bt_gbdt_gh>(ref.size());
    CHECK_OK(bt_gbdt_hist_cuda(bins_d, width, n, F, off_d, f_begin, f_end, max_entries, rows_d,
                               gh_d, hist_d, items_d, (int32_t)n_items, blocks_per_item, NULL));
    std::vector<bt_gbdt_gh> got = host_from(hist_d, ref.size());
    CHECK_MSG(same_bytes(got.data(), ref.data(), ref.size() * sizeof(bt_gbdt_gh)),
              "hist width %d entries %d n %lld F %d items %zu blocks %d", width, max_entries,
              (long long)n, F, n_items, blocks_per_item);

    /* sibling subtraction: item 2i -= item 2i+1 over a sub-range of entries */
    std::vector<bt_gbdt_hist_sub_item> subs;
    for (size_t i = 0; i + 1 < n_items; i += 2) {
        subs.push_back({items[i].hist_offset, items[i + 1].hist_offset});
        if (i == 0) subs.push_back({-1, items[i].hist_offset}); /* padding: skipped */
    }
    const int64_t sb = H > 3 ? 1 : 0, se = H > 3 ? H - 1 : H;
    for (const auto &s : subs)
        if (s.parent >= 0)
            bt_gbdt_hist_sub_ref(ref.data() + s.parent, ref.data() + s.child, sb, se);
    bt_gbdt_hist_sub_item *subs_d = dev_from(subs);
    CHECK_OK(bt_gbdt_hist_sub_cuda(hist_d, subs_d, (int32_t)subs.size(), sb, se, NULL));
    got = host_from(hist_d, ref.size());
    CHECK_MSG(same_bytes(got.data(), ref.data(), ref.size() * sizeof(bt_gbdt_gh)),
              "hist_sub width %d n %lld", width, (long long)n);
    cudaFree(bins_d);
    cudaFree(off_d);
    cudaFree(rows_d);
    cudaFree(gh_d);
    cudaFree(items_d);
    cudaFree(hist_d);
    cudaFree(subs_d);
}

/* p: width, max entries, features, trials, nodes per trial, blocks per item, flags (1: a feature
 * sub-range, 2: edge-value gradients), rows (-1: each of 0, 1, 255, 257, 1000, 5003) */
BT_OPTEST_RUNNER(run) {
    const int64_t sizes[] = {0, 1, 255, 257, 1000, 5003};
    for (int64_t n : sizes) {
        if (c->p[7] >= 0 && n != sizes[0]) break;
        run_case((int)c->p[0], (int32_t)c->p[1], c->p[7] >= 0 ? c->p[7] : n, (int32_t)c->p[2],
                 (int)c->p[3], (int)c->p[4], (int)c->p[5], (c->p[6] & 1) != 0, (c->p[6] & 2) != 0);
    }
}

/* bad arguments are refused, not launched */
BT_OPTEST_RUNNER(run_args) {
    CHECK(bt_gbdt_hist_cuda(NULL, 3, 0, 1, NULL, 0, 1, 2, NULL, NULL, NULL, NULL, 1, 1, NULL) ==
          BT_STATUS_BAD_INPUT);
    bt_status_clear();
}

static const bt_op_case cases[] = {
    {"max_bin 255 + missing: uint8, 7 features, 3 trials x 4 nodes",
     run,
     {1, 256, 7, 3, 4, 1, 0, -1},
     0},
    {"max_bin 512: uint16, 5 features, 3 blocks per item", run, {2, 513, 5, 2, 3, 3, 0, -1}, 0},
    {"max_bin 256 + missing: uint16", run, {2, 257, 6, 3, 3, 2, 0, -1}, 0},
    {"30 narrow features, a feature range", run, {1, 40, 30, 4, 5, 2, 1, -1}, 0},
    {"a feature wider than shared memory (4001 entries)", run, {2, 4001, 3, 2, 2, 4, 0, 3000}, 0},
    {"many blocks per item (16), 20000 rows", run, {1, 256, 11, 8, 8, 16, 0, 20000}, 0},
    {"carry: sums next to multiples of 2^32, uint8, 7 features",
     run,
     {1, 256, 7, 3, 4, 2, 2, -1},
     0},
    {"carry, a feature wider than shared memory (4001 entries)",
     run,
     {2, 4001, 3, 2, 2, 4, 2, 3000},
     0},
    {"carry, one node of about 32000 rows over all 16 blocks",
     run,
     {1, 256, 2, 1, 1, 16, 2, 40000},
     0},
    {"bad arguments are refused", run_args, {0}, 0},
};
BT_OPTEST_SUITE(gbdt_hist, cases);
