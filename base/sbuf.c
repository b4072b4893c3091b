/* The growing string of base/sbuf.h. */
#include "base/sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for `more` bytes and a terminator; 0 when out of memory (then oom is set). */
static int reserve(bt_sbuf *b, size_t more) {
    if (b->oom) return 0;
    if (b->n + more + 1 <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + more + 1) cap *= 2;
    char *ns = realloc(b->s, cap);
    if (!ns) {
        b->oom = 1;
        return 0;
    }
    b->s = ns;
    b->cap = cap;
    return 1;
}

void bt_sbuf_add(bt_sbuf *b, const char *s, size_t n) {
    if (!reserve(b, n)) return;
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

void bt_sbuf_str(bt_sbuf *b, const char *s) {
    bt_sbuf_add(b, s, strlen(s));
}

void bt_sbuf_printf(bt_sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0) {
        b->oom = 1;
        return;
    }
    if (!reserve(b, (size_t)k)) return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

char *bt_sbuf_take(bt_sbuf *b) {
    char *s = b->s ? b->s : strdup("");
    memset(b, 0, sizeof *b);
    return s;
}
