/* bt_value: one hyperparameter value as a sweep writes it (number, integer, string, bool).
 * Strings are borrowed views into whatever owns the value (the spec or a trial config). */
#ifndef BT_VALUE_H
#define BT_VALUE_H

#include <stdint.h>

typedef enum bt_value_kind {
    BT_VALUE_NONE = 0,
    BT_VALUE_INT,
    BT_VALUE_FLOAT,
    BT_VALUE_STRING,
    BT_VALUE_BOOL,
} bt_value_kind;

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

#endif
