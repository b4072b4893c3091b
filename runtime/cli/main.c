/* batchtune's entry point: picks the command and maps its status to the documented exit code.
 * `batchtune SWEEP.json` is `batchtune run SWEEP.json`. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

const char bt_cli_exit_codes[] =
    "Exit codes:\n"
    "  0   finished (or nothing left to do)\n"
    "  2   usage error\n"
    "  65  bad sweep file or data (every problem printed as FILE:LINE:COL: path: message)\n"
    "  66  input file missing\n"
    "  70  internal error\n"
    "  74  output could not be written\n"
    "  75  interrupted (SIGINT/SIGTERM); run the same command again to continue\n";

static const char usage[] =
    "usage: batchtune [run] SWEEP.json [options]   run a sweep (resumes if interrupted)\n"
    "       batchtune validate SWEEP.json          check a sweep and print its plan\n"
    "       batchtune report RESULTS.h5 [--top K] [--format table|csv|json]\n"
    "       batchtune export RESULTS.h5 --trial ID [--format xgboost-json] -o FILE\n"
    "       batchtune info                         CPU, GPUs and build features\n"
    "       batchtune --version | --help | COMMAND --help\n"
    "\n"
    "batchtune runs a whole hyperparameter sweep in one process: the data is loaded once, many\n"
    "trials train together in packs, a successive-halving scheduler stops the weak ones early,\n"
    "and every result lands in one HDF5 file. See README.md and docs/.\n\n";

int bt_cli_is_help(const char *arg) {
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int bt_cli_error(bt_status st) {
    const char *msg = bt_status_message();
    fprintf(stderr, "batchtune: %s\n", msg && *msg ? msg : bt_status_name(st));
    return (int)st;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs(usage, stderr);
        return BT_STATUS_USAGE;
    }
    const char *cmd = argv[1];
    if (bt_cli_is_help(cmd)) {
        fputs(usage, stdout);
        fputs(bt_cli_exit_codes, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("batchtune %s\n", BT_VERSION);
        return 0;
    }
    if (strcmp(cmd, "run") == 0) return bt_cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "validate") == 0) return bt_cmd_validate(argc - 1, argv + 1);
    if (strcmp(cmd, "report") == 0) return bt_cmd_report(argc - 1, argv + 1);
    if (strcmp(cmd, "info") == 0) return bt_cmd_info(argc - 1, argv + 1);
    if (strcmp(cmd, "export") == 0) return bt_cmd_export(argc - 1, argv + 1);
    if (cmd[0] != '-' && (strstr(cmd, ".json") || strchr(cmd, '/')))
        return bt_cmd_run(argc, argv); /* argv[0] stands in for "run" */
    fprintf(stderr, "batchtune: unknown command '%s'\n\n", cmd);
    fputs(usage, stderr);
    return BT_STATUS_USAGE;
}
