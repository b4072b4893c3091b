/* A fake libnccl.so.2 for the NCCL loader's test (test_nccl_load_emu.c): NCCL 2's C ABI for the
 * calls kernels/cuda/nccl_load.c resolves, declared as a foreign library would (no batchtune
 * header), doing nothing but answering -- the test sees that calls reach it by its error string
 * and version. Built as tests/fake_nccl/libnccl.so.2, found through LD_LIBRARY_PATH. */
#include <stddef.h>

typedef struct ncclComm *ncclComm_t;
typedef int ncclResult_t; /* NCCL 2's enum: 0 is ncclSuccess, 4 ncclInvalidArgument */

static struct ncclComm { int rank; } ranks[8];

ncclResult_t ncclCommInitAll(ncclComm_t *comms, int ndev, const int *devlist);
ncclResult_t ncclCommDestroy(ncclComm_t comm);
ncclResult_t ncclGroupStart(void);
ncclResult_t ncclGroupEnd(void);
ncclResult_t ncclBroadcast(const void *sendbuff, void *recvbuff, size_t count, int datatype,
                           int root, ncclComm_t comm, void *stream);
const char *ncclGetErrorString(ncclResult_t result);
ncclResult_t ncclGetVersion(int *version);

ncclResult_t ncclCommInitAll(ncclComm_t *comms, int ndev, const int *devlist) {
    (void)devlist;
    if (!comms || ndev < 1 || ndev > 8) return 4;
    for (int i = 0; i < ndev; i++) {
        ranks[i].rank = i;
        comms[i] = &ranks[i];
    }
    return 0;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
    return comm ? 0 : 4;
}

ncclResult_t ncclGroupStart(void) {
    return 0;
}

ncclResult_t ncclGroupEnd(void) {
    return 0;
}

ncclResult_t ncclBroadcast(const void *sendbuff, void *recvbuff, size_t count, int datatype,
                           int root, ncclComm_t comm, void *stream) {
    (void)sendbuff, (void)recvbuff, (void)count, (void)datatype, (void)stream;
    return comm && root == 0 ? 0 : 4;
}

const char *ncclGetErrorString(ncclResult_t result) {
    return result == 0 ? "fake NCCL: no error" : "fake NCCL: invalid argument";
}

ncclResult_t ncclGetVersion(int *version) {
    *version = 22809; /* NCCL_VERSION(2, 28, 9) */
    return 0;
}
