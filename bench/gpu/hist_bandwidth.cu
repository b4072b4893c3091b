/* Histogram-kernel bandwidth on one GPU: times bt_gbdt_hist_cuda (kernels/cuda/gbdt_hist.cu) on a
 * trial-batched launch -- T trials' root histograms over a shared uint8 bin matrix, then a deeper
 * level (each trial's rows cut into 16 sorted random nodes) -- with CUDA events (warm-up, then the
 * median of repeats), and a large device-to-device cudaMemcpy in the same run as the ceiling.
 * Prints one JSON object (bench/README.md says what each number means). Checks one histogram of
 * each scenario against bt_gbdt_hist_ref bit for bit before timing.
 *   bt_hist_bandwidth [--rows N] [--features F] [--trials T] [--repeats R] [--copy-mib M] */
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <algorithm>
#include <vector>

extern "C" {
#include "kernels/gbdt_hist.h"
#include "base/status.h"
}

#define CK(expr)                                                                                   \
    do {                                                                                           \
        cudaError_t e_ = (expr);                                                                   \
        if (e_ != cudaSuccess) {                                                                   \
            fprintf(stderr, "hist_bandwidth: %s: %s (%s:%d)\n", #expr, cudaGetErrorString(e_),     \
                    __FILE__, __LINE__);                                                           \
            exit(70);                                                                              \
        }                                                                                          \
    } while (0)
#define BT(expr)                                                                                   \
    do {                                                                                           \
        if ((expr) != BT_STATUS_OK) {                                                              \
            fprintf(stderr, "hist_bandwidth: %s: %s\n", #expr, bt_status_message());              \
            exit(70);                                                                              \
        }                                                                                          \
    } while (0)

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n == 0 ? 0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct scenario {
    const char *name;
    std::vector<bt_gbdt_hist_item> items;
    std::vector<int32_t> rows; /* concatenated row lists of every item */
    int64_t rows_total;        /* sum of items' n_rows */
};

/* Times one launch configuration: warm-up, then `repeats` launches each after zeroing the
 * histograms (not timed). Returns the median milliseconds. */
static double time_hist(const uint8_t *d_bins, int64_t n, int32_t F, const uint32_t *d_off,
                        int32_t entries, const int32_t *d_rows, const bt_gbdt_gh *d_gh,
                        bt_gbdt_gh *d_hist, size_t hist_bytes, const bt_gbdt_hist_item *d_items,
                        int32_t n_items, int32_t bpi, int repeats, cudaStream_t s) {
    cudaEvent_t a, b;
    CK(cudaEventCreate(&a));
    CK(cudaEventCreate(&b));
    std::vector<double> ms;
    for (int r = -3; r < repeats; r++) {
        CK(cudaMemsetAsync(d_hist, 0, hist_bytes, s));
        CK(cudaEventRecord(a, s));
        BT(bt_gbdt_hist_cuda(d_bins, 1, n, F, d_off, 0, F, entries, d_rows, d_gh, d_hist, d_items,
                             n_items, bpi, s));
        CK(cudaEventRecord(b, s));
        CK(cudaEventSynchronize(b));
        float t = 0;
        CK(cudaEventElapsedTime(&t, a, b));
        if (r >= 0) ms.push_back(t);
    }
    CK(cudaEventDestroy(a));
    CK(cudaEventDestroy(b));
    return median(ms);
}

int main(int argc, char **argv) {
    int64_t n = 1000000;
    int32_t F = 28, T = 64;
    int repeats = 20;
    int64_t copy_mib = 1024;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--rows")) n = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--features")) F = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--trials")) T = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--repeats")) repeats = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--copy-mib")) copy_mib = atoll(argv[i + 1]);
        else {
            fprintf(stderr, "hist_bandwidth: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (n < 16 || F < 1 || T < 1 || repeats < 1 || copy_mib < 1) {
        fprintf(stderr, "hist_bandwidth: bad sizes\n");
        return 2;
    }
    int dev_count = 0;
    if (cudaGetDeviceCount(&dev_count) != cudaSuccess || dev_count == 0) {
        printf("{\"error\": \"no GPU\"}\n");
        return 77;
    }
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    rng_state ^= (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull;
    const int32_t bins_per_f = 256, entries = bins_per_f + 1; /* max_bin 256 + missing */

    /* host inputs: random bin codes (a few missing), random fixed-point gradients per trial */
    std::vector<uint8_t> bins((size_t)(n * F));
    for (auto &x : bins) x = (uint8_t)(rnd() % 257 == 0 ? 255 : rnd() % 255);
    std::vector<uint32_t> off((size_t)F + 1);
    for (int32_t f = 0; f <= F; f++) off[f] = (uint32_t)(f * entries);
    std::vector<bt_gbdt_gh> gh((size_t)(n * T));
    for (auto &g : gh) {
        g.g = (int64_t)(rnd() >> 20) - (1ll << 43);
        g.h = (int64_t)(rnd() >> 21);
    }

    scenario sc[2];
    sc[0].name = "root";
    sc[1].name = "level4_16_nodes";
    for (int32_t t = 0; t < T; t++) { /* root: every row, in order */
        bt_gbdt_hist_item it = {(int64_t)sc[0].rows.size(), n, (int64_t)t * n,
                                (int64_t)t * off[F]};
        for (int64_t r = 0; r < n; r++) sc[0].rows.push_back((int32_t)r);
        sc[0].items.push_back(it);
    }
    const int nodes = 16;
    for (int32_t t = 0; t < T; t++) { /* a level: rows dealt at random to 16 nodes, kept sorted */
        std::vector<std::vector<int32_t>> node((size_t)nodes);
        for (int64_t r = 0; r < n; r++) node[rnd() % nodes].push_back((int32_t)r);
        for (int k = 0; k < nodes; k++) {
            bt_gbdt_hist_item it = {(int64_t)sc[1].rows.size(), (int64_t)node[k].size(),
                                    (int64_t)t * n, ((int64_t)t * nodes + k) * off[F]};
            sc[1].rows.insert(sc[1].rows.end(), node[k].begin(), node[k].end());
            sc[1].items.push_back(it);
        }
    }
    for (auto &s : sc) {
        s.rows_total = 0;
        for (auto &it : s.items) s.rows_total += it.n_rows;
    }

    uint8_t *d_bins;
    uint32_t *d_off;
    bt_gbdt_gh *d_gh;
    CK(cudaMalloc(&d_bins, bins.size()));
    CK(cudaMalloc(&d_off, off.size() * sizeof(uint32_t)));
    CK(cudaMalloc(&d_gh, gh.size() * sizeof(bt_gbdt_gh)));
    CK(cudaMemcpy(d_bins, bins.data(), bins.size(), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d_off, off.data(), off.size() * sizeof(uint32_t), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d_gh, gh.data(), gh.size() * sizeof(bt_gbdt_gh), cudaMemcpyHostToDevice));
    cudaStream_t s;
    CK(cudaStreamCreate(&s));

    /* the ceiling: a device-to-device copy (bytes read + bytes written) */
    size_t copy_bytes = (size_t)copy_mib << 20;
    void *c_src, *c_dst;
    CK(cudaMalloc(&c_src, copy_bytes));
    CK(cudaMalloc(&c_dst, copy_bytes));
    CK(cudaMemset(c_src, 0x5A, copy_bytes));
    std::vector<double> copy_ms;
    {
        cudaEvent_t a, b;
        CK(cudaEventCreate(&a));
        CK(cudaEventCreate(&b));
        for (int r = -3; r < repeats; r++) {
            CK(cudaEventRecord(a, s));
            CK(cudaMemcpyAsync(c_dst, c_src, copy_bytes, cudaMemcpyDeviceToDevice, s));
            CK(cudaEventRecord(b, s));
            CK(cudaEventSynchronize(b));
            float t = 0;
            CK(cudaEventElapsedTime(&t, a, b));
            if (r >= 0) copy_ms.push_back(t);
        }
        CK(cudaEventDestroy(a));
        CK(cudaEventDestroy(b));
    }
    CK(cudaFree(c_src));
    CK(cudaFree(c_dst));
    double copy_med = median(copy_ms);
    double copy_bps = 2.0 * (double)copy_bytes / (copy_med * 1e-3);

    printf("{\n  \"device\": \"%s\",\n  \"sm_count\": %d,\n  \"rows\": %lld,\n  \"features\": %d,"
           "\n  \"trials\": %d,\n  \"bin_width_bytes\": 1,\n  \"entries_per_feature\": %d,\n"
           "  \"repeats\": %d,\n  \"memcpy_d2d\": {\"bytes\": %zu, \"median_ms\": %.4f, "
           "\"bytes_per_s\": %.4e},\n  \"scenarios\": [",
           prop.name, prop.multiProcessorCount, (long long)n, F, T, entries, repeats, copy_bytes,
           copy_med, copy_bps);
    int bad = 0;
    for (int si = 0; si < 2; si++) {
        scenario &S = sc[si];
        int32_t n_items = (int32_t)S.items.size();
        size_t hist_entries = (size_t)n_items * off[F];
        int32_t *d_rows;
        bt_gbdt_gh *d_hist;
        bt_gbdt_hist_item *d_items;
        CK(cudaMalloc(&d_rows, S.rows.size() * sizeof(int32_t)));
        CK(cudaMalloc(&d_hist, hist_entries * sizeof(bt_gbdt_gh)));
        CK(cudaMalloc(&d_items, S.items.size() * sizeof(bt_gbdt_hist_item)));
        CK(cudaMemcpy(d_rows, S.rows.data(), S.rows.size() * sizeof(int32_t),
                      cudaMemcpyHostToDevice));
        CK(cudaMemcpy(d_items, S.items.data(), S.items.size() * sizeof(bt_gbdt_hist_item),
                      cudaMemcpyHostToDevice));

        /* correct first: one random item against the C reference, bit for bit */
        CK(cudaMemset(d_hist, 0, hist_entries * sizeof(bt_gbdt_gh)));
        BT(bt_gbdt_hist_cuda(d_bins, 1, n, F, d_off, 0, F, entries, d_rows, d_gh, d_hist, d_items,
                             n_items, 4, s));
        CK(cudaStreamSynchronize(s));
        int check = (int)(rnd() % (uint64_t)n_items);
        const bt_gbdt_hist_item &it = S.items[(size_t)check];
        std::vector<bt_gbdt_gh> ref(off[F]), got(off[F]);
        memset(ref.data(), 0, ref.size() * sizeof(bt_gbdt_gh));
        bt_gbdt_hist_ref(bins.data(), 1, F, off.data(), 0, F, S.rows.data() + it.row_begin,
                         it.n_rows, gh.data() + it.gh_offset, ref.data());
        CK(cudaMemcpy(got.data(), d_hist + it.hist_offset, got.size() * sizeof(bt_gbdt_gh),
                      cudaMemcpyDeviceToHost));
        int same = memcmp(ref.data(), got.data(), ref.size() * sizeof(bt_gbdt_gh)) == 0;
        bad += !same;

        /* bytes one item must move: its row ids, its rows' bin codes and (g, h), its histogram
         * written once; "unique" counts the shared bin matrix once per launch */
        double item_bytes = (double)S.rows_total * (4.0 + F * 1.0 + 16.0) +
                            (double)hist_entries * 16.0;
        double unique_bytes = (double)S.rows_total * (4.0 + 16.0) + (double)n * F +
                              (double)hist_entries * 16.0;
        printf("%s\n    {\"name\": \"%s\", \"items\": %d, \"rows_total\": %lld, "
               "\"matches_reference\": %s, \"logical_bytes\": %.4e, \"unique_bytes\": %.4e, "
               "\"by_blocks_per_item\": [",
               si ? "," : "", S.name, n_items, (long long)S.rows_total, same ? "true" : "false",
               item_bytes, unique_bytes);
        const int bpis[] = {1, 2, 4, 8, 16, 32};
        double best_ms = 1e30;
        int best_bpi = 0;
        for (int k = 0; k < 6; k++) {
            double ms = time_hist(d_bins, n, F, d_off, entries, d_rows, d_gh, d_hist,
                                  hist_entries * sizeof(bt_gbdt_gh), d_items, n_items, bpis[k],
                                  repeats, s);
            printf("%s{\"blocks_per_item\": %d, \"median_ms\": %.4f, \"logical_bytes_per_s\": "
                   "%.4e, \"unique_bytes_per_s\": %.4e}",
                   k ? ", " : "", bpis[k], ms, item_bytes / (ms * 1e-3),
                   unique_bytes / (ms * 1e-3));
            if (ms < best_ms) {
                best_ms = ms;
                best_bpi = bpis[k];
            }
        }
        printf("],\n     \"best\": {\"blocks_per_item\": %d, \"median_ms\": %.4f, "
               "\"logical_bytes_per_s\": %.4e, \"unique_bytes_per_s\": %.4e, "
               "\"unique_fraction_of_memcpy\": %.4f, \"rows_x_features_per_s\": %.4e}}",
               best_bpi, best_ms, item_bytes / (best_ms * 1e-3), unique_bytes / (best_ms * 1e-3),
               unique_bytes / (best_ms * 1e-3) / copy_bps,
               (double)S.rows_total * F / (best_ms * 1e-3));
        CK(cudaFree(d_rows));
        CK(cudaFree(d_hist));
        CK(cudaFree(d_items));
    }
    printf("\n  ],\n  \"all_match_reference\": %s\n}\n", bad ? "false" : "true");
    CK(cudaFree(d_bins));
    CK(cudaFree(d_off));
    CK(cudaFree(d_gh));
    CK(cudaStreamDestroy(s));
    return bad ? 1 : 0;
}
