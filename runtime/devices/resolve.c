/* The device resolver (resolve.h): which GPU packs are offered, the probe, the choice, and the
 * GPU made current. `run` (runtime/exec/executor.c) and `bench` (runtime/exec/bench.c) both call
 * it, so they can never choose differently. */
#include "runtime/devices/resolve.h"

#include <stdio.h>
#include <string.h>

int bt_gpu_packs_valid(const char *gpu_packs) {
    return !gpu_packs || strcmp(gpu_packs, "stable") == 0 || strcmp(gpu_packs, "all") == 0;
}

int bt_gpu_pack_offered(const char *family, const bt_pack_ops *gpu, const char *gpu_packs,
                        char *why, size_t n) {
    if (!gpu) {
        snprintf(why, n, "model %s has no CUDA pack", family);
        return 0;
    }
    if (gpu->experimental && !(gpu_packs && strcmp(gpu_packs, "all") == 0)) {
        snprintf(why, n,
                 "model %s's GPU pack is experimental (not yet run on a GPU): set "
                 "execution.gpu_packs to \"all\" (or --gpu-packs all) to use it",
                 family);
        return 0;
    }
    if (n) why[0] = '\0';
    return 1;
}

bt_status bt_device_resolve(const bt_model_family *f, const bt_device_request *req,
                            bt_device_resolved *out) {
    memset(out, 0, sizeof *out);
    char why[160];
    bt_device_env env;
    memset(&env, 0, sizeof env);
    env.family = f->name;
    const bt_pack_ops *gpu = bt_gpu_pack_ops(f->name);
    env.family_cuda = bt_gpu_pack_offered(f->name, gpu, req->gpu_packs, why, sizeof why);
    if (!env.family_cuda) env.family_cuda_why = why;
    /* probing creates a context on every GPU: skip it when the answer cannot be a GPU */
    int is_cpu = req->device && strcmp(req->device, "cpu") == 0;
    if (req->probe_always || (!is_cpu && env.family_cuda))
        bt_device_env_probe(&env, out->gpus, (int)(sizeof out->gpus / sizeof out->gpus[0]));
    else
        env.build_cuda = bt_build_cuda();
    out->n_gpus = env.n_gpus;
    env.gpus = out->gpus;
    BT_TRY(bt_device_choose(req->device, &env, req->bad, req->where, &out->choice));
    out->packs = f->cpu;
    if (!out->choice.cuda) return BT_STATUS_OK;
    BT_TRY(bt_gpu_select(out->choice.index));
    out->packs = gpu;
    return BT_STATUS_OK;
}
