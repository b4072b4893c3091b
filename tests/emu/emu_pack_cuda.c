/* models/gbdt/cuda/pack.c compiled as CUDA code against the emulated runtime (tests/emu), for the
 * emulation tests only: the library's copy of that file is built without CUDA. The pack's other
 * files in models/gbdt/cuda/ have one such wrapper each (emu_pack_cuda_*.c). */
#undef BT_HAVE_CUDA
#define BT_HAVE_CUDA 1
#include "models/gbdt/cuda/pack.c"
