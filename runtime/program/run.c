/* The program sweep loop (program.h): hand out trials while slots are free, start each as W&B's
 * agent would, read every pipe with poll, turn JSON lines into reports and the scheduler's
 * verdicts into signals, end trials by their exit, and checkpoint; SIGTERM to batchtune stops the
 * children gracefully. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/table.h"
#include "runtime/devices/devices.h"
#include "sweeps/propose/propose.h"
#include "sweeps/space.h"
#include "runtime/program/prog_internal.h"
#include "runtime/program/program.h"
#include "runtime/store/results.h"
#include "runtime/store/wopen.h"

/* ---- reports -------------------------------------------------------------------------------- */

/* Python's json.dumps writes NaN, Infinity and -Infinity, which JSON lacks: read them as null
 * (a value that is not a number: the metric NaN). In place; strings are left alone. */
static void python_json(char *s) {
    int in_str = 0;
    for (char *p = s; *p; p++) {
        if (in_str) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '"')
                in_str = 0;
            continue;
        }
        if (*p == '"') {
            in_str = 1;
        } else if (strncmp(p, "NaN", 3) == 0) {
            memcpy(p, "nul", 3); /* and an "l" after it: one byte longer */
            memmove(p + 4, p + 3, strlen(p + 3) + 1);
            p[3] = 'l';
            p += 3;
        } else if (strncmp(p, "-Infinity", 9) == 0 || strncmp(p, "Infinity", 8) == 0) {
            size_t n = *p == '-' ? 9 : 8;
            memcpy(p, "null", 4);
            memmove(p + 4, p + n, strlen(p + n) + 1);
            p += 3;
        }
    }
}

/* Numeric entries of a report (nested objects as "a.b"), into flat. */
static void flatten(cJSON *flat, const cJSON *obj, const char *prefix) {
    for (const cJSON *it = obj->child; it; it = it->next) {
        char key[256];
        snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", it->string);
        if (cJSON_IsNumber(it))
            cJSON_AddNumberToObject(flat, key, it->valuedouble);
        else if (cJSON_IsNull(it))
            cJSON_AddNullToObject(flat, key); /* NaN */
        else if (cJSON_IsBool(it))
            cJSON_AddNumberToObject(flat, key, cJSON_IsTrue(it) ? 1 : 0);
        else if (cJSON_IsObject(it))
            flatten(flat, it, key);
    }
}

/* Signals slot si's process group, here or on the rank that runs it. */
static void slot_signal(bt_prun *r, int si, int sig) {
    if (r->slots[si].rank > 0)
        bt_prun_ranks_signal(r, si, sig);
    else
        bt_proc_signal(&r->slots[si].proc, sig);
}

static void stop_trial(bt_prun *r, int64_t t, int why) {
    bt_ptrial *tr = &r->ts[t];
    if (tr->slot < 0 || tr->kill_at > 0) return;
    tr->stop_why = why;
    slot_signal(r, tr->slot, SIGTERM);
    tr->kill_at = bt_prun_now(r) + r->spec->prog.grace;
}

/* The trial's reports reached its job's resource: tell the scheduler, act on its verdict. */
static bt_status judge(bt_prun *r, int64_t t) {
    bt_ptrial *tr = &r->ts[t];
    for (;;) {
        int64_t job = bt_sched_trial_job(r->sched, t);
        if (job < 0 || tr->resource < job || tr->n_reports == 0) return BT_STATUS_OK;
        BT_TRY(bt_prun_jrec(r, BT_JREC_REPORT, t, job, tr->metric, NULL));
        BT_TRY(bt_prun_observe(r, t, job, tr->metric));
        BT_TRY(bt_sched_report(r->sched, t, job, tr->metric));
        bt_trial_status s = bt_sched_trial_status(r->sched, t);
        char f[160];
        snprintf(f, sizeof f, "\"trial\":%" PRId64 ",\"resource\":%" PRId64 ",\"metric\":%.17g", t,
                 job, isfinite(tr->metric) ? tr->metric : 0);
        bt_progress_event(&r->prog, "report", f);
        if (s == BT_TRIAL_PRUNED) stop_trial(r, t, BT_PSTOP_PRUNED);
        if (s == BT_TRIAL_FAILED) stop_trial(r, t, BT_PSTOP_NAN);
        if (s != BT_TRIAL_RUNNING) return BT_STATUS_OK;
    }
}

/* *is_report: the line was a JSON object (else the caller logs it). */
static bt_status report_line(bt_prun *r, int64_t t, const char *line, int *is_report) {
    cJSON *obj = cJSON_Parse(line);
    if (!obj && (strstr(line, "NaN") || strstr(line, "Infinity"))) {
        size_t n = strlen(line);
        char *copy = malloc(n + n / 3 + 2); /* NaN -> null grows by one per three bytes */
        BT_CHECK_ALLOC(copy);
        memcpy(copy, line, n + 1);
        python_json(copy);
        obj = cJSON_Parse(copy);
        free(copy);
    }
    *is_report = cJSON_IsObject(obj);
    if (!*is_report) {
        cJSON_Delete(obj);
        return BT_STATUS_OK;
    }
    cJSON *flat = cJSON_CreateObject();
    if (flat) flatten(flat, obj, "");
    cJSON_Delete(obj);
    char *text = flat ? cJSON_PrintUnformatted(flat) : NULL;
    bt_ptrial *tr = &r->ts[t];
    const char *key = r->spec->sched.resource;
    const cJSON *rk = key && flat ? cJSON_GetObjectItemCaseSensitive(flat, key) : NULL;
    const char *m = r->spec->metric;
    int has = m && flat && cJSON_GetObjectItemCaseSensitive(flat, m);
    cJSON_Delete(flat);
    BT_CHECK_ALLOC(text);
    tr->n_lines++;
    tr->n_reports += has || !m;
    if (key)
        tr->resource = cJSON_IsNumber(rk) ? (int64_t)llround(rk->valuedouble) : tr->resource;
    else
        tr->resource = tr->n_reports;
    double now = bt_prun_now(r), v = NAN;
    int got = 0;
    bt_status st = bt_prun_jrec(r, BT_JREC_LINE, t, tr->resource, 0, text);
    if (st == BT_STATUS_OK) st = bt_prun_history_line(r, t, text, now, &got, &v);
    cJSON_free(text);
    BT_TRY(st);
    if (got) {
        tr->metric = v;
        if (bt_prun_better(r, v, tr->best)) tr->best = v;
    }
    return has || !m ? judge(r, t) : BT_STATUS_OK;
}

/* ---- a slot's pipes ------------------------------------------------------------------------- */

typedef struct line_ctx {
    bt_prun *r;
    bt_pslot *s;
    int is_err;
    bt_status st;
} line_ctx;

static void log_write(bt_prun *r, bt_pslot *s, const char *line, size_t len) {
    if (!s->log) return;
    int64_t cap = r->spec->prog.log_cap;
    if (s->log_bytes >= cap) return;
    if (s->log_bytes + (int64_t)len + 1 > cap) {
        fprintf(s->log,
                "[batchtune: log capped at %" PRId64 " bytes (execution.log_cap); "
                "further output dropped]\n",
                cap);
        s->log_bytes = cap;
        return;
    }
    fwrite(line, 1, len, s->log);
    fputc('\n', s->log);
    s->log_bytes += (int64_t)len + 1;
}

static void tail_add(bt_pslot *s, const char *line, size_t len) {
    for (size_t i = 0; i <= len; i++) {
        s->tail[s->tail_pos] = i < len ? line[i] : '\n';
        s->tail_pos = (s->tail_pos + 1) % sizeof s->tail;
        if (s->tail_len < sizeof s->tail) s->tail_len++;
    }
}

static void on_line(void *ctx, char *line, size_t len) {
    line_ctx *c = ctx;
    if (len && line[len - 1] == '\r') line[--len] = '\0';
    if (!c->is_err) {
        const char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        /* a trial the scheduler stopped has its result at the rung that stopped it: lines it
         * printed before the signal reached it go to its log only, so a loaded machine (a
         * slow controller, a fast program) records what an idle one does */
        int stopped = c->r->ts[c->s->trial].stop_why == BT_PSTOP_PRUNED ||
                      c->r->ts[c->s->trial].stop_why == BT_PSTOP_NAN;
        if (*p == 0x7b && c->st == BT_STATUS_OK && !stopped) { /* a JSON object's brace */
            int is_report = 0;
            c->st = report_line(c->r, c->s->trial, p, &is_report);
            if (is_report) return;
        }
    } else {
        tail_add(c->s, line, len);
    }
    log_write(c->r, c->s, line, len);
}

static bt_status slot_line(bt_prun *r, int si, int is_err, char *line, size_t len) {
    line_ctx c = {r, &r->slots[si], is_err, BT_STATUS_OK};
    on_line(&c, line, len);
    return c.st;
}

static bt_status drain(bt_prun *r, bt_pslot *s) {
    for (int k = 0; k < 2; k++) {
        int *fd = k ? &s->proc.err_fd : &s->proc.out_fd;
        if (*fd < 0) continue;
        line_ctx c = {r, s, k, BT_STATUS_OK};
        int e = bt_linebuf_read(k ? &s->err : &s->out, *fd, on_line, &c);
        if (e != 0) {
            close(*fd);
            *fd = -1;
        }
        BT_TRY(c.st);
    }
    return BT_STATUS_OK;
}

/* ---- starting and ending trials ------------------------------------------------------------- */

static bt_status fail_or_retry(bt_prun *r, int64_t t, const char *why, double secs);

/* Slot si's program could not be run at all (path: what was tried, "" the command). */
static bt_status cannot_run(bt_prun *r, int si, const char *path) {
    bt_pslot *s = &r->slots[si];
    const int64_t t = s->trial;
    char why[512];
    snprintf(why, sizeof why, "cannot run %.400s: %.80s", path[0] ? path : "the command",
             strerror(s->proc.exec_errno));
    bt_proc_close(&s->proc);
    if (s->log) fclose(s->log);
    s->log = NULL;
    s->busy = 0;
    r->ts[t].slot = -1;
    return fail_or_retry(r, t, why, 0);
}

static bt_status start_trial(bt_prun *r, int64_t t, int si) {
    bt_ptrial *tr = &r->ts[t];
    bt_pslot *s = &r->slots[si];
    BT_TRY(bt_prun_config(r, t));
    tr->attempt++;
    tr->queued = 0;
    tr->resource = tr->n_reports = tr->n_lines = 0;
    tr->metric = tr->best = NAN;
    tr->stop_why = BT_PSTOP_NONE;
    tr->kill_at = tr->resend_at = 0;
    free(tr->error);
    tr->error = NULL;
    bt_prun_history_drop(r, t);
    char outdir[1024], jfile[1200], logp[1100];
    snprintf(outdir, sizeof outdir, "%s/trial-%" PRId64, r->logs_dir, t);
    snprintf(jfile, sizeof jfile, "%s/config-%s-%" PRId64 ".json", outdir, r->sweep_id, t);
    snprintf(logp, sizeof logp, "%s/trial-%" PRId64 ".log", r->logs_dir, t);
    mkdir(outdir, 0755);
    bt_cmdline_ctx cc = {r->interpreter, jfile};
    bt_argv argv, env = {0};
    char *args_json = NULL;
    BT_TRY(bt_cmdline_build(r->spec, tr->config, &cc, &argv, &args_json));
    bt_status st = bt_prun_jrec(r, BT_JREC_START, t, -1, tr->attempt, args_json);
    if (st == BT_STATUS_OK && bt_cmdline_uses(r->spec, "${args_json_file}")) {
        FILE *f = bt_wfopen(jfile, "w");
        if (f) {
            fputs(args_json, f);
            fclose(f);
        }
    }
    const int rank = s->rank, rslot = s->rslot, gpu = s->gpu; /* where the slot is: kept */
    memset(s, 0, sizeof *s);
    s->busy = 1;
    s->trial = t;
    s->rank = rank, s->rslot = rslot, s->gpu = gpu;
    s->proc.out_fd = s->proc.err_fd = s->proc.pid_fd = -1;
    s->out.max_line = s->err.max_line = 1 << 20;
    if (st == BT_STATUS_OK && rank == 0)
        st = bt_prun_env(r, t, tr->attempt, s->gpu, args_json, outdir, &env);
    s->log = bt_wfopen(logp, tr->attempt > 1 ? "a" : "w");
    if (s->log && tr->attempt > 1) fprintf(s->log, "[batchtune: attempt %d]\n", tr->attempt);
    bt_prun_slot_device(r, si, tr->device, sizeof tr->device);
    char path[1024] = "";
    int found = st == BT_STATUS_OK && rank == 0 &&
                bt_proc_which(argv.v[0], r->spec->dir, path, sizeof path);
    if (st == BT_STATUS_OK && rank > 0) /* its process starts there; its exit comes back */
        st = bt_prun_ranks_start(r, si, t, &argv, args_json);
    else if (st == BT_STATUS_OK)
        st = bt_proc_spawn(&s->proc, found ? path : argv.v[0], argv.v, env.v, r->spec->dir);
    bt_argv_free(&argv);
    bt_argv_free(&env);
    free(args_json);
    BT_TRY(st);
    tr->slot = si;
    tr->t_start = bt_prun_now(r);
    char f[96];
    snprintf(f, sizeof f, "\"trial\":%" PRId64 ",\"attempt\":%d,\"device\":\"%s\"", t, tr->attempt,
             tr->device);
    bt_progress_event(&r->prog, "trial_start", f);
    if (s->proc.exec_errno) return cannot_run(r, si, path);
    return BT_STATUS_OK;
}

static bt_status fail_or_retry(bt_prun *r, int64_t t, const char *why, double secs) {
    bt_ptrial *tr = &r->ts[t];
    free(tr->error);
    tr->error = strdup(why);
    if (tr->attempt <= r->spec->prog.retries) {
        tr->queued = 1;
        return bt_prun_jrec(r, BT_JREC_EXIT, t, BT_JEXIT_RETRY, secs, why);
    }
    BT_TRY(bt_prun_jrec(r, BT_JREC_EXIT, t, BT_JEXIT_FAILED, secs, why));
    int64_t job = bt_sched_trial_job(r->sched, t);
    if (job >= 0) {
        BT_TRY(bt_prun_jrec(r, BT_JREC_REPORT, t, job, NAN, NULL));
        BT_TRY(bt_prun_observe(r, t, job, NAN));
        BT_TRY(bt_sched_report(r->sched, t, job, NAN));
    }
    return BT_STATUS_OK;
}

/* The process of slot si exited: read what is left, decide the trial's end. */
static bt_status finish_slot(bt_prun *r, int si) {
    bt_pslot *s = &r->slots[si];
    int64_t t = s->trial;
    bt_ptrial *tr = &r->ts[t];
    if (s->rank == 0) /* what the program left running in its group goes too (there: ranks.c) */
        bt_proc_signal(&s->proc, SIGKILL);
    const double until = bt_clock() + 2; /* a process that left the group holds the pipes */
    while (s->proc.out_fd >= 0 || s->proc.err_fd >= 0) {
        BT_TRY(drain(r, s));
        if (s->proc.out_fd >= 0 || s->proc.err_fd >= 0) bt_proc_pipes_wait(&s->proc, until);
    }
    double secs = bt_prun_now(r) - tr->t_start;
    tr->seconds += secs;
    char why[3072], how[96];
    bt_proc_describe(s->proc.status, how, sizeof how);
    char tail[sizeof s->tail + 1];
    size_t start = (s->tail_pos + sizeof s->tail - s->tail_len) % sizeof s->tail;
    for (size_t i = 0; i < s->tail_len; i++) tail[i] = s->tail[(start + i) % sizeof s->tail];
    tail[s->tail_len] = '\0';
    bt_status st = BT_STATUS_OK;
    int ok = WIFEXITED(s->proc.status) && WEXITSTATUS(s->proc.status) == 0;
    int64_t job = bt_sched_trial_job(r->sched, t);
    if (tr->stop_why == BT_PSTOP_SWEEP) {
        tr->queued = 1; /* runs again when the sweep is resumed */
    } else if (tr->stop_why == BT_PSTOP_PRUNED || tr->stop_why == BT_PSTOP_NAN) {
        st = bt_prun_jrec(r, BT_JREC_EXIT, t, BT_JEXIT_PRUNED, secs,
                          tr->stop_why == BT_PSTOP_NAN ? "reported NaN"
                                                       : "stopped by the scheduler");
        if (tr->stop_why == BT_PSTOP_NAN) tr->error = strdup("reported a NaN metric");
    } else if (tr->stop_why == BT_PSTOP_TIMEOUT) {
        snprintf(why, sizeof why, "timed out after %g s (execution.trial_timeout)%s%s",
                 r->spec->prog.trial_timeout, tail[0] ? "; stderr ends:\n" : "", tail);
        st = fail_or_retry(r, t, why, secs);
    } else if (!ok) {
        snprintf(why, sizeof why, "%s%s%s", how, tail[0] ? "; stderr ends:\n" : "", tail);
        st = fail_or_retry(r, t, why, secs);
    } else if (job >= 0 && r->spec->metric && tr->n_reports == 0) {
        snprintf(why, sizeof why,
                 "exited without reporting %s (print a JSON line such as "
                 "{\"%s\": 0.5}, or wandb.log it)%s%s",
                 r->spec->metric, r->spec->metric, tail[0] ? "; stderr ends:\n" : "", tail);
        st = fail_or_retry(r, t, why, secs);
    } else {
        if (job >= 0) {
            double v = r->spec->metric ? tr->metric : 0;
            st = bt_prun_jrec(r, BT_JREC_FINISH, t, job, v, NULL);
            if (st == BT_STATUS_OK) st = bt_prun_observe(r, t, job, v);
            if (st == BT_STATUS_OK) st = bt_sched_finish(r->sched, t, v);
        }
        if (st == BT_STATUS_OK)
            st = bt_prun_jrec(r, BT_JREC_EXIT, t, BT_JEXIT_COMPLETED, secs, NULL);
    }
    char f[160];
    snprintf(f, sizeof f, "\"trial\":%" PRId64 ",\"status\":\"%s\",\"seconds\":%.3f", t,
             tr->queued ? "queued" : bt_trial_status_name(bt_sched_trial_status(r->sched, t)),
             secs);
    bt_progress_event(&r->prog, "trial_stop", f);
    bt_proc_close(&s->proc);
    bt_linebuf_free(&s->out);
    bt_linebuf_free(&s->err);
    if (s->log) fclose(s->log);
    s->log = NULL;
    s->busy = 0;
    tr->slot = -1;
    return st;
}

static bt_status slot_exit(bt_prun *r, int si, int status, int exec_errno) {
    bt_pslot *s = &r->slots[si];
    s->proc.exited = 1;
    s->proc.status = status;
    s->proc.exec_errno = exec_errno;
    return exec_errno ? cannot_run(r, si, "") : finish_slot(r, si);
}

/* ---- the loop ------------------------------------------------------------------------------- */

/* A free slot on the rank with the fewest busy slots (the lowest on a tie), its first free one:
 * trials spread over the ranks as native runs do; one process takes its first free slot. */
static int free_slot(const bt_prun *r) {
    int best = -1, best_busy = 0;
    for (int i = 0; i < r->n_slots; i++) {
        if (r->slots[i].busy || (best >= 0 && r->slots[best].rank == r->slots[i].rank)) continue;
        int busy = 0;
        for (int j = 0; j < r->n_slots; j++)
            busy += r->slots[j].busy && r->slots[j].rank == r->slots[i].rank;
        if (best < 0 || busy < best_busy) best = i, best_busy = busy;
    }
    return best;
}

static int n_busy(const bt_prun *r) {
    int n = 0;
    for (int i = 0; i < r->n_slots; i++) n += r->slots[i].busy;
    return n;
}

/* Starts trials while slots are free: those to run again first, then new ones. */
static bt_status hand_out(bt_prun *r, int *sched_done) {
    *sched_done = 0;
    for (int si; !r->stopping_all && (si = free_slot(r)) >= 0;) {
        int64_t t = -1;
        for (int64_t k = 0; k < r->n_init && t < 0; k++)
            if (r->ts[k].queued && r->ts[k].slot < 0) t = k;
        if (t < 0) {
            bt_job job;
            BT_TRY(bt_sched_next(r->sched, &job));
            if (job.kind == BT_JOB_DONE) *sched_done = 1;
            if (job.kind != BT_JOB_RUN) return BT_STATUS_OK;
            bt_prun_trials_init(r, job.trial + 1);
            BT_TRY(bt_prun_jrec(r, BT_JREC_JOB, job.trial, job.resource, 0, NULL));
            t = job.trial;
        }
        BT_TRY(start_trial(r, t, si));
    }
    return BT_STATUS_OK;
}

/* Timeouts, and SIGKILL for trials past their grace. */
static void deadlines(bt_prun *r, double *next) {
    double now = bt_prun_now(r), to = r->spec->prog.trial_timeout;
    for (int i = 0; i < r->n_slots; i++) {
        if (!r->slots[i].busy) continue;
        bt_ptrial *tr = &r->ts[r->slots[i].trial];
        if (to > 0 && tr->kill_at == 0 && now - tr->t_start >= to)
            stop_trial(r, r->slots[i].trial, BT_PSTOP_TIMEOUT);
        if (tr->kill_at > 0 && now >= tr->kill_at && now >= tr->resend_at) {
            slot_signal(r, i, SIGKILL);
            /* another rank's: again once a second (not each poll) until its exit comes back;
             * kill_at stays, so ranks.c lets the trial go 2 s past it */
            if (r->slots[i].rank > 0) tr->resend_at = now + 1;
        }
        double d = tr->kill_at > 0 ? fmax(tr->kill_at, tr->resend_at)
                   : to > 0        ? tr->t_start + to
                                   : INFINITY;
        if (d > now && d < *next) *next = d;
    }
}

static bt_status wait_events(bt_prun *r) {
    struct pollfd *fds = calloc((size_t)(3 * r->n_slots + 1), sizeof *fds);
    int *owner = calloc((size_t)(3 * r->n_slots + 1), sizeof *owner);
    if (!fds || !owner) {
        free(fds);
        free(owner);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    int n = 0, no_pidfd = 0, remote = 0;
    for (int i = 0; i < r->n_slots; i++) {
        bt_proc *p = &r->slots[i].proc;
        remote |= r->slots[i].rank > 0;
        if (!r->slots[i].busy || r->slots[i].rank > 0) continue;
        int fd3[3] = {p->out_fd, p->err_fd, p->pid_fd};
        no_pidfd |= p->pid_fd < 0;
        for (int k = 0; k < 3; k++)
            if (fd3[k] >= 0) {
                fds[n].fd = fd3[k];
                fds[n].events = POLLIN;
                owner[n++] = i;
            }
    }
    double next = bt_prun_now(r) + 1.0; /* the progress line and checkpoints tick */
    deadlines(r, &next);
    int ms = (int)ceil((next - bt_prun_now(r)) * 1000);
    if (no_pidfd && ms > 20) ms = 20; /* no pidfd: look for exits often */
    if (remote && ms > 1) ms = 1;     /* and for what the other ranks sent */
    if (ms < 0) ms = 0;
    int k = poll(fds, (nfds_t)n, ms);
    bt_status st = BT_STATUS_OK;
    for (int j = 0; k > 0 && j < n && st == BT_STATUS_OK; j++)
        if (fds[j].revents && fds[j].fd != r->slots[owner[j]].proc.pid_fd)
            st = drain(r, &r->slots[owner[j]]);
    free(fds);
    free(owner);
    for (int i = 0; i < r->n_slots && st == BT_STATUS_OK; i++)
        if (r->slots[i].busy && r->slots[i].rank == 0 && bt_proc_reap(&r->slots[i].proc))
            st = finish_slot(r, i);
    static const bt_prun_sink sink = {slot_line, slot_exit};
    if (st == BT_STATUS_OK) st = bt_prun_ranks_pump(r, &sink);
    return st;
}

static bt_status between(bt_prun *r) {
    bt_progress_counts c;
    bt_prun_counts(r, &c);
    bt_progress_update(&r->prog, &c, 0);
    BT_TRY(bt_prun_jtick(r));
    double every = r->o->checkpoint_every > 0 ? r->o->checkpoint_every : 30.0;
    if (bt_clock() - r->ckpt_last >= every) BT_TRY(bt_prun_checkpoint(r));
    return BT_STATUS_OK;
}

static bt_status loop(bt_prun *r) {
    for (;;) {
        if (r->o->stop && *r->o->stop && !r->stopping_all) {
            r->stopping_all = 1;
            for (int i = 0; i < r->n_slots; i++)
                if (r->slots[i].busy) stop_trial(r, r->slots[i].trial, BT_PSTOP_SWEEP);
        }
        int done = 0;
        BT_TRY(hand_out(r, &done));
        if (n_busy(r) == 0) {
            if (r->stopping_all)
                return BT_FAIL(BT_STATUS_INTERRUPTED,
                               "interrupted: progress saved; run the same command again to "
                               "continue (the trials that were running start over)");
            if (done) return BT_STATUS_OK;
            return BT_FAIL(BT_STATUS_INTERNAL, "scheduler waits with no trial running");
        }
        BT_TRY(wait_events(r));
        BT_TRY(between(r));
    }
}

/* ---- setup ---------------------------------------------------------------------------------- */

static bt_status prepare(bt_prun *r, bt_run_summary *sum) {
    const bt_spec *spec = r->spec;
    int64_t offered = bt_space_offered(spec);
    BT_TRY(
        bt_sched_init(&r->sched, &spec->sched, offered, spec->sched.max_resource, spec->maximize));
    BT_TRY(bt_sched_set_stopping(r->sched));
    if (bt_method_is_model(spec->method))
        BT_TRY(bt_proposer_init(&r->prop, spec, (int)spec->method, spec->seed, NULL));
    r->n_trials = bt_sched_n_trials(r->sched);
    r->ts = bt_table_alloc((size_t)r->n_trials, sizeof *r->ts);
    BT_CHECK_ALLOC(r->ts);
    r->names = calloc(1, sizeof *r->names);
    BT_CHECK_ALLOC(r->names);
    if (spec->metric) { /* the sweep metric is history metric 0 */
        r->names[0] = strdup(spec->metric);
        BT_CHECK_ALLOC(r->names[0]);
        r->n_names = 1;
    }
    snprintf(r->sweep_id, sizeof r->sweep_id, "%.8s", spec->sha256);
    bt_prun_interpreter(r->interpreter, sizeof r->interpreter);
    BT_TRY(bt_prun_gpus(r));
    r->n_slots = bt_prun_slot_count(r);
    r->slots = calloc((size_t)r->n_slots, sizeof *r->slots);
    BT_CHECK_ALLOC(r->slots);
    for (int i = 0; i < r->n_slots; i++)
        r->slots[i].gpu = r->n_gpus > 0 ? r->gpu_ids[i % r->n_gpus] : -1;
    BT_TRY(bt_prun_ranks_init(r));
    sum->n_trials = r->n_trials;
    return bt_prun_journal_prepare(r, sum);
}

/* Provenance and the /system sampler: the trials are the user's processes, so the CPU and memory
 * columns are batchtune's own; the GPU columns are the GPUs the slots share out. */
static bt_status record_start(bt_prun *r, int resumed) {
    bt_record_opts ro = {.out_path = r->o->out_path,
                         .sweep_path = r->spec->path,
                         .resumed = resumed && !r->o->fresh,
                         .note = r->o->note,
                         .tags = r->o->tags,
                         .system_every = r->o->system_every,
                         .t0 = r->prog.t0 - r->time_offset,
                         .time_offset = r->time_offset,
                         .gpus = r->gpu_ids,
                         .n_gpus = r->n_gpus};
    BT_TRY(bt_record_start(&r->rec, &ro));
    char *names = r->rec.prov.gpu_names;
    size_t cap = sizeof r->rec.prov.gpu_names, at = 0;
    for (int i = 0; i < r->n_gpus && at + 1 < cap; i++) {
        bt_gpu_info g;
        if (bt_gpu_info_get(r->gpu_ids[i], &g) != BT_STATUS_OK) {
            bt_status_clear();
            continue;
        }
        int w = snprintf(names + at, cap - at, "%s%s", at ? ", " : "", g.name);
        if (w > 0) at += (size_t)w < cap - at ? (size_t)w : cap - at - 1;
    }
    return BT_STATUS_OK;
}

static void prun_free(bt_prun *r) {
    bt_record_free(&r->rec);
    for (int i = 0; r->slots && i < r->n_slots; i++) {
        bt_pslot *s = &r->slots[i];
        if (s->busy && s->rank > 0 && s->log) fclose(s->log); /* bt_prun_ranks_free ends it */
        if (!s->busy || s->rank > 0) continue;
        bt_proc_signal(&s->proc, SIGKILL);
        waitpid(s->proc.pid, NULL, 0);
        bt_proc_close(&s->proc);
        bt_linebuf_free(&s->out);
        bt_linebuf_free(&s->err);
        if (s->log) fclose(s->log);
    }
    free(r->slots);
    for (int64_t t = 0; r->ts && t < r->n_init; t++) {
        free(r->ts[t].config);
        free(r->ts[t].error);
    }
    bt_table_free(r->ts);
    free(r->seen);
    free(r->rows);
    for (int i = 0; i < r->n_names; i++) free(r->names[i]);
    free(r->names);
    bt_prun_journal_close(r);
    bt_prun_gpus_free(r);
    bt_sched_free(r->sched);
    bt_proposer_free(r->prop);
    free(r->logs_dir);
    free(r->shim_dir);
}

bt_status bt_program_run(const bt_spec *spec, const bt_run_opts *o, bt_run_summary *sum) {
    bt_prun r;
    memset(&r, 0, sizeof r);
    memset(sum, 0, sizeof *sum);
    sum->best_trial = -1;
    sum->best_metric = NAN;
    r.spec = spec;
    r.o = o;
    r.lock_fd = -1;
    r.log.last_tick = -1;
    r.prog.out = o->progress;
    r.prog.live = o->progress_live;
    r.prog.log = o->log;
    r.prog.warn = o->warnings;
    r.prog.t0 = bt_clock();
    bt_status st = prepare(&r, sum);
    if (st == BT_STATUS_OK && !(sum->already_finished && bt_results_usable(o->out_path))) {
        char f[256];
        snprintf(f, sizeof f,
                 "\"mode\":\"program\",\"trials\":%" PRId64 ",\"slots\":%d,"
                 "\"gpus\":%d,\"resumed\":%s",
                 r.n_trials, r.n_slots, r.n_gpus, sum->resumed ? "true" : "false");
        bt_progress_event(&r.prog, "sweep_start", f);
        for (int i = 0; i < spec->n_warnings && !sum->already_finished; i++)
            bt_progress_warn(&r.prog, spec->warnings[i]);
        st = bt_prun_files(&r);
        if (st == BT_STATUS_OK) st = record_start(&r, sum->resumed);
        if (st == BT_STATUS_OK && !sum->already_finished) st = bt_prun_journal_open(&r);
        r.ckpt_last = bt_clock();
        if (st == BT_STATUS_OK && !sum->already_finished) st = loop(&r);
        if (st == BT_STATUS_OK || st == BT_STATUS_INTERRUPTED) {
            bt_status c = bt_prun_jtick(&r);
            if (c == BT_STATUS_OK) c = bt_prun_checkpoint(&r);
            if (c == BT_STATUS_OK && st == BT_STATUS_OK && r.jn) {
                c = bt_prun_jrec(&r, BT_JREC_END, -1, -1, 0, NULL);
                if (c == BT_STATUS_OK) c = bt_journal_sync(r.jn);
            }
            if (c != BT_STATUS_OK) st = c;
        }
        bt_progress_counts c;
        bt_prun_counts(&r, &c);
        bt_progress_update(&r.prog, &c, 1);
        bt_progress_finish(&r.prog);
    }
    if (st == BT_STATUS_OK || st == BT_STATUS_INTERRUPTED) {
        bt_progress_counts c;
        bt_prun_counts(&r, &c);
        sum->completed = c.completed;
        sum->pruned = c.pruned;
        sum->failed = c.failed;
        sum->best_trial = c.best_trial;
        sum->best_metric = c.best;
        sum->best_resource = c.best_trial >= 0 ? r.ts[c.best_trial].resource : 0;
        snprintf(sum->metric, sizeof sum->metric, "%s", spec->metric ? spec->metric : "metric");
        sum->seconds = bt_clock() - r.prog.t0;
        char f[256];
        snprintf(f, sizeof f,
                 "\"status\":\"%s\",\"completed\":%" PRId64 ",\"pruned\":%" PRId64
                 ",\"failed\":%" PRId64 ",\"best_trial\":%" PRId64,
                 st == BT_STATUS_OK ? "finished" : "interrupted", c.completed, c.pruned, c.failed,
                 c.best_trial);
        bt_progress_event(&r.prog, "sweep_end", f);
    }
    bt_prun_ranks_free(&r, st); /* the other ranks of a job stop their processes */
    prun_free(&r);
    return st;
}
