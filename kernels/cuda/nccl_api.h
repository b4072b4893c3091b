/* NCCL for the CUDA module's host code (built with BT_HAVE_NCCL, CMake's BT_NCCL), loaded at run
 * time: nccl_load.c opens libnccl.so.2 (else libnccl.so) with dlopen at the first use and
 * resolves the few calls the module makes, so the module never links NCCL and loads on a machine
 * without it (each GPU's data is then uploaded from the host). The types are <nccl.h>'s when the
 * build found it (BT_NCCL_HEADER: the resolved pointers are then checked against its prototypes),
 * else declared here from NCCL 2's stable C ABI -- nccl.h is never needed. The device emulation's
 * NCCL stand-in (tests/emu/emu_nccl.c) implements the same calls, linked in (BT_NCCL_BUILTIN). */
#ifndef BT_NCCL_API_H
#define BT_NCCL_API_H

#include <cuda_runtime.h>
#include <stddef.h>

#include "base/status.h"

#if BT_NCCL_HEADER
#include <nccl.h>
#else
typedef struct ncclComm *ncclComm_t;
typedef enum { ncclSuccess = 0 } ncclResult_t; /* other codes are only passed on */
typedef enum { ncclInt8 = 0, ncclUint8 = 1 } ncclDataType_t;

/* Declared for the emulation's stand-in (tests/emu/emu_nccl.c), which defines them; the module
 * itself calls NCCL only through bt_nccl's pointers. */
ncclResult_t ncclCommInitAll(ncclComm_t *comms, int ndev, const int *devlist);
ncclResult_t ncclCommDestroy(ncclComm_t comm);
ncclResult_t ncclGroupStart(void);
ncclResult_t ncclGroupEnd(void);
ncclResult_t ncclBroadcast(const void *sendbuff, void *recvbuff, size_t count,
                           ncclDataType_t datatype, int root, ncclComm_t comm, cudaStream_t stream);
const char *ncclGetErrorString(ncclResult_t result);
ncclResult_t ncclGetVersion(int *version);
#endif

/* The NCCL calls the module makes, resolved from the loaded library. */
typedef struct bt_nccl {
    ncclResult_t (*comm_init_all)(ncclComm_t *comms, int ndev, const int *devlist);
    ncclResult_t (*comm_destroy)(ncclComm_t comm);
    ncclResult_t (*group_start)(void);
    ncclResult_t (*group_end)(void);
    ncclResult_t (*broadcast)(const void *sendbuff, void *recvbuff, size_t count,
                              ncclDataType_t datatype, int root, ncclComm_t comm,
                              cudaStream_t stream);
    const char *(*error_string)(ncclResult_t result);
    int version;      /* ncclGetVersion's code (22809: 2.28.9), 0 when the library has none */
    const char *name; /* the name it was opened by ("libnccl.so.2"), static */
} bt_nccl;

/* NCCL, opened at the first call (thread-safe) and kept until the process exits; NULL when
 * neither libnccl.so.2 nor libnccl.so loads or one lacks a call (bt_nccl_status says why).
 * $BT_NCCL_LIBRARY names another library to open instead; "none" gives NULL (the emulation's
 * stand-in too). */
const bt_nccl *bt_nccl_get(void);
/* For people: "NCCL 2.28.9, libnccl.so.2, loaded at run time" or "NCCL not found: libnccl.so.2:
 * cannot open shared object file...". Static string. */
const char *bt_nccl_status(void);

/* The first of `names` (NULL-terminated) that dlopen loads with every call, into *out; else
 * BT_STATUS_NO_INPUT (no such library) or BT_STATUS_INTERNAL (a call missing), and `why` says
 * which. The library stays open. bt_nccl_get's search, exposed for tests. */
bt_status bt_nccl_open(const char *const *names, bt_nccl *out, char *why, size_t why_n);
/* ncclGetVersion's code as "2.28.9" (codes below 10000 are NCCL's older X*1000+Y*100+Z). */
void bt_nccl_version_string(int code, char *out, size_t n);

#endif
