/* Minimal test harness for the C suites: CHECK macros that count failures, and the exit-code
 * convention ctest reads (0 pass, 1 fail, 77 skip). Header-only. */
#ifndef BT_TEST_H
#define BT_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bt_test_failures_ = 0;
static int bt_test_checks_ = 0;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        bt_test_checks_++;                                                                         \
        if (!(cond)) {                                                                             \
            bt_test_failures_++;                                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        bt_test_checks_++;                                                                         \
        if (!(cond)) {                                                                             \
            bt_test_failures_++;                                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    CHECK_MSG((long long)(a) == (long long)(b), "%lld != %lld", (long long)(a), (long long)(b))
#define CHECK_NEAR(a, b, tol)                                                                      \
    CHECK_MSG(fabs((double)(a) - (double)(b)) <= (tol), "%.17g vs %.17g (tol %g)", (double)(a),    \
              (double)(b), (double)(tol))
#define CHECK_STR(a, b) CHECK_MSG(strcmp((a), (b)) == 0, "\"%s\" != \"%s\"", (a), (b))
/* Expects a bt_status call to succeed, printing the library's message if it does not. */
#define CHECK_OK(expr)                                                                             \
    do {                                                                                           \
        bt_status chk_s_ = (expr);                                                                 \
        CHECK_MSG(chk_s_ == BT_STATUS_OK, "%s -> %d: %s (%s)", #expr, (int)chk_s_,                 \
                  bt_status_message(), bt_status_where());                                         \
    } while (0)

static inline int bt_test_finish(const char *name) {
    printf("%s: %d checks, %d failed\n", name, bt_test_checks_, bt_test_failures_);
    return bt_test_failures_ ? 1 : 0;
}

/* A scratch folder for the test (BT_TEST_TMP, else /tmp), created if missing. */
static inline const char *bt_test_tmpdir(void) {
    const char *d = getenv("BT_TEST_TMP");
    if (!d || !*d) d = "/tmp";
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", d);
    if (system(cmd) != 0) return "/tmp";
    return d;
}

#endif
