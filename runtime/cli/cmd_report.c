/* `batchtune report RESULTS.h5 [MORE.h5 ...]`: the trials, best first, as a table, CSV or JSON, or
 * the self-contained HTML report (--html); several files side by side with a `sweep` column. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cli/cli.h"
#include "runtime/store/report.h"
#include "runtime/store/report_html.h"
#include "runtime/store/results.h"
#include "runtime/store/wopen.h"

static const char help[] =
    "usage: batchtune report RESULTS.h5 [MORE.h5 ...] [--top K] [--format table|csv|json|html]\n"
    "                        [--html OUT.html | -o OUT]\n"
    "\n"
    "Lists the trials best first. CSV columns: trial_id,status,<metric>,resource, then one column\n"
    "per hyperparameter named as in the sweep; the metric column is named by the sweep's metric\n"
    "(e.g. mse) and holds it at the trial's last resource.\n"
    "Several files: a first column `sweep` (the file as given), the hyperparameters joined by\n"
    "name, one metric column per metric name; sweeps sharing metric and goal are ranked together.\n"
    "--html OUT.html (or --format html -o OUT.html) writes one self-contained page (no network):\n"
    "summary, best trial and its export command, parallel coordinates, learning curves, rungs,\n"
    "parameter importance, machine metrics (docs/report.md). -o FILE writes any format to "
    "FILE.\n\n";

static int usage(const char *msg) {
    fprintf(stderr, "batchtune report: %s\n", msg);
    return BT_STATUS_USAGE;
}

static int write_text(bt_results *const *rs, const char *const *paths, int n, const char *out,
                      long long top, const char *format) {
    FILE *f = out && strcmp(out, "-") != 0 ? bt_wfopen(out, "w") : stdout;
    if (!f) {
        fprintf(stderr, "batchtune report: %s: %s\n", out, bt_wopen_error(errno));
        return BT_STATUS_IO;
    }
    bt_status st = bt_report_print_many((const bt_results *const *)rs, paths, n, f, top, format);
    if (f != stdout && fclose(f) != 0 && st == BT_STATUS_OK)
        st = BT_FAIL(BT_STATUS_IO, "%s: write failed", out);
    return st == BT_STATUS_OK ? 0 : bt_cli_error(st);
}

int bt_cmd_report(int argc, char **argv) {
    const char *format = NULL, *out = NULL, *html = NULL;
    const char **paths = calloc((size_t)argc, sizeof *paths);
    int n = 0, rc = 0;
    long long top = 0;
    if (!paths) return bt_cli_error(BT_FAIL(BT_STATUS_INTERNAL, "out of memory"));
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (bt_cli_is_help(a)) {
            fputs(help, stdout);
            fputs(bt_cli_exit_codes, stdout);
            free(paths);
            return 0;
        } else if (strcmp(a, "--top") == 0 && more) {
            char *end;
            top = strtoll(argv[++i], &end, 10);
            if (*end || end == argv[i] || top <= 0) rc = usage("--top takes a positive integer");
        } else if (strcmp(a, "--format") == 0 && more) {
            format = argv[++i];
            if (strcmp(format, "table") && strcmp(format, "csv") && strcmp(format, "json") &&
                strcmp(format, "html"))
                rc = usage("--format is table, csv, json or html");
        } else if (strcmp(a, "--html") == 0 && more) {
            html = argv[++i];
        } else if ((strcmp(a, "-o") == 0 || strcmp(a, "--out") == 0) && more) {
            out = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "batchtune report: unexpected '%s'\n%s", a, help);
            rc = BT_STATUS_USAGE;
        } else
            paths[n++] = a;
    }
    if (!rc && n == 0) {
        fputs(help, stderr);
        rc = BT_STATUS_USAGE;
    }
    if (!rc && html && format && strcmp(format, "html") != 0)
        rc = usage("--html writes HTML; leave out --format or say --format html");
    if (!rc && html && out) rc = usage("--html names the page already; -o is for other formats");
    if (!rc && format && strcmp(format, "html") == 0 && !html) {
        if (!out || strcmp(out, "-") == 0)
            rc = usage("--format html needs -o OUT.html (or --html OUT.html)");
        html = out;
    }
    if (rc) {
        free(paths);
        return rc;
    }
    bt_results *rs = calloc((size_t)n, sizeof *rs);
    bt_results **rp = calloc((size_t)n, sizeof *rp);
    int read = 0;
    bt_status st = rs && rp ? BT_STATUS_OK : BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    for (; read < n && st == BT_STATUS_OK; read++) {
        rp[read] = &rs[read];
        st = bt_results_read(paths[read], &rs[read]);
        if (st != BT_STATUS_OK) read--; /* a failed read frees its own */
    }
    if (st != BT_STATUS_OK)
        rc = bt_cli_error(st);
    else if (html) {
        st = bt_report_html_file((const bt_results *const *)rp, paths, n, html, 0);
        rc = st == BT_STATUS_OK ? 0 : bt_cli_error(st);
        if (!rc) fprintf(stderr, "batchtune report: wrote %s\n", html);
    } else
        rc = write_text(rp, paths, n, out, top, format ? format : "table");
    for (int i = 0; i < read; i++) bt_results_free(&rs[i]);
    free(rs);
    free(rp);
    free(paths);
    return rc;
}
