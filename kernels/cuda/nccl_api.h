/* NCCL for the CUDA module's host code (built with BT_HAVE_NCCL, CMake's BT_NCCL): <nccl.h> when
 * the build found it (BT_NCCL_HEADER), else declarations of the few calls the module makes, from
 * NCCL 2's stable C API -- a CUDA toolkit may ship libnccl without its header; the device
 * emulation's NCCL stand-in (tests/emu/emu_nccl.c) implements these. Include after
 * <cuda_runtime.h>. */
#ifndef BT_NCCL_API_H
#define BT_NCCL_API_H

#if BT_NCCL_HEADER
#include <nccl.h>
#else
#include <stddef.h>

typedef struct ncclComm *ncclComm_t;
typedef enum { ncclSuccess = 0 } ncclResult_t; /* other codes are only passed on */
typedef enum { ncclInt8 = 0, ncclUint8 = 1 } ncclDataType_t;

ncclResult_t ncclCommInitAll(ncclComm_t *comms, int ndev, const int *devlist);
ncclResult_t ncclCommDestroy(ncclComm_t comm);
ncclResult_t ncclGroupStart(void);
ncclResult_t ncclGroupEnd(void);
ncclResult_t ncclBroadcast(const void *sendbuff, void *recvbuff, size_t count,
                           ncclDataType_t datatype, int root, ncclComm_t comm, cudaStream_t stream);
const char *ncclGetErrorString(ncclResult_t result);
#endif

#endif
