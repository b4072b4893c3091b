/* The CUDA module's interface: everything batchtune runs on a GPU -- kernels/cuda, the families'
 * GPU packs (models/<family>/cuda) and the GPU queries (runtime/devices/cuda) -- is one shared
 * library, libbatchtune_cuda.so, that the binary opens with dlopen only when a GPU is asked for
 * or `--device auto` looks for one (runtime/devices/module.c; ggml's dynamically loaded backends
 * are the model). The library exports one function, bt_cuda_module_entry, that hands over this
 * table. The binary links no CUDA library, so a CPU run never pays for CUDA. The device emulation
 * (tests/emu) is a second build of the same module, loaded by path (BT_CUDA_MODULE).
 * Ownership: the table and everything it points to are static in the module, which stays loaded
 * until the process exits. */
#ifndef BT_CUDA_MODULE_H
#define BT_CUDA_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "kernels/optest.h"
#include "models/pack.h"
#include "runtime/devices/devices.h"

/* Bumped whenever this table or a type it passes (bt_pack_ops, bt_gpu_info, bt_model_data, ...)
 * changes layout; a module of another ABI is refused. */
#define BT_CUDA_MODULE_ABI 2

/* What the GPU probe found. */
typedef enum bt_gpu_probe_kind {
    BT_GPU_PROBE_OK = 0,    /* count >= 1 usable GPUs */
    BT_GPU_PROBE_NO_MODULE, /* the CUDA module is not built or cannot load (why says which) */
    BT_GPU_PROBE_NO_DRIVER, /* no NVIDIA driver library on this machine */
    BT_GPU_PROBE_NO_DEVICE, /* a driver, and no GPU (cudaErrorNoDevice) */
    BT_GPU_PROBE_REFUSED    /* a driver that refuses: too old for the build, not initialized... */
} bt_gpu_probe_kind;

typedef struct bt_gpu_probe {
    bt_gpu_probe_kind kind;
    int count;
    char why[256]; /* for people: "cudaGetDeviceCount: CUDA driver version is insufficient..." */
} bt_gpu_probe;

typedef struct bt_cuda_module {
    int abi;             /* BT_CUDA_MODULE_ABI */
    size_t size;         /* sizeof(bt_cuda_module) as built */
    const char *version; /* the batchtune version it was built from (BT_VERSION) */
    const char *build;   /* "CUDA 13.0, sm_80 sm_90" or "emulated (tests/emu)" */

    /* The GPUs: the probe (no side effect but the CUDA runtime's start), then per GPU. */
    void (*probe)(bt_gpu_probe *out);
    bt_status (*gpu_info)(int index, bt_gpu_info *out);
    bt_status (*gpu_select)(int index);
    bt_status (*gpu_mem_used)(int index, int64_t *used);
    /* "CUDA 13.0 runtime, driver 12.8, cuBLAS 13.1.0"; static string. */
    const char *(*versions)(void);
    /* NCCL, which the module loads at run time (libnccl.so.2, for the gbdt data's broadcast to
     * every GPU): 1 when it is there, 0 when not; *status says which ("NCCL 2.28.9, libnccl.so.2,
     * loaded at run time", "NCCL not found: libnccl.so.2: cannot open ...", "the CUDA module was
     * built without NCCL (CMake BT_NCCL=OFF)"), a static string. */
    int (*nccl)(const char **status);

    /* The pack operations of family `family` on the current GPU, or NULL. */
    const bt_pack_ops *(*pack_ops)(const char *family);

    /* The op table (kernels/optest.h): every kernel's suite of cases against its C reference,
     * NULL-terminated; run by `batchtune selftest` and the op tests (tests/cuda/test_ops.c). */
    const bt_op_suite *const *op_suites;
} bt_cuda_module;

/* The one symbol the module exports. */
typedef const bt_cuda_module *(*bt_cuda_module_entry_fn)(void);
#define BT_CUDA_MODULE_ENTRY "bt_cuda_module_entry"

/* ---- the loader (runtime/devices/module.c) ---------------------------------------------------
 */

/* The CUDA module, loaded at the first call (thread-safe), or NULL when it cannot be: not built,
 * no NVIDIA driver, a library it needs missing, another version or ABI. Searched as
 * $BT_CUDA_MODULE (a path; "none" disables the module), else libbatchtune_cuda.so beside
 * libbatchtune.so, beside the executable, or in ../lib from it. With BT_CUDA_MODULE set the driver
 * check is the module's own (so the emulation loads on a machine with no driver). */
const bt_cuda_module *bt_cuda_module_get(void);
/* Why the module is not loaded, or where it was loaded from: "loaded /opt/bt/lib/lib...so" or
 * "not loaded: no NVIDIA driver (libcuda.so.1: cannot open shared object file)". Static string,
 * valid after bt_cuda_module_get. */
const char *bt_cuda_module_status(void);
/* The GPU probe through the module (NO_MODULE or NO_DRIVER with the loader's reason when it did
 * not load). Cached after the first call. */
const bt_gpu_probe *bt_gpu_probe_get(void);

#endif
