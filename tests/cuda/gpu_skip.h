/* The GPU tests' skip rule, one for all (C and CUDA): SKIP (exit 77) only when there is no GPU at
 * all -- no CUDA module in this build, no NVIDIA driver on the machine, no device -- and FAIL
 * (exit 1) with the reason when a driver is there but refuses (too old for the build's CUDA, not
 * initialized, any other error), so a run on a GPU machine never reads "0 failed" because every
 * test skipped. The verdict comes from the CUDA module's probe (runtime/devices/cuda_module.h);
 * the emulation's tests point BT_CUDA_MODULE at its module. Header-only. */
#ifndef BT_GPU_SKIP_H
#define BT_GPU_SKIP_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif
#include "runtime/devices/cuda_module.h"
#ifdef __cplusplus
}
#endif

/* -1: go on; else the exit code main returns (77 skip, 1 a refusing driver). */
static inline int bt_gpu_test_gate(const char *name) {
    const bt_gpu_probe *p = bt_gpu_probe_get();
    switch (p->kind) {
    case BT_GPU_PROBE_OK:
        return -1;
    case BT_GPU_PROBE_NO_MODULE:
    case BT_GPU_PROBE_NO_DRIVER:
    case BT_GPU_PROBE_NO_DEVICE:
        printf("SKIP: %s\n", p->why);
        return 77;
    default:
        fprintf(stderr, "%s: FAIL: a GPU driver is here but CUDA refuses it: %s\n", name, p->why);
        return 1;
    }
}

/* In main: returns 77 (no GPU) or 1 (a driver that refuses) before the test's first CUDA call. */
#define BT_GPU_TEST_GATE(name)                                                                     \
    do {                                                                                           \
        int gate_rc_ = bt_gpu_test_gate(name);                                                     \
        if (gate_rc_ >= 0) return gate_rc_;                                                        \
    } while (0)

#endif
