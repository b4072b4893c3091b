/* `batchtune validate` of a program sweep (program.h): the program and the command's executable
 * exist, trial 0's command line expands, and the plan (trials, scheduler as a stopping rule). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime/program/prog_internal.h"
#include "runtime/program/program.h"
#include "sweeps/space.h"

bt_status bt_program_check(const bt_spec *spec, FILE *out) {
    char interp[64], path[1024];
    bt_prun_interpreter(interp, sizeof interp);
    if (spec->program && (bt_cmdline_uses(spec, "${program}") || !spec->prog.command)) {
        char full[1200];
        snprintf(full, sizeof full, "%s/%s", spec->dir, spec->program);
        if (access(spec->program[0] == '/' ? spec->program : full, F_OK) != 0)
            return BT_FAIL(BT_STATUS_NO_INPUT, "program: %s not found (looked in %s)",
                           spec->program, spec->dir);
    }
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
    int found = bt_proc_which(argv.v[0], spec->dir, path, sizeof path);
    fprintf(out, "ok\n  program    %s, run from %s\n  command    ",
            spec->program ? spec->program : "-", spec->dir);
    for (int i = 0; i < argv.n; i++) fprintf(out, "%s'%s'", i ? " " : "", argv.v[i]);
    fprintf(out, "   (trial 0; one argument per quoted word, no shell)\n");
    fprintf(out, "  method     %s, seed %" PRIu64 ", %" PRId64 " trials\n",
            bt_method_name(spec->method), spec->seed, n);
    fprintf(out, "  metric     %s (%s)\n", spec->metric ? spec->metric : "-",
            spec->maximize ? "maximize" : "minimize");
    fprintf(out, "  scheduler  %s (a stopping rule), resource %s\n",
            bt_sched_kind_name(spec->sched.kind),
            spec->sched.resource ? spec->sched.resource : "reports of the metric");
    bt_status st = BT_STATUS_OK;
    if (!found)
        st = BT_FAIL(BT_STATUS_NO_INPUT, "command: %s is not an executable file (PATH searched)",
                     argv.v[0]);
    bt_argv_free(&argv);
    return st;
}
