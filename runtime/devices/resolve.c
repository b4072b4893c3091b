/* The device resolver (resolve.h): which GPU packs are offered, the probe, the choice, and the
 * GPU made current. `run` (runtime/exec/executor.c) and `bench` (runtime/exec/bench.c) both call
 * it, so they can never choose differently. */
#include "runtime/devices/resolve.h"

#include "runtime/devices/cuda_module.h"
#include "runtime/devices/verify.h"

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
    out->packs = f->cpu;
    /* the cpu asked for: the CUDA module is never opened */
    int is_cpu = req->device && strcmp(req->device, "cpu") == 0;
    if (is_cpu && !req->probe_always) {
        bt_device_env none;
        memset(&none, 0, sizeof none);
        return bt_device_choose("cpu", &none, req->bad, req->where, &out->choice);
    }
    char why[160];
    bt_device_env env;
    memset(&env, 0, sizeof env);
    env.family = f->name;
    const bt_pack_ops *gpu = bt_gpu_pack_ops(f->name);
    env.family_cuda = bt_gpu_pack_offered(f->name, gpu, req->gpu_packs, why, sizeof why);
    if (!env.family_cuda) env.family_cuda_why = why;
    /* probing creates a context on every GPU: skip it when the answer cannot be a GPU */
    if (req->probe_always || (!is_cpu && env.family_cuda))
        bt_device_env_probe(&env, out->gpus, (int)(sizeof out->gpus / sizeof out->gpus[0]));
    else
        env.build_cuda = bt_build_cuda();
    if (!env.build_cuda) env.gpu_why = bt_gpu_probe_get()->why; /* why there is no module */
    out->n_gpus = env.n_gpus;
    env.gpus = out->gpus;
    BT_TRY(bt_device_choose(req->device, &env, req->bad, req->where, &out->choice));
    if (!out->choice.cuda) return BT_STATUS_OK;
    BT_TRY(bt_gpu_select(out->choice.index));
    int is_auto = !req->device || strcmp(req->device, "auto") == 0;
    if (is_auto) { /* trust a GPU auto picked only once its pack round has passed here */
        const bt_gpu_info *g = NULL;
        for (int i = 0; i < out->n_gpus; i++)
            if (out->gpus[i].index == out->choice.index) g = &out->gpus[i];
        char fail[320];
        if (g && !bt_device_verify(f->name, g, &out->verified_now, fail, sizeof fail)) {
            char reason[sizeof out->choice.reason];
            int k = snprintf(reason, sizeof reason, "auto: %s failed its self-test (%.100s",
                             out->choice.label, fail);
            if (k > 0 && (size_t)k < sizeof reason)
                snprintf(reason + k, sizeof reason - (size_t)k, "); see batchtune selftest");
            bt_device_env none;
            memset(&none, 0, sizeof none);
            BT_TRY(bt_device_choose("cpu", &none, req->bad, req->where, &out->choice));
            snprintf(out->choice.reason, sizeof out->choice.reason, "%s", reason);
            out->verify_failed = 1;
            return BT_STATUS_OK;
        }
    }
    if (out->verified_now) {
        size_t k = strlen(out->choice.reason);
        snprintf(out->choice.reason + k, sizeof out->choice.reason - k,
                 " (its self-test passed on first use)");
    }
    out->packs = gpu;
    return BT_STATUS_OK;
}
