/* bt_results_write: a bt_results into results.h5, atomically (built in memory, written to a
 * temporary file in the same folder, fsync, rename, fsync of the folder), so readers see the old
 * file or the new one, never half of one, and a failed write leaves nothing behind. Tables are
 * PyTables-compatible compound datasets; see docs/results-format.md. */
#define _POSIX_C_SOURCE 200809L
#include "runtime/store/results.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/grow.h"
#include "runtime/store/h5check.h"
#include "runtime/store/wopen.h"

enum { BT_STATUS_LEN = 10, BT_DEVICE_LEN = 16 };

static const char *nz(const char *s) {
    return s ? s : "";
}

/* Catches what would otherwise surface as an obscure HDF5 failure half-way through the file. */
static bt_status check_input(const bt_results *r, const char *path) {
    if (!r) return BT_FAIL(BT_STATUS_INTERNAL, "results: NULL results");
    if (!path || !*path) return BT_FAIL(BT_STATUS_USAGE, "results: empty output path");
    if (r->n_params < 0 || (r->n_params > 0 && !r->params))
        return BT_FAIL(BT_STATUS_INTERNAL, "results: bad parameter list");
    for (int j = 0; j < r->n_params; j++) {
        const char *name = r->params[j].name;
        if (!name || !*name)
            return BT_FAIL(BT_STATUS_BAD_INPUT, "results: parameter %d unnamed", j);
        bt_value_kind k = r->params[j].kind;
        if (k != BT_VALUE_INT && k != BT_VALUE_FLOAT && k != BT_VALUE_STRING && k != BT_VALUE_BOOL)
            return BT_FAIL(BT_STATUS_BAD_INPUT, "results: parameter \"%s\" has no type", name);
        for (int i = 0; i < j; i++)
            if (strcmp(name, r->params[i].name) == 0)
                return BT_FAIL(BT_STATUS_BAD_INPUT, "results: parameter \"%s\" appears twice",
                               name);
    }
    if (r->n_trials < 0 || (r->n_trials > 0 && !r->trials))
        return BT_FAIL(BT_STATUS_INTERNAL, "results: bad trial list");
    for (int64_t t = 0; t < r->n_trials; t++)
        if (r->n_params > 0 && !r->trials[t].params)
            return BT_FAIL(BT_STATUS_INTERNAL, "results: trial %lld has no parameters",
                           (long long)r->trials[t].trial_id);
    if (r->n_history < 0 || (r->n_history > 0 && !r->history))
        return BT_FAIL(BT_STATUS_INTERNAL, "results: bad history");
    for (int64_t h = 0; h < r->n_history; h++)
        if (r->history[h].metric < 0 || r->history[h].metric >= r->n_metric_names)
            return BT_FAIL(BT_STATUS_INTERNAL, "results: history row %lld: metric index %d of %d",
                           (long long)h, (int)r->history[h].metric, r->n_metric_names);
    if (r->n_rungs < 0 || (r->n_rungs > 0 && !r->rungs))
        return BT_FAIL(BT_STATUS_INTERNAL, "results: bad rung list");
    if (r->best_model_len > 0 && !r->best_model)
        return BT_FAIL(BT_STATUS_INTERNAL, "results: best_model_len without best_model");
    if (r->n_system > 0 && (!r->system || !r->system_cols || r->n_system_cols <= 0))
        return BT_FAIL(BT_STATUS_INTERNAL, "results: /system rows without columns");
    return BT_STATUS_OK;
}

/* ---- attributes ------------------------------------------------------------------------- */

/* Variable-length UTF-8: h5py returns str, and a long sweep file does not hit the 64 KiB limit
 * of compact attribute storage (the text lives in the global heap). */
static bt_status attr_str(bt_h5_ids *ids, hid_t obj, const char *name, const char *value) {
    hid_t t, sp, a;
    const char *v = nz(value);
    BT_H5_CHECK(t = bt_h5_keep(ids, H5Tcopy(H5T_C_S1)));
    BT_H5_CHECK(H5Tset_size(t, H5T_VARIABLE));
    BT_H5_CHECK(H5Tset_cset(t, H5T_CSET_UTF8));
    BT_H5_CHECK(sp = bt_h5_keep(ids, H5Screate(H5S_SCALAR)));
    BT_H5_CHECK(a = bt_h5_keep(ids, H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)));
    BT_H5_CHECK(H5Awrite(a, t, &v));
    return BT_STATUS_OK;
}

/* A 1-D array of variable-length UTF-8 strings; nothing when the list is empty. */
static bt_status attr_str_list(bt_h5_ids *ids, hid_t obj, const char *name, char *const *list,
                               int n) {
    if (n <= 0) return BT_STATUS_OK;
    const char **v = malloc((size_t)n * sizeof *v);
    BT_CHECK_ALLOC(v);
    for (int i = 0; i < n; i++) v[i] = nz(list[i]);
    hsize_t dims[1] = {(hsize_t)n};
    hid_t t = bt_h5_keep(ids, H5Tcopy(H5T_C_S1)), sp = -1, a = -1;
    herr_t e = t < 0 ? -1 : H5Tset_size(t, H5T_VARIABLE);
    if (e >= 0) e = H5Tset_cset(t, H5T_CSET_UTF8);
    if (e >= 0) e = sp = bt_h5_keep(ids, H5Screate_simple(1, dims, NULL));
    if (e >= 0) e = a = bt_h5_keep(ids, H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT));
    if (e >= 0) e = H5Awrite(a, t, v);
    free(v);
    BT_H5_CHECK(e);
    return BT_STATUS_OK;
}

/* Fixed-length ASCII, the way PyTables writes its own CLASS/VERSION/TITLE attributes. */
static bt_status attr_fixed_str(bt_h5_ids *ids, hid_t obj, const char *name, const char *value) {
    hid_t t, sp, a;
    size_t n = strlen(value);
    BT_H5_CHECK(t = bt_h5_keep(ids, H5Tcopy(H5T_C_S1)));
    BT_H5_CHECK(H5Tset_size(t, n > 0 ? n : 1));
    BT_H5_CHECK(H5Tset_strpad(t, H5T_STR_NULLPAD));
    BT_H5_CHECK(sp = bt_h5_keep(ids, H5Screate(H5S_SCALAR)));
    BT_H5_CHECK(a = bt_h5_keep(ids, H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)));
    BT_H5_CHECK(H5Awrite(a, t, n > 0 ? value : "\0"));
    return BT_STATUS_OK;
}

static bt_status attr_num(bt_h5_ids *ids, hid_t obj, const char *name, hid_t file_type,
                          hid_t mem_type, const void *value) {
    hid_t sp, a;
    BT_H5_CHECK(sp = bt_h5_keep(ids, H5Screate(H5S_SCALAR)));
    BT_H5_CHECK(
        a = bt_h5_keep(ids, H5Acreate2(obj, name, file_type, sp, H5P_DEFAULT, H5P_DEFAULT)));
    BT_H5_CHECK(H5Awrite(a, mem_type, value));
    return BT_STATUS_OK;
}

/* ---- compound tables -------------------------------------------------------------------- */

static hid_t fixed_str_type(bt_h5_ids *ids, size_t size, H5T_cset_t cset) {
    hid_t t = bt_h5_keep(ids, H5Tcopy(H5T_C_S1));
    if (t < 0) return t;
    /* NULLPAD: a value may fill the whole field (a 16-byte device name) without a terminator. */
    if (H5Tset_size(t, size) < 0 || H5Tset_strpad(t, H5T_STR_NULLPAD) < 0 ||
        H5Tset_cset(t, cset) < 0)
        return -1;
    return t;
}

/* A packed compound type built column by column; the same type describes memory and file, so
 * rows are filled with memcpy at the recorded offsets. */
typedef struct table_layout {
    hid_t type;
    size_t size;
    size_t *off;
    int n;
    int64_t cap;
} table_layout;

static bt_status layout_add(table_layout *L, const char *name, hid_t member) {
    size_t *p = bt_grow(L->off, &L->cap, L->n + 1, sizeof *p, 16);
    BT_CHECK_ALLOC(p);
    L->off = p;
    size_t sz = H5Tget_size(member);
    if (sz == 0) return bt_h5_fail(BT_STATUS_IO, "H5Tget_size(member)", __FILE__, __LINE__);
    L->off[L->n++] = L->size;
    L->size += sz;
    /* H5Tinsert needs the final size up front, so grow the compound before each insert. */
    BT_H5_CHECK(H5Tset_size(L->type, L->size));
    BT_H5_CHECK(H5Tinsert(L->type, name, L->off[L->n - 1], member));
    return BT_STATUS_OK;
}

static bt_status layout_init(bt_h5_ids *ids, table_layout *L) {
    memset(L, 0, sizeof *L);
    /* A compound cannot be created with size 0; layout_add sets the real size. */
    BT_H5_CHECK(L->type = bt_h5_keep(ids, H5Tcreate(H5T_COMPOUND, 1)));
    return BT_STATUS_OK;
}

/* One chunked, extensible 1-D dataset plus the attributes PyTables looks for to show a table. */
static bt_status write_table(bt_h5_ids *ids, hid_t file, const char *name, const char *title,
                             const table_layout *L, int64_t n_rows, const void *rows) {
    hsize_t dims[1] = {(hsize_t)n_rows}, maxdims[1] = {H5S_UNLIMITED};
    /* ~64 KiB chunks; a small table gets one chunk of its own size. */
    hsize_t chunk = 65536 / L->size;
    if (chunk < 1) chunk = 1;
    if (chunk > 4096) chunk = 4096;
    if ((hsize_t)n_rows < chunk) chunk = n_rows > 0 ? (hsize_t)n_rows : 1;
    hid_t sp, dcpl, ds;
    BT_H5_CHECK(sp = bt_h5_keep(ids, H5Screate_simple(1, dims, maxdims)));
    BT_H5_CHECK(dcpl = bt_h5_keep(ids, H5Pcreate(H5P_DATASET_CREATE)));
    BT_H5_CHECK(H5Pset_chunk(dcpl, 1, &chunk));
    if (H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) BT_H5_CHECK(H5Pset_deflate(dcpl, 4));
    BT_H5_CHECK(
        ds = bt_h5_keep(ids, H5Dcreate2(file, name, L->type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT)));
    if (n_rows > 0) BT_H5_CHECK(H5Dwrite(ds, L->type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows));

    BT_TRY(attr_fixed_str(ids, ds, "CLASS", "TABLE"));
    BT_TRY(attr_fixed_str(ids, ds, "VERSION", "2.7"));
    BT_TRY(attr_fixed_str(ids, ds, "TITLE", title));
    unsigned char zero[256];
    memset(zero, 0, sizeof zero);
    for (int i = 0; i < L->n; i++) {
        char key[64];
        char *member = H5Tget_member_name(L->type, (unsigned)i);
        if (!member) return bt_h5_fail(BT_STATUS_IO, "H5Tget_member_name", __FILE__, __LINE__);
        snprintf(key, sizeof key, "FIELD_%d_NAME", i);
        bt_status s = attr_fixed_str(ids, ds, key, member);
        H5free_memory(member);
        BT_TRY(s);
        /* A zero fill value of the column's own type; skipped for very wide strings. */
        hid_t mt;
        BT_H5_CHECK(mt = bt_h5_keep(ids, H5Tget_member_type(L->type, (unsigned)i)));
        if (H5Tget_size(mt) <= sizeof zero) {
            snprintf(key, sizeof key, "FIELD_%d_FILL", i);
            BT_TRY(attr_num(ids, ds, key, mt, mt, zero));
        }
    }
    return BT_STATUS_OK;
}

static void put(unsigned char *row, size_t off, const void *v, size_t n) {
    memcpy(row + off, v, n);
}

static void put_str(unsigned char *row, size_t off, const char *s, size_t field) {
    size_t n = strnlen(nz(s), field);
    memcpy(row + off, nz(s), n); /* the rest stays zero (calloc): NULLPAD */
}

static int64_t value_as_int(bt_value v) {
    if (v.kind == BT_VALUE_INT || v.kind == BT_VALUE_BOOL) return v.i;
    if (v.kind == BT_VALUE_FLOAT && fabs(v.f) < 9.2e18) return (int64_t)v.f;
    return 0;
}

static double value_as_float(bt_value v) {
    if (v.kind == BT_VALUE_INT || v.kind == BT_VALUE_BOOL) return (double)v.i;
    if (v.kind == BT_VALUE_FLOAT) return v.f;
    return NAN;
}

static bt_status write_trials(bt_h5_ids *ids, hid_t file, const bt_results *r) {
    table_layout L;
    BT_TRY(layout_init(ids, &L));
    hid_t st, dev;
    BT_H5_CHECK(st = fixed_str_type(ids, BT_STATUS_LEN, H5T_CSET_ASCII));
    BT_H5_CHECK(dev = fixed_str_type(ids, BT_DEVICE_LEN, H5T_CSET_ASCII));
    const hid_t fixed[BT_TRIAL_NFIXED] = {H5T_NATIVE_INT64,  st,
                                          H5T_NATIVE_DOUBLE, H5T_NATIVE_DOUBLE,
                                          H5T_NATIVE_INT64,  H5T_NATIVE_INT32,
                                          H5T_NATIVE_INT32,  dev,
                                          H5T_NATIVE_DOUBLE};
    bt_status s = BT_STATUS_OK;
    for (int f = 0; f < BT_TRIAL_NFIXED && s == BT_STATUS_OK; f++)
        s = layout_add(&L, bt_trial_fixed[f], fixed[f]);
    size_t *strlen_of = calloc((size_t)r->n_params + 1, sizeof *strlen_of);
    if (!strlen_of) s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    for (int j = 0; j < r->n_params && s == BT_STATUS_OK; j++) {
        hid_t mt = H5T_NATIVE_INT64;
        switch (r->params[j].kind) {
        case BT_VALUE_FLOAT:
            mt = H5T_NATIVE_DOUBLE;
            break;
        case BT_VALUE_BOOL:
            mt = H5T_NATIVE_INT8;
            break;
        case BT_VALUE_STRING: {
            size_t longest = 1;
            for (int64_t t = 0; t < r->n_trials; t++) {
                bt_value v = r->trials[t].params[j];
                size_t n = v.kind == BT_VALUE_STRING ? strlen(nz(v.s)) : 0;
                if (n > longest) longest = n;
            }
            strlen_of[j] = longest;
            mt = fixed_str_type(ids, longest, H5T_CSET_UTF8);
            if (mt < 0) s = bt_h5_fail(BT_STATUS_IO, "fixed_str_type", __FILE__, __LINE__);
            break;
        }
        default:
            break;
        }
        char col[300];
        if (s == BT_STATUS_OK)
            s = layout_add(&L, bt_results_param_column(r->params[j].name, col, sizeof col), mt);
    }
    size_t err_len = 1;
    for (int64_t t = 0; t < r->n_trials && r->error_column; t++) {
        size_t n = strlen(nz(r->trials[t].error));
        if (n > err_len) err_len = n;
    }
    if (r->error_column && s == BT_STATUS_OK) {
        hid_t et = fixed_str_type(ids, err_len, H5T_CSET_UTF8);
        s = et < 0 ? bt_h5_fail(BT_STATUS_IO, "fixed_str_type", __FILE__, __LINE__)
                   : layout_add(&L, "error", et);
    }
    unsigned char *buf = NULL;
    if (s == BT_STATUS_OK) {
        buf = calloc(r->n_trials > 0 ? (size_t)r->n_trials : 1, L.size);
        if (!buf)
            s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory for %lld trial rows",
                        (long long)r->n_trials);
    }
    for (int64_t t = 0; t < r->n_trials && s == BT_STATUS_OK; t++) {
        const bt_trial_row *tr = &r->trials[t];
        unsigned char *row = buf + (size_t)t * L.size;
        put(row, L.off[0], &tr->trial_id, 8);
        put_str(row, L.off[1], bt_trial_status_name(tr->status), BT_STATUS_LEN);
        put(row, L.off[2], &tr->metric, 8);
        put(row, L.off[3], &tr->best_metric, 8);
        put(row, L.off[4], &tr->resource, 8);
        put(row, L.off[5], &tr->bracket, 4);
        put(row, L.off[6], &tr->rung, 4);
        put_str(row, L.off[7], tr->device, BT_DEVICE_LEN);
        put(row, L.off[8], &tr->seconds, 8);
        for (int j = 0; j < r->n_params; j++) {
            bt_value v = tr->params[j];
            size_t off = L.off[BT_TRIAL_NFIXED + j];
            switch (r->params[j].kind) {
            case BT_VALUE_INT: {
                int64_t x = value_as_int(v);
                put(row, off, &x, 8);
                break;
            }
            case BT_VALUE_FLOAT: {
                double x = value_as_float(v);
                put(row, off, &x, 8);
                break;
            }
            case BT_VALUE_BOOL: {
                int8_t x = value_as_float(v) != 0.0 && !isnan(value_as_float(v));
                put(row, off, &x, 1);
                break;
            }
            case BT_VALUE_STRING:
                put_str(row, off, v.kind == BT_VALUE_STRING ? v.s : "", strlen_of[j]);
                break;
            default:
                break;
            }
        }
        if (r->error_column)
            put_str(row, L.off[BT_TRIAL_NFIXED + r->n_params], nz(tr->error), err_len);
    }
    if (s == BT_STATUS_OK) s = write_table(ids, file, "trials", "trials", &L, r->n_trials, buf);
    free(buf);
    free(strlen_of);
    free(L.off);
    return s;
}

static bt_status write_history(bt_h5_ids *ids, hid_t file, const bt_results *r) {
    size_t longest = 1;
    for (int i = 0; i < r->n_metric_names; i++) {
        size_t n = strlen(nz(r->metric_names[i]));
        if (n > longest) longest = n;
    }
    table_layout L;
    BT_TRY(layout_init(ids, &L));
    hid_t mt;
    BT_H5_CHECK(mt = fixed_str_type(ids, longest, H5T_CSET_UTF8));
    bt_status s = layout_add(&L, "trial_id", H5T_NATIVE_INT64);
    if (s == BT_STATUS_OK) s = layout_add(&L, "resource", H5T_NATIVE_INT64);
    if (s == BT_STATUS_OK) s = layout_add(&L, "metric", mt);
    if (s == BT_STATUS_OK) s = layout_add(&L, "value", H5T_NATIVE_DOUBLE);
    if (s == BT_STATUS_OK) s = layout_add(&L, "time", H5T_NATIVE_DOUBLE);
    unsigned char *buf = NULL;
    if (s == BT_STATUS_OK) {
        buf = calloc(r->n_history > 0 ? (size_t)r->n_history : 1, L.size);
        if (!buf) s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory for history");
    }
    for (int64_t h = 0; h < r->n_history && s == BT_STATUS_OK; h++) {
        const bt_history_row *hr = &r->history[h];
        unsigned char *row = buf + (size_t)h * L.size;
        put(row, L.off[0], &hr->trial_id, 8);
        put(row, L.off[1], &hr->resource, 8);
        put_str(row, L.off[2], r->metric_names[hr->metric], longest);
        put(row, L.off[3], &hr->value, 8);
        put(row, L.off[4], &hr->time, 8);
    }
    if (s == BT_STATUS_OK) s = write_table(ids, file, "history", "history", &L, r->n_history, buf);
    free(buf);
    free(L.off);
    return s;
}

static bt_status write_rungs(bt_h5_ids *ids, hid_t file, const bt_results *r) {
    table_layout L;
    BT_TRY(layout_init(ids, &L));
    bt_status s = layout_add(&L, "bracket", H5T_NATIVE_INT32);
    if (s == BT_STATUS_OK) s = layout_add(&L, "rung", H5T_NATIVE_INT32);
    if (s == BT_STATUS_OK) s = layout_add(&L, "trial_id", H5T_NATIVE_INT64);
    if (s == BT_STATUS_OK) s = layout_add(&L, "resource", H5T_NATIVE_INT64);
    if (s == BT_STATUS_OK) s = layout_add(&L, "metric", H5T_NATIVE_DOUBLE);
    if (s == BT_STATUS_OK) s = layout_add(&L, "promoted", H5T_NATIVE_INT8);
    unsigned char *buf = NULL;
    if (s == BT_STATUS_OK) {
        buf = calloc(r->n_rungs > 0 ? (size_t)r->n_rungs : 1, L.size);
        if (!buf) s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory for rungs");
    }
    for (int64_t k = 0; k < r->n_rungs && s == BT_STATUS_OK; k++) {
        const bt_rung_decision *d = &r->rungs[k];
        unsigned char *row = buf + (size_t)k * L.size;
        int8_t promoted = d->promoted != 0;
        put(row, L.off[0], &d->bracket, 4);
        put(row, L.off[1], &d->rung, 4);
        put(row, L.off[2], &d->trial, 8);
        put(row, L.off[3], &d->resource, 8);
        put(row, L.off[4], &d->metric, 8);
        put(row, L.off[5], &promoted, 1);
    }
    if (s == BT_STATUS_OK) s = write_table(ids, file, "rungs", "rungs", &L, r->n_rungs, buf);
    free(buf);
    free(L.off);
    return s;
}

static bt_status write_best(bt_h5_ids *ids, hid_t file, const bt_results *r) {
    hid_t g;
    BT_H5_CHECK(
        g = bt_h5_keep(ids, H5Gcreate2(file, "best", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)));
    const bt_trial_row *best = NULL;
    for (int64_t t = 0; t < r->n_trials && r->best_trial >= 0; t++)
        if (r->trials[t].trial_id == r->best_trial) best = &r->trials[t];
    int64_t id = best ? best->trial_id : -1;
    double metric = best ? best->metric : NAN;
    int64_t resource = best ? best->resource : 0;
    BT_TRY(attr_num(ids, g, "trial_id", H5T_STD_I64LE, H5T_NATIVE_INT64, &id));
    BT_TRY(attr_num(ids, g, "metric", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &metric));
    BT_TRY(attr_num(ids, g, "resource", H5T_STD_I64LE, H5T_NATIVE_INT64, &resource));
    for (int j = 0; best && j < r->n_params; j++) {
        char col[300];
        const char *name = bt_results_param_column(r->params[j].name, col, sizeof col);
        bt_value v = best->params[j];
        switch (r->params[j].kind) {
        case BT_VALUE_INT: {
            int64_t x = value_as_int(v);
            BT_TRY(attr_num(ids, g, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &x));
            break;
        }
        case BT_VALUE_FLOAT: {
            double x = value_as_float(v);
            BT_TRY(attr_num(ids, g, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &x));
            break;
        }
        case BT_VALUE_BOOL: {
            int8_t x = value_as_int(v) != 0;
            BT_TRY(attr_num(ids, g, name, H5T_STD_I8LE, H5T_NATIVE_INT8, &x));
            break;
        }
        case BT_VALUE_STRING:
            BT_TRY(attr_str(ids, g, name, v.kind == BT_VALUE_STRING ? v.s : ""));
            break;
        default:
            break;
        }
    }
    if (r->best_model) {
        hsize_t n[1] = {(hsize_t)r->best_model_len};
        hid_t sp, ds;
        BT_H5_CHECK(sp = bt_h5_keep(ids, H5Screate_simple(1, n, NULL)));
        BT_H5_CHECK(ds = bt_h5_keep(ids, H5Dcreate2(g, "model", H5T_STD_U8LE, sp, H5P_DEFAULT,
                                                    H5P_DEFAULT, H5P_DEFAULT)));
        if (r->best_model_len > 0)
            BT_H5_CHECK(
                H5Dwrite(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, r->best_model));
        BT_TRY(attr_str(ids, ds, "format", r->best_model_format));
    }
    return BT_STATUS_OK;
}

static bt_status write_root(bt_h5_ids *ids, hid_t file, const bt_results *r) {
    char now[32];
    const char *created = r->created;
    if (!created || !*created) {
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
        created = now;
    }
    int version = 1;
    BT_TRY(attr_str(ids, file, "format", "batchtune-results"));
    BT_TRY(attr_num(ids, file, "format_version", H5T_STD_I32LE, H5T_NATIVE_INT, &version));
    BT_TRY(attr_str(ids, file, "batchtune_version", r->batchtune_version));
    BT_TRY(attr_str(ids, file, "created", created));
    BT_TRY(attr_str(ids, file, "sweep", r->sweep_text));
    BT_TRY(attr_str(ids, file, "sweep_sha256", r->sweep_sha256));
    BT_TRY(attr_str(ids, file, "sweep_path", r->sweep_path));
    BT_TRY(attr_num(ids, file, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, &r->seed));
    if (r->run_cap_override > 0)
        BT_TRY(attr_num(ids, file, "run_cap_override", H5T_STD_I64LE, H5T_NATIVE_INT64,
                        &r->run_cap_override));
    BT_TRY(attr_str(ids, file, "host", r->host));
    BT_TRY(attr_str(ids, file, "command_line", r->command_line));
    BT_TRY(attr_str(ids, file, "metric", r->metric_name));
    BT_TRY(attr_str(ids, file, "goal", r->maximize ? "maximize" : "minimize"));
    BT_TRY(attr_str(ids, file, "scheduler", r->scheduler));
    BT_TRY(attr_str(ids, file, "model", r->model_type));
    if (r->device) BT_TRY(attr_str(ids, file, "device", r->device));
    if (r->metric_as_written && *r->metric_as_written)
        BT_TRY(attr_str(ids, file, "metric_as_written", r->metric_as_written));
    /* All names the history may refer to, including ones with no rows yet. */
    BT_TRY(attr_str_list(ids, file, "metric_names", r->metric_names, r->n_metric_names));
    BT_TRY(attr_str_list(ids, file, "warnings", r->warnings, r->n_warnings));
    return BT_STATUS_OK;
}

/* /system: one float64 column each, so a packed row is the bt_results row as it is. */
static bt_status write_system(bt_h5_ids *ids, hid_t file, const bt_results *r) {
    if (r->n_system <= 0 || r->n_system_cols <= 0) return BT_STATUS_OK;
    table_layout L;
    BT_TRY(layout_init(ids, &L));
    bt_status s = BT_STATUS_OK;
    for (int c = 0; c < r->n_system_cols && s == BT_STATUS_OK; c++)
        s = layout_add(&L, r->system_cols[c], H5T_NATIVE_DOUBLE);
    if (s == BT_STATUS_OK)
        s = write_table(ids, file, "system", "system", &L, r->n_system, r->system);
    free(L.off);
    return s;
}

/* Provenance: only what is known is written (an absent attribute means "not known"). */
static bt_status write_provenance(bt_h5_ids *ids, hid_t file, const bt_results *r) {
    const struct {
        const char *name, *value;
    } attrs[] = {{"git_commit", r->git_commit},
                 {"train_sha256", r->train_sha256},
                 {"valid_sha256", r->valid_sha256},
                 {"note", r->note},
                 {"tags", r->tags},
                 {"cpu_model", r->cpu_model},
                 {"gpu_names", r->gpu_names},
                 {"driver_version", r->driver_version},
                 {"cuda_version", r->cuda_version}};
    for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++)
        if (attrs[i].value && *attrs[i].value)
            BT_TRY(attr_str(ids, file, attrs[i].name, attrs[i].value));
    if (r->git_commit && *r->git_commit) {
        int8_t dirty = r->git_dirty > 0;
        BT_TRY(attr_num(ids, file, "git_dirty", H5T_STD_I8LE, H5T_NATIVE_INT8, &dirty));
    }
    return BT_STATUS_OK;
}

static bt_status write_all(bt_h5_ids *ids, hid_t file, const bt_results *r) {
    BT_TRY(write_root(ids, file, r));
    BT_TRY(write_trials(ids, file, r));
    BT_TRY(write_history(ids, file, r));
    BT_TRY(write_rungs(ids, file, r));
    BT_TRY(write_best(ids, file, r));
    BT_TRY(write_provenance(ids, file, r));
    BT_TRY(write_system(ids, file, r));
    return BT_STATUS_OK;
}

static bt_status fsync_dir(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return BT_FAIL(BT_STATUS_IO, "%s: cannot open for fsync: %s", path, strerror(errno));
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    /* Some file systems cannot fsync a folder (EINVAL); the rename itself has still happened. */
    if (rc != 0 && !(err == EINVAL || err == ENOTSUP))
        return BT_FAIL(BT_STATUS_IO, "%s: fsync failed: %s", path, strerror(err));
    return BT_STATUS_OK;
}

/* The whole file built in memory (HDF5's core driver, no backing store) and handed back as one
 * image: a full disk, a file-size limit or any other failed write is then a plain write(2) error
 * we clean up after, never an HDF5 file stuck open after a failed flush (its exit handler
 * crashed on that). STRONG close degree: closing the file closes whatever is still open in it. */
static bt_status build_image(const bt_results *r, const char *name, void **img, size_t *len) {
    bt_h5_quiet quiet;
    bt_h5_quiet_begin(&quiet);
    bt_h5_ids ids = {0};
    bt_status s = BT_STATUS_OK;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), file = -1;
    if (fapl < 0 || H5Pset_fapl_core(fapl, 1 << 20, 0) < 0 ||
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0)
        s = bt_h5_fail(BT_STATUS_IO, "H5Pset_fapl_core", __FILE__, __LINE__);
    if (s == BT_STATUS_OK) {
        file = H5Fcreate(name, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
        if (file < 0) s = bt_h5_fail(BT_STATUS_IO, "H5Fcreate(memory)", __FILE__, __LINE__);
    }
    if (s == BT_STATUS_OK) s = write_all(&ids, file, r);
    bt_h5_close_all(&ids);
    if (s == BT_STATUS_OK && H5Fflush(file, H5F_SCOPE_GLOBAL) < 0)
        s = bt_h5_fail(BT_STATUS_IO, "H5Fflush(memory)", __FILE__, __LINE__);
    ssize_t n = s == BT_STATUS_OK ? H5Fget_file_image(file, NULL, 0) : -1;
    if (s == BT_STATUS_OK && n <= 0)
        s = bt_h5_fail(BT_STATUS_IO, "H5Fget_file_image", __FILE__, __LINE__);
    if (s == BT_STATUS_OK) {
        *img = malloc((size_t)n);
        *len = (size_t)n;
        if (!*img)
            s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory for a %zd-byte results file", n);
        else if (H5Fget_file_image(file, *img, (size_t)n) != n)
            s = bt_h5_fail(BT_STATUS_IO, "H5Fget_file_image", __FILE__, __LINE__);
    }
    if (file >= 0) H5Fclose(file); /* in memory: nothing left to fail but freeing */
    if (fapl >= 0) H5Pclose(fapl);
    H5Eclear2(H5E_DEFAULT);
    bt_h5_quiet_end(&quiet);
    if (s != BT_STATUS_OK) {
        free(*img);
        *img = NULL;
    }
    return s;
}

/* The image into a new file at tmp (O_EXCL, never through a link), fsync'd. */
static bt_status write_image(const char *tmp, const void *img, size_t len, int *created) {
    int fd = bt_wopen(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return BT_FAIL(BT_STATUS_IO, "%s: cannot create: %s", tmp, bt_wopen_error(errno));
    *created = 1;
    const char *at = img;
    int err = 0;
    while (len > 0 && !err) {
        ssize_t w = write(fd, at, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            err = w < 0 ? errno : ENOSPC;
            break;
        }
        at += w;
        len -= (size_t)w;
    }
    if (!err && fsync(fd) != 0) err = errno;
    if (close(fd) != 0 && !err) err = errno;
    if (err) return BT_FAIL(BT_STATUS_IO, "%s: cannot write: %s", tmp, strerror(err));
    return BT_STATUS_OK;
}

bt_status bt_results_write(const bt_results *r, const char *path) {
    BT_TRY(check_input(r, path));
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    char *dir = malloc(n);
    if (!tmp || !dir) {
        free(tmp);
        free(dir);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    bt_path_folder(path, dir, n);

    void *img = NULL;
    size_t len = 0;
    bt_status s = build_image(r, tmp, &img, &len);
    /* EXCL: never truncate something that is not ours (a leftover of the same pid is removed
     * first; anything else at that name, like a folder, makes the write fail) */
    struct stat st;
    if (s == BT_STATUS_OK && lstat(tmp, &st) == 0 && S_ISREG(st.st_mode)) unlink(tmp);
    int created = 0;
    if (s == BT_STATUS_OK) s = write_image(tmp, img, len, &created);
    free(img);
    if (s == BT_STATUS_OK && rename(tmp, path) != 0)
        s = BT_FAIL(BT_STATUS_IO, "%s: cannot rename %s over it: %s", path, tmp, strerror(errno));
    if (s == BT_STATUS_OK) {
        s = fsync_dir(dir);
    } else if (created) {
        unlink(tmp); /* a half-written temporary never stays behind (a full disk, EFBIG) */
    }
    free(tmp);
    free(dir);
    return s;
}
