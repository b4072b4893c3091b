/* The /system sampler (runtime/devices/sysmon.h): rows at the period with sane CPU and memory
 * values, a row taken at copy time, bounded memory (halving past the row cap keeps the whole run
 * covered at half the resolution), and the process metrics on their own. */
#define _POSIX_C_SOURCE 200809L
#include "runtime/devices/sysmon.h"
#include "tests/bt_test.h"

#include <time.h>

static double mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Burns CPU for about s seconds (so cpu_percent has something to see). */
static volatile double sink;
static void busy(double s) {
    double end = mono() + s;
    while (mono() < end)
        for (int i = 0; i < 10000; i++) sink += i * 1e-9;
}

static void free_copy(char **cols, int n_cols, double *rows) {
    for (int c = 0; c < n_cols; c++) free(cols[c]);
    free(cols);
    free(rows);
}

int main(void) {
    CHECK(bt_sysmon_rss_bytes() > 100000);
    double c0 = bt_sysmon_cpu_seconds();
    busy(0.05);
    CHECK(bt_sysmon_cpu_seconds() > c0);

    /* rows every 20 ms, no GPU: three columns */
    double t0 = mono();
    bt_sysmon *m = NULL;
    CHECK_OK(bt_sysmon_start(&m, 0.02, t0, NULL, 0));
    busy(0.3);
    char **cols = NULL;
    double *rows = NULL;
    int nc = 0;
    int64_t n = 0;
    CHECK_OK(bt_sysmon_copy(m, &cols, &nc, &rows, &n));
    CHECK_EQ_INT(nc, 3);
    if (nc == 3) {
        CHECK_STR(cols[0], "time");
        CHECK_STR(cols[1], "cpu_percent");
        CHECK_STR(cols[2], "rss_bytes");
    }
    CHECK_MSG(n >= 3 && n <= 20, "%lld rows in 0.3 s at 20 ms", (long long)n);
    for (int64_t i = 0; i < n && nc == 3; i++) {
        CHECK(rows[i * 3] > 0 && rows[i * 3] < mono() - t0 + 0.01);
        if (i) CHECK(rows[i * 3] > rows[(i - 1) * 3]);
        CHECK(rows[i * 3 + 1] >= 0 && rows[i * 3 + 1] < 100.0 * 4096);
        CHECK(rows[i * 3 + 2] > 100000);
    }
    /* busy on one thread: the CPU share shows it (near 100 % on an idle machine) */
    double sum = 0;
    for (int64_t i = 1; i < n && nc == 3; i++) sum += rows[i * 3 + 1];
    CHECK_MSG(n < 2 || sum / (double)(n - 1) > 5, "mean cpu_percent %g", sum / (double)(n - 1));
    free_copy(cols, nc, rows);
    bt_sysmon_stop(m);

    /* a copy right after the start still has a row (a sweep shorter than the period) */
    CHECK_OK(bt_sysmon_start(&m, 10.0, mono(), NULL, 0));
    busy(0.15);
    CHECK_OK(bt_sysmon_copy(m, &cols, &nc, &rows, &n));
    CHECK_EQ_INT(n, 1);
    free_copy(cols, nc, rows);
    bt_sysmon_stop(m);

    /* bounded: at 8 rows, halve; the rows still span the run, and the period doubled */
    t0 = mono();
    CHECK_OK(bt_sysmon_start(&m, 0.01, t0, NULL, 0));
    bt_sysmon_set_max_rows(m, 8);
    busy(0.4);
    CHECK_OK(bt_sysmon_copy(m, &cols, &nc, &rows, &n));
    CHECK_MSG(n >= 2 && n <= 8, "%lld rows with a cap of 8", (long long)n);
    CHECK_MSG(n < 1 || rows[0] < 0.1, "the first row stays: %g", rows[0]);
    CHECK_MSG(n < 1 || rows[(n - 1) * 3] > 0.3, "the last row is recent: %g", rows[(n - 1) * 3]);
    free_copy(cols, nc, rows);
    bt_sysmon_stop(m);
    bt_sysmon_stop(NULL);
    return bt_test_finish("test_sysmon");
}
