/* GPU usage sampling (nvml.h): NVML through dlopen with the few entry points declared here (their
 * ABI is stable across drivers: the _v2 names exist since driver 331), a cudaMemGetInfo fallback,
 * the per-GPU accumulator and the sampler thread. */
#include "runtime/devices/nvml.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/devices/devices.h"

/* ---- NVML, declared by hand ----------------------------------------------------------------- */

typedef int nvml_return;
typedef struct nvml_device_st *nvml_device;
typedef struct nvml_utilization {
    unsigned int gpu, memory; /* percent of the last sample period a kernel / memory was busy */
} nvml_utilization;
typedef struct nvml_memory {
    unsigned long long total, free, used;
} nvml_memory;

typedef struct nvml_lib {
    void *so;
    nvml_return (*init)(void);
    nvml_return (*shutdown)(void);
    nvml_return (*by_index)(unsigned int, nvml_device *);
    nvml_return (*by_pci)(const char *, nvml_device *);
    nvml_return (*util)(nvml_device, nvml_utilization *);
    nvml_return (*mem)(nvml_device, nvml_memory *);
    const char *(*error_string)(nvml_return);
    /* optional: /system's temperature, power and SM clock, and the versions for provenance */
    nvml_return (*temp)(nvml_device, int, unsigned int *);
    nvml_return (*power)(nvml_device, unsigned int *);
    nvml_return (*clock)(nvml_device, int, unsigned int *);
    nvml_return (*driver)(char *, unsigned int);
    nvml_return (*cuda_version)(int *);
    int n;
    nvml_device dev[64];
    int cuda[64]; /* the CUDA index each handle stands for */
} nvml_lib;

static const char *nvml_err(const nvml_lib *l, nvml_return r) {
    const char *s = l->error_string ? l->error_string(r) : NULL;
    return s ? s : "NVML error";
}

static bt_status nvml_read(void *ctx, int gpu, double *util, int64_t *mem_used) {
    nvml_lib *l = ctx;
    *util = NAN;
    *mem_used = -1;
    for (int i = 0; i < l->n; i++) {
        if (l->cuda[i] != gpu) continue;
        nvml_utilization u;
        nvml_memory m;
        nvml_return r = l->util(l->dev[i], &u);
        if (r == 0) *util = u.gpu / 100.0;
        nvml_return r2 = l->mem(l->dev[i], &m);
        if (r2 == 0) *mem_used = (int64_t)m.used;
        if (r != 0 && r2 != 0) return BT_FAIL(BT_STATUS_INTERNAL, "NVML: %s", nvml_err(l, r));
        return BT_STATUS_OK;
    }
    return BT_FAIL(BT_STATUS_INTERNAL, "NVML: GPU %d not opened", gpu);
}

enum { NVML_TEMPERATURE_GPU = 0, NVML_CLOCK_SM = 1 };

static bt_status nvml_read_more(void *ctx, int gpu, double *temp_c, double *power_w,
                                double *sm_mhz) {
    nvml_lib *l = ctx;
    *temp_c = *power_w = *sm_mhz = NAN;
    for (int i = 0; i < l->n; i++) {
        if (l->cuda[i] != gpu) continue;
        unsigned int v = 0;
        if (l->temp && l->temp(l->dev[i], NVML_TEMPERATURE_GPU, &v) == 0) *temp_c = v;
        if (l->power && l->power(l->dev[i], &v) == 0) *power_w = v / 1000.0; /* milliwatts */
        if (l->clock && l->clock(l->dev[i], NVML_CLOCK_SM, &v) == 0) *sm_mhz = v;
        return BT_STATUS_OK;
    }
    return BT_FAIL(BT_STATUS_INTERNAL, "NVML: GPU %d not opened", gpu);
}

static void nvml_versions(void *ctx, char *driver, size_t driver_n, char *cuda, size_t cuda_n) {
    nvml_lib *l = ctx;
    char buf[96];
    if (driver_n) driver[0] = '\0';
    if (cuda_n) cuda[0] = '\0';
    if (l->driver && l->driver(buf, sizeof buf) == 0) {
        buf[sizeof buf - 1] = '\0';
        snprintf(driver, driver_n, "%s", buf);
    }
    int v = 0; /* 12040: CUDA 12.4, the newest the driver supports */
    if (l->cuda_version && l->cuda_version(&v) == 0 && v > 0)
        snprintf(cuda, cuda_n, "%d.%d", v / 1000, v % 1000 / 10);
}

static void nvml_close(void *ctx) {
    nvml_lib *l = ctx;
    if (!l) return;
    if (l->shutdown) l->shutdown();
    if (l->so) dlclose(l->so);
    free(l);
}

static void *sym(void *so, const char *name, int *missing) {
    void *p = dlsym(so, name);
    if (!p) *missing = 1;
    return p;
}

bt_status bt_nvml_open(bt_gpu_source *out, const int *cuda_gpus, int n, char *why, size_t why_n) {
    memset(out, 0, sizeof *out);
    if (why_n) why[0] = '\0';
    nvml_lib *l = calloc(1, sizeof *l);
    BT_CHECK_ALLOC(l);
    l->so = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!l->so) {
        const char *e = dlerror();
        snprintf(why, why_n, "%s", e ? e : "libnvidia-ml.so.1 not found");
        free(l);
        return BT_FAIL(BT_STATUS_NO_INPUT, "NVML: %s", why);
    }
    int missing = 0;
    /* dlsym returns void *; POSIX guarantees it converts to a function pointer */
    *(void **)&l->init = sym(l->so, "nvmlInit_v2", &missing);
    *(void **)&l->shutdown = sym(l->so, "nvmlShutdown", &missing);
    *(void **)&l->by_index = sym(l->so, "nvmlDeviceGetHandleByIndex_v2", &missing);
    *(void **)&l->util = sym(l->so, "nvmlDeviceGetUtilizationRates", &missing);
    *(void **)&l->mem = sym(l->so, "nvmlDeviceGetMemoryInfo", &missing);
    int optional = 0;
    *(void **)&l->by_pci = sym(l->so, "nvmlDeviceGetHandleByPciBusId_v2", &optional);
    *(void **)&l->error_string = sym(l->so, "nvmlErrorString", &optional);
    *(void **)&l->temp = sym(l->so, "nvmlDeviceGetTemperature", &optional);
    *(void **)&l->power = sym(l->so, "nvmlDeviceGetPowerUsage", &optional);
    *(void **)&l->clock = sym(l->so, "nvmlDeviceGetClockInfo", &optional);
    *(void **)&l->driver = sym(l->so, "nvmlSystemGetDriverVersion", &optional);
    *(void **)&l->cuda_version = sym(l->so, "nvmlSystemGetCudaDriverVersion_v2", &optional);
    if (!l->cuda_version)
        *(void **)&l->cuda_version = sym(l->so, "nvmlSystemGetCudaDriverVersion", &optional);
    if (missing) {
        snprintf(why, why_n, "libnvidia-ml.so.1 lacks an NVML entry point");
        dlclose(l->so);
        free(l);
        return BT_FAIL(BT_STATUS_INTERNAL, "NVML: %s", why);
    }
    nvml_return r = l->init();
    if (r != 0) {
        snprintf(why, why_n, "nvmlInit_v2: %s (%d)", nvml_err(l, r), r);
        l->shutdown = NULL; /* not initialized: nothing to shut down */
        nvml_close(l);
        return BT_FAIL(BT_STATUS_INTERNAL, "NVML: %s", why);
    }
    for (int i = 0; i < n && l->n < 64; i++) {
        nvml_device d = NULL;
        bt_gpu_info g;
        r = -1;
        /* CUDA and NVML may number GPUs differently: match them by PCI bus id */
        if (l->by_pci && bt_gpu_info_get(cuda_gpus[i], &g) == BT_STATUS_OK && g.pci_bus_id[0])
            r = l->by_pci(g.pci_bus_id, &d);
        if (r != 0) r = l->by_index((unsigned)cuda_gpus[i], &d);
        if (r != 0) {
            snprintf(why, why_n, "no NVML handle for GPU %d: %s", cuda_gpus[i], nvml_err(l, r));
            nvml_close(l);
            return BT_FAIL(BT_STATUS_INTERNAL, "NVML: %s", why);
        }
        l->dev[l->n] = d;
        l->cuda[l->n++] = cuda_gpus[i];
    }
    out->name = "nvml";
    out->ctx = l;
    out->read = nvml_read;
    out->read_more = nvml_read_more;
    out->versions = nvml_versions;
    out->close = nvml_close;
    return BT_STATUS_OK;
}

/* ---- the CUDA runtime's view: memory only ---------------------------------------------------- */

static bt_status cudart_read(void *ctx, int gpu, double *util, int64_t *mem_used) {
    (void)ctx;
    *util = NAN;
    return bt_gpu_mem_used(gpu, mem_used);
}

bt_status bt_gpu_cudart_source(bt_gpu_source *out, char *why, size_t why_n) {
    memset(out, 0, sizeof *out);
    if (why_n) why[0] = '\0';
    if (bt_gpu_count() <= 0) {
        snprintf(why, why_n, "%s", bt_build_cuda() ? "no GPU visible" : "no CUDA in this build");
        return BT_FAIL(BT_STATUS_NO_INPUT, "%s", why);
    }
    out->name = "cudart";
    out->read = cudart_read;
    return BT_STATUS_OK;
}

void bt_gpu_source_close(bt_gpu_source *src) {
    if (!src) return;
    if (src->close) src->close(src->ctx);
    memset(src, 0, sizeof *src);
}

/* ---- accumulating ---------------------------------------------------------------------------- */

void bt_gpu_usage_init(bt_gpu_usage *u, int gpu) {
    memset(u, 0, sizeof *u);
    u->gpu = gpu;
    u->mem_peak = -1;
    u->mem_first = -1;
}

void bt_gpu_usage_add(bt_gpu_usage *u, double util, int64_t mem_used) {
    u->n_samples++;
    if (!isnan(util)) {
        u->n_util++;
        u->util_sum += util;
    }
    if (mem_used >= 0) {
        if (u->mem_first < 0) u->mem_first = mem_used;
        if (mem_used > u->mem_peak) u->mem_peak = mem_used;
    }
}

double bt_gpu_usage_mean(const bt_gpu_usage *u) {
    return u->n_util > 0 ? u->util_sum / (double)u->n_util : NAN;
}

/* ---- the sampler thread ---------------------------------------------------------------------- */

struct bt_gpu_sampler {
    bt_gpu_source src;
    int n;
    bt_gpu_usage usage[64];
    double period;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
};

static void sample_all(bt_gpu_sampler *s) {
    for (int i = 0; i < s->n; i++) {
        double util = NAN;
        int64_t mem = -1;
        if (s->src.read(s->src.ctx, s->usage[i].gpu, &util, &mem) == BT_STATUS_OK)
            bt_gpu_usage_add(&s->usage[i], util, mem);
        else
            bt_status_clear();
    }
}

static void *sampler_main(void *arg) {
    bt_gpu_sampler *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        sample_all(s);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        double t = (double)until.tv_nsec * 1e-9 + s->period;
        until.tv_sec += (time_t)t;
        until.tv_nsec = (long)((t - floor(t)) * 1e9);
        while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

bt_status bt_gpu_sampler_start(bt_gpu_sampler **out, const bt_gpu_source *src, const int *gpus,
                               int n_gpus, double period_s) {
    *out = NULL;
    if (!src || !src->read) return BT_FAIL(BT_STATUS_INTERNAL, "GPU sampler: no source");
    if (n_gpus < 0 || n_gpus > 64)
        return BT_FAIL(BT_STATUS_INTERNAL, "GPU sampler: %d GPUs", n_gpus);
    bt_gpu_sampler *s = calloc(1, sizeof *s);
    BT_CHECK_ALLOC(s);
    s->src = *src;
    s->n = n_gpus;
    s->period = period_s > 1e-4 ? period_s : 1e-4;
    for (int i = 0; i < n_gpus; i++) bt_gpu_usage_init(&s->usage[i], gpus[i]);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->thread, NULL, sampler_main, s) != 0) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return BT_FAIL(BT_STATUS_INTERNAL, "GPU sampler: cannot start a thread");
    }
    *out = s;
    return BT_STATUS_OK;
}

void bt_gpu_sampler_stop(bt_gpu_sampler *s, bt_gpu_usage *usage) {
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    sample_all(s); /* the state at the end counts too (peak memory just before freeing) */
    if (usage) memcpy(usage, s->usage, (size_t)s->n * sizeof *usage);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
