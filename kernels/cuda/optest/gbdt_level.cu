/* Op table suite gbdt_level (kernels/optest.h): bt_gbdt_level_prepare_cuda against
 * bt_gbdt_level_prepare_ref on fresh random inputs: 0, 1, 127, 129 and 5000 sibling pairs with
 * random ranges, histogram offsets and split item slots, some padding pairs, left counts of 0, all
 * rows, in between and out of range (clamped). The launch items (zero, build, subtraction) and the
 * patched split fields must be the documented mapping of the reference's outputs exactly; split
 * items no pair names stay untouched. */
#include "kernels/cuda/optest/optest.cuh"

extern "C" {
#include "kernels/gbdt_level.h"
}

static void run_case(int32_t n_pairs) {
    const int64_t T = 1 + irand(700);
    std::vector<bt_gbdt_level_pair> pairs((size_t)n_pairs);
    std::vector<int64_t> n_left((size_t)n_pairs + 1);
    const int32_t n_split = 2 * n_pairs + 3;
    /* each pair names two distinct split items: a random permutation */
    std::vector<int32_t> perm((size_t)n_split);
    for (int32_t i = 0; i < n_split; i++) perm[(size_t)i] = i;
    for (int32_t i = n_split - 1; i > 0; i--) {
        int32_t j = (int32_t)irand(i + 1);
        int32_t x = perm[(size_t)i];
        perm[(size_t)i] = perm[(size_t)j];
        perm[(size_t)j] = x;
    }
    for (int32_t i = 0; i < n_pairs; i++) {
        bt_gbdt_level_pair &p = pairs[(size_t)i];
        memset(&p, 0, sizeof p);
        p.seg = irand(1000) * 4096;
        p.parent_rows = irand(4) == 0 ? irand(3) : irand(100000);
        p.parent_begin = irand(100000);
        p.parent_hist = irand(64) * T;
        p.new_hist = (64 + irand(64)) * T;
        p.part = urand() < 0.1 ? -1 : (int32_t)irand(n_pairs + 1);
        p.split_left = perm[(size_t)(2 * i)];
        p.split_right = perm[(size_t)(2 * i + 1)];
    }
    for (auto &x : n_left) {
        int64_t k = irand(5);
        x = k == 0 ? 0 : k == 1 ? 100000 : k == 2 ? -1 - irand(5) : k == 3 ? 200000 : irand(100000);
    }
    std::vector<bt_gbdt_level_out> ref((size_t)n_pairs);
    bt_gbdt_level_prepare_ref(pairs.data(), n_pairs, n_left.data(), ref.data());
    std::vector<bt_gbdt_split_item> split((size_t)n_split);
    for (auto &s : split) {
        memset(&s, 0, sizeof s);
        s.hist_offset = -7;
        s.n_rows = -7;
        s.trial = (int32_t)irand(100);
    }
    std::vector<bt_gbdt_split_item> want = split;
    std::vector<bt_gbdt_hist_zero_item> wz((size_t)n_pairs);
    std::vector<bt_gbdt_hist_item> wb((size_t)n_pairs);
    std::vector<bt_gbdt_hist_sub_item> ws((size_t)n_pairs);
    for (int32_t i = 0; i < n_pairs; i++) {
        const bt_gbdt_level_pair &p = pairs[(size_t)i];
        const bt_gbdt_level_out &o = ref[(size_t)i];
        if (p.part < 0) {
            wz[(size_t)i] = {0, 0};
            wb[(size_t)i] = {0, 0, 0, 0};
            ws[(size_t)i] = {-1, 0};
            continue;
        }
        wz[(size_t)i] = {p.new_hist, T};
        wb[(size_t)i] = {p.seg + o.small_begin, o.small_rows, p.seg, p.new_hist};
        ws[(size_t)i] = {p.parent_hist, p.new_hist};
        want[(size_t)p.split_left].hist_offset = o.left_hist;
        want[(size_t)p.split_left].n_rows = o.left_rows;
        want[(size_t)p.split_right].hist_offset = o.right_hist;
        want[(size_t)p.split_right].n_rows = o.right_rows;
    }
    bt_gbdt_level_pair *pairs_d = dev_from(pairs);
    int64_t *n_left_d = dev_from(n_left);
    bt_gbdt_split_item *split_d = dev_from(split);
    auto *zero_d = dev_zero<bt_gbdt_hist_zero_item>((size_t)n_pairs);
    auto *build_d = dev_zero<bt_gbdt_hist_item>((size_t)n_pairs);
    auto *sub_d = dev_zero<bt_gbdt_hist_sub_item>((size_t)n_pairs);
    CHECK_OK(bt_gbdt_level_prepare_cuda(pairs_d, n_pairs, n_left_d, T, zero_d, build_d, sub_d,
                                        split_d, NULL));
    auto gz = host_from(zero_d, (size_t)n_pairs);
    auto gb = host_from(build_d, (size_t)n_pairs);
    auto gs = host_from(sub_d, (size_t)n_pairs);
    auto gp = host_from(split_d, (size_t)n_split);
    CHECK_MSG(same_bytes(gz.data(), wz.data(), wz.size() * sizeof wz[0]), "zero, %d pairs",
              n_pairs);
    CHECK_MSG(same_bytes(gb.data(), wb.data(), wb.size() * sizeof wb[0]), "build, %d pairs",
              n_pairs);
    CHECK_MSG(same_bytes(gs.data(), ws.data(), ws.size() * sizeof ws[0]), "sub, %d pairs", n_pairs);
    CHECK_MSG(same_bytes(gp.data(), want.data(), want.size() * sizeof want[0]), "split, %d pairs",
              n_pairs);
    cudaFree(pairs_d);
    cudaFree(n_left_d);
    cudaFree(split_d);
    cudaFree(zero_d);
    cudaFree(build_d);
    cudaFree(sub_d);
}

/* p: sibling pairs */
BT_OPTEST_RUNNER(run) {
    run_case((int32_t)c->p[0]);
}

/* bad arguments are refused, not launched */
BT_OPTEST_RUNNER(run_args) {
    CHECK(bt_gbdt_level_prepare_cuda(NULL, -1, NULL, 1, NULL, NULL, NULL, NULL, NULL) ==
          BT_STATUS_BAD_INPUT);
    bt_status_clear();
}

static const bt_op_case cases[] = {
    {"0 sibling pairs", run, {0}, 0},       {"1 sibling pair", run, {1}, 0},
    {"127 sibling pairs", run, {127}, 0},   {"129 sibling pairs", run, {129}, 0},
    {"5000 sibling pairs", run, {5000}, 0}, {"bad arguments are refused", run_args, {0}, 0},
};
BT_OPTEST_SUITE(gbdt_level, cases);
