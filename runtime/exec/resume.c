/* The journal side of the executor (exec_internal.h): one process per results file (a lock on
 * the journal), deciding fresh / resume / finished, writing records when live and checking them
 * when replaying, and catching up the runs still in flight after a replay. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/exec/exec_internal.h"
#include "runtime/store/results.h"
#include "runtime/store/wopen.h"

/* Writes r when live; when replaying, checks it against the journal and takes the journaled
 * value and time. */
bt_status bt_exec_jrec(bt_exec *e, bt_jrec *r) {
    bt_exec_journal *jl = &e->jnl;
    if (!jl->replaying) return bt_journal_append(jl->jn, r);
    if (jl->ri >= jl->log.n)
        return BT_FAIL(BT_STATUS_INTERNAL, "journal ended inside tick %" PRId64, e->tick);
    const bt_jrec *j = &jl->log.recs[jl->ri];
    if (j->kind != r->kind || j->trial != r->trial || j->resource != r->resource ||
        (r->kind == BT_JREC_HIST && strcmp(j->metric, r->metric) != 0))
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "%s does not match this sweep at record %" PRId64
                       " (the code or data changed since it was written); rerun with --fresh",
                       jl->path, jl->ri + 2);
    r->value = j->value;
    r->time = j->time;
    jl->ri++;
    return BT_STATUS_OK;
}

static int same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return a && b && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* OUT + suffix, allocated. */
static char *path_with(const char *out, const char *suffix) {
    size_t plen = strlen(out), slen = strlen(suffix);
    char *p = malloc(plen + slen + 1);
    if (!p) return NULL;
    memcpy(p, out, plen);
    memcpy(p + plen, suffix, slen + 1);
    return p;
}

/* The earlier journal, when there is one and it may be continued: the sweep, seed and version
 * must match. Sets replaying, the clock's offset and the summary's resumed / already_finished. */
static bt_status journal_read(bt_exec *e, const bt_spec *spec, const bt_run_opts *o,
                              bt_run_summary *sum) {
    bt_exec_journal *jl = &e->jnl;
    bt_status st = bt_journal_read(jl->path, &jl->log);
    if (st == BT_STATUS_NO_INPUT) {
        jl->fresh = 1;
        if (access(o->out_path, F_OK) == 0)
            return BT_FAIL(BT_STATUS_BAD_INPUT,
                           "%s exists but has no journal beside it (%s); use --fresh to "
                           "overwrite it or --out for another file",
                           o->out_path, jl->path);
    } else if (st != BT_STATUS_OK) {
        return st;
    } else if (strcmp(jl->log.sha256, spec->sha256) != 0 || jl->log.seed != spec->seed) {
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "%s belongs to a different sweep (the sweep file or --seed changed "
                       "since it was started); use --fresh to start over, or --out to write "
                       "elsewhere",
                       o->out_path);
    } else if (jl->log.run_cap != spec->run_cap_override) {
        char was[32] = "no --run-cap", now[32] = "no --run-cap";
        if (jl->log.run_cap > 0) snprintf(was, sizeof was, "--run-cap %" PRId64, jl->log.run_cap);
        if (spec->run_cap_override > 0)
            snprintf(now, sizeof now, "--run-cap %" PRId64, spec->run_cap_override);
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "%s was started with %s and this run has %s: a capped run is another "
                       "sweep; give the same, or use --fresh to start over, or --out to write "
                       "elsewhere",
                       o->out_path, was, now);
    } else if (strcmp(jl->log.version, BT_VERSION) != 0) {
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "%s was started by batchtune %s and this is %s: numerics may differ, "
                       "so it cannot be continued exactly; use --fresh to start over",
                       o->out_path, jl->log.version, BT_VERSION);
    } else {
        jl->replaying = jl->log.n > 0;
        for (int64_t i = 0; i < jl->log.n; i++)
            if (jl->log.recs[i].kind == BT_JREC_TICK && jl->log.recs[i].time > jl->time_offset)
                jl->time_offset = jl->log.recs[i].time;
        sum->resumed = jl->log.last_tick >= 0;
        sum->already_finished = jl->log.finished;
    }
    return BT_STATUS_OK;
}

/* Journal: fresh, resume, or already finished. One process per results file: an exclusive lock
 * on the journal (created empty if missing; an empty journal counts as none). */
bt_status bt_exec_journal_prepare(bt_exec *e, const bt_spec *spec, const bt_run_opts *o,
                                  bt_run_summary *sum) {
    bt_exec_journal *jl = &e->jnl;
    jl->path = path_with(o->out_path, ".journal");
    BT_CHECK_ALLOC(jl->path);
    e->snap.path = path_with(o->out_path, ".state");
    BT_CHECK_ALLOC(e->snap.path);
    if (same_file(o->out_path, spec->path))
        return BT_FAIL(BT_STATUS_USAGE, "--out %s is the sweep file itself", o->out_path);
    /* --fresh replaces a results file, never someone's data (checked before the lock file) */
    if (o->fresh) BT_TRY(bt_results_replaceable(o->out_path));
    jl->lock_fd = bt_wopen(jl->path, O_RDWR | O_CREAT, 0644);
    if (jl->lock_fd < 0) return BT_FAIL(BT_STATUS_IO, "%s: %s", jl->path, bt_wopen_error(errno));
    if (flock(jl->lock_fd, LOCK_EX | LOCK_NB) != 0)
        return BT_FAIL(BT_STATUS_IO,
                       "%s is in use by another batchtune process (one run per results file)",
                       jl->path);
    jl->fresh = o->fresh;
    if (!jl->fresh) BT_TRY(journal_read(e, spec, o, sum));
    return BT_STATUS_OK;
}

/* After the data loaded (so a bad dataset never costs earlier results): start or continue the
 * journal, and with --fresh drop the old results. */
bt_status bt_exec_journal_open(bt_exec *e, const bt_spec *spec) {
    /* the model-state file goes first: a kill in between must not leave an old state beside a
     * new journal of the same sweep */
    if (e->jnl.fresh) BT_TRY(bt_exec_state_remove(e));
    if (e->jnl.fresh && unlink(e->o->out_path) != 0 && errno != ENOENT)
        return BT_FAIL(BT_STATUS_IO, "%s: %s", e->o->out_path, strerror(errno));
    return bt_journal_open(&e->jnl.jn, e->jnl.path, e->jnl.fresh, spec->sha256, spec->seed,
                           spec->run_cap_override);
}

/* A retrained run must land on the metric the journal recorded: if not, the data or the code
 * changed since, and continuing would mix two different sweeps. */
static bt_status verify_run(bt_exec *e, int64_t L) {
    const bt_sweep *sw = &e->sw;
    const bt_exec_run *r = &e->runs[L];
    const int64_t run = sw->trials[L].run;
    for (int64_t k = sw->mem_ptr[run]; k < sw->mem_ptr[run + 1]; k++) {
        const bt_exec_trial *ts = &e->ts[sw->members[k]];
        if (ts->resource != r->resource) continue;
        double v = NAN;
        BT_TRY(bt_exec_ranks_eval(e, L, sw->metric, &v)); /* on the run's rank */
        if (!(v == ts->metric || (isnan(v) && isnan(ts->metric))))
            return BT_FAIL(BT_STATUS_BAD_INPUT,
                           "%s: trial %" PRId64 " brought to %" PRId64 " gives %s %.17g but "
                           "the journal recorded %.17g: the data or the code changed since "
                           "the sweep started; use --fresh to start over",
                           e->jnl.path, sw->members[k], r->resource, sw->metric, v, ts->metric);
        break;
    }
    return BT_STATUS_OK;
}

/* After a replay, runs still in flight have no model state: restore what the snapshot holds of
 * them (bt_exec_slot_acquire) and retrain the rest of the way (all together) to where the
 * journal says they were. Training is deterministic, so this reproduces their state. */
bt_status bt_exec_catch_up(bt_exec *e, int64_t *buf) {
    int64_t n_verify = 0, units = 0;
    const int64_t restored0 = e->snap.n_restored, restored_units0 = e->snap.units_restored;
    for (;;) {
        int64_t n = 0;
        for (int64_t i = 0; i < e->n_open; i++) { /* active runs are open (tick.c) */
            int64_t t = e->open[i];
            bt_exec_run *r = &e->runs[t];
            if (!r->active || r->failed) continue;
            if (r->slot < 0 && r->resource > 0) {
                BT_TRY(bt_exec_ranks_acquire(e, t)); /* retrained on the rank chosen now */
                r->verify = 1;
                n_verify++;
            }
            if (r->slot >= 0 && r->state_res < r->resource) buf[n++] = t;
        }
        if (n == 0) break;
        BT_TRY(bt_exec_ranks_step(e, buf, n, 0));
        units += n;
    }
    if (n_verify > 0) {
        char f[224];
        snprintf(f, sizeof f,
                 "\"runs\":%" PRId64 ",\"restored\":%" PRId64 ",\"units_restored\":%" PRId64
                 ",\"units_retrained\":%" PRId64,
                 n_verify, e->snap.n_restored - restored0, e->snap.units_restored - restored_units0,
                 units);
        bt_progress_event(&e->prog, "catch_up", f);
    }
    for (int64_t t = 0; t < e->sw.n_ready && n_verify > 0; t++) {
        bt_exec_run *r = &e->runs[t];
        if (!r->verify) continue;
        r->verify = 0;
        n_verify--;
        BT_TRY(verify_run(e, t));
    }
    return BT_STATUS_OK;
}

void bt_exec_journal_close(bt_exec *e) {
    bt_exec_journal *jl = &e->jnl;
    bt_journal_log_free(&jl->log);
    bt_journal_close(jl->jn);
    if (jl->lock_fd > 0) {
        struct stat st;
        if (!jl->jn && fstat(jl->lock_fd, &st) == 0 && st.st_size == 0)
            unlink(jl->path); /* made only to hold the lock: leave nothing behind */
        close(jl->lock_fd);   /* releases the lock */
    }
    free(jl->path);
    memset(jl, 0, sizeof *jl);
    jl->lock_fd = -1;
}
