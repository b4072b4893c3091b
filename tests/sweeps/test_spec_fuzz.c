/* Robustness of the sweep parser on fresh random damage to a real sweep file, JSON and its YAML
 * twin: every mutant either parses, or fails with BT_STATUS_BAD_INPUT and diagnostics of the form
 * "FILE:LINE:COL: ..." whose LINE:COL lies inside the text -- never a crash, a leak (under ASan)
 * or an internal error. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sweeps/spec/spec.h"
#include "sweeps/spec/yaml_read.h"
#include "tests/bt_test.h"
#include "tests/sweeps/spec_test.h"

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

/* Damages the sweep file `name` 3000 times with characters from pool. */
static void fuzz(const char *name, const char *as, const char *pool) {
    char *orig = spec_data(name);
    CHECK(orig != NULL);
    if (!orig) return;
    size_t len = strlen(orig);
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
                buf[at] = pool[rand() % (int)strlen(pool)];
                break; /* replace */
            case 1:    /* delete */
                memmove(buf + at, buf + at + 1, n - at);
                n--;
                break;
            default: /* insert */
                memmove(buf + at + 1, buf + at, n - at + 1);
                buf[at] = pool[rand() % (int)strlen(pool)];
                n++;
            }
        }
        bt_spec s;
        bt_diags d;
        bt_diags_init(&d);
        bt_status st = bt_spec_parse(as, buf, &s, &d);
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
                int got = strncmp(d.msgs[i], as, strlen(as)) == 0
                              ? sscanf(d.msgs[i] + strlen(as), ":%d:%d: ", &line, &col)
                              : 0;
                CHECK_MSG(got == 2 && pos_ok(buf, line, col), "bad position in '%s'", d.msgs[i]);
            }
        }
        bt_diags_free(&d);
    }
    printf("%s: %d parsed, %d rejected\n", name, n_ok, n_bad);
    CHECK(n_ok > 0 && n_bad > 0);
    free(buf);
    free(orig);
}

int main(void) {
    unsigned seed = (unsigned)time(NULL);
    if (getenv("BT_TEST_SEED")) seed = (unsigned)strtoul(getenv("BT_TEST_SEED"), NULL, 10);
    printf("seed %u\n", seed);
    srand(seed);
    fuzz("wandb_random.json", "f.json", "{}[],:\"'0123456789.-eE truefalsnl\n\\/#abcxyz");
    if (bt_yaml_version()) {
        fuzz("yaml_features.yaml", "f.yaml", "{}[],:-&*!|>?%<\"'0123456789.eE ~\n#abcrt");
        fuzz("wandb_random.yaml", "f.yaml",
             "{}[],:-&*!|>?%@`~<\"'0123456789.-eE truefalsnl\n\t#abcxyz");
    }
    return bt_test_finish("test_spec_fuzz");
}
