/* bt_dataset_from_spec: turns a sweep's `dataset` block into train and valid sets (explicit files,
 * one file split by valid_fraction, or a synthetic set), plus the helpers every loader shares:
 * whole-file reading with transparent gunzip, allocation, format names and label checks. */
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

/* ---- from spec ---------------------------------------------------------------------------- */

static bt_status set_source(bt_dataset *d, const char *text) {
    free(d->source);
    d->source = bt_strdup_(text);
    BT_CHECK_ALLOC(d->source);
    return BT_STATUS_OK;
}

static const char *base_name(const char *path) {
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* Loads one file (with its separate labels file where the format has one) and checks its labels. */
static bt_status load_file(const bt_dataset_spec *spec, const char *path, const char *labels,
                           bt_task task, int32_t n_classes, bt_dataset *out) {
    bt_data_format f =
        spec->format ? bt_data_format_parse(spec->format) : bt_data_format_from_name(path);
    if (spec->format && f == BT_FORMAT_UNKNOWN)
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "dataset.format '%s' is not one of csv, libsvm, npy, hdf5, idx, cifar",
                       spec->format);
    BT_TRY(bt_file_check(path));
    int64_t *lines = NULL;
    bt_status s;
    switch (f) {
    case BT_FORMAT_CSV:
        s = bt_dataset_load_csv(path, spec->target_name, spec->target_index, out, &lines);
        break;
    case BT_FORMAT_LIBSVM:
        s = bt_dataset_load_libsvm(path, out, &lines);
        break;
    case BT_FORMAT_NPY:
        if (!labels)
            return BT_FAIL(BT_STATUS_BAD_INPUT,
                           "%s: .npy data needs its labels file too (dataset.train_labels / "
                           "valid_labels)",
                           path);
        s = bt_dataset_load_npy(path, labels, out);
        break;
    case BT_FORMAT_HDF5:
        s = bt_dataset_load_hdf5(path, out);
        break;
    case BT_FORMAT_IDX:
        s = bt_dataset_load_idx(path, labels, out);
        break;
    case BT_FORMAT_CIFAR:
        s = bt_dataset_load_cifar(path, out);
        break;
    default:
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "%s: cannot tell the format from the file name; set dataset.format (csv, "
                       "libsvm, npy, hdf5, idx, cifar)",
                       path);
    }
    if (s == BT_STATUS_OK) s = bt_dataset_check_labels(out, task, n_classes, path, lines);
    free(lines);
    if (s != BT_STATUS_OK) bt_dataset_free(out);
    return s;
}

static bt_data_format file_format(const bt_dataset_spec *spec, const char *path) {
    return spec->format ? bt_data_format_parse(spec->format) : bt_data_format_from_name(path);
}

/* A LIBSVM file has as many features as its largest index, so a test file often has fewer
 * columns than its train file; the missing trailing columns are absent entries, i.e. NaN. */
static bt_status widen(bt_dataset *d, int32_t nf) {
    size_t old = (size_t)d->n_features;
    float *X = malloc((size_t)d->n_rows * (size_t)nf * sizeof(float));
    BT_CHECK_ALLOC(X);
    for (int64_t i = 0; i < d->n_rows; i++) {
        float *row = X + (size_t)i * (size_t)nf;
        memcpy(row, d->X + (size_t)i * old, old * sizeof(float));
        for (size_t j = old; j < (size_t)nf; j++) row[j] = NAN;
    }
    free(d->X);
    d->X = X;
    d->n_features = nf;
    return BT_STATUS_OK;
}

static float max_label(const bt_dataset *d) {
    float m = 0;
    for (int64_t i = 0; i < d->n_rows; i++)
        if (d->y[i] > m) m = d->y[i];
    return m;
}

static bt_status from_spec(const bt_dataset_spec *spec, bt_task task, int32_t n_classes,
                           bt_dataset *train, bt_dataset *valid) {
    double frac = spec->valid_fraction > 0 ? spec->valid_fraction : 0.2;
    if (!(frac < 1))
        return BT_FAIL(BT_STATUS_BAD_INPUT, "dataset.valid_fraction %g must be in (0, 1)", frac);
    int stratify = task != BT_TASK_REGRESSION;
    bt_dataset all = {0};
    const char *what = NULL;

    if (spec->synthetic) {
        if (spec->rows <= 0)
            return BT_FAIL(BT_STATUS_BAD_INPUT, "dataset.rows must be > 0 for a synthetic set");
        if (strcmp(spec->synthetic, "friedman1") == 0) {
            int32_t nf = spec->features > 0 ? spec->features : 10;
            BT_TRY(bt_dataset_synthetic_friedman1(spec->rows, nf, spec->noise, spec->seed, &all));
        } else if (strcmp(spec->synthetic, "classification") == 0) {
            int32_t nc = spec->classes > 0 ? spec->classes : n_classes > 0 ? n_classes : 2;
            int32_t nf = spec->features > 0 ? spec->features : 20;
            BT_TRY(bt_dataset_synthetic_classification(spec->rows, nf, nc, spec->noise, spec->seed,
                                                       &all));
        } else {
            return BT_FAIL(BT_STATUS_BAD_INPUT,
                           "dataset.synthetic '%s' is not one of friedman1, classification",
                           spec->synthetic);
        }
        bt_status s = bt_dataset_check_labels(&all, task, n_classes, all.source, NULL);
        if (s != BT_STATUS_OK) {
            bt_dataset_free(&all);
            return s;
        }
        what = "synthetic";
    } else if (spec->train && spec->valid) {
        BT_TRY(load_file(spec, spec->train, spec->train_labels, task, n_classes, train));
        BT_TRY(load_file(spec, spec->valid, spec->valid_labels, task, n_classes, valid));
        if (file_format(spec, spec->train) == BT_FORMAT_LIBSVM &&
            file_format(spec, spec->valid) == BT_FORMAT_LIBSVM) {
            if (valid->n_features < train->n_features) BT_TRY(widen(valid, train->n_features));
            if (train->n_features < valid->n_features) BT_TRY(widen(train, valid->n_features));
        }
        if (valid->n_features != train->n_features)
            return BT_FAIL(BT_STATUS_BAD_INPUT,
                           "%s: valid set has %d features, train set %s has %d", spec->valid,
                           valid->n_features, spec->train, train->n_features);
        if (task == BT_TASK_MULTICLASS && n_classes <= 0 && max_label(valid) > max_label(train))
            return BT_FAIL(BT_STATUS_BAD_INPUT,
                           "%s: valid labels go up to %g but train labels only to %g; set the "
                           "number of classes",
                           spec->valid, max_label(valid), max_label(train));
        char text[1200];
        snprintf(text, sizeof text, "%s (%lld rows)", base_name(spec->train),
                 (long long)train->n_rows);
        BT_TRY(set_source(train, text));
        snprintf(text, sizeof text, "%s (%lld rows)", base_name(spec->valid),
                 (long long)valid->n_rows);
        BT_TRY(set_source(valid, text));
        return BT_STATUS_OK;
    } else if (spec->valid && !spec->train) {
        return BT_FAIL(BT_STATUS_BAD_INPUT, "dataset.valid is given without dataset.train");
    } else {
        if (spec->train && spec->path)
            return BT_FAIL(BT_STATUS_BAD_INPUT,
                           "dataset: give either path (split into train and valid) or train "
                           "(with optional valid), not both");
        const char *path = spec->path ? spec->path : spec->train;
        if (!path)
            return BT_FAIL(BT_STATUS_BAD_INPUT, "dataset: give path, train (+ valid) or synthetic");
        BT_TRY(load_file(spec, path, spec->train_labels, task, n_classes, &all));
        what = path;
    }

    bt_status s = bt_dataset_split(&all, frac, spec->split_seed, stratify, train, valid);
    if (s == BT_STATUS_OK) {
        char desc[1024];
        if (spec->synthetic)
            snprintf(desc, sizeof desc, "%s", all.source ? all.source : what);
        else
            snprintf(desc, sizeof desc, "%s", base_name(what));
        char text[1400];
        const char *how = stratify ? ", stratified" : "";
        snprintf(text, sizeof text,
                 "%s: train %lld of %lld rows (valid_fraction %g, split_seed %llu%s)", desc,
                 (long long)train->n_rows, (long long)all.n_rows, frac,
                 (unsigned long long)spec->split_seed, how);
        s = set_source(train, text);
        if (s == BT_STATUS_OK) {
            snprintf(text, sizeof text,
                     "%s: valid %lld of %lld rows (valid_fraction %g, split_seed %llu%s)", desc,
                     (long long)valid->n_rows, (long long)all.n_rows, frac,
                     (unsigned long long)spec->split_seed, how);
            s = set_source(valid, text);
        }
    }
    bt_dataset_free(&all);
    return s;
}

bt_status bt_dataset_from_spec(const bt_dataset_spec *spec, bt_task task, int32_t n_classes,
                               bt_dataset *train, bt_dataset *valid) {
    memset(train, 0, sizeof *train);
    memset(valid, 0, sizeof *valid);
    bt_status s = from_spec(spec, task, n_classes, train, valid);
    if (s != BT_STATUS_OK) {
        bt_dataset_free(train);
        bt_dataset_free(valid);
    }
    return s;
}
