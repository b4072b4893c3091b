/* models/gbdt/pack_cuda.c compiled as CUDA code against the emulated runtime (tests/emu), for the
 * emulation tests only: the library's copy of that file is built without CUDA. */
#undef BT_HAVE_CUDA
#define BT_HAVE_CUDA 1
#include "models/gbdt/cuda/pack.c"
