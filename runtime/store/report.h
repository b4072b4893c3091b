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
 * (NaN, failed, pending) last, ties by trial_id. Columns: trial_id, status, metric, resource,
 * then one per hyperparameter. top_k <= 0 prints all; format is "table", "csv" or "json".
 * BT_STATUS_USAGE for an unknown format, BT_STATUS_IO when the stream fails. */
bt_status bt_report_print(const bt_results *r, FILE *out, int64_t top_k, const char *format);

/* The order bt_report_print uses: order[k] is the index into r->trials of the k-th best row.
 * order must hold r->n_trials entries. */
bt_status bt_report_order(const bt_results *r, int64_t *order);

#endif
