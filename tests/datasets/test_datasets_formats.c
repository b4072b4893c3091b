/* Binary and sparse format loaders: the test writes small LIBSVM, NPY (v1/v2, several dtypes,
 * Fortran order), HDF5, IDX (plain and gzip'd) and CIFAR-10 files with fresh random contents,
 * checks every value read back exactly, and feeds each loader truncated and bad-magic files. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "datasets/hdf5_read.h"
#include "datasets/loaders.h"
#include "tests/bt_test.h"

static char *tmp(const char *name) {
    static char bufs[4][1024];
    static int k = 0;
    char *p = bufs[k++ % 4];
    snprintf(p, 1024, "%s/%s", bt_test_tmpdir(), name);
    return p;
}

static void write_bytes(const char *path, const void *data, size_t n, int gz) {
    if (gz) {
        gzFile g = gzopen(path, "wb");
        gzwrite(g, data, (unsigned)n);
        gzclose(g);
        return;
    }
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
}

static void expect(bt_status s, bt_status want, const char *needle) {
    CHECK_MSG(s == want, "status %d, want %d (%s)", (int)s, (int)want, bt_status_message());
    if (needle)
        CHECK_MSG(strstr(bt_status_message(), needle) != NULL, "message '%s' lacks '%s'",
                  bt_status_message(), needle);
}

static void test_libsvm(void) {
    const char *p = tmp("a.svm");
    FILE *f = fopen(p, "w");
    fputs("# a comment line\n"
          "1 1:0.5 3:-2\n"
          "\n"
          "0 qid:3 2:7 # trailing comment\n"
          "1\n"
          "-1 4:1e-3 1:2\r\n",
          f);
    fclose(f);
    bt_dataset d = {0};
    int64_t *lines = NULL;
    CHECK_OK(bt_dataset_load_libsvm(p, &d, &lines));
    CHECK_EQ_INT(d.n_rows, 4);
    CHECK_EQ_INT(d.n_features, 4);
    float want[16] = {0.5f, NAN, -2, NAN, NAN, 7, NAN, NAN, NAN, NAN, NAN, NAN, 2, NAN, NAN, 1e-3f};
    for (int k = 0; k < 16 && d.X; k++)
        CHECK_MSG(isnan(want[k]) ? isnan(d.X[k]) : d.X[k] == want[k], "cell %d: %g", k, d.X[k]);
    CHECK(d.y[0] == 1 && d.y[1] == 0 && d.y[2] == 1 && d.y[3] == -1);
    CHECK(lines && lines[0] == 2 && lines[1] == 4 && lines[2] == 5 && lines[3] == 6);
    /* -1 labels are not binary; the check names the line */
    expect(bt_dataset_check_labels(&d, BT_TASK_BINARY, 2, p, lines), BT_STATUS_BAD_INPUT,
           "a.svm:6: label -1 is not 0 or 1");
    free(lines);
    bt_dataset_free(&d);

    f = fopen(p, "w");
    fputs("1 1:2\n0 0:1\n", f);
    fclose(f);
    expect(bt_dataset_load_libsvm(p, &d, NULL), BT_STATUS_BAD_INPUT,
           "a.svm:2: feature index '0' must be an integer >= 1");
    f = fopen(p, "w");
    fputs("1 1:2\n0 3:x\n", f);
    fclose(f);
    expect(bt_dataset_load_libsvm(p, &d, NULL), BT_STATUS_BAD_INPUT,
           "a.svm:2: value 'x' of feature 3 is not a number");
    f = fopen(p, "w");
    fputs("1 1:2\nyes 3:1\n", f);
    fclose(f);
    expect(bt_dataset_load_libsvm(p, &d, NULL), BT_STATUS_BAD_INPUT,
           "a.svm:2: label 'yes' is not a number");
    f = fopen(p, "w");
    fputs("1 1:2 7\n", f);
    fclose(f);
    expect(bt_dataset_load_libsvm(p, &d, NULL), BT_STATUS_BAD_INPUT, "'7' is not an index:value");
    f = fopen(p, "w");
    fputs("# nothing\n\n", f);
    fclose(f);
    expect(bt_dataset_load_libsvm(p, &d, NULL), BT_STATUS_BAD_INPUT, "no data rows");
    CHECK(d.X == NULL);
    expect(bt_dataset_load_libsvm(tmp("missing.svm"), &d, NULL), BT_STATUS_NO_INPUT, NULL);
}

/* Writes an .npy file: header dict padded so data starts at a multiple of 64. */
static void write_npy(const char *path, int version, const char *descr, int fortran,
                      const char *shape, const void *data, size_t nbytes, size_t cut) {
    char dict[256];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }",
                     descr, fortran ? "True" : "False", shape);
    size_t pre = version == 1 ? 10 : 12;
    size_t total = (pre + (size_t)n + 1 + 63) / 64 * 64;
    size_t hlen = total - pre;
    unsigned char *buf = calloc(1, total + nbytes);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)version;
    buf[7] = 0;
    for (int b = 0; b < (version == 1 ? 2 : 4); b++) buf[8 + b] = (unsigned char)(hlen >> (8 * b));
    memset(buf + pre, ' ', hlen);
    memcpy(buf + pre, dict, (size_t)n);
    buf[total - 1] = '\n';
    memcpy(buf + total, data, nbytes);
    write_bytes(path, buf, total + nbytes - cut, 0);
    free(buf);
}

static void test_npy(void) {
    int rows = 3 + rand() % 20, cols = 1 + rand() % 9;
    float *X = malloc((size_t)rows * (size_t)cols * sizeof(float));
    double *Xd = malloc((size_t)rows * (size_t)cols * sizeof(double));
    int64_t *y = malloc((size_t)rows * sizeof(int64_t));
    for (int k = 0; k < rows * cols; k++) {
        X[k] = (float)(rand() / (double)RAND_MAX * 100 - 50);
        Xd[k] = X[k];
    }
    for (int i = 0; i < rows; i++) y[i] = rand() % 5;
    char shape2[64], shape1[64];
    snprintf(shape2, sizeof shape2, "(%d, %d)", rows, cols);
    snprintf(shape1, sizeof shape1, "(%d,)", rows);
    const char *xp = tmp("X.npy"), *yp = tmp("y.npy");
    write_npy(xp, 1, "<f4", 0, shape2, X, (size_t)rows * cols * 4, 0);
    write_npy(yp, 2, "<i8", 0, shape1, y, (size_t)rows * 8, 0);
    bt_dataset d = {0};
    CHECK_OK(bt_dataset_load_npy(xp, yp, &d));
    CHECK(d.n_rows == rows && d.n_features == cols);
    int bad = 0;
    for (int k = 0; k < rows * cols && d.X; k++) bad += d.X[k] != X[k];
    for (int i = 0; i < rows && d.y; i++) bad += d.y[i] != (float)y[i];
    CHECK_EQ_INT(bad, 0);
    bt_dataset_free(&d);

    /* float64, Fortran order: element (i, j) stored at j * rows + i */
    double *F = malloc((size_t)rows * (size_t)cols * sizeof(double));
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) F[j * rows + i] = Xd[i * cols + j];
    write_npy(xp, 1, "<f8", 1, shape2, F, (size_t)rows * cols * 8, 0);
    CHECK_OK(bt_dataset_load_npy(xp, yp, &d));
    bad = 0;
    for (int k = 0; k < rows * cols && d.X; k++) bad += d.X[k] != X[k];
    CHECK_EQ_INT(bad, 0);
    bt_dataset_free(&d);

    /* big-endian int32 labels as an (n, 1) column, uint8 images N x H x W */
    unsigned char *be = malloc((size_t)rows * 4);
    for (int i = 0; i < rows; i++) {
        uint32_t v = (uint32_t)y[i];
        be[4 * i] = (unsigned char)(v >> 24), be[4 * i + 1] = (unsigned char)(v >> 16);
        be[4 * i + 2] = (unsigned char)(v >> 8), be[4 * i + 3] = (unsigned char)v;
    }
    char shape_col[64], shape_img[64];
    snprintf(shape_col, sizeof shape_col, "(%d, 1)", rows);
    snprintf(shape_img, sizeof shape_img, "(%d, 2, 3)", rows);
    write_npy(yp, 1, ">i4", 0, shape_col, be, (size_t)rows * 4, 0);
    unsigned char *img = malloc((size_t)rows * 6);
    for (int k = 0; k < rows * 6; k++) img[k] = (unsigned char)(rand() % 256);
    write_npy(xp, 1, "|u1", 0, shape_img, img, (size_t)rows * 6, 0);
    CHECK_OK(bt_dataset_load_npy(xp, yp, &d));
    CHECK(d.n_features == 6 && d.channels == 1 && d.height == 2 && d.width == 3);
    bad = 0;
    for (int k = 0; k < rows * 6 && d.X; k++) bad += d.X[k] != (float)img[k];
    for (int i = 0; i < rows && d.y; i++) bad += d.y[i] != (float)y[i];
    CHECK_EQ_INT(bad, 0);
    bt_dataset_free(&d);

    /* corrupt: truncated data, bad magic, row mismatch, unsupported dtype */
    write_npy(xp, 1, "<f4", 0, shape2, X, (size_t)rows * cols * 4, 3);
    expect(bt_dataset_load_npy(xp, yp, &d), BT_STATUS_BAD_INPUT, "truncated .npy data");
    write_bytes(xp, "NUMPY\x01\x00garbage", 14, 0);
    expect(bt_dataset_load_npy(xp, yp, &d), BT_STATUS_BAD_INPUT, "not a .npy file (bad magic)");
    write_npy(xp, 1, "<f4", 0, shape2, X, (size_t)rows * cols * 4, 0);
    char shape_short[64];
    snprintf(shape_short, sizeof shape_short, "(%d,)", rows - 1);
    write_npy(yp, 1, "<i8", 0, shape_short, y, (size_t)(rows - 1) * 8, 0);
    expect(bt_dataset_load_npy(xp, yp, &d), BT_STATUS_BAD_INPUT, "but its labels");
    write_npy(yp, 1, "<c8", 0, shape1, y, (size_t)rows * 8, 0);
    expect(bt_dataset_load_npy(xp, yp, &d), BT_STATUS_BAD_INPUT, "is not supported");
    expect(bt_dataset_load_npy(xp, tmp("nope.npy"), &d), BT_STATUS_NO_INPUT, NULL);
    CHECK(d.X == NULL);
    free(X), free(Xd), free(F), free(y), free(be), free(img);
}

/* Writes dataset NAME of nd dimensions into the open file f: stored as ftype, given as mtype. */
static void h5_put(hid_t f, const char *name, hid_t ftype, hid_t mtype, int nd, const hsize_t *dims,
                   const void *v) {
    hid_t sp = H5Screate_simple(nd, dims, NULL);
    hid_t ds = H5Dcreate2(f, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(ds), H5Sclose(sp);
}

static void test_hdf5(void) {
    const char *p = tmp("d.h5");
    int rows = 2 + rand() % 30, cols = 1 + rand() % 7;
    double *X = malloc((size_t)rows * cols * sizeof(double));
    int32_t *y = malloc((size_t)rows * sizeof(int32_t));
    for (int k = 0; k < rows * cols; k++) X[k] = (float)(rand() / (double)RAND_MAX - 0.5);
    X[0] = NAN;
    for (int i = 0; i < rows; i++) y[i] = rand() % 2;
    hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t xd[2] = {(hsize_t)rows, (hsize_t)cols}, yd[1] = {(hsize_t)rows};
    h5_put(f, "X", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, xd, X);
    h5_put(f, "y", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, yd, y);
    H5Fclose(f);
    bt_dataset d = {0};
    CHECK_OK(bt_dataset_load_hdf5(p, &d));
    CHECK(d.n_rows == rows && d.n_features == cols);
    int bad = 0;
    for (int k = 0; k < rows * cols && d.X; k++)
        bad += isnan(X[k]) ? !isnan(d.X[k]) : d.X[k] != (float)X[k];
    for (int i = 0; i < rows && d.y; i++) bad += d.y[i] != (float)y[i];
    CHECK_EQ_INT(bad, 0);
    bt_dataset_free(&d);

    /* a file without y */
    f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    h5_put(f, "X", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, xd, X);
    H5Fclose(f);
    expect(bt_dataset_load_hdf5(p, &d), BT_STATUS_BAD_INPUT, "no dataset 'y'");
    write_bytes(p, "not hdf5 at all, just text\n", 27, 0);
    expect(bt_dataset_load_hdf5(p, &d), BT_STATUS_BAD_INPUT, "not an HDF5 file");
    expect(bt_dataset_load_hdf5(tmp("none.h5"), &d), BT_STATUS_NO_INPUT, NULL);
    CHECK(d.X == NULL);
    /* rows that disagree: refused from the metadata, the child's message and location kept */
    f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t yshort[1] = {(hsize_t)rows - 1};
    h5_put(f, "X", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, xd, X);
    h5_put(f, "y", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, yshort, y);
    H5Fclose(f);
    expect(bt_dataset_load_hdf5(p, &d), BT_STATUS_BAD_INPUT, "rows but y has");
    CHECK(strstr(bt_status_where(), "hdf5.c:") != NULL);
    free(X), free(y);
}

/* Images past the 64 MiB slices the parent copies the child's shared memory in: the guarded
 * loader hands back exactly what the in-process one reads, image shape included. */
static void test_hdf5_large_images(void) {
    const char *p = tmp("img.h5");
    hsize_t dims[4] = {(hsize_t)(17000 + rand() % 2000), 1, 32, 32};
    size_t n = (size_t)dims[0] * 32 * 32;
    uint8_t *px = malloc(n);
    uint16_t *lab = malloc(dims[0] * sizeof *lab);
    for (size_t k = 0; k < n; k++) px[k] = (uint8_t)rand();
    for (hsize_t i = 0; i < dims[0]; i++) lab[i] = (uint16_t)(rand() % 10);
    hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    h5_put(f, "X", H5T_STD_U8LE, H5T_NATIVE_UINT8, 4, dims, px);
    h5_put(f, "y", H5T_STD_U16LE, H5T_NATIVE_UINT16, 1, dims, lab);
    H5Fclose(f);
    bt_dataset a = {0}, b = {0};
    CHECK_OK(bt_dataset_load_hdf5(p, &a));
    CHECK_OK(bt_dataset_load_hdf5_here(p, &b));
    CHECK(a.n_rows == (int64_t)dims[0] && a.n_features == 1024 && a.channels == 1 &&
          a.height == 32 && a.width == 32);
    CHECK(b.n_rows == a.n_rows && b.n_features == a.n_features);
    CHECK(a.X && b.X && memcmp(a.X, b.X, n * sizeof(float)) == 0);
    CHECK(a.y && b.y && memcmp(a.y, b.y, dims[0] * sizeof(float)) == 0);
    CHECK(a.X && a.X[n - 1] == (float)px[n - 1] && a.y[dims[0] - 1] == (float)lab[dims[0] - 1]);
    bt_dataset_free(&a), bt_dataset_free(&b);
    free(px), free(lab);
}

static void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

static void test_idx(int gz) {
    int n = 1 + rand() % 10, h = 28, w = 28;
    size_t ni = 16 + (size_t)n * h * w, nl = 8 + (size_t)n;
    unsigned char *im = malloc(ni), *lb = malloc(nl);
    put_be32(im, 0x803), put_be32(im + 4, (uint32_t)n), put_be32(im + 8, (uint32_t)h);
    put_be32(im + 12, (uint32_t)w);
    for (size_t k = 16; k < ni; k++) im[k] = (unsigned char)(rand() % 256);
    put_be32(lb, 0x801), put_be32(lb + 4, (uint32_t)n);
    for (int i = 0; i < n; i++) lb[8 + i] = (unsigned char)(rand() % 10);
    const char *ip = tmp(gz ? "t10k-images-idx3-ubyte.gz" : "t10k-images-idx3-ubyte");
    const char *lp = tmp(gz ? "t10k-labels-idx1-ubyte.gz" : "t10k-labels-idx1-ubyte");
    write_bytes(ip, im, ni, gz);
    write_bytes(lp, lb, nl, gz);
    bt_dataset d = {0};
    CHECK_OK(bt_dataset_load_idx(ip, NULL, &d)); /* labels file name derived */
    CHECK(d.n_rows == n && d.n_features == h * w && d.channels == 1 && d.height == h &&
          d.width == w);
    int bad = 0;
    for (size_t k = 0; k < (size_t)n * h * w && d.X; k++) bad += d.X[k] != im[16 + k] / 255.0f;
    for (int i = 0; i < n && d.y; i++) bad += d.y[i] != lb[8 + i];
    CHECK_EQ_INT(bad, 0);
    bt_dataset_free(&d);
    CHECK_OK(bt_dataset_load_idx(ip, lp, &d));
    CHECK(d.n_rows == n);
    bt_dataset_free(&d);

    write_bytes(ip, im, ni - 5, gz); /* truncated pixels */
    expect(bt_dataset_load_idx(ip, lp, &d), BT_STATUS_BAD_INPUT, "truncated IDX data");
    im[0] = 7; /* bad magic */
    write_bytes(ip, im, ni, gz);
    expect(bt_dataset_load_idx(ip, lp, &d), BT_STATUS_BAD_INPUT, "bad magic");
    im[0] = 0;
    put_be32(lb + 4, (uint32_t)n + 1);
    write_bytes(ip, im, ni, gz);
    write_bytes(lp, lb, nl, gz);
    expect(bt_dataset_load_idx(ip, lp, &d), BT_STATUS_BAD_INPUT, "truncated IDX data");
    expect(bt_dataset_load_idx(tmp("images.bin"), NULL, &d), BT_STATUS_BAD_INPUT,
           "cannot derive the labels file name");
    CHECK(d.X == NULL);
    free(im), free(lb);
}

static void test_cifar(void) {
    int n = 1 + rand() % 5;
    size_t len = (size_t)n * 3073;
    unsigned char *b = malloc(len);
    for (size_t k = 0; k < len; k++) b[k] = (unsigned char)(rand() % 256);
    for (int i = 0; i < n; i++) b[(size_t)i * 3073] = (unsigned char)(rand() % 10);
    const char *p = tmp("data_batch_1.bin");
    write_bytes(p, b, len, 0);
    bt_dataset d = {0};
    CHECK_OK(bt_dataset_load_cifar(p, &d));
    CHECK(d.n_rows == n && d.n_features == 3072 && d.channels == 3 && d.height == 32 &&
          d.width == 32);
    int bad = 0;
    for (int i = 0; i < n && d.X; i++) {
        bad += d.y[i] != b[(size_t)i * 3073];
        for (int k = 0; k < 3072; k++)
            bad += d.X[(size_t)i * 3072 + k] != b[(size_t)i * 3073 + 1 + k] / 255.0f;
    }
    CHECK_EQ_INT(bad, 0);
    bt_dataset_free(&d);
    write_bytes(p, b, len - 1, 0);
    expect(bt_dataset_load_cifar(p, &d), BT_STATUS_BAD_INPUT, "not a whole number");
    b[0] = 10;
    write_bytes(p, b, len, 0);
    expect(bt_dataset_load_cifar(p, &d), BT_STATUS_BAD_INPUT, "record 1 has label byte 10");
    write_bytes(p, b, 0, 0);
    expect(bt_dataset_load_cifar(p, &d), BT_STATUS_BAD_INPUT, "empty file");
    CHECK(d.X == NULL);
    free(b);
}

static void test_format_names(void) {
    CHECK(bt_data_format_from_name("a/b.csv") == BT_FORMAT_CSV);
    CHECK(bt_data_format_from_name("b.csv.gz") == BT_FORMAT_CSV);
    CHECK(bt_data_format_from_name("b.svm") == BT_FORMAT_LIBSVM);
    CHECK(bt_data_format_from_name("b.libsvm") == BT_FORMAT_LIBSVM);
    CHECK(bt_data_format_from_name("agaricus.txt.train") == BT_FORMAT_UNKNOWN);
    CHECK(bt_data_format_from_name("b.txt") == BT_FORMAT_LIBSVM);
    CHECK(bt_data_format_from_name("x.npy") == BT_FORMAT_NPY);
    CHECK(bt_data_format_from_name("x.h5") == BT_FORMAT_HDF5);
    CHECK(bt_data_format_from_name("x.hdf5") == BT_FORMAT_HDF5);
    CHECK(bt_data_format_from_name("train-images-idx3-ubyte") == BT_FORMAT_IDX);
    CHECK(bt_data_format_from_name("train-images-idx3-ubyte.gz") == BT_FORMAT_IDX);
    CHECK(bt_data_format_from_name("data_batch_1.bin") == BT_FORMAT_CIFAR);
    CHECK(bt_data_format_from_name("x.parquet") == BT_FORMAT_UNKNOWN);
    CHECK(bt_data_format_parse("hdf5") == BT_FORMAT_HDF5);
    CHECK(bt_data_format_parse("cifar") == BT_FORMAT_CIFAR);
    CHECK(bt_data_format_parse("xlsx") == BT_FORMAT_UNKNOWN);
}

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    unsigned char *b = malloc(*n + 1);
    *n = fread(b, 1, *n, f);
    fclose(f);
    return b;
}

/* Damaged copies of good files (random bytes changed, or cut short) must load or fail with
 * BAD_INPUT -- never crash (the sanitizer build runs this too) and never return an empty set. */
static void test_mutations(void) {
    /* tmp() reuses 4 buffers; keep copies of the names that must live long */
    char *csv = bt_strdup_(tmp("m.csv"));
    FILE *f = fopen(csv, "w");
    fputs("a,\"b\",c\n1,2,3\n4,NA,6\r\n\"7\",8,9\n", f);
    fclose(f);
    char *svm = bt_strdup_(tmp("m.svm"));
    f = fopen(svm, "w");
    fputs("1 1:2 3:4\n0 2:1 # x\n1 qid:1 4:5\n", f);
    fclose(f);
    unsigned char rec[3073 * 2];
    for (size_t k = 0; k < sizeof rec; k++) rec[k] = (unsigned char)(k % 7);
    char *cif = bt_strdup_(tmp("m.bin"));
    write_bytes(cif, rec, sizeof rec, 0);
    float X[6] = {1, 2, 3, 4, 5, 6};
    char *xp = bt_strdup_(tmp("mX.npy")), *yp = bt_strdup_(tmp("my.npy"));
    write_npy(xp, 1, "<f4", 0, "(3, 2)", X, sizeof X, 0);
    write_npy(yp, 1, "<f4", 0, "(3,)", X, 12, 0);
    const char *files[] = {csv, svm, cif, xp};
    int bad = 0, loaded = 0;
    for (int which = 0; which < 4; which++) {
        size_t n;
        unsigned char *good = slurp(files[which], &n);
        const char *mp = tmp(which == 0 ? "mut.csv" : which == 1 ? "mut.svm" : "mut.bin");
        if (which == 3) mp = tmp("mut.npy");
        for (int it = 0; it < 300; it++) {
            unsigned char *b = malloc(n);
            memcpy(b, good, n);
            size_t len = n;
            if (rand() % 3 == 0)
                len = (size_t)rand() % n;
            else
                for (int m = 1 + rand() % 4; m > 0; m--) b[rand() % n] = (unsigned char)rand();
            write_bytes(mp, b, len, rand() % 4 == 0);
            bt_dataset d = {0};
            bt_status s = which == 0   ? bt_dataset_load_csv(mp, NULL, -1, &d, NULL)
                          : which == 1 ? bt_dataset_load_libsvm(mp, &d, NULL)
                          : which == 2 ? bt_dataset_load_cifar(mp, &d)
                                       : bt_dataset_load_npy(mp, yp, &d);
            if (s == BT_STATUS_OK) {
                loaded++;
                bad += d.n_rows < 1 || d.n_features < 1 || !d.X || !d.y;
            } else {
                if (getenv("BT_DEBUG")) fprintf(stderr, "%d: %s\n", which, bt_status_message());
                bad += s != BT_STATUS_BAD_INPUT;
                bad += d.X != NULL || d.n_rows != 0;
                bad += bt_status_message()[0] == '\0';
            }
            bt_dataset_free(&d);
            free(b);
        }
        free(good);
    }
    CHECK_MSG(bad == 0, "%d damaged files gave an unexpected result", bad);
    CHECK_MSG(loaded > 100, "only %d of 1200 damaged files loaded", loaded);
    free(csv), free(svm), free(cif), free(xp), free(yp);
}

int main(void) {
    unsigned seed = (unsigned)time(NULL);
    srand(seed);
    printf("seed %u\n", seed);
    test_libsvm();
    test_npy();
    test_hdf5();
    test_hdf5_large_images();
    test_idx(0);
    test_idx(1);
    test_cifar();
    test_format_names();
    test_mutations();
    return bt_test_finish("test_datasets_formats");
}
