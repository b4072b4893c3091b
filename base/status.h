/* bt_status: the error convention of the whole library.
 * Every fallible function returns a bt_status whose value is also the process exit code main()
 * uses (sysexits-style). The message and its source location are kept per thread; bt_fail() sets
 * them and returns the code, so errors read `return BT_FAIL(BT_STATUS_BAD_INPUT, "...", ...)`.
 * Ownership: the message buffer is thread-local and owned by this module; callers copy it. */
#ifndef BT_STATUS_H
#define BT_STATUS_H

#include <stdarg.h>

typedef enum bt_status {
    BT_STATUS_OK = 0,
    BT_STATUS_USAGE = 2,        /* bad command line */
    BT_STATUS_BAD_INPUT = 65,   /* bad sweep or data (message names the place) */
    BT_STATUS_NO_INPUT = 66,    /* input file missing */
    BT_STATUS_NO_DEVICE = 69,   /* no usable device for what was asked (selftest) */
    BT_STATUS_INTERNAL = 70,    /* bug, out of memory, device failure */
    BT_STATUS_IO = 74,          /* output could not be written */
    BT_STATUS_INTERRUPTED = 75, /* stopped by a signal; resumable */
} bt_status;

/* Records message and location for this thread and returns code. */
bt_status bt_fail(bt_status code, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
bt_status bt_failv(bt_status code, const char *file, int line, const char *fmt, va_list ap);

#define BT_FAIL(code, ...) bt_fail((code), __FILE__, __LINE__, __VA_ARGS__)
/* Propagate a non-OK status unchanged (message kept). */
#define BT_TRY(expr)                                                                               \
    do {                                                                                           \
        bt_status bt_try_s_ = (expr);                                                              \
        if (bt_try_s_ != BT_STATUS_OK) return bt_try_s_;                                           \
    } while (0)
/* Allocation check: returns BT_STATUS_INTERNAL "out of memory" from the enclosing function. */
#define BT_CHECK_ALLOC(ptr)                                                                        \
    do {                                                                                           \
        if ((ptr) == NULL) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory: %s", #ptr);          \
    } while (0)

/* The last message set on this thread ("" if none); borrowed, valid until the next bt_fail. */
const char *bt_status_message(void);
/* "file.c:123" of the last bt_fail on this thread. */
const char *bt_status_where(void);
/* Short name of a code: "ok", "usage", "bad input", ... */
const char *bt_status_name(bt_status s);
/* Clears the thread's message. */
void bt_status_clear(void);

#endif
