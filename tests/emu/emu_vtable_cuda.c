/* models/gbdt/vtable_cuda.c compiled as CUDA code against the emulated runtime (tests/emu), so
 * bt_model_for_device(gbdt, 1) returns the CUDA pack in the emulation tests only. */
#undef BT_HAVE_CUDA
#define BT_HAVE_CUDA 1
#include "models/gbdt/cuda/ops.c"
