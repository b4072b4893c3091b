/* A stand-in for <cub/block/block_scan.cuh> in the device emulation (tests/emu/device): exclusive
 * and inclusive prefix sums over the block in thread order, with the block aggregate returned to
 * every thread (as cub does), on the scheduler's real barriers. The storage starts as garbage, as
 * on a device (the emulation poisons __shared__ variables for each block). The caller must
 * __syncthreads before reusing the storage, as with cub: a missing barrier shows up here as wrong
 * sums. */
#ifndef BT_EMU_CUB_BLOCK_SCAN_CUH
#define BT_EMU_CUB_BLOCK_SCAN_CUH

namespace cub {

template <typename T, int BLOCK_THREADS> class BlockScan {
  public:
    struct TempStorage {
        T v[BLOCK_THREADS], excl[BLOCK_THREADS], all;
        int readers; /* threads past the barrier (0: the prefixes are still to compute) */
    };
    explicit BlockScan(TempStorage &s) : s_(s) {}
    void ExclusiveSum(T in, T &out, T &aggregate) {
        scan_(in, out, aggregate, false);
    }
    void InclusiveSum(T in, T &out, T &aggregate) {
        scan_(in, out, aggregate, true);
    }
    void ExclusiveSum(T in, T &out) {
        T a;
        scan_(in, out, a, false);
    }
    void InclusiveSum(T in, T &out) {
        T a;
        scan_(in, out, a, true);
    }

  private:
    /* Every thread arms the storage before the barrier (so nothing depends on what it held:
     * garbage, or an earlier scan's count; a thread arming it while others still read the
     * previous scan -- a missing barrier -- makes them recompute from the new inputs); the first
     * thread past the barrier computes every prefix (O(threads)). */
    void scan_(T in, T &out, T &aggregate, bool inclusive) {
        const int t = (int)(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z));
        s_.v[t] = in;
        s_.readers = 0;
        __syncthreads();
        if (s_.readers++ == 0) {
            T acc = T();
            for (int i = 0; i < BLOCK_THREADS; i++) {
                s_.excl[i] = acc;
                acc = acc + s_.v[i];
            }
            s_.all = acc;
        }
        out = inclusive ? s_.excl[t] + s_.v[t] : s_.excl[t];
        aggregate = s_.all;
    }
    TempStorage &s_;
};

} // namespace cub

#endif
