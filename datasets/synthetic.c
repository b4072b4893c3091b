/* Synthetic data sets drawn from Philox (kernels/philox.h): every cell is a pure function of
 * (seed, row, column), so a set is identical on every machine and thread count, and rows are
 * generated in parallel chunks. Friedman #1 follows sklearn's make_friedman1; the classification
 * set follows the recipe of sklearn's make_classification (not its random stream). */
#include "datasets/loaders.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/philox.h"

#define BT_PI 3.14159265358979323846

/* Stream ids that keep the draws of different purposes apart. */
enum { STREAM_X = 0, STREAM_NOISE = 1 << 20, STREAM_LABEL = 2 << 20, STREAM_SETUP = 3 << 20 };

static float unit_float(uint32_t u) { /* [0, 1) with 24 bits, exact in float */
    return (float)(u >> 8) * (1.0f / 16777216.0f);
}

/* Two independent N(0,1) draws (Box-Muller) from one Philox block. */
static void normal_pair(uint64_t key, uint64_t ctr, uint64_t stream, double *a, double *b) {
    bt_philox_out o = bt_philox4x32(key, ctr, stream);
    uint64_t b1 = ((uint64_t)o.v[0] << 21) ^ (o.v[1] >> 11);
    uint64_t b2 = ((uint64_t)o.v[2] << 21) ^ (o.v[3] >> 11);
    double u1 = ((double)(b1 & ((1ull << 53) - 1)) + 0.5) * (1.0 / 9007199254740992.0);
    double u2 = (double)(b2 & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
    double r = sqrt(-2.0 * log(u1));
    *a = r * cos(2.0 * BT_PI * u2);
    *b = r * sin(2.0 * BT_PI * u2);
}

static bt_status name_features_(bt_dataset *d, const char *const *prefix, const int32_t *upto) {
    d->feature_names = calloc((size_t)d->n_features, sizeof(char *));
    BT_CHECK_ALLOC(d->feature_names);
    for (int32_t j = 0, g = 0, base = 0; j < d->n_features; j++) {
        while (j >= upto[g]) base = upto[g++];
        char buf[64];
        snprintf(buf, sizeof buf, "%s%d", prefix[g], j - base);
        d->feature_names[j] = bt_strdup_(buf);
        BT_CHECK_ALLOC(d->feature_names[j]);
    }
    return BT_STATUS_OK;
}

/* Names the features and sets the source; releases the set on failure. */
static bt_status finish(bt_dataset *d, const char *const *prefix, const int32_t *upto,
                        const char *source) {
    bt_status s = name_features_(d, prefix, upto);
    if (s == BT_STATUS_OK && !(d->source = bt_strdup_(source)))
        s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    if (s != BT_STATUS_OK) bt_dataset_free(d);
    return s;
}

enum { CHUNK = 1 << 15 };

bt_status bt_dataset_synthetic_friedman1(int64_t n_rows, int32_t n_features, double noise,
                                         uint64_t seed, bt_dataset *out) {
    memset(out, 0, sizeof *out);
    if (n_rows < 1) return BT_FAIL(BT_STATUS_BAD_INPUT, "friedman1: rows must be >= 1");
    if (n_features < 5)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "friedman1: needs at least 5 features (got %d)",
                       n_features);
    if (!(noise >= 0)) return BT_FAIL(BT_STATUS_BAD_INPUT, "friedman1: noise must be >= 0");
    BT_TRY(bt_dataset_alloc(out, n_rows, n_features));
    const uint64_t key = bt_philox_key(seed, 0x46726431u);
    const int64_t n_chunks = (n_rows + CHUNK - 1) / CHUNK;
    float *X = out->X, *y = out->y;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
    for (int64_t c = 0; c < n_chunks; c++) {
        int64_t hi = (c + 1) * CHUNK < n_rows ? (c + 1) * CHUNK : n_rows;
        for (int64_t i = c * CHUNK; i < hi; i++) {
            float *x = X + (size_t)i * (size_t)n_features;
            for (int32_t j = 0; j < n_features; j += 4) {
                bt_philox_out o = bt_philox4x32(key, (uint64_t)i, STREAM_X + (uint64_t)j / 4);
                for (int k = 0; k < 4 && j + k < n_features; k++) x[j + k] = unit_float(o.v[k]);
            }
            double x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3], x4 = x[4];
            double v =
                10.0 * sin(BT_PI * x0 * x1) + 20.0 * (x2 - 0.5) * (x2 - 0.5) + 10.0 * x3 + 5.0 * x4;
            if (noise > 0) {
                double z, unused;
                normal_pair(key, (uint64_t)i, STREAM_NOISE, &z, &unused);
                v += noise * z;
            }
            y[i] = (float)v;
        }
    }
    static const char *const prefix[] = {"x"};
    int32_t upto[] = {n_features};
    char src[160];
    snprintf(src, sizeof src, "synthetic friedman1 (rows %lld, features %d, noise %g, seed %llu)",
             (long long)n_rows, n_features, noise, (unsigned long long)seed);
    return finish(out, prefix, upto, src);
}

static int ceil_log2(int64_t v) {
    int b = 0;
    while (((int64_t)1 << b) < v) b++;
    return b;
}

typedef struct cls_setup {
    int32_t C, k, I, R, N, F; /* classes, clusters/class, informative, redundant, noise, total */
    double *centroid;         /* (C*k) x I, entries +-1 */
    double *A;                /* (C*k) x I x I, per-cluster covariance factor */
    double *B;                /* I x R */
} cls_setup;

static double setup_uniform(uint64_t key, uint64_t what, uint64_t idx) {
    return 2.0 * bt_philox_uniform(key, idx, STREAM_SETUP + what) - 1.0;
}

static bt_status cls_prepare(cls_setup *s, uint64_t key) {
    int32_t nc = s->C * s->k;
    s->centroid = malloc((size_t)nc * (size_t)s->I * sizeof(double));
    s->A = malloc((size_t)nc * (size_t)s->I * (size_t)s->I * sizeof(double));
    s->B = malloc(((size_t)s->I * (size_t)s->R + 1) * sizeof(double));
    if (!s->centroid || !s->A || !s->B)
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory preparing classification set");
    /* Distinct hypercube vertices, drawn with rejection of repeats. */
    for (int32_t c = 0; c < nc; c++) {
        double *v = s->centroid + (size_t)c * (size_t)s->I;
        for (uint64_t attempt = 0;; attempt++) {
            for (int32_t d = 0; d < s->I; d++)
                v[d] =
                    (bt_philox_u32(key, ((uint64_t)c << 32) | attempt, STREAM_SETUP + 10 + d) & 1)
                        ? 1.0
                        : -1.0;
            int dup = 0;
            for (int32_t o = 0; o < c && !dup; o++)
                dup = memcmp(v, s->centroid + (size_t)o * (size_t)s->I,
                             (size_t)s->I * sizeof(double)) == 0;
            if (!dup) break;
        }
    }
    size_t na = (size_t)nc * (size_t)s->I * (size_t)s->I;
    for (size_t t = 0; t < na; t++) s->A[t] = setup_uniform(key, 1, t);
    for (size_t t = 0; t < (size_t)s->I * (size_t)s->R; t++) s->B[t] = setup_uniform(key, 2, t);
    return BT_STATUS_OK;
}

bt_status bt_dataset_synthetic_classification(int64_t n_rows, int32_t n_features, int32_t n_classes,
                                              double flip_y, uint64_t seed, bt_dataset *out) {
    memset(out, 0, sizeof *out);
    if (n_rows < 1) return BT_FAIL(BT_STATUS_BAD_INPUT, "classification: rows must be >= 1");
    if (n_classes < 2 || n_classes > 1 << 16)
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "classification: classes must be in [2, 65536] (got %d)", n_classes);
    if (!(flip_y >= 0 && flip_y <= 1))
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "classification: noise (fraction of flipped labels) must be in [0, 1]");
    cls_setup s = {.C = n_classes, .k = 2, .F = n_features};
    if (ceil_log2((int64_t)n_classes * 2) > n_features) s.k = 1;
    int imin = ceil_log2((int64_t)n_classes * s.k);
    if (imin < 1) imin = 1;
    if (imin > n_features || n_features < 1)
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "classification: %d classes need at least %d features (got %d)", n_classes,
                       imin, n_features);
    s.I = (n_features + 2) / 3 > imin ? (n_features + 2) / 3 : imin;
    s.R = (n_features - s.I) / 2;
    s.N = n_features - s.I - s.R;
    const uint64_t key = bt_philox_key(seed, 0x436c6173u);
    bt_status st = cls_prepare(&s, key);
    if (st == BT_STATUS_OK) st = bt_dataset_alloc(out, n_rows, n_features);
    if (st != BT_STATUS_OK) {
        free(s.centroid);
        free(s.A);
        free(s.B);
        return st;
    }
    const int64_t n_chunks = (n_rows + CHUNK - 1) / CHUNK;
    int oom = 0;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
    for (int64_t c = 0; c < n_chunks; c++) {
        double *z = malloc(((size_t)s.I + (size_t)s.N + 2) * sizeof(double));
        double *xi = malloc(((size_t)s.I + 1) * sizeof(double));
        if (!z || !xi) {
            free(z);
            free(xi);
#ifdef _OPENMP
#pragma omp atomic write
#endif
            oom = 1;
            continue;
        }
        int64_t hi = (c + 1) * CHUNK < n_rows ? (c + 1) * CHUNK : n_rows;
        for (int64_t i = c * CHUNK; i < hi; i++) {
            int32_t cls = (int32_t)(i % s.C); /* balanced: counts differ by at most one */
            int32_t cl = (int32_t)((i / s.C) % s.k);
            int32_t ci = cls * s.k + cl;
            int32_t nz = s.I + s.N;
            for (int32_t j = 0; j < nz; j += 2)
                normal_pair(key, (uint64_t)i, STREAM_X + (uint64_t)j / 2, &z[j], &z[j + 1]);
            const double *A = s.A + (size_t)ci * (size_t)s.I * (size_t)s.I;
            const double *cen = s.centroid + (size_t)ci * (size_t)s.I;
            float *x = out->X + (size_t)i * (size_t)n_features;
            for (int32_t d = 0; d < s.I; d++) {
                double v = cen[d];
                for (int32_t e = 0; e < s.I; e++) v += z[e] * A[(size_t)e * (size_t)s.I + d];
                xi[d] = v;
                x[d] = (float)v;
            }
            for (int32_t r = 0; r < s.R; r++) {
                double v = 0;
                for (int32_t d = 0; d < s.I; d++) v += xi[d] * s.B[(size_t)d * (size_t)s.R + r];
                x[s.I + r] = (float)v;
            }
            for (int32_t m = 0; m < s.N; m++) x[s.I + s.R + m] = (float)z[s.I + m];
            if (flip_y > 0) {
                bt_philox_out o = bt_philox4x32(key, (uint64_t)i, STREAM_LABEL);
                double u = (double)o.v[0] * (1.0 / 4294967296.0);
                if (u < flip_y) cls = (int32_t)(o.v[1] % (uint32_t)s.C);
            }
            out->y[i] = (float)cls;
        }
        free(z);
        free(xi);
    }
    free(s.centroid);
    free(s.A);
    free(s.B);
    if (oom) {
        bt_dataset_free(out);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory generating classification set");
    }
    static const char *const prefix[] = {"informative_", "redundant_", "noise_"};
    int32_t upto[] = {s.I, s.I + s.R, n_features};
    char src[200];
    snprintf(src, sizeof src,
             "synthetic classification (rows %lld, features %d: %d informative, %d redundant, %d "
             "noise; classes %d, flip_y %g, seed %llu)",
             (long long)n_rows, n_features, s.I, s.R, s.N, n_classes, flip_y,
             (unsigned long long)seed);
    return finish(out, prefix, upto, src);
}
