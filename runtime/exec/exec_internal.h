/* The executor's insides (executor.h), shared by its files: the state of one bt_sweep_run, its
 * fields grouped by concern, and the functions one file of runtime/exec/ offers another. Not a
 * public header: only the executor's files include it.
 * Ownership: a bt_exec owns everything it points to except `o` (the caller's options); executor.c
 * frees it through each concern's _free. */
#ifndef BT_EXEC_INTERNAL_H
#define BT_EXEC_INTERNAL_H

#include <stdint.h>

#include "base/status.h"
#include "runtime/devices/devices.h"
#include "runtime/exec/executor.h"
#include "runtime/exec/pool.h"
#include "runtime/exec/progress.h"
#include "base/sha256.h"
#include "runtime/store/journal.h"
#include "runtime/store/provenance.h"
#include "runtime/store/results.h"
#include "runtime/store/snapshot.h"
#include "sweeps/plan.h"

/* One run (a budget-prefix group, trained once for all its members), indexed by its leader. */
typedef struct bt_exec_run {
    int active;        /* some member has an outstanding job */
    int64_t resource;  /* logical resource reached */
    int64_t target;    /* furthest resource an outstanding job needs */
    int64_t state_res; /* resource the model state in `slot` is at */
    int inst;          /* pack instance holding its state, -1 if none */
    int slot;          /* slot in that pack, -1 if none */
    int failed;
    double step_value; /* sweep metric read right after the last step (step.c) */
    int verify;        /* retrained after a replay: check it lands on the journaled metric */
    int gpu;           /* GPU of the pack that last held it (/trials.device), -1: none yet */
    int open;          /* listed in bt_exec.open */
} bt_exec_run;

typedef struct bt_exec_trial {
    int has_job, started, stop_logged;
    int64_t job_resource; /* resource the scheduler asked for */
    int64_t report_at;    /* resource the report is due at (own budget for prefix trials) */
    int64_t resource;     /* last resource with a recorded metric */
    double metric, best, seconds;
    double pending; /* share of the current tick's time, paid when the tick ends */
} bt_exec_trial;

typedef struct bt_exec_pack {
    bt_pack *pack;
    int shape; /* index into sw.pack_leader */
    int cap;
    int *free; /* stack of free slot indices */
    int n_free;
    int n_step, job; /* scratch of bt_exec_step_leaders */
    int noted;       /* the pack's note (pack ops `note`) was passed on as a warning */
    int gpu;         /* the GPU it lives on (slots.c's placement rule), -1 on the CPU */
} bt_exec_pack;

/* One pack's share of a step: run on the caller's thread or a pool thread. */
typedef struct bt_exec_step_job {
    int inst;
    int *slots;
    int64_t *leaders;
    int n;
    int eval;
    bt_status st;
    char msg[768]; /* the failing thread's message: bt_status messages are per thread */
} bt_exec_step_job;

/* Where it trains (executor.c). */
typedef struct bt_exec_device {
    bt_device_choice choice; /* where it trains, and why */
    char label[64];          /* "cpu", "cuda:N" or "cuda:0,1,..." (choice.gpus) */
    int threads;             /* CPU threads for the data and CPU packs */
    int threads_asked;       /* execution.threads when more than the cores (capped), else 0 */
} bt_exec_device;

/* Pack instances and their slots (slots.c), and what steps them (step.c). */
typedef struct bt_exec_slots {
    bt_exec_pack *inst; /* pack instances, in creation order */
    int n_inst;
    int64_t cap_inst;
    bt_exec_step_job *jobs;
    int cap_jobs;
    int *step_slots;
    int64_t *step_leaders;
    int64_t cap_step;
    bt_pool *pool; /* threads stepping packs side by side (concurrent_steps families) */
    int streams;   /* packs stepped at once */
} bt_exec_slots;

/* The learning curves kept for the results (history.c). */
typedef struct bt_exec_history {
    bt_history_row *rows;
    int64_t n, cap;
    char **names; /* metric ids to names; id 0 is the sweep metric */
    int n_names;
    const char *extra[16]; /* the family's other metrics this task can compute */
    int n_extra;
} bt_exec_history;

/* The journal: written when live, read back and checked when replaying (resume.c). */
typedef struct bt_exec_journal {
    char *path;
    int lock_fd; /* holds the journal's exclusive lock for the whole run */
    int fresh;   /* start a new journal (no earlier one, or --fresh) */
    bt_journal *jn;
    bt_journal_log log; /* what an earlier session wrote */
    int64_t ri;         /* next record of `log` a replay checks */
    int replaying;
    double time_offset; /* journal time the last session reached: a resume's clock goes on */
} bt_exec_journal;

/* Model-state snapshots, OUT.state (snapshots.c). */
typedef struct bt_exec_snapshots {
    char *path;
    bt_snapshot read;       /* the one read at a resume (its blobs freed as they are used) */
    bt_snapshot_entry **of; /* per leader: its entry not yet restored, or NULL */
    double last;            /* clock of the last snapshot written */
    int64_t n_restored, units_restored; /* runs and resource units restored, not retrained */
    bt_snapshot_head ident;             /* build, device and data of this run */
    int ident_done;
} bt_exec_snapshots;

/* Results checkpoints (checkpoint.c). */
typedef struct bt_exec_checkpoints {
    double last;       /* clock of the last one */
    int64_t decisions; /* scheduler decisions at the last one */
} bt_exec_checkpoints;

typedef struct bt_exec {
    bt_sweep sw;
    const bt_run_opts *o;
    /* the sweep's state, advanced tick by tick (tick.c) */
    /* indexed by trial id (runs: by leader), bt_tables for every trial; the entries of trials
     * 0 .. n_init-1 (= sw.n_ready: the ready ones) are set (bt_exec_trials_ready) */
    bt_exec_run *runs;
    bt_exec_trial *ts;
    int64_t n_init;
    /* the runs started and not yet released, their leaders ascending (tick.c): every run that is
     * active or holds a slot is here, so a tick visits these rather than every trial started */
    int64_t *open;
    int64_t n_open, cap_open;
    int64_t *paid, n_paid, cap_paid; /* trials owed a share of this tick's time */
    int64_t *due, cap_due;           /* scratch: the trials a tick reports */
    int64_t n_active;
    int64_t concurrency;
    int64_t tick;
    double last_tick_time; /* journal time at the end of the last tick */
    bt_exec_device dev;
    bt_exec_slots slots;
    bt_exec_history hist;
    bt_exec_journal jnl;
    bt_exec_snapshots snap;
    bt_exec_checkpoints ckpt;
    bt_record mach; /* provenance and /system (machine.c) */
    bt_progress prog;
    struct bt_exec_ranks *rk; /* the other ranks of an MPI job (ranks.c); NULL: one process */
    /* for /trials.device in a job of several ranks (ranks.c fills, checkpoint.c reads; NULL with
     * one process): per leader the rank that last trained it this session (-1 none), per rank
     * its device ("" until it said) */
    int *trained_on;
    char (*rank_dev)[16];
} bt_exec;

static inline bt_pack *bt_exec_run_pack(const bt_exec *e, int64_t leader) {
    return e->slots.inst[e->runs[leader].inst].pack;
}

/* The files below call only the ones listed before them (check-floors.py finds no circle):
 * machine, checkpoint, events, slots, step, ranks, snapshots, resume, history, tick, then
 * executor.c. */

/* ---- machine.c: provenance and /system ------------------------------------------------------ */

/* A dataset's sizes, features and labels into c (the data digests). */
void bt_exec_hash_dataset(bt_sha256 *c, const bt_dataset *d);
/* After the data loaded: collects the provenance (git, CPU, GPU, data digests, --note, --tag;
 * a resume keeps the earlier session's note, tags and /system rows) and starts the /system
 * sampler when o->system_every > 0. */
bt_status bt_exec_machine_start(bt_exec *e, int resumed);
/* Provenance and /system so far into r (a checkpoint's results). */
bt_status bt_exec_machine_fill(bt_exec *e, bt_results *r);
/* Stops the sampler and frees what machine.c holds. */
void bt_exec_machine_free(bt_exec *e);

/* ---- checkpoint.c: the results view and checkpoints ---------------------------------------- */

/* Whether metric a beats b for the sweep's goal (a NaN never beats anything, anything beats it). */
int bt_exec_better(const bt_exec *e, double a, double b);
/* The best completed trial, else the best of any with a metric; -1: none. */
int64_t bt_exec_best_trial(const bt_exec *e);
/* Syncs the journal (when live) and rewrites the results file; final also exports the best
 * trial's model where the family can. */
bt_status bt_exec_checkpoint(bt_exec *e, int final);

/* ---- events.c: warnings, log events and progress counts ------------------------------------ */

/* To o->warnings and the event log (a "warning" event). */
void bt_exec_warn(bt_exec *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The sweep_start event, and (unless the sweep already finished: nothing trains) the line saying
 * where it trains. */
void bt_exec_announce(bt_exec *e, const bt_spec *spec, int resumed, int finished);
void bt_exec_counts(const bt_exec *e, bt_progress_counts *c);
/* A trial_stop event for each member of run `leader` that stopped and has not had one. */
void bt_exec_log_trial_stops(bt_exec *e, int64_t leader);

/* ---- slots.c: pack instances and their slots ---------------------------------------------- */

/* Gives run `leader` a slot (a new pack instance when its shape's are full) and its model state:
 * restored from the snapshot read at a resume, else started afresh. */
bt_status bt_exec_slot_acquire(bt_exec *e, int64_t leader);
void bt_exec_slot_release(bt_exec *e, int64_t leader);
void bt_exec_slots_free(bt_exec *e);
/* Makes pack instance inst's GPU current for the calling thread (a no-op on the CPU): every
 * thread that calls a pack operation does it first, pool threads included. */
bt_status bt_exec_pack_bind(const bt_exec *e, int inst);

/* ---- step.c: one step of many runs, one model call per pack instance ------------------------ */

/* Steps each listed run (by leader, each holding a slot) one resource unit; with eval, reads the
 * sweep metric into its step_value where a member records it. */
bt_status bt_exec_step_leaders(bt_exec *e, const int64_t *leaders, int64_t n, int eval);

/* ---- ranks.c: runs spread over the ranks of an MPI job ---------------------------------------
 * Rank 0 runs the sweep (scheduler, journal, results); each run is trained on one rank, chosen
 * when it gets model state and kept until that state is freed. Rank 0 steps its own share while
 * the others step theirs, and gathers their step values (and other metrics at report points)
 * before the tick goes on, so the tick order, and the results, are one process's. Without other
 * ranks (e->rk NULL) each call below is the one-process call it wraps. */

/* Rank 0 of a job of several: e->rk (`timeout`: seconds a rank may take to answer). */
/* Sets the runs' and trials' entries (and the ranks' per-run entries) of the trials made ready
 * since the last call (n_init .. sw.n_ready-1), or of trial t alone (a configuration another
 * rank sent, bt_exec_trial_init). */
void bt_exec_trials_ready(bt_exec *e);
void bt_exec_trial_init(bt_exec *e, int64_t t);
bt_status bt_exec_ranks_init(bt_exec *e, double timeout);
/* Gives run `leader` model state on a rank (bt_exec_slot_acquire there). */
bt_status bt_exec_ranks_acquire(bt_exec *e, int64_t leader);
/* Frees run `leader`'s model state wherever it is (told to its rank with the next message). */
void bt_exec_ranks_release(bt_exec *e, int64_t leader);
/* bt_exec_step_leaders over the ranks. */
bt_status bt_exec_ranks_step(bt_exec *e, const int64_t *leaders, int64_t n, int eval);
/* Metric `name` of run `leader`'s model state, wherever it is. */
bt_status bt_exec_ranks_eval(bt_exec *e, int64_t leader, const char *name, double *v);
/* Whether a rank stopped answering (the job must be aborted after saving). */
int bt_exec_ranks_lost(const bt_exec *e);
/* Rank 0: tells every rank still answering that the sweep ended with `code`, and frees e->rk. */
void bt_exec_ranks_free(bt_exec *e, int code);
/* Another rank: tells rank 0 its device (for bt_exec_ranks_device). */
bt_status bt_exec_ranks_greet(const bt_exec *e);
/* A rank other than 0: rank 0's greeting (*got 1), checked against this rank's sweep file and
 * options; *got 0: rank 0 ended before it (the end is read by bt_exec_ranks_serve). */
bt_status bt_exec_ranks_hello(bt_exec *e, const bt_spec *spec, int *got);
/* execution.broadcast_data. Rank 0, after loading the data: sends it to every other rank. */
bt_status bt_exec_ranks_send_data(bt_exec *e);
/* A rank other than 0: receives rank 0's data into e->sw (*got 1), or finds rank 0 ended without
 * sending any (*got 0: the end is read by bt_exec_ranks_serve). */
bt_status bt_exec_ranks_recv_data(bt_exec *e, int *got);
/* A rank other than 0: trains what rank 0 asks until it says the sweep ended (its code is
 * returned). setup: how loading this rank's plan and data went (an error is told to rank 0). */
bt_status bt_exec_ranks_serve(bt_exec *e, bt_status setup);

/* ---- snapshots.c: model-state snapshots ---------------------------------------------------- */

/* Removes OUT.state and a temporary one a killed writer left. */
bt_status bt_exec_state_remove(bt_exec *e);
/* At a resume: reads OUT.state and keeps the entries it can trust (snap.of); else warns. */
bt_status bt_exec_state_open(bt_exec *e);
/* Forgets run `leader`'s entry of the snapshot read at the resume. */
void bt_exec_snap_drop(bt_exec *e, int64_t leader);
/* At a checkpoint: writes a snapshot when one is due, or always when stopping. BT_STATUS_IO when
 * the file could not be written (a full disk); other failures only warn. */
bt_status bt_exec_snapshot_maybe(bt_exec *e, int stopping);
void bt_exec_snapshots_free(bt_exec *e);

/* ---- resume.c: the journal, replay and catching up ----------------------------------------- */

/* Sets the journal and state paths, takes the journal's lock and reads an earlier journal:
 * fresh, resume (replaying) or already finished, in sum. */
bt_status bt_exec_journal_prepare(bt_exec *e, const bt_spec *spec, const bt_run_opts *o,
                                  bt_run_summary *sum);
/* After the data loaded: starts or continues the journal (--fresh: old results and state go). */
bt_status bt_exec_journal_open(bt_exec *e, const bt_spec *spec);
/* One record: appended when live; checked against the journal when replaying, whose value and
 * time it then takes. */
bt_status bt_exec_jrec(bt_exec *e, bt_jrec *r);
/* Brings runs still in flight after a replay back to where the journal says they were, checking
 * they land on its metrics. buf: room for n_trials + 1 leaders. */
bt_status bt_exec_catch_up(bt_exec *e, int64_t *buf);
/* Closes the journal and releases its lock (an empty one made only for the lock goes). */
void bt_exec_journal_close(bt_exec *e);

/* ---- history.c: metric names and the learning curves -------------------------------------- */

/* The sweep metric as id 0 and the family's other metrics for this task. */
bt_status bt_exec_history_init(bt_exec *e);
bt_status bt_exec_hist_add(bt_exec *e, int64_t trial, int64_t resource, const char *metric,
                           double value, double time);
/* Journals and records the task's other metrics of trial (a member of run leader) at the run's
 * resource. */
bt_status bt_exec_extra_metrics(bt_exec *e, int64_t leader, int64_t trial, double now);
void bt_exec_history_free(bt_exec *e);

/* ---- tick.c: the tick ---------------------------------------------------------------------- */

/* One tick; *finished set when the scheduler is done. buf: room for 2 x n_trials + 1 leaders. */
bt_status bt_exec_tick(bt_exec *e, int64_t *buf, int *finished);

#endif
