/* The NCCL stand-in of the device emulation (tests/emu/device/nccl.h): communicators over
 * emulated GPUs of this process, and broadcasts run at ncclGroupEnd as device-to-device copies
 * on each receiving rank's stream, after the root's stream has run (its data is then there, as a
 * collective waits for it). What real NCCL requires is checked and refused with
 * ncclInvalidUsage / ncclInvalidArgument: a rank called outside a group (it would hang with more
 * than one rank), ranks of one communicator missing or called twice in a group, a buffer or
 * stream on another GPU than the rank's, counts or roots that differ. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/emu/device/nccl.h"
#include "tests/emu/emu.h"

typedef struct clique {
    int n, live;
    int devs[16];
} clique;

struct ncclComm {
    clique *c;
    int rank;
};

typedef struct bcast {
    const void *send;
    void *recv;
    size_t count;
    int root;
    ncclComm_t comm;
    cudaStream_t stream;
} bcast;

/* One group per host thread, as NCCL's group calls are (the calls on the heap: a dlopen'd
 * module has little static TLS). */
enum { MAX_CALLS = 64 };
static _Thread_local int depth;
static _Thread_local bcast *calls;
static _Thread_local int n_calls;
static _Thread_local ncclResult_t group_err;
static _Atomic int64_t bytes_in, n_bcast;

void bt_emu_nccl_stats(int64_t *bytes, int64_t *ncalls) {
    *bytes = bytes_in;
    *ncalls = n_bcast;
}

ncclResult_t ncclCommInitAll(ncclComm_t *comms, int ndev, const int *devlist) {
    if (!comms || ndev < 1 || ndev > 16) return ncclInvalidArgument;
    clique *c = calloc(1, sizeof *c);
    if (!c) return ncclSystemError;
    c->n = c->live = ndev;
    for (int i = 0; i < ndev; i++) {
        int d = devlist ? devlist[i] : i;
        for (int j = 0; j < i; j++)
            if (c->devs[j] == d) d = -1; /* one rank per GPU in ncclCommInitAll */
        if (d < 0 || d >= bt_emu_device_count()) {
            free(c);
            return ncclInvalidArgument;
        }
        c->devs[i] = d;
    }
    for (int i = 0; i < ndev; i++) {
        comms[i] = calloc(1, sizeof *comms[i]);
        if (!comms[i]) return ncclSystemError; /* leaks on a test machine out of memory */
        comms[i]->c = c;
        comms[i]->rank = i;
    }
    return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
    if (!comm) return ncclSuccess;
    if (--comm->c->live == 0) free(comm->c);
    free(comm);
    return ncclSuccess;
}

ncclResult_t ncclGroupStart(void) {
    if (depth++ == 0) {
        n_calls = 0;
        group_err = ncclSuccess;
    }
    return ncclSuccess;
}

ncclResult_t ncclBroadcast(const void *sendbuff, void *recvbuff, size_t count,
                           ncclDataType_t datatype, int root, ncclComm_t comm,
                           cudaStream_t stream) {
    if (!comm || (datatype != ncclUint8 && datatype != ncclInt8) || root < 0 || root >= comm->c->n)
        return ncclInvalidArgument;
    int dev = comm->c->devs[comm->rank];
    if (bt_emu_stream_device(stream) != dev || (count && bt_emu_ptr_device(recvbuff) != dev) ||
        (count && comm->rank == root && bt_emu_ptr_device(sendbuff) != dev))
        return ncclInvalidArgument;
    if (depth == 0 && comm->c->n > 1) return ncclInvalidUsage; /* would wait for the others */
    if (!calls && !(calls = calloc(MAX_CALLS, sizeof *calls))) return ncclSystemError;
    if (n_calls == MAX_CALLS) return ncclInternalError;
    calls[n_calls++] = (bcast){sendbuff, recvbuff, count, root, comm, stream};
    return depth == 0 ? ncclGroupEnd() : ncclSuccess;
}

/* Runs call i and the other ranks' calls of its broadcast (the same communicator group, the
 * k-th call of each rank), marking them done. */
static ncclResult_t run_bcast(int i, char *done) {
    const clique *c = calls[i].comm->c;
    int member[16], k = 0;
    for (int j = 0; j < n_calls; j++) /* rank calls are matched by order, as NCCL does */
        if (!done[j] && calls[j].comm->c == c) {
            int r = calls[j].comm->rank, dup = 0;
            for (int q = 0; q < k; q++) dup |= calls[member[q]].comm->rank == r;
            if (!dup) member[k++] = j;
        }
    if (k != c->n) return ncclInvalidUsage;
    const bcast *root = NULL;
    for (int q = 0; q < k; q++) {
        const bcast *b = &calls[member[q]];
        if (b->count != calls[i].count || b->root != calls[i].root) return ncclInvalidUsage;
        if (b->comm->rank == b->root) root = b;
        done[member[q]] = 1;
    }
    if (!root || cudaStreamSynchronize(root->stream) != cudaSuccess) return ncclUnhandledCudaError;
    for (int q = 0; q < k; q++) {
        const bcast *b = &calls[member[q]];
        if (b->recv == root->send || b->count == 0) continue;
        if (cudaMemcpyAsync(b->recv, root->send, b->count, cudaMemcpyDeviceToDevice, b->stream) !=
            cudaSuccess)
            return ncclUnhandledCudaError;
        if (b != root) bytes_in += (int64_t)b->count;
    }
    n_bcast += k;
    return ncclSuccess;
}

ncclResult_t ncclGroupEnd(void) {
    if (depth == 0) return ncclInvalidUsage;
    if (--depth > 0) return ncclSuccess;
    char done[MAX_CALLS] = {0};
    ncclResult_t r = group_err;
    for (int i = 0; i < n_calls && r == ncclSuccess; i++)
        if (!done[i]) r = run_bcast(i, done);
    n_calls = 0;
    return r;
}

const char *ncclGetErrorString(ncclResult_t result) {
    switch ((int)result) {
    case ncclSuccess:
        return "no error (emulated NCCL)";
    case 4: /* ncclInvalidArgument */
        return "invalid argument (emulated NCCL)";
    case 5: /* ncclInvalidUsage */
        return "invalid usage (emulated NCCL)";
    default:
        return "error (emulated NCCL)";
    }
}

ncclResult_t ncclGetVersion(int *version) {
    if (!version) return ncclInvalidArgument;
    *version = BT_EMU_NCCL_VERSION;
    return ncclSuccess;
}
