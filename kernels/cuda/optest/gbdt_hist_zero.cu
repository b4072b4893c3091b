/* Op table suite gbdt_hist_zero (kernels/optest.h): bt_gbdt_hist_zero_cuda against
 * bt_gbdt_hist_zero_ref on fresh random inputs: histograms full of random sums, items clearing
 * ranges of 0 (padding), 1, 255, 257 and thousands of entries at random offsets, some negative
 * counts; the cleared and the untouched entries must match exactly. Also replayed from a captured
 * CUDA graph with the items changed in between, as the pack does. */
#include "kernels/cuda/optest/optest.cuh"

extern "C" {
#include "kernels/gbdt_hist.h"
}

static std::vector<bt_gbdt_hist_zero_item> random_items(int64_t total, int n_items) {
    std::vector<bt_gbdt_hist_zero_item> items;
    /* disjoint ranges: cut [0, total) into n_items segments, clear a random prefix of each */
    int64_t beg = 0;
    for (int i = 0; i < n_items; i++) {
        int64_t len = i == n_items - 1 ? total - beg : irand(total - beg + 1);
        const int64_t pick[] = {0, 1, 255, 257, len};
        int64_t n = pick[irand(5)];
        if (n > len) n = len;
        if (urand() < 0.1) n = -n; /* negative: a no-op like 0 */
        items.push_back({beg, n});
        beg += len;
    }
    return items;
}

static void run_case(int64_t total, int n_items, bool graph) {
    std::vector<bt_gbdt_gh> hist((size_t)total);
    for (auto &v : hist) {
        v.g = (int64_t)rnd_u64();
        v.h = (int64_t)rnd_u64();
    }
    std::vector<bt_gbdt_hist_zero_item> items = random_items(total, n_items);
    bt_gbdt_gh *hist_d = dev_from(hist);
    bt_gbdt_hist_zero_item *items_d = dev_from(items);
    /* a synchronous copy from pageable memory may return before its DMA completed, on the legacy
     * stream, which a non-blocking stream does not wait for */
    CUDA_OK(cudaDeviceSynchronize());
    cudaStream_t s = NULL;
    CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    cudaGraphExec_t exec = NULL;
    if (graph) {
        cudaGraph_t g = NULL;
        CUDA_OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
        CHECK_OK(bt_gbdt_hist_zero_cuda(hist_d, items_d, n_items, s));
        CUDA_OK(cudaStreamEndCapture(s, &g));
        CUDA_OK(cudaGraphInstantiate(&exec, g, 0));
        cudaGraphDestroy(g);
    }
    for (int rep = 0; rep < (graph ? 3 : 1); rep++) {
        if (rep > 0) { /* new ranges in the same item buffer, then replay */
            items = random_items(total, n_items);
            for (auto &v : hist) v.g = (int64_t)rnd_u64();
            CUDA_OK(cudaMemcpy(items_d, items.data(), items.size() * sizeof items[0],
                               cudaMemcpyHostToDevice));
            CUDA_OK(cudaMemcpy(hist_d, hist.data(), hist.size() * sizeof hist[0],
                               cudaMemcpyHostToDevice));
            CUDA_OK(cudaDeviceSynchronize()); /* as above */
        }
        std::vector<bt_gbdt_gh> ref = hist;
        bt_gbdt_hist_zero_ref(ref.data(), items.data(), n_items);
        if (graph)
            CUDA_OK(cudaGraphLaunch(exec, s));
        else
            CHECK_OK(bt_gbdt_hist_zero_cuda(hist_d, items_d, n_items, s));
        CUDA_OK(cudaStreamSynchronize(s));
        std::vector<bt_gbdt_gh> got = host_from(hist_d, hist.size());
        CHECK_MSG(same_bytes(got.data(), ref.data(), ref.size() * sizeof ref[0]),
                  "hist_zero total %lld items %d graph %d rep %d", (long long)total, n_items,
                  (int)graph, rep);
    }
    if (exec) cudaGraphExecDestroy(exec);
    cudaStreamDestroy(s);
    cudaFree(hist_d);
    cudaFree(items_d);
}

/* p: entries, graph (0: one direct launch; 1: captured once, replayed 3 times); 1, 9, 17, 25 and
 * 33 items each */
BT_OPTEST_RUNNER(run) {
    for (int items = 1; items <= 33; items += 8) run_case(c->p[0], items, c->p[1] != 0);
}

/* bad arguments are refused, not launched; no items launch nothing */
BT_OPTEST_RUNNER(run_args) {
    CHECK(bt_gbdt_hist_zero_cuda(NULL, NULL, -1, NULL) == BT_STATUS_BAD_INPUT);
    bt_status_clear();
    CHECK_OK(bt_gbdt_hist_zero_cuda(NULL, NULL, 0, NULL)); /* nothing to launch */
}

static const bt_op_case cases[] = {
    {"1 entry, 1 to 33 items", run, {1, 0}, 0},
    {"1 entry, 1 to 33 items, CUDA graph replays", run, {1, 1}, 0},
    {"300 entries, 1 to 33 items", run, {300, 0}, 0},
    {"300 entries, 1 to 33 items, CUDA graph replays", run, {300, 1}, 0},
    {"5000 entries, 1 to 33 items", run, {5000, 0}, 0},
    {"5000 entries, 1 to 33 items, CUDA graph replays", run, {5000, 1}, 0},
    {"200000 entries, 1 to 33 items", run, {200000, 0}, 0},
    {"200000 entries, 1 to 33 items, CUDA graph replays", run, {200000, 1}, 0},
    {"bad arguments are refused, no items launch nothing", run_args, {0}, 0},
};
BT_OPTEST_SUITE(gbdt_hist_zero, cases);
