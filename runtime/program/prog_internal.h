/* Program mode's insides (program.h), shared by its files: the state of one bt_program_run.
 * run.c starts processes and reads them; state.c keeps what they report (history, results,
 * journal, resume); env.c makes each trial's environment, GPU slots and the wandb package.
 * Ownership: a bt_prun owns everything it points to except the spec and options. */
#ifndef BT_PROG_INTERNAL_H
#define BT_PROG_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "runtime/exec/executor.h"
#include "runtime/exec/progress.h"
#include "runtime/program/cmdline.h"
#include "runtime/program/proc.h"
#include "runtime/store/journal.h"
#include "runtime/store/provenance.h"
#include "runtime/store/results.h"
#include "sweeps/sched/sched.h"

/* Why batchtune stops a trial's process. */
enum { BT_PSTOP_NONE = 0, BT_PSTOP_PRUNED, BT_PSTOP_TIMEOUT, BT_PSTOP_SWEEP, BT_PSTOP_NAN };

typedef struct bt_ptrial {
    bt_value *config; /* spec->n_params values, NULL until it starts (strings the spec's) */
    int attempt;      /* attempts started */
    int slot;         /* slot running it, -1 */
    int queued;       /* waits to start again (a retry, or in flight when the sweep stopped) */
    int64_t resource; /* its progress: scheduler.resource's value, else reports of the metric */
    int64_t n_reports, n_lines;
    double metric, best; /* the metric's last and best values */
    double t_start, seconds;
    char device[16];
    char *error; /* why it failed, with its stderr's tail */
    int stop_why;
    double kill_at;   /* SIGKILL then, once stopped (0: not stopping) */
    double resend_at; /* another rank's trial past kill_at: SIGKILL again then */
} bt_ptrial;

typedef struct bt_pslot {
    int busy;
    int64_t trial;
    int gpu;   /* GPU id it runs on, -1 */
    int rank;  /* the MPI rank whose process runs it (0: this one; ranks.c) */
    int rslot; /* its slot on that rank */
    bt_proc proc;
    bt_linebuf out, err;
    FILE *log;
    int64_t log_bytes;
    char tail[2048]; /* the last bytes of stderr, a ring */
    size_t tail_len, tail_pos;
} bt_pslot;

typedef struct bt_prun {
    const bt_spec *spec;
    const bt_run_opts *o;
    bt_sched *sched;
    struct bt_proposer *prop; /* bayes and tpe: proposes each trial as it starts */
    int64_t n_trials;
    /* a bt_table for every trial; trials 0 .. n_init-1 (those handed out: ids go out in order)
     * have their entries set (bt_prun_trials_init), so memory follows the trials started */
    bt_ptrial *ts;
    int64_t n_init;
    /* random search's configurations seen: an open-addressing set of the trial ids 0 .. n_seen-1
     * by their configuration's hash (bt_values_hash), cap_seen slots (-1: empty); n_configured:
     * trials 0 .. n_configured-1 have their configuration */
    int64_t *seen;
    int64_t n_seen, cap_seen, n_configured;
    bt_pslot *slots;
    int n_slots;
    int *gpu_ids; /* GPUs the slots share out (CUDA_VISIBLE_DEVICES values); n_gpus of them */
    int n_gpus;
    int mps_started;
    char mps_dir[512];
    /* history: every numeric key reported */
    bt_history_row *rows;
    int64_t n_rows, cap_rows;
    char **names;
    int n_names;
    /* journal */
    char *jpath;
    int lock_fd;
    bt_journal *jn;
    bt_journal_log log;
    int replaying, wrote;
    int fresh; /* no earlier journal to continue (or --fresh) */
    int64_t tick;
    double time_offset;
    /* files */
    char *logs_dir; /* OUT.logs: trial-N.log, trial-N/ (BATCHTUNE_OUT_DIR), python/ */
    char *shim_dir; /* OUT.logs/python when the wandb package is in use, else NULL */
    char interpreter[64];
    char sweep_id[16];
    bt_progress prog;
    bt_record rec; /* provenance and /system (batchtune's own CPU and memory, the slots' GPUs) */
    struct bt_pranks *pk; /* the other ranks of an MPI job (ranks.c); NULL: one process */
    double ckpt_last;
    int stopping_all;
    int done;
} bt_prun;

/* ---- state.c: what the trials report, the results file, the journal ------------------------- */

double bt_prun_now(const bt_prun *r);
/* Whether metric a beats b for the sweep's goal (NaN never beats anything). */
int bt_prun_better(const bt_prun *r, double a, double b);
/* Drops trial t's history (it starts again). */
void bt_prun_history_drop(bt_prun *r, int64_t t);
/* A report line's numeric keys (a JSON object's text) into the history at the trial's resource;
 * *metric gets the sweep metric's value when the line holds it (else it is left alone). */
bt_status bt_prun_history_line(bt_prun *r, int64_t t, const char *json, double time,
                               int *has_metric, double *metric);
/* Appends a record (live); no-op while replaying. */
bt_status bt_prun_jrec(bt_prun *r, bt_jrec_kind kind, int64_t t, int64_t resource, double value,
                       const char *text);
/* Ends a batch of records (one write) when any were added. */
bt_status bt_prun_jtick(bt_prun *r);
/* Lock and read an earlier journal (fresh, resume or finished), then replay it. */
bt_status bt_prun_journal_prepare(bt_prun *r, bt_run_summary *sum);
bt_status bt_prun_journal_open(bt_prun *r);
void bt_prun_journal_close(bt_prun *r);
/* Trial t's configuration: grid or random (sweeps/space.h), or the proposer's (bayes, tpe) when
 * it first starts. */
bt_status bt_prun_config(bt_prun *r, int64_t t);
/* Sets the entries of trials n_init .. upto-1 (slot -1, no metric yet). */
void bt_prun_trials_init(bt_prun *r, int64_t upto);
/* A scheduler report or a trial's own end, in journal order: the proposer learns from it. */
bt_status bt_prun_observe(bt_prun *r, int64_t t, int64_t resource, double metric);
/* Writes the results file (journal synced first). */
bt_status bt_prun_checkpoint(bt_prun *r);
void bt_prun_counts(const bt_prun *r, bt_progress_counts *c);

/* ---- ranks.c: trials' processes on the ranks of an MPI job ----------------------------------
 * Rank 0 keeps everything program mode keeps; another rank runs the processes rank 0 orders and
 * streams their output lines and exits back (runtime/mpi/comm.h). Without ranks (r->pk NULL)
 * each call is a no-op. */

/* Rank 0: each other rank's greeting (its slots and GPUs), its slots appended to r->slots. */
bt_status bt_prun_ranks_init(bt_prun *r);
/* Starts trial t's command (argv, args_json) on remote slot si. */
bt_status bt_prun_ranks_start(bt_prun *r, int si, int64_t t, const bt_argv *argv,
                              const char *args_json);
/* Signals remote slot si's process group. */
void bt_prun_ranks_signal(bt_prun *r, int si, int sig);
/* What run.c does with another rank's slot si: a line its process printed (is_err: on stderr), as
 * if read from its pipe; its exit (waitpid status), or exec_errno when it could not start. */
typedef struct bt_prun_sink {
    bt_status (*line)(bt_prun *r, int si, int is_err, char *line, size_t len);
    bt_status (*exit)(bt_prun *r, int si, int status, int exec_errno);
} bt_prun_sink;
/* What the other ranks sent, handed to the sink in arrival order; BT_STATUS_INTERRUPTED when one
 * went silent for --rank-timeout (its slots are then freed, their trials queued). */
bt_status bt_prun_ranks_pump(bt_prun *r, const bt_prun_sink *sink);
/* Tells every other rank the sweep ended (code) and frees rank 0's side. */
void bt_prun_ranks_free(bt_prun *r, bt_status code);
/* /trials.device for slot si: "cpu", "cuda:1", or in a job of several ranks "cuda:1@rank2". */
void bt_prun_slot_device(const bt_prun *r, int si, char *buf, size_t n);

/* ---- env.c: a trial's environment, GPU slots, MPS, the wandb package ------------------------- */

/* GPUs (BATCHTUNE_GPUS, else --device/execution.device, else all visible; in a job of several
 * ranks one by local rank), slots and MPS. */
bt_status bt_prun_gpus(bt_prun *r);
/* The processes one rank runs at once: execution.concurrency, else its GPUs x per_gpu, else its
 * CPU cores. */
int bt_prun_slot_count(const bt_prun *r);
void bt_prun_gpus_free(bt_prun *r);
/* OUT.logs and, when in use, the wandb package written there. */
bt_status bt_prun_files(bt_prun *r);
/* envp for trial t's attempt on GPU gpu (-1: none), args_json its arguments; free with
 * bt_argv_free. */
bt_status bt_prun_env(bt_prun *r, int64_t t, int attempt, int gpu, const char *args_json,
                      const char *outdir, bt_argv *env);
/* At a resume: SIGKILL what a killed batchtune's trials left running (processes whose
 * BATCHTUNE_OUT_DIR lies in this results file's OUT.logs; the trials themselves died with it). */
void bt_prun_kill_leftovers(const bt_prun *r);
/* ${interpreter}: python when on PATH (as W&B), else python3. */
void bt_prun_interpreter(char *buf, size_t n);

#endif
