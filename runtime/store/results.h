/* bt_results: everything a sweep produced, and its HDF5 file (results.h5).
 * The executor fills a bt_results in memory; bt_results_write writes it atomically (temporary
 * file in the same folder, fsync, rename), so a crash never leaves a broken file. The layout is
 * documented in docs/results-format.md. bt_results_read loads a file back (for `report`,
 * `export` and tests).
 * Ownership: bt_results owns its arrays and strings (bt_results_free); bt_results_write borrows. */
#ifndef BT_RESULTS_H
#define BT_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "sweeps/sched/sched.h"
#include "base/status.h"
#include "base/value.h"

typedef struct bt_result_param {
    char *name;         /* column name, as in the sweep ("eta", "optimizer.lr") */
    bt_value_kind kind; /* INT, FLOAT, STRING or BOOL: the column's type */
} bt_result_param;

typedef struct bt_trial_row {
    int64_t trial_id;
    bt_trial_status status;
    double metric;      /* the sweep's metric at `resource` (NaN if none yet) */
    double best_metric; /* best value over the trial's history */
    int64_t resource;   /* last resource reached */
    int32_t bracket, rung;
    char device[16];  /* "cpu", "cuda:0" */
    double seconds;   /* wall time attributed to the trial */
    bt_value *params; /* n_params values, column order; strings owned by the results */
    char *error;      /* program sweeps: why it failed, and its stderr's tail; NULL: none */
} bt_trial_row;

typedef struct bt_history_row {
    int64_t trial_id;
    int64_t resource;
    int32_t metric; /* index into metric_names */
    double value;
    double time; /* seconds since the sweep started */
} bt_history_row;

typedef struct bt_results {
    /* root attributes */
    char *batchtune_version;
    char *created;    /* ISO 8601 UTC */
    char *sweep_text; /* the sweep file verbatim */
    char *sweep_sha256;
    char *sweep_path;
    uint64_t seed;
    int64_t run_cap_override; /* --run-cap the sweep ran with (0: none) */
    char *host;
    char *command_line;
    char *metric_name;       /* the sweep's metric, normalized ("mse") */
    char *metric_as_written; /* metric.name as the sweep spells it ("val_acc"); NULL or "": none */
    int maximize;
    char *scheduler; /* bt_sched_kind_name */
    char *model_type;
    char *device;    /* where it trained: "cuda:0 (NVIDIA H100 ..., 79.1 GiB, ...)" or "cpu"; NULL:
                        unrecorded */
    char **warnings; /* what was said about the sweep file itself (bt_spec's warnings) */
    int n_warnings;
    /* provenance (NULL or "": the attribute is absent) */
    char *git_commit; /* HEAD of the git repository holding the sweep file */
    int git_dirty;    /* 1: its work tree had changes (git status --porcelain); with git_commit */
    char *train_sha256, *valid_sha256; /* of the loaded data (sizes, features, labels) */
    char *note;                        /* --note */
    char *tags;                        /* --tag, joined by "," */
    char *cpu_model;                   /* /proc/cpuinfo's "model name" */
    char *gpu_names;                   /* the GPUs trained on, joined by ", " */
    char *driver_version, *cuda_version;

    /* /system: machine metrics over time, n_system rows of n_system_cols doubles (row-major);
     * column 0 is `time`. No rows: no dataset. */
    char **system_cols;
    int n_system_cols;
    double *system;
    int64_t n_system;

    bt_result_param *params;
    int n_params;
    int error_column; /* /trials ends with an `error` column (program sweeps) */

    bt_trial_row *trials;
    int64_t n_trials;

    char **metric_names; /* names the history's metric index refers to */
    int n_metric_names;
    bt_history_row *history;
    int64_t n_history, cap_history;

    bt_rung_decision *rungs;
    int64_t n_rungs;

    /* best trial (-1 if none) and its serialized model (xgboost-json for gbdt), may be NULL */
    int64_t best_trial;
    char *best_model;
    size_t best_model_len;
    char *best_model_format;
} bt_results;

/* The 9 fixed columns of /trials, in file order; the parameters' columns follow. */
enum { BT_TRIAL_NFIXED = 9 };
extern const char *const bt_trial_fixed[BT_TRIAL_NFIXED];
/* The /trials column (and /best attribute) of parameter `name`: the name itself, or "param:" +
 * name where it would meet a fixed column, the `error` column or /best's own attributes (a W&B
 * sweep may well sweep `device`); buf holds the latter (n bytes, truncated). */
const char *bt_results_param_column(const char *name, char *buf, size_t n);
/* The parameter a column names: the inverse of bt_results_param_column (a pointer into col). */
const char *bt_results_column_param(const char *col);

void bt_results_free(bt_results *r);
/* Fills what every results file says about its sweep and session, from the spec (copied): the
 * version, creation time (UTC), host, sweep text, SHA-256 and path, seed, --run-cap, scheduler,
 * the file's warnings and command_line (NULL: ""). INTERNAL when memory runs out (what was set
 * stays, for bt_results_free). */
bt_status bt_results_describe_sweep(bt_results *r, const bt_spec *spec, const char *command_line);
/* The type of a sweep parameter's /trials column: string if any value is one, else float if any
 * is, else bool if all are, else int (distributions: int or float). */
bt_value_kind bt_results_column_kind(const bt_param_spec *p);
/* A configuration value as its column stores it (strings copied; the results own them). */
bt_value bt_results_column_value(bt_value_kind kind, bt_value v);
/* Atomic write: path.tmp.<pid>, fsync, rename over path, fsync the folder. */
bt_status bt_results_write(const bt_results *r, const char *path);
/* Reads a file written by bt_results_write (history included). */
bt_status bt_results_read(const char *path, bt_results *out);
/* 1 when PATH is a results file bt_results_read can load (so a finished journal may trust it);
 * 0 when it is missing, garbage, truncated or not a file. */
int bt_results_usable(const char *path);
/* OK when PATH is absent or a readable results file, so --fresh may replace it; IO (74, with a
 * message) for anything else there: someone's data, a folder, a symlink. */
bt_status bt_results_replaceable(const char *path);
const char *bt_trial_status_name(bt_trial_status s);
/* Inverse of bt_trial_status_name; BAD_INPUT for an unknown name. */
bt_status bt_trial_status_parse(const char *name, bt_trial_status *out);

#endif
