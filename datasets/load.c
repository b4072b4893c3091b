/* bt_dataset_from_spec: turns a sweep's `dataset` block into train and valid sets -- explicit
 * files, one file split by valid_fraction, or a synthetic set -- by dispatching to the loaders of
 * loaders.h. The only file of the floor that knows every loader; no loader calls back into it. */
#include "datasets/loaders.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
