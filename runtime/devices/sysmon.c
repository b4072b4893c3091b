/* Machine metrics over time (sysmon.h): CPU time from getrusage, resident memory from
 * /proc/self/statm, GPUs through NVML (nvml.h), sampled by one thread into a growing row array
 * that halves its resolution at BT_SYSMON_MAX_ROWS. */
#define _GNU_SOURCE
#include "runtime/devices/sysmon.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "runtime/devices/nvml.h"

static const char *const gpu_fields_[] = {"util", "mem_used", "temp", "power", "sm_clock"};
enum { BASE_COLS = 3, GPU_COLS = 5 };

struct bt_sysmon {
    double period, t0;
    bt_gpu_source src; /* NVML, or nothing (src.read NULL) */
    int gpus[BT_SYSMON_MAX_GPUS], n_gpus;
    int n_cols;
    char **cols;
    double *rows;
    int64_t n, cap, max_rows;
    double last_wall, last_cpu; /* the previous sample's clocks, for the CPU share */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
};

static double mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double bt_sysmon_cpu_seconds(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return NAN;
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

int64_t bt_sysmon_rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "re");
    long long size = 0, resident = -1;
    if (f) {
        if (fscanf(f, "%lld %lld", &size, &resident) != 2) resident = -1;
        fclose(f);
    }
    long page = sysconf(_SC_PAGESIZE);
    return resident >= 0 && page > 0 ? (int64_t)resident * page : -1;
}

/* Drops every other row (keeping the first) and doubles the period: memory stays bounded and the
 * whole run stays covered, at half the resolution. */
static void halve(bt_sysmon *m) {
    int64_t k = 0;
    for (int64_t i = 0; i < m->n; i += 2, k++)
        memmove(m->rows + k * m->n_cols, m->rows + i * m->n_cols,
                (size_t)m->n_cols * sizeof(double));
    m->n = k;
    m->period *= 2;
}

/* One row; called with the mutex held. */
static void sample(bt_sysmon *m) {
    while (m->n >= m->max_rows) halve(m);
    if (m->n == m->cap) {
        int64_t cap = m->cap ? 2 * m->cap : 256;
        if (cap > m->max_rows) cap = m->max_rows;
        double *p = realloc(m->rows, (size_t)cap * (size_t)m->n_cols * sizeof *p);
        if (!p) return; /* a sample lost, nothing else */
        m->rows = p;
        m->cap = cap;
    }
    double *row = m->rows + m->n * m->n_cols;
    double wall = mono(), cpu = bt_sysmon_cpu_seconds();
    row[0] = wall - m->t0;
    row[1] = wall > m->last_wall ? 100.0 * (cpu - m->last_cpu) / (wall - m->last_wall) : NAN;
    int64_t rss = bt_sysmon_rss_bytes();
    row[2] = rss >= 0 ? (double)rss : NAN;
    m->last_wall = wall;
    m->last_cpu = cpu;
    for (int g = 0; g < m->n_gpus; g++) {
        double *c = row + BASE_COLS + g * GPU_COLS;
        int64_t mem = -1;
        c[0] = c[2] = c[3] = c[4] = NAN;
        if (m->src.read(m->src.ctx, m->gpus[g], &c[0], &mem) != BT_STATUS_OK) bt_status_clear();
        c[0] *= 100.0; /* percent, as nvidia-smi shows it */
        c[1] = mem >= 0 ? (double)mem : NAN;
        if (m->src.read_more &&
            m->src.read_more(m->src.ctx, m->gpus[g], &c[2], &c[3], &c[4]) != BT_STATUS_OK)
            bt_status_clear();
    }
    m->n++;
}

static void *sysmon_main(void *arg) {
    bt_sysmon *m = arg;
    pthread_mutex_lock(&m->mu);
    while (!m->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        double t = (double)until.tv_nsec * 1e-9 + m->period;
        until.tv_sec += (time_t)t;
        until.tv_nsec = (long)((t - floor(t)) * 1e9);
        int rc = 0;
        while (!m->stop && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&m->cv, &m->mu, &until);
        if (!m->stop) sample(m);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

static bt_status add_col(bt_sysmon *m, const char *name) {
    char *s = strdup(name);
    BT_CHECK_ALLOC(s);
    m->cols[m->n_cols++] = s;
    return BT_STATUS_OK;
}

static bt_status columns(bt_sysmon *m, const int *gpus, int n_gpus) {
    char why[256];
    if (n_gpus > BT_SYSMON_MAX_GPUS) n_gpus = BT_SYSMON_MAX_GPUS;
    if (n_gpus > 0 && bt_nvml_open(&m->src, gpus, n_gpus, why, sizeof why) == BT_STATUS_OK) {
        memcpy(m->gpus, gpus, (size_t)n_gpus * sizeof *gpus);
        m->n_gpus = n_gpus;
    }
    bt_status_clear(); /* no NVML: no GPU columns, not an error */
    m->cols = calloc(BASE_COLS + (size_t)m->n_gpus * GPU_COLS, sizeof *m->cols);
    BT_CHECK_ALLOC(m->cols);
    BT_TRY(add_col(m, "time"));
    BT_TRY(add_col(m, "cpu_percent"));
    BT_TRY(add_col(m, "rss_bytes"));
    for (int g = 0; g < m->n_gpus; g++)
        for (int f = 0; f < GPU_COLS; f++) {
            char name[48];
            snprintf(name, sizeof name, "gpu%d_%s", m->gpus[g], gpu_fields_[f]);
            BT_TRY(add_col(m, name));
        }
    return BT_STATUS_OK;
}

static void sysmon_free(bt_sysmon *m) {
    for (int i = 0; m->cols && i < m->n_cols; i++) free(m->cols[i]);
    free(m->cols);
    free(m->rows);
    bt_gpu_source_close(&m->src);
    free(m);
}

bt_status bt_sysmon_start(bt_sysmon **out, double period_s, double t0, const int *gpus,
                          int n_gpus) {
    *out = NULL;
    bt_sysmon *m = calloc(1, sizeof *m);
    BT_CHECK_ALLOC(m);
    /* at most a year: the deadline arithmetic stays far from time_t's limits */
    m->period = period_s > 0.01 ? (period_s < 3.2e7 ? period_s : 3.2e7) : 0.01;
    m->t0 = t0;
    m->max_rows = BT_SYSMON_MAX_ROWS;
    m->last_wall = mono();
    m->last_cpu = bt_sysmon_cpu_seconds();
    bt_status st = columns(m, gpus, n_gpus);
    if (st != BT_STATUS_OK) {
        sysmon_free(m);
        return st;
    }
    pthread_mutex_init(&m->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&m->thread, NULL, sysmon_main, m) != 0) {
        pthread_cond_destroy(&m->cv);
        pthread_mutex_destroy(&m->mu);
        sysmon_free(m);
        return BT_FAIL(BT_STATUS_INTERNAL, "system monitor: cannot start a thread");
    }
    *out = m;
    return BT_STATUS_OK;
}

bt_status bt_sysmon_copy(bt_sysmon *m, char ***cols, int *n_cols, double **rows, int64_t *n) {
    *cols = NULL;
    *rows = NULL;
    *n_cols = 0;
    *n = 0;
    pthread_mutex_lock(&m->mu);
    /* a fresh row unless the thread took one just now; and never an empty table, however
     * quickly the run ended (the thread's first row comes one period after the start) */
    if (m->n == 0 || mono() - m->last_wall > 0.1) sample(m);
    char **c = calloc((size_t)m->n_cols, sizeof *c);
    double *r = malloc((size_t)(m->n ? m->n : 1) * (size_t)m->n_cols * sizeof *r);
    int ok = c && r;
    for (int i = 0; ok && i < m->n_cols; i++) ok = (c[i] = strdup(m->cols[i])) != NULL;
    if (ok && m->n) memcpy(r, m->rows, (size_t)m->n * (size_t)m->n_cols * sizeof *r);
    int64_t rows_n = m->n;
    int cols_n = m->n_cols;
    pthread_mutex_unlock(&m->mu);
    if (!ok) {
        for (int i = 0; c && i < cols_n; i++) free(c[i]);
        free(c);
        free(r);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory copying /system");
    }
    *cols = c;
    *n_cols = cols_n;
    *rows = r;
    *n = rows_n;
    return BT_STATUS_OK;
}

void bt_sysmon_stop(bt_sysmon *m) {
    if (!m) return;
    pthread_mutex_lock(&m->mu);
    m->stop = 1;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->thread, NULL);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    sysmon_free(m);
}

void bt_sysmon_set_max_rows(bt_sysmon *m, int64_t rows) {
    pthread_mutex_lock(&m->mu);
    m->max_rows = rows >= 2 ? rows : 2;
    pthread_mutex_unlock(&m->mu);
}

void bt_cpu_model(char *out, size_t n) {
    if (n) out[0] = '\0';
    FILE *f = fopen("/proc/cpuinfo", "re");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0) continue;
        const char *v = strchr(line, ':');
        if (!v) continue;
        v++;
        while (isspace((unsigned char)*v)) v++;
        size_t len = strcspn(v, "\n");
        while (len > 0 && isspace((unsigned char)v[len - 1])) len--;
        snprintf(out, n, "%.*s", (int)len, v);
        break;
    }
    fclose(f);
}

void bt_gpu_versions(int gpu, char *driver, size_t driver_n, char *cuda, size_t cuda_n) {
    if (driver_n) driver[0] = '\0';
    if (cuda_n) cuda[0] = '\0';
    bt_gpu_source src;
    char why[256];
    if (bt_nvml_open(&src, &gpu, 1, why, sizeof why) != BT_STATUS_OK) {
        bt_status_clear();
        return;
    }
    if (src.versions) src.versions(src.ctx, driver, driver_n, cuda, cuda_n);
    bt_gpu_source_close(&src);
}
