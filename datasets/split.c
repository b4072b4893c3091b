/* Train/valid split of one table: each class (one group when not stratified) gets its share of
 * the valid rows, picked by a partial Fisher-Yates shuffle driven by Philox draws keyed by
 * split_seed. The split depends only on the seed and the labels, never on threads or machine. */
#include "datasets/loaders.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/philox.h"

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

typedef struct cls_share {
    double rem;
    int32_t cls;
} cls_share;

static int cmp_share(const void *a, const void *b) {
    const cls_share *x = a, *y = b;
    if (x->rem != y->rem) return x->rem > y->rem ? -1 : 1;
    return x->cls < y->cls ? -1 : x->cls > y->cls;
}

/* Uniform integer in [0, m) from a 64-bit draw (multiply-high; bias below 2^-32 for m < 2^32). */
static uint64_t below(uint64_t r, uint64_t m) {
    return (uint64_t)(((unsigned __int128)r * m) >> 64);
}

static bt_status copy_rows(const bt_dataset *all, const unsigned char *in_valid, int want,
                           int64_t n, bt_dataset *out) {
    BT_TRY(bt_dataset_alloc(out, n, all->n_features));
    size_t nf = (size_t)all->n_features;
    int64_t k = 0;
    for (int64_t r = 0; r < all->n_rows; r++) {
        if (in_valid[r] != want) continue;
        memcpy(out->X + (size_t)k * nf, all->X + (size_t)r * nf, nf * sizeof(float));
        out->y[k++] = all->y[r];
    }
    out->channels = all->channels;
    out->height = all->height;
    out->width = all->width;
    if (all->feature_names) {
        out->feature_names = calloc(nf, sizeof(char *));
        BT_CHECK_ALLOC(out->feature_names);
        for (size_t j = 0; j < nf; j++) {
            out->feature_names[j] = bt_strdup_(all->feature_names[j]);
            BT_CHECK_ALLOC(out->feature_names[j]);
        }
    }
    out->source = bt_strdup_(all->source ? all->source : "dataset");
    BT_CHECK_ALLOC(out->source);
    return BT_STATUS_OK;
}

/* Class id of every row: labels that are small non-negative integers index a table directly,
 * anything else goes through a sorted list of the distinct values. Returns the class count. */
static int32_t class_ids(const bt_dataset *all, int32_t *cls, float **values_out) {
    int64_t n = all->n_rows;
    float mx = 0;
    int small = 1;
    for (int64_t r = 0; r < n && small; r++) {
        float v = all->y[r];
        small = v >= 0 && v < 65536 && v == floorf(v);
        if (v > mx) mx = v;
    }
    float *values = malloc((size_t)n * sizeof(float));
    if (!values) return -1;
    int32_t k = 0;
    if (small) {
        int32_t *map = malloc(((size_t)mx + 1) * sizeof(int32_t));
        if (!map) {
            free(values);
            return -1;
        }
        for (int32_t v = 0; v <= (int32_t)mx; v++) map[v] = -1;
        for (int64_t r = 0; r < n; r++) map[(int32_t)all->y[r]] = 1;
        for (int32_t v = 0; v <= (int32_t)mx; v++)
            if (map[v] > 0) values[k] = (float)v, map[v] = k++;
        for (int64_t r = 0; r < n; r++) cls[r] = map[(int32_t)all->y[r]];
        free(map);
    } else {
        memcpy(values, all->y, (size_t)n * sizeof(float));
        qsort(values, (size_t)n, sizeof(float), cmp_float);
        for (int64_t r = 0; r < n; r++)
            if (r == 0 || values[r] != values[k - 1]) values[k++] = values[r];
        for (int64_t r = 0; r < n; r++) {
            float v = all->y[r];
            int32_t lo = 0, hi = k - 1;
            while (lo < hi) {
                int32_t mid = (lo + hi) / 2;
                if (values[mid] < v)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            cls[r] = lo;
        }
    }
    *values_out = values;
    return k;
}

/* Decides which rows go to valid (in_valid[r] = 1): the class sizes give each class its share,
 * then a partial Fisher-Yates shuffle of each class's rows, driven by Philox draws numbered
 * within the class, picks that many. */
static bt_status choose(const bt_dataset *all, double frac, uint64_t seed, int stratify,
                        unsigned char *in_valid, int32_t *cls, int64_t *order) {
    const char *src = all->source ? all->source : "dataset";
    int64_t n = all->n_rows;
    int64_t n_valid = llround(frac * (double)n);
    if (n_valid < 1)
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "%s: %lld rows are too few for valid_fraction %g: the valid set would be "
                       "empty",
                       src, (long long)n, frac);
    if (n - n_valid < 1)
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "%s: %lld rows are too few for valid_fraction %g: the train set would be "
                       "empty",
                       src, (long long)n, frac);
    int32_t n_cls = 1;
    float *values = NULL;
    if (stratify) {
        n_cls = class_ids(all, cls, &values);
        if (n_cls < 0) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory splitting");
    } else {
        memset(cls, 0, (size_t)n * sizeof(int32_t));
    }
    int64_t *count = calloc((size_t)n_cls, sizeof(int64_t));
    int64_t *start = calloc((size_t)n_cls + 1, sizeof(int64_t));
    int64_t *take = calloc((size_t)n_cls, sizeof(int64_t));
    cls_share *share = calloc((size_t)n_cls, sizeof(cls_share));
    bt_status s = BT_STATUS_OK;
    if (!count || !start || !take || !share) s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    if (s == BT_STATUS_OK) {
        for (int64_t r = 0; r < n; r++) count[cls[r]]++;
        /* Largest remainder: floors first, then one more row for the classes whose exact share
         * has the largest fractional part, so the total is exactly n_valid. */
        int64_t given = 0;
        for (int32_t c = 0; c < n_cls; c++) {
            double exact = n_cls == 1 ? (double)n_valid : frac * (double)count[c];
            take[c] = (int64_t)floor(exact);
            share[c] = (cls_share){exact - (double)take[c], c};
            given += take[c];
        }
        qsort(share, (size_t)n_cls, sizeof *share, cmp_share);
        for (int32_t t = 0; given < n_valid && t < n_cls; t++, given++) take[share[t].cls]++;
        for (int32_t c = 0; c < n_cls && s == BT_STATUS_OK; c++)
            if (count[c] - take[c] < 1)
                s = BT_FAIL(BT_STATUS_BAD_INPUT,
                            "%s: class %g has only %lld row%s: with valid_fraction %g none would "
                            "be left for train",
                            src, values ? values[c] : 0.0, (long long)count[c],
                            count[c] == 1 ? "" : "s", frac);
    }
    if (s == BT_STATUS_OK) {
        /* rows of each class, in file order, then shuffled in place */
        for (int32_t c = 0; c < n_cls; c++) start[c + 1] = start[c] + count[c];
        memset(count, 0, (size_t)n_cls * sizeof(int64_t));
        for (int64_t r = 0; r < n; r++) order[start[cls[r]] + count[cls[r]]++] = r;
        memset(in_valid, 0, (size_t)n);
        const uint64_t key = bt_philox_key(seed, 0x53706c74u);
        for (int32_t c = 0; c < n_cls; c++) {
            int64_t *rows = order + start[c], m = count[c];
            for (int64_t t = 0; t < take[c]; t++) {
                bt_philox_out o = bt_philox4x32(key, (uint64_t)t, (uint64_t)c);
                uint64_t r64 = ((uint64_t)o.v[0] << 32) | o.v[1];
                int64_t j = t + (int64_t)below(r64, (uint64_t)(m - t));
                int64_t tmp = rows[t];
                rows[t] = rows[j];
                rows[j] = tmp;
                in_valid[rows[t]] = 1;
            }
        }
    }
    free(values);
    free(count);
    free(start);
    free(take);
    free(share);
    return s;
}

bt_status bt_dataset_split(const bt_dataset *all, double valid_fraction, uint64_t seed,
                           int stratify, bt_dataset *train, bt_dataset *valid) {
    memset(train, 0, sizeof *train);
    memset(valid, 0, sizeof *valid);
    if (!(valid_fraction > 0 && valid_fraction < 1))
        return BT_FAIL(BT_STATUS_BAD_INPUT, "valid_fraction %g must be in (0, 1)", valid_fraction);
    int64_t n = all->n_rows;
    if (n < 1) return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: no rows to split", all->source);
    unsigned char *in_valid = malloc((size_t)n);
    int32_t *cls = malloc((size_t)n * sizeof(int32_t));
    int64_t *order = malloc((size_t)n * sizeof(int64_t));
    bt_status s = BT_STATUS_OK;
    if (!in_valid || !cls || !order)
        s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory splitting %lld rows", (long long)n);
    if (s == BT_STATUS_OK) s = choose(all, valid_fraction, seed, stratify, in_valid, cls, order);
    free(cls);
    free(order);
    if (s == BT_STATUS_OK) {
        int64_t nv = 0;
        for (int64_t r = 0; r < n; r++) nv += in_valid[r];
        s = copy_rows(all, in_valid, 0, n - nv, train);
        if (s == BT_STATUS_OK) s = copy_rows(all, in_valid, 1, nv, valid);
    }
    free(in_valid);
    if (s != BT_STATUS_OK) {
        bt_dataset_free(train);
        bt_dataset_free(valid);
    }
    return s;
}
