/* The host thread pool of pool.h: workers sleep on a condition variable between batches and take
 * items from a shared counter, so the cost of a batch is a wake-up, not a thread start. */
#include "runtime/exec/pool.h"

#include <pthread.h>
#include <stdlib.h>

struct bt_pool {
    int width;
    int n_threads;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t work; /* a new batch, or shutdown */
    pthread_cond_t done; /* the last item of a batch finished */
    /* the current batch, under mu */
    bt_pool_fn fn;
    void *ctx;
    int n, next, running; /* items, next item to take, items taken and not yet finished */
    unsigned long batch;  /* batch counter, so a worker never works on a batch twice */
    int stop;
};

/* Takes and runs items of the current batch until none is left; called with mu held, returns with
 * mu held. */
static void drain(bt_pool *p) {
    while (p->next < p->n) {
        int i = p->next++;
        p->running++;
        bt_pool_fn fn = p->fn;
        void *ctx = p->ctx;
        pthread_mutex_unlock(&p->mu);
        fn(ctx, i);
        pthread_mutex_lock(&p->mu);
        if (--p->running == 0 && p->next >= p->n) pthread_cond_broadcast(&p->done);
    }
}

static void *worker(void *arg) {
    bt_pool *p = arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->batch == seen) pthread_cond_wait(&p->work, &p->mu);
        if (p->stop) break;
        seen = p->batch;
        drain(p);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

bt_status bt_pool_init(bt_pool **out, int width) {
    *out = NULL;
    bt_pool *p = calloc(1, sizeof *p);
    BT_CHECK_ALLOC(p);
    p->width = width < 1 ? 1 : width;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    if (p->width > 1) {
        p->threads = calloc((size_t)(p->width - 1), sizeof *p->threads);
        if (!p->threads) {
            bt_pool_free(p);
            return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
        }
        for (int t = 0; t < p->width - 1; t++) {
            if (pthread_create(&p->threads[t], NULL, worker, p) != 0) {
                bt_pool_free(p);
                return BT_FAIL(BT_STATUS_INTERNAL, "cannot start a pool thread");
            }
            p->n_threads++;
        }
    }
    *out = p;
    return BT_STATUS_OK;
}

void bt_pool_free(bt_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int t = 0; t < p->n_threads; t++) pthread_join(p->threads[t], NULL);
    free(p->threads);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int bt_pool_width(const bt_pool *p) {
    return p ? p->width : 1;
}

void bt_pool_run(bt_pool *p, int n, bt_pool_fn fn, void *ctx) {
    if (n <= 0) return;
    if (!p || p->n_threads == 0 || n == 1) {
        for (int i = 0; i < n; i++) fn(ctx, i);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->next = 0;
    p->running = 0;
    p->batch++;
    pthread_cond_broadcast(&p->work);
    drain(p);
    while (p->running > 0 || p->next < p->n) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
