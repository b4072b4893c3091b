/* The one device resolver `run` and `bench` share: from `--device` / execution.device and
 * execution.gpu_packs to the device a sweep trains on and the pack operations it trains with.
 * No ownership: the returned tables are static; gpus are the caller's. */
#ifndef BT_RESOLVE_H
#define BT_RESOLVE_H

#include "base/status.h"
#include "models/model.h"
#include "models/pack.h"
#include "runtime/devices/devices.h"

typedef struct bt_device_request {
    const char *device;    /* auto | cpu | cuda | cuda:N; NULL: auto */
    const char *gpu_packs; /* "stable" (NULL: the default) or "all" (experimental GPU packs too) */
    bt_status bad;         /* the status a bad request returns (usage for a flag, bad input for
                            * a sweep key) */
    const char *where;     /* what named it, leading the messages ("--device") */
    int probe_always;      /* probe the GPUs even for the cpu (bench reports the GPU it saw) */
} bt_device_request;

typedef struct bt_device_resolved {
    bt_device_choice choice;  /* where, and why */
    const bt_pack_ops *packs; /* the family's pack ops there */
    bt_gpu_info gpus[16];     /* the GPUs probed (n_gpus), e.g. for reports */
    int n_gpus;
    int verified_now;  /* auto chose a GPU not verified before: its self-test ran and passed */
    int verify_failed; /* auto's GPU failed its self-test: the choice is the cpu (reason says) */
} bt_device_resolved;

/* Whether `gpu_packs` is a valid execution.gpu_packs / --gpu-packs value (NULL counts). */
int bt_gpu_packs_valid(const char *gpu_packs);

/* Whether family's GPU pack ops `gpu` (NULL: none) are offered under gpu_packs ("stable" or NULL:
 * not an experimental one; "all": any); when not, 0 with the reason in why[n]. Pure. */
int bt_gpu_pack_offered(const char *family, const bt_pack_ops *gpu, const char *gpu_packs,
                        char *why, size_t n);

/* Chooses the device (bt_device_choose) for family f: a GPU only when the build has CUDA, a GPU
 * is visible and the family's GPU pack is offered (an experimental one only with gpu_packs
 * "all"), and -- for auto -- its pack round of the self-test has passed on this GPU once
 * (verify.h; else the cpu, the reason saying why); on a GPU, makes it current for the calling
 * thread. "cpu" never opens the CUDA module. */
bt_status bt_device_resolve(const bt_model_family *f, const bt_device_request *req,
                            bt_device_resolved *out);

#endif
