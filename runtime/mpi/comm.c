/* The ranks of an MPI job (comm.h): under a launcher, MPI through libbatchtune_mpi.so
 * (mpi_module.h, opened here with dlopen, so a plain run loads no MPI library); byte messages
 * polled with test / iprobe so a dead or hung rank is noticed by a deadline, not waited for
 * forever. Built without MPI, a launcher's job of several ranks is refused. */
#define _GNU_SOURCE /* dladdr */
#include "runtime/mpi/comm.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/mpi/mpi_module.h"

static int g_on, g_rank, g_size = 1, g_local, g_lost; /* g_on: MPI initialized */
static const bt_mpi_ops *g_mpi;                       /* the module, once opened */
static char g_why[512];                               /* why it did not open */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void bt_comm_nap(int *spins) {
    /* the first polls spin (a reply on one host comes in microseconds); then sleep, longer and
     * longer up to 1 ms, so ranks waiting on a long step leave the cores to the ones training */
    int k = (*spins)++;
    if (k < 200) return;
    long ns = k < 400 ? 20000 : k < 600 ? 200000 : 1000000;
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
}

void bt_comm_mark_lost(void) {
    g_lost = 1;
}
int bt_comm_lost(void) {
    return g_lost;
}
int bt_comm_rank(void) {
    return g_rank;
}
int bt_comm_size(void) {
    return g_size;
}
int bt_comm_local_rank(void) {
    return g_local;
}

int bt_comm_built(void) {
#if BT_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

/* libbatchtune_mpi.so beside libbatchtune.so, else wherever the loader finds it. */
static const bt_mpi_ops *open_module(void) {
    if (g_mpi) return g_mpi;
    const char *name = "libbatchtune_mpi.so";
    char path[PATH_MAX] = "";
    Dl_info info;
    if (dladdr((void *)bt_comm_start, &info) && info.dli_fname &&
        strlen(info.dli_fname) + strlen(name) + 2 < sizeof path) {
        snprintf(path, sizeof path, "%s", info.dli_fname);
        char *slash = strrchr(path, '/');
        if (slash)
            strcpy(slash + 1, name);
        else
            snprintf(path, sizeof path, "%s", name);
    }
    void *h = path[0] ? dlopen(path, RTLD_NOW | RTLD_GLOBAL) : NULL;
    if (!h) h = dlopen(name, RTLD_NOW | RTLD_GLOBAL); /* MPI's plugins need its symbols global */
    if (!h) {
        snprintf(g_why, sizeof g_why, "%s", dlerror());
        return NULL;
    }
    bt_mpi_module_entry_fn entry;
    *(void **)&entry = dlsym(h, BT_MPI_MODULE_ENTRY);
    const bt_mpi_ops *m = entry ? entry() : NULL;
    if (!m || m->abi != BT_MPI_MODULE_ABI || m->size != sizeof *m) {
        snprintf(g_why, sizeof g_why, "%s: not this build's MPI module", name);
        return NULL;
    }
    return g_mpi = m;
}

const char *bt_comm_version(void) {
    if (!bt_comm_built()) return "no";
    const bt_mpi_ops *m = open_module();
    return m ? m->version() : g_why;
}

/* A launcher's variables: Open MPI's mpirun, PMI (MPICH, Slurm's srun --mpi=pmi2), PMIx; the
 * job's size, 0 when none says so. */
static int launcher_size(int *under) {
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"};
    *under = 0;
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (getenv(vars[i])) *under = 1;
    const char *n = getenv("OMPI_COMM_WORLD_SIZE");
    if (!n) n = getenv("PMI_SIZE");
    return n ? atoi(n) : 0;
}

bt_status bt_comm_start(void) {
    int under = 0;
    const int n = launcher_size(&under);
    if (g_on || !under) return BT_STATUS_OK;
    if (!bt_comm_built()) {
        if (n > 1)
            return BT_FAIL(BT_STATUS_USAGE,
                           "started as one of %d MPI ranks, but this batchtune was built without "
                           "MPI (libopenmpi-dev, CMake BT_MPI; docs/cluster.md)",
                           n);
        return BT_STATUS_OK;
    }
    const bt_mpi_ops *m = open_module();
    if (!m)
        return BT_FAIL(BT_STATUS_INTERNAL, "started by an MPI launcher, but MPI did not load: %s",
                       g_why);
    if (m->init(&g_rank, &g_size, &g_local) != 0)
        return BT_FAIL(BT_STATUS_INTERNAL, "MPI_Init failed");
    g_on = 1;
    return BT_STATUS_OK;
}

void bt_comm_end(int code) {
    if (!g_on) return;
    g_on = 0;
    if (g_lost) {
        fflush(NULL);
        g_mpi->abort(code); /* does not return */
    }
    g_mpi->finalize();
}

static bt_status no_mpi(void) {
    return BT_FAIL(BT_STATUS_INTERNAL, "no other rank: MPI is not running");
}

bt_status bt_comm_rank_lost(int w, const char *why, const char *more) {
    bt_comm_mark_lost();
    return BT_FAIL(BT_STATUS_INTERRUPTED,
                   "rank %d %s: progress saved, every rank stopped; run the same command again "
                   "to continue%s",
                   w, why, more);
}

bt_status bt_comm_send(int to, int tag, const void *buf, size_t bytes, double timeout,
                       volatile sig_atomic_t *stop) {
    return bt_comm_send_pending(to, tag, buf, bytes, timeout, stop, NULL, NULL);
}

bt_status bt_comm_send_pending(int to, int tag, const void *buf, size_t bytes, double timeout,
                               volatile sig_atomic_t *stop, bt_comm_idle_fn idle, void *ctx) {
    if (!g_on) return no_mpi();
    /* MPI reads a copy: after MPI_Cancel a started send may still read its buffer, which the
     * caller frees when this returns; a cancelled send's copy is left to the aborting job */
    void *copy = malloc(bytes ? bytes : 1);
    BT_CHECK_ALLOC(copy);
    if (bytes) memcpy(copy, buf, bytes);
    void *req = NULL;
    if (g_mpi->isend(copy, bytes, to, tag, &req) != 0) {
        free(copy);
        return BT_FAIL(BT_STATUS_INTERRUPTED, "MPI send to rank %d failed", to);
    }
    const double end = timeout > 0 ? now_s() + timeout : 0;
    int spins = 0;
    for (;;) {
        int done = 0;
        if (g_mpi->test(req, &done) != 0) /* the request is freed; the copy is MPI's still */
            return BT_FAIL(BT_STATUS_INTERRUPTED, "MPI send to rank %d failed", to);
        if (done) {
            free(copy);
            return BT_STATUS_OK;
        }
        bt_status st = idle ? idle(ctx) : BT_STATUS_OK;
        if (st != BT_STATUS_OK || (end > 0 && now_s() > end) || (stop && *stop)) {
            g_mpi->cancel(req);
            if (st != BT_STATUS_OK) return st;
            return BT_FAIL(BT_STATUS_INTERRUPTED, "rank %d took no message in %.0f s", to, timeout);
        }
        bt_comm_nap(&spins);
    }
}

int bt_comm_ready(int from, int tag, size_t *bytes) {
    int ready = 0;
    return g_on && g_mpi->iprobe(from, tag, &ready, bytes) == 0 && ready;
}

bt_status bt_comm_take(int from, int tag, size_t bytes, void **buf) {
    if (!g_on) return no_mpi();
    *buf = malloc(bytes ? bytes : 1);
    BT_CHECK_ALLOC(*buf);
    if (g_mpi->recv(*buf, bytes, from, tag) != 0) {
        free(*buf);
        *buf = NULL;
        return BT_FAIL(BT_STATUS_INTERRUPTED, "MPI receive from rank %d failed", from);
    }
    return BT_STATUS_OK;
}

bt_status bt_comm_recv(int from, int tag, void **buf, size_t *bytes, double timeout,
                       volatile sig_atomic_t *stop) {
    if (!g_on) return no_mpi();
    const double end = timeout > 0 ? now_s() + timeout : 0;
    int spins = 0;
    while (!bt_comm_ready(from, tag, bytes)) {
        if ((end > 0 && now_s() > end) || (stop && *stop))
            return BT_FAIL(BT_STATUS_INTERRUPTED, "rank %d: no message within %.0f s", from,
                           timeout);
        bt_comm_nap(&spins);
    }
    return bt_comm_take(from, tag, *bytes, buf);
}

bt_status bt_comm_bcast(void *buf, size_t bytes, int root) {
    if (!g_on) return no_mpi();
    if (g_mpi->bcast(buf, bytes, root) != 0)
        return BT_FAIL(BT_STATUS_INTERRUPTED, "MPI broadcast from rank %d failed", root);
    return BT_STATUS_OK;
}

void bt_comm_ident_of(const bt_spec *spec, bt_comm_ident *id) {
    memset(id, 0, sizeof *id);
    memcpy(id->sha256, spec->sha256, sizeof spec->sha256);
    id->seed = spec->seed;
    id->run_cap = spec->run_cap_override;
}

bt_status bt_comm_ident_check(const bt_spec *spec, const void *got, size_t bytes, int w) {
    bt_comm_ident mine;
    bt_comm_ident_of(spec, &mine);
    if (bytes == sizeof mine && memcmp(got, &mine, sizeof mine) == 0) return BT_STATUS_OK;
    return BT_FAIL(BT_STATUS_BAD_INPUT,
                   "%s, --seed or --run-cap differ between rank 0 and rank %d: every rank needs "
                   "the same sweep file and options",
                   spec->path ? spec->path : "the sweep file", w);
}
