/* GPU usage sampling without a GPU: the accumulator's mean and peak on fresh random samples, the
 * sampler thread over a fake source that records what it returned (failed reads and samples
 * without utilization left out of the mean), and NVML / CUDA-runtime sources that say why they
 * are unavailable here. */
#include <pthread.h>
#include <time.h>

#include "runtime/devices/nvml.h"
#include "tests/bt_test.h"

typedef struct fake {
    unsigned seed;
    int calls;
    /* what was returned, per GPU slot (0, 1): to recompute the expected usage */
    double util_sum[2];
    int64_t n_ok[2], n_util[2], mem_peak[2], mem_first[2];
} fake;

static bt_status fake_read(void *ctx, int gpu, double *util, int64_t *mem) {
    fake *f = ctx;
    int k = f->calls++;
    int g = gpu == 7 ? 1 : 0;
    f->seed = f->seed * 1103515245u + 12345u;
    unsigned r = f->seed >> 8;
    if (k % 5 == 3) return BT_FAIL(BT_STATUS_INTERNAL, "fake read failure");
    *util = k % 7 == 2 ? NAN : (double)(r % 101) / 100.0;
    *mem = k % 11 == 4 ? -1 : (int64_t)(r % 1000) * 1048576;
    f->n_ok[g]++;
    if (!isnan(*util)) {
        f->n_util[g]++;
        f->util_sum[g] += *util;
    }
    if (*mem >= 0) {
        if (f->mem_first[g] < 0) f->mem_first[g] = *mem;
        if (*mem > f->mem_peak[g]) f->mem_peak[g] = *mem;
    }
    return BT_STATUS_OK;
}

int main(void) {
    unsigned seed = (unsigned)time(NULL);
    printf("seed %u\n", seed);
    srand(seed);

    /* the accumulator on random samples */
    for (int rep = 0; rep < 50; rep++) {
        bt_gpu_usage u;
        bt_gpu_usage_init(&u, rep);
        CHECK(isnan(bt_gpu_usage_mean(&u)));
        CHECK_EQ_INT(u.mem_peak, -1);
        int n = rand() % 200;
        double sum = 0;
        int64_t nu = 0, peak = -1, first = -1;
        for (int i = 0; i < n; i++) {
            double util = rand() % 4 == 0 ? NAN : (double)rand() / RAND_MAX;
            int64_t mem = rand() % 5 == 0 ? -1 : (int64_t)rand() * 4096;
            bt_gpu_usage_add(&u, util, mem);
            if (!isnan(util)) {
                sum += util;
                nu++;
            }
            if (mem >= 0 && first < 0) first = mem;
            if (mem > peak) peak = mem;
        }
        CHECK_EQ_INT(u.gpu, rep);
        CHECK_EQ_INT(u.n_samples, n);
        CHECK_EQ_INT(u.n_util, nu);
        CHECK_EQ_INT(u.mem_peak, peak);
        CHECK_EQ_INT(u.mem_first, first);
        if (nu > 0)
            CHECK_NEAR(bt_gpu_usage_mean(&u), sum / (double)nu, 1e-12);
        else
            CHECK(isnan(bt_gpu_usage_mean(&u)));
    }

    /* the sampler thread over a fake source, two GPUs */
    fake f;
    memset(&f, 0, sizeof f);
    f.seed = seed;
    f.mem_peak[0] = f.mem_peak[1] = -1;
    f.mem_first[0] = f.mem_first[1] = -1;
    bt_gpu_source src = {.name = "fake", .ctx = &f, .read = fake_read};
    int gpus[2] = {0, 7};
    bt_gpu_sampler *s = NULL;
    CHECK_OK(bt_gpu_sampler_start(&s, &src, gpus, 2, 0.002));
    struct timespec ts = {0, 60 * 1000 * 1000};
    nanosleep(&ts, NULL);
    bt_gpu_usage u[2];
    bt_gpu_sampler_stop(s, u);
    printf("%d reads in 60 ms at 2 ms\n", f.calls);
    CHECK(f.calls >= 10); /* about 2 x 30; a loaded machine gets fewer */
    for (int g = 0; g < 2; g++) {
        CHECK_EQ_INT(u[g].gpu, gpus[g]);
        CHECK_EQ_INT(u[g].n_samples, f.n_ok[g]);
        CHECK_EQ_INT(u[g].n_util, f.n_util[g]);
        CHECK_EQ_INT(u[g].mem_peak, f.mem_peak[g]);
        CHECK_EQ_INT(u[g].mem_first, f.mem_first[g]);
        if (f.n_util[g] > 0)
            CHECK_NEAR(bt_gpu_usage_mean(&u[g]), f.util_sum[g] / f.n_util[g], 1e-12);
    }
    CHECK(u[0].n_samples + u[1].n_samples < f.calls); /* failed reads were left out */

    /* a sampler stopped at once still has its first and last samples */
    memset(&f, 0, sizeof f);
    f.mem_peak[0] = f.mem_peak[1] = -1;
    f.mem_first[0] = f.mem_first[1] = -1;
    CHECK_OK(bt_gpu_sampler_start(&s, &src, gpus, 1, 10.0));
    bt_gpu_sampler_stop(s, u);
    CHECK(f.calls >= 1 && f.calls <= 2);
    bt_gpu_sampler_stop(NULL, NULL);

    /* the real sources say why they are unavailable (or work, on a GPU machine) */
    char why[256];
    bt_gpu_source nv;
    bt_status st = bt_nvml_open(&nv, gpus, 1, why, sizeof why);
    printf("nvml: %s%s\n", st == BT_STATUS_OK ? "available" : "unavailable: ", why);
    if (st == BT_STATUS_OK) {
        double util = 0;
        int64_t mem = 0;
        if (nv.read(nv.ctx, 0, &util, &mem) == BT_STATUS_OK) CHECK(mem > 0);
        bt_gpu_source_close(&nv);
    } else {
        CHECK(why[0] != '\0');
        CHECK(nv.read == NULL);
    }
    bt_gpu_source cr;
    st = bt_gpu_cudart_source(&cr, why, sizeof why);
    if (st != BT_STATUS_OK) CHECK(why[0] != '\0');
    bt_gpu_source_close(&cr);
    bt_gpu_source_close(NULL);
    return bt_test_finish("test_nvml");
}
