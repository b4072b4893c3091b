/* Program mode in the sweep file (docs/program-mode.md): `program` and `command` of a sweep with no
 * model block, the metric as the program reports it (its exact key, W&B's default goal), the
 * scheduler's defaults when no model names a budget, and the execution keys only program sweeps
 * take (per_gpu, mps, wandb, grace, trial_timeout, retries, log_cap). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweeps/spec/spec_internal.h"

/* Python's str() of a JSON scalar in a `command` list (W&B's agent runs str(c) on each entry). */
static char *command_entry(bt_spec_ctx *c, const cJSON *it) {
    char buf[64];
    if (cJSON_IsString(it)) return bt_spec_strdup(it->valuestring);
    if (cJSON_IsBool(it)) return bt_spec_strdup(cJSON_IsTrue(it) ? "True" : "False");
    if (cJSON_IsNumber(it)) {
        int64_t i;
        if (bt_spec_is_int_literal(c, it) && bt_spec_int_of(c, it, &i)) {
            snprintf(buf, sizeof buf, "%lld", (long long)i);
            return bt_spec_strdup(buf);
        }
        /* a float: Python's repr, shortest round-trip (runtime/program/cmdline.c formats trial
         * values; command entries that are floats are rare, %.17g then trimmed is enough) */
        for (int p = 1; p <= 17; p++) {
            snprintf(buf, sizeof buf, "%.*g", p, it->valuedouble);
            if (strtod(buf, NULL) == it->valuedouble) break;
        }
        if (!strpbrk(buf, ".en")) strcat(buf, ".0");
        return bt_spec_strdup(buf);
    }
    return NULL;
}

void bt_spec_parse_program(bt_spec_ctx *c, const cJSON *root) {
    bt_program_spec *p = &c->spec->prog;
    p->per_gpu = 1;
    p->grace = 10;
    p->log_cap = 10 << 20;
    const cJSON *cmd = bt_spec_get(root, "command");
    const cJSON *prog = bt_spec_get(root, "program");
    if (prog && c->pos.e) bt_jpos_item(&c->pos, prog, 0, &p->program_at[0], &p->program_at[1]);
    if (cJSON_IsArray(cmd) && cmd->child && c->pos.e)
        bt_jpos_item(&c->pos, cmd->child, 0, &p->command_at[0], &p->command_at[1]);
    if (prog && cJSON_IsString(prog) && !*prog->valuestring)
        bt_spec_err(c, prog, 0, "program", "must not be empty");
    if (!cJSON_IsArray(cmd)) {
        if (!prog) /* the default command runs ${program} */
            bt_spec_err(c, root, 0, "program",
                        "missing; W&B's default command runs `program` (or give `command`)");
        return;
    }
    int n = cJSON_GetArraySize(cmd), i = 0, uses_program = 0;
    if (n == 0) {
        bt_spec_err(c, cmd, 0, "command", "must hold at least one entry");
        return;
    }
    p->command = calloc((size_t)n, sizeof *p->command);
    if (!p->command) return;
    for (const cJSON *it = cmd->child; it; it = it->next, i++) {
        char path[BT_PATH_MAX];
        char *s = command_entry(c, it);
        if (!s) {
            bt_spec_err(c, it, 0, bt_spec_path_index(path, "command", i),
                        "must be a string or a number, not %s", bt_spec_json_kind(it));
            continue;
        }
        uses_program |= strcmp(s, "${program}") == 0;
        p->command[p->n_command++] = s;
    }
    if (uses_program && !prog)
        bt_spec_err(c, cmd, 0, "command",
                    "uses ${program} but the sweep has no `program` to put there");
}

/* Program mode's metric and scheduler defaults (after the metric and scheduler blocks). */
static void program_defaults(bt_spec_ctx *c) {
    bt_spec *s = c->spec;
    bt_sched_spec *sc = &s->sched;
    if (s->metric_name) s->metric = bt_spec_strdup(s->metric_name); /* the key, as reported */
    int ranks = sc->kind != BT_SCHED_NONE || bt_spec_get(c->root, "early_terminate");
    if (!s->metric_name && ranks)
        bt_spec_err(c, c->root, 0, "metric",
                    "missing; the scheduler ranks trials by the metric the program reports: "
                    "add \"metric\": {\"name\": \"val_loss\", \"goal\": \"minimize\"}");
    if (sc->min_resource == 0) sc->min_resource = 1;
    if (sc->max_resource == 0) {
        if (sc->kind == BT_SCHED_SHA || sc->kind == BT_SCHED_HYPERBAND || sc->kind == BT_SCHED_ASHA)
            bt_spec_err(c, bt_spec_get(c->root, "scheduler"), 0, "scheduler.max_resource",
                        "missing; a program sweep's scheduler needs the largest resource the "
                        "program reports (its last epoch, or its number of reports)");
        else
            sc->max_resource = BT_PROGRAM_OPEN_RESOURCE;
    }
    if (sc->min_resource > sc->max_resource)
        bt_spec_err(c, c->root, 0, "scheduler", "min_resource %lld exceeds max_resource %lld",
                    (long long)sc->min_resource, (long long)sc->max_resource);
}

void bt_spec_parse_program_exec(bt_spec_ctx *c, const cJSON *ex) {
    bt_program_spec *p = &c->spec->prog;
    static const char *const only[] = {"per_gpu", "mps",           "wandb",   "grace",
                                       "retries", "trial_timeout", "log_cap", NULL};
    if (!p->on) {
        for (int k = 0; only[k] && cJSON_IsObject(ex); k++) {
            const cJSON *it = bt_spec_get(ex, only[k]);
            char path[BT_PATH_MAX];
            if (it)
                bt_spec_err(c, it, 1, bt_spec_path(path, "execution", only[k]),
                            "only program sweeps (`program` or `command`, no model block) take "
                            "this key");
        }
        return;
    }
    program_defaults(c);
    if (!cJSON_IsObject(ex)) return;
    int64_t v;
    if (bt_spec_read_int(c, ex, "per_gpu", "execution", 1, 1024, &v) == 1) p->per_gpu = (int)v;
    if (bt_spec_read_int(c, ex, "retries", "execution", 0, 1000, &v) == 1) p->retries = (int)v;
    if (bt_spec_read_int(c, ex, "log_cap", "execution", 0, INT64_MAX / 2, &v) == 1) p->log_cap = v;
    bt_spec_read_bool(c, ex, "mps", "execution", &p->mps);
    double d;
    if (bt_spec_read_number(c, ex, "grace", "execution", &d) == 1) {
        if (!(d >= 0) || !isfinite(d))
            bt_spec_err(c, bt_spec_get(ex, "grace"), 0, "execution.grace",
                        "must be a number of seconds >= 0");
        else
            p->grace = d;
    }
    if (bt_spec_read_number(c, ex, "trial_timeout", "execution", &d) == 1) {
        if (!(d > 0) || !isfinite(d))
            bt_spec_err(c, bt_spec_get(ex, "trial_timeout"), 0, "execution.trial_timeout",
                        "must be a number of seconds > 0");
        else
            p->trial_timeout = d;
    }
    if (bt_spec_read_string(c, ex, "wandb", "execution", &p->wandb) == 1 &&
        strcmp(p->wandb, "shim") != 0 && strcmp(p->wandb, "real") != 0 &&
        strcmp(p->wandb, "off") != 0)
        bt_spec_err(c, bt_spec_get(ex, "wandb"), 0, "execution.wandb",
                    "must be \"shim\" (batchtune's offline stand-in for `import wandb`), "
                    "\"real\" (the installed wandb) or \"off\", got \"%s\"",
                    p->wandb);
}
