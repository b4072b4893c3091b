/* A stand-in for <cub/device/device_segmented_sort.cuh> in the device emulation
 * (tests/emu/device): SortPairsDescending as a host stable sort per segment, queued on the stream
 * (so it runs in stream order and reads the offsets the device wrote). The size query asks for
 * 256 bytes of temporary storage, which must then be passed in. */
#ifndef BT_EMU_CUB_DEVICE_SEGMENTED_SORT_CUH
#define BT_EMU_CUB_DEVICE_SEGMENTED_SORT_CUH

#include <stdint.h>
#include <stdlib.h>

#include <algorithm>
#include <vector>

#include "emu.h"

namespace cub {

struct DeviceSegmentedSort {
    template <typename K, typename V, typename O> struct bt_emu_job_ {
        const K *keys_in;
        K *keys_out;
        const V *vals_in;
        V *vals_out;
        int64_t num_segments;
        O begin, end;
        static void run(void *p) {
            const bt_emu_job_ *j = (const bt_emu_job_ *)p;
            bt_emu_count_kernel();
            std::vector<std::pair<K, V>> seg;
            for (int64_t s = 0; s < j->num_segments; s++) {
                int64_t b = (int64_t)j->begin[s], e = (int64_t)j->end[s];
                seg.clear();
                for (int64_t i = b; i < e; i++) seg.push_back({j->keys_in[i], j->vals_in[i]});
                std::stable_sort(seg.begin(), seg.end(),
                                 [](const std::pair<K, V> &x, const std::pair<K, V> &y) {
                                     return x.first > y.first;
                                 });
                for (int64_t i = b; i < e; i++) {
                    j->keys_out[i] = seg[(size_t)(i - b)].first;
                    j->vals_out[i] = seg[(size_t)(i - b)].second;
                }
            }
        }
    };

    template <typename K, typename V, typename N, typename S, typename O>
    static cudaError_t SortPairsDescending(void *temp, size_t &temp_bytes, const K *keys_in,
                                           K *keys_out, const V *vals_in, V *vals_out, N num_items,
                                           S num_segments, O begin_offsets, O end_offsets,
                                           cudaStream_t stream = 0) {
        (void)num_items;
        if (!temp) {
            temp_bytes = 256;
            return cudaSuccess;
        }
        if (temp_bytes < 256 || !bt_emu_check(temp, 256, "segmented sort temporary storage"))
            return cudaErrorInvalidValue;
        bt_emu_job_<K, V, O> j = {
            keys_in,       keys_out,   vals_in, vals_out, (int64_t)num_segments,
            begin_offsets, end_offsets};
        return bt_emu_enqueue(stream, &bt_emu_job_<K, V, O>::run, &j, sizeof j, 1);
    }
};

} // namespace cub

#endif
