/* A stand-in for <cub/block/block_reduce.cuh> in the device emulation (tests/emu/device): the
 * calls the gbdt kernels use, on the scheduler's real barriers. Every thread stores its value, a
 * barrier, then thread 0 folds the values in thread order; as in cub the result is valid in
 * thread 0 only, so the others get a poison value (a kernel that reads it elsewhere fails). The
 * caller must __syncthreads before reusing the storage, as with cub. */
#ifndef BT_EMU_CUB_BLOCK_REDUCE_CUH
#define BT_EMU_CUB_BLOCK_REDUCE_CUH

#include <string.h>

namespace cub {

template <typename T> static inline T bt_emu_poison_() {
    T v;
    memset((void *)&v, 0xA5, sizeof v);
    return v;
}

template <typename T, int BLOCK_THREADS> class BlockReduce {
  public:
    struct TempStorage {
        T v[BLOCK_THREADS];
    };
    explicit BlockReduce(TempStorage &s) : s_(s) {}
    template <typename Op> T Reduce(T x, Op op) {
        const int t = linear_();
        s_.v[t] = x;
        __syncthreads();
        if (t != 0) return bt_emu_poison_<T>();
        T r = s_.v[0];
        for (int i = 1; i < BLOCK_THREADS; i++) r = op(r, s_.v[i]);
        return r;
    }
    T Sum(T x) {
        return Reduce(x, [](const T &a, const T &b) { return a + b; });
    }

  private:
    static int linear_() {
        return (int)(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z));
    }
    TempStorage &s_;
};

} // namespace cub

#endif
