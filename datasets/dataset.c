/* The dataset type and the helpers every loader shares: release, allocation, whole-file reading
 * with transparent gunzip, format names and label checks. Turning a sweep's `dataset` block into
 * train and valid sets (the dispatch to the loaders) is load.c's. */
#include "datasets/loaders.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

void bt_dataset_free(bt_dataset *d) {
    if (!d) return;
    free(d->X);
    free(d->y);
    if (d->feature_names)
        for (int32_t j = 0; j < d->n_features; j++) free(d->feature_names[j]);
    free(d->feature_names);
    free(d->source);
    memset(d, 0, sizeof *d);
}

char *bt_strdup_(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

bt_status bt_dataset_alloc(bt_dataset *d, int64_t n_rows, int32_t n_features) {
    d->n_rows = n_rows;
    d->n_features = n_features;
    size_t cells = (size_t)n_rows * (size_t)n_features;
    if (n_features > 0 && cells / (size_t)n_features != (size_t)n_rows)
        return BT_FAIL(BT_STATUS_INTERNAL, "dataset of %lld x %d cells is too large",
                       (long long)n_rows, n_features);
    d->X = malloc(cells ? cells * sizeof(float) : 1);
    d->y = malloc(n_rows ? (size_t)n_rows * sizeof(float) : 1);
    if (!d->X || !d->y) {
        bt_dataset_free(d);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for %lld x %d dataset", (long long)n_rows,
                       n_features);
    }
    return BT_STATUS_OK;
}

bt_status bt_file_check(const char *path) {
    struct stat st;
    if (!path || !*path) return BT_FAIL(BT_STATUS_NO_INPUT, "no file name given");
    if (stat(path, &st) != 0)
        return BT_FAIL(BT_STATUS_NO_INPUT, "%s: %s", path,
                       errno == ENOENT ? "no such file" : strerror(errno));
    if (S_ISDIR(st.st_mode))
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: is a folder, not a file", path);
    return BT_STATUS_OK;
}

/* gzip'd input: zlib's gzread also concatenates multi-member files, as gunzip does. */
static bt_status read_gz(const char *path, unsigned char **buf, size_t *len) {
    gzFile gz = gzopen(path, "rb");
    if (!gz) return BT_FAIL(BT_STATUS_NO_INPUT, "%s: cannot open", path);
    gzbuffer(gz, 1 << 17);
    size_t cap = 1 << 20, n = 0;
    unsigned char *p = malloc(cap + 1);
    if (!p) {
        gzclose(gz);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory reading %s", path);
    }
    for (;;) {
        if (cap - n < (1 << 16)) {
            unsigned char *q = realloc(p, cap * 2 + 1);
            if (!q) {
                free(p);
                gzclose(gz);
                return BT_FAIL(BT_STATUS_INTERNAL, "out of memory reading %s", path);
            }
            p = q;
            cap *= 2;
        }
        size_t want = cap - n;
        if (want > (1u << 30)) want = 1u << 30;
        int got = gzread(gz, p + n, (unsigned)want);
        if (got < 0) {
            int err = 0;
            const char *msg = gzerror(gz, &err);
            bt_status s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s: corrupt gzip data (%s)", path, msg);
            free(p);
            gzclose(gz);
            return s;
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    int err = 0;
    const char *msg = gzerror(gz, &err);
    if (err != Z_OK && err != Z_STREAM_END) {
        bt_status s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s: corrupt gzip data (%s)", path, msg);
        free(p);
        gzclose(gz);
        return s;
    }
    /* zlib reports a truncated member only through gzclose_r's Z_BUF_ERROR. */
    if (gzclose(gz) == Z_BUF_ERROR) {
        free(p);
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: truncated gzip file", path);
    }
    p[n] = '\0';
    *buf = p;
    *len = n;
    return BT_STATUS_OK;
}

bt_status bt_file_read_all(const char *path, unsigned char **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    BT_TRY(bt_file_check(path));
    FILE *f = fopen(path, "rb");
    if (!f) return BT_FAIL(BT_STATUS_NO_INPUT, "%s: %s", path, strerror(errno));
    unsigned char magic[2] = {0, 0};
    size_t m = fread(magic, 1, 2, f);
    if (m == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        fclose(f);
        return read_gz(path, buf, len);
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return BT_FAIL(BT_STATUS_NO_INPUT, "%s: %s", path, strerror(errno));
    }
    size_t size = (size_t)st.st_size;
    unsigned char *p = malloc(size + 1);
    if (!p) {
        fclose(f);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory reading %s (%zu bytes)", path, size);
    }
    rewind(f);
    size_t got = fread(p, 1, size, f);
    fclose(f);
    if (got != size) {
        free(p);
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: read %zu of %zu bytes", path, got, size);
    }
    p[size] = '\0';
    *buf = p;
    *len = size;
    return BT_STATUS_OK;
}

bt_data_format bt_data_format_parse(const char *name) {
    static const struct {
        const char *name;
        bt_data_format f;
    } names[] = {{"csv", BT_FORMAT_CSV},     {"libsvm", BT_FORMAT_LIBSVM},
                 {"svm", BT_FORMAT_LIBSVM},  {"npy", BT_FORMAT_NPY},
                 {"hdf5", BT_FORMAT_HDF5},   {"h5", BT_FORMAT_HDF5},
                 {"idx", BT_FORMAT_IDX},     {"mnist", BT_FORMAT_IDX},
                 {"cifar", BT_FORMAT_CIFAR}, {"cifar10", BT_FORMAT_CIFAR}};
    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i].name, name) == 0) return names[i].f;
    return BT_FORMAT_UNKNOWN;
}

static int ends_with(const char *s, size_t n, const char *suffix) {
    size_t k = strlen(suffix);
    return n >= k && strncmp(s + n - k, suffix, k) == 0;
}

bt_data_format bt_data_format_from_name(const char *path) {
    if (!path) return BT_FORMAT_UNKNOWN;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (ends_with(base, n, ".gz")) n -= 3; /* any format may be gzip'd; the reader sniffs it */
    if (ends_with(base, n, ".csv") || ends_with(base, n, ".tsv")) return BT_FORMAT_CSV;
    if (ends_with(base, n, ".svm") || ends_with(base, n, ".libsvm") || ends_with(base, n, ".txt"))
        return BT_FORMAT_LIBSVM;
    if (ends_with(base, n, ".npy")) return BT_FORMAT_NPY;
    if (ends_with(base, n, ".h5") || ends_with(base, n, ".hdf5")) return BT_FORMAT_HDF5;
    if (ends_with(base, n, "idx3-ubyte") || ends_with(base, n, ".idx")) return BT_FORMAT_IDX;
    if (ends_with(base, n, ".bin")) return BT_FORMAT_CIFAR;
    return BT_FORMAT_UNKNOWN;
}

static bt_status label_fail(const char *path, const int64_t *row_lines, int64_t i, const char *what,
                            double v) {
    if (row_lines)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s:%lld: label %.17g %s", path,
                       (long long)row_lines[i], v, what);
    return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: row %lld: label %.17g %s", path, (long long)i + 1, v,
                   what);
}

bt_status bt_dataset_check_labels(const bt_dataset *d, bt_task task, int32_t n_classes,
                                  const char *path, const int64_t *row_lines) {
    for (int64_t i = 0; i < d->n_rows; i++) {
        float v = d->y[i];
        if (!isfinite(v)) return label_fail(path, row_lines, i, "is not a finite number", v);
        if (task == BT_TASK_BINARY && v != 0.0f && v != 1.0f)
            return label_fail(path, row_lines, i, "is not 0 or 1 (task is binary)", v);
        if (task == BT_TASK_MULTICLASS) {
            if (v != floorf(v) || v < 0)
                return label_fail(path, row_lines, i,
                                  "is not a class number 0, 1, 2, ... (task is multiclass)", v);
            if (n_classes > 0 && v >= (float)n_classes) {
                char what[96];
                snprintf(what, sizeof what, "is out of range: classes are 0..%d", n_classes - 1);
                return label_fail(path, row_lines, i, what, v);
            }
        }
    }
    return BT_STATUS_OK;
}
