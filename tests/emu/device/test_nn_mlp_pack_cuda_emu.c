/* tests/cuda/test_nn_mlp_pack_cuda.c, the CUDA mlp pack's own test, run on the device emulation:
 * the pack's host code, the real nn kernels (as fibers) and the cuBLAS mock (tests/emu/device). */
#undef BT_HAVE_CUDA
#define BT_HAVE_CUDA 1
#include "tests/cuda/test_nn_mlp_pack_cuda.c"
