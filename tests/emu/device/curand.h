/* A fake <curand.h> for the device emulation (tests/emu/device): only the status codes
 * kernels/cuda/check.cuh names (no kernel calls cuRAND: randomness is Philox, kernels/philox.h). */
#ifndef BT_EMU_CURAND_H
#define BT_EMU_CURAND_H

typedef enum {
    CURAND_STATUS_SUCCESS = 0,
    CURAND_STATUS_NOT_INITIALIZED = 101,
    CURAND_STATUS_ALLOCATION_FAILED = 102,
    CURAND_STATUS_LAUNCH_FAILURE = 201,
    CURAND_STATUS_ARCH_MISMATCH = 202
} curandStatus_t;

#endif
