/* Helpers shared by the commands (cli.h): the exit-code table every --help prints, --help
 * recognition, a failed status printed and turned into its exit code, and loading a sweep with
 * its diagnostics printed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cli/cli.h"
#include "runtime/store/sweep_file.h"
#include "sweeps/spec/spec.h"

const char bt_cli_exit_codes[] =
    "Exit codes:\n"
    "  0   finished (or nothing left to do)\n"
    "  2   usage error\n"
    "  65  bad sweep file or data (every problem printed as FILE:LINE:COL: path: message)\n"
    "  66  input file missing\n"
    "  69  no usable device for what was asked (selftest: no GPU, and why)\n"
    "  70  internal error (selftest: a GPU result differs from the CPU's)\n"
    "  74  output could not be written\n"
    "  75  interrupted (SIGINT/SIGTERM/SIGHUP); run the same command again to continue\n";

int bt_cli_is_help(const char *arg) {
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int bt_cli_error(bt_status st) {
    const char *msg = bt_status_message();
    fprintf(stderr, "batchtune: %s\n", msg && *msg ? msg : bt_status_name(st));
    return (int)st;
}

void bt_cli_spec_warnings(const bt_spec *s) {
    for (int i = 0; i < s->n_warnings; i++)
        fprintf(stderr, "batchtune: warning: %s\n", s->warnings[i]);
}

int bt_cli_run_cap(const char *arg, int64_t *out) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (errno || !end || *end || end == arg || v < 1) {
        fprintf(stderr, "batchtune: --run-cap takes an integer >= 1 (the trials to run)\n");
        return BT_STATUS_USAGE;
    }
    *out = (int64_t)v;
    return 0;
}

int bt_cli_load_spec(const char *path, bt_spec *out) {
    bt_diags d;
    bt_diags_init(&d);
    bt_status st = bt_spec_load(path, out, &d);
    if (st != BT_STATUS_OK) {
        for (int i = 0; i < d.n_warnings; i++)
            fprintf(stderr, "batchtune: warning: %s\n", d.warnings[i]);
        for (int i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.msgs[i]);
        if (d.n == 0)
            bt_cli_error(st);
        else
            fprintf(stderr, "batchtune: %d problem%s in %s\n", d.n, d.n == 1 ? "" : "s", path);
    }
    bt_diags_free(&d);
    return (int)st;
}
