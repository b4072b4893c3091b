/* bt_table: zero-filled, reserved for every element, backed only where written (a run's
 * per-trial tables for 10^8 trials cost what its started trials touch). */
#include "base/table.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tests/bt_test.h"

/* This process's resident memory in KiB (/proc/self/status VmRSS), -1 where unreadable. */
static long rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
    fclose(f);
    return kib;
}

typedef struct {
    int64_t a, b;
    double c[6];
} row; /* 64 bytes, like a trial's state */

int main(void) {
    /* 10^8 rows: 6.4 GB reserved; writing three of them costs three pages */
    const size_t n = 100000000;
    long before = rss_kib();
    row *t = bt_table_alloc(n, sizeof *t);
    CHECK(t != NULL);
    if (t) {
        t[0].a = 1;
        t[n / 2].b = 2;
        t[n - 1].c[5] = 3.5;
        CHECK(t[0].a == 1 && t[n / 2].b == 2 && t[n - 1].c[5] == 3.5);
        CHECK(t[1].a == 0 && t[n - 2].c[0] == 0.0 && t[n / 2 + 1].b == 0); /* zero-filled */
        CHECK(((uintptr_t)t % 64) == 0);                                   /* aligned */
        long after = rss_kib();
        if (before >= 0 && after >= 0) {
            printf("RSS %ld KiB -> %ld KiB for a 6.4 GB table with 3 rows written\n", before,
                   after);
            CHECK(after - before < 4096);
        }
        bt_table_free(t);
    }
    /* an empty table is a valid one-element table; overflow is refused, not wrapped */
    char *e = bt_table_alloc(0, 1);
    CHECK(e != NULL && e[0] == 0);
    bt_table_free(e);
    CHECK(bt_table_alloc(SIZE_MAX / 8, 16) == NULL);
    bt_table_free(NULL);
    return bt_test_finish("test_table");
}
