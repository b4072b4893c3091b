/* A trial's process (proc.h): fork and exec of an argv in a process group of its own, pipes, a
 * pidfd, signals to the group, and line framing of what the pipes give. */
#define _DEFAULT_SOURCE /* syscall(): close_range, pidfd_open */
#include "runtime/program/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/exec/progress.h"

static int set_flags(int fd) {
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 || fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static int cloexec_pipe(int fds[2]) {
    if (pipe(fds) != 0) return -1;
    if (fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0 || fcntl(fds[1], F_SETFD, FD_CLOEXEC) != 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    return 0;
}

int bt_proc_which(const char *name, const char *cwd, char *out, size_t n) {
    if (!name || !*name) return 0;
    if (strchr(name, '/')) {
        char full[PATH_MAX];
        if (name[0] == '/' || !cwd)
            snprintf(full, sizeof full, "%s", name);
        else
            snprintf(full, sizeof full, "%s/%s", cwd, name);
        if (access(full, X_OK) != 0) return 0;
        snprintf(out, n, "%s", name);
        return 1;
    }
    const char *path = getenv("PATH");
    if (!path) path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        char full[PATH_MAX];
        snprintf(full, sizeof full, "%.*s/%s", (int)len, len ? path : ".", name);
        if (access(full, X_OK) == 0) {
            snprintf(out, n, "%s", full);
            return 1;
        }
        path += len + (colon != NULL);
    }
    /* not on PATH: the program's own folder, where the child runs it from (execve of the bare
     * name after chdir), so `validate` agrees with `run` */
    char full[PATH_MAX];
    if (cwd && snprintf(full, sizeof full, "%s/%s", cwd, name) < (int)sizeof full &&
        access(full, X_OK) == 0) {
        snprintf(out, n, "%s", name);
        return 1;
    }
    return 0;
}

/* In the child: never returns. Reports a failed chdir or exec through errfd. */
static void child(const char *path, char *const *argv, char *const *envp, const char *cwd, int out,
                  int err, int errfd, pid_t parent) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* batchtune gone (even by SIGKILL): so is the trial */
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int s = 1; s < 32; s++)
        if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_DFL);
    int null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 ||
        dup2(errfd, 3) < 0) {
        int e = errno;
        ssize_t w = write(errfd, &e, sizeof e);
        (void)w;
        _exit(127);
    }
    fcntl(3, F_SETFD, FD_CLOEXEC);
    /* nothing of batchtune's reaches the program: above all not the journal's lock */
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 4u, ~0u, 0u) != 0)
#endif
    {
        long max = sysconf(_SC_OPEN_MAX);
        for (long fd = 4; fd < (max > 0 && max < 65536 ? max : 65536); fd++) close((int)fd);
    }
    int e = 0;
    if (cwd && chdir(cwd) != 0)
        e = errno;
    else
        execve(path, argv, envp);
    if (!e) e = errno;
    ssize_t w = write(3, &e, sizeof e);
    (void)w;
    _exit(127);
}

bt_status bt_proc_spawn(bt_proc *p, const char *path, char *const *argv, char *const *envp,
                        const char *cwd) {
    memset(p, 0, sizeof *p);
    p->out_fd = p->err_fd = p->pid_fd = -1;
    int o[2], e[2], x[2];
    if (cloexec_pipe(o) != 0) return BT_FAIL(BT_STATUS_IO, "pipe: %s", strerror(errno));
    if (cloexec_pipe(e) != 0) {
        close(o[0]);
        close(o[1]);
        return BT_FAIL(BT_STATUS_IO, "pipe: %s", strerror(errno));
    }
    if (cloexec_pipe(x) != 0) {
        close(o[0]);
        close(o[1]);
        close(e[0]);
        close(e[1]);
        return BT_FAIL(BT_STATUS_IO, "pipe: %s", strerror(errno));
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) child(path, argv, envp, cwd, o[1], e[1], x[1], parent);
    int fork_errno = errno;
    close(o[1]);
    close(e[1]);
    close(x[1]);
    if (pid < 0) {
        close(o[0]);
        close(e[0]);
        close(x[0]);
        return BT_FAIL(BT_STATUS_IO, "fork: %s", strerror(fork_errno));
    }
    setpgid(pid, pid); /* also here, so a signal sent right away reaches the group */
    p->pid = pid;
    p->out_fd = o[0];
    p->err_fd = e[0];
    set_flags(o[0]);
    set_flags(e[0]);
    /* exec closes x[1]: a read of 0 bytes means it started; 4 bytes are its errno */
    int err = 0;
    ssize_t r;
    do r = read(x[0], &err, sizeof err);
    while (r < 0 && errno == EINTR);
    close(x[0]);
    if (r == (ssize_t)sizeof err) {
        p->exec_errno = err ? err : ENOEXEC;
        waitpid(pid, &p->status, 0);
        p->exited = 1;
        return BT_STATUS_OK;
    }
#ifdef SYS_pidfd_open
    p->pid_fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (p->pid_fd >= 0) fcntl(p->pid_fd, F_SETFD, FD_CLOEXEC);
#endif
    return BT_STATUS_OK;
}

void bt_proc_signal(const bt_proc *p, int sig) {
    if (p->pid > 0) kill(-p->pid, sig);
}

int bt_proc_reap(bt_proc *p) {
    if (p->exited) return 1;
    int st = 0;
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid) {
        p->exited = 1;
        p->status = st;
    }
    return p->exited;
}

void bt_proc_close(bt_proc *p) {
    if (p->out_fd >= 0) close(p->out_fd);
    if (p->err_fd >= 0) close(p->err_fd);
    if (p->pid_fd >= 0) close(p->pid_fd);
    p->out_fd = p->err_fd = p->pid_fd = -1;
}

void bt_proc_pipes_wait(bt_proc *p, double until) {
    if (bt_clock() >= until) {
        if (p->out_fd >= 0) close(p->out_fd);
        if (p->err_fd >= 0) close(p->err_fd);
        p->out_fd = p->err_fd = -1;
        return;
    }
    struct pollfd fds[2] = {{p->out_fd, POLLIN, 0}, {p->err_fd, POLLIN, 0}};
    (void)poll(fds, 2, 10); /* a closed one (-1) is left out */
}

void bt_proc_describe(int status, char *buf, size_t n) {
    if (WIFEXITED(status)) {
        snprintf(buf, n, "exit status %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        int s = WTERMSIG(status);
        const char *name = s == SIGKILL   ? "SIGKILL"
                           : s == SIGTERM ? "SIGTERM"
                           : s == SIGSEGV ? "SIGSEGV"
                           : s == SIGABRT ? "SIGABRT"
                           : s == SIGBUS  ? "SIGBUS"
                           : s == SIGFPE  ? "SIGFPE"
                           : s == SIGINT  ? "SIGINT"
                                          : "signal";
        snprintf(buf, n, "killed by signal %d (%s)", s, name);
    } else {
        snprintf(buf, n, "ended with status %d", status);
    }
}

int bt_linebuf_read(bt_linebuf *lb, int fd, bt_line_fn fn, void *ctx) {
    size_t max = lb->max_line ? lb->max_line : 1 << 20;
    for (int rounds = 0; rounds < 64; rounds++) { /* then let the other pipes have a turn */
        if (lb->cap - lb->len < 65536) {
            size_t cap = lb->cap ? lb->cap * 2 : 65536 * 2;
            char *nb = realloc(lb->buf, cap + 1);
            if (!nb) return -1;
            lb->buf = nb;
            lb->cap = cap;
        }
        ssize_t r = read(fd, lb->buf + lb->len, lb->cap - lb->len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        if (r == 0) {
            if (lb->len) {
                lb->buf[lb->len] = '\0';
                fn(ctx, lb->buf, lb->len);
                lb->len = 0;
            }
            return 1;
        }
        size_t start = 0, end = lb->len + (size_t)r;
        for (size_t i = lb->len; i < end; i++) {
            if (lb->buf[i] != '\n' && i - start + 1 < max) continue;
            size_t len = i - start + (lb->buf[i] != '\n');
            char keep = lb->buf[start + len];
            lb->buf[start + len] = '\0';
            fn(ctx, lb->buf + start, len);
            lb->buf[start + len] = keep;
            start = i + 1;
        }
        memmove(lb->buf, lb->buf + start, end - start);
        lb->len = end - start;
    }
    return 0;
}

void bt_linebuf_free(bt_linebuf *lb) {
    free(lb->buf);
    memset(lb, 0, sizeof *lb);
}
