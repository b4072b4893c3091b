/* bt_cmdline: a program trial's command line, built exactly as W&B's agent builds it
 * (wandb/wandb_agent.py Agent._command_run and wandb/sdk/launch/sweeps/utils.py
 * create_sweep_command / create_sweep_command_args): the sweep's `command` (default
 * ${env} ${interpreter} ${program} ${args}), ${envvar:NAME} filled from the environment, and each
 * entry that is exactly one macro replaced by its list of arguments; values formatted as Python's
 * str() and json.dumps() format them. The result is an argv: no shell ever reads it.
 * Ownership: a bt_argv owns its strings (bt_argv_free); strings returned through char ** are
 * malloc'd for the caller. */
#ifndef BT_CMDLINE_H
#define BT_CMDLINE_H

#include <stddef.h>

#include "base/sbuf.h"
#include "base/status.h"
#include "base/value.h"
#include "sweeps/spec/spec.h"

typedef struct bt_argv {
    char **v; /* NULL-terminated */
    int n, cap;
} bt_argv;

bt_status bt_argv_push(bt_argv *a, const char *s);
void bt_argv_free(bt_argv *a);

/* Python's repr() of a float (shortest round-trip: 0.1, 1e-05, 100.0, inf, nan). */
void bt_py_float_repr(double x, char *buf, size_t n);
/* Python's str() of a value (True, 0.001, adam, None); json: json.dumps() of it instead. */
void bt_py_value(bt_sbuf *b, const bt_value *v, int json);

/* What a trial's macros expand to besides its parameters. */
typedef struct bt_cmdline_ctx {
    const char *interpreter;    /* ${interpreter}: "python" as W&B, or what stands in for it */
    const char *args_json_file; /* ${args_json_file}: the file the caller writes args_json to */
} bt_cmdline_ctx;

/* The argv of one trial (config: spec->n_params values). *args_json, when not NULL, receives
 * json.dumps of the trial's arguments (the ${args_json} text, also BATCHTUNE_PARAMS). */
bt_status bt_cmdline_build(const bt_spec *spec, const bt_value *config, const bt_cmdline_ctx *ctx,
                           bt_argv *out, char **args_json);

/* Whether the command (the sweep's or W&B's default) holds the entry `macro` ("${args_json_file}").
 */
int bt_cmdline_uses(const bt_spec *spec, const char *macro);

#endif
