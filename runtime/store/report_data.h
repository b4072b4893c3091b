/* The computed parts of the HTML report's data (report_html.c writes the rest): learning curves
 * (downsampled past BT_REPORT_CURVE_POINTS), best-so-far, rung counts, parameter importance and
 * /system, as JSON members; and the JSON number and value writers the page's data share.
 * Ownership: borrows everything. */
#ifndef BT_REPORT_DATA_H
#define BT_REPORT_DATA_H

#include <stdio.h>

#include "runtime/store/report_extra.h"
#include "runtime/store/results.h"
#include "base/status.h"
#include "base/value.h"

/* Learning-curve points kept in one page per results file: a sweep with more history keeps, per
 * trial, its first and last points and evenly spaced ones between (docs/report.md). */
#define BT_REPORT_CURVE_POINTS 250000
/* Rows of /system kept: every k-th row past it. */
#define BT_REPORT_SYSTEM_ROWS 2000

/* x with `digits` significant digits; null when it is NaN or infinite (JSON has neither). */
void bt_report_json_num(FILE *o, double x, int digits);
/* A hyperparameter value: number, true/false, string (HTML-safe) or null. */
void bt_report_json_value(FILE *o, bt_value v);
/* Writes `"curves":...,"best_so_far":...,"wall":...,"rungs":...,"importance":...,"system":...,`
 * (each member followed by a comma). */
bt_status bt_report_emit_analysis(FILE *o, const bt_results *r, const bt_report_extra *x);

#endif
