/* The op table (kernels/optest.h) as a test: every CUDA kernel's cases against their C references
 * on fresh random inputs, through the CUDA module as `batchtune selftest` runs them -- on a GPU
 * (gpu_test_ops), or on the device emulation's module loaded by path (ops_<op>_emu, and
 * ops_<op>_emu_shuffled with blocks and threads in random orders). SKIP (77) only when there is no
 * GPU at all: no module in this build, no driver, no device; a driver that refuses fails with its
 * reason. BT_TEST_SEED replays a seed; BT_OPS_ONLY=name runs the op of that exact name only. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "runtime/devices/selftest.h"
#include "tests/cuda/gpu_skip.h"

static void print_row(void *ctx, const bt_selftest_row *row) {
    (void)ctx;
    printf("%s %-16s %-62.62s %7.3f s checks %" PRId64 " worst %.3g\n",
           row->passed ? "pass" : "FAIL", row->name, row->desc, row->seconds, row->r.checks,
           row->r.worst);
    if (!row->passed)
        fprintf(stderr, "  %s: %s\n", row->name,
                row->r.status != BT_STATUS_OK ? row->r.status_msg : row->r.first);
}

int main(void) {
    BT_GPU_TEST_GATE("test_ops");
    const char *s = getenv("BT_TEST_SEED");
    uint64_t seed = s && *s ? strtoull(s, NULL, 10) : (uint64_t)time(NULL);
    printf("test_ops: seed %" PRIu64 " (BT_TEST_SEED replays it), module: %s\n", seed,
           bt_cuda_module_status());
    bt_selftest_opts o = {
        .gpu = 0, .seed = seed, .ops = 1, .only = getenv("BT_OPS_ONLY"), .only_exact = 1};
    bt_selftest_summary sum;
    bt_status st = bt_selftest_run(&o, print_row, NULL, &sum);
    if (st != BT_STATUS_OK) {
        fprintf(stderr, "test_ops: %s\n", bt_status_message());
        return 1;
    }
    printf("test_ops: %d cases, %d failed\n", sum.rows, sum.failed);
    return sum.failed || sum.rows == 0 ? 1 : 0;
}
