/* What `report --html` shows beyond bt_results, read straight from a results file when it is
 * there and skipped when it is not: provenance root attributes (git_commit, train_sha256, note,
 * tags, cpu_model, ...) and the /system table of machine metrics (docs/results-format.md).
 * Ownership: a bt_report_extra owns its strings and columns (bt_report_extra_free). */
#ifndef BT_REPORT_EXTRA_H
#define BT_REPORT_EXTRA_H

#include <stdint.h>

#include "base/status.h"

enum { BT_REPORT_EXTRA_MAX_ATTRS = 16, BT_REPORT_EXTRA_MAX_COLS = 64 };

typedef struct bt_report_extra {
    const char *attr_name[BT_REPORT_EXTRA_MAX_ATTRS]; /* static names, in display order */
    char *attr_value[BT_REPORT_EXTRA_MAX_ATTRS];      /* as text ("1" for git_dirty = 1) */
    int n_attrs;
    char *col_name[BT_REPORT_EXTRA_MAX_COLS]; /* /system's numeric columns, "time" first if any */
    double *col[BT_REPORT_EXTRA_MAX_COLS];    /* n_rows values each */
    int n_cols;
    int64_t n_rows;
} bt_report_extra;

/* Reads whichever of those exist. A results file without them gives an empty bt_report_extra and
 * BT_STATUS_OK; only an unreadable file or out of memory fails. */
bt_status bt_report_extra_read(const char *path, bt_report_extra *x);
void bt_report_extra_free(bt_report_extra *x);

#endif
