/* Provenance (provenance.h): git through bt_proc (an argv, never a shell, killed at a deadline),
 * /proc/cpuinfo, the copy into a bt_results, and a session's record (provenance, the /system
 * sampler, what a resume carries over). */
#define _GNU_SOURCE
#include "runtime/store/provenance.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/devices/devices.h"
#include "runtime/program/proc.h"
#include "runtime/store/wopen.h"

extern char **environ;

enum { GIT_TIMEOUT_MS = 5000 };

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* Runs git with args in dir; its stdout (cut to n - 1 bytes) into out. 0 when it exited 0 in
 * time, -1 otherwise (no git, not a repository, a hung git: killed at the deadline). */
static int run_git(const char *git, const char *dir, const char *a1, const char *a2, char *out,
                   size_t n) {
    char *argv[] = {"git", "-C", (char *)dir, (char *)a1, (char *)a2, NULL};
    /* GIT_OPTIONAL_LOCKS=0: `status` must not write the index of someone's repository */
    size_t ne = 0;
    while (environ && environ[ne]) ne++;
    char **envp = calloc(ne + 2, sizeof *envp);
    if (!envp) return -1;
    for (size_t i = 0; i < ne; i++) envp[i] = environ[i];
    envp[ne] = "GIT_OPTIONAL_LOCKS=0";
    bt_proc p;
    bt_status st = bt_proc_spawn(&p, git, argv, envp, NULL);
    free(envp);
    if (st != BT_STATUS_OK) {
        bt_status_clear();
        return -1;
    }
    size_t len = 0;
    char sink[512];
    double deadline = now_ms() + GIT_TIMEOUT_MS;
    int timed_out = 0;
    while (p.out_fd >= 0 || p.err_fd >= 0) {
        struct pollfd fds[2] = {{p.out_fd, POLLIN, 0}, {p.err_fd, POLLIN, 0}};
        double left = deadline - now_ms();
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        if (poll(fds, 2, (int)left + 1) < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; i++) {
            int *fd = i == 0 ? &p.out_fd : &p.err_fd;
            if (*fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char *to = i == 0 && len + 1 < n ? out + len : sink;
            size_t room = i == 0 && len + 1 < n ? n - 1 - len : sizeof sink;
            ssize_t r = read(*fd, to, room);
            if (r > 0 && to != sink) len += (size_t)r;
            if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
                close(*fd);
                *fd = -1;
            }
        }
    }
    out[len] = '\0';
    if (timed_out) bt_proc_signal(&p, SIGKILL);
    while (!bt_proc_reap(&p)) {
        if (now_ms() > deadline + 1000) bt_proc_signal(&p, SIGKILL);
        usleep(2000);
    }
    bt_proc_close(&p);
    return !timed_out && p.exec_errno == 0 && WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0
               ? 0
               : -1;
}

void bt_provenance_git(bt_provenance *p, const char *sweep_path) {
    p->git_commit[0] = '\0';
    p->git_dirty = 0;
    char git[PATH_MAX], dir[PATH_MAX];
    if (!sweep_path || !bt_proc_which("git", NULL, git, sizeof git)) return;
    bt_path_folder(sweep_path, dir, sizeof dir);
    char head[128], status[2];
    if (run_git(git, dir, "rev-parse", "HEAD", head, sizeof head) != 0) return;
    size_t k = strspn(head, "0123456789abcdef");
    if (k < 40 || k >= sizeof p->git_commit) return; /* not a commit id (an unborn branch) */
    /* only whether status prints anything matters: the first byte is enough */
    if (run_git(git, dir, "status", "--porcelain", status, sizeof status) != 0) return;
    memcpy(p->git_commit, head, k);
    p->git_commit[k] = '\0';
    p->git_dirty = status[0] != '\0';
}

static bt_status set(char **to, const char *v) {
    free(*to);
    *to = NULL;
    if (!v || !*v) return BT_STATUS_OK;
    *to = strdup(v);
    BT_CHECK_ALLOC(*to);
    return BT_STATUS_OK;
}

bt_status bt_provenance_to_results(const bt_provenance *p, bt_results *r) {
    BT_TRY(set(&r->git_commit, p->git_commit));
    r->git_dirty = p->git_dirty;
    BT_TRY(set(&r->train_sha256, p->train_sha256));
    BT_TRY(set(&r->valid_sha256, p->valid_sha256));
    BT_TRY(set(&r->note, p->note));
    BT_TRY(set(&r->tags, p->tags));
    BT_TRY(set(&r->cpu_model, p->cpu_model));
    BT_TRY(set(&r->gpu_names, p->gpu_names));
    BT_TRY(set(&r->driver_version, p->driver_version));
    BT_TRY(set(&r->cuda_version, p->cuda_version));
    return BT_STATUS_OK;
}

void bt_provenance_free(bt_provenance *p) {
    if (!p) return;
    free(p->note);
    free(p->tags);
    p->note = p->tags = NULL;
}

/* ---- a session's record ---------------------------------------------------------------------- */

static bt_status dup_opt(char **to, const char *v) {
    free(*to);
    *to = NULL;
    if (!v) return BT_STATUS_OK;
    *to = strdup(v);
    BT_CHECK_ALLOC(*to);
    return BT_STATUS_OK;
}

/* A resume keeps the first session's note and tags unless this one gives its own, and the /system
 * rows it recorded up to where the journal resumes (the clock goes on from there). */
static bt_status carry_over(bt_record *m, const bt_record_opts *o) {
    bt_results old;
    if (bt_results_read(o->out_path, &old) != BT_STATUS_OK) {
        bt_status_clear(); /* no usable earlier file: nothing to carry */
        return BT_STATUS_OK;
    }
    bt_status st = BT_STATUS_OK;
    if (!o->note && old.note && *old.note) st = dup_opt(&m->prov.note, old.note);
    if (st == BT_STATUS_OK && !o->tags && old.tags && *old.tags)
        st = dup_opt(&m->prov.tags, old.tags);
    int64_t keep = 0;
    while (keep < old.n_system && old.system[keep * old.n_system_cols] <= o->time_offset) keep++;
    if (st == BT_STATUS_OK && keep > 0) {
        m->prev = old.system;
        m->prev_cols = old.system_cols;
        m->n_prev_cols = old.n_system_cols;
        m->n_prev = keep;
        old.system = NULL;
        old.system_cols = NULL;
        old.n_system_cols = 0;
        old.n_system = 0;
    }
    bt_results_free(&old);
    return st;
}

bt_status bt_record_start(bt_record *m, const bt_record_opts *o) {
    memset(m, 0, sizeof *m);
    BT_TRY(dup_opt(&m->prov.note, o->note));
    BT_TRY(dup_opt(&m->prov.tags, o->tags));
    if (o->resumed) BT_TRY(carry_over(m, o));
    bt_provenance_git(&m->prov, o->sweep_path);
    bt_cpu_model(m->prov.cpu_model, sizeof m->prov.cpu_model);
    if (o->n_gpus > 0) {
        bt_provenance *p = &m->prov;
        bt_gpu_versions(o->gpus[0], p->driver_version, sizeof p->driver_version, p->cuda_version,
                        sizeof p->cuda_version);
        if (!p->cuda_version[0])
            snprintf(p->cuda_version, sizeof p->cuda_version, "%s", bt_cuda_version_string());
    }
    if (!(o->system_every > 0)) return BT_STATUS_OK;
    return bt_sysmon_start(&m->mon, o->system_every, o->t0, o->gpus, o->n_gpus);
}

/* The earlier session's rows in this session's columns (NaN where it had no such column), then
 * this session's. */
static bt_status merge_system(const bt_record *m, bt_results *r, const double *now, int64_t n_now) {
    int nc = r->n_system_cols;
    double *all = malloc((size_t)(m->n_prev + n_now + 1) * (size_t)nc * sizeof *all);
    BT_CHECK_ALLOC(all);
    for (int c = 0; c < nc; c++) {
        int from = -1;
        for (int k = 0; k < m->n_prev_cols && from < 0; k++)
            if (strcmp(m->prev_cols[k], r->system_cols[c]) == 0) from = k;
        for (int64_t i = 0; i < m->n_prev; i++)
            all[i * nc + c] = from >= 0 ? m->prev[i * m->n_prev_cols + from] : NAN;
    }
    if (n_now) memcpy(all + m->n_prev * nc, now, (size_t)n_now * (size_t)nc * sizeof *all);
    r->system = all;
    r->n_system = m->n_prev + n_now;
    return BT_STATUS_OK;
}

bt_status bt_record_fill(bt_record *m, bt_results *r) {
    BT_TRY(bt_provenance_to_results(&m->prov, r));
    if (!m->mon) return BT_STATUS_OK;
    double *rows = NULL;
    int64_t n = 0;
    BT_TRY(bt_sysmon_copy(m->mon, &r->system_cols, &r->n_system_cols, &rows, &n));
    if (m->n_prev == 0) {
        r->system = rows;
        r->n_system = n;
        return BT_STATUS_OK;
    }
    bt_status st = merge_system(m, r, rows, n);
    free(rows);
    return st;
}

void bt_record_free(bt_record *m) {
    bt_sysmon_stop(m->mon);
    bt_provenance_free(&m->prov);
    for (int c = 0; m->prev_cols && c < m->n_prev_cols; c++) free(m->prev_cols[c]);
    free(m->prev_cols);
    free(m->prev);
    memset(m, 0, sizeof *m);
}
