/* HDF5 loader: datasets `X` (rows x features, or N x H x W / N x C x H x W images) and `y` (rows)
 * in one file, any numeric type, converted to float by the HDF5 library. HDF5's own error
 * printing is switched off around the calls: the library never prints, it returns a message. */
#include "datasets/loaders.h"

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

static bt_status read_float(hid_t file, const char *path, const char *name, int *ndim,
                            hsize_t dims[4], float **data) {
    *data = NULL;
    if (H5Lexists(file, name, H5P_DEFAULT) <= 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: no dataset '%s' (expected X and y)", path, name);
    hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
    if (ds < 0) return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: cannot open dataset '%s'", path, name);
    bt_status s = BT_STATUS_OK;
    hid_t type = H5Dget_type(ds);
    hid_t space = H5Dget_space(ds);
    H5T_class_t cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    int nd = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    if (cls != H5T_INTEGER && cls != H5T_FLOAT)
        s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s: dataset '%s' is not numeric", path, name);
    else if (nd < 1 || nd > 4)
        s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s: dataset '%s' has %d dimensions (1 to 4 expected)",
                    path, name, nd);
    if (s == BT_STATUS_OK) {
        H5Sget_simple_extent_dims(space, dims, NULL);
        *ndim = nd;
        size_t count = 1;
        double cells = 1;
        char what[160];
        int at = snprintf(what, sizeof what, "dataset '%s' of shape ", name);
        for (int k = 0; k < nd; k++) {
            count *= (size_t)dims[k];
            cells *= (double)dims[k];
            at += snprintf(what + at, sizeof what - (size_t)at, "%s%llu", k ? " x " : "",
                           (unsigned long long)dims[k]);
        }
        /* The shape is only what the file declares: a sparse or chunked file of a few KB may
         * claim petabytes, so the declared size is checked before anything is allocated. */
        s = bt_data_fits(path, what, cells * sizeof(float));
        /* Memory is not the only bound: what is stored must back what is declared. No filter
         * inflates more than deflate's ~1032x, so a larger ratio means chunks never written. */
        double declared = cells * (double)H5Tget_size(type);
        double stored = (double)H5Dget_storage_size(ds);
        if (s == BT_STATUS_OK && declared > (double)BT_GZIP_FLOOR && declared > 1100 * stored)
            s = BT_FAIL(BT_STATUS_BAD_INPUT,
                        "%s: %s declares %.3g bytes but the file stores %.0f of them (unwritten "
                        "chunks? no compression reaches 1100x)",
                        path, what, declared, stored);
        if (s == BT_STATUS_OK) *data = malloc(count ? count * sizeof(float) : 1);
        if (s == BT_STATUS_OK && !*data)
            s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory for %s:%s", path, name);
        else if (s == BT_STATUS_OK && count &&
                 H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, *data) < 0)
            s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s: cannot read dataset '%s' (corrupt file?)", path,
                        name);
    }
    if (s != BT_STATUS_OK) {
        free(*data);
        *data = NULL;
    }
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    H5Dclose(ds);
    return s;
}

static bt_status load(const char *path, hid_t file, bt_dataset *out) {
    int xd = 0, yd = 0;
    hsize_t xs[4] = {0}, ys[4] = {0};
    float *X = NULL, *y = NULL;
    BT_TRY(read_float(file, path, "X", &xd, xs, &X));
    bt_status s = read_float(file, path, "y", &yd, ys, &y);
    if (s == BT_STATUS_OK && !(yd == 1 || (yd == 2 && ys[1] == 1)))
        s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s: y must be 1-D (has %d dimensions)", path, yd);
    if (s == BT_STATUS_OK && xs[0] != ys[0])
        s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s: X has %llu rows but y has %llu", path,
                    (unsigned long long)xs[0], (unsigned long long)ys[0]);
    if (s == BT_STATUS_OK && xs[0] == 0) s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s: no rows", path);
    uint64_t nf = 1;
    for (int k = 1; k < xd; k++) nf *= xs[k];
    if (s == BT_STATUS_OK && (nf < 1 || nf > INT32_MAX))
        s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s: X has %llu features per row", path,
                    (unsigned long long)nf);
    if (s == BT_STATUS_OK) {
        out->n_rows = (int64_t)xs[0];
        out->n_features = (int32_t)nf;
        out->X = X;
        out->y = y;
        X = y = NULL;
        if (xd == 3) out->channels = 1, out->height = (int32_t)xs[1], out->width = (int32_t)xs[2];
        if (xd == 4)
            out->channels = (int32_t)xs[1], out->height = (int32_t)xs[2],
            out->width = (int32_t)xs[3];
        out->source = bt_strdup_(path);
        if (!out->source) s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    free(X);
    free(y);
    return s;
}

bt_status bt_dataset_load_hdf5(const char *path, bt_dataset *out) {
    memset(out, 0, sizeof *out);
    BT_TRY(bt_file_check(path));
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
            s = load(path, file, out);
            H5Fclose(file);
        }
    }
    H5Eset_auto2(H5E_DEFAULT, old_fn, old_data);
    if (s != BT_STATUS_OK) bt_dataset_free(out);
    return s;
}
