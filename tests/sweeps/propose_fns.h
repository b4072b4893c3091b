/* Test functions for the model-based proposers (Branin, Hartmann-6), hand-built specs of uniform
 * parameters for them, and a driver running one sweep -- batches of proposals, each evaluated and
 * reported before the next batch -- for the quality test and bench (tests/tools/propose_bench.c).
 * Header-only. */
#ifndef BT_TEST_PROPOSE_FNS_H
#define BT_TEST_PROPOSE_FNS_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sweeps/propose/propose.h"
#include "sweeps/space.h"

#define BRANIN_MIN 0.397887357729738
#define HARTMANN6_MIN (-3.32236801141551)

/* Branin-Hoo on [-5, 10] x [0, 15]; minimum 0.397887 at three points. */
static inline double bt_branin(const double *x) {
    const double pi = 3.14159265358979323846;
    double b = 5.1 / (4 * pi * pi), c = 5 / pi, t = 1 / (8 * pi);
    double u = x[1] - b * x[0] * x[0] + c * x[0] - 6;
    return u * u + 10 * (1 - t) * cos(x[0]) + 10;
}

/* Hartmann-6 on [0, 1]^6; minimum -3.32237. */
static inline double bt_hartmann6(const double *x) {
    static const double alpha[4] = {1.0, 1.2, 3.0, 3.2};
    static const double a[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
                                   {0.05, 10, 17, 0.1, 8, 14},
                                   {3, 3.5, 1.7, 10, 17, 8},
                                   {17, 8, 0.05, 10, 0.1, 14}};
    static const double p[4][6] = {{0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886},
                                   {0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991},
                                   {0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650},
                                   {0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381}};
    double s = 0;
    for (int i = 0; i < 4; i++) {
        double e = 0;
        for (int j = 0; j < 6; j++) e += a[i][j] * (x[j] - p[i][j]) * (x[j] - p[i][j]);
        s += alpha[i] * exp(-e);
    }
    return -s;
}

/* A spec with n uniform parameters x0.. on [lo[i], hi[i]] (nothing else is set). */
typedef struct test_space {
    bt_spec spec;
    bt_param_spec params[8];
    char names[8][8];
} test_space;

static inline void test_space_uniform(test_space *s, int n, const double *lo, const double *hi) {
    memset(s, 0, sizeof *s);
    for (int i = 0; i < n; i++) {
        s->names[i][0] = 'x';
        s->names[i][1] = (char)('0' + i);
        s->params[i].name = s->names[i];
        s->params[i].dist = BT_DIST_UNIFORM;
        s->params[i].min = lo[i];
        s->params[i].max = hi[i];
        s->params[i].sigma = 1;
        s->params[i].a = s->params[i].b = s->params[i].q = 1;
    }
    s->spec.params = s->params;
    s->spec.n_params = n;
    s->spec.method = BT_METHOD_RANDOM;
}

typedef enum { FN_BRANIN, FN_HARTMANN6 } test_fn;

static inline void test_space_fn(test_space *s, test_fn f) {
    static const double blo[2] = {-5, 0}, bhi[2] = {10, 15};
    static const double hlo[6] = {0, 0, 0, 0, 0, 0}, hhi[6] = {1, 1, 1, 1, 1, 1};
    if (f == FN_BRANIN)
        test_space_uniform(s, 2, blo, bhi);
    else
        test_space_uniform(s, 6, hlo, hhi);
}

static inline double test_eval(test_fn f, const bt_value *v) {
    double x[6];
    int n = f == FN_BRANIN ? 2 : 6;
    for (int i = 0; i < n; i++) x[i] = v[i].f;
    return f == FN_BRANIN ? bt_branin(x) : bt_hartmann6(x);
}

/* Best value after n_eval evaluations of f with method (BT_METHOD_RANDOM: random search's trials,
 * else the proposer) in batches of `batch`, each reported before the next is proposed; -INFINITY
 * on error. */
static inline double test_run(test_fn f, int method, uint64_t seed, int n_eval, int batch,
                              const bt_propose_opts *o) {
    test_space s;
    test_space_fn(&s, f);
    bt_value v[6 * 64];
    double best = INFINITY;
    if (method == BT_METHOD_RANDOM) {
        for (int t = 0; t < n_eval; t++) {
            if (bt_space_config(&s.spec, seed, t, v) != BT_STATUS_OK) return -INFINITY;
            best = fmin(best, test_eval(f, v));
        }
        return best;
    }
    bt_proposer *p;
    if (batch > 64 || bt_proposer_init(&p, &s.spec, method, seed, o) != BT_STATUS_OK)
        return -INFINITY;
    for (int t = 0; t < n_eval; t += batch) {
        int b = n_eval - t < batch ? n_eval - t : batch;
        if (bt_proposer_propose(p, t, b, v) != BT_STATUS_OK) {
            best = -INFINITY;
            break;
        }
        for (int i = 0; i < b; i++) {
            double y = test_eval(f, v + (size_t)i * s.spec.n_params);
            best = fmin(best, y);
            bt_proposer_observe(p, t + i, 0, y);
        }
    }
    bt_proposer_free(p);
    return best;
}

static inline int test_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (sorts v). */
static inline double test_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, test_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#endif
