/* bt_report_extra_read: the optional provenance attributes and /system machine metrics of a
 * results file, for the HTML report. Read apart from bt_results_read so that files without them
 * (and the readers that do not need them) are untouched; every part is optional. */
#include "runtime/store/report_extra.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/store/h5check.h"

static const char *const extra_attrs[] = {
    "note",         "tags",      "git_commit", "git_dirty",      "train_sha256",
    "valid_sha256", "cpu_model", "gpu_names",  "driver_version", "cuda_version"};

/* Appends s (n bytes) to the malloc'ed *acc, with ", " between entries. */
static int append(char **acc, const char *s, size_t n) {
    size_t have = *acc ? strlen(*acc) : 0;
    char *p = realloc(*acc, have + n + 3);
    if (!p) return -1;
    if (have) memcpy(p + have, ", ", 2), have += 2;
    memcpy(p + have, s, n);
    p[have + n] = '\0';
    *acc = p;
    return 0;
}

/* Any string (scalar or list, variable or fixed length) or number attribute as text. */
static bt_status attr_text(bt_h5_ids *ids, hid_t file, const char *name, char **out) {
    hid_t a, ft, sp, mt;
    BT_H5_CHECK(a = bt_h5_keep(ids, H5Aopen(file, name, H5P_DEFAULT)));
    BT_H5_CHECK(ft = bt_h5_keep(ids, H5Aget_type(a)));
    BT_H5_CHECK(sp = bt_h5_keep(ids, H5Aget_space(a)));
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    BT_H5_CHECK(n);
    H5T_class_t cls = H5Tget_class(ft);
    char num[64];
    if ((cls == H5T_INTEGER || cls == H5T_FLOAT) && n == 1) {
        double v = 0;
        BT_H5_CHECK(H5Aread(a, H5T_NATIVE_DOUBLE, &v));
        snprintf(num, sizeof num, "%.15g", v);
        *out = strdup(num);
        BT_CHECK_ALLOC(*out);
        return BT_STATUS_OK;
    }
    if (cls != H5T_STRING || n < 1 || n > 4096) return BT_STATUS_OK; /* not shown */
    htri_t var = H5Tis_variable_str(ft);
    BT_H5_CHECK(var);
    BT_H5_CHECK(mt = bt_h5_keep(ids, H5Tcopy(H5T_C_S1)));
    BT_H5_CHECK(H5Tset_cset(mt, H5Tget_cset(ft)));
    bt_status s = BT_STATUS_OK;
    if (var) {
        char **v = calloc((size_t)n, sizeof *v);
        BT_CHECK_ALLOC(v);
        herr_t e = H5Tset_size(mt, H5T_VARIABLE);
        if (e >= 0) e = H5Aread(a, mt, v);
        for (hssize_t i = 0; i < n && e >= 0 && s == BT_STATUS_OK; i++)
            if (append(out, v[i] ? v[i] : "", v[i] ? strlen(v[i]) : 0))
                s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
        if (e >= 0) H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, v);
        free(v);
        if (e < 0) return bt_h5_fail(BT_STATUS_IO, "H5Aread(string)", __FILE__, __LINE__);
    } else {
        size_t w = H5Tget_size(ft);
        char *buf = calloc((size_t)n, w + 1);
        BT_CHECK_ALLOC(buf);
        herr_t e = H5Tset_size(mt, w);
        if (e >= 0) e = H5Tset_strpad(mt, H5T_STR_NULLPAD);
        if (e >= 0) e = H5Aread(a, mt, buf);
        for (hssize_t i = 0; i < n && e >= 0 && s == BT_STATUS_OK; i++)
            if (append(out, buf + i * w, strnlen(buf + i * w, w)))
                s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
        free(buf);
        if (e < 0) return bt_h5_fail(BT_STATUS_IO, "H5Aread(string)", __FILE__, __LINE__);
    }
    return s;
}

/* One numeric column as doubles: a member of a compound dataset (member != NULL) or a whole 1-D
 * dataset. */
static bt_status read_column(bt_h5_ids *ids, hid_t ds, const char *member, int64_t n,
                             double **out) {
    hid_t mt = H5T_NATIVE_DOUBLE;
    if (member) {
        BT_H5_CHECK(mt = bt_h5_keep(ids, H5Tcreate(H5T_COMPOUND, sizeof(double))));
        BT_H5_CHECK(H5Tinsert(mt, member, 0, H5T_NATIVE_DOUBLE));
    }
    *out = malloc((size_t)(n > 0 ? n : 1) * sizeof **out);
    BT_CHECK_ALLOC(*out);
    if (n > 0) BT_H5_CHECK(H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out));
    return BT_STATUS_OK;
}

static int numeric(hid_t t) {
    H5T_class_t c = H5Tget_class(t);
    return c == H5T_INTEGER || c == H5T_FLOAT;
}

/* Adds a column (taking name and values), keeping "time" first. */
static bt_status add_col(bt_report_extra *x, char *name, double *v) {
    if (!name || x->n_cols == BT_REPORT_EXTRA_MAX_COLS) {
        free(name);
        free(v);
        return name ? BT_STATUS_OK : BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    int at = x->n_cols++;
    if (strcmp(name, "time") == 0) {
        memmove(x->col_name + 1, x->col_name, (size_t)at * sizeof *x->col_name);
        memmove(x->col + 1, x->col, (size_t)at * sizeof *x->col);
        at = 0;
    }
    x->col_name[at] = name;
    x->col[at] = v;
    return BT_STATUS_OK;
}

static bt_status read_dataset(bt_h5_ids *ids, hid_t ds, const char *name, bt_report_extra *x) {
    hid_t ft, sp;
    BT_H5_CHECK(ft = bt_h5_keep(ids, H5Dget_type(ds)));
    BT_H5_CHECK(sp = bt_h5_keep(ids, H5Dget_space(ds)));
    if (H5Sget_simple_extent_ndims(sp) != 1) return BT_STATUS_OK;
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    BT_H5_CHECK(n);
    if (x->n_cols > 0 && n != x->n_rows) return BT_STATUS_OK; /* not one table: skip */
    x->n_rows = n;
    if (H5Tget_class(ft) == H5T_COMPOUND) {
        int nm = H5Tget_nmembers(ft);
        for (int i = 0; i < nm; i++) {
            hid_t m = bt_h5_keep(ids, H5Tget_member_type(ft, (unsigned)i));
            if (m < 0 || !numeric(m)) continue;
            char *mn = H5Tget_member_name(ft, (unsigned)i);
            char *cn = mn ? strdup(mn) : NULL;
            double *v = NULL;
            bt_status s = mn ? read_column(ids, ds, mn, n, &v) : BT_STATUS_OK;
            if (mn) H5free_memory(mn);
            if (s != BT_STATUS_OK) {
                free(cn);
                free(v);
                return s;
            }
            BT_TRY(add_col(x, cn, v));
        }
    } else if (numeric(ft)) {
        double *v = NULL;
        BT_TRY(read_column(ids, ds, NULL, n, &v));
        BT_TRY(add_col(x, strdup(name), v));
    }
    return BT_STATUS_OK;
}

/* A dataset /system, or a group of one dataset per column; named objects are opened by trying
 * (H5Dopen2 fails quietly on a group), which avoids HDF5's versioned object-info calls. */
static bt_status read_system(bt_h5_ids *ids, hid_t file, bt_report_extra *x) {
    htri_t has = H5Lexists(file, "system", H5P_DEFAULT);
    BT_H5_CHECK(has);
    if (!has) return BT_STATUS_OK;
    hid_t ds = bt_h5_keep(ids, H5Dopen2(file, "system", H5P_DEFAULT));
    if (ds >= 0) return read_dataset(ids, ds, "system", x);
    H5Eclear2(H5E_DEFAULT);
    hid_t g = bt_h5_keep(ids, H5Gopen2(file, "system", H5P_DEFAULT));
    if (g < 0) {
        H5Eclear2(H5E_DEFAULT);
        return BT_STATUS_OK;
    }
    /* time first: the other columns must have its length */
    htri_t has_time = H5Lexists(g, "time", H5P_DEFAULT);
    BT_H5_CHECK(has_time);
    hid_t td = has_time ? bt_h5_keep(ids, H5Dopen2(g, "time", H5P_DEFAULT)) : -1;
    if (td >= 0) BT_TRY(read_dataset(ids, td, "time", x));
    H5Eclear2(H5E_DEFAULT);
    H5G_info_t gi;
    BT_H5_CHECK(H5Gget_info(g, &gi));
    for (hsize_t i = 0; i < gi.nlinks && i < BT_REPORT_EXTRA_MAX_COLS; i++) {
        char name[256];
        ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                                         H5P_DEFAULT);
        if (len < 0 || len >= (ssize_t)sizeof name || strcmp(name, "time") == 0) continue;
        hid_t d = bt_h5_keep(ids, H5Dopen2(g, name, H5P_DEFAULT));
        if (d < 0) {
            H5Eclear2(H5E_DEFAULT);
            continue;
        }
        BT_TRY(read_dataset(ids, d, name, x));
    }
    return BT_STATUS_OK;
}

static bt_status read_all(bt_h5_ids *ids, const char *path, bt_report_extra *x) {
    hid_t file;
    BT_H5_CHECK(file = bt_h5_keep(ids, H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)));
    for (size_t i = 0; i < sizeof extra_attrs / sizeof *extra_attrs; i++) {
        htri_t has = H5Aexists(file, extra_attrs[i]);
        BT_H5_CHECK(has);
        char *v = NULL;
        if (has) BT_TRY(attr_text(ids, file, extra_attrs[i], &v));
        if (!v) continue;
        x->attr_name[x->n_attrs] = extra_attrs[i];
        x->attr_value[x->n_attrs++] = v;
    }
    return read_system(ids, file, x);
}

bt_status bt_report_extra_read(const char *path, bt_report_extra *x) {
    memset(x, 0, sizeof *x);
    bt_h5_quiet quiet;
    bt_h5_quiet_begin(&quiet);
    bt_h5_ids ids = {0};
    bt_status s = read_all(&ids, path, x);
    bt_h5_close_all(&ids);
    bt_h5_quiet_end(&quiet);
    if (s != BT_STATUS_OK) bt_report_extra_free(x);
    return s;
}

void bt_report_extra_free(bt_report_extra *x) {
    for (int i = 0; i < x->n_attrs; i++) free(x->attr_value[i]);
    for (int i = 0; i < x->n_cols; i++) {
        free(x->col_name[i]);
        free(x->col[i]);
    }
    memset(x, 0, sizeof *x);
}
