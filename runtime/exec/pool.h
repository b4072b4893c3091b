/* bt_pool: a few long-lived host threads that run the items of a batch in parallel, one item per
 * thread at a time, and return when every item is done. The executor uses it to step packs that
 * own their device stream (GPU packs) from several threads at once, so one pack's host work and
 * waits overlap another pack's kernels. The calling thread works on items too.
 * Ownership: bt_pool_init allocates the pool and starts its threads; bt_pool_free joins and frees
 * them (bt_pool_free(NULL) is a no-op). A pool is driven from one thread at a time. */
#ifndef BT_POOL_H
#define BT_POOL_H

#include "base/status.h"

typedef struct bt_pool bt_pool;

/* Work on item i of a batch; runs on any thread of the pool (or the caller's). */
typedef void (*bt_pool_fn)(void *ctx, int i);

/* A pool that runs up to `width` items at once: width - 1 threads besides the caller's.
 * width <= 1 starts no thread (bt_pool_run then runs items in order on the caller's thread). */
bt_status bt_pool_init(bt_pool **out, int width);
void bt_pool_free(bt_pool *p);
/* Items a pool runs at once. */
int bt_pool_width(const bt_pool *p);
/* Calls fn(ctx, i) for every i in [0, n) and returns when all calls have returned. Items are
 * taken in increasing order but may finish in any order; fn reports failure through ctx. */
void bt_pool_run(bt_pool *p, int n, bt_pool_fn fn, void *ctx);

#endif
