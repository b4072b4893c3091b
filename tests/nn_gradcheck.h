/* Shared by the neural-net gradient tests: a clock-seeded xorshift64* stream for fresh inputs
 * (set bt_gc_rng from BT_TEST_SEED to replay) and a central finite-difference check of an
 * analytic gradient. Header-only; include after tests/bt_test.h. */
#ifndef BT_TEST_NN_GRADCHECK_H
#define BT_TEST_NN_GRADCHECK_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>

static uint64_t bt_gc_rng;

static double urand(void) {
    bt_gc_rng ^= bt_gc_rng >> 12;
    bt_gc_rng ^= bt_gc_rng << 25;
    bt_gc_rng ^= bt_gc_rng >> 27;
    return (double)((bt_gc_rng * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}

/* |fd - an| <= atol + rtol max(|fd|, |an|) */
static int close_enough(double fd, double an, double atol, double rtol) {
    double m = fabs(fd) > fabs(an) ? fabs(fd) : fabs(an);
    return fabs(fd - an) <= atol + rtol * m;
}

/* Compares an[i] with the central difference of f around x[i] (step h), for every i < n. */
static void check_grad(const char *what, float *x, const float *an, int n, double (*f)(void *),
                       void *ctx, float h, double atol, double rtol) {
    int bad = 0;
    for (int i = 0; i < n; i++) {
        float keep = x[i];
        x[i] = keep + h;
        double lp = f(ctx);
        x[i] = keep - h;
        double lm = f(ctx);
        x[i] = keep;
        double fd = (lp - lm) / (2.0 * (double)h);
        if (!close_enough(fd, an[i], atol, rtol)) {
            if (bad < 5)
                fprintf(stderr, "%s[%d]: finite difference %.8g, analytic %.8g\n", what, i, fd,
                        (double)an[i]);
            bad++;
        }
    }
    CHECK_MSG(bad == 0, "%s: %d of %d gradient entries differ", what, bad, n);
}

#endif
