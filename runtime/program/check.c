/* `batchtune validate` of a program sweep (program.h): the program and the command's executable
 * exist, trial 0's command line expands, and the plan (trials, scheduler as a stopping rule). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime/program/prog_internal.h"
#include "runtime/program/program.h"
#include "sweeps/space.h"

/* Whether the program is the executable the command runs: the first word, or the word after
 * `${env}` (/usr/bin/env) or a literal `env`. Then W&B's agent finds it as the shell would, on
 * PATH too. */
static int program_is_executable(const bt_argv *argv, const char *program) {
    if (argv->n > 0 && strcmp(argv->v[0], program) == 0) return 1;
    return argv->n > 1 &&
           (strcmp(argv->v[0], "/usr/bin/env") == 0 || strcmp(argv->v[0], "env") == 0) &&
           strcmp(argv->v[1], program) == 0;
}

/* "FILE:LINE:COL: " of a position the spec recorded (line 0: none, ""). */
static const char *where(const bt_spec *spec, const int at[2], char *buf, size_t n) {
    if (at[0] > 0)
        snprintf(buf, n, "%s:%d:%d: ", spec->path ? spec->path : "", at[0], at[1]);
    else
        buf[0] = '\0';
    return buf;
}

/* Where a name that was not found was looked for, for the message. */
static const char *looked_in(const bt_spec *spec, const char *name, int on_path, char *buf,
                             size_t n) {
    if (name[0] == '/')
        snprintf(buf, n, "%s", "");
    else if (on_path)
        snprintf(buf, n, " (looked on PATH and in %s, the sweep file's folder)", spec->dir);
    else
        snprintf(buf, n, " (looked in %s, the sweep file's folder, where trials run)", spec->dir);
    return buf;
}

/* The program exists: a file in the sweep's folder (or an absolute path), or, where the command
 * runs it as the executable and its name has no '/', an executable on PATH. */
static bt_status check_program(const bt_spec *spec, const bt_argv *argv) {
    if (!spec->program || !(bt_cmdline_uses(spec, "${program}") || !spec->prog.command))
        return BT_STATUS_OK;
    char full[1200], path[1024], at[1100], in[1200];
    snprintf(full, sizeof full, "%s/%s", spec->dir, spec->program);
    if (access(spec->program[0] == '/' ? spec->program : full, F_OK) == 0) return BT_STATUS_OK;
    int on_path = !strchr(spec->program, '/') && program_is_executable(argv, spec->program);
    if (on_path && bt_proc_which(spec->program, spec->dir, path, sizeof path)) return BT_STATUS_OK;
    return BT_FAIL(BT_STATUS_NO_INPUT, "%sprogram: %s not found%s",
                   where(spec, spec->prog.program_at, at, sizeof at), spec->program,
                   looked_in(spec, spec->program, on_path, in, sizeof in));
}

/* The command's executable (argv[0]) can be run: on PATH, or a path from the sweep's folder. */
static bt_status check_executable(const bt_spec *spec, const bt_argv *argv) {
    char path[1024], at[1100], in[1200], full[1200];
    const char *name = argv->v[0];
    if (bt_proc_which(name, spec->dir, path, sizeof path)) return BT_STATUS_OK;
    const int *pos = spec->prog.command ? spec->prog.command_at : spec->prog.program_at;
    int slash = strchr(name, '/') != NULL;
    snprintf(full, sizeof full, "%s/%s", spec->dir, name);
    int exists = slash && access(name[0] == '/' ? name : full, F_OK) == 0;
    return BT_FAIL(BT_STATUS_NO_INPUT, "%scommand: %s %s%s", where(spec, pos, at, sizeof at), name,
                   exists ? "is there but not executable (chmod +x)" : "is not an executable file",
                   exists ? "" : looked_in(spec, name, !slash, in, sizeof in));
}

bt_status bt_program_check(const bt_spec *spec, const char *label, FILE *out) {
    char interp[64];
    bt_prun_interpreter(interp, sizeof interp);
    int64_t offered = bt_space_offered(spec);
    bt_sched *sched = NULL;
    BT_TRY(bt_sched_init_plan(&sched, &spec->sched, offered, spec->sched.max_resource,
                              spec->maximize));
    int64_t n = bt_sched_n_trials(sched);
    bt_sched_free(sched);
    bt_value config[512];
    if (spec->n_params > 512) return BT_FAIL(BT_STATUS_BAD_INPUT, "more than 512 parameters");
    BT_TRY(bt_space_config(spec, spec->seed, 0, config));
    bt_cmdline_ctx cc = {interp, "<args_json_file>"};
    bt_argv argv;
    BT_TRY(bt_cmdline_build(spec, config, &cc, &argv, NULL));
    bt_status pst = check_program(spec, &argv);
    if (pst == BT_STATUS_OK) pst = check_executable(spec, &argv);
    if (pst != BT_STATUS_OK) {
        bt_argv_free(&argv);
        return pst;
    }
    fprintf(out, "%s: ok\n  program    %s, run from %s\n  command    ", label,
            spec->program ? spec->program : "-", spec->dir);
    for (int i = 0; i < argv.n; i++) fprintf(out, "%s'%s'", i ? " " : "", argv.v[i]);
    fprintf(out, "   (trial 0; one argument per quoted word, no shell)\n");
    fprintf(out, "  method     %s, seed %" PRIu64 ", %" PRId64 " trials\n",
            bt_method_name(spec->method), spec->seed, n);
    fprintf(out, "  metric     %s (%s)\n", spec->metric ? spec->metric : "-",
            spec->maximize ? "maximize" : "minimize");
    if (spec->sched.kind == BT_SCHED_NONE)
        fprintf(out, "  scheduler  none: every trial runs until its program exits\n");
    else {
        fprintf(out, "  scheduler  %s (a stopping rule), resource %s from %" PRId64,
                bt_sched_kind_name(spec->sched.kind),
                spec->sched.resource ? spec->sched.resource : "reports of the metric",
                spec->sched.min_resource);
        if (spec->sched.max_resource >= BT_PROGRAM_OPEN_RESOURCE)
            fprintf(out, " (no upper bound)");
        else
            fprintf(out, " to %" PRId64, spec->sched.max_resource);
        fprintf(out, ", eta %g\n", spec->sched.eta);
    }
    bt_argv_free(&argv);
    return BT_STATUS_OK;
}
