/* bt_nvml: how busy a GPU is while something trains -- average utilization and peak device memory
 * -- sampled on a background thread. The numbers come from NVML, loaded at run time with
 * dlopen("libnvidia-ml.so.1") (no header or link dependency; absent on machines without the
 * driver), or, for memory only, from the CUDA runtime; tests give a fake source.
 * Ownership: bt_gpu_sampler_start allocates the sampler and its thread, bt_gpu_sampler_stop joins
 * and frees it; a bt_gpu_source owns what its open function loaded until its close. */
#ifndef BT_NVML_H
#define BT_NVML_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

/* Where samples come from: read() gives GPU `gpu`'s utilization now (0..1, or NaN when the source
 * has none) and the device memory in use (bytes, or -1). It is called from the sampler thread. */
typedef struct bt_gpu_source {
    const char *name; /* "nvml", "cudart", "fake" */
    void *ctx;
    bt_status (*read)(void *ctx, int gpu, double *util, int64_t *mem_used);
    /* Optional (NULL: none): temperature (C), power draw (W) and SM clock (MHz) now, NaN where
     * the GPU does not say; from any thread. */
    bt_status (*read_more)(void *ctx, int gpu, double *temp_c, double *power_w, double *sm_mhz);
    /* Optional: the driver's version ("550.54.15") and the newest CUDA it supports ("12.4"); ""
     * where unknown. */
    void (*versions)(void *ctx, char *driver, size_t driver_n, char *cuda, size_t cuda_n);
    void (*close)(void *ctx);
} bt_gpu_source;

/* NVML for the CUDA devices listed (CUDA indices; matched to NVML's devices by PCI bus id, so
 * CUDA_VISIBLE_DEVICES and CUDA's device order do not mix GPUs up). On failure *out is zeroed
 * and why says what was missing ("libnvidia-ml.so.1: cannot open shared object file"). */
bt_status bt_nvml_open(bt_gpu_source *out, const int *cuda_gpus, int n, char *why, size_t why_n);
/* Device memory only, through cudaMemGetInfo (a CUDA build with a GPU). */
bt_status bt_gpu_cudart_source(bt_gpu_source *out, char *why, size_t why_n);
void bt_gpu_source_close(bt_gpu_source *src);

/* What one GPU did over a sampling period. */
typedef struct bt_gpu_usage {
    int gpu;
    int64_t n_samples; /* reads that succeeded */
    int64_t n_util;    /* of those, with a utilization */
    double util_sum;   /* sum of utilizations (0..1) */
    int64_t mem_peak;  /* largest memory in use seen, -1: none */
    int64_t mem_first; /* memory in use at the first sample, -1: none */
} bt_gpu_usage;

void bt_gpu_usage_init(bt_gpu_usage *u, int gpu);
/* Adds one sample (util NaN: none; mem < 0: none). */
void bt_gpu_usage_add(bt_gpu_usage *u, double util, int64_t mem_used);
/* Mean utilization (0..1), NaN with no utilization sample. */
double bt_gpu_usage_mean(const bt_gpu_usage *u);

typedef struct bt_gpu_sampler bt_gpu_sampler;

/* Starts sampling the listed GPUs every period_s seconds (one sample at once, then one per
 * period) on a new thread. The source is borrowed until stop. */
bt_status bt_gpu_sampler_start(bt_gpu_sampler **out, const bt_gpu_source *src, const int *gpus,
                               int n_gpus, double period_s);
/* Takes one last sample, stops the thread and copies each GPU's usage into usage[0..n_gpus). */
void bt_gpu_sampler_stop(bt_gpu_sampler *s, bt_gpu_usage *usage);

#endif
