/* bt_results_read: loads a results.h5 written by bt_results_write back into a bt_results, for
 * `batchtune report`, `export` and the tests. Hyperparameter columns and their kinds come from
 * the /trials compound type: every member after the 9 fixed ones is one parameter. */
#define _POSIX_C_SOURCE 200809L
#include "runtime/store/results.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/store/h5check.h"

static char *dup_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* ---- attributes ------------------------------------------------------------------------- */

/* Reads a string attribute, variable or fixed length, into a malloc'ed string. A missing
 * attribute gives "" unless required. */
static bt_status attr_read_str(bt_h5_ids *ids, hid_t obj, const char *name, int required,
                               char **out) {
    htri_t has = H5Aexists(obj, name);
    BT_H5_CHECK(has);
    if (!has) {
        if (required)
            return BT_FAIL(BT_STATUS_BAD_INPUT, "not a batchtune results file: no \"%s\" attribute",
                           name);
        *out = dup_n("", 0);
        BT_CHECK_ALLOC(*out);
        return BT_STATUS_OK;
    }
    hid_t a, ft, mt;
    BT_H5_CHECK(a = bt_h5_keep(ids, H5Aopen(obj, name, H5P_DEFAULT)));
    BT_H5_CHECK(ft = bt_h5_keep(ids, H5Aget_type(a)));
    if (H5Tget_class(ft) != H5T_STRING)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "attribute \"%s\" is not a string", name);
    htri_t var = H5Tis_variable_str(ft);
    BT_H5_CHECK(var);
    BT_H5_CHECK(mt = bt_h5_keep(ids, H5Tcopy(H5T_C_S1)));
    BT_H5_CHECK(H5Tset_cset(mt, H5Tget_cset(ft)));
    if (var) {
        char *v = NULL;
        BT_H5_CHECK(H5Tset_size(mt, H5T_VARIABLE));
        BT_H5_CHECK(H5Aread(a, mt, &v));
        *out = dup_n(v ? v : "", v ? strlen(v) : 0);
        if (v) H5free_memory(v);
    } else {
        size_t n = H5Tget_size(ft);
        char *buf = calloc(n + 1, 1);
        BT_CHECK_ALLOC(buf);
        herr_t e = H5Tset_size(mt, n);
        if (e >= 0) e = H5Tset_strpad(mt, H5T_STR_NULLPAD);
        if (e >= 0) e = H5Aread(a, mt, buf);
        if (e >= 0) *out = dup_n(buf, strnlen(buf, n));
        free(buf);
        BT_H5_CHECK(e);
    }
    BT_CHECK_ALLOC(*out);
    return BT_STATUS_OK;
}

/* Numeric attribute converted by HDF5 to mem_type; missing is an error. */
static bt_status attr_read_num(bt_h5_ids *ids, hid_t obj, const char *name, hid_t mem_type,
                               void *out) {
    htri_t has = H5Aexists(obj, name);
    BT_H5_CHECK(has);
    if (!has) return BT_FAIL(BT_STATUS_BAD_INPUT, "results file: no \"%s\" attribute", name);
    hid_t a;
    BT_H5_CHECK(a = bt_h5_keep(ids, H5Aopen(obj, name, H5P_DEFAULT)));
    BT_H5_CHECK(H5Aread(a, mem_type, out));
    return BT_STATUS_OK;
}

/* A 1-D string array attribute into *out (n entries); a missing one leaves it empty. */
static bt_status attr_read_str_list(bt_h5_ids *ids, hid_t file, const char *name, char ***out,
                                    int *n_out) {
    htri_t has = H5Aexists(file, name);
    BT_H5_CHECK(has);
    if (!has) return BT_STATUS_OK;
    hid_t a, sp, mt;
    BT_H5_CHECK(a = bt_h5_keep(ids, H5Aopen(file, name, H5P_DEFAULT)));
    BT_H5_CHECK(sp = bt_h5_keep(ids, H5Aget_space(a)));
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    BT_H5_CHECK(n);
    if (n == 0) return BT_STATUS_OK;
    BT_H5_CHECK(mt = bt_h5_keep(ids, H5Tcopy(H5T_C_S1)));
    BT_H5_CHECK(H5Tset_size(mt, H5T_VARIABLE));
    BT_H5_CHECK(H5Tset_cset(mt, H5T_CSET_UTF8));
    char **v = calloc((size_t)n, sizeof *v);
    BT_CHECK_ALLOC(v);
    *out = calloc((size_t)n, sizeof **out);
    herr_t e = *out ? H5Aread(a, mt, v) : 0;
    bt_status s = *out ? BT_STATUS_OK : BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    if (e < 0) s = bt_h5_fail(BT_STATUS_IO, "H5Aread(string list)", __FILE__, __LINE__);
    for (hssize_t i = 0; i < n && s == BT_STATUS_OK; i++) {
        (*out)[i] = dup_n(v[i] ? v[i] : "", v[i] ? strlen(v[i]) : 0);
        if (!(*out)[i])
            s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
        else
            (*n_out)++;
    }
    if (e >= 0) H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, v);
    free(v);
    return s;
}

/* ---- tables ----------------------------------------------------------------------------- */

/* A packed memory compound with the members the reader wants, each in the type it wants;
 * HDF5 matches members by name and converts. */
typedef struct read_layout {
    hid_t type;
    size_t size;
    size_t off[64];
} read_layout;

typedef struct col_spec {
    const char *name;
    hid_t type; /* memory type; a string member is given as -1 and copied from the file */
} col_spec;

/* Opens `name` and reads all rows as the packed compound of `cols` (n_cols <= 64). Params
 * columns of /trials are handled by read_trials, which needs a dynamic layout. */
static bt_status read_rows(bt_h5_ids *ids, hid_t file, const char *name, const col_spec *cols,
                           int n_cols, read_layout *L, int64_t *n_rows, unsigned char **rows) {
    hid_t ds, ft, sp;
    *rows = NULL;
    *n_rows = 0;
    htri_t has = H5Lexists(file, name, H5P_DEFAULT);
    BT_H5_CHECK(has);
    if (!has) return BT_FAIL(BT_STATUS_BAD_INPUT, "results file: no /%s table", name);
    BT_H5_CHECK(ds = bt_h5_keep(ids, H5Dopen2(file, name, H5P_DEFAULT)));
    BT_H5_CHECK(ft = bt_h5_keep(ids, H5Dget_type(ds)));
    if (H5Tget_class(ft) != H5T_COMPOUND)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "results file: /%s is not a table", name);
    hid_t mtypes[64];
    L->size = 0;
    for (int i = 0; i < n_cols; i++) {
        mtypes[i] = cols[i].type;
        if (mtypes[i] < 0) {
            int idx = H5Tget_member_index(ft, cols[i].name);
            if (idx < 0)
                return BT_FAIL(BT_STATUS_BAD_INPUT, "results file: /%s has no column \"%s\"", name,
                               cols[i].name);
            BT_H5_CHECK(mtypes[i] = bt_h5_keep(ids, H5Tget_member_type(ft, (unsigned)idx)));
            if (H5Tget_class(mtypes[i]) != H5T_STRING || H5Tis_variable_str(mtypes[i]) != 0)
                return BT_FAIL(BT_STATUS_BAD_INPUT,
                               "results file: /%s column \"%s\" is not a fixed-length string", name,
                               cols[i].name);
        } else if (H5Tget_member_index(ft, cols[i].name) < 0) {
            return BT_FAIL(BT_STATUS_BAD_INPUT, "results file: /%s has no column \"%s\"", name,
                           cols[i].name);
        }
        L->off[i] = L->size;
        L->size += H5Tget_size(mtypes[i]);
    }
    BT_H5_CHECK(L->type = bt_h5_keep(ids, H5Tcreate(H5T_COMPOUND, L->size)));
    for (int i = 0; i < n_cols; i++)
        BT_H5_CHECK(H5Tinsert(L->type, cols[i].name, L->off[i], mtypes[i]));
    BT_H5_CHECK(sp = bt_h5_keep(ids, H5Dget_space(ds)));
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    BT_H5_CHECK(n);
    *rows = malloc(n > 0 ? (size_t)n * L->size : 1);
    BT_CHECK_ALLOC(*rows);
    if (n > 0) BT_H5_CHECK(H5Dread(ds, L->type, H5S_ALL, H5S_ALL, H5P_DEFAULT, *rows));
    *n_rows = n;
    return BT_STATUS_OK;
}

static size_t member_size(const read_layout *L, int i, int n_cols) {
    return (i + 1 < n_cols ? L->off[i + 1] : L->size) - L->off[i];
}

static void get(void *dst, const unsigned char *row, size_t off, size_t n) {
    memcpy(dst, row + off, n);
}

static char *get_str(const unsigned char *row, size_t off, size_t n) {
    const char *s = (const char *)row + off;
    return dup_n(s, strnlen(s, n));
}

static bt_status read_trials(bt_h5_ids *ids, hid_t file, bt_results *r) {
    hid_t ds, ft;
    htri_t has = H5Lexists(file, "trials", H5P_DEFAULT);
    BT_H5_CHECK(has);
    if (!has) return BT_FAIL(BT_STATUS_BAD_INPUT, "results file: no /trials table");
    BT_H5_CHECK(ds = bt_h5_keep(ids, H5Dopen2(file, "trials", H5P_DEFAULT)));
    BT_H5_CHECK(ft = bt_h5_keep(ids, H5Dget_type(ds)));
    int nm = H5Tget_nmembers(ft);
    if (H5Tget_class(ft) != H5T_COMPOUND || nm < BT_TRIAL_NFIXED)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "results file: /trials is not a batchtune table");
    for (int i = 0; i < BT_TRIAL_NFIXED; i++) {
        char *m = H5Tget_member_name(ft, (unsigned)i);
        int same = m && strcmp(m, bt_trial_fixed[i]) == 0;
        if (m) H5free_memory(m);
        if (!same)
            return BT_FAIL(BT_STATUS_BAD_INPUT, "results file: /trials column %d is not \"%s\"", i,
                           bt_trial_fixed[i]);
    }
    /* Parameters: kinds from the file's member classes. */
    r->n_params = 0;
    r->params = calloc((size_t)(nm - BT_TRIAL_NFIXED) + 1, sizeof *r->params);
    BT_CHECK_ALLOC(r->params);
    hid_t *mt = calloc((size_t)nm, sizeof *mt);
    size_t *off = calloc((size_t)nm + 1, sizeof *off);
    bt_status s = (mt && off) ? BT_STATUS_OK : BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    for (int i = 0; i < nm && s == BT_STATUS_OK; i++) {
        hid_t fm = bt_h5_keep(ids, H5Tget_member_type(ft, (unsigned)i));
        if (fm < 0) {
            s = bt_h5_fail(BT_STATUS_IO, "H5Tget_member_type", __FILE__, __LINE__);
            break;
        }
        H5T_class_t cls = H5Tget_class(fm);
        size_t fsz = H5Tget_size(fm);
        bt_value_kind kind = BT_VALUE_NONE;
        if (cls == H5T_STRING && H5Tis_variable_str(fm) == 0) {
            mt[i] = fm; /* copied as is, NUL padding stripped below */
            kind = BT_VALUE_STRING;
        } else if (cls == H5T_INTEGER && fsz == 1) {
            mt[i] = H5T_NATIVE_INT8;
            kind = BT_VALUE_BOOL;
        } else if (cls == H5T_INTEGER) {
            mt[i] = i == 5 || i == 6 ? H5T_NATIVE_INT32 : H5T_NATIVE_INT64;
            kind = BT_VALUE_INT;
        } else if (cls == H5T_FLOAT) {
            mt[i] = H5T_NATIVE_DOUBLE;
            kind = BT_VALUE_FLOAT;
        } else {
            char *m = H5Tget_member_name(ft, (unsigned)i);
            s = BT_FAIL(BT_STATUS_BAD_INPUT,
                        "results file: /trials column \"%s\" has a type "
                        "batchtune does not read",
                        m ? m : "?");
            if (m) H5free_memory(m);
            break;
        }
        off[i + 1] = off[i] + H5Tget_size(mt[i]);
        if (i >= BT_TRIAL_NFIXED) {
            char *m = H5Tget_member_name(ft, (unsigned)i);
            if (m && i == nm - 1 && kind == BT_VALUE_STRING && strcmp(m, "error") == 0) {
                r->error_column = 1; /* a program sweep's failures, after the parameters */
                H5free_memory(m);
                continue;
            }
            const char *pn = m ? bt_results_column_param(m) : NULL;
            r->params[r->n_params].name = pn ? dup_n(pn, strlen(pn)) : NULL;
            if (m) H5free_memory(m);
            if (!r->params[r->n_params].name) s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
            r->params[r->n_params++].kind = kind;
        }
    }
    static const H5T_class_t want[BT_TRIAL_NFIXED] = {H5T_INTEGER, H5T_STRING,  H5T_FLOAT,
                                                      H5T_FLOAT,   H5T_INTEGER, H5T_INTEGER,
                                                      H5T_INTEGER, H5T_STRING,  H5T_FLOAT};
    for (int i = 0; i < BT_TRIAL_NFIXED && s == BT_STATUS_OK; i++)
        if (H5Tget_class(mt[i]) != want[i])
            s = BT_FAIL(BT_STATUS_BAD_INPUT,
                        "results file: /trials column \"%s\" has the wrong "
                        "type",
                        bt_trial_fixed[i]);
    hid_t mem = -1;
    unsigned char *buf = NULL;
    hssize_t n = 0;
    if (s == BT_STATUS_OK) {
        mem = bt_h5_keep(ids, H5Tcreate(H5T_COMPOUND, off[nm]));
        herr_t e = mem;
        for (int i = 0; i < nm && e >= 0; i++) {
            char *m = H5Tget_member_name(ft, (unsigned)i);
            e = m ? H5Tinsert(mem, m, off[i], mt[i]) : -1;
            if (m) H5free_memory(m);
        }
        hid_t sp = e < 0 ? -1 : bt_h5_keep(ids, H5Dget_space(ds));
        n = sp < 0 ? -1 : H5Sget_simple_extent_npoints(sp);
        if (n >= 0) buf = malloc(n > 0 ? (size_t)n * off[nm] : 1);
        if (n >= 0 && !buf)
            s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
        else if (n < 0 || (n > 0 && H5Dread(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0))
            s = bt_h5_fail(BT_STATUS_IO, "reading /trials", __FILE__, __LINE__);
    }
    if (s == BT_STATUS_OK && n > 0) {
        r->trials = calloc((size_t)n, sizeof *r->trials);
        if (!r->trials) s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    for (hssize_t t = 0; t < n && s == BT_STATUS_OK; t++) {
        const unsigned char *row = buf + (size_t)t * off[nm];
        bt_trial_row *tr = &r->trials[t];
        r->n_trials++; /* counted first so bt_results_free releases a half-read row */
        tr->params = calloc((size_t)r->n_params + 1, sizeof *tr->params);
        if (!tr->params) {
            s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
            break;
        }
        get(&tr->trial_id, row, off[0], 8);
        char *st = get_str(row, off[1], off[2] - off[1]);
        if (!st) {
            s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
            break;
        }
        s = bt_trial_status_parse(st, &tr->status);
        free(st);
        get(&tr->metric, row, off[2], 8);
        get(&tr->best_metric, row, off[3], 8);
        get(&tr->resource, row, off[4], 8);
        get(&tr->bracket, row, off[5], 4);
        get(&tr->rung, row, off[6], 4);
        size_t dn = off[8] - off[7];
        const char *dev = (const char *)row + off[7];
        dn = strnlen(dev, dn < sizeof tr->device - 1 ? dn : sizeof tr->device - 1);
        memcpy(tr->device, dev, dn);
        get(&tr->seconds, row, off[8], 8);
        if (r->error_column) {
            char *x = get_str(row, off[nm - 1], off[nm] - off[nm - 1]);
            if (x && !*x) {
                free(x);
                x = NULL;
            }
            tr->error = x;
        }
        for (int j = 0; j < r->n_params && s == BT_STATUS_OK; j++) {
            int i = BT_TRIAL_NFIXED + j;
            switch (r->params[j].kind) {
            case BT_VALUE_INT: {
                int64_t x;
                get(&x, row, off[i], 8);
                tr->params[j] = bt_value_int(x);
                break;
            }
            case BT_VALUE_FLOAT: {
                double x;
                get(&x, row, off[i], 8);
                tr->params[j] = bt_value_float(x);
                break;
            }
            case BT_VALUE_BOOL: {
                int8_t x;
                get(&x, row, off[i], 1);
                tr->params[j] = bt_value_bool(x);
                break;
            }
            case BT_VALUE_STRING: {
                char *x = get_str(row, off[i], off[i + 1] - off[i]);
                if (!x)
                    s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
                else
                    tr->params[j] = bt_value_string(x);
                break;
            }
            default:
                break;
            }
        }
    }
    free(buf);
    free(mt);
    free(off);
    return s;
}

static bt_status metric_index(bt_results *r, const char *name, int32_t *out) {
    for (int i = 0; i < r->n_metric_names; i++) {
        if (strcmp(r->metric_names[i], name) == 0) {
            *out = i;
            return BT_STATUS_OK;
        }
    }
    /* A name the file's metric_names attribute lacks (older or hand-made file): add it. */
    char **p = realloc(r->metric_names, (size_t)(r->n_metric_names + 1) * sizeof *p);
    BT_CHECK_ALLOC(p);
    r->metric_names = p;
    p[r->n_metric_names] = dup_n(name, strlen(name));
    BT_CHECK_ALLOC(p[r->n_metric_names]);
    *out = r->n_metric_names++;
    return BT_STATUS_OK;
}

static bt_status read_history(bt_h5_ids *ids, hid_t file, bt_results *r) {
    const col_spec cols[] = {{"trial_id", H5T_NATIVE_INT64},
                             {"resource", H5T_NATIVE_INT64},
                             {"metric", -1},
                             {"value", H5T_NATIVE_DOUBLE},
                             {"time", H5T_NATIVE_DOUBLE}};
    read_layout L;
    unsigned char *rows = NULL;
    int64_t n = 0;
    bt_status s = read_rows(ids, file, "history", cols, 5, &L, &n, &rows);
    if (s == BT_STATUS_OK && n > 0) {
        r->history = calloc((size_t)n, sizeof *r->history);
        if (!r->history)
            s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
        else
            r->cap_history = n;
    }
    for (int64_t h = 0; h < n && s == BT_STATUS_OK; h++) {
        const unsigned char *row = rows + (size_t)h * L.size;
        bt_history_row *hr = &r->history[h];
        get(&hr->trial_id, row, L.off[0], 8);
        get(&hr->resource, row, L.off[1], 8);
        char *m = get_str(row, L.off[2], member_size(&L, 2, 5));
        if (!m) {
            s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
            break;
        }
        s = metric_index(r, m, &hr->metric);
        free(m);
        get(&hr->value, row, L.off[3], 8);
        get(&hr->time, row, L.off[4], 8);
        r->n_history++;
    }
    free(rows);
    return s;
}

static bt_status read_rungs(bt_h5_ids *ids, hid_t file, bt_results *r) {
    const col_spec cols[] = {{"bracket", H5T_NATIVE_INT32},  {"rung", H5T_NATIVE_INT32},
                             {"trial_id", H5T_NATIVE_INT64}, {"resource", H5T_NATIVE_INT64},
                             {"metric", H5T_NATIVE_DOUBLE},  {"promoted", H5T_NATIVE_INT8}};
    read_layout L;
    unsigned char *rows = NULL;
    int64_t n = 0;
    bt_status s = read_rows(ids, file, "rungs", cols, 6, &L, &n, &rows);
    if (s == BT_STATUS_OK && n > 0) {
        r->rungs = calloc((size_t)n, sizeof *r->rungs);
        if (!r->rungs) s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    for (int64_t k = 0; k < n && s == BT_STATUS_OK; k++) {
        const unsigned char *row = rows + (size_t)k * L.size;
        bt_rung_decision *d = &r->rungs[k];
        int8_t promoted;
        get(&d->bracket, row, L.off[0], 4);
        get(&d->rung, row, L.off[1], 4);
        get(&d->trial, row, L.off[2], 8);
        get(&d->resource, row, L.off[3], 8);
        get(&d->metric, row, L.off[4], 8);
        get(&promoted, row, L.off[5], 1);
        d->promoted = promoted;
        r->n_rungs++;
    }
    free(rows);
    return s;
}

static bt_status read_best(bt_h5_ids *ids, hid_t file, bt_results *r) {
    htri_t has = H5Lexists(file, "best", H5P_DEFAULT);
    BT_H5_CHECK(has);
    if (!has) return BT_STATUS_OK;
    hid_t g;
    BT_H5_CHECK(g = bt_h5_keep(ids, H5Gopen2(file, "best", H5P_DEFAULT)));
    BT_TRY(attr_read_num(ids, g, "trial_id", H5T_NATIVE_INT64, &r->best_trial));
    has = H5Lexists(g, "model", H5P_DEFAULT);
    BT_H5_CHECK(has);
    if (!has) return BT_STATUS_OK;
    hid_t ds, sp;
    BT_H5_CHECK(ds = bt_h5_keep(ids, H5Dopen2(g, "model", H5P_DEFAULT)));
    BT_H5_CHECK(sp = bt_h5_keep(ids, H5Dget_space(ds)));
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    BT_H5_CHECK(n);
    /* NUL-terminated as well, so a JSON model can be used as a C string. */
    r->best_model = malloc((size_t)n + 1);
    BT_CHECK_ALLOC(r->best_model);
    r->best_model[n] = '\0';
    r->best_model_len = (size_t)n;
    if (n > 0)
        BT_H5_CHECK(H5Dread(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, r->best_model));
    BT_TRY(attr_read_str(ids, ds, "format", 0, &r->best_model_format));
    return BT_STATUS_OK;
}

/* /system: every column as float64, names in file order; no dataset: no rows. */
static bt_status read_system(bt_h5_ids *ids, hid_t file, bt_results *r) {
    htri_t has = H5Lexists(file, "system", H5P_DEFAULT);
    BT_H5_CHECK(has);
    if (!has) return BT_STATUS_OK;
    hid_t ds, ft;
    BT_H5_CHECK(ds = bt_h5_keep(ids, H5Dopen2(file, "system", H5P_DEFAULT)));
    BT_H5_CHECK(ft = bt_h5_keep(ids, H5Dget_type(ds)));
    int n = H5Tget_class(ft) == H5T_COMPOUND ? H5Tget_nmembers(ft) : -1;
    if (n <= 0 || n > 64)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "results file: /system is not a table of numbers");
    col_spec cols[64];
    r->system_cols = calloc((size_t)n, sizeof *r->system_cols);
    BT_CHECK_ALLOC(r->system_cols);
    for (int c = 0; c < n; c++) {
        char *name = H5Tget_member_name(ft, (unsigned)c);
        if (!name) return bt_h5_fail(BT_STATUS_IO, "H5Tget_member_name", __FILE__, __LINE__);
        r->system_cols[c] = dup_n(name, strlen(name));
        H5free_memory(name);
        BT_CHECK_ALLOC(r->system_cols[c]);
        r->n_system_cols++;
        cols[c] = (col_spec){r->system_cols[c], H5T_NATIVE_DOUBLE};
    }
    read_layout L;
    unsigned char *rows = NULL;
    BT_TRY(read_rows(ids, file, "system", cols, n, &L, &r->n_system, &rows));
    r->system = (double *)rows; /* packed float64 members: row-major doubles */
    return BT_STATUS_OK;
}

static bt_status read_provenance(bt_h5_ids *ids, hid_t file, bt_results *r) {
    const struct {
        const char *name;
        char **to;
    } attrs[] = {{"git_commit", &r->git_commit},
                 {"train_sha256", &r->train_sha256},
                 {"valid_sha256", &r->valid_sha256},
                 {"note", &r->note},
                 {"tags", &r->tags},
                 {"cpu_model", &r->cpu_model},
                 {"gpu_names", &r->gpu_names},
                 {"driver_version", &r->driver_version},
                 {"cuda_version", &r->cuda_version}};
    for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++)
        BT_TRY(attr_read_str(ids, file, attrs[i].name, 0, attrs[i].to));
    htri_t dirty = H5Aexists(file, "git_dirty");
    BT_H5_CHECK(dirty);
    if (dirty) BT_TRY(attr_read_num(ids, file, "git_dirty", H5T_NATIVE_INT, &r->git_dirty));
    return BT_STATUS_OK;
}

static bt_status read_all(bt_h5_ids *ids, hid_t file, bt_results *r) {
    char *format = NULL, *goal = NULL;
    BT_TRY(attr_read_str(ids, file, "format", 1, &format));
    int ok = strcmp(format, "batchtune-results") == 0;
    free(format);
    if (!ok) return BT_FAIL(BT_STATUS_BAD_INPUT, "not a batchtune results file (format attribute)");
    int version = 0;
    BT_TRY(attr_read_num(ids, file, "format_version", H5T_NATIVE_INT, &version));
    if (version < 1 || version > 1)
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "results format_version %d; this batchtune reads version 1", version);
    BT_TRY(attr_read_str(ids, file, "batchtune_version", 0, &r->batchtune_version));
    BT_TRY(attr_read_str(ids, file, "created", 0, &r->created));
    BT_TRY(attr_read_str(ids, file, "sweep", 0, &r->sweep_text));
    BT_TRY(attr_read_str(ids, file, "sweep_sha256", 0, &r->sweep_sha256));
    BT_TRY(attr_read_str(ids, file, "sweep_path", 0, &r->sweep_path));
    BT_TRY(attr_read_num(ids, file, "seed", H5T_NATIVE_UINT64, &r->seed));
    htri_t capped = H5Aexists(file, "run_cap_override");
    BT_H5_CHECK(capped);
    if (capped)
        BT_TRY(
            attr_read_num(ids, file, "run_cap_override", H5T_NATIVE_INT64, &r->run_cap_override));
    BT_TRY(attr_read_str(ids, file, "host", 0, &r->host));
    BT_TRY(attr_read_str(ids, file, "command_line", 0, &r->command_line));
    BT_TRY(attr_read_str(ids, file, "metric", 0, &r->metric_name));
    BT_TRY(attr_read_str(ids, file, "goal", 0, &goal));
    r->maximize = strcmp(goal, "maximize") == 0;
    free(goal);
    BT_TRY(attr_read_str(ids, file, "scheduler", 0, &r->scheduler));
    BT_TRY(attr_read_str(ids, file, "model", 0, &r->model_type));
    BT_TRY(attr_read_str(ids, file, "device", 0, &r->device)); /* "" in older files */
    BT_TRY(attr_read_str(ids, file, "metric_as_written", 0, &r->metric_as_written));
    BT_TRY(attr_read_str_list(ids, file, "metric_names", &r->metric_names, &r->n_metric_names));
    BT_TRY(attr_read_str_list(ids, file, "warnings", &r->warnings, &r->n_warnings));
    BT_TRY(read_trials(ids, file, r));
    BT_TRY(read_history(ids, file, r));
    BT_TRY(read_rungs(ids, file, r));
    BT_TRY(read_best(ids, file, r));
    BT_TRY(read_provenance(ids, file, r));
    BT_TRY(read_system(ids, file, r));
    return BT_STATUS_OK;
}

bt_status bt_results_read(const char *path, bt_results *out) {
    if (!out) return BT_FAIL(BT_STATUS_INTERNAL, "results: NULL output");
    memset(out, 0, sizeof *out);
    out->best_trial = -1;
    if (!path || access(path, F_OK) != 0)
        return BT_FAIL(BT_STATUS_NO_INPUT, "%s: no such results file", path ? path : "(null)");
    bt_h5_quiet quiet;
    bt_h5_quiet_begin(&quiet);
    bt_h5_ids ids = {0};
    bt_status s = BT_STATUS_OK;
    htri_t is = H5Fis_hdf5(path);
    if (is <= 0) {
        s = BT_FAIL(is < 0 ? BT_STATUS_NO_INPUT : BT_STATUS_BAD_INPUT, "%s: not an HDF5 file",
                    path);
    } else {
        hid_t file = bt_h5_keep(&ids, H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT));
        if (file < 0)
            s = bt_h5_fail(BT_STATUS_NO_INPUT, "H5Fopen(path)", __FILE__, __LINE__);
        else
            s = read_all(&ids, file, out);
    }
    bt_h5_close_all(&ids);
    bt_h5_quiet_end(&quiet);
    if (s != BT_STATUS_OK) bt_results_free(out);
    return s;
}

int bt_results_usable(const char *path) {
    bt_results r;
    bt_status s = bt_results_read(path, &r);
    if (s == BT_STATUS_OK) bt_results_free(&r);
    return s == BT_STATUS_OK;
}

bt_status bt_results_replaceable(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? BT_STATUS_OK
                               : BT_FAIL(BT_STATUS_IO, "%s: %s", path, strerror(errno));
    if (S_ISLNK(st.st_mode) || !bt_results_usable(path))
        return BT_FAIL(BT_STATUS_IO,
                       "%s exists and is not a batchtune results file%s: --fresh replaces only "
                       "results files; move it away or choose another --out",
                       path, S_ISLNK(st.st_mode) ? " (it is a symbolic link)" : "");
    return BT_STATUS_OK;
}
