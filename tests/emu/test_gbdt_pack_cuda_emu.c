/* tests/cuda/test_gbdt_pack_cuda.c, the GPU pack's own test, run against the CUDA emulation
 * (tests/emu): the test's logic and the pack's host code run in CI; its kernels do not (emu.h). */
#undef BT_HAVE_CUDA
#define BT_HAVE_CUDA 1
#include "tests/cuda/test_gbdt_pack_cuda.c"
