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

/* Starts a GPU choice on g (the first GPU); add_gpu appends the others. */
static void choose_gpu(bt_device_choice *out, const bt_gpu_info *g, const char *reason) {
    memset(out, 0, sizeof *out);
    out->cuda = 1;
    out->index = g->index;
    out->n_gpus = 1;
    out->gpus[0] = g->index;
    snprintf(out->label, sizeof out->label, "cuda:%d", g->index & 0xffff);
    snprintf(out->name, sizeof out->name, "%s", g->name);
    out->total_mem = g->total_mem;
    out->free_mem = g->free_mem;
    snprintf(out->reason, sizeof out->reason, "%s", reason);
}

static void add_gpu(bt_device_choice *out, int index) {
    out->gpus[out->n_gpus++] = index;
    size_t k = strlen(out->label);
    snprintf(out->label + k, sizeof out->label - k, ",%d", index & 0xffff);
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

static const bt_gpu_info *gpu_find(const bt_device_env *env, long index) {
    for (int i = 0; i < env->n_gpus; i++)
        if (env->gpus[i].index == index) return &env->gpus[i];
    return NULL;
}

/* Every visible GPU, in index order (the lowest BT_MAX_GPUS). */
static void choose_all(const bt_device_env *env, const char *who, bt_device_choice *out) {
    int n = 0;
    long last = -1;
    char reason[96];
    snprintf(reason, sizeof reason, "%s: the GPU", who);
    while (n < BT_MAX_GPUS) { /* the next index up: GPU lists are short */
        const bt_gpu_info *next = NULL;
        for (int i = 0; i < env->n_gpus; i++)
            if (env->gpus[i].index > last && (!next || env->gpus[i].index < next->index))
                next = &env->gpus[i];
        if (!next) break;
        if (n++ == 0)
            choose_gpu(out, next, reason);
        else
            add_gpu(out, next->index);
        last = next->index;
    }
    if (n > 1) snprintf(out->reason, sizeof out->reason, "%s: every GPU (%d)", who, n);
}

/* "N" or "N,M,...": the GPUs asked for, each visible and listed once. */
static bt_status choose_list(const char *req, const bt_device_env *env, bt_status bad,
                             const char *where, bt_device_choice *out) {
    const char *p = req + 5;
    int n = 0;
    for (;;) {
        char *end = NULL;
        errno = 0;
        long index = strtol(p, &end, 10);
        if (errno || !end || end == p || *p == '-' || *p == '+' || index < 0 || index > 65535 ||
            (*end && *end != ','))
            return BT_FAIL(bad, "%s %s: expected cuda, cuda:all, cuda:N or cuda:N,M,...", where,
                           req);
        const bt_gpu_info *g = gpu_find(env, index);
        if (!g)
            return BT_FAIL(bad, "%s %s: no GPU %ld (%d GPU%s visible)", where, req, index,
                           env->n_gpus, env->n_gpus == 1 ? "" : "s");
        for (int i = 0; i < n; i++)
            if (out->gpus[i] == index)
                return BT_FAIL(bad, "%s %s: GPU %ld listed twice", where, req, index);
        if (n == BT_MAX_GPUS)
            return BT_FAIL(bad, "%s %s: at most %d GPUs", where, req, BT_MAX_GPUS);
        if (n == 0)
            choose_gpu(out, g, "asked for this GPU");
        else
            add_gpu(out, (int)index);
        n++;
        if (!*end) break;
        p = end + 1;
    }
    if (n > 1) snprintf(out->reason, sizeof out->reason, "asked for these %d GPUs", n);
    return BT_STATUS_OK;
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
            choose_all(env, "auto", out);
        }
        return BT_STATUS_OK;
    }
    if (strcmp(req, "cpu") == 0) {
        choose_cpu(out, "asked for the cpu");
        return BT_STATUS_OK;
    }
    if (strncmp(req, "cuda", 4) != 0 || (req[4] != '\0' && req[4] != ':'))
        return BT_FAIL(bad, "%s %s: expected auto, cpu, cuda, cuda:all or cuda:N[,M...]", where,
                       req);
    const char *no = gpu_unusable(env, why, sizeof why);
    if (no) return BT_FAIL(bad, "%s %s: %s", where, req, no);
    if (req[4] == '\0' || strcmp(req + 5, "all") == 0) {
        choose_all(env, req[4] ? "cuda:all" : "cuda", out);
        return BT_STATUS_OK;
    }
    return choose_list(req, env, bad, where, out);
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
    if (c->n_gpus > 1) {
        snprintf(buf, n, "%s (%d GPUs; cuda:%d: %s, %.1f GiB, %.1f GiB free)", c->label, c->n_gpus,
                 c->index & 0xffff, c->name, (double)c->total_mem / (1024.0 * 1024.0 * 1024.0),
                 (double)c->free_mem / (1024.0 * 1024.0 * 1024.0));
        return;
    }
    snprintf(buf, n, "%s (%s, %.1f GiB, %.1f GiB free)", c->label, c->name,
             (double)c->total_mem / (1024.0 * 1024.0 * 1024.0),
             (double)c->free_mem / (1024.0 * 1024.0 * 1024.0));
}
