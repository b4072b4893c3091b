/* `batchtune report RESULTS.h5`: the trials, best first, as a table, CSV or JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cli/cli.h"
#include "runtime/store/report.h"
#include "runtime/store/results.h"

static const char help[] =
    "usage: batchtune report RESULTS.h5 [--top K] [--format table|csv|json]\n"
    "\n"
    "Lists the trials best first. CSV columns: trial_id,status,metric,resource, then one column\n"
    "per hyperparameter named as in the sweep; `metric` is the sweep's metric at the trial's\n"
    "last resource.\n\n";

int bt_cmd_report(int argc, char **argv) {
    const char *path = NULL, *format = "table";
    long long top = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (bt_cli_is_help(a)) {
            fputs(help, stdout);
            fputs(bt_cli_exit_codes, stdout);
            return 0;
        } else if (strcmp(a, "--top") == 0 && i + 1 < argc) {
            char *end;
            top = strtoll(argv[++i], &end, 10);
            if (*end || end == argv[i] || top <= 0) {
                fprintf(stderr, "batchtune report: --top takes a positive integer\n");
                return BT_STATUS_USAGE;
            }
        } else if (strcmp(a, "--format") == 0 && i + 1 < argc) {
            format = argv[++i];
            if (strcmp(format, "table") && strcmp(format, "csv") && strcmp(format, "json")) {
                fprintf(stderr, "batchtune report: --format is table, csv or json\n");
                return BT_STATUS_USAGE;
            }
        } else if (a[0] == '-' || path) {
            fprintf(stderr, "batchtune report: unexpected '%s'\n%s", a, help);
            return BT_STATUS_USAGE;
        } else
            path = a;
    }
    if (!path) {
        fputs(help, stderr);
        return BT_STATUS_USAGE;
    }
    bt_results r;
    bt_status st = bt_results_read(path, &r);
    if (st != BT_STATUS_OK) return bt_cli_error(st);
    st = bt_report_print(&r, stdout, top, format);
    bt_results_free(&r);
    return st == BT_STATUS_OK ? 0 : bt_cli_error(st);
}
