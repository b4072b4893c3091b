/* `batchtune info`: CPU cores, every GPU, and the features this build has. */
#include <H5public.h>
#include <stdio.h>

#include "cli.h"
#include "runtime/devices.h"

int bt_cmd_info(int argc, char **argv) {
    if (argc > 1 && bt_cli_is_help(argv[1])) {
        puts("usage: batchtune info\n\nPrints CPU cores, every GPU (name, memory, compute "
             "capability) and which features this build has.");
        return 0;
    }
    unsigned maj = 0, min = 0, rel = 0;
    H5get_libversion(&maj, &min, &rel);
    printf("batchtune %s\n", BT_VERSION);
    printf("cpu: %d cores\n", bt_cpu_cores());
    int n = bt_gpu_count();
    printf("gpus: %d\n", n);
    for (int i = 0; i < n; i++) {
        bt_gpu_info g;
        if (bt_gpu_info_get(i, &g) != BT_STATUS_OK) continue;
        printf("  cuda:%d  %s  %.1f GiB (%.1f GiB free)  compute %d.%d  %d SMs\n", i, g.name,
               (double)g.total_mem / (1u << 30), (double)g.free_mem / (1u << 30), g.cc_major,
               g.cc_minor, g.sm_count);
    }
    printf("features:\n");
    printf("  cuda    %s (%s)\n", BT_HAVE_CUDA ? "yes" : "no", bt_cuda_version_string());
    printf("  nccl    no\n");
    printf("  mpi     no\n");
    printf("  hdf5    %u.%u.%u\n", maj, min, rel);
#ifdef _OPENMP
    printf("  openmp  yes\n");
#else
    printf("  openmp  no\n");
#endif
    return 0;
}
