/* models/nn/vtable_cuda.c compiled with CUDA against the emulated runtime, so
 * bt_model_for_device(mlp, 1) returns the CUDA mlp pack in the device emulation tests only. */
#undef BT_HAVE_CUDA
#define BT_HAVE_CUDA 1
#include "models/nn/vtable_cuda.c"
