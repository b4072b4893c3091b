/* The ranks of an MPI job (comm.h): MPI_Init only under a launcher, byte messages polled with
 * MPI_Test / MPI_Iprobe so a dead or hung rank is noticed by a deadline, not waited for forever.
 * Built without MPI, the same calls describe a job of one process. */
#include "runtime/mpi/comm.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if BT_HAVE_MPI
#include <mpi.h>
#endif

static int g_on, g_rank, g_size = 1, g_local, g_lost;

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

#if BT_HAVE_MPI

int bt_comm_built(void) {
    return 1;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *bt_comm_version(void) {
    static char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    if (!v[0] && MPI_Get_library_version(v, &len) == MPI_SUCCESS) {
        char *nl = strchr(v, '\n');
        if (nl) *nl = '\0';
        char *comma = strchr(v, ',');
        if (comma) *comma = '\0';
    }
    return v;
}

/* A launcher's variables: Open MPI's mpirun, PMI (MPICH, Slurm's srun --mpi=pmi2), PMIx. */
static int under_launcher(void) {
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

static int env_int(const char *a, const char *b, int dflt) {
    const char *v = getenv(a);
    if (!v) v = b ? getenv(b) : NULL;
    return v ? atoi(v) : dflt;
}

bt_status bt_comm_start(void) {
    if (g_on || !under_launcher()) return BT_STATUS_OK;
    int inited = 0;
    MPI_Initialized(&inited);
    int provided = 0;
    /* only the main thread calls MPI (pack threads never do) */
    if (!inited && MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return BT_FAIL(BT_STATUS_INTERNAL, "MPI_Init failed");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    /* the rank among this host's: the launcher says so; else a split by shared memory */
    g_local = env_int("OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", -1);
    if (g_local < 0) g_local = env_int("SLURM_LOCALID", NULL, -1);
    if (g_local < 0) {
        MPI_Comm node;
        MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g_rank, MPI_INFO_NULL, &node);
        MPI_Comm_rank(node, &g_local);
        MPI_Comm_free(&node);
    }
    g_on = 1;
    return BT_STATUS_OK;
}

void bt_comm_end(int code) {
    if (!g_on) return;
    g_on = 0;
    if (g_lost) {
        fflush(NULL);
        MPI_Abort(MPI_COMM_WORLD, code); /* does not return */
    }
    MPI_Finalize();
}

/* Polls req until done, the timeout or a stop. */
static bt_status wait_req(MPI_Request *req, double timeout, volatile sig_atomic_t *stop,
                          const char *what, int peer) {
    const double end = timeout > 0 ? now_s() + timeout : 0;
    int spins = 0;
    for (;;) {
        int done = 0;
        if (MPI_Test(req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return BT_FAIL(BT_STATUS_INTERRUPTED, "MPI %s rank %d failed", what, peer);
        if (done) return BT_STATUS_OK;
        if ((end > 0 && now_s() > end) || (stop && *stop)) {
            MPI_Cancel(req);
            return BT_FAIL(BT_STATUS_INTERRUPTED, "rank %d: no %s within %.0f s", peer, what,
                           timeout);
        }
        bt_comm_nap(&spins);
    }
}

bt_status bt_comm_send(int to, int tag, const void *buf, size_t bytes, double timeout,
                       volatile sig_atomic_t *stop) {
    if (bytes > INT32_MAX) return BT_FAIL(BT_STATUS_INTERNAL, "message of %zu bytes", bytes);
    MPI_Request req;
    if (MPI_Isend(buf, (int)bytes, MPI_BYTE, to, tag, MPI_COMM_WORLD, &req) != MPI_SUCCESS)
        return BT_FAIL(BT_STATUS_INTERRUPTED, "MPI send to rank %d failed", to);
    return wait_req(&req, timeout, stop, "send to", to);
}

int bt_comm_ready(int from, int tag, size_t *bytes) {
    int flag = 0, count = 0;
    MPI_Status s;
    if (MPI_Iprobe(from, tag, MPI_COMM_WORLD, &flag, &s) != MPI_SUCCESS || !flag) return 0;
    MPI_Get_count(&s, MPI_BYTE, &count);
    *bytes = (size_t)count;
    return 1;
}

bt_status bt_comm_take(int from, int tag, size_t bytes, void **buf) {
    *buf = malloc(bytes ? bytes : 1);
    BT_CHECK_ALLOC(*buf);
    if (MPI_Recv(*buf, (int)bytes, MPI_BYTE, from, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE) !=
        MPI_SUCCESS) {
        free(*buf);
        *buf = NULL;
        return BT_FAIL(BT_STATUS_INTERRUPTED, "MPI receive from rank %d failed", from);
    }
    return BT_STATUS_OK;
}

bt_status bt_comm_recv(int from, int tag, void **buf, size_t *bytes, double timeout,
                       volatile sig_atomic_t *stop) {
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
    /* in pieces: MPI counts are int */
    for (size_t off = 0; off < bytes;) {
        size_t n = bytes - off > (1u << 30) ? (1u << 30) : bytes - off;
        if (MPI_Bcast((char *)buf + off, (int)n, MPI_BYTE, root, MPI_COMM_WORLD) != MPI_SUCCESS)
            return BT_FAIL(BT_STATUS_INTERRUPTED, "MPI broadcast from rank %d failed", root);
        off += n;
    }
    return BT_STATUS_OK;
}

#else /* no MPI: one process */

int bt_comm_built(void) {
    return 0;
}
const char *bt_comm_version(void) {
    return "no";
}
bt_status bt_comm_start(void) {
    return BT_STATUS_OK;
}
void bt_comm_end(int code) {
    (void)code;
}

static bt_status no_peer(void) {
    return BT_FAIL(BT_STATUS_INTERNAL, "no other rank: built without MPI");
}
bt_status bt_comm_send(int to, int tag, const void *buf, size_t bytes, double timeout,
                       volatile sig_atomic_t *stop) {
    return no_peer();
}
int bt_comm_ready(int from, int tag, size_t *bytes) {
    return 0;
}
bt_status bt_comm_take(int from, int tag, size_t bytes, void **buf) {
    return no_peer();
}
bt_status bt_comm_recv(int from, int tag, void **buf, size_t *bytes, double timeout,
                       volatile sig_atomic_t *stop) {
    return no_peer();
}
bt_status bt_comm_bcast(void *buf, size_t bytes, int root) {
    return BT_STATUS_OK;
}

#endif
