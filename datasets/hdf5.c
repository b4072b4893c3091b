/* HDF5 loader: datasets `X` (rows x features, or N x H x W / N x C x H x W images) and `y` (rows)
 * in one file, any numeric type, converted to float by the HDF5 library. HDF5's own error
 * printing is switched off around the calls: the library never prints, it returns a message.
 * libhdf5 itself dereferences NULL on some corrupt files (a bad B-tree, a bad heap address), so
 * the file is read in a child process (hdf5_child.c) that fills shared memory; this file holds
 * what the child runs: metadata checks first, then the reads into wherever the sink points. */
#include "datasets/hdf5_read.h"

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

typedef struct h5_var {
    const char *name;
    hid_t ds, type, space;
    int nd;
    hsize_t dims[4];
} h5_var;

static void var_close(h5_var *v) {
    if (v->space >= 0) H5Sclose(v->space);
    if (v->type >= 0) H5Tclose(v->type);
    if (v->ds >= 0) H5Dclose(v->ds);
    v->ds = v->type = v->space = -1;
}

/* Opens dataset NAME and checks what it declares (numeric, 1 to 4 dimensions, a size that fits
 * in memory and that the file's storage can back) before anything is read or allocated. */
static bt_status var_open(hid_t file, const char *path, const char *name, h5_var *v) {
    *v = (h5_var){.name = name, .ds = -1, .type = -1, .space = -1};
    if (H5Lexists(file, name, H5P_DEFAULT) <= 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: no dataset '%s' (expected X and y)", path, name);
    v->ds = H5Dopen2(file, name, H5P_DEFAULT);
    if (v->ds < 0) return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: cannot open dataset '%s'", path, name);
    v->type = H5Dget_type(v->ds);
    v->space = H5Dget_space(v->ds);
    H5T_class_t cls = v->type >= 0 ? H5Tget_class(v->type) : H5T_NO_CLASS;
    v->nd = v->space >= 0 ? H5Sget_simple_extent_ndims(v->space) : -1;
    if (cls != H5T_INTEGER && cls != H5T_FLOAT)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: dataset '%s' is not numeric", path, name);
    if (v->nd < 1 || v->nd > 4)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: dataset '%s' has %d dimensions (1 to 4 expected)",
                       path, name, v->nd);
    if (H5Sget_simple_extent_dims(v->space, v->dims, NULL) < 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: dataset '%s' has no readable shape", path, name);
    double cells = 1;
    char what[160];
    int at = snprintf(what, sizeof what, "dataset '%s' of shape ", name);
    for (int k = 0; k < v->nd; k++) {
        cells *= (double)v->dims[k];
        at += snprintf(what + at, sizeof what - (size_t)at, "%s%llu", k ? " x " : "",
                       (unsigned long long)v->dims[k]);
    }
    /* The shape is only what the file declares: a sparse or chunked file of a few KB may claim
     * petabytes, so the declared size is checked before anything is allocated. */
    BT_TRY(bt_data_fits(path, what, cells * sizeof(float)));
    /* Memory is not the only bound: what is stored must back what is declared. No filter
     * inflates more than deflate's ~1032x, so a larger ratio means chunks never written. */
    double declared = cells * (double)H5Tget_size(v->type);
    double stored = (double)H5Dget_storage_size(v->ds);
    if (declared > (double)BT_GZIP_FLOOR && declared > 1100 * stored)
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "%s: %s declares %.3g bytes but the file stores %.0f of them (unwritten "
                       "chunks? no compression reaches 1100x)",
                       path, what, declared, stored);
    return BT_STATUS_OK;
}

/* The table's shape from X's and y's, checked against each other before either is read. */
static bt_status shape_of(const char *path, const h5_var *x, const h5_var *y, bt_dataset *shape) {
    if (!(y->nd == 1 || (y->nd == 2 && y->dims[1] == 1)))
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: y must be 1-D (has %d dimensions)", path, y->nd);
    if (x->dims[0] != y->dims[0])
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: X has %llu rows but y has %llu", path,
                       (unsigned long long)x->dims[0], (unsigned long long)y->dims[0]);
    if (x->dims[0] == 0) return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: no rows", path);
    uint64_t nf = 1;
    for (int k = 1; k < x->nd; k++) nf *= x->dims[k];
    if (nf < 1 || nf > INT32_MAX)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: X has %llu features per row", path,
                       (unsigned long long)nf);
    shape->n_rows = (int64_t)x->dims[0];
    shape->n_features = (int32_t)nf;
    if (x->nd == 3) shape->channels = 1, shape->height = (int32_t)x->dims[1];
    if (x->nd == 3) shape->width = (int32_t)x->dims[2];
    if (x->nd == 4) shape->channels = (int32_t)x->dims[1], shape->height = (int32_t)x->dims[2];
    if (x->nd == 4) shape->width = (int32_t)x->dims[3];
    return BT_STATUS_OK;
}

static bt_status var_read(const char *path, const h5_var *v, float *dst) {
    if (H5Dread(v->ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: cannot read dataset '%s' (corrupt file?)", path,
                       v->name);
    return BT_STATUS_OK;
}

static bt_status read_file(const char *path, hid_t file, bt_hdf5_sink sink, void *ctx,
                           bt_dataset *shape) {
    h5_var x, y = {.ds = -1, .type = -1, .space = -1};
    bt_status s = var_open(file, path, "X", &x);
    if (s == BT_STATUS_OK) s = var_open(file, path, "y", &y);
    if (s == BT_STATUS_OK) s = shape_of(path, &x, &y, shape);
    float *X = NULL, *Y = NULL;
    if (s == BT_STATUS_OK) s = sink(ctx, shape, &X, &Y);
    if (s == BT_STATUS_OK) s = var_read(path, &x, X);
    if (s == BT_STATUS_OK) s = var_read(path, &y, Y);
    var_close(&x);
    var_close(&y);
    return s;
}

bt_status bt_hdf5_read(const char *path, bt_hdf5_sink sink, void *ctx, bt_dataset *shape) {
    memset(shape, 0, sizeof *shape);
    H5E_auto2_t old_fn;
    void *old_data;
    H5Eget_auto2(H5E_DEFAULT, &old_fn, &old_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    bt_status s;
    if (H5Fis_hdf5(path) <= 0) {
        s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s: not an HDF5 file (bad signature)", path);
    } else {
        hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        if (file < 0) {
            s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s: cannot open as HDF5 (truncated or corrupt?)",
                        path);
        } else {
            s = read_file(path, file, sink, ctx, shape);
            H5Fclose(file);
        }
    }
    H5Eset_auto2(H5E_DEFAULT, old_fn, old_data);
    return s;
}

/* The in-process sink: X and y malloc'd into the dataset itself. */
static bt_status malloc_sink(void *ctx, const bt_dataset *shape, float **X, float **y) {
    bt_dataset *d = ctx;
    BT_TRY(bt_dataset_alloc(d, shape->n_rows, shape->n_features));
    *X = d->X;
    *y = d->y;
    return BT_STATUS_OK;
}

bt_status bt_dataset_load_hdf5_here(const char *path, bt_dataset *out) {
    memset(out, 0, sizeof *out);
    BT_TRY(bt_file_check(path));
    bt_dataset shape;
    bt_status s = bt_hdf5_read(path, malloc_sink, out, &shape);
    if (s == BT_STATUS_OK) {
        out->channels = shape.channels, out->height = shape.height, out->width = shape.width;
        out->source = bt_strdup_(path);
        if (!out->source) s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    if (s != BT_STATUS_OK) bt_dataset_free(out);
    return s;
}
