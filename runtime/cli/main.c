/* batchtune's entry point: picks the command, which returns the documented exit code; the helpers
 * the commands share are common.c's. `batchtune SWEEP.yaml` (or .yml, .json, or any path with a
 * '/') is `batchtune run SWEEP.yaml`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/cli/cli.h"

static const char usage[] =
    "usage: batchtune [run] SWEEP.yaml [options]   run a sweep (resumes if interrupted)\n"
    "       batchtune validate SWEEP.yaml          check a sweep and print its plan\n"
    "       batchtune report RESULTS.h5 [--top K] [--format table|csv|json]\n"
    "       batchtune export RESULTS.h5 --trial ID [--format xgboost-json] -o FILE\n"
    "       batchtune info                         CPU, GPUs and build features\n"
    "       batchtune selftest [--device cuda:N]   check a GPU against the CPU references\n"
    "       batchtune bench SWEEP.yaml [--compare sequential] [--json]   training throughput\n"
    "       batchtune --version | --help | COMMAND --help\n"
    "\n"
    "SWEEP is a W&B-style sweep file in YAML (.yaml, .yml) or JSON (.json).\n"
    "\n"
    "batchtune runs a whole hyperparameter sweep in one process: the data is loaded once, many\n"
    "trials train together in packs, a successive-halving scheduler stops the weak ones early,\n"
    "and every result lands in one HDF5 file. See README.md and docs/.\n\n";

/* OpenMP threads that spin at barriers make the many short parallel phases of a pack crawl when
 * the cores are shared (3x slower on a loaded 2-core machine). libgomp reads its wait policy
 * from the environment before main runs, so when the user set none, choose passive and start
 * again. OMP_WAIT_POLICY=active (or GOMP_SPINCOUNT) in the environment keeps the default. */
static void prefer_passive_openmp(char **argv) {
#ifdef _OPENMP
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;
    if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
    execv("/proc/self/exe", argv); /* returns only on failure: carry on as we are */
#else
    (void)argv;
#endif
}

int main(int argc, char **argv) {
    prefer_passive_openmp(argv);
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
    if (strcmp(cmd, "bench") == 0) return bt_cmd_bench(argc - 1, argv + 1);
    if (strcmp(cmd, "selftest") == 0) return bt_cmd_selftest(argc - 1, argv + 1);
    if (cmd[0] != '-' &&
        (strstr(cmd, ".yaml") || strstr(cmd, ".yml") || strstr(cmd, ".json") || strchr(cmd, '/')))
        return bt_cmd_run(argc, argv); /* argv[0] stands in for "run" */
    fprintf(stderr, "batchtune: unknown command '%s'\n\n", cmd);
    fputs(usage, stderr);
    return BT_STATUS_USAGE;
}
