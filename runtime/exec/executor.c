/* The sweep loop (executor.h): set up a bt_exec from the plan, tick to the end or a stop with
 * checkpoints between ticks, summarize. The tick, slots, journal, snapshots and results view live
 * in the other files of runtime/exec/ (exec_internal.h). */
#include "runtime/exec/executor.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/table.h"
#include "runtime/devices/memory.h"
#include "runtime/devices/resolve.h"
#include "runtime/exec/exec_internal.h"
#include "runtime/exec/sweep_data.h"
#include "runtime/mpi/comm.h"
#include "runtime/mpi/rank_device.h"
#include "runtime/program/program.h"
#include "runtime/store/results.h"

/* Resolves --device / execution.device and --gpu-packs / execution.gpu_packs (the shared
 * resolver, runtime/devices/resolve.h): the device, and the family's pack ops there. */
static bt_status resolve_device(bt_exec *e, const bt_spec *spec, const bt_run_opts *o) {
    char rank_dev[32]; /* a rank of an MPI job: its share of the host's GPUs */
    const char *asked = bt_rank_device(o->device ? o->device : spec->exec.device,
                                       e->sw.family->name, rank_dev, sizeof rank_dev);
    bt_device_request req = {.device = asked,
                             .gpu_packs = o->gpu_packs ? o->gpu_packs : spec->exec.gpu_packs,
                             .bad = o->device ? BT_STATUS_USAGE : BT_STATUS_BAD_INPUT,
                             .where = o->device ? "--device" : "execution.device"};
    bt_device_resolved res;
    BT_TRY(bt_device_resolve(e->sw.family, &req, &res));
    e->dev.choice = res.choice;
    e->sw.packs = res.packs;
    snprintf(e->dev.label, sizeof e->dev.label, "%s", e->dev.choice.label);
    return BT_STATUS_OK;
}

static void exec_free(bt_exec *e) {
    bt_exec_machine_free(e);
    bt_exec_slots_free(e);
    bt_table_free(e->runs);
    bt_table_free(e->ts);
    free(e->open);
    free(e->paid);
    free(e->due);
    bt_exec_history_free(e);
    bt_exec_snapshots_free(e);
    bt_exec_journal_close(e);
    bt_sweep_free(&e->sw);
}

/* An eager plan (a swept budget without a scheduler: its groups need every configuration) holds
 * its plan and the executor's state for every trial from the start: before anything per trial
 * is allocated, that must fit in memory (a run_cap of 10^8 is a message, not the OOM killer). An
 * incremental plan's memory follows the trials started instead (sweeps/plan.h). */
static bt_status check_memory(const bt_spec *spec) {
    bt_sweep head;
    bt_status st = bt_sweep_preview(&head, spec, 1);
    if (st == BT_STATUS_OK && bt_sweep_is_eager(&head)) {
        size_t per = bt_sweep_trial_bytes(&head) + sizeof(bt_exec_run) + sizeof(bt_exec_trial);
        st = bt_mem_check_trials(head.n_total, per, "plan and state");
    }
    bt_sweep_free(&head);
    return st;
}

/* The plan, the device, the runs' and trials' states and the history's metrics. */
static bt_status prepare_plan(bt_exec *e, const bt_spec *spec, const bt_run_opts *o,
                              bt_run_summary *sum) {
    BT_TRY(check_memory(spec));
    BT_TRY(bt_sweep_init(&e->sw, spec));
    BT_TRY(resolve_device(e, spec, o));
    if (o->packs_override) e->sw.packs = o->packs_override;
    /* the default: 4 packs at once per GPU */
    const int n_gpus = e->dev.choice.cuda && e->dev.choice.n_gpus > 1 ? e->dev.choice.n_gpus : 1;
    e->slots.streams = o->streams > 0           ? o->streams
                       : spec->exec.streams > 0 ? spec->exec.streams
                                                : 4 * n_gpus;
    bt_sweep *sw = &e->sw;
    int64_t n = sw->n_trials;
    e->runs = bt_table_alloc((size_t)n, sizeof *e->runs);
    e->ts = bt_table_alloc((size_t)n, sizeof *e->ts);
    BT_CHECK_ALLOC(e->runs);
    BT_CHECK_ALLOC(e->ts);
    bt_exec_trials_ready(e); /* an eager plan's trials are all ready */
    int async = spec->sched.kind == BT_SCHED_ASHA || spec->sched.kind == BT_SCHED_WANDB_HYPERBAND;
    e->concurrency =
        async && spec->sched.concurrency > 0 ? spec->sched.concurrency : bt_spec_concurrency(spec);
    if (e->concurrency <= 0) e->concurrency = 256;
    BT_TRY(bt_exec_history_init(e));
    /* More threads than cores only adds per-thread buffers and switching (4096 threads: 4 GB
     * and 70x slower), never speed; the results do not depend on the thread count. */
    int cores = bt_cpu_cores();
    e->dev.threads = spec->exec.threads > 0 ? spec->exec.threads : cores;
    if (e->dev.threads > cores) {
        e->dev.threads_asked = e->dev.threads;
        e->dev.threads = cores;
    }
    sum->n_trials = n;
    return BT_STATUS_OK;
}

/* prepare_plan, then the journal's verdict: fresh, resume, or already finished (in sum); in a
 * job of several ranks, rank 0's view of the others. */
static bt_status prepare(bt_exec *e, const bt_spec *spec, const bt_run_opts *o,
                         bt_run_summary *sum) {
    BT_TRY(prepare_plan(e, spec, o, sum));
    BT_TRY(bt_exec_ranks_init(e, o->rank_timeout > 0 ? o->rank_timeout : 600));
    return bt_exec_journal_prepare(e, spec, o, sum);
}

/* A rank other than 0 of an MPI job: the same plan and data, then what rank 0 orders, until it
 * says the sweep ended. It writes no file and prints nothing. */
static bt_status run_rank(bt_exec *e, const bt_spec *spec, const bt_run_opts *o,
                          bt_run_summary *sum) {
    bt_status st = prepare_plan(e, spec, o, sum);
    /* rank 0's greeting and data come whatever happened here: a broadcast is collective */
    int hello = 0, got = 1;
    bt_status hs = bt_exec_ranks_hello(e, spec, &hello);
    if (st == BT_STATUS_OK) st = hs;
    if (hello) { /* rank 0 names this rank's device in /trials */
        bt_status gs = bt_exec_ranks_greet(e);
        if (st == BT_STATUS_OK) st = gs;
    }
    if (hello && spec->exec.broadcast_data) {
        bt_status ds = bt_exec_ranks_recv_data(e, &got);
        if (bt_comm_lost()) return ds; /* no room for the data: the job stops */
        if (st == BT_STATUS_OK) st = ds;
    }
    if (st == BT_STATUS_OK && got) st = bt_sweep_load_data(&e->sw, e->dev.threads);
    return bt_exec_ranks_serve(e, st);
}

/* Between two live ticks: progress, a checkpoint (and maybe a snapshot) when one is due, and on
 * a stop request a last one and BT_STATUS_INTERRUPTED. */
static bt_status between_ticks(bt_exec *e) {
    const bt_run_opts *o = e->o;
    if (bt_progress_due(&e->prog)) { /* counting visits every trial started */
        bt_progress_counts c;
        bt_exec_counts(e, &c);
        bt_progress_update(&e->prog, &c, 0);
    }
    double since = bt_clock() - e->ckpt.last;
    double every = o->checkpoint_every > 0 ? o->checkpoint_every : 30.0;
    /* rung boundaries (new decisions) checkpoint too, at most once a second */
    int64_t nd = 0;
    bt_sched_decisions(e->sw.sched, &nd);
    int rung_done = nd > e->ckpt.decisions && since >= 1.0;
    int stopping = o->stop && *o->stop;
    bt_status st = BT_STATUS_OK;
    if ((since >= every || rung_done) && !stopping) {
        e->ckpt.decisions = nd;
        st = bt_exec_checkpoint(e, 0);
        /* model state on other ranks is not snapshotted: a resume retrains it there */
        if (st == BT_STATUS_OK && !e->rk) st = bt_exec_snapshot_maybe(e, 0);
    }
    if (st == BT_STATUS_OK && stopping) {
        st = bt_exec_checkpoint(e, 0);
        if (st == BT_STATUS_OK && !e->rk) st = bt_exec_snapshot_maybe(e, 1);
        if (st == BT_STATUS_OK)
            st = BT_FAIL(BT_STATUS_INTERRUPTED,
                         "interrupted: progress saved; run the same command again to continue");
    }
    return st;
}

/* A sweep that trains (or, finished but without its results file, replays to rewrite them):
 * load the data, open journal and state, tick to the end or a stop, then the final results and
 * the journal's END. *buf is the tick's scratch, freed by the caller. */
static bt_status run_live(bt_exec *e, const bt_spec *spec, bt_run_summary *sum, int64_t **buf) {
    bt_exec_announce(e, spec, sum->resumed, sum->already_finished);
    for (int i = 0; i < spec->n_warnings && !sum->already_finished; i++)
        bt_exec_warn(e, "%s", spec->warnings[i]);
    if (e->dev.threads_asked && !sum->already_finished)
        bt_exec_warn(e, "execution.threads %d is more than this machine's %d cores; using %d",
                     e->dev.threads_asked, e->dev.threads, e->dev.threads);
    bt_status st = bt_sweep_load_data(&e->sw, e->dev.threads);
    if (st == BT_STATUS_OK && spec->exec.broadcast_data) st = bt_exec_ranks_send_data(e);
    if (st == BT_STATUS_OK) st = bt_exec_machine_start(e, sum->resumed);
    if (st == BT_STATUS_OK && !sum->already_finished) st = bt_exec_journal_open(e, spec);
    if (st == BT_STATUS_OK && !sum->already_finished && !e->rk) st = bt_exec_state_open(e);
    *buf = bt_table_alloc((size_t)(2 * e->sw.n_trials + 1), sizeof **buf);
    if (!*buf && st == BT_STATUS_OK) st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    e->ckpt.last = bt_clock();
    e->snap.last = e->ckpt.last;
    int finished = 0;
    while (st == BT_STATUS_OK && !finished) {
        if (e->jnl.replaying && e->tick > e->jnl.log.last_tick) e->jnl.replaying = 0;
        e->prog.muted = e->jnl.replaying;
        st = bt_exec_tick(e, *buf, &finished);
        if (st != BT_STATUS_OK || finished) break;
        if (!e->jnl.replaying) st = between_ticks(e);
    }
    if (bt_exec_ranks_lost(e)) {
        /* a rank died or hung: save what the journal holds, then every rank is stopped */
        char why[768];
        snprintf(why, sizeof why, "%s", bt_status_message());
        (void)bt_exec_checkpoint(e, 0);
        st = BT_FAIL(BT_STATUS_INTERRUPTED, "%s", why);
    }
    if (st == BT_STATUS_OK) {
        /* results first, END after: a kill in between leaves a journal that replays to DONE
         * and rewrites the results, never a finished journal beside stale results */
        st = bt_exec_checkpoint(e, 1);
        if (st == BT_STATUS_OK && e->jnl.jn) {
            bt_jrec end = {BT_JREC_END, e->tick, -1, -1, 0, 0, ""};
            st = bt_journal_append(e->jnl.jn, &end);
            if (st == BT_STATUS_OK) st = bt_journal_sync(e->jnl.jn);
            /* a finished sweep needs no model state: the snapshot goes */
            if (st == BT_STATUS_OK) (void)bt_exec_state_remove(e);
        }
    }
    bt_progress_counts c;
    bt_exec_counts(e, &c);
    bt_progress_update(&e->prog, &c, 1);
    bt_progress_finish(&e->prog);
    return st;
}

/* The summary and the sweep_end event, after a finish or a stop. */
static void summarize(bt_exec *e, bt_status st, bt_run_summary *sum) {
    bt_progress_counts c;
    bt_exec_counts(e, &c);
    sum->completed = c.completed;
    sum->pruned = c.pruned;
    sum->failed = c.failed;
    sum->best_trial = c.best_trial;
    sum->best_metric = c.best;
    sum->best_resource = c.best_trial >= 0 ? e->ts[c.best_trial].resource : 0;
    snprintf(sum->metric, sizeof sum->metric, "%s", e->sw.metric ? e->sw.metric : "metric");
    sum->seconds = bt_clock() - e->prog.t0;
    char f[256];
    snprintf(f, sizeof f,
             "\"status\":\"%s\",\"completed\":%" PRId64 ",\"pruned\":%" PRId64
             ",\"failed\":%" PRId64 ",\"best_trial\":%" PRId64 ",\"already_finished\":%s",
             st == BT_STATUS_OK ? "finished" : "interrupted", c.completed, c.pruned, c.failed,
             c.best_trial, sum->already_finished ? "true" : "false");
    e->prog.muted = 0; /* a replay to the end (a finished sweep) ends with its own sweep_end */
    bt_progress_event(&e->prog, "sweep_end", f);
}

bt_status bt_sweep_run(const bt_spec *spec, const bt_run_opts *o, bt_run_summary *sum) {
    bt_exec e;
    memset(&e, 0, sizeof e);
    memset(sum, 0, sizeof *sum);
    const int rank = bt_comm_rank();
    if (spec->prog.on) /* the user's own program: rank 0 runs the sweep, the others processes */
        return rank == 0 ? bt_program_run(spec, o, sum) : bt_program_serve(spec, o);
    sum->best_trial = -1;
    sum->best_metric = NAN;
    e.o = o;
    e.jnl.lock_fd = -1;
    e.jnl.log.last_tick = -1;
    e.prog.out = o->progress;
    e.prog.live = o->progress_live;
    e.prog.log = o->log;
    e.prog.warn = o->warnings;
    e.prog.t0 = bt_clock();
    if (rank > 0) {
        bt_status st = run_rank(&e, spec, o, sum);
        exec_free(&e);
        return st;
    }
    bt_status st = prepare(&e, spec, o, sum);
    int64_t *buf = NULL;
    /* a finished sweep needs no model state: one left by a kill after its END record goes */
    if (st == BT_STATUS_OK && sum->already_finished) (void)bt_exec_state_remove(&e);
    if (st == BT_STATUS_OK && !(sum->already_finished && bt_results_usable(o->out_path))) {
        st = run_live(&e, spec, sum, &buf);
    } else if (st == BT_STATUS_OK) {
        /* finished earlier: replay the journal (no data, no training) for the summary */
        bt_exec_announce(&e, spec, sum->resumed, 1);
        e.jnl.replaying = 1;
        e.prog.muted = 1;
        buf = bt_table_alloc((size_t)(2 * e.sw.n_trials + 1), sizeof *buf);
        int finished = 0;
        while (st == BT_STATUS_OK && buf && !finished && e.tick <= e.jnl.log.last_tick)
            st = bt_exec_tick(&e, buf, &finished);
    }
    bt_exec_ranks_free(&e, st); /* the other ranks of a job stop waiting for orders */
    if (st == BT_STATUS_OK || st == BT_STATUS_INTERRUPTED) summarize(&e, st, sum);
    bt_table_free(buf);
    exec_free(&e);
    return st;
}
