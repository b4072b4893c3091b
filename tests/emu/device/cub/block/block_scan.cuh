/* A stand-in for <cub/block/block_scan.cuh> in the device emulation (tests/emu/device): exclusive
 * and inclusive prefix sums over the block in thread order, with the block aggregate returned to
 * every thread (as cub does), on the scheduler's real barriers. The caller must __syncthreads
 * before reusing the storage, as with cub: a missing barrier shows up here as wrong sums. */
#ifndef BT_EMU_CUB_BLOCK_SCAN_CUH
#define BT_EMU_CUB_BLOCK_SCAN_CUH

namespace cub {

template <typename T, int BLOCK_THREADS> class BlockScan {
  public:
    struct TempStorage {
        T v[BLOCK_THREADS], excl[BLOCK_THREADS], all;
        int readers; /* threads that took their result since the last barrier */
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
    /* The first thread past the barrier computes every prefix (O(threads)); the last to read
     * re-arms the storage for the next scan. */
    void scan_(T in, T &out, T &aggregate, bool inclusive) {
        const int t = (int)(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z));
        s_.v[t] = in;
        __syncthreads();
        if (s_.readers == 0) {
            T acc = T();
            for (int i = 0; i < BLOCK_THREADS; i++) {
                s_.excl[i] = acc;
                acc = acc + s_.v[i];
            }
            s_.all = acc;
        }
        out = inclusive ? s_.excl[t] + s_.v[t] : s_.excl[t];
        aggregate = s_.all;
        if (++s_.readers == BLOCK_THREADS) s_.readers = 0;
    }
    TempStorage &s_;
};

} // namespace cub

#endif
