/* The CUDA module's entry point (runtime/devices/cuda_module.h): the one exported function that
 * hands the binary the module's table -- its GPU queries (devices.cu), every family's GPU pack
 * operations (models/<family>/cuda/ops.c), the op table for selftest and whether NCCL loaded.
 * Built into libbatchtune_cuda.so and, against the emulated runtime, into the device emulation's
 * module. */
#include <string.h>

#include "models/gbdt/gbdt.h"
#include "models/nn/nn.h"
#include "models/nn/resnet.h"
#include "runtime/devices/cuda_module.h"
#if BT_HAVE_NCCL
#include "kernels/cuda/nccl_api.h"
#endif

#ifndef BT_CUDA_MODULE_BUILD
#define BT_CUDA_MODULE_BUILD "CUDA"
#endif

/* devices.cu */
void bt_cudev_probe(bt_gpu_probe *out);
bt_status bt_cudev_info(int index, bt_gpu_info *out);
bt_status bt_cudev_select(int index);
bt_status bt_cudev_mem_used(int index, int64_t *used);
const char *bt_cudev_versions(void);

/* kernels/cuda/optest/suites.c */
extern const bt_op_suite *const bt_optest_suites[];

static int nccl(const char **status) {
#if BT_HAVE_NCCL
    int found = bt_nccl_get() != NULL;
    *status = bt_nccl_status();
    return found;
#else
    *status = "the CUDA module was built without NCCL (CMake BT_NCCL=OFF)";
    return 0;
#endif
}

static const bt_pack_ops *pack_ops(const char *family) {
    if (!family) return NULL;
    if (strcmp(family, "gbdt") == 0) return &bt_gbdt_cuda_packs;
    if (strcmp(family, "mlp") == 0) return &bt_mlp_cuda_packs;
    if (strcmp(family, "resnet") == 0) return &bt_resnet_cuda_packs;
    return NULL;
}

const bt_cuda_module *bt_cuda_module_entry(void);

const bt_cuda_module *bt_cuda_module_entry(void) {
    static const bt_cuda_module m = {
        .abi = BT_CUDA_MODULE_ABI,
        .size = sizeof(bt_cuda_module),
        .version = BT_VERSION,
        .build = BT_CUDA_MODULE_BUILD,
        .probe = bt_cudev_probe,
        .gpu_info = bt_cudev_info,
        .gpu_select = bt_cudev_select,
        .gpu_mem_used = bt_cudev_mem_used,
        .versions = bt_cudev_versions,
        .nccl = nccl,
        .pack_ops = pack_ops,
        .op_suites = bt_optest_suites,
    };
    return &m;
}
