/* BT_H5_CHECK: the project's one error-check shape for HDF5 calls (as for CUDA and NCCL).
 * A negative result turns into `return BT_FAIL(BT_STATUS_IO, ...)` naming the expression, the
 * file and line, and the innermost message of HDF5's error stack (where the problem began).
 * Ownership: nothing allocated; callers silence HDF5's own printing with bt_h5_quiet_begin. */
#ifndef BT_H5CHECK_H
#define BT_H5CHECK_H

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"

typedef struct bt_h5_err_ {
    char text[512];
    int seen;
} bt_h5_err_;

/* Walking upward starts at the deepest frame: the first one seen names the actual cause
 * ("Permission denied", "file exists"), which is what a user can act on. */
static inline herr_t bt_h5_err_walk_(unsigned n, const H5E_error2_t *e, void *data) {
    bt_h5_err_ *out = (bt_h5_err_ *)data;
    if (out->seen++ == 0)
        snprintf(out->text, sizeof out->text, "%s (in %s)", e->desc ? e->desc : "?",
                 e->func_name ? e->func_name : "?");
    (void)n;
    return 0;
}

static inline bt_status bt_h5_fail(bt_status code, const char *expr, const char *file, int line) {
    bt_h5_err_ err;
    memset(&err, 0, sizeof err);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, bt_h5_err_walk_, &err);
    H5Eclear2(H5E_DEFAULT);
    return bt_fail(code, file, line, "HDF5: %s failed: %s", expr,
                   err.seen ? err.text : "no HDF5 error message");
}

/* Returns BT_STATUS_IO from the enclosing function when an HDF5 call returns < 0. */
#define BT_H5_CHECK(expr)                                                                          \
    do {                                                                                           \
        if ((expr) < 0) return bt_h5_fail(BT_STATUS_IO, #expr, __FILE__, __LINE__);                \
    } while (0)

/* HDF5 prints its error stack to stderr by default; the library must not print, so entry points
 * switch that off for their duration and put the previous handler back afterwards. */
typedef struct bt_h5_quiet {
    H5E_auto2_t func;
    void *data;
} bt_h5_quiet;

static inline void bt_h5_quiet_begin(bt_h5_quiet *q) {
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static inline void bt_h5_quiet_end(const bt_h5_quiet *q) {
    H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

/* Every handle a function opens goes into one bt_h5_ids, so an early return from BT_H5_CHECK
 * leaks nothing: the caller closes them all at once (H5Idec_ref closes any kind of handle). */
typedef struct bt_h5_ids {
    hid_t *ids;
    int n, cap;
} bt_h5_ids;

/* Returns id unchanged (negative ids are not kept), so calls nest: BT_H5_CHECK(x = keep(..)). */
static inline hid_t bt_h5_keep(bt_h5_ids *a, hid_t id) {
    if (id < 0) return id;
    if (a->n == a->cap) {
        int cap = a->cap ? 2 * a->cap : 64;
        hid_t *p = (hid_t *)realloc(a->ids, (size_t)cap * sizeof *p);
        if (!p) {
            H5Idec_ref(id);
            return -1;
        }
        a->ids = p;
        a->cap = cap;
    }
    a->ids[a->n++] = id;
    return id;
}

/* Closes in reverse order of opening (attributes before their objects, objects before files). */
static inline void bt_h5_close_all(bt_h5_ids *a) {
    for (int i = a->n - 1; i >= 0; i--)
        if (H5Iis_valid(a->ids[i]) > 0) H5Idec_ref(a->ids[i]);
    free(a->ids);
    a->ids = NULL;
    a->n = a->cap = 0;
}

#endif
