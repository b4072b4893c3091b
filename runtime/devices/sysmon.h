/* bt_sysmon: machine metrics over time for the results' /system table -- the process's CPU use
 * and resident memory, and per GPU its utilization, memory in use, temperature, power and SM
 * clock (NVML, nvml.h) -- sampled on a background thread that touches nothing but its own rows.
 * Memory is bounded: at BT_SYSMON_MAX_ROWS rows every other row is dropped and the period doubles.
 * Ownership: bt_sysmon_start allocates the monitor and its thread, bt_sysmon_stop joins and frees
 * them; bt_sysmon_copy gives the caller malloc'ed copies. */
#ifndef BT_SYSMON_H
#define BT_SYSMON_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

enum { BT_SYSMON_MAX_ROWS = 100000, BT_SYSMON_MAX_GPUS = 8 };

typedef struct bt_sysmon bt_sysmon;

/* Starts sampling every period_s seconds (the first row one period from now). t0 is the
 * CLOCK_MONOTONIC time, in seconds, that the `time` column counts from. gpus: the CUDA indices
 * of the GPUs to sample (columns gpuN_*); they get columns only where NVML opens. */
bt_status bt_sysmon_start(bt_sysmon **out, double period_s, double t0, const int *gpus, int n_gpus);
/* Takes a sample now (when the last is over a tenth of a second old, so a short run still has a
 * row) and copies the column names (*cols, n_cols strings) and the rows (n rows of n_cols
 * doubles, row-major) out. Thread-safe against the sampler. */
bt_status bt_sysmon_copy(bt_sysmon *m, char ***cols, int *n_cols, double **rows, int64_t *n);
void bt_sysmon_stop(bt_sysmon *m);
/* Tests: halve at `rows` (>= 2) instead of BT_SYSMON_MAX_ROWS. */
void bt_sysmon_set_max_rows(bt_sysmon *m, int64_t rows);

/* GPU `gpu`'s driver version and the newest CUDA that driver supports, as NVML reports them; ""
 * where NVML is absent or does not say. */
void bt_gpu_versions(int gpu, char *driver, size_t driver_n, char *cuda, size_t cuda_n);
/* /proc/cpuinfo's first "model name" into out ("" where there is none). */
void bt_cpu_model(char *out, size_t n);
/* This process's CPU time (user + system, seconds) and resident set (bytes, -1: unknown). */
double bt_sysmon_cpu_seconds(void);
int64_t bt_sysmon_rss_bytes(void);

#endif
