/* bt_sbuf: a growing string (the command lines of program mode, exported models). Out of memory
 * sticks in `oom` and later appends do nothing, so callers check once at the end.
 * Ownership: the buffer owns `s`; bt_sbuf_take hands it to the caller and empties the buffer. */
#ifndef BT_SBUF_H
#define BT_SBUF_H

#include <stddef.h>

typedef struct bt_sbuf {
    char *s;
    size_t n, cap;
    int oom;
} bt_sbuf;

void bt_sbuf_add(bt_sbuf *b, const char *s, size_t n);
void bt_sbuf_str(bt_sbuf *b, const char *s);
void bt_sbuf_printf(bt_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Takes the string (never NULL: "" when empty; out of memory is reported through oom). */
char *bt_sbuf_take(bt_sbuf *b);

#endif
