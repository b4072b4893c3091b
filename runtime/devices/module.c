/* The CUDA module loader (cuda_module.h): finds libbatchtune_cuda.so, checks that an NVIDIA driver
 * is there before paying for the CUDA libraries, opens it with dlopen, checks its ABI and version,
 * and remembers why when any of that fails, so `info`, `--device auto` and `selftest` can say it.
 * Loaded once per process, on first use. */
#define _GNU_SOURCE /* dladdr */
#include "runtime/devices/cuda_module.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MODULE_NAME "libbatchtune_cuda.so"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static const bt_cuda_module *loaded;
static char status_text[PATH_MAX + 256];

static void set_status(const char *fmt, const char *a, const char *b) {
    snprintf(status_text, sizeof status_text, fmt, a ? a : "", b ? b : "");
}

static int file_exists(const char *path) {
    return access(path, R_OK) == 0;
}

/* dir/name into out when that file exists. */
static int candidate(char *out, size_t n, const char *dir, const char *name) {
    int k = snprintf(out, n, "%s/%s", dir, name);
    return k > 0 && (size_t)k < n && file_exists(out);
}

/* The folder of a path (in place). */
static void dir_of(char *path) {
    char *slash = strrchr(path, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(path, 2, ".");
}

/* Where the module is: beside libbatchtune.so, beside the executable, in ../lib from it. */
static int find_module(char *out, size_t n) {
    char dir[PATH_MAX];
    Dl_info info;
    if (dladdr((void *)bt_cuda_module_get, &info) && info.dli_fname &&
        strlen(info.dli_fname) < sizeof dir) {
        snprintf(dir, sizeof dir, "%s", info.dli_fname);
        dir_of(dir);
        if (candidate(out, n, dir, MODULE_NAME)) return 1;
    }
    ssize_t len = readlink("/proc/self/exe", dir, sizeof dir - 1);
    if (len > 0) {
        dir[len] = '\0';
        dir_of(dir);
        if (candidate(out, n, dir, MODULE_NAME)) return 1;
        char lib[PATH_MAX];
        if ((size_t)snprintf(lib, sizeof lib, "%s/../lib", dir) < sizeof lib &&
            candidate(out, n, lib, MODULE_NAME))
            return 1;
    }
    return 0;
}

static void load(void) {
    char path[PATH_MAX];
    const char *env = getenv("BT_CUDA_MODULE");
    if (env && (strcmp(env, "none") == 0 || !*env)) {
        set_status("not loaded: BT_CUDA_MODULE=none", NULL, NULL);
        return;
    }
    if (env) {
        if (strlen(env) >= sizeof path || !file_exists(env)) {
            set_status("not loaded: BT_CUDA_MODULE=%s: no such file", env, NULL);
            return;
        }
        snprintf(path, sizeof path, "%s", env);
    } else {
        if (!find_module(path, sizeof path)) {
            set_status("not built (no " MODULE_NAME " beside libbatchtune.so or the binary)", NULL,
                       NULL);
            return;
        }
        /* no driver, no GPU: say so without mapping the CUDA libraries (hundreds of MB) */
        void *drv = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
        if (!drv) {
            set_status("not loaded: no NVIDIA driver (%s)", dlerror(), NULL);
            return;
        }
        dlclose(drv);
    }
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        set_status("not loaded: %s", dlerror(), NULL);
        return;
    }
    bt_cuda_module_entry_fn entry;
    *(void **)&entry = dlsym(h, BT_CUDA_MODULE_ENTRY);
    const bt_cuda_module *m = entry ? entry() : NULL;
    if (!m) {
        set_status("not loaded: %s has no " BT_CUDA_MODULE_ENTRY, path, NULL);
        dlclose(h);
        return;
    }
    if (m->abi != BT_CUDA_MODULE_ABI || m->size != sizeof *m) {
        set_status("not loaded: %s was built for another module ABI (rebuild it with this "
                   "batchtune)",
                   path, NULL);
        dlclose(h);
        return;
    }
    if (!m->version || strcmp(m->version, BT_VERSION) != 0) {
        char v[64];
        snprintf(v, sizeof v, "%s", m->version ? m->version : "?");
        set_status("not loaded: version mismatch (module %s, batchtune " BT_VERSION ")", v, NULL);
        dlclose(h);
        return;
    }
    loaded = m; /* never closed: packs and kernels live in it until the process ends */
    char desc[PATH_MAX + 64];
    snprintf(desc, sizeof desc, "%s, %s", path, m->build ? m->build : "");
    set_status("loaded %s", desc, NULL);
}

const bt_cuda_module *bt_cuda_module_get(void) {
    pthread_once(&load_once, load);
    return loaded;
}

const char *bt_cuda_module_status(void) {
    pthread_once(&load_once, load);
    return status_text;
}

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static bt_gpu_probe probe_result;

static void probe(void) {
    const bt_cuda_module *m = bt_cuda_module_get();
    memset(&probe_result, 0, sizeof probe_result);
    if (m) {
        m->probe(&probe_result);
        return;
    }
    const char *s = bt_cuda_module_status();
    probe_result.kind =
        strstr(s, "no NVIDIA driver") ? BT_GPU_PROBE_NO_DRIVER : BT_GPU_PROBE_NO_MODULE;
    snprintf(probe_result.why, sizeof probe_result.why, "CUDA module %s", s);
}

const bt_gpu_probe *bt_gpu_probe_get(void) {
    pthread_once(&probe_once, probe);
    return &probe_result;
}
