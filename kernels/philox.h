/* Philox4x32-10 counter-based generator (Salmon et al., SC'11), the one source of randomness.
 * Header-only and usable from C and CUDA alike, so the CPU reference and the GPU kernels draw the
 * same numbers: a stream is keyed by (sweep seed, trial id) and indexed by a 64-bit counter
 * (e.g. round * n_rows + row). No state, no ownership. */
#ifndef BT_PHILOX_H
#define BT_PHILOX_H

#include <stdint.h>

#ifdef __CUDACC__
#define BT_HD __host__ __device__ __forceinline__
#else
#define BT_HD static inline
#endif

typedef struct bt_philox_out {
    uint32_t v[4];
} bt_philox_out;

BT_HD uint32_t bt_mulhilo32_(uint32_t a, uint32_t b, uint32_t *hi) {
    uint64_t p = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(p >> 32);
    return (uint32_t)p;
}

/* One Philox4x32-10 block: key = 64-bit key, ctr = 128-bit counter given as two 64-bit halves. */
BT_HD bt_philox_out bt_philox4x32(uint64_t key, uint64_t ctr_lo, uint64_t ctr_hi) {
    uint32_t c0 = (uint32_t)ctr_lo, c1 = (uint32_t)(ctr_lo >> 32);
    uint32_t c2 = (uint32_t)ctr_hi, c3 = (uint32_t)(ctr_hi >> 32);
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    for (int r = 0; r < 10; r++) {
        uint32_t hi0, hi1;
        uint32_t lo0 = bt_mulhilo32_(0xD2511F53u, c0, &hi0);
        uint32_t lo1 = bt_mulhilo32_(0xCD9E8D57u, c2, &hi1);
        uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
        c0 = n0;
        c1 = n1;
        c2 = n2;
        c3 = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    bt_philox_out o = {{c0, c1, c2, c3}};
    return o;
}

/* Mixes a sweep seed and a trial id (or any pair) into one 64-bit key (splitmix64 finalizer). */
BT_HD uint64_t bt_philox_key(uint64_t seed, uint64_t id) {
    uint64_t z = seed + 0x9E3779B97F4A7C15ull * (id + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform double in [0, 1) with 53 random bits, from counter (ctr, stream). */
BT_HD double bt_philox_uniform(uint64_t key, uint64_t ctr, uint64_t stream) {
    bt_philox_out o = bt_philox4x32(key, ctr, stream);
    uint64_t bits = ((uint64_t)o.v[0] << 21) ^ ((uint64_t)o.v[1] >> 11);
    return (double)(bits & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
}

/* Uniform 32-bit integer, for fixed-point sampling decisions compared exactly on CPU and GPU. */
BT_HD uint32_t bt_philox_u32(uint64_t key, uint64_t ctr, uint64_t stream) {
    return bt_philox4x32(key, ctr, stream).v[0];
}

#endif
