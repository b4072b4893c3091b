/* bt_pool: every item of every batch runs exactly once, batches do not overlap, at most `width`
 * items run at once and, with width > 1 and slow items, more than one does. */
#include <stdatomic.h>
#include <time.h>

#include "runtime/exec/pool.h"
#include "tests/bt_test.h"

typedef struct batch {
    atomic_int *hits;
    atomic_int running, peak;
    unsigned seed;
    int batch_id;
    atomic_int wrong_batch;
    int *owner; /* per item: the batch that last ran it (checks that batches do not overlap) */
} batch;

static void item(void *ctx, int i) {
    batch *b = ctx;
    int now = atomic_fetch_add(&b->running, 1) + 1;
    int seen = atomic_load(&b->peak);
    while (now > seen && !atomic_compare_exchange_weak(&b->peak, &seen, now)) {
    }
    atomic_fetch_add(&b->hits[i], 1);
    struct timespec ts = {0, (long)((b->seed ^ (unsigned)i * 2654435761u) % 200u) * 1000L};
    nanosleep(&ts, NULL);
    if (b->owner[i] != b->batch_id - 1) atomic_fetch_add(&b->wrong_batch, 1);
    b->owner[i] = b->batch_id;
    atomic_fetch_sub(&b->running, 1);
}

int main(void) {
    unsigned seed = (unsigned)time(NULL);
    printf("seed %u\n", seed);
    srand(seed);
    for (int width = 0; width <= 5; width++) {
        bt_pool *p = NULL;
        CHECK_OK(bt_pool_init(&p, width));
        CHECK_EQ_INT(bt_pool_width(p), width < 1 ? 1 : width);
        enum { MAXN = 40 };
        atomic_int hits[MAXN];
        int owner[MAXN];
        for (int i = 0; i < MAXN; i++) owner[i] = 0;
        int max_peak = 0;
        for (int rep = 1; rep <= 30; rep++) {
            int n = rep == 1 ? 0 : rep == 2 ? 1 : rand() % MAXN;
            batch b = {.hits = hits, .seed = (unsigned)rand(), .batch_id = rep, .owner = owner};
            atomic_init(&b.running, 0);
            atomic_init(&b.peak, 0);
            atomic_init(&b.wrong_batch, 0);
            for (int i = 0; i < MAXN; i++) {
                atomic_init(&hits[i], 0);
                owner[i] = i < n ? rep - 1 : owner[i];
            }
            bt_pool_run(p, n, item, &b);
            int bad = 0;
            for (int i = 0; i < MAXN; i++) bad += atomic_load(&hits[i]) != (i < n);
            CHECK_MSG(bad == 0, "width %d batch %d: %d items ran != once", width, rep, bad);
            CHECK_EQ_INT(atomic_load(&b.wrong_batch), 0);
            CHECK_EQ_INT(atomic_load(&b.running), 0); /* nothing still running after return */
            CHECK(atomic_load(&b.peak) <= (width < 1 ? 1 : width));
            if (atomic_load(&b.peak) > max_peak) max_peak = atomic_load(&b.peak);
            for (int i = 0; i < n; i++) owner[i] = rep;
        }
        if (width >= 2) CHECK_MSG(max_peak >= 2, "width %d never ran 2 items at once", width);
        bt_pool_free(p);
    }
    bt_pool_free(NULL);
    return bt_test_finish("test_pool");
}
