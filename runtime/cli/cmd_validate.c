/* `batchtune validate SWEEP.yaml`: checks the sweep and prints its plan (exit 0), or prints every
 * problem as FILE:LINE:COL: path: message (exit 65). Reads no data. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "runtime/cli/cli.h"
#include "runtime/program/program.h"
#include "sweeps/plan.h"
#include "sweeps/space.h"

static const char help[] =
    "usage: batchtune validate SWEEP.yaml [--run-cap N]\n"
    "\n"
    "Checks the sweep file (YAML or JSON: keys, types, ranges, model parameters, metric) without\n"
    "reading data, and prints the plan: trials, packs, scheduler brackets and rungs with their\n"
    "resources. --run-cap N shows the plan of `batchtune run --run-cap N` (at most N trials).\n\n";

static const char *const dist_names[] = {"value",
                                         "values",
                                         "uniform",
                                         "int_uniform",
                                         "q_uniform",
                                         "log_uniform",
                                         "log_uniform_values",
                                         "q_log_uniform",
                                         "q_log_uniform_values",
                                         "inv_log_uniform",
                                         "inv_log_uniform_values",
                                         "normal",
                                         "q_normal",
                                         "log_normal",
                                         "q_log_normal",
                                         "beta",
                                         "q_beta"};

/* The parameter list of the plan; sw (NULL in program mode) says which one is the budget. */
static void print_params(const bt_spec *spec, const bt_sweep *sw) {
    printf("  parameters %d\n", spec->n_params);
    for (int p = 0; p < spec->n_params; p++) {
        const bt_param_spec *ps = &spec->params[p];
        printf("    %-24s %s", ps->name, dist_names[ps->dist]);
        if (ps->dist == BT_DIST_CATEGORICAL || ps->dist == BT_DIST_CONSTANT)
            printf(" (%d)", ps->n_values);
        else if (ps->dist == BT_DIST_NORMAL || ps->dist == BT_DIST_Q_NORMAL ||
                 ps->dist == BT_DIST_LOG_NORMAL || ps->dist == BT_DIST_Q_LOG_NORMAL)
            printf(" mu %g sigma %g", ps->mu, ps->sigma);
        else if (ps->dist == BT_DIST_BETA || ps->dist == BT_DIST_Q_BETA)
            printf(" a %g b %g", ps->a, ps->b);
        else
            printf(" [%g, %g]", ps->min, ps->max);
        if (ps->grid) printf(", %" PRId64 " grid points", bt_space_grid_count(ps));
        if (sw && p == sw->budget_param && sw->grouped)
            printf("  (budget: trials that differ only in it share one run where training allows)");
        else if (sw && p == sw->budget_param && !sw->lazy)
            printf("  (budget: each trial trains to its own in a run of its own: runs are shared "
                   "only in sweeps of up to %" PRId64 " trials)",
                   (int64_t)BT_SWEEP_GROUP_MAX);
        printf("\n");
    }
}

int bt_cmd_validate(int argc, char **argv) {
    const char *path = NULL;
    int64_t run_cap = 0;
    for (int i = 1; i < argc; i++) {
        if (bt_cli_is_help(argv[i])) {
            fputs(help, stdout);
            fputs(bt_cli_exit_codes, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--run-cap") == 0 && i + 1 < argc) {
            if (bt_cli_run_cap(argv[++i], &run_cap)) return BT_STATUS_USAGE;
            continue;
        }
        if (argv[i][0] == '-' || path) {
            fprintf(stderr, "batchtune validate: unexpected '%s'\n%s", argv[i], help);
            return BT_STATUS_USAGE;
        }
        path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "%s", help);
        return BT_STATUS_USAGE;
    }
    bt_spec spec;
    int rc = bt_cli_load_spec(path, &spec);
    if (rc) return rc;
    int64_t file_cap = spec.run_cap;
    if (run_cap > 0) bt_spec_set_run_cap(&spec, run_cap);
    if (spec.prog.on) { /* program mode: its own plan (runtime/program/program.h) */
        bt_cli_spec_warnings(&spec);
        bt_status pst = bt_program_check(&spec, path, stdout);
        if (pst == BT_STATUS_OK) print_params(&spec, NULL);
        bt_spec_free(&spec);
        return pst == BT_STATUS_OK ? 0 : bt_cli_error(pst);
    }
    /* the runs and packs of the first PREVIEW trials: validate's memory and time do not grow
     * with run_cap or the grid (a sweep of 10^8 trials validates in a few MB) */
    enum { PREVIEW = 10000 };
    bt_sweep sw;
    bt_status st = bt_sweep_preview(&sw, &spec, PREVIEW);
    if (st != BT_STATUS_OK) {
        rc = bt_cli_error(st);
        bt_sweep_free(&sw);
        bt_spec_free(&spec);
        return rc;
    }
    bt_cli_spec_warnings(&spec);
    printf("%s: ok\n", path);
    printf("  model      %s\n", sw.family->name);
    printf("  method     %s, seed %" PRIu64 "\n", bt_method_name(spec.method), spec.seed);
    printf("  metric     %s (%s)\n", sw.metric, sw.maximize ? "maximize" : "minimize");
    print_params(&spec, &sw);
    int64_t runs = 0;
    for (int64_t t = 0; t < sw.n_trials; t++) runs += sw.trials[t].leader == t;
    if (sw.lazy)
        printf("  trials     %" PRId64 " (each proposed from the reports before it, %" PRId64
               " at once; a run each, packed by shape as they are proposed)\n",
               sw.n_total, bt_spec_concurrency(&spec));
    else if (sw.n_trials < sw.n_total)
        printf("  trials     %" PRId64 " (the first %" PRId64 ": %" PRId64
               " training runs, %d pack%s)\n",
               sw.n_total, sw.n_trials, runs, sw.n_packs, sw.n_packs == 1 ? "" : "s");
    else
        printf("  trials     %" PRId64 " (%" PRId64 " training runs, %d pack%s)\n", sw.n_trials,
               runs, sw.n_packs, sw.n_packs == 1 ? "" : "s");
    if (run_cap > 0) {
        int64_t grid = spec.method == BT_METHOD_GRID ? bt_space_grid_size(&spec) : -1;
        printf("  run cap    %" PRId64 " (--run-cap; the sweep's: ", run_cap);
        if (file_cap > 0)
            printf("%" PRId64, file_cap);
        else
            printf("none");
        if (grid >= 0)
            printf("; the first %" PRId64 " of %" PRId64 " grid points", spec.run_cap, grid);
        printf(")\n");
    }
    printf("  scheduler  %s, resource %s", bt_sched_kind_name(spec.sched.kind),
           spec.sched.resource ? spec.sched.resource : "-");
    if (spec.sched.kind != BT_SCHED_NONE)
        printf(" from %" PRId64 " to %" PRId64 ", eta %g", spec.sched.min_resource,
               spec.sched.max_resource, spec.sched.eta);
    else
        printf(" up to %" PRId64, sw.max_resource);
    printf("\n");
    bt_sched_bracket_plan plan[64];
    int nb = 0;
    if (bt_sched_plan(sw.sched, plan, 64, &nb) == BT_STATUS_OK) {
        for (int b = 0; b < nb; b++) {
            printf("    bracket %d:", b);
            for (int r = 0; r < plan[b].n_rungs; r++)
                printf("%s %" PRId64 " trials @ %" PRId64, r ? "," : "", plan[b].rungs[r].n_trials,
                       plan[b].rungs[r].resource);
            printf("\n");
        }
        /* A rung promotes its top 1/eta, so fewer than eta^(rungs-1) trials in a bracket leave
         * its top rung empty: the sweep would end without a fully trained trial. */
        for (int b = 0; b < nb; b++) {
            const bt_sched_bracket_plan *pb = &plan[b];
            if (pb->n_rungs < 2 || pb->rungs[pb->n_rungs - 1].n_trials > 0) continue;
            printf("  warning    bracket %d: %" PRId64 " trials with eta %g train none to %" PRId64
                   "; a rung promotes its top 1/eta, so give it at least %.0f trials (run_cap) "
                   "or a smaller eta or max_resource\n",
                   b, pb->rungs[0].n_trials, spec.sched.eta, pb->rungs[pb->n_rungs - 1].resource,
                   ceil(pow(spec.sched.eta, pb->n_rungs - 1)));
        }
    }
    printf("  dataset    %s\n", spec.dataset.synthetic ? spec.dataset.synthetic
                                : spec.dataset.path    ? spec.dataset.path
                                : spec.dataset.train   ? spec.dataset.train
                                                       : "-");
    bt_sweep_free(&sw);
    bt_spec_free(&spec);
    return 0;
}
