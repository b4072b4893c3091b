/* bt_spec: a parsed and validated sweep.json (W&B sweep vocabulary plus batchtune's own keys).
 * bt_spec_parse parses the file's text with cJSON and checks everything it can, collecting every
 * problem as "FILE:LINE:COL: json.path: message" in a bt_diags list (reading the file from disk
 * is the runtime's: bt_spec_load in runtime/store/sweep_file.h).
 * Ownership: a bt_spec owns every string and array it points to; bt_spec_free releases them. */
#ifndef BT_SPEC_H
#define BT_SPEC_H

#include <stdint.h>

#include "base/status.h"
#include "base/value.h"
#include "datasets/dataset_spec.h"

/* W&B parameter distributions plus the two fixed forms (value, values). */
typedef enum bt_dist {
    BT_DIST_CONSTANT = 0,           /* {"value": v} */
    BT_DIST_CATEGORICAL,            /* {"values": [...], "probabilities"?: [...]} */
    BT_DIST_UNIFORM,                /* min, max (floats) */
    BT_DIST_INT_UNIFORM,            /* min, max (ints), inclusive */
    BT_DIST_Q_UNIFORM,              /* round(U(min,max)/q)*q */
    BT_DIST_LOG_UNIFORM,            /* exp(U(min,max)) -- W&B's legacy form */
    BT_DIST_LOG_UNIFORM_VALUES,     /* log-uniform between min and max */
    BT_DIST_Q_LOG_UNIFORM,          /* round(exp(U(min,max))/q)*q */
    BT_DIST_Q_LOG_UNIFORM_VALUES,   /* round(logU(min,max)/q)*q */
    BT_DIST_INV_LOG_UNIFORM,        /* exp(-U(min,max)) */
    BT_DIST_INV_LOG_UNIFORM_VALUES, /* 1/X with 1/X log-uniform ... i.e. X in [min,max] */
    BT_DIST_NORMAL,                 /* mu, sigma */
    BT_DIST_Q_NORMAL,
    BT_DIST_LOG_NORMAL, /* exp(N(mu, sigma)) */
    BT_DIST_Q_LOG_NORMAL,
    BT_DIST_BETA, /* a, b */
    BT_DIST_Q_BETA,
} bt_dist;

typedef struct bt_param_spec {
    char *name; /* flattened with '.' for nested parameters: "optimizer.lr" */
    bt_dist dist;
    bt_value *values; /* CONSTANT: 1 value; CATEGORICAL: n_values (strings owned by the spec) */
    double *probs;    /* CATEGORICAL with probabilities, else NULL */
    int n_values;
    double min, max, mu, sigma, a, b, q;
    int is_int;    /* samples are integers (int_uniform, or q-distributions with integer q) */
    int grid;      /* method grid expands this distribution (int_uniform, q_uniform; space.h) */
    int line, col; /* where the parameter is defined in the sweep file */
    int nest_len;  /* length of the name's nested prefix ("optimizer" of "optimizer.lr" when lr
                      sits in optimizer's `parameters`), 0 at the top level */
} bt_param_spec;

typedef enum bt_method {
    BT_METHOD_GRID = 0,
    BT_METHOD_RANDOM,
    BT_METHOD_BAYES, /* W&B's bayes: a Gaussian process with expected improvement */
    BT_METHOD_TPE    /* batchtune's addition: a tree-structured Parzen estimator */
} bt_method;

/* bayes and tpe propose each trial from the reports before it (sweeps/propose/propose.h): its
 * configuration is known only when it starts. */
static inline int bt_method_is_model(bt_method m) {
    return m == BT_METHOD_BAYES || m == BT_METHOD_TPE;
}

/* Runs a model-based sweep trains at once unless execution.concurrency says otherwise: each
 * proposal learns from the reports of the trials before it, so fewer at once means better
 * proposals and less packing (docs/sweep-format.md, "bayes and tpe"). One per
 * BT_SPEC_MODEL_TRIALS_PER_RUN trials of the file's run_cap, from 1 up to
 * BT_SPEC_MODEL_CONCURRENCY (that many without a run_cap: hyperband sizes itself). */
#define BT_SPEC_MODEL_CONCURRENCY 4
#define BT_SPEC_MODEL_TRIALS_PER_RUN 40

typedef enum bt_sched_kind {
    BT_SCHED_NONE = 0,
    BT_SCHED_SHA,            /* synchronous successive halving, one bracket */
    BT_SCHED_HYPERBAND,      /* Li et al. 2018 */
    BT_SCHED_ASHA,           /* Li et al. 2020, asynchronous promotions */
    BT_SCHED_WANDB_HYPERBAND /* W&B's early_terminate hyperband stopping rule */
} bt_sched_kind;

typedef struct bt_sched_spec {
    bt_sched_kind kind;
    char *resource;       /* model budget parameter name ("num_round", "epochs") */
    int64_t min_resource; /* r_min (SHA/ASHA/Hyperband); W&B: min_iter */
    int64_t max_resource; /* R; W&B: max_iter */
    double eta;           /* reduction factor, default 3 */
    int s;                /* W&B: number of brackets when max_iter is given; hyperband: 0 = auto */
    int strict;           /* W&B strict mode */
    int64_t concurrency;  /* ASHA: trials in flight at once (fixed, so results never depend on
                             hardware); default execution.max_pack */
} bt_sched_spec;

typedef struct bt_kv {
    char *key;
    bt_value value; /* strings owned by the spec */
    int line, col;
} bt_kv;

typedef struct bt_exec_spec {
    char *device;        /* "auto" | "cpu" | "cuda" | "cuda:0,1" */
    char *gpu_packs;     /* "stable" (NULL: the default) | "all": experimental GPU packs too */
    int64_t max_pack;    /* trials per pack, default 256 */
    int streams;         /* packs stepped at once over all GPUs; 0: unset (4 per GPU) */
    int threads;         /* CPU threads, 0 = all cores */
    int64_t concurrency; /* runs trained at once; 0 = the default (bt_spec_concurrency) */
    int broadcast_data;  /* MPI ranks: rank 0 loads the data and sends it to the others (1), or
                          * every rank reads the dataset paths itself (0, the default) */
} bt_exec_spec;

/* Program mode (docs/program-mode.md): a sweep with `program` or `command` and no `model` block
 * runs the user's own program once per trial, as W&B's agent does. */
typedef struct bt_program_spec {
    int on;
    char **command; /* `command` entries as W&B's str() makes them; NULL: W&B's default */
    int n_command;
    int per_gpu;          /* processes per GPU (slots through CUDA_VISIBLE_DEVICES), default 1 */
    int mps;              /* run an NVIDIA MPS control daemon for the sweep */
    char *wandb;          /* "shim" | "real" | "off"; NULL: shim for Python programs */
    double grace;         /* seconds from SIGTERM to SIGKILL when a trial is stopped, default 10 */
    double trial_timeout; /* seconds a trial may run, 0: no limit */
    int retries;          /* restarts of a failed trial, default 0 */
    int64_t log_cap;      /* bytes kept of a trial's log, default 10 MiB */
    int program_at[2];    /* line and column of `program`'s value in the file (0 0: none) */
    int command_at[2];    /* line and column of `command`'s first entry (0 0: none) */
} bt_program_spec;

/* The most trials a sweep may have (run_cap, a grid's size, a scheduler's plan). */
#define BT_SPEC_MAX_TRIALS 100000000LL
/* The largest resource of a program sweep whose scheduler has none: W&B's min_iter form of
 * hyperband has no top band, and `none` waits for the program's own end. */
#define BT_PROGRAM_OPEN_RESOURCE (1LL << 30)

typedef struct bt_spec {
    char *path; /* the sweep file as given */
    char *dir;  /* its folder, for relative dataset paths */
    char *text; /* the file verbatim */
    char sha256[65];

    bt_method method;
    char *metric_name;     /* as written, e.g. "validation/mse" */
    char *metric;          /* normalized model metric name, e.g. "mse" */
    int maximize;          /* metric.goal == "maximize" (no goal: the metric's natural direction) */
    int has_metric_target; /* metric.target given: stop once a trial reaches it */
    double metric_target;

    bt_param_spec *params;
    int n_params;
    int64_t run_cap;           /* 0 = unset */
    int64_t run_cap_override;  /* --run-cap N (bt_spec_set_run_cap; 0: none): a resume must agree */
    int64_t model_concurrency; /* bayes/tpe's default concurrency, from the file's run_cap */

    bt_sched_spec sched;

    char *model_type;   /* "gbdt" (alias "xgboost") */
    bt_kv *model_fixed; /* fixed model parameters from the model block, canonical names */
    int n_model_fixed;

    bt_dataset_spec dataset;
    bt_exec_spec exec;

    uint64_t seed; /* default 0 */
    char *output;  /* NULL = "<stem>.h5" */

    bt_program_spec prog;

    /* recorded (program and command also drive program mode) */
    char *name, *description, *program, *project, *entity;
    char *command_json; /* `command` as JSON text, or NULL */

    /* What is worth saying about the file but does not stop it (a `program` that is not run),
     * one sentence each; the runner passes them on as warnings and keeps them in the results. */
    char **warnings;
    int n_warnings;
} bt_spec;

/* Collected validation problems, each "FILE:LINE:COL: json.path: message". Owned by the list. */
typedef struct bt_diags {
    char **msgs;
    int n, cap;
    char **warnings; /* a file that failed: what it was warned about too (owned) */
    int n_warnings;
} bt_diags;

void bt_diags_init(bt_diags *d);
void bt_diags_free(bt_diags *d);
void bt_diags_add(bt_diags *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses and validates a sweep file's text; path is used for messages and the dataset folder. On
 * BT_STATUS_BAD_INPUT every problem is in diags (which the caller initialized). On success *out is
 * filled and must be released with bt_spec_free. */
bt_status bt_spec_parse(const char *path, const char *text, bt_spec *out, bt_diags *diags);
void bt_spec_free(bt_spec *s);

/* "grid", "random", "bayes" or "tpe". */
const char *bt_method_name(bt_method m);

/* Runs trained at once: execution.concurrency; a program sweep's default is 0, for the hardware
 * to decide (one process per GPU slot, else one per CPU core: runtime/program/program.h); else
 * for bayes and tpe one per 40 trials of the file's run_cap, 1 to 4 (model_concurrency, set
 * when the file is read, so --run-cap does not change it); else execution.max_pack. A function of
 * the sweep file only, never of the hardware, so the order of reports (and every scheduler and
 * proposer decision) is the same on any machine. */
int64_t bt_spec_concurrency(const bt_spec *s);

/* --run-cap N (N >= 1) for a quick run of any sweep: run_cap becomes N, as if the file said so
 * (grid: its first N points, at most the grid), and run_cap_override records it. */
void bt_spec_set_run_cap(bt_spec *s, int64_t n);

/* Index of the parameter named name in s->params, or -1. */
int bt_spec_param_index(const bt_spec *s, const char *name);

#endif
