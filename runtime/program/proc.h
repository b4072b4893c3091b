/* bt_proc: one trial's process -- started from an argv (never a shell) in its own process group,
 * stdout and stderr on nonblocking pipes, stdin from /dev/null, no descriptor of batchtune's
 * inherited, killed with SIGKILL if batchtune dies (Linux's parent-death signal); a pidfd says
 * when it exits. bt_linebuf frames what a pipe gives into lines.
 * Ownership: bt_proc_spawn fills a bt_proc the caller releases with bt_proc_close; a bt_linebuf
 * owns its buffer (bt_linebuf_free). */
#ifndef BT_PROC_H
#define BT_PROC_H

#include <stddef.h>
#include <sys/types.h>

#include "base/status.h"

typedef struct bt_proc {
    pid_t pid;  /* also its process group */
    int out_fd; /* its stdout, -1 once closed */
    int err_fd; /* its stderr, -1 once closed */
    int pid_fd; /* readable once it exited; -1 where the kernel has no pidfd (poll with a timeout)
                 */
    int exited;
    int status;     /* waitpid's status once exited */
    int exec_errno; /* it could not be started: errno of chdir or exec (then exited is set) */
} bt_proc;

/* Starts the executable at path (bt_proc_which) with argv and envp in folder cwd. A program that
 * cannot be started is not an error here: p->exec_errno says why. */
bt_status bt_proc_spawn(bt_proc *p, const char *path, char *const *argv, char *const *envp,
                        const char *cwd);
/* Sends sig to its whole process group (no-op once reaped). */
void bt_proc_signal(const bt_proc *p, int sig);
/* Reaps it if it exited (nonblocking); returns 1 once it has. */
int bt_proc_reap(bt_proc *p);
void bt_proc_close(bt_proc *p);
/* After its exit, between reads of what its pipes still hold: waits up to 10 ms for more, and
 * closes them once the clock (bt_clock) passes `until`: a process that left its group (setsid)
 * can hold them open forever. */
void bt_proc_pipes_wait(bt_proc *p, double until);

/* Where a program name resolves: a name with a '/' as is (relative to cwd), else the first
 * executable in PATH, else an executable of that name in cwd (run from there). Returns 0 when none
 * is found. */
int bt_proc_which(const char *name, const char *cwd, char *out, size_t n);

/* "exit status 3", "killed by signal 11 (SIGSEGV)". */
void bt_proc_describe(int status, char *buf, size_t n);

typedef struct bt_linebuf {
    char *buf;
    size_t len, cap;
    size_t max_line; /* longer lines are cut into pieces of this size */
} bt_linebuf;

typedef void (*bt_line_fn)(void *ctx, char *line, size_t len);

/* Reads what fd has (nonblocking) and calls fn for each whole line (without its newline, NUL
 * terminated). Returns 1 at end of file (a last unterminated line is passed on first), 0 when
 * the pipe is empty for now, -1 on a read error. */
int bt_linebuf_read(bt_linebuf *lb, int fd, bt_line_fn fn, void *ctx);
void bt_linebuf_free(bt_linebuf *lb);

#endif
