/* The dataset type and the helpers every loader shares: release, allocation, format names and
 * label checks (whole-file reading is fileread.c's). Turning a sweep's `dataset` block into
 * train and valid sets (the dispatch to the loaders) is load.c's. */
#include "datasets/loaders.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    char what[96];
    snprintf(what, sizeof what, "a table of %lld rows x %d features", (long long)n_rows,
             n_features);
    BT_TRY(bt_data_fits("dataset", what, ((double)cells + (double)n_rows) * sizeof(float)));
    d->X = malloc(cells ? cells * sizeof(float) : 1);
    d->y = malloc(n_rows ? (size_t)n_rows * sizeof(float) : 1);
    if (!d->X || !d->y) {
        bt_dataset_free(d);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for %lld x %d dataset", (long long)n_rows,
                       n_features);
    }
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

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if there is none. */
static size_t utf8_len(const unsigned char *s, size_t n) {
    size_t k = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (k == 0 || s[0] > 0xf4 || k > n) return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    return k;
}

const char *bt_excerpt(const char *s, long n, char out[BT_EXCERPT_SIZE]) {
    const unsigned char *u = (const unsigned char *)s;
    size_t len = n < 0 ? strlen(s) : (size_t)n, o = 0, i = 0;
    for (int chars = 0; i < len && chars < BT_EXCERPT_CHARS; chars++) {
        size_t k = u[i] >= 0x80 ? utf8_len(u + i, len - i) : (u[i] >= 0x20 && u[i] != 0x7f);
        if (k) {
            memcpy(out + o, u + i, k);
            o += k;
            i += k;
        } else {
            o += (size_t)snprintf(out + o, 5, "\\x%02x", u[i++]);
        }
    }
    if (i < len) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
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
            if (n_classes <= 0 && v >= (float)BT_MAX_CLASSES) {
                char what[96];
                snprintf(what, sizeof what,
                         "would make more than %d classes, the limit (a stray value?)",
                         BT_MAX_CLASSES);
                return label_fail(path, row_lines, i, what, v);
            }
            if (n_classes > 0 && v >= (float)n_classes) {
                char what[96];
                snprintf(what, sizeof what, "is out of range: classes are 0..%d", n_classes - 1);
                return label_fail(path, row_lines, i, what, v);
            }
        }
    }
    return BT_STATUS_OK;
}
