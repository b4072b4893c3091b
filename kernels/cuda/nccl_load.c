/* NCCL through dlopen (nccl_api.h): libnccl.so.2, else libnccl.so, opened at the first use with
 * the module's few calls resolved by name -- the way runtime/devices/nvml.c loads NVML -- so the
 * CUDA module has no NEEDED entry for libnccl. The emulation links its stand-in instead
 * (BT_NCCL_BUILTIN). */
#include "kernels/cuda/nccl_api.h"

#if BT_HAVE_NCCL

#ifndef BT_NCCL_BUILTIN
#define BT_NCCL_BUILTIN 0 /* 1 in the device emulation's module (tests/CMakeLists.txt) */
#endif

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bt_nccl_version_string(int code, char *out, size_t n) {
    if (code >= 10000) /* NCCL_VERSION(X,Y,Z) from 2.9 on: X*10000 + Y*100 + Z */
        snprintf(out, n, "%d.%d.%d", code / 10000, code % 10000 / 100, code % 100);
    else if (code > 0) /* up to 2.8: X*1000 + Y*100 + Z */
        snprintf(out, n, "%d.%d.%d", code / 1000, code % 1000 / 100, code % 100);
    else
        snprintf(out, n, "(version unknown)");
}

#if BT_NCCL_HEADER
/* With <nccl.h> the pointer types are checked against NCCL's own prototypes (unevaluated: no
 * reference to the symbols, so nothing links NCCL). */
static void check_prototypes(bt_nccl *t) {
    (void)sizeof(t->comm_init_all = ncclCommInitAll);
    (void)sizeof(t->comm_destroy = ncclCommDestroy);
    (void)sizeof(t->group_start = ncclGroupStart);
    (void)sizeof(t->group_end = ncclGroupEnd);
    (void)sizeof(t->broadcast = ncclBroadcast);
    (void)sizeof(t->error_string = ncclGetErrorString);
}
#endif

static void *resolve(void *so, const char *name, const char **missing) {
    void *p = dlsym(so, name);
    if (!p && !*missing) *missing = name;
    return p;
}

static bt_status open_one(const char *name, bt_nccl *out, char *why, size_t why_n) {
    void *so = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!so) {
        const char *e = dlerror();
        snprintf(why, why_n, "%s", e ? e : name);
        return BT_FAIL(BT_STATUS_NO_INPUT, "NCCL: %s", why);
    }
    const char *missing = NULL;
    bt_nccl t = {.name = name};
#if BT_NCCL_HEADER
    check_prototypes(&t);
#endif
    /* dlsym returns void *; POSIX guarantees it converts to a function pointer */
    *(void **)&t.comm_init_all = resolve(so, "ncclCommInitAll", &missing);
    *(void **)&t.comm_destroy = resolve(so, "ncclCommDestroy", &missing);
    *(void **)&t.group_start = resolve(so, "ncclGroupStart", &missing);
    *(void **)&t.group_end = resolve(so, "ncclGroupEnd", &missing);
    *(void **)&t.broadcast = resolve(so, "ncclBroadcast", &missing);
    *(void **)&t.error_string = resolve(so, "ncclGetErrorString", &missing);
    if (missing) {
        snprintf(why, why_n, "%s lacks %s", name, missing);
        dlclose(so);
        return BT_FAIL(BT_STATUS_INTERNAL, "NCCL: %s", why);
    }
    ncclResult_t (*get_version)(int *) = NULL; /* optional: only for `info` */
    *(void **)&get_version = dlsym(so, "ncclGetVersion");
    if (!get_version || get_version(&t.version) != ncclSuccess) t.version = 0;
    *out = t; /* the library stays open: the pointers live in it */
    return BT_STATUS_OK;
}

bt_status bt_nccl_open(const char *const *names, bt_nccl *out, char *why, size_t why_n) {
    if (why_n) why[0] = '\0';
    bt_status st = BT_FAIL(BT_STATUS_NO_INPUT, "NCCL: no library name");
    char first[256] = ""; /* a missing versioned name is the news, not the unversioned one */
    for (int i = 0; names && names[i]; i++) {
        bt_status_clear();
        st = open_one(names[i], out, why, why_n);
        if (st == BT_STATUS_OK) return st;
        if (!first[0] || st == BT_STATUS_INTERNAL) snprintf(first, sizeof first, "%s", why);
    }
    snprintf(why, why_n, "%s", first);
    return st;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bt_nccl lib;
static const bt_nccl *loaded;
static char status[384];

static void load(void) {
    /* BT_NCCL_LIBRARY: a path or name to open instead of libnccl.so.2 / libnccl.so; "none" runs
     * as on a machine without NCCL (each GPU's data uploaded from the host) */
    const char *env = getenv("BT_NCCL_LIBRARY");
    if (env && (!*env || strcmp(env, "none") == 0)) {
        snprintf(status, sizeof status, "NCCL not loaded: BT_NCCL_LIBRARY=%s",
                 *env ? env : "(empty)");
        return;
    }
    static char env_name[256]; /* lib.name outlives any later change to the environment */
    if (env) env = strncpy(env_name, env, sizeof env_name - 1);
#if BT_NCCL_BUILTIN
    /* the device emulation: its stand-in (tests/emu/emu_nccl.c) is linked into the module */
    lib = (bt_nccl){.comm_init_all = ncclCommInitAll,
                    .comm_destroy = ncclCommDestroy,
                    .group_start = ncclGroupStart,
                    .group_end = ncclGroupEnd,
                    .broadcast = ncclBroadcast,
                    .error_string = ncclGetErrorString,
                    .name = "the emulation's stand-in, linked in"};
    if (ncclGetVersion(&lib.version) != ncclSuccess) lib.version = 0;
#else
    const char *const names[] = {env ? env : "libnccl.so.2", env ? NULL : "libnccl.so", NULL};
    char why[256];
    if (bt_nccl_open(names, &lib, why, sizeof why) != BT_STATUS_OK) {
        bt_status_clear(); /* an expected absence, reported by bt_nccl_status */
        snprintf(status, sizeof status, "NCCL not found: %s", why);
        return;
    }
#endif
    char v[32];
    bt_nccl_version_string(lib.version, v, sizeof v);
    snprintf(status, sizeof status, "NCCL %s, %s%s", v, lib.name,
             BT_NCCL_BUILTIN ? "" : ", loaded at run time");
    loaded = &lib;
}

const bt_nccl *bt_nccl_get(void) {
    pthread_once(&once, load);
    return loaded;
}

const char *bt_nccl_status(void) {
    pthread_once(&once, load);
    return status;
}

#endif /* BT_HAVE_NCCL */
