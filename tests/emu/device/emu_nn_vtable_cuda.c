/* models/nn/vtable_cuda.c compiled with CUDA against the emulated runtime, so
 * bt_model_for_device(mlp or resnet, 1) returns the CUDA nn packs in the device emulation tests
 * only (link emu_nn_pack_cuda.c, emu_nn_resnet_cuda.c and emu_nn_cuda_common.c with it). */
#undef BT_HAVE_CUDA
#define BT_HAVE_CUDA 1
#include "models/nn/cuda/ops.c"
