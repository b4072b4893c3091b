/* runtime/cuda/arena: a planning arena's count equals what the same allocation sequence needs
 * on the device; pieces are aligned, disjoint and usable (written and read back); a full arena
 * refuses with a status instead of overrunning; reset reuses the block. */
#include "tests/cuda/gpu_test.h"

extern "C" {
#include "kernels/cuda/arena.h"
}

int main(void) {
    BT_GPU_TEST_REQUIRE_GPU();
    bt_gpu_test_seed("test_arena");
    const int n = 40;
    size_t sizes[n], aligns[n];
    for (int i = 0; i < n; i++) {
        sizes[i] = (size_t)irand(5000);
        aligns[i] = (size_t)1 << irand(9); /* 1 .. 256 */
    }
    bt_cuda_arena plan;
    bt_cuda_arena_plan(&plan);
    for (int i = 0; i < n; i++) {
        void *p = (void *)1;
        CHECK_OK(bt_cuda_arena_alloc(&plan, sizes[i], aligns[i], &p));
        CHECK(p == NULL);
    }
    bt_cuda_arena a;
    CHECK_OK(bt_cuda_arena_init(&a, plan.used));
    std::vector<char *> ptr(n);
    for (int i = 0; i < n; i++) {
        void *p = NULL;
        CHECK_OK(bt_cuda_arena_alloc(&a, sizes[i], aligns[i], &p));
        ptr[i] = (char *)p;
        CHECK(((uintptr_t)p & (aligns[i] - 1)) == 0);
        if (i > 0) CHECK(ptr[i] >= ptr[i - 1] + sizes[i - 1]); /* disjoint, in order */
    }
    CHECK_EQ_INT(a.used, plan.used);
    /* every piece holds its own bytes */
    for (int i = 0; i < n; i++)
        if (sizes[i]) CUDA_OK(cudaMemset(ptr[i], i + 1, sizes[i]));
    for (int i = 0; i < n; i++) {
        std::vector<char> h = host_from(ptr[i], sizes[i]);
        bool ok = true;
        for (char c : h) ok = ok && c == (char)(i + 1);
        CHECK_MSG(ok, "piece %d overwritten", i);
    }
    /* full: refused, state unchanged */
    void *p = NULL;
    size_t used = a.used;
    CHECK(bt_cuda_arena_alloc(&a, 1 + a.size - a.used, 1, &p) == BT_STATUS_INTERNAL);
    CHECK(a.used == used);
    CHECK(bt_cuda_arena_alloc(&a, 8, 3, &p) == BT_STATUS_INTERNAL);   /* not a power of two */
    CHECK(bt_cuda_arena_alloc(&a, 8, 512, &p) == BT_STATUS_INTERNAL); /* above 256 */
    bt_cuda_arena_reset(&a);
    CHECK_OK(bt_cuda_arena_alloc(&a, sizes[0], aligns[0], &p));
    CHECK((char *)p == ptr[0]);
    bt_cuda_arena_free(&a);
    bt_cuda_arena_free(NULL);
    CHECK(a.base == NULL && a.size == 0);
    return bt_test_finish("test_arena");
}
