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
    "  --device DEV      auto | cpu | cuda | cuda:all | cuda:N | cuda:N,M,... (default: the\n"
    "                    sweep's, else auto: every GPU when this build has CUDA and the model\n"
    "                    a CUDA pack, else the CPU; the choice and why is printed first).\n"
    "                    Several GPUs: packs go round them; results do not depend on how many\n"
    "                    there are\n"
    "  --gpu-packs WHICH stable | all: GPU packs offered (default: the sweep's\n"
    "                    execution.gpu_packs, else stable = those verified on a GPU; all adds\n"
    "                    the experimental mlp and resnet GPU packs)\n"
    "  --streams N       GPU packs trained side by side, each on its own stream and host\n"
    "                    thread (default: the sweep's execution.streams, else 4 per GPU)\n"
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
    "                    instead of retraining them (default 300; 0: none)\n"
    "  --system-every S  seconds between samples of the machine's CPU, memory and GPU use, kept\n"
    "                    in the results' /system table (default 1; 0: none)\n"
    "  --note TEXT       a note kept with the results (the `note` attribute: a hypothesis, what\n"
    "                    changed); a resume keeps the first run's note unless given again\n"
    "  --tag T           a tag kept with the results (repeatable; the `tags` attribute joins\n"
    "                    them with ','); a resume keeps the first run's tags unless given again\n"
    "\n"
    "The results also record the git commit of the repository holding the sweep file, the\n"
    "data's sha256, the CPU model and the GPU, driver and CUDA versions\n"
    "(docs/results-format.md). A full disk ends the run with 74, the last results intact.\n\n";

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

/* What the command line asks for. */
typedef struct run_args {
    const char *sweep, *out, *device, *log_path, *gpu_packs, *note, *html;
    char *tags; /* --tag values joined by "," (owned) */
    int fresh, quiet, have_seed;
    uint64_t seed;
    int64_t run_cap;
    double every, snap_every, system_every;
    int streams, pack_slots;
} run_args;

/* A number of seconds >= 0 (positive with positive_only) for option `name`; 0 on success. */
static int parse_seconds(const char *name, const char *v, int positive_only, double *out) {
    char *end = NULL;
    *out = strtod(v, &end);
    if (!end || *end || end == v || (!positive_only && isinf(*out)) ||
        !(positive_only ? *out > 0 : *out >= 0)) {
        fprintf(stderr, "batchtune: %s takes a %s\n", name,
                positive_only ? "positive number of seconds" : "number of seconds >= 0");
        return 1;
    }
    return 0;
}

/* --tag T: appended to the comma-joined list (a comma inside a tag would split it: refused). */
static int add_tag(run_args *a, const char *t) {
    if (!*t || strchr(t, ',')) {
        fprintf(stderr, "batchtune: --tag takes a non-empty tag without ','\n");
        return 1;
    }
    size_t old = a->tags ? strlen(a->tags) : 0;
    char *p = realloc(a->tags, old + strlen(t) + 2);
    if (!p) return 1;
    if (old) p[old++] = ',';
    strcpy(p + old, t);
    a->tags = p;
    return 0;
}

/* Options into *a: -1 to go on, else the exit code (0 after --help). */
static int parse_args(int argc, char **argv, run_args *A) {
    memset(A, 0, sizeof *A);
    A->every = 30.0;
    A->snap_every = 300.0;
    A->system_every = 1.0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (bt_cli_is_help(a)) {
            fputs(help, stdout);
            fputs(bt_cli_exit_codes, stdout);
            return 0;
        } else if (strcmp(a, "--out") == 0 && more)
            A->out = argv[++i];
        else if (strcmp(a, "--html") == 0 && more)
            A->html = argv[++i];
        else if (strcmp(a, "--device") == 0 && more)
            A->device = argv[++i];
        else if (strcmp(a, "--gpu-packs") == 0 && more) {
            A->gpu_packs = argv[++i];
            if (!bt_gpu_packs_valid(A->gpu_packs)) {
                fprintf(stderr, "batchtune: --gpu-packs takes stable or all\n");
                return BT_STATUS_USAGE;
            }
        } else if (strcmp(a, "--log") == 0 && more)
            A->log_path = argv[++i];
        else if (strcmp(a, "--streams") == 0 && more) {
            char *end = NULL;
            long v = strtol(argv[++i], &end, 10);
            if (!end || *end || end == argv[i] || v < 1 || v > 64) {
                fprintf(stderr, "batchtune: --streams takes an integer in [1, 64]\n");
                return BT_STATUS_USAGE;
            }
            A->streams = (int)v;
        } else if (strcmp(a, "--pack") == 0 && more) {
            char *end = NULL;
            long v = strtol(argv[++i], &end, 10);
            if (!end || *end || end == argv[i] || v < 1 || v > (1 << 20)) {
                fprintf(stderr, "batchtune: --pack takes an integer in [1, 2^20]\n");
                return BT_STATUS_USAGE;
            }
            A->pack_slots = (int)v;
        } else if (strcmp(a, "--fresh") == 0)
            A->fresh = 1;
        else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0)
            A->quiet = 1;
        else if (strcmp(a, "--checkpoint-every") == 0 && more) {
            if (parse_seconds(a, argv[++i], 1, &A->every)) return BT_STATUS_USAGE;
        } else if (strcmp(a, "--snapshot-every") == 0 && more) {
            if (parse_seconds(a, argv[++i], 0, &A->snap_every)) return BT_STATUS_USAGE;
        } else if (strcmp(a, "--system-every") == 0 && more) {
            if (parse_seconds(a, argv[++i], 0, &A->system_every)) return BT_STATUS_USAGE;
        } else if (strcmp(a, "--note") == 0 && more) {
            A->note = argv[++i];
        } else if (strcmp(a, "--tag") == 0 && more) {
            if (add_tag(A, argv[++i])) return BT_STATUS_USAGE;
        } else if (strcmp(a, "--seed") == 0 && more) {
            char *end = NULL;
            errno = 0;
            A->seed = strtoull(argv[++i], &end, 10);
            if (errno || !end || *end || argv[i][0] == '-') {
                fprintf(stderr, "batchtune: --seed takes a non-negative integer\n");
                return BT_STATUS_USAGE;
            }
            A->have_seed = 1;
        } else if (strcmp(a, "--run-cap") == 0 && more) {
            if (bt_cli_run_cap(argv[++i], &A->run_cap)) return BT_STATUS_USAGE;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "batchtune run: unknown or incomplete option '%s'\n%s", a, help);
            return BT_STATUS_USAGE;
        } else if (!A->sweep)
            A->sweep = a;
        else {
            fprintf(stderr, "batchtune run: one sweep file at a time ('%s' is extra)\n", a);
            return BT_STATUS_USAGE;
        }
    }
    if (!A->sweep) {
        fprintf(stderr, "batchtune run: which sweep file?\n%s", help);
        return BT_STATUS_USAGE;
    }
    return -1;
}

int bt_cmd_run(int argc, char **argv) {
    run_args A;
    int rc = parse_args(argc, argv, &A);
    if (rc >= 0) {
        free(A.tags);
        return rc;
    }
    const char *sweep = A.sweep, *out = A.out;
    bt_spec spec;
    rc = bt_cli_load_spec(sweep, &spec);
    if (rc) {
        free(A.tags);
        return rc;
    }
    if (A.have_seed) spec.seed = A.seed;
    if (A.run_cap > 0) bt_spec_set_run_cap(&spec, A.run_cap);
    char *out_alloc = NULL;
    if (!out) out = spec.output;
    if (!out) out = out_alloc = default_out(sweep);

    FILE *log = NULL;
    if (A.log_path) {
        log = strcmp(A.log_path, "-") == 0 ? stdout : bt_wfopen(A.log_path, "a");
        if (!log) {
            fprintf(stderr, "batchtune: --log %s: %s\n", A.log_path, bt_wopen_error(errno));
            bt_spec_free(&spec);
            free(out_alloc);
            free(A.tags);
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
        .device = A.device,
        .gpu_packs = A.gpu_packs,
        .fresh = A.fresh,
        .log = log,
        .progress = A.quiet ? NULL : stderr,
        .progress_live = isatty(2),
        .command_line = cmdline,
        .stop = &stop_flag,
        .checkpoint_every = A.every,
        .snapshot_every = A.snap_every,
        .system_every = A.system_every,
        .note = A.note,
        .tags = A.tags,
        .warnings = stderr,
        .streams = A.streams,
        .pack_slots = A.pack_slots,
        .html_path = A.html,
    };
    bt_run_summary sum;
    bt_status st = bt_sweep_run(&spec, &o, &sum);
    /* the last page without the refresh hint: the sweep finished, stopped, or had finished */
    if (A.html && (st == BT_STATUS_OK || st == BT_STATUS_INTERRUPTED)) {
        bt_status hs = write_final_html(out, A.html);
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
        if (A.html) fprintf(human, "report: %s\n", A.html);
        rc = 0;
    } else {
        rc = bt_cli_error(st);
    }
    if (log && log != stdout) fclose(log);
    free(cmdline);
    free(A.tags);
    free(out_alloc);
    bt_spec_free(&spec);
    return rc;
}
