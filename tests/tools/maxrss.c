/* bt_maxrss CMD [ARGS...]: runs CMD and prints its peak resident set in KiB (wait4's ru_maxrss),
 * then exits with CMD's status. A small C parent, so the child's pre-exec image (a fork of this
 * program) does not inflate the figure as a fork of a Python test would. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bt_maxrss CMD [ARGS...]\n");
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) return 70;
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) return 70;
    fprintf(stderr, "maxrss_kib %ld\n", ru.ru_maxrss);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 70;
}
