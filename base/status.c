/* Thread-local error message and location behind bt_status (see status.h). */
#include "base/status.h"

#include <stdio.h>
#include <string.h>

static _Thread_local char bt_msg_[2048];
static _Thread_local char bt_where_[256];

bt_status bt_failv(bt_status code, const char *file, int line, const char *fmt, va_list ap) {
    vsnprintf(bt_msg_, sizeof bt_msg_, fmt, ap);
    const char *base = strrchr(file, '/');
    snprintf(bt_where_, sizeof bt_where_, "%s:%d", base ? base + 1 : file, line);
    return code;
}

bt_status bt_fail(bt_status code, const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    bt_failv(code, file, line, fmt, ap);
    va_end(ap);
    return code;
}

const char *bt_status_message(void) {
    return bt_msg_;
}

const char *bt_status_where(void) {
    return bt_where_;
}

void bt_status_clear(void) {
    bt_msg_[0] = '\0';
    bt_where_[0] = '\0';
}

const char *bt_status_name(bt_status s) {
    switch (s) {
    case BT_STATUS_OK:
        return "ok";
    case BT_STATUS_USAGE:
        return "usage";
    case BT_STATUS_BAD_INPUT:
        return "bad input";
    case BT_STATUS_NO_INPUT:
        return "input missing";
    case BT_STATUS_NO_DEVICE:
        return "no usable device";
    case BT_STATUS_INTERNAL:
        return "internal error";
    case BT_STATUS_IO:
        return "output I/O error";
    case BT_STATUS_INTERRUPTED:
        return "interrupted";
    }
    return "unknown";
}
