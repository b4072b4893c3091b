/* `batchtune run SWEEP.yaml`: runs (or resumes) a sweep; SIGINT/SIGTERM/SIGHUP stop it cleanly
 * (75). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/cli/cli.h"
#include "runtime/devices/resolve.h"
#include "runtime/exec/executor.h"
#include "sweeps/spec/spec.h"
#include "runtime/store/report_html.h"
#include "runtime/store/results.h"
#include "runtime/store/wopen.h"

static const char help[] =
    "usage: batchtune run SWEEP.yaml [options]\n"
    "       batchtune SWEEP.yaml [options]\n"
    "\n"
    "Runs every trial of the sweep (a YAML or JSON file) and writes results to one HDF5 file.\n"
    "Running the same command again continues an interrupted sweep where it stopped; a\n"
    "finished sweep exits 0.\n"
    "\n"
    "Options:\n"
    "  --out PATH        results file (default: the sweep's `output`, else <sweep stem>.h5 in\n"
    "                    the current folder); the journal is PATH.journal, model-state\n"
    "                    snapshots PATH.state\n"
    "  --device DEV      auto | cpu | cuda | cuda:N (default: the sweep's, else auto: the GPU\n"
    "                    with the most free memory when this build has CUDA and the model a\n"
    "                    CUDA pack, else the CPU; the choice and why is printed first)\n"
    "  --gpu-packs WHICH stable | all: GPU packs offered (default: the sweep's\n"
    "                    execution.gpu_packs, else stable = those verified on a GPU; all adds\n"
    "                    the experimental mlp and resnet GPU packs)\n"
    "  --streams N       GPU packs trained side by side, each on its own stream and host\n"
    "                    thread (default: the sweep's execution.streams, else 4)\n"
    "  --pack N          at most N trials per pack (default: as many as fit); smaller packs of\n"
    "                    one shape run side by side on --streams (GPU); results do not change\n"
    "  --fresh           start over, discarding earlier results and journal at that path\n"
    "  --log PATH        JSON-lines events (sweep_start, pack_init, trial_start, report,\n"
    "                    trial_stop, checkpoint, snapshot, catch_up, warning, sweep_end);\n"
    "                    '-' for stdout, which then carries nothing else (the summary goes to\n"
    "                    stderr)\n"
    "  --quiet           no progress line\n"
    "  --seed N          override the sweep's seed\n"
    "  --run-cap N       run at most N trials, as if the sweep said run_cap: N (grid: its first N\n"
    "                    points): a quick smoke run of any sweep. A capped run is another sweep:\n"
    "                    continuing it needs the same --run-cap\n"
    "  --checkpoint-every S   seconds between results checkpoints (default 30)\n"
    "  --html PATH       also write the HTML report (`batchtune report --html`) at every\n"
    "                    checkpoint, atomically, reloading itself while the sweep runs\n"
    "  --snapshot-every S     seconds between model-state snapshots, taken at checkpoints and on\n"
    "                    SIGINT/SIGTERM (mlp, resnet): a resume restores the runs in flight\n"
    "                    instead of retraining them (default 300; 0: none)\n\n";

static volatile sig_atomic_t stop_flag = 0;

static void on_signal(int sig) {
    (void)sig;
    if (stop_flag) _exit(BT_STATUS_INTERRUPTED); /* second signal: the last good file stays */
    stop_flag = 1;
    static const char msg[] = "\nbatchtune: stopping after this step (again to quit at once)\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
}

static char *default_out(const char *sweep) {
    const char *base = strrchr(sweep, '/');
    base = base ? base + 1 : sweep;
    size_t n = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && dot != base) n = (size_t)(dot - base);
    char *out = malloc(n + 4);
    if (!out) return NULL;
    memcpy(out, base, n);
    memcpy(out + n, ".h5", 4);
    return out;
}

static bt_status write_final_html(const char *results, const char *html) {
    bt_results r;
    BT_TRY(bt_results_read(results, &r));
    const bt_results *rp = &r;
    bt_status st = bt_report_html_file(&rp, &results, 1, html, 0);
    bt_results_free(&r);
    return st;
}

static char *join_args(int argc, char **argv) {
    size_t len = 16;
    for (int i = 0; i < argc; i++) len += strlen(argv[i]) + 1;
    char *s = malloc(len);
    if (!s) return NULL;
    strcpy(s, "batchtune");
    for (int i = 0; i < argc; i++) {
        if (i == 0 && strcmp(argv[0], "run") != 0) continue;
        strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

int bt_cmd_run(int argc, char **argv) {
    const char *sweep = NULL, *out = NULL, *device = NULL, *log_path = NULL, *gpu_packs = NULL;
    const char *html = NULL;
    int fresh = 0, quiet = 0, have_seed = 0;
    uint64_t seed = 0;
    int64_t run_cap = 0;
    double every = 30.0, snap_every = 300.0;
    int streams = 0, pack_slots = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (bt_cli_is_help(a)) {
            fputs(help, stdout);
            fputs(bt_cli_exit_codes, stdout);
            return 0;
        } else if (strcmp(a, "--out") == 0 && more)
            out = argv[++i];
        else if (strcmp(a, "--html") == 0 && more)
            html = argv[++i];
        else if (strcmp(a, "--device") == 0 && more)
            device = argv[++i];
        else if (strcmp(a, "--gpu-packs") == 0 && more) {
            gpu_packs = argv[++i];
            if (!bt_gpu_packs_valid(gpu_packs)) {
                fprintf(stderr, "batchtune: --gpu-packs takes stable or all\n");
                return BT_STATUS_USAGE;
            }
        } else if (strcmp(a, "--log") == 0 && more)
            log_path = argv[++i];
        else if (strcmp(a, "--streams") == 0 && more) {
            char *end = NULL;
            long v = strtol(argv[++i], &end, 10);
            if (!end || *end || end == argv[i] || v < 1 || v > 64) {
                fprintf(stderr, "batchtune: --streams takes an integer in [1, 64]\n");
                return BT_STATUS_USAGE;
            }
            streams = (int)v;
        } else if (strcmp(a, "--pack") == 0 && more) {
            char *end = NULL;
            long v = strtol(argv[++i], &end, 10);
            if (!end || *end || end == argv[i] || v < 1 || v > (1 << 20)) {
                fprintf(stderr, "batchtune: --pack takes an integer in [1, 2^20]\n");
                return BT_STATUS_USAGE;
            }
            pack_slots = (int)v;
        } else if (strcmp(a, "--fresh") == 0)
            fresh = 1;
        else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0)
            quiet = 1;
        else if (strcmp(a, "--checkpoint-every") == 0 && more) {
            char *end = NULL;
            every = strtod(argv[++i], &end);
            if (!end || *end || end == argv[i] || !(every > 0)) {
                fprintf(stderr, "batchtune: --checkpoint-every takes a positive number of "
                                "seconds\n");
                return BT_STATUS_USAGE;
            }
        } else if (strcmp(a, "--snapshot-every") == 0 && more) {
            char *end = NULL;
            snap_every = strtod(argv[++i], &end);
            if (!end || *end || end == argv[i] || !(snap_every >= 0) || isinf(snap_every)) {
                fprintf(stderr, "batchtune: --snapshot-every takes a number of seconds >= 0\n");
                return BT_STATUS_USAGE;
            }
        } else if (strcmp(a, "--seed") == 0 && more) {
            char *end = NULL;
            errno = 0;
            seed = strtoull(argv[++i], &end, 10);
            if (errno || !end || *end || argv[i][0] == '-') {
                fprintf(stderr, "batchtune: --seed takes a non-negative integer\n");
                return BT_STATUS_USAGE;
            }
            have_seed = 1;
        } else if (strcmp(a, "--run-cap") == 0 && more) {
            if (bt_cli_run_cap(argv[++i], &run_cap)) return BT_STATUS_USAGE;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "batchtune run: unknown or incomplete option '%s'\n%s", a, help);
            return BT_STATUS_USAGE;
        } else if (!sweep)
            sweep = a;
        else {
            fprintf(stderr, "batchtune run: one sweep file at a time ('%s' is extra)\n", a);
            return BT_STATUS_USAGE;
        }
    }
    if (!sweep) {
        fprintf(stderr, "batchtune run: which sweep file?\n%s", help);
        return BT_STATUS_USAGE;
    }
    bt_spec spec;
    int rc = bt_cli_load_spec(sweep, &spec);
    if (rc) return rc;
    if (have_seed) spec.seed = seed;
    if (run_cap > 0) bt_spec_set_run_cap(&spec, run_cap);
    char *out_alloc = NULL;
    if (!out) out = spec.output;
    if (!out) out = out_alloc = default_out(sweep);

    FILE *log = NULL;
    if (log_path) {
        log = strcmp(log_path, "-") == 0 ? stdout : bt_wfopen(log_path, "a");
        if (!log) {
            fprintf(stderr, "batchtune: --log %s: %s\n", log_path, bt_wopen_error(errno));
            bt_spec_free(&spec);
            free(out_alloc);
            return BT_STATUS_IO;
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL); /* a closed terminal or ssh session: stop as for SIGTERM */
    /* a --log pipe that closes is reported by the failed write (EPIPE), not a kill */
    signal(SIGPIPE, SIG_IGN);

    char *cmdline = join_args(argc, argv);
    bt_run_opts o = {
        .out_path = out,
        .device = device,
        .gpu_packs = gpu_packs,
        .fresh = fresh,
        .log = log,
        .progress = quiet ? NULL : stderr,
        .progress_live = isatty(2),
        .command_line = cmdline,
        .stop = &stop_flag,
        .checkpoint_every = every,
        .snapshot_every = snap_every,
        .warnings = stderr,
        .streams = streams,
        .pack_slots = pack_slots,
        .html_path = html,
    };
    bt_run_summary sum;
    bt_status st = bt_sweep_run(&spec, &o, &sum);
    /* the last page without the refresh hint: the sweep finished, stopped, or had finished */
    if (html && (st == BT_STATUS_OK || st == BT_STATUS_INTERRUPTED)) {
        bt_status hs = write_final_html(out, html);
        if (hs != BT_STATUS_OK && st == BT_STATUS_OK) st = hs;
    }
    /* with --log -, stdout carries the events only: the summary goes to stderr */
    FILE *human = log == stdout ? stderr : stdout;
    if (st == BT_STATUS_OK) {
        if (sum.already_finished)
            fprintf(human,
                    "%s: this sweep already finished (%" PRId64 " trials); nothing to do. "
                    "Use --fresh to run it again.\n",
                    out, sum.n_trials);
        else
            fprintf(human,
                    "%s: %" PRId64 " trials (%" PRId64 " completed, %" PRId64 " pruned, %" PRId64
                    " failed) in %.2f s%s\n",
                    out, sum.n_trials, sum.completed, sum.pruned, sum.failed, sum.seconds,
                    sum.resumed ? " (resumed)" : "");
        if (sum.best_trial >= 0)
            fprintf(human, "best: trial %" PRId64 "  %s = %.6g at %s %" PRId64 "\n", sum.best_trial,
                    sum.metric, sum.best_metric,
                    spec.sched.resource ? spec.sched.resource : "resource", sum.best_resource);
        fprintf(human, "see: batchtune report %s\n", out);
        if (html) fprintf(human, "report: %s\n", html);
        rc = 0;
    } else {
        rc = bt_cli_error(st);
    }
    if (log && log != stdout) fclose(log);
    free(cmdline);
    free(out_alloc);
    bt_spec_free(&spec);
    return rc;
}
