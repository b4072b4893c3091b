/* A full disk without root: RLIMIT_FSIZE with SIGXFSZ ignored makes every write past `bytes` fail
 * with EFBIG, through the same error paths as ENOSPC. bt_test_fsize_limit(0) lifts the limit back
 * (to the hard limit, which an unprivileged process may always raise its soft limit to). */
#ifndef BT_TEST_FSIZE_LIMIT_H
#define BT_TEST_FSIZE_LIMIT_H

#include <signal.h>
#include <sys/resource.h>

static inline int bt_test_fsize_limit(rlim_t bytes) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) != 0) return -1;
    signal(SIGXFSZ, SIG_IGN);
    rl.rlim_cur =
        bytes > 0 && (rl.rlim_max == RLIM_INFINITY || bytes < rl.rlim_max) ? bytes : rl.rlim_max;
    return setrlimit(RLIMIT_FSIZE, &rl);
}

#endif
