/* CSV loader tests: exact values, quoting, CRLF, delimiters, missing cells, gzip, every error
 * with its FILE:LINE, a random round trip, and the sklearn CSVs shipped in sweeps/examples/data. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "datasets/loaders.h"
#include "tests/bt_test.h"

static char tmp_path[1024];

static const char *write_file(const char *name, const char *text) {
    snprintf(tmp_path, sizeof tmp_path, "%s/%s", bt_test_tmpdir(), name);
    FILE *f = fopen(tmp_path, "wb");
    fputs(text, f);
    fclose(f);
    return tmp_path;
}

static const char *write_gz(const char *name, const char *text, size_t cut) {
    snprintf(tmp_path, sizeof tmp_path, "%s/%s", bt_test_tmpdir(), name);
    gzFile g = gzopen(tmp_path, "wb");
    gzwrite(g, text, (unsigned)strlen(text));
    gzclose(g);
    if (cut) { /* chop the last bytes off to make a truncated stream */
        FILE *f = fopen(tmp_path, "rb");
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        rewind(f);
        char *b = malloc((size_t)n);
        size_t got = fread(b, 1, (size_t)n, f);
        fclose(f);
        f = fopen(tmp_path, "wb");
        fwrite(b, 1, got - cut, f);
        fclose(f);
        free(b);
    }
    return tmp_path;
}

/* Loads text as CSV expecting failure with code; checks the message contains want. */
static void expect_fail(const char *name, const char *text, const char *target, int code,
                        const char *want) {
    const char *p = write_file(name, text);
    bt_dataset d = {0};
    bt_status s = bt_dataset_load_csv(p, target, -1, &d, NULL);
    CHECK_MSG((int)s == code, "%s: status %d, want %d (%s)", name, (int)s, code,
              bt_status_message());
    CHECK_MSG(strstr(bt_status_message(), want) != NULL, "%s: message '%s' lacks '%s'", name,
              bt_status_message(), want);
    CHECK(d.X == NULL && d.y == NULL && d.n_rows == 0);
}

static void test_basic(void) {
    const char *p = write_file("basic.csv", "a,\"b, with comma\",\"say \"\"hi\"\"\",target\r\n"
                                            "1,2.5,-3e2,0\r\n"
                                            "\r\n"
                                            " 4 , NA ,NaN,1\r\n"
                                            "\"7\",,?,1\r\n"
                                            "nan,0x10,1e-3,0");
    bt_dataset d = {0};
    int64_t *lines = NULL;
    CHECK_OK(bt_dataset_load_csv(p, NULL, -1, &d, &lines));
    CHECK_EQ_INT(d.n_rows, 4);
    CHECK_EQ_INT(d.n_features, 3);
    CHECK_STR(d.feature_names[0], "a");
    CHECK_STR(d.feature_names[1], "b, with comma");
    CHECK_STR(d.feature_names[2], "say \"hi\"");
    float want[] = {1, 2.5f, -300, 4, NAN, NAN, 7, NAN, NAN, NAN, 16, 1e-3f};
    for (int k = 0; k < 12; k++) {
        if (isnan(want[k]))
            CHECK_MSG(isnan(d.X[k]), "cell %d = %g, want NaN", k, d.X[k]);
        else
            CHECK_MSG(d.X[k] == want[k], "cell %d = %.9g, want %.9g", k, d.X[k], want[k]);
    }
    float wy[] = {0, 1, 1, 0};
    for (int i = 0; i < 4; i++) CHECK(d.y[i] == wy[i]);
    /* the blank line 3 is not a row; lines count from the header on line 1 */
    CHECK(lines && lines[0] == 2 && lines[1] == 4 && lines[2] == 5 && lines[3] == 6);
    free(lines);
    bt_dataset_free(&d);
    bt_dataset_free(&d); /* second free of a zeroed set is a no-op */
    bt_dataset_free(NULL);

    /* target by name: column a has 'nan' on line 6, a missing label */
    CHECK(bt_dataset_load_csv(p, "a", -1, &d, NULL) == BT_STATUS_BAD_INPUT);
    CHECK_MSG(
        strstr(bt_status_message(), "basic.csv:6: missing label ('nan') in target column 'a'"),
        "%s", bt_status_message());
    CHECK(d.X == NULL);
    /* by index (0, -2) */
    p = write_file("idx.csv", "u,v,w\n1,2,3\n4,5,6\n");
    CHECK_OK(bt_dataset_load_csv(p, NULL, 0, &d, NULL));
    CHECK(d.y[0] == 1 && d.y[1] == 4 && d.X[0] == 2 && d.X[1] == 3 && d.X[3] == 6);
    CHECK_STR(d.feature_names[0], "v");
    bt_dataset_free(&d);
    CHECK_OK(bt_dataset_load_csv(p, NULL, -2, &d, NULL));
    CHECK(d.y[0] == 2 && d.y[1] == 5 && d.X[0] == 1 && d.X[1] == 3);
    bt_dataset_free(&d);
}

static void test_delimiters(void) {
    bt_dataset d = {0};
    const char *p = write_file("semi.csv", "x;y;t\n1,5;2;1\n");
    /* ';' detected: "1,5" (a decimal comma) is then a bad cell, named by its column */
    CHECK(bt_dataset_load_csv(p, NULL, -1, &d, NULL) == BT_STATUS_BAD_INPUT);
    CHECK(strstr(bt_status_message(), "semi.csv:2: column 1 'x': '1,5' is not a number"));
    p = write_file("semi2.csv", "x;y;t\n1.5;2;1\n3;4;0\n");
    CHECK_OK(bt_dataset_load_csv(p, "t", -1, &d, NULL));
    CHECK(d.n_rows == 2 && d.n_features == 2 && d.X[0] == 1.5f && d.y[1] == 0);
    bt_dataset_free(&d);
    p = write_file("tab.tsv", "x\ty\tt\n1\t\t1\n3\t4\t0\n");
    CHECK_OK(bt_dataset_load_csv(p, NULL, -1, &d, NULL));
    CHECK(d.n_rows == 2 && d.n_features == 2 && d.X[0] == 1 && isnan(d.X[1]) && d.X[3] == 4);
    bt_dataset_free(&d);
    /* a quoted newline inside a header cell: the rows after it count lines right */
    p = write_file("nl.csv", "\"x\nx\",t\n1,2\nbad,3\n");
    CHECK(bt_dataset_load_csv(p, NULL, -1, &d, NULL) == BT_STATUS_BAD_INPUT);
    CHECK_MSG(strstr(bt_status_message(), "nl.csv:4: column 1 'x\\x0ax': 'bad' is not a number"),
              "%s", bt_status_message());
    /* UTF-8 byte order mark */
    p = write_file("bom.csv", "\xEF\xBB\xBFx,t\n1,0\n");
    CHECK_OK(bt_dataset_load_csv(p, "x", -1, &d, NULL));
    CHECK(d.n_rows == 1 && d.y[0] == 1);
    bt_dataset_free(&d);
}

static void test_gzip(void) {
    bt_dataset d = {0};
    const char *text = "f1,f2,target\n0.25,8,1\n-1,NA,0\n";
    const char *p = write_gz("g.csv.gz", text, 0);
    CHECK_OK(bt_dataset_load_csv(p, NULL, -1, &d, NULL));
    CHECK(d.n_rows == 2 && d.X[0] == 0.25f && d.X[1] == 8 && d.X[2] == -1 && isnan(d.X[3]));
    CHECK(d.y[0] == 1 && d.y[1] == 0);
    bt_dataset_free(&d);
    /* a long file whose gzip stream loses its tail */
    char *big = malloc(400000);
    size_t n = (size_t)sprintf(big, "a,b\n");
    for (int i = 0; i < 20000; i++) n += (size_t)sprintf(big + n, "%d,%d\n", i, i % 7);
    p = write_gz("trunc.csv.gz", big, 200);
    bt_status s = bt_dataset_load_csv(p, NULL, -1, &d, NULL);
    CHECK_MSG(s == BT_STATUS_BAD_INPUT, "truncated gz: %d %s", (int)s, bt_status_message());
    CHECK(strstr(bt_status_message(), "trunc.csv.gz") != NULL);
    free(big);
}

static void test_errors(void) {
    expect_fail("ragged.csv", "a,b,t\n1,2,3\n4,5\n", NULL, BT_STATUS_BAD_INPUT,
                "ragged.csv:3: row has 2 fields but the header has 3");
    expect_fail("ragged2.csv", "a,b,t\n1,2,3,\n", NULL, BT_STATUS_BAD_INPUT,
                "ragged2.csv:2: row has 4 fields");
    expect_fail("word.csv", "a,height,t\n1,2,3\n1,tall,3\n", NULL, BT_STATUS_BAD_INPUT,
                "word.csv:3: column 2 'height': 'tall' is not a number");
    expect_fail("nolabel.csv", "a,t\n1,2\n1,\n", NULL, BT_STATUS_BAD_INPUT,
                "nolabel.csv:3: missing label ('') in target column 't'");
    expect_fail("nanlabel.csv", "a,t\n1,NaN\n", NULL, BT_STATUS_BAD_INPUT,
                "nanlabel.csv:2: missing label ('NaN')");
    expect_fail("strlabel.csv", "a,t\n1,setosa\n", NULL, BT_STATUS_BAD_INPUT,
                "strlabel.csv:2: label 'setosa' in target column 't' is not a number");
    expect_fail("empty.csv", "", NULL, BT_STATUS_BAD_INPUT, "empty.csv:1: empty file");
    expect_fail("blank.csv", "\n\n  \n", NULL, BT_STATUS_BAD_INPUT, "blank.csv:1: empty file");
    expect_fail("header.csv", "a,b,t\n", NULL, BT_STATUS_BAD_INPUT,
                "header.csv:1: no data rows after the header");
    expect_fail("header2.csv", "\na,b,t\n\n", NULL, BT_STATUS_BAD_INPUT,
                "header2.csv:2: no data rows");
    expect_fail("noname.csv", "CRIM,ZN,MEDV\n1,2,3\n", "medv", BT_STATUS_BAD_INPUT,
                "noname.csv:1: no column named 'medv' (did you mean 'MEDV'?); columns are: CRIM, "
                "ZN, MEDV");
    expect_fail("noname2.csv", "CRIM,ZN,MEDV\n1,2,3\n", "price", BT_STATUS_BAD_INPUT,
                "no column named 'price'; columns are");
    expect_fail("onecol.csv", "t\n1\n", NULL, BT_STATUS_BAD_INPUT, "no features");
    expect_fail("quote.csv", "a,t\n\"1,2\n", NULL, BT_STATUS_BAD_INPUT,
                "quote.csv:2: quoted field is never closed");
    expect_fail("after.csv", "a,t\n\"1\"x,2\n", NULL, BT_STATUS_BAD_INPUT,
                "after.csv:2: unexpected 'x' after a closing quote");
    expect_fail("huge.csv", "a,t\n1e300,2\n", NULL, BT_STATUS_BAD_INPUT, "out of float range");
    bt_dataset d = {0};
    const char *p = write_file("range.csv", "a,b\n1,2\n");
    CHECK(bt_dataset_load_csv(p, NULL, 2, &d, NULL) == BT_STATUS_BAD_INPUT);
    CHECK(strstr(bt_status_message(), "range.csv:1: target_index 2 is out of range"));
    CHECK(bt_dataset_load_csv(p, NULL, -3, &d, NULL) == BT_STATUS_BAD_INPUT);
    snprintf(tmp_path, sizeof tmp_path, "%s/does-not-exist.csv", bt_test_tmpdir());
    CHECK(bt_dataset_load_csv(tmp_path, NULL, -1, &d, NULL) == BT_STATUS_NO_INPUT);
    CHECK(strstr(bt_status_message(), "does-not-exist.csv: no such file"));
    CHECK(bt_dataset_load_csv(bt_test_tmpdir(), NULL, -1, &d, NULL) == BT_STATUS_BAD_INPUT);
}

/* A fresh random table written with %.9g (exact for float) reads back bit for bit. */
static void test_random_round_trip(void) {
    unsigned seed = (unsigned)time(NULL);
    srand(seed);
    int rows = 50 + rand() % 200, cols = 2 + rand() % 12;
    float *v = malloc((size_t)rows * (size_t)cols * sizeof(float));
    snprintf(tmp_path, sizeof tmp_path, "%s/random.csv", bt_test_tmpdir());
    FILE *f = fopen(tmp_path, "w");
    for (int c = 0; c < cols; c++) fprintf(f, "%sc%d", c ? "," : "", c);
    fputs(rand() % 2 ? "\r\n" : "\n", f);
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
            float x = (float)((rand() / (double)RAND_MAX - 0.5) * pow(10, rand() % 12 - 6));
            if (c < cols - 1 && rand() % 10 == 0) x = NAN;
            v[r * cols + c] = x;
            if (isnan(x))
                fprintf(f, "%s%s", c ? "," : "", rand() % 2 ? "" : "NA");
            else
                fprintf(f, "%s%.9g", c ? "," : "", x);
        }
        fputc('\n', f);
    }
    fclose(f);
    bt_dataset d = {0};
    CHECK_OK(bt_dataset_load_csv(tmp_path, NULL, -1, &d, NULL));
    CHECK_EQ_INT(d.n_rows, rows);
    CHECK_EQ_INT(d.n_features, cols - 1);
    int bad = 0;
    for (int r = 0; r < rows && d.X; r++) {
        for (int c = 0; c < cols - 1; c++) {
            float want = v[r * cols + c], got = d.X[r * (cols - 1) + c];
            if (!(isnan(want) ? isnan(got) : got == want)) bad++;
        }
        if (d.y[r] != v[r * cols + cols - 1]) bad++;
    }
    CHECK_MSG(bad == 0, "%d cells differ (seed %u)", bad, seed);
    bt_dataset_free(&d);
    free(v);
}

static void test_sklearn_csvs(void) {
    const char *src = getenv("BT_SOURCE_DIR");
    if (!src) src = ".";
    struct {
        const char *file;
        int64_t rows;
        int32_t feats;
        const char *first_name;
        float x00, y0, ymax;
    } sets[] = {
        {"boston.csv", 506, 13, "CRIM", 0.00632f, 24, 50},
        {"breast_cancer.csv", 569, 30, "mean_radius", 17.99f, 0, 1},
        {"wine.csv", 178, 13, "alcohol", 14.23f, 0, 2},
        {"iris.csv", 150, 4, "sepal_length_cm", 5.1f, 0, 2},
        {"digits.csv.gz", 1797, 64, "pixel_0_0", 0, 0, 9},
    };
    for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/sweeps/examples/data/%s", src, sets[k].file);
        bt_dataset d = {0};
        CHECK_OK(bt_dataset_load_csv(path, NULL, -1, &d, NULL));
        if (!d.X) continue;
        CHECK_MSG(d.n_rows == sets[k].rows && d.n_features == sets[k].feats, "%s: %lld x %d",
                  sets[k].file, (long long)d.n_rows, d.n_features);
        CHECK_STR(d.feature_names[0], sets[k].first_name);
        CHECK(d.X[0] == sets[k].x00 && d.y[0] == sets[k].y0);
        float ymax = 0;
        for (int64_t i = 0; i < d.n_rows; i++) ymax = d.y[i] > ymax ? d.y[i] : ymax;
        CHECK_MSG(ymax == sets[k].ymax, "%s: max label %g", sets[k].file, ymax);
        bt_dataset_free(&d);
    }
}

int main(void) {
    test_basic();
    test_delimiters();
    test_gzip();
    test_errors();
    test_random_round_trip();
    test_sklearn_csvs();
    return bt_test_finish("test_datasets_csv");
}
