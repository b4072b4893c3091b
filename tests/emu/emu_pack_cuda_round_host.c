/* models/gbdt/cuda/round_host.c compiled as CUDA code against the emulated runtime (tests/emu),
 * like emu_pack_cuda.c for pack.c: the library's copy of that file is built without CUDA. */
#undef BT_HAVE_CUDA
#define BT_HAVE_CUDA 1
#include "models/gbdt/cuda/round_host.c"
