/* What the gbdt suites of the op table share beyond optest.cuh: an integer check that prints both
 * sides, and host buffers filled with random bytes, so an output a kernel fails to write cannot
 * match the reference by chance. Internal to kernels/cuda/optest. */
#ifndef BT_GBDT_OPTEST_CUH
#define BT_GBDT_OPTEST_CUH

#include "kernels/cuda/optest/optest.cuh"

#ifndef CHECK_EQ_INT
#define CHECK_EQ_INT(a, b)                                                                         \
    CHECK_MSG((long long)(a) == (long long)(b), "%lld != %lld", (long long)(a), (long long)(b))
#endif

/* Every byte of every element random. */
template <typename T> static void garbage(std::vector<T> &v) {
    for (auto &x : v)
        for (size_t b = 0; b < sizeof(T); b++) ((unsigned char *)&x)[b] = (unsigned char)rnd_u64();
}

#endif
