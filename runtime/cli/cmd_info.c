/* `batchtune info`: CPU cores, the CUDA module and every GPU, and the features this build has. */
#include <H5public.h>
#include <stdio.h>

#include "runtime/cli/cli.h"
#include "runtime/devices/cuda_module.h"
#include "runtime/devices/devices.h"
#include "runtime/devices/nvml.h"
#include "runtime/mpi/comm.h"
#include "sweeps/spec/yaml_read.h"

int bt_cmd_info(int argc, char **argv) {
    if (argc > 1 && bt_cli_is_help(argv[1])) {
        puts("usage: batchtune info\n\nPrints CPU cores, the CUDA module (loaded from where, or "
             "why not), every GPU (name, memory, compute capability) and which features this "
             "build has.\n");
        fputs(bt_cli_exit_codes, stdout);
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "batchtune info: unexpected '%s' (info takes no arguments)\n", argv[1]);
        return BT_STATUS_USAGE;
    }
    unsigned maj = 0, min = 0, rel = 0;
    H5get_libversion(&maj, &min, &rel);
    printf("batchtune %s\n", BT_VERSION);
    printf("cpu: %d cores\n", bt_cpu_cores());
    /* the CUDA module: where it loaded from, or why not; then what the GPU probe found */
    printf("cuda module: %s\n", bt_cuda_module_status());
    const bt_gpu_probe *probe = bt_gpu_probe_get();
    int n = bt_gpu_count();
    if (probe->kind == BT_GPU_PROBE_OK)
        printf("gpus: %d\n", n);
    else
        printf("gpus: 0 (%s)\n", probe->why);
    for (int i = 0; i < n; i++) {
        bt_gpu_info g;
        if (bt_gpu_info_get(i, &g) != BT_STATUS_OK) continue;
        printf("  cuda:%d  %s  %.1f GiB (%.1f GiB free)  compute %d.%d  %d SMs\n", i, g.name,
               (double)g.total_mem / (1u << 30), (double)g.free_mem / (1u << 30), g.cc_major,
               g.cc_minor, g.sm_count);
    }
    printf("features:\n");
    printf("  cuda    %s (%s)\n", bt_build_cuda() ? "yes" : "no", bt_cuda_version_string());
    {
        /* NVML is loaded at run time: say whether `bench` will have GPU utilization */
        int ids[64];
        for (int i = 0; i < n && i < 64; i++) ids[i] = i;
        char why[256];
        bt_gpu_source src;
        if (bt_nvml_open(&src, ids, n < 64 ? n : 64, why, sizeof why) == BT_STATUS_OK) {
            printf("  nvml    yes (libnvidia-ml.so.1, loaded at run time)\n");
            bt_gpu_source_close(&src);
        } else {
            printf("  nvml    no (%s)\n", why);
        }
    }
    {
        /* the CUDA module loads NCCL at run time: found (its version), or why not */
        const bt_cuda_module *m = bt_cuda_module_get();
        const char *why = "no CUDA module";
        if (m && m->nccl(&why))
            printf("  nccl    yes (%s: shared data broadcast to every GPU)\n", why);
        else if (m)
            printf("  nccl    no (%s: each GPU's data is uploaded from the host)\n", why);
        else
            printf("  nccl    no (%s)\n", why);
    }
    if (bt_comm_built())
        printf("  mpi     yes (%s; mpirun -np N batchtune run ..., docs/cluster.md)\n",
               bt_comm_version());
    else
        printf("  mpi     no (built without MPI: Debian's libopenmpi-dev, CMake BT_MPI)\n");
    printf("  hdf5    %u.%u.%u\n", maj, min, rel);
    const char *yaml = bt_yaml_version();
    if (yaml)
        printf("  yaml    libyaml %s\n", yaml);
    else
        printf("  yaml    no (built without libyaml-dev: YAML sweep files are refused)\n");
#ifdef _OPENMP
    printf("  openmp  yes\n");
#else
    printf("  openmp  no\n");
#endif
    return 0;
}
