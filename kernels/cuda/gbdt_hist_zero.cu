/* CUDA twin of bt_gbdt_hist_zero_ref (kernels/gbdt_hist.h): one launch clears the histograms a
 * level is about to build, instead of one cudaMemsetAsync per histogram; the items live in device
 * memory, so a captured graph replays with new ranges. Stores of zeros: bit-identical. */
#include <stdint.h>

#include "kernels/cuda/check.cuh"

extern "C" {
#include "kernels/gbdt_hist.h"
}

namespace {

constexpr int ZERO_THREADS = 256;
constexpr int ZERO_BLOCKS = 64; /* per item; a grid-stride loop covers longer ranges */
constexpr int MAX_GRID_Y = 65535;

/* grid = (ZERO_BLOCKS, items) */
__global__ void hist_zero_kernel(bt_gbdt_gh *hist,
                                 const bt_gbdt_hist_zero_item *__restrict__ items) {
    const bt_gbdt_hist_zero_item it = items[blockIdx.y];
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < it.n;
         i += (int64_t)gridDim.x * blockDim.x) {
        bt_gbdt_gh z;
        z.g = 0;
        z.h = 0;
        hist[it.offset + i] = z;
    }
}

} // namespace

extern "C" bt_status bt_gbdt_hist_zero_cuda(bt_gbdt_gh *hist, const bt_gbdt_hist_zero_item *items,
                                            int32_t n_items, void *stream) {
    if (n_items < 0) return BT_FAIL(BT_STATUS_BAD_INPUT, "hist_zero_cuda: %d items", (int)n_items);
    for (int32_t done = 0; done < n_items; done += MAX_GRID_Y) {
        const int32_t m = n_items - done < MAX_GRID_Y ? n_items - done : MAX_GRID_Y;
        hist_zero_kernel<<<dim3(ZERO_BLOCKS, (unsigned)m), ZERO_THREADS, 0, (cudaStream_t)stream>>>(
            hist, items + done);
        BT_CUDA_CHECK_LAUNCH();
    }
    return BT_STATUS_OK;
}
