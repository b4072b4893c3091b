/* Split, synthetic sets and bt_dataset_from_spec: exact split sizes and per-class counts on fresh
 * random label mixes, determinism, the too-few-rows errors, label checks per task with their
 * line numbers, Friedman #1's formula, the classification set's balance, and every spec route. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datasets/loaders.h"
#include "tests/bt_test.h"

static char *src_path(const char *rel) {
    static char bufs[4][1024];
    static int k = 0;
    char *p = bufs[k++ % 4];
    const char *src = getenv("BT_SOURCE_DIR");
    snprintf(p, 1024, "%s/%s", src ? src : ".", rel);
    return p;
}

static char *tmp(const char *name) {
    static char bufs[4][1024];
    static int k = 0;
    char *p = bufs[k++ % 4];
    snprintf(p, 1024, "%s/%s", bt_test_tmpdir(), name);
    return p;
}

static void expect(bt_status s, bt_status want, const char *needle) {
    CHECK_MSG(s == want, "status %d, want %d (%s)", (int)s, (int)want, bt_status_message());
    if (needle)
        CHECK_MSG(strstr(bt_status_message(), needle) != NULL, "message '%s' lacks '%s'",
                  bt_status_message(), needle);
}

/* A table whose first feature is the row number, so split parts can be traced back. */
static void make_table(bt_dataset *d, int64_t n, const float *labels) {
    memset(d, 0, sizeof *d);
    bt_dataset_alloc(d, n, 2);
    for (int64_t i = 0; i < n; i++) {
        d->X[2 * i] = (float)i;
        d->X[2 * i + 1] = (float)(i * 3);
        d->y[i] = labels ? labels[i] : (float)i * 0.5f;
    }
    d->source = bt_strdup_("table");
}

static void test_split_regression(void) {
    int64_t n = 500 + rand() % 1000;
    bt_dataset all, tr, va, tr2, va2;
    make_table(&all, n, NULL);
    CHECK_OK(bt_dataset_split(&all, 0.2, 42, 0, &tr, &va));
    CHECK_EQ_INT(va.n_rows, llround(0.2 * (double)n));
    CHECK_EQ_INT(tr.n_rows + va.n_rows, n);
    /* every row exactly once, file order kept, X and y kept together */
    char *seen = calloc((size_t)n, 1);
    int bad = 0;
    for (int p = 0; p < 2; p++) {
        bt_dataset *d = p ? &va : &tr;
        for (int64_t i = 0; i < d->n_rows; i++) {
            int64_t r = (int64_t)d->X[2 * i];
            bad += seen[r]++ != 0;
            bad += d->y[i] != (float)r * 0.5f || d->X[2 * i + 1] != (float)(r * 3);
            if (i) bad += d->X[2 * i] <= d->X[2 * (i - 1)];
        }
    }
    CHECK_EQ_INT(bad, 0);
    free(seen);
    /* deterministic, and another seed picks other rows */
    CHECK_OK(bt_dataset_split(&all, 0.2, 42, 0, &tr2, &va2));
    CHECK(va2.n_rows == va.n_rows &&
          memcmp(va2.X, va.X, (size_t)va.n_rows * 2 * sizeof(float)) == 0);
    bt_dataset_free(&tr2), bt_dataset_free(&va2);
    CHECK_OK(bt_dataset_split(&all, 0.2, 43, 0, &tr2, &va2));
    CHECK(memcmp(va2.X, va.X, (size_t)va.n_rows * 2 * sizeof(float)) != 0);
    bt_dataset_free(&tr2), bt_dataset_free(&va2);
    bt_dataset_free(&tr), bt_dataset_free(&va), bt_dataset_free(&all);
}

static void test_split_stratified(void) {
    int K = 2 + rand() % 6;
    int64_t counts[8], n = 0;
    for (int c = 0; c < K; c++) n += counts[c] = 5 + rand() % 200;
    float *lab = malloc((size_t)n * sizeof(float));
    /* classes interleaved at random positions */
    int64_t left[8], k = 0;
    memcpy(left, counts, sizeof left);
    while (k < n) {
        int c = rand() % K;
        if (left[c]) lab[k++] = (float)c, left[c]--;
    }
    double frac = 0.1 + 0.3 * (rand() / (double)RAND_MAX);
    bt_dataset all, tr, va;
    make_table(&all, n, lab);
    CHECK_OK(bt_dataset_split(&all, frac, 7, 1, &tr, &va));
    CHECK_EQ_INT(va.n_rows, llround(frac * (double)n));
    int64_t vc[8] = {0};
    for (int64_t i = 0; i < va.n_rows; i++) vc[(int)va.y[i]]++;
    for (int c = 0; c < K; c++) {
        double exact = frac * (double)counts[c];
        CHECK_MSG(vc[c] == (int64_t)floor(exact) || vc[c] == (int64_t)ceil(exact),
                  "class %d: %lld of %lld in valid, frac %g", c, (long long)vc[c],
                  (long long)counts[c], frac);
    }
    bt_dataset_free(&tr), bt_dataset_free(&va), bt_dataset_free(&all);
    free(lab);

    /* a fixed case: 70/25/5 rows at 0.2 -> exactly 14/5/1 */
    float fixed[100];
    for (int i = 0; i < 100; i++) fixed[i] = i < 70 ? 0.0f : i < 95 ? 1.0f : 2.0f;
    make_table(&all, 100, fixed);
    CHECK_OK(bt_dataset_split(&all, 0.2, 42, 1, &tr, &va));
    int64_t f3[3] = {0};
    for (int64_t i = 0; i < va.n_rows; i++) f3[(int)va.y[i]]++;
    CHECK(f3[0] == 14 && f3[1] == 5 && f3[2] == 1);
    bt_dataset_free(&tr), bt_dataset_free(&va), bt_dataset_free(&all);
}

static void test_split_errors(void) {
    bt_dataset all, tr, va;
    make_table(&all, 3, NULL);
    expect(bt_dataset_split(&all, 0.1, 1, 0, &tr, &va), BT_STATUS_BAD_INPUT,
           "3 rows are too few for valid_fraction 0.1: the valid set would be empty");
    expect(bt_dataset_split(&all, 0.9, 1, 0, &tr, &va), BT_STATUS_BAD_INPUT,
           "the train set would be empty");
    expect(bt_dataset_split(&all, 1.0, 1, 0, &tr, &va), BT_STATUS_BAD_INPUT, "must be in (0, 1)");
    CHECK(tr.X == NULL && va.X == NULL);
    bt_dataset_free(&all);
    float lab[5] = {0, 0, 0, 0, 1};
    make_table(&all, 5, lab);
    expect(bt_dataset_split(&all, 0.5, 1, 1, &tr, &va), BT_STATUS_BAD_INPUT,
           "class 1 has only 1 row: with valid_fraction 0.5 none would be left for train");
    CHECK_OK(bt_dataset_split(&all, 0.2, 1, 1, &tr, &va)); /* the lone row stays in train */
    CHECK(va.n_rows == 1 && va.y[0] == 0 && tr.n_rows == 4);
    bt_dataset_free(&tr), bt_dataset_free(&va), bt_dataset_free(&all);
}

static void test_labels(void) {
    bt_dataset d;
    float lab[4] = {0, 1, 2.5f, 1};
    make_table(&d, 4, lab);
    int64_t lines[4] = {2, 3, 7, 9};
    expect(bt_dataset_check_labels(&d, BT_TASK_BINARY, 2, "f.csv", lines), BT_STATUS_BAD_INPUT,
           "f.csv:7: label 2.5 is not 0 or 1 (task is binary)");
    expect(bt_dataset_check_labels(&d, BT_TASK_MULTICLASS, 0, "f.bin", NULL), BT_STATUS_BAD_INPUT,
           "f.bin: row 3: label 2.5 is not a class number");
    CHECK_OK(bt_dataset_check_labels(&d, BT_TASK_REGRESSION, 0, "f", NULL));
    d.y[2] = 2;
    CHECK_OK(bt_dataset_check_labels(&d, BT_TASK_MULTICLASS, 0, "f", NULL));
    CHECK_OK(bt_dataset_check_labels(&d, BT_TASK_MULTICLASS, 3, "f", NULL));
    expect(bt_dataset_check_labels(&d, BT_TASK_MULTICLASS, 2, "f", lines), BT_STATUS_BAD_INPUT,
           "f:7: label 2 is out of range: classes are 0..1");
    d.y[3] = -1;
    expect(bt_dataset_check_labels(&d, BT_TASK_MULTICLASS, 0, "f", lines), BT_STATUS_BAD_INPUT,
           "f:9: label -1");
    d.y[3] = INFINITY;
    expect(bt_dataset_check_labels(&d, BT_TASK_REGRESSION, 0, "f", lines), BT_STATUS_BAD_INPUT,
           "f:9: label inf is not a finite number");
    bt_dataset_free(&d);
}

static void test_friedman1(void) {
    bt_dataset a, b;
    int64_t n = 20000;
    CHECK_OK(bt_dataset_synthetic_friedman1(n, 7, 0.0, 5, &a));
    CHECK(a.n_rows == n && a.n_features == 7);
    int bad = 0;
    for (int64_t i = 0; i < n && a.X; i++) {
        const float *x = a.X + i * 7;
        for (int j = 0; j < 7; j++) bad += !(x[j] >= 0 && x[j] < 1);
        double f = 10 * sin(3.14159265358979323846 * x[0] * x[1]) +
                   20 * (x[2] - 0.5) * (x[2] - 0.5) + 10 * x[3] + 5 * x[4];
        bad += fabs(a.y[i] - f) > 1e-5 * (1 + fabs(f));
    }
    CHECK_EQ_INT(bad, 0);
    /* each feature roughly uniform: mean ~0.5, and the columns differ */
    double m0 = 0, m6 = 0;
    for (int64_t i = 0; i < n; i++) m0 += a.X[i * 7], m6 += a.X[i * 7 + 6];
    CHECK_NEAR(m0 / n, 0.5, 0.01);
    CHECK_NEAR(m6 / n, 0.5, 0.01);
    CHECK(a.X[0] != a.X[6]);
    /* noise: residual standard deviation is noise, same X for the same seed */
    CHECK_OK(bt_dataset_synthetic_friedman1(n, 7, 2.0, 5, &b));
    CHECK(memcmp(a.X, b.X, (size_t)n * 7 * sizeof(float)) == 0);
    double s1 = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++) {
        double r = (double)b.y[i] - a.y[i];
        s1 += r, s2 += r * r;
    }
    double sd = sqrt(s2 / n - (s1 / n) * (s1 / n));
    CHECK_NEAR(sd, 2.0, 0.06);
    CHECK_NEAR(s1 / n, 0.0, 0.06);
    bt_dataset_free(&b);
    CHECK_OK(bt_dataset_synthetic_friedman1(n, 7, 0.0, 6, &b));
    CHECK(memcmp(a.X, b.X, (size_t)n * 7 * sizeof(float)) != 0);
    bt_dataset_free(&a), bt_dataset_free(&b);
    expect(bt_dataset_synthetic_friedman1(10, 4, 0, 1, &a), BT_STATUS_BAD_INPUT,
           "at least 5 features");
    /* speed: 1M rows x 10 features */
    clock_t t0 = clock();
    CHECK_OK(bt_dataset_synthetic_friedman1(1000000, 10, 1.0, 1, &a));
    printf("friedman1 1M x 10: %.3f s cpu\n", (double)(clock() - t0) / CLOCKS_PER_SEC);
    bt_dataset_free(&a);
}

static void test_classification(void) {
    int C = 2 + rand() % 5, F = 8 + rand() % 20;
    int64_t n = 3000 + rand() % 3000;
    bt_dataset a, b;
    CHECK_OK(bt_dataset_synthetic_classification(n, F, C, 0.0, 11, &a));
    CHECK(a.n_rows == n && a.n_features == F);
    int64_t cnt[8] = {0};
    for (int64_t i = 0; i < n; i++) cnt[(int)a.y[i]]++;
    for (int c = 0; c < C; c++) CHECK(cnt[c] == n / C || cnt[c] == n / C + 1);
    CHECK(strncmp(a.feature_names[0], "informative_0", 14) == 0);
    CHECK(strncmp(a.feature_names[F - 1], "noise_", 6) == 0);
    /* informative features separate classes: some class mean differs clearly */
    double best = 0;
    for (int j = 0; j < 3; j++) {
        double mean[8] = {0};
        for (int64_t i = 0; i < n; i++) mean[(int)a.y[i]] += a.X[i * F + j];
        for (int c = 0; c < C; c++) mean[c] /= (double)cnt[c];
        for (int c = 1; c < C; c++) best = fmax(best, fabs(mean[c] - mean[0]));
    }
    CHECK_MSG(best > 0.3, "largest class-mean gap %g", best);
    CHECK_OK(bt_dataset_synthetic_classification(n, F, C, 0.0, 11, &b));
    CHECK(memcmp(a.X, b.X, (size_t)n * F * sizeof(float)) == 0 &&
          memcmp(a.y, b.y, (size_t)n * sizeof(float)) == 0);
    bt_dataset_free(&b);
    /* flip_y 0.3: about 0.3 * (C-1)/C of labels change */
    CHECK_OK(bt_dataset_synthetic_classification(n, F, C, 0.3, 11, &b));
    int64_t changed = 0;
    for (int64_t i = 0; i < n; i++) changed += a.y[i] != b.y[i];
    CHECK_NEAR((double)changed / n, 0.3 * (C - 1) / C, 0.04);
    bt_dataset_free(&a), bt_dataset_free(&b);
    expect(bt_dataset_synthetic_classification(10, 5, 1, 0, 1, &a), BT_STATUS_BAD_INPUT,
           "classes must be in");
    expect(bt_dataset_synthetic_classification(10, 2, 8, 0, 1, &a), BT_STATUS_BAD_INPUT,
           "8 classes need at least 3 features");
}

static bt_dataset_spec base_spec(void) {
    bt_dataset_spec s;
    memset(&s, 0, sizeof s);
    s.target_index = -1;
    s.valid_fraction = 0.2;
    s.split_seed = 42;
    return s;
}

static void test_from_spec(void) {
    bt_dataset tr, va, tr2, va2;
    bt_dataset_spec s = base_spec();
    s.path = src_path("sweeps/examples/data/iris.csv");
    CHECK_OK(bt_dataset_from_spec(&s, BT_TASK_MULTICLASS, 0, &tr, &va));
    CHECK(tr.n_rows == 120 && va.n_rows == 30 && tr.n_features == 4);
    int64_t vc[3] = {0};
    for (int64_t i = 0; i < va.n_rows; i++) vc[(int)va.y[i]]++;
    CHECK(vc[0] == 10 && vc[1] == 10 && vc[2] == 10);
    CHECK_MSG(tr.source && strstr(tr.source, "iris.csv: train 120 of 150 rows") &&
                  strstr(tr.source, "stratified"),
              "%s", tr.source);
    CHECK(tr.feature_names && strcmp(va.feature_names[3], "petal_width_cm") == 0);
    CHECK_OK(bt_dataset_from_spec(&s, BT_TASK_MULTICLASS, 3, &tr2, &va2));
    CHECK(memcmp(tr.X, tr2.X, (size_t)tr.n_rows * 4 * sizeof(float)) == 0);
    bt_dataset_free(&tr2), bt_dataset_free(&va2);
    bt_dataset_free(&tr), bt_dataset_free(&va);

    /* the task's label checks, with the CSV line of the first bad label */
    bt_dataset all;
    CHECK_OK(bt_dataset_load_csv(src_path("sweeps/examples/data/iris.csv"), NULL, -1, &all, NULL));
    int64_t first2 = 0;
    while (all.y[first2] != 2) first2++;
    bt_dataset_free(&all);
    char want[256];
    snprintf(want, sizeof want, "iris.csv:%lld: label 2 is not 0 or 1", (long long)first2 + 2);
    expect(bt_dataset_from_spec(&s, BT_TASK_BINARY, 2, &tr, &va), BT_STATUS_BAD_INPUT, want);
    expect(bt_dataset_from_spec(&s, BT_TASK_MULTICLASS, 2, &tr, &va), BT_STATUS_BAD_INPUT,
           "classes are 0..1");
    CHECK(tr.X == NULL && va.X == NULL);

    /* regression on boston by target name; gzip'd digits */
    s.path = src_path("sweeps/examples/data/boston.csv");
    s.target_name = "MEDV";
    CHECK_OK(bt_dataset_from_spec(&s, BT_TASK_REGRESSION, 0, &tr, &va));
    CHECK(tr.n_rows == 405 && va.n_rows == 101 && tr.n_features == 13);
    CHECK(strstr(tr.source, "stratified") == NULL);
    bt_dataset_free(&tr), bt_dataset_free(&va);
    s.target_name = "medv";
    expect(bt_dataset_from_spec(&s, BT_TASK_REGRESSION, 0, &tr, &va), BT_STATUS_BAD_INPUT,
           "did you mean 'MEDV'?");
    s.target_name = NULL;
    s.path = src_path("sweeps/examples/data/digits.csv.gz");
    CHECK_OK(bt_dataset_from_spec(&s, BT_TASK_MULTICLASS, 10, &tr, &va));
    CHECK(tr.n_rows + va.n_rows == 1797 && tr.n_features == 64);
    bt_dataset_free(&tr), bt_dataset_free(&va);

    /* explicit train and valid files; valid's feature count must match */
    s = base_spec();
    s.train = src_path("sweeps/examples/data/breast_cancer.csv");
    s.valid = src_path("sweeps/examples/data/breast_cancer.csv");
    CHECK_OK(bt_dataset_from_spec(&s, BT_TASK_BINARY, 2, &tr, &va));
    CHECK(tr.n_rows == 569 && va.n_rows == 569);
    CHECK_MSG(strcmp(va.source, "breast_cancer.csv (569 rows)") == 0, "%s", va.source);
    bt_dataset_free(&tr), bt_dataset_free(&va);
    s.valid = src_path("sweeps/examples/data/wine.csv");
    expect(bt_dataset_from_spec(&s, BT_TASK_REGRESSION, 0, &tr, &va), BT_STATUS_BAD_INPUT,
           "valid set has 13 features");
    CHECK(tr.X == NULL && va.X == NULL);

    /* LIBSVM train and valid files: the narrower one is widened with missing columns */
    FILE *f = fopen(tmp("tr.svm"), "w");
    fputs("1 1:1 5:2\n0 2:3\n", f);
    fclose(f);
    f = fopen(tmp("va.svm"), "w");
    fputs("0 3:4\n", f);
    fclose(f);
    s = base_spec();
    s.train = tmp("tr.svm");
    s.valid = tmp("va.svm");
    CHECK_OK(bt_dataset_from_spec(&s, BT_TASK_BINARY, 2, &tr, &va));
    CHECK(tr.n_features == 5 && va.n_features == 5 && va.X[2] == 4 && isnan(va.X[4]) &&
          isnan(va.X[0]));
    bt_dataset_free(&tr), bt_dataset_free(&va);

    /* a format given explicitly, unknown names, missing files, conflicting keys */
    f = fopen(tmp("plain.dat"), "w");
    fputs("a,b\n1,0\n2,1\n3,0\n4,1\n5,0\n", f);
    fclose(f);
    s = base_spec();
    s.path = tmp("plain.dat");
    expect(bt_dataset_from_spec(&s, BT_TASK_BINARY, 2, &tr, &va), BT_STATUS_BAD_INPUT,
           "cannot tell the format");
    s.format = "csv";
    CHECK_OK(bt_dataset_from_spec(&s, BT_TASK_BINARY, 2, &tr, &va));
    CHECK(tr.n_rows == 4 && va.n_rows == 1);
    bt_dataset_free(&tr), bt_dataset_free(&va);
    s.format = "xlsx";
    expect(bt_dataset_from_spec(&s, BT_TASK_BINARY, 2, &tr, &va), BT_STATUS_BAD_INPUT,
           "dataset.format 'xlsx'");
    s.format = NULL;
    s.path = tmp("absent.csv");
    expect(bt_dataset_from_spec(&s, BT_TASK_BINARY, 2, &tr, &va), BT_STATUS_NO_INPUT,
           "absent.csv: no such file");
    s.train = s.path;
    expect(bt_dataset_from_spec(&s, BT_TASK_BINARY, 2, &tr, &va), BT_STATUS_BAD_INPUT, "not both");
    s = base_spec();
    expect(bt_dataset_from_spec(&s, BT_TASK_BINARY, 2, &tr, &va), BT_STATUS_BAD_INPUT,
           "give path, train");
    /* too few rows for a stratified split: 5 rows, class 1 appears once, valid_fraction 0.5 */
    f = fopen(tmp("few.csv"), "w");
    fputs("a,t\n1,0\n2,0\n3,0\n4,0\n5,1\n", f);
    fclose(f);
    s.path = tmp("few.csv");
    s.valid_fraction = 0.5;
    expect(bt_dataset_from_spec(&s, BT_TASK_BINARY, 2, &tr, &va), BT_STATUS_BAD_INPUT,
           "class 1 has only 1 row");

    /* synthetic sets go through the same split */
    s = base_spec();
    s.synthetic = "friedman1";
    s.rows = 1000;
    s.seed = 3;
    s.noise = 1;
    CHECK_OK(bt_dataset_from_spec(&s, BT_TASK_REGRESSION, 0, &tr, &va));
    CHECK(tr.n_rows == 800 && va.n_rows == 200 && tr.n_features == 10);
    CHECK_MSG(strstr(tr.source, "synthetic friedman1") != NULL, "%s", tr.source);
    bt_dataset_free(&tr), bt_dataset_free(&va);
    s.synthetic = "classification";
    s.classes = 4;
    s.features = 12;
    s.noise = 0;
    CHECK_OK(bt_dataset_from_spec(&s, BT_TASK_MULTICLASS, 4, &tr, &va));
    CHECK(tr.n_rows == 800 && va.n_rows == 200 && tr.n_features == 12);
    int64_t c4[4] = {0};
    for (int64_t i = 0; i < va.n_rows; i++) c4[(int)va.y[i]]++;
    CHECK(c4[0] == 50 && c4[1] == 50 && c4[2] == 50 && c4[3] == 50);
    bt_dataset_free(&tr), bt_dataset_free(&va);
    expect(bt_dataset_from_spec(&s, BT_TASK_BINARY, 2, &tr, &va), BT_STATUS_BAD_INPUT,
           "is not 0 or 1");
    s.synthetic = "moons";
    expect(bt_dataset_from_spec(&s, BT_TASK_BINARY, 2, &tr, &va), BT_STATUS_BAD_INPUT,
           "dataset.synthetic 'moons'");
}

int main(void) {
    unsigned seed = (unsigned)time(NULL);
    srand(seed);
    printf("seed %u\n", seed);
    test_split_regression();
    test_split_stratified();
    test_split_errors();
    test_labels();
    test_friedman1();
    test_classification();
    test_from_spec();
    return bt_test_finish("test_datasets_split");
}
