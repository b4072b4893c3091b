/* Shared by the sweep-file tests: the spec under test (S, D, ST, loaded), spec_parse_as() of a
 * text as a named file, has_diag() and EXPECT() on the diagnostics of the last parse (with what
 * each LINE:COL points at when one is missing), and spec_data() reading tests/data/sweeps/NAME.
 * Header-only, for one test program each. */
#ifndef BT_TESTS_SPEC_TEST_H
#define BT_TESTS_SPEC_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweeps/spec/spec.h"
#include "tests/bt_test.h"

static bt_spec S;
static bt_diags D;
static bt_status ST;
static int loaded = 0;
static char last_text[8192], last_path[256];

static inline void reset(void) {
    if (loaded) bt_spec_free(&S);
    bt_diags_free(&D);
    bt_diags_init(&D);
    loaded = 0;
}

static inline bt_status spec_parse_as(const char *path, const char *text) {
    reset();
    snprintf(last_text, sizeof last_text, "%s", text);
    snprintf(last_path, sizeof last_path, "%s", path);
    ST = bt_spec_parse(path, text, &S, &D);
    loaded = ST == BT_STATUS_OK;
    return ST;
}

/* The text at "LINE:COL" of the last sweep, to show what a diagnostic points at. */
static inline const char *at_pos(int line, int col) {
    const char *p = last_text;
    for (int l = 1; l < line && p; l++) {
        p = strchr(p, '\n');
        if (p) p++;
    }
    if (!p) return "";
    for (int c = 1; c < col && *p && *p != '\n'; c++) {
        p++;
        while ((*p & 0xC0) == 0x80) p++;
    }
    return p;
}

/* Whether a diagnostic starts with "<last path>:<where>" and contains frag. */
static inline int has_diag(const char *where, const char *frag) {
    char pre[512];
    snprintf(pre, sizeof pre, "%s:%s", last_path, where);
    for (int i = 0; i < D.n; i++)
        if (strncmp(D.msgs[i], pre, strlen(pre)) == 0 && strstr(D.msgs[i], frag)) return 1;
    return 0;
}

static inline void dump(void) {
    for (int i = 0; i < D.n; i++) {
        int line = 0, col = 0;
        const char *m = D.msgs[i] + strlen(last_path);
        if (*m == ':') sscanf(m + 1, "%d:%d", &line, &col);
        fprintf(stderr, "    diag: %s\n          at: %.24s\n", D.msgs[i], at_pos(line, col));
    }
}

#define EXPECT(where, frag)                                                                        \
    do {                                                                                           \
        int ok_ = has_diag(where, frag);                                                           \
        CHECK_MSG(ok_, "no diagnostic %s ... %s", where, frag);                                    \
        if (!ok_) dump();                                                                          \
    } while (0)

/* tests/data/sweeps/NAME whole (malloc'd), or NULL. */
static inline char *spec_data(const char *name) {
    const char *src = getenv("BT_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/sweeps/%s", src ? src : ".", name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
    if (buf) buf[n] = '\0';
    fclose(f);
    return buf;
}

#endif
