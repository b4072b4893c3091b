/* bt_report_html: `batchtune report --html`, one self-contained HTML page (inline CSS, JS and
 * SVG; no network) of one or several results files: summary, parallel coordinates, learning
 * curves, the scheduler's rungs, parameter importance, machine metrics (docs/report.md). The
 * data sit in the page as JSON; the page's script (report.js, embedded at build time) draws it.
 * Ownership: borrows everything; allocates nothing the caller must free. */
#ifndef BT_REPORT_HTML_H
#define BT_REPORT_HTML_H

#include <stdio.h>

#include "runtime/store/results.h"
#include "base/status.h"

/* Writes the page for rs[0..n) to out; paths[i] is the file rs[i] was read from (its provenance
 * attributes and /system are read from there when present; NULL: none). refresh_s > 0 adds a
 * meta refresh hint (a sweep still running). BT_STATUS_IO when the stream fails. */
bt_status bt_report_html_write(const bt_results *const *rs, const char *const *paths, int n,
                               FILE *out, int refresh_s);
/* The same into the file out_path, atomically: a temporary in the same folder (created with
 * O_EXCL, never through a link: wopen.h), fsync, rename over out_path. A symlink or a folder at
 * out_path is refused (BT_STATUS_IO) rather than replaced. */
bt_status bt_report_html_file(const bt_results *const *rs, const char *const *paths, int n,
                              const char *out_path, int refresh_s);
/* `run --html`: the page of one sweep's results (just written to results_path) into html_path,
 * atomically, with a refresh hint of about every_s seconds (the checkpoint interval, kept within
 * [5, 300]) since the sweep is still running. */
bt_status bt_report_html_live(const bt_results *r, const char *results_path, const char *html_path,
                              double every_s);

#endif
