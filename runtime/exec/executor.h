/* bt_executor: runs a sweep to the end (or to a signal), in deterministic ticks.
 * Each tick: hand out jobs while fewer than `concurrency` runs are active, advance every active
 * run one resource unit in its pack (one model step per pack; packs of a family with
 * concurrent_steps are stepped from up to `streams` host threads at once, their results gathered
 * per pack and applied in pack order), record each trial's metric, send
 * the tick's reports to the scheduler in trial-id order, journal the tick. Because the scheduler
 * is a pure function of the ordered reports and a trial's training is a pure function of its
 * configuration and key, replaying the journal's ticks (no training) and catching up the runs
 * still in flight reproduces an uninterrupted sweep exactly. Runs a model-state snapshot holds
 * (runtime/store/snapshot.h) are restored from it first and only trained the rest of the way.
 * Ownership: options and the spec are borrowed for the duration of the call. */
#ifndef BT_EXECUTOR_H
#define BT_EXECUTOR_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "sweeps/spec/spec.h"
#include "base/status.h"

typedef struct bt_run_opts {
    const char *out_path;        /* results file; the journal is out_path + ".journal" */
    const char *device;          /* "auto", "cpu", "cuda", "cuda:0,1" (NULL: the spec's) */
    int fresh;                   /* discard earlier results and journal at out_path */
    FILE *log;                   /* JSON-lines events, or NULL */
    FILE *progress;              /* progress lines (stderr), or NULL for none */
    int progress_live;           /* rewrite one line in place (a terminal) */
    const char *command_line;    /* recorded in the results */
    volatile sig_atomic_t *stop; /* set asynchronously: finish the tick, checkpoint, stop */
    double checkpoint_every;     /* seconds between results checkpoints (default 30) */
    /* Seconds between model-state snapshots (out_path + ".state"), taken at checkpoints and at a
     * stop request, for families with slot_save; 0: none (the CLI's default is 300). A resume
     * restores the runs a snapshot holds instead of retraining them. */
    double snapshot_every;
    FILE *warnings; /* warnings (e.g. a snapshot ignored), or NULL for none */
    int streams;    /* packs stepped at once from host threads, for families whose packs own a
                     * device stream (concurrent_steps); 0: execution.streams */
    int pack_slots; /* at most this many slots per pack (0: as many as the shape can use), e.g.
                     * to cut one shape into several packs that run on several streams */
    /* "stable" or "all": which GPU packs are offered (NULL: execution.gpu_packs) */
    const char *gpu_packs;
    /* --html: the HTML report, rewritten after every results checkpoint with a refresh hint
     * (runtime/store/report_html.h); NULL: none */
    const char *html_path;
    /* Seconds between /system samples (machine metrics, on a background thread); 0: none (the
     * CLI's default is 1). */
    double system_every;
    const char *note; /* recorded as the results' `note` (NULL: none, or a resume's earlier) */
    const char *tags; /* comma-separated, the results' `tags` (NULL: as for note) */
    /* Tests only: train with these pack ops instead of the device's (the sweep family's), e.g.
     * the CPU pack with concurrent_steps flipped on. NULL in normal use. */
    const struct bt_pack_ops *packs_override;
} bt_run_opts;

typedef struct bt_run_summary {
    int64_t n_trials, completed, pruned, failed;
    int64_t best_trial;
    double best_metric;
    int64_t best_resource;
    char metric[32]; /* the metric ranked by (normalized name) */
    double seconds;
    int already_finished; /* the journal said the sweep was complete; nothing ran */
    int resumed;          /* continued from an earlier journal */
} bt_run_summary;

/* Runs the sweep. BT_STATUS_INTERRUPTED after a stop request (results and journal written). */
bt_status bt_sweep_run(const bt_spec *spec, const bt_run_opts *opts, bt_run_summary *summary);

#endif
