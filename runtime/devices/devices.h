/* bt_devices: what compute this process can use -- CPU cores and every CUDA GPU (name, memory,
 * compute capability) -- which optional features the build has, and which device a sweep trains
 * on (`--device`): bt_device_choose is a pure function of the request and what was found, so the
 * choice is tested without a GPU. No ownership: plain structs; gpus in bt_device_env are
 * borrowed. */
#ifndef BT_DEVICES_H
#define BT_DEVICES_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

typedef struct bt_gpu_info {
    int index;
    char name[256];
    size_t total_mem, free_mem;
    int cc_major, cc_minor;
    int sm_count;
    char pci_bus_id[32]; /* "0000:3b:00.0" (matches NVML's devices to CUDA's), "" if unknown */
} bt_gpu_info;

int bt_cpu_cores(void);

/* ---- the GPUs, through the CUDA module (gpu.c over runtime/devices/cuda_module.h) ---------- */

/* 1 when the CUDA module loaded (it was built, a driver is there, it opened), 0 otherwise. */
int bt_build_cuda(void);
/* Number of usable GPUs (0 without the module, a driver or a GPU, or when the driver refuses;
 * bt_gpu_probe_get says which). */
int bt_gpu_count(void);
bt_status bt_gpu_info_get(int index, bt_gpu_info *out);
/* Makes GPU `index` current for this thread (packs bind to the current device). */
bt_status bt_gpu_select(int index);
/* Device memory in use on GPU `index` (total - free, as cudaMemGetInfo sees it), from any thread.
 */
bt_status bt_gpu_mem_used(int index, int64_t *used);
/* "CUDA 13.0 runtime, driver 12.8, cuBLAS 13.1.0" or "no CUDA module loaded". Static string. */
const char *bt_cuda_version_string(void);
/* The pack operations family `family` trains with on a GPU (models/pack.h), or NULL when it has
 * none or the module did not load. */
const struct bt_pack_ops *bt_gpu_pack_ops(const char *family);

/* What a device choice depends on. */
typedef struct bt_device_env {
    int build_cuda;          /* the CUDA module loaded */
    const char *family;      /* model family name, for messages */
    int family_cuda;         /* the family's CUDA pack is offered (runtime/devices/resolve.h) */
    const bt_gpu_info *gpus; /* the visible GPUs (borrowed), n_gpus of them */
    int n_gpus;
    const char *family_cuda_why; /* when family_cuda is 0: why (NULL: "model F has no CUDA pack") */
    const char *gpu_why; /* no module or no GPU: why (NULL: "this build has no CUDA backend" or
                          * "no GPU visible") */
} bt_device_env;

/* The most GPUs one process drives. */
#define BT_MAX_GPUS 16

typedef struct bt_device_choice {
    int cuda;                   /* 1: train on the GPUs gpus[0..n_gpus); 0: on the CPU */
    int index;                  /* the first GPU (gpus[0]), -1 for the CPU */
    int n_gpus;                 /* GPUs it trains on: 0 for the CPU */
    int gpus[BT_MAX_GPUS];      /* their indices, in the order asked for (packs go round them) */
    char label[64];             /* "cpu", "cuda:N" or "cuda:0,1,2" */
    char name[256];             /* the first GPU's name ("" for the CPU) */
    size_t total_mem, free_mem; /* the first GPU's memory (0 for the CPU) */
    char reason[192];           /* why this device, e.g. "auto: no GPU visible" */
} bt_device_choice;

/* Chooses where to train. request: NULL or "auto" (every visible GPU, in index order, when the
 * build has CUDA, the family has a CUDA pack and a GPU is visible, else the CPU), "cpu", "cuda"
 * (the GPUs auto would take, or an error saying why not), "cuda:all" (the same), "cuda:N" (GPU
 * N), "cuda:0,2,..." (those GPUs, each visible, none twice; at most BT_MAX_GPUS). Errors are
 * returned as `bad` with `where` leading the message ("--device cuda:3: 1 GPU visible"). */
bt_status bt_device_choose(const char *request, const bt_device_env *env, bt_status bad,
                           const char *where, bt_device_choice *out);
/* Probes the visible GPUs into gpus[0..cap) and sets env->gpus/n_gpus and env->build_cuda;
 * family fields are the caller's. A GPU whose properties cannot be read is left out. */
void bt_device_env_probe(bt_device_env *env, bt_gpu_info *gpus, int cap);
/* One line for people: "cuda:0 (NVIDIA H100 80GB HBM3, 79.1 GiB, 78.6 GiB free)", "cpu", or for
 * several GPUs "cuda:0,1 (2 GPUs; cuda:0: NVIDIA H100 80GB HBM3, 79.1 GiB, 78.6 GiB free)". */
void bt_device_describe(const bt_device_choice *c, char *buf, size_t n);

#endif
