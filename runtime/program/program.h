/* Program mode (docs/program-mode.md): a sweep whose trials are runs of the user's own program,
 * started as W&B's agent starts them (runtime/program/cmdline.h), several at once (one per GPU
 * slot, else per CPU core), reporting by JSON lines on stdout (or `import wandb`, through the
 * compatibility package batchtune puts first on PYTHONPATH), judged by the scheduler as a stopping
 * rule (sweeps/sched/sched.h, stopping mode), journaled and resumed like any sweep, and written to
 * the same results file. bt_sweep_run (runtime/exec/executor.h) hands program sweeps here.
 * Ownership: the spec and options are borrowed for the duration of the call. */
#ifndef BT_PROGRAM_H
#define BT_PROGRAM_H

#include <stdio.h>

#include "runtime/exec/executor.h"

/* Runs a program sweep (spec->prog.on). BT_STATUS_INTERRUPTED after a stop request: the running
 * trials were stopped (SIGTERM, SIGKILL after execution.grace) and run again at the resume. */
bt_status bt_program_run(const bt_spec *spec, const bt_run_opts *opts, bt_run_summary *summary);

/* A rank other than 0 of an MPI job running a program sweep (runtime/program/ranks.c): starts
 * the processes rank 0 orders on this rank's slots, streams their lines and exits back, until
 * rank 0 says the sweep ended (its status is returned). Writes only the trials' folders. */
bt_status bt_program_serve(const bt_spec *spec, const bt_run_opts *opts);

/* For `validate`: the program and the command's first entry exist, and trial 0's command line
 * expands; then (only then) prints "LABEL: ok" and the plan to out. */
bt_status bt_program_check(const bt_spec *spec, const char *label, FILE *out);

#endif
