/* bt_bench: measures how fast a sweep's trials train -- packed (many trials per model step) and,
 * optionally, one at a time in the same process on the same data -- straight through the family's
 * pack ops, with no scheduler, journal or results file. `batchtune bench` prints what it returns.
 * Ownership: the spec is borrowed for the call; a filled bt_bench_result owns its `metrics`
 * arrays, released by bt_bench_result_free (which accepts NULL and a zeroed result). */
#ifndef BT_BENCH_H
#define BT_BENCH_H

#include <stdint.h>

#include "runtime/devices/devices.h"
#include "sweeps/spec/spec.h"
#include "base/status.h"

typedef struct bt_bench_opts {
    int64_t rounds;         /* resource units every trial trains; 0: each trial's own budget */
    int64_t max_trials;     /* the first K trials of the sweep; 0: all */
    int64_t max_pack;       /* most slots in a pack; 0: the sweep's execution.max_pack */
    int threads;            /* CPU threads; 0: the sweep's execution.threads, else every core */
    int compare_sequential; /* also train the same runs with packs of one slot */
    const char *device;     /* auto | cpu | cuda | cuda:N; NULL: the sweep's execution.device */
    const char *gpu_packs;  /* stable | all; NULL: the sweep's execution.gpu_packs */
    double sample_period;   /* seconds between GPU usage samples; 0: 0.1 */
} bt_bench_opts;

/* One way of training the selected runs. Rates divide by train_seconds. */
typedef struct bt_bench_mode {
    int64_t pack;              /* slots per pack (1 for sequential) */
    int64_t n_pack_inits;      /* packs created (one per shape; reused across refills) */
    int64_t failed;            /* runs that diverged (their metrics are NaN) */
    double train_seconds;      /* packs, slot starts, steps, evaluations, frees */
    double trials_per_s;       /* selected sweep trials covered per second */
    double runs_per_s;         /* distinct training runs per second */
    double trial_rounds_per_s; /* model steps of one trial (a boosting round) per second */
    double row_rounds_per_s;   /* training rows x trial-rounds per second */
    int64_t peak_rss_bytes;    /* peak resident memory while this mode trained */
    int64_t peak_device_bytes; /* device memory in use at its peak (whole GPU); -1: unmeasured */
    int64_t base_device_bytes; /* device memory in use when this mode began; -1: unmeasured */
    double sm_utilization;     /* NVML utilization (0..1) averaged over samples; NaN: none */
    int64_t gpu_samples;       /* usage samples taken while this mode trained */
    double *metrics;           /* per selected trial, the sweep metric at its report point */
} bt_bench_mode;

typedef struct bt_bench_result {
    char cpu_model[128]; /* /proc/cpuinfo "model name", or "unknown" */
    int cores;
    char gpu_name[256];     /* the GPU trained on, else the first GPU this build sees, "" if none */
    bt_device_choice dev;   /* where it trained, and why */
    const char *gpu_source; /* "nvml", "cudart" (memory only) or NULL: no GPU usage numbers */
    char gpu_unavailable[256]; /* why utilization (or everything) is missing, "" if present */
    int threads;
    char model[32];  /* model family */
    char metric[32]; /* the sweep metric each trial reports */
    int64_t trials;  /* selected trials */
    int64_t runs;    /* distinct training runs (trials differing only in the budget share one) */
    int64_t n_packs; /* shape packs the runs fall in */
    int64_t rounds;  /* --rounds, or -1 when each trial used its own budget */
    int64_t trial_rounds; /* model steps summed over runs (each run trains to its furthest trial) */
    int64_t rows;         /* training rows */
    int64_t valid_rows;
    int64_t features;
    double setup_seconds;    /* trial construction, data load and binning */
    int64_t setup_rss_bytes; /* peak resident memory after setup */
    const char *rss_source;  /* "VmHWM" (peak reset per phase) or "ru_maxrss" (process peak) */
    bt_bench_mode packed;
    int have_sequential;
    bt_bench_mode sequential;
    int metrics_identical;  /* 1 when every trial's metric is bit-identical in both modes */
    int64_t first_mismatch; /* trial index (among the selected) of the first difference, or -1 */
    double speedup;         /* sequential train_seconds / packed train_seconds, or NaN */
} bt_bench_result;

/* Builds the sweep's trials, loads the data once, trains the selected runs packed and (when asked)
 * sequentially. A metric mismatch is not an error here: it is reported in metrics_identical. */
bt_status bt_bench_run(const bt_spec *spec, const bt_bench_opts *opts, bt_bench_result *out);
void bt_bench_result_free(bt_bench_result *r);

#endif
