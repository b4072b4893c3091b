/* libbatchtune_mpi.so: the MPI calls batchtune makes, behind the table of
 * runtime/mpi/mpi_module.h. Loaded by runtime/mpi/comm.c only under a launcher. */
#include <mpi.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/mpi/mpi_module.h"

static const char *version(void) {
    static char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    if (!v[0] && MPI_Get_library_version(v, &len) == MPI_SUCCESS) {
        v[strcspn(v, ",\n")] = '\0'; /* "Open MPI v4.1.4" */
    }
    return v;
}

static int env_int(const char *name) {
    const char *v = getenv(name);
    return v ? atoi(v) : -1;
}

static int init(int *rank, int *size, int *local) {
    int inited = 0, provided = 0;
    MPI_Initialized(&inited);
    if (!inited && MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return 1;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    /* the rank among this host's: the launcher says so, else a split by shared memory */
    *local = env_int("OMPI_COMM_WORLD_LOCAL_RANK");
    if (*local < 0) *local = env_int("MPI_LOCALRANKID");
    if (*local < 0) *local = env_int("SLURM_LOCALID");
    if (*local < 0) {
        MPI_Comm node;
        MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, *rank, MPI_INFO_NULL, &node);
        MPI_Comm_rank(node, local);
        MPI_Comm_free(&node);
    }
    return 0;
}

static void finalize(void) {
    MPI_Finalize();
}
static void do_abort(int code) {
    MPI_Abort(MPI_COMM_WORLD, code);
}

static int isend(const void *buf, size_t bytes, int to, int tag, void **req) {
    if (bytes > INT32_MAX) return 1;
    MPI_Request *r = malloc(sizeof *r);
    if (!r) return 1;
    if (MPI_Isend(buf, (int)bytes, MPI_BYTE, to, tag, MPI_COMM_WORLD, r) != MPI_SUCCESS) {
        free(r);
        return 1;
    }
    *req = r;
    return 0;
}

static int test(void *req, int *done) {
    int st = MPI_Test(req, done, MPI_STATUS_IGNORE) != MPI_SUCCESS;
    if (st || *done) free(req);
    return st;
}

static void cancel(void *req) {
    MPI_Cancel(req);
    MPI_Request_free(req);
    free(req);
}

static int iprobe(int from, int tag, int *ready, size_t *bytes) {
    MPI_Status s;
    int count = 0;
    if (MPI_Iprobe(from, tag, MPI_COMM_WORLD, ready, &s) != MPI_SUCCESS) return 1;
    if (*ready) MPI_Get_count(&s, MPI_BYTE, &count);
    *bytes = (size_t)count;
    return 0;
}

static int recv(void *buf, size_t bytes, int from, int tag) {
    if (bytes > INT32_MAX) return 1;
    return MPI_Recv(buf, (int)bytes, MPI_BYTE, from, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE) !=
           MPI_SUCCESS;
}

static int bcast(void *buf, size_t bytes, int root) {
    for (size_t off = 0; off < bytes;) { /* in pieces: MPI counts are int */
        size_t n = bytes - off > (1u << 30) ? (1u << 30) : bytes - off;
        if (MPI_Bcast((char *)buf + off, (int)n, MPI_BYTE, root, MPI_COMM_WORLD) != MPI_SUCCESS)
            return 1;
        off += n;
    }
    return 0;
}

static const bt_mpi_ops ops = {
    .abi = BT_MPI_MODULE_ABI,
    .size = sizeof(bt_mpi_ops),
    .version = version,
    .init = init,
    .finalize = finalize,
    .abort = do_abort,
    .isend = isend,
    .test = test,
    .cancel = cancel,
    .iprobe = iprobe,
    .recv = recv,
    .bcast = bcast,
};

const bt_mpi_ops *bt_mpi_module_entry(void);
const bt_mpi_ops *bt_mpi_module_entry(void) {
    return &ops;
}
