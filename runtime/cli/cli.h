/* The batchtune commands (one file each in runtime/cli/) and the small helpers they share
 * (common.c). Each command takes its own argv (argv[0] = command name) and returns the process's
 * exit code. */
#ifndef BT_CLI_H
#define BT_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "base/status.h"

int bt_cmd_run(int argc, char **argv);
int bt_cmd_validate(int argc, char **argv);
int bt_cmd_report(int argc, char **argv);
int bt_cmd_info(int argc, char **argv);
int bt_cmd_export(int argc, char **argv);
int bt_cmd_bench(int argc, char **argv);
int bt_cmd_selftest(int argc, char **argv);

/* Prints "batchtune: <where-less message>" for a failed status and returns its exit code. */
int bt_cli_error(bt_status st);
/* Whether argv[i] is --help or -h. */
int bt_cli_is_help(const char *arg);
struct bt_spec;
/* Loads and validates a sweep, printing every problem to stderr; returns an exit code (0 ok). */
int bt_cli_load_spec(const char *path, struct bt_spec *out);
/* The sweep file's warnings (bt_spec.warnings) to stderr, for commands that do not run it (`run`
 * passes them to the executor, which also logs and records them). */
void bt_cli_spec_warnings(const struct bt_spec *s);
/* The value of --run-cap (an integer >= 1) into *out: 0, or BT_STATUS_USAGE after saying why. */
int bt_cli_run_cap(const char *arg, int64_t *out);
/* The exit-code table, shared by every --help. */
extern const char bt_cli_exit_codes[];

#endif
