/* Quantile binning: exact XGBoost cuts for features with few distinct values, quantile cuts for
 * rich ones, the bin rule (first cut > v) against the raw-value rule (v < cut), missing codes and
 * the 1-byte / 2-byte layouts, on fresh random data. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datasets/binning.h"
#include "tests/bt_test.h"

static double urand(void) {
    return (double)rand() / ((double)RAND_MAX + 1.0);
}

static int cmpf(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Few distinct values: cuts are the distinct values from the 2nd on, then max + |max| + 1e-5. */
static void test_exact(void) {
    int64_t n = 500;
    int32_t F = 4, max_bin = 16;
    float *X = malloc(sizeof(float) * (size_t)(n * F));
    for (int64_t r = 0; r < n; r++)
        for (int32_t f = 0; f < F; f++) {
            int k = f == 3 ? 16 : 3 + 4 * f; /* feature 3: exactly max_bin values */
            X[r * F + f] = urand() < 0.1 ? NAN : (float)((int)(urand() * k) - 2) * 0.75f;
        }
    bt_bin_cuts c;
    CHECK_OK(bt_bin_cuts_fit(&c, X, n, F, max_bin, 1));
    for (int32_t f = 0; f < F; f++) {
        float vals[600];
        int m = 0;
        for (int64_t r = 0; r < n; r++)
            if (!isnan(X[r * F + f])) vals[m++] = X[r * F + f];
        qsort(vals, (size_t)m, sizeof *vals, cmpf);
        float dist[600];
        int k = 0;
        for (int i = 0; i < m; i++)
            if (i == 0 || vals[i] != vals[i - 1]) dist[k++] = vals[i];
        CHECK_EQ_INT(bt_bin_cuts_nbins(&c, f), k);
        const float *cut = c.values + c.ptr[f];
        for (int i = 1; i < k; i++) CHECK(cut[i - 1] == dist[i]);
        CHECK(cut[k - 1] == dist[k - 1] + (fabsf(dist[k - 1]) + 1e-5f));
        CHECK(c.min_values[f] == dist[0] - fabsf(dist[0]) - 1e-5f);
        for (int i = 0; i < k; i++) CHECK_EQ_INT(bt_bin_cuts_bin(&c, f, dist[i]), i);
        CHECK_EQ_INT(bt_bin_cuts_bin(&c, f, NAN), k);
    }
    bt_binned b;
    CHECK_OK(bt_binned_init(&b, &c, X, n, 1, 2));
    for (int64_t r = 0; r < n; r++)
        for (int32_t f = 0; f < F; f++)
            CHECK_EQ_INT(bt_binned_get(&b, r, f), bt_bin_cuts_bin(&c, f, X[r * F + f]));
    for (int32_t f = 0; f < F; f++) CHECK(b.has_missing[f]);
    /* feature 3 has 16 bins + missing: still fits one byte */
    uint8_t miss[4];
    bt_binned_missing(X, n, F, miss);
    const uint8_t *sets[1] = {miss};
    CHECK_EQ_INT(bt_binned_width(&c, sets, 1), 1);
    bt_binned_free(&b);
    bt_bin_cuts_free(&c);
    free(X);
}

/* Rich features: at most max_bin bins, increasing cuts, and for every value the bin rule agrees
 * with the raw comparison v < cut[b] <=> bin(v) <= b used by prediction. */
static void test_quantile(void) {
    int64_t n = 3000;
    int32_t F = 3, max_bin = 64;
    float *X = malloc(sizeof(float) * (size_t)(n * F));
    for (int64_t i = 0; i < n * F; i++) X[i] = (float)(urand() * 100.0 - 30.0);
    bt_bin_cuts c;
    CHECK_OK(bt_bin_cuts_fit(&c, X, n, F, max_bin, 2));
    for (int32_t f = 0; f < F; f++) {
        int32_t nb = bt_bin_cuts_nbins(&c, f);
        CHECK(nb >= max_bin / 2 && nb <= max_bin);
        const float *cut = c.values + c.ptr[f];
        for (int32_t i = 1; i < nb; i++) CHECK(cut[i] > cut[i - 1]);
        int64_t *count = calloc((size_t)nb, sizeof *count);
        for (int64_t r = 0; r < n; r++) {
            float v = X[r * F + f];
            int32_t b = bt_bin_cuts_bin(&c, f, v);
            count[b]++;
            int32_t t = (int32_t)(urand() * nb);
            CHECK((v < cut[t]) == (b <= t));
        }
        /* roughly equal-frequency bins, none empty */
        for (int32_t i = 0; i < nb; i++) CHECK(count[i] > 0 && count[i] < 4 * n / nb);
        free(count);
    }
    /* one thread gives the same cuts as two; negative zeros and infinities sort like numbers */
    X[0] = -0.0f;
    X[F] = 0.0f;
    X[2 * F] = -INFINITY;
    bt_bin_cuts c1, c2;
    CHECK_OK(bt_bin_cuts_fit(&c1, X, n, F, max_bin, 1));
    CHECK_OK(bt_bin_cuts_fit(&c2, X, n, F, max_bin, 2));
    CHECK(c1.ptr[F] == c2.ptr[F] && memcmp(c1.values, c2.values, c1.ptr[F] * sizeof(float)) == 0 &&
          memcmp(c1.min_values, c2.min_values, (size_t)F * sizeof(float)) == 0);
    bt_bin_cuts_free(&c1);
    bt_bin_cuts_free(&c2);
    bt_bin_cuts_free(&c);
    free(X);
}

/* 300 distinct values with max_bin 1024 need 2-byte cells; all-missing features get one bin. */
static void test_wide(void) {
    int64_t n = 600;
    int32_t F = 2;
    float *X = malloc(sizeof(float) * (size_t)(n * F));
    for (int64_t r = 0; r < n; r++) {
        X[r * F] = (float)(r % 300);
        X[r * F + 1] = NAN;
    }
    bt_bin_cuts c;
    CHECK_OK(bt_bin_cuts_fit(&c, X, n, F, 1024, 1));
    CHECK_EQ_INT(bt_bin_cuts_nbins(&c, 0), 300);
    CHECK_EQ_INT(bt_bin_cuts_nbins(&c, 1), 1);
    uint8_t miss[2];
    bt_binned_missing(X, n, F, miss);
    const uint8_t *sets[1] = {miss};
    CHECK_EQ_INT(bt_binned_width(&c, sets, 1), 2);
    bt_binned b;
    CHECK_OK(bt_binned_init(&b, &c, X, n, 2, 1));
    for (int64_t r = 0; r < n; r++) {
        CHECK_EQ_INT(bt_binned_get(&b, r, 0), r % 300);
        CHECK_EQ_INT(bt_binned_get(&b, r, 1), 1);
    }
    bt_binned_free(&b);
    CHECK(bt_binned_init(&b, &c, X, n, 3, 1) != BT_STATUS_OK);
    bt_bin_cuts_free(&c);
    CHECK(bt_bin_cuts_fit(&c, X, n, F, 1, 1) != BT_STATUS_OK);
    bt_binned_free(NULL);
    bt_bin_cuts_free(NULL);
    free(X);
}

int main(void) {
    /* fresh inputs each run; BT_TEST_SEED=<printed seed> replays a failure */
    unsigned seed = getenv("BT_TEST_SEED") ? (unsigned)strtoul(getenv("BT_TEST_SEED"), NULL, 10)
                                           : 12345u ^ (unsigned)time(NULL);
    printf("seed %u\n", seed);
    srand(seed);
    test_exact();
    test_quantile();
    test_wide();
    return bt_test_finish("test_binning");
}
