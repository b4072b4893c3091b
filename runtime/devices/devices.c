/* Device discovery and the device choice: CPU cores, the probe of the GPUs through the CUDA
 * module (gpu.c), and bt_device_choose, a pure function of the request and what was found. */
#include "runtime/devices/devices.h"

#include "runtime/devices/cuda_module.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int bt_cpu_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* ---- choosing a device (pure) -----------------------------------------------------------------
 */

static void choose_cpu(bt_device_choice *out, const char *reason) {
    memset(out, 0, sizeof *out);
    out->index = -1;
    snprintf(out->label, sizeof out->label, "cpu");
    snprintf(out->reason, sizeof out->reason, "%s", reason);
}

static void choose_gpu(bt_device_choice *out, const bt_gpu_info *g, const char *reason) {
    memset(out, 0, sizeof *out);
    out->cuda = 1;
    out->index = g->index;
    snprintf(out->label, sizeof out->label, "cuda:%d", g->index & 0xffff);
    snprintf(out->name, sizeof out->name, "%s", g->name);
    out->total_mem = g->total_mem;
    out->free_mem = g->free_mem;
    snprintf(out->reason, sizeof out->reason, "%s", reason);
}

/* Why a GPU cannot be used, or NULL when one can. */
static const char *gpu_unusable(const bt_device_env *env, char *buf, size_t n) {
    if (!env->build_cuda) return env->gpu_why ? env->gpu_why : "this build has no CUDA backend";
    if (!env->family_cuda) {
        if (env->family_cuda_why) return env->family_cuda_why;
        snprintf(buf, n, "model %s has no CUDA pack", env->family ? env->family : "?");
        return buf;
    }
    if (env->n_gpus <= 0) return env->gpu_why ? env->gpu_why : "no GPU visible";
    return NULL;
}

static const bt_gpu_info *most_free(const bt_device_env *env) {
    const bt_gpu_info *best = NULL;
    for (int i = 0; i < env->n_gpus; i++)
        if (!best || env->gpus[i].free_mem > best->free_mem ||
            (env->gpus[i].free_mem == best->free_mem && env->gpus[i].index < best->index))
            best = &env->gpus[i];
    return best;
}

bt_status bt_device_choose(const char *req, const bt_device_env *env, bt_status bad,
                           const char *where, bt_device_choice *out) {
    char why[160];
    choose_cpu(out, "");
    if (!req || strcmp(req, "auto") == 0) {
        const char *no = gpu_unusable(env, why, sizeof why);
        if (no) {
            char r[192];
            snprintf(r, sizeof r, "auto: %s", no);
            choose_cpu(out, r);
        } else {
            choose_gpu(out, most_free(env),
                       env->n_gpus > 1 ? "auto: the GPU with the most free memory"
                                       : "auto: the GPU");
        }
        return BT_STATUS_OK;
    }
    if (strcmp(req, "cpu") == 0) {
        choose_cpu(out, "asked for the cpu");
        return BT_STATUS_OK;
    }
    if (strncmp(req, "cuda", 4) != 0)
        return BT_FAIL(bad, "%s %s: expected auto, cpu, cuda or cuda:N", where, req);
    long index = -1;
    if (req[4] == ':') {
        char *end = NULL;
        errno = 0;
        index = strtol(req + 5, &end, 10);
        if (end && *end == ',' && end != req + 5)
            return BT_FAIL(bad, "%s %s: one GPU per process in this version", where, req);
        if (errno || !end || *end || end == req + 5 || req[5] == '-' || req[5] == '+' ||
            index < 0 || index > 65535)
            return BT_FAIL(bad, "%s %s: expected cuda or cuda:N", where, req);
    } else if (req[4] != '\0') {
        return BT_FAIL(bad, "%s %s: expected cuda or cuda:N", where, req);
    }
    const char *no = gpu_unusable(env, why, sizeof why);
    if (no) return BT_FAIL(bad, "%s %s: %s", where, req, no);
    if (index < 0) {
        choose_gpu(out, most_free(env),
                   env->n_gpus > 1 ? "cuda: the GPU with the most free memory" : "cuda: the GPU");
        return BT_STATUS_OK;
    }
    for (int i = 0; i < env->n_gpus; i++)
        if (env->gpus[i].index == index) {
            choose_gpu(out, &env->gpus[i], "asked for this GPU");
            return BT_STATUS_OK;
        }
    return BT_FAIL(bad, "%s %s: %d GPU%s visible", where, req, env->n_gpus,
                   env->n_gpus == 1 ? "" : "s");
}

void bt_device_env_probe(bt_device_env *env, bt_gpu_info *gpus, int cap) {
    env->build_cuda = bt_build_cuda();
    const bt_gpu_probe *p = bt_gpu_probe_get();
    env->gpu_why = p->kind == BT_GPU_PROBE_OK ? NULL : p->why;
    env->gpus = gpus;
    env->n_gpus = 0;
    int n = bt_gpu_count();
    for (int i = 0; i < n && env->n_gpus < cap; i++)
        if (bt_gpu_info_get(i, &gpus[env->n_gpus]) == BT_STATUS_OK)
            env->n_gpus++;
        else
            bt_status_clear();
}

void bt_device_describe(const bt_device_choice *c, char *buf, size_t n) {
    if (!c->cuda) {
        snprintf(buf, n, "%s", c->label);
        return;
    }
    snprintf(buf, n, "%s (%s, %.1f GiB, %.1f GiB free)", c->label, c->name,
             (double)c->total_mem / (1024.0 * 1024.0 * 1024.0),
             (double)c->free_mem / (1024.0 * 1024.0 * 1024.0));
}
