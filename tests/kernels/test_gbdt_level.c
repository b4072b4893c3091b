/* bt_gbdt_level_prepare_ref (kernels/gbdt_level.h) on fresh random sibling pairs: the children's
 * ranges tile the parent's rows, the smaller child (the left one on ties) is the one built into
 * the fresh histogram and the larger inherits the parent's, out-of-range left counts are clamped,
 * padding resolves to zeros -- checked against a direct restatement of those rules. */
#include <stdlib.h>
#include <time.h>

#include "kernels/gbdt_level.h"
#include "tests/bt_test.h"

static uint64_t rng = 1;
static uint64_t next(void) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}
static int64_t irand(int64_t n) {
    return (int64_t)(next() % (uint64_t)n);
}

int main(void) {
    const char *s = getenv("BT_TEST_SEED");
    uint64_t seed = s && *s ? strtoull(s, NULL, 10) : (uint64_t)time(NULL);
    printf("test_gbdt_level: seed %llu (BT_TEST_SEED replays it)\n", (unsigned long long)seed);
    rng = seed * 0x9E3779B97F4A7C15ull + 1;
    enum { N = 2000 };
    static bt_gbdt_level_pair pairs[N];
    static int64_t n_left[N];
    static bt_gbdt_level_out out[N];
    for (int i = 0; i < N; i++) {
        bt_gbdt_level_pair *p = &pairs[i];
        p->seg = irand(100) * 1000;
        p->parent_rows = irand(3) == 0 ? irand(3) : irand(1000);
        p->parent_begin = irand(1000);
        p->parent_hist = irand(50) * 10;
        p->new_hist = 1000 + irand(50) * 10;
        p->part = irand(10) == 0 ? -1 : (int32_t)irand(N);
        int64_t k = irand(4);
        n_left[i] = k == 0 ? -1 - irand(3) : k == 1 ? 2000 : irand(1001);
    }
    bt_gbdt_level_prepare_ref(pairs, N, n_left, out);
    int bad = 0, ties = 0, right_small = 0;
    for (int i = 0; i < N; i++) {
        const bt_gbdt_level_pair *p = &pairs[i];
        const bt_gbdt_level_out *o = &out[i];
        if (p->part < 0) {
            bad += o->small_begin || o->small_rows || o->left_hist || o->left_rows ||
                   o->right_hist || o->right_rows;
            continue;
        }
        int64_t nl = n_left[p->part];
        nl = nl < 0 ? 0 : nl > p->parent_rows ? p->parent_rows : nl;
        int64_t nr = p->parent_rows - nl;
        bad += o->left_rows != nl || o->right_rows != nr;
        if (nl <= nr) {
            ties += nl == nr;
            bad += o->small_begin != p->parent_begin || o->small_rows != nl ||
                   o->left_hist != p->new_hist || o->right_hist != p->parent_hist;
        } else {
            right_small++;
            bad += o->small_begin != p->parent_begin + nl || o->small_rows != nr ||
                   o->left_hist != p->parent_hist || o->right_hist != p->new_hist;
        }
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(ties > 0 && right_small > 0); /* both branches were exercised */
    return bt_test_finish("test_gbdt_level");
}
