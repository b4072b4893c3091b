/* bt_report: the trials of a results file as text for `batchtune report`: an aligned table for a
 * terminal, CSV, or JSON; best trial first.
 * Ownership: borrows the results and the stream; allocates nothing the caller must free. */
#ifndef BT_REPORT_H
#define BT_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "runtime/store/results.h"
#include "base/status.h"

/* Prints the trials best first: by metric according to the goal, trials without a usable metric
 * (NaN, failed, pending) last, ties by trial_id. Columns: trial_id, status, the metric (named by
 * the results' metric, e.g. "mse"; "metric_mse" if a hyperparameter is called so), resource,
 * then one per hyperparameter. top_k <= 0 prints all; format is "table", "csv" or "json".
 * BT_STATUS_USAGE for an unknown format, BT_STATUS_IO when the stream fails. */
bt_status bt_report_print(const bt_results *r, FILE *out, int64_t top_k, const char *format);

/* Several results side by side: a first column `sweep` (labels[i] for rs[i]), one metric column
 * per distinct metric name (a sweep's rows fill only their own; never two metrics in one column),
 * the union of the hyperparameters by name (empty / null where a sweep has none of that name).
 * Sweeps sharing one metric and goal are ranked together; otherwise sweep by sweep, each best
 * first, top_k per sweep. n_src == 1 prints exactly what bt_report_print prints. */
bt_status bt_report_print_many(const bt_results *const *rs, const char *const *labels, int n_src,
                               FILE *out, int64_t top_k, const char *format);

/* The name the report gives the results' metric: the normalized `metric` ("mse"), else the
 * metric as written (program sweeps: "val_loss"), else "metric". */
const char *bt_report_metric_name(const bt_results *r);
/* A JSON string literal of s; in_html also escapes '<' and '&' (as \u003c, \u0026) so the JSON
 * can sit inside an HTML <script> element. */
void bt_report_json_string(FILE *out, const char *s, int in_html);
/* The shortest %g of x that reads back as the same double ("nan", "inf", "-inf" for those). */
void bt_report_format_exact(char *buf, size_t n, double x);

/* The order bt_report_print uses: order[k] is the index into r->trials of the k-th best row.
 * order must hold r->n_trials entries. */
bt_status bt_report_order(const bt_results *r, int64_t *order);

#endif
