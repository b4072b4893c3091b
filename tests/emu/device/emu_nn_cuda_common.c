/* models/nn/cuda_common.c (the nn GPU packs' shared core) compiled as CUDA host code against the
 * emulated runtime, for the device emulation tests only (the library's copy is built without
 * CUDA and is empty). */
#undef BT_HAVE_CUDA
#define BT_HAVE_CUDA 1
#include "models/nn/cuda/common.c"
