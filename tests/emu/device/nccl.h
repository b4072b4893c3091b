/* The NCCL of the device emulation (tests/emu/device): the declarations the CUDA module builds
 * against when the toolkit has no nccl.h (kernels/cuda/nccl_api.h, so the emulated module tests
 * that path; it takes the stand-in linked in, BT_NCCL_BUILTIN, where the real module loads libnccl
 * with dlopen), and the result codes the stand-in returns. Implemented by tests/emu/emu_nccl.c as
 * device-to-device copies between emulated GPUs, checked as strictly as NCCL is documented
 * (every rank's call in one group, buffers and streams on the rank's GPU, the same count and
 * root). Test-only; values follow NCCL 2. */
#ifndef BT_EMU_NCCL_H
#define BT_EMU_NCCL_H

#include "cuda_runtime.h"
#include "kernels/cuda/nccl_api.h"

/* NCCL 2's other result codes (nccl_api.h names only ncclSuccess). */
#define ncclUnhandledCudaError ((ncclResult_t)1)
#define ncclSystemError ((ncclResult_t)2)
#define ncclInternalError ((ncclResult_t)3)
#define ncclInvalidArgument ((ncclResult_t)4)
#define ncclInvalidUsage ((ncclResult_t)5)

/* What the stand-in's ncclGetVersion says: NCCL 2.19.3's code (`info` shows it). */
#define BT_EMU_NCCL_VERSION 21903

#endif
