/* bt_value: one hyperparameter value as a sweep writes it (number, integer, string, bool).
 * Strings are borrowed views into whatever owns the value (the spec or a trial config). */
#ifndef BT_VALUE_H
#define BT_VALUE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

typedef enum bt_value_kind {
    BT_VALUE_NONE = 0,
    BT_VALUE_INT,
    BT_VALUE_FLOAT,
    BT_VALUE_STRING,
    BT_VALUE_BOOL,
} bt_value_kind;

/* A STRING value whose text starts with this byte holds, after it, the JSON of a list, object
 * or null: a program sweep's value that W&B passes through to the program (sweeps/spec writes
 * it, the command line prints it as W&B does, the results store the JSON). To everything else
 * it is an opaque string: equal, hashed and chosen like any other. */
#define BT_VALUE_JSON_MARK '\x1e'

typedef struct bt_value {
    bt_value_kind kind;
    int64_t i;     /* INT, BOOL (0/1) */
    double f;      /* FLOAT; also set for INT and BOOL so numeric readers can use f */
    const char *s; /* STRING; borrowed */
} bt_value;

static inline bt_value bt_value_int(int64_t i) {
    bt_value v = {BT_VALUE_INT, i, (double)i, 0};
    return v;
}
static inline bt_value bt_value_float(double f) {
    bt_value v = {BT_VALUE_FLOAT, 0, f, 0};
    return v;
}
static inline bt_value bt_value_string(const char *s) {
    bt_value v = {BT_VALUE_STRING, 0, 0.0, s};
    return v;
}
static inline bt_value bt_value_bool(int b) {
    bt_value v = {BT_VALUE_BOOL, b != 0, b != 0 ? 1.0 : 0.0, 0};
    return v;
}

/* The JSON text of a list, object or null value (BT_VALUE_JSON_MARK), else NULL. */
static inline const char *bt_value_json_text(bt_value v) {
    return v.kind == BT_VALUE_STRING && v.s && v.s[0] == BT_VALUE_JSON_MARK ? v.s + 1 : NULL;
}

/* Whether a and b are the same value: strings by content, numbers by value across INT, BOOL and
 * FLOAT (1 equals 1.0; NaN equals NaN, so NaN defaults match). */
static inline int bt_value_equal(bt_value a, bt_value b) {
    if (a.kind == BT_VALUE_STRING || b.kind == BT_VALUE_STRING)
        return a.kind == b.kind && strcmp(a.s, b.s) == 0;
    if (a.kind == BT_VALUE_FLOAT || b.kind == BT_VALUE_FLOAT)
        return a.f == b.f || (isnan(a.f) && isnan(b.f));
    return a.i == b.i;
}

/* A hash of v[0 .. n-1] except v[skip] (skip -1: none) that agrees with bt_value_equal: equal
 * values hash alike (numbers through their double, one NaN, 0 for -0). FNV-1a over the values,
 * then mixed so that every bit of the result depends on every value's bits. */
static inline uint64_t bt_values_hash(const bt_value *v, int n, int skip) {
    uint64_t h = 1469598103934665603ull;
    for (int p = 0; p < n; p++) {
        if (p == skip) continue;
        uint64_t x = 0;
        if (v[p].kind == BT_VALUE_STRING) {
            for (const char *c = v[p].s; *c; c++) x = x * 31 + (unsigned char)*c;
        } else {
            double f = v[p].kind == BT_VALUE_FLOAT ? v[p].f : (double)v[p].i;
            if (isnan(f)) f = NAN;
            if (f == 0) f = 0;
            memcpy(&x, &f, sizeof x);
        }
        h = (h ^ x) * 1099511628211ull;
    }
    /* a final mix (splitmix64's): FNV's product carries no high bits down, and small integers
     * and short binary fractions differ only in a double's high bits, so a table indexed by
     * the low bits would put them all in one slot */
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ull;
    h = (h ^ (h >> 27)) * 0x94D049BB133111EBull;
    return h ^ (h >> 31);
}

#endif
