/* YAML scalars as cJSON values (yaml_scalar.h): the core schema of YAML 1.2 (section 10.3.2) for
 * plain scalars, and the standard tags. PyYAML, which W&B uses, follows YAML 1.1, where `1e-3` is
 * a string; people write it as a number anyway, so the core schema it is (docs/sweep-format.md). */
#include "sweeps/spec/yaml_scalar.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum kind {
    K_STR,
    K_NULL,
    K_TRUE,
    K_FALSE,
    K_INT, /* [-+]?[0-9]+ */
    K_HEX, /* 0x[0-9a-fA-F]+ */
    K_OCT, /* 0o[0-7]+ */
    K_FLOAT,
    K_INF,
    K_NINF,
    K_NAN
} kind;

static int is_one_of(const char *s, size_t n, const char *const *words) {
    for (int i = 0; words[i]; i++)
        if (strlen(words[i]) == n && memcmp(s, words[i], n) == 0) return 1;
    return 0;
}

static size_t digits(const char *s, size_t n, const char *set) {
    size_t i = 0;
    while (i < n && strchr(set, s[i]) && s[i]) i++;
    return i;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? without the sign; K_INT when no '.' or
 * exponent, K_STR when it does not match. */
static kind number_kind(const char *s, size_t n) {
    static const char dec[] = "0123456789";
    size_t i = digits(s, n, dec);
    int frac = 0;
    if (i < n && s[i] == '.') {
        size_t f = digits(s + i + 1, n - i - 1, dec);
        if (i == 0 && f == 0) return K_STR; /* "." alone */
        i += 1 + f;
        frac = 1;
    } else if (i == 0) {
        return K_STR;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t e = digits(s + i, n - i, dec);
        if (e == 0) return K_STR;
        i += e;
        frac = 1;
    }
    if (i != n) return K_STR;
    return frac ? K_FLOAT : K_INT;
}

static kind classify(const char *s, size_t n) {
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    static const char *const infs[] = {".inf", ".Inf", ".INF", NULL};
    static const char *const nans[] = {".nan", ".NaN", ".NAN", NULL};
    if (memchr(s, '\0', n)) return K_STR;
    if (is_one_of(s, n, nulls)) return K_NULL;
    if (is_one_of(s, n, trues)) return K_TRUE;
    if (is_one_of(s, n, falses)) return K_FALSE;
    if (is_one_of(s, n, nans)) return K_NAN;
    if (n > 2 && s[0] == '0' && s[1] == 'x' &&
        digits(s + 2, n - 2, "0123456789abcdefABCDEF") == n - 2)
        return K_HEX;
    if (n > 2 && s[0] == '0' && s[1] == 'o' && digits(s + 2, n - 2, "01234567") == n - 2)
        return K_OCT;
    int sign = n > 0 && (s[0] == '+' || s[0] == '-');
    if (is_one_of(s + sign, n - sign, infs)) return sign && s[0] == '-' ? K_NINF : K_INF;
    return number_kind(s + sign, n - sign);
}

/* 0x / 0o digits: exact up to INT64_MAX (written in decimal), else a double written without an
 * exponent, an integer literal too large for int64 -- as JSON's 1e30-free big integers are. */
static double radix_value(const char *s, size_t n, int base, char *lit, size_t n_lit) {
    uint64_t u = 0;
    double d = 0;
    int over = 0;
    for (size_t i = 2; i < n; i++) {
        int v = s[i] <= '9' ? s[i] - '0' : (s[i] | 0x20) - 'a' + 10;
        if (u > (UINT64_MAX - (uint64_t)v) / (uint64_t)base) over = 1;
        u = u * (uint64_t)base + (uint64_t)v;
        d = d * base + v;
    }
    if (!over && u <= (uint64_t)INT64_MAX) {
        snprintf(lit, n_lit, "%" PRIu64, u);
        return (double)u;
    }
    snprintf(lit, n_lit, "%.0f", d);
    return d;
}

static char *dup_n(const char *s, size_t n, const char *suffix) {
    size_t k = strlen(suffix);
    char *d = malloc(n + k + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    memcpy(d + n, suffix, k + 1);
    return d;
}

/* A number item of kind k (K_INT .. K_NAN) with its JSON literal; as_float: !!float. */
static cJSON *number(const char *s, size_t n, kind k, int as_float, char **lit) {
    char buf[400];
    double v;
    const char *sign_free = s + (n > 0 && s[0] == '+');
    size_t m = n - (size_t)(sign_free - s);
    switch (k) {
    case K_HEX:
    case K_OCT:
        v = radix_value(s, n, k == K_HEX ? 16 : 8, buf, sizeof buf);
        *lit = dup_n(buf, strlen(buf), as_float ? ".0" : "");
        break;
    case K_INF:
    case K_NINF:
        v = k == K_INF ? INFINITY : -INFINITY;
        *lit = dup_n(k == K_INF ? ".inf" : "-.inf", k == K_INF ? 4 : 5, "");
        break;
    case K_NAN:
        v = NAN;
        *lit = dup_n(".nan", 4, "");
        break;
    default: /* K_INT, K_FLOAT: strtod reads the core schema's forms exactly */
        v = strtod(s, NULL);
        *lit = dup_n(sign_free, m, k == K_INT && as_float ? ".0" : "");
    }
    if (!*lit) return NULL;
    cJSON *it = cJSON_CreateNumber(v);
    if (!it) {
        free(*lit);
        *lit = NULL;
    }
    return it;
}

const char *bt_yaml_tag_name(const char *tag, char *buf, size_t n) {
    static const char std[] = BT_YAML_TAG("");
    if (strncmp(tag, std, sizeof std - 1) == 0)
        snprintf(buf, n, "!!%s", tag + sizeof std - 1);
    else
        snprintf(buf, n, "%s", tag);
    return buf;
}

cJSON *bt_yaml_scalar(const char *s, size_t n, int plain, const char *tag, char **lit, char *err,
                      size_t n_err) {
    *lit = NULL;
    err[0] = '\0';
    if (!tag || strcmp(tag, "!") == 0) {
        if (!plain || tag) return cJSON_CreateString(s); /* quoted, or the non-specific "!" */
        tag = NULL;
    }
    kind k = classify(s, n);
    if (tag && strcmp(tag, BT_YAML_TAG("str")) == 0) return cJSON_CreateString(s);
    if (tag && strcmp(tag, BT_YAML_TAG("int")) == 0) {
        if (k == K_INT || k == K_HEX || k == K_OCT) return number(s, n, k, 0, lit);
        snprintf(err, n_err, "!!int: '%.40s' is not an integer (YAML 1.2: 12, -3, 0x1F, 0o17)", s);
        return NULL;
    }
    if (tag && strcmp(tag, BT_YAML_TAG("float")) == 0) {
        if (k == K_INT || (k >= K_FLOAT && k <= K_NAN)) return number(s, n, k, 1, lit);
        snprintf(err, n_err, "!!float: '%.40s' is not a number (YAML 1.2: 0.1, 1e-3, .5, .inf)", s);
        return NULL;
    }
    if (tag && strcmp(tag, BT_YAML_TAG("bool")) == 0) {
        if (k == K_TRUE || k == K_FALSE) return cJSON_CreateBool(k == K_TRUE);
        snprintf(err, n_err, "!!bool: '%.40s' is not true or false", s);
        return NULL;
    }
    if (tag && strcmp(tag, BT_YAML_TAG("null")) == 0) {
        if (k == K_NULL) return cJSON_CreateNull();
        snprintf(err, n_err, "!!null: '%.40s' is not null (null, ~ or nothing)", s);
        return NULL;
    }
    if (tag) {
        char name[128];
        snprintf(err, n_err,
                 "unsupported tag '%s'; batchtune reads !!str, !!int, !!float, !!bool and !!null",
                 bt_yaml_tag_name(tag, name, sizeof name));
        return NULL;
    }
    switch (k) {
    case K_STR:
        return cJSON_CreateString(s);
    case K_NULL:
        return cJSON_CreateNull();
    case K_TRUE:
    case K_FALSE:
        return cJSON_CreateBool(k == K_TRUE);
    default:
        return number(s, n, k, 0, lit);
    }
}
