/* Robustness of the sweep parser on fresh random damage to a real sweep file: every mutant either
 * parses, or fails with BT_STATUS_BAD_INPUT and diagnostics of the form "FILE:LINE:COL: ..." whose
 * LINE:COL lies inside the text -- never a crash, a leak (under ASan) or an internal error. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sweeps/spec/spec.h"
#include "tests/bt_test.h"

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Whether line:col names a character position of text (or one past the end). */
static int pos_ok(const char *text, int line, int col) {
    int l = 1, c = 1;
    for (const char *p = text;; p++) {
        if (l == line && c == col) return 1;
        if (!*p) return 0;
        if (*p == '\n') {
            l++;
            c = 1;
        } else if (((unsigned char)p[1] & 0xC0) != 0x80) {
            c++;
        }
    }
}

int main(void) {
    const char *src = getenv("BT_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/sweeps/wandb_random.json", src ? src : ".");
    char *orig = slurp(path);
    CHECK(orig != NULL);
    if (!orig) return bt_test_finish("test_spec_fuzz");
    unsigned seed = (unsigned)time(NULL);
    if (getenv("BT_TEST_SEED")) seed = (unsigned)strtoul(getenv("BT_TEST_SEED"), NULL, 10);
    printf("seed %u\n", seed);
    srand(seed);
    size_t len = strlen(orig);
    static const char pool[] = "{}[],:\"'0123456789.-eE truefalsnl\n\\/#abcxyz";
    char *buf = malloc(len + 64);
    int n_ok = 0, n_bad = 0;
    for (int it = 0; it < 3000; it++) {
        memcpy(buf, orig, len + 1);
        size_t n = len;
        int edits = 1 + rand() % 3;
        for (int e = 0; e < edits; e++) {
            size_t at = (size_t)rand() % n;
            switch (rand() % 3) {
            case 0:
                buf[at] = pool[rand() % (int)(sizeof pool - 1)];
                break; /* replace */
            case 1:    /* delete */
                memmove(buf + at, buf + at + 1, n - at);
                n--;
                break;
            default: /* insert */
                memmove(buf + at + 1, buf + at, n - at + 1);
                buf[at] = pool[rand() % (int)(sizeof pool - 1)];
                n++;
            }
        }
        bt_spec s;
        bt_diags d;
        bt_diags_init(&d);
        bt_status st = bt_spec_parse("f.json", buf, &s, &d);
        if (st == BT_STATUS_OK) {
            n_ok++;
            CHECK(d.n == 0 && s.n_params > 0);
            bt_spec_free(&s);
        } else {
            n_bad++;
            CHECK_MSG(st == BT_STATUS_BAD_INPUT, "status %d for:\n%s", st, buf);
            CHECK(d.n > 0);
            for (int i = 0; i < d.n; i++) {
                int line = 0, col = 0;
                int got = sscanf(d.msgs[i], "f.json:%d:%d: ", &line, &col);
                CHECK_MSG(got == 2 && pos_ok(buf, line, col), "bad position in '%s'", d.msgs[i]);
            }
        }
        bt_diags_free(&d);
    }
    printf("%d parsed, %d rejected\n", n_ok, n_bad);
    CHECK(n_ok > 0 && n_bad > 0);
    free(buf);
    free(orig);
    return bt_test_finish("test_spec_fuzz");
}
