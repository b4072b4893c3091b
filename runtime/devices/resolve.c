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

/* Auto trusts a GPU only once its pack round has passed there (verify.h): the GPUs that fail are
 * left out, and with none left it trains on the cpu, the reason saying why. */
static bt_status verify_auto(const bt_model_family *f, const bt_device_request *req,
                             bt_device_resolved *out) {
    bt_device_choice *c = &out->choice;
    char fail[320], first_fail[320] = "", failed_label[16] = "";
    int kept = 0, kept_gpus[BT_MAX_GPUS];
    for (int k = 0; k < c->n_gpus; k++) {
        const bt_gpu_info *g = NULL;
        for (int i = 0; i < out->n_gpus; i++)
            if (out->gpus[i].index == c->gpus[k]) g = &out->gpus[i];
        int now = 0;
        if (g && !bt_device_verify(f->name, g, &now, fail, sizeof fail)) {
            if (!first_fail[0]) {
                snprintf(first_fail, sizeof first_fail, "%s", fail);
                snprintf(failed_label, sizeof failed_label, "cuda:%d", c->gpus[k] & 0xffff);
            }
            continue;
        }
        out->verified_now |= now;
        kept_gpus[kept++] = c->gpus[k];
    }
    if (kept == c->n_gpus) return BT_STATUS_OK;
    char reason[sizeof c->reason];
    int k = snprintf(reason, sizeof reason, "auto: %s failed its self-test (%.100s", failed_label,
                     first_fail);
    if (k > 0 && (size_t)k < sizeof reason)
        snprintf(reason + k, sizeof reason - (size_t)k, "); see batchtune selftest");
    bt_device_env none;
    memset(&none, 0, sizeof none);
    if (kept == 0) {
        BT_TRY(bt_device_choose("cpu", &none, req->bad, req->where, c));
        out->verify_failed = 1;
    } else { /* the GPUs that passed, as if listed */
        char list[8 * BT_MAX_GPUS] = "cuda:";
        for (int i = 0; i < kept; i++) {
            size_t n = strlen(list);
            snprintf(list + n, sizeof list - n, i ? ",%d" : "%d", kept_gpus[i]);
        }
        bt_device_env env;
        memset(&env, 0, sizeof env);
        env.build_cuda = env.family_cuda = 1;
        env.gpus = out->gpus;
        env.n_gpus = out->n_gpus;
        BT_TRY(bt_device_choose(list, &env, req->bad, req->where, c));
    }
    snprintf(c->reason, sizeof c->reason, "%s", reason);
    return BT_STATUS_OK;
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
    int is_auto = !req->device || strcmp(req->device, "auto") == 0;
    if (is_auto) BT_TRY(verify_auto(f, req, out));
    if (!out->choice.cuda) return BT_STATUS_OK;
    BT_TRY(bt_gpu_select(out->choice.index));
    if (out->verified_now) {
        size_t k = strlen(out->choice.reason);
        snprintf(out->choice.reason + k, sizeof out->choice.reason - k,
                 " (its self-test passed on first use)");
    }
    out->packs = gpu;
    return BT_STATUS_OK;
}
