/* The helpers every part of the sweep-file checker shares (spec_internal.h): the bt_diags list,
 * errors with their JSON path and LINE:COL, JSON paths, typed readers of object keys, unknown-key
 * checks with did-you-mean, and scalar values. They know no block of the sweep file. */
#include "sweeps/spec/spec_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweeps/spec/didyoumean.h"

/* ---- diagnostics ---------------------------------------------------------------------------- */

void bt_diags_init(bt_diags *d) {
    memset(d, 0, sizeof *d);
}

void bt_diags_free(bt_diags *d) {
    if (!d) return;
    for (int i = 0; i < d->n; i++) free(d->msgs[i]);
    free(d->msgs);
    for (int i = 0; i < d->n_warnings; i++) free(d->warnings[i]);
    free(d->warnings);
    memset(d, 0, sizeof *d);
}

void bt_diags_add(bt_diags *d, const char *fmt, ...) {
    if (!d) return;
    if (d->n == d->cap) {
        int cap = d->cap ? 2 * d->cap : 16;
        char **m = realloc(d->msgs, (size_t)cap * sizeof *m);
        if (!m) return; /* out of memory: the message is lost, the status still says bad input */
        d->msgs = m;
        d->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = malloc((size_t)n + 1);
    if (!s) return;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    d->msgs[d->n++] = s;
}

/* "FILE:LINE:COL: path: message" (no "path: " without one) at item `at`: an error in c->diags,
 * or a warning in the spec's warnings. */
static void report_at(bt_spec_ctx *c, int warning, const cJSON *at, int at_key, const char *path,
                      const char *fmt, va_list ap) {
    int line = 1, col = 1;
    if (c->pos.e) bt_jpos_item(&c->pos, at, at_key, &line, &col);
    char msg[1024], out[8192]; /* the file's path may be long */
    vsnprintf(msg, sizeof msg, fmt, ap);
    snprintf(out, sizeof out, "%s:%d:%d: %s%s%s", c->file, line, col, path && *path ? path : "",
             path && *path ? ": " : "", msg);
    if (warning) {
        bt_spec_warn(c->spec, out);
    } else {
        bt_diags_add(c->diags, "%s", out);
        c->n_err++;
    }
}

void bt_spec_err(bt_spec_ctx *c, const cJSON *at, int at_key, const char *path, const char *fmt,
                 ...) {
    va_list ap;
    va_start(ap, fmt);
    report_at(c, 0, at, at_key, path, fmt, ap);
    va_end(ap);
}

void bt_spec_warn_at(bt_spec_ctx *c, const cJSON *at, int at_key, const char *path, const char *fmt,
                     ...) {
    va_list ap;
    va_start(ap, fmt);
    report_at(c, 1, at, at_key, path, fmt, ap);
    va_end(ap);
}

void bt_spec_warn(bt_spec *s, const char *msg) {
    char **w = realloc(s->warnings, (size_t)(s->n_warnings + 1) * sizeof *w);
    if (!w) return; /* a warning lost to a failed allocation stops nothing */
    s->warnings = w;
    w[s->n_warnings] = bt_spec_strdup(msg);
    if (w[s->n_warnings]) s->n_warnings++;
}

/* ---- small helpers -------------------------------------------------------------------------- */

char *bt_spec_strdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

const char *bt_spec_path(char *buf, const char *parent, const char *key) {
    if (parent && *parent)
        snprintf(buf, BT_PATH_MAX, "%s.%s", parent, key);
    else
        snprintf(buf, BT_PATH_MAX, "%s", key);
    return buf;
}

const char *bt_spec_path_index(char *buf, const char *parent, int i) {
    snprintf(buf, BT_PATH_MAX, "%s[%d]", parent, i);
    return buf;
}

const cJSON *bt_spec_get(const cJSON *obj, const char *key) {
    return obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

int bt_spec_is_int_literal(const bt_spec_ctx *c, const cJSON *it) {
    if (!cJSON_IsNumber(it)) return 0;
    size_t n;
    const char *lit = bt_jpos_number(&c->pos, it, &n);
    if (!lit) return it->valuedouble == floor(it->valuedouble);
    for (size_t i = 0; i < n; i++)
        if (strchr(".eE", lit[i])) return 0;
    return 1;
}

int bt_spec_int_of(const bt_spec_ctx *c, const cJSON *it, int64_t *out) {
    if (!cJSON_IsNumber(it)) return 0;
    if (bt_spec_is_int_literal(c, it)) {
        size_t n;
        const char *lit = bt_jpos_number(&c->pos, it, &n);
        if (lit) {
            char tok[64];
            if (n >= sizeof tok) return 0;
            memcpy(tok, lit, n);
            tok[n] = '\0';
            errno = 0;
            long long v = strtoll(tok, NULL, 10);
            if (errno == ERANGE) return 0;
            *out = (int64_t)v;
            return 1;
        }
    }
    double v = it->valuedouble;
    if (v != floor(v) || fabs(v) > 9007199254740992.0) return 0;
    *out = (int64_t)v;
    return 1;
}

const char *bt_spec_json_kind(const cJSON *it) {
    if (cJSON_IsString(it)) return "a string";
    if (cJSON_IsNumber(it)) return "a number";
    if (cJSON_IsBool(it)) return "a boolean";
    if (cJSON_IsNull(it)) return "null";
    if (cJSON_IsArray(it)) return "an array";
    if (cJSON_IsObject(it)) return "an object";
    return "invalid";
}

typedef struct key_at {
    const char *key;
    size_t i;
} key_at;

static int cmp_key_at(const void *a, const void *b) {
    const key_at *x = a, *y = b;
    int d = strcmp(x->key, y->key);
    return d ? d : (x->i > y->i) - (x->i < y->i);
}

/* Sorting (key, place) pairs keeps this O(n log n): a pairwise scan took a minute at 200k keys. */
const cJSON **bt_spec_earlier_keys(bt_spec_ctx *c, const cJSON *obj, const char *path) {
    size_t n = 0, i = 0;
    for (const cJSON *k = obj ? obj->child : NULL; k; k = k->next) n++;
    const cJSON **first = calloc(n + 1, sizeof *first), **items = malloc((n + 1) * sizeof *items);
    key_at *ka = malloc((n + 1) * sizeof *ka);
    if (!first || !items || !ka) {
        free(first);
        free(items);
        free(ka);
        bt_spec_err(c, obj, 0, path, "out of memory checking for duplicate keys");
        return NULL;
    }
    for (const cJSON *k = obj ? obj->child : NULL; k; k = k->next, i++) {
        items[i] = k;
        ka[i] = (key_at){k->string ? k->string : "", i};
    }
    qsort(ka, n, sizeof *ka, cmp_key_at);
    for (size_t g = 0, j = 1; j < n; j++) {
        if (strcmp(ka[j].key, ka[g].key) == 0)
            first[ka[j].i] = items[ka[g].i];
        else
            g = j;
    }
    free(items);
    free(ka);
    return first;
}

int bt_spec_check_keys(bt_spec_ctx *c, const cJSON *obj, const char *path,
                       const char *const *allowed) {
    return bt_spec_check_keys_ex(c, obj, path, allowed, 0);
}

int bt_spec_check_keys_ex(bt_spec_ctx *c, const cJSON *obj, const char *path,
                          const char *const *allowed, int ignore_unknown) {
    char p[BT_PATH_MAX];
    int n_unknown = 0;
    const cJSON **earlier = bt_spec_earlier_keys(c, obj, path);
    if (!earlier) return 0;
    size_t at = 0;
    for (const cJSON *k = obj ? obj->child : NULL; k; k = k->next, at++) {
        if (earlier[at]) {
            int line, col;
            bt_jpos_item(&c->pos, earlier[at], 1, &line, &col);
            bt_spec_err(c, k, 1, bt_spec_path(p, path, k->string),
                        "duplicate key (first given at %d:%d)", line, col);
        }
        int known = 0;
        for (int i = 0; allowed[i]; i++) known |= strcmp(allowed[i], k->string) == 0;
        if (known) continue;
        n_unknown++;
        const char *dym = bt_didyoumean(k->string, allowed, -1);
        char list[512] = "";
        for (int i = 0; allowed[i]; i++) {
            size_t len = strlen(list);
            snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", allowed[i]);
        }
        if (dym) {
            bt_spec_err(c, k, 1, bt_spec_path(p, path, k->string),
                        "unknown key '%s' (did you mean '%s'?)", k->string, dym);
        } else if (ignore_unknown) {
            bt_spec_warn_at(c, k, 1, bt_spec_path(p, path, k->string),
                            "unknown key, ignored (as W&B ignores it)");
        } else
            bt_spec_err(c, k, 1, bt_spec_path(p, path, k->string),
                        "unknown key '%s'; known keys: %s", k->string, list);
    }
    free(earlier);
    return n_unknown;
}

int bt_spec_read_string(bt_spec_ctx *c, const cJSON *obj, const char *key, const char *path,
                        char **out) {
    const cJSON *it = bt_spec_get(obj, key);
    if (!it) return 0;
    char p[BT_PATH_MAX];
    if (!cJSON_IsString(it)) {
        bt_spec_err(c, it, 0, bt_spec_path(p, path, key), "must be a string, not %s",
                    bt_spec_json_kind(it));
        return -1;
    }
    free(*out);
    *out = bt_spec_strdup(it->valuestring);
    return 1;
}

int bt_spec_read_int(bt_spec_ctx *c, const cJSON *obj, const char *key, const char *path,
                     int64_t lo, int64_t hi, int64_t *out) {
    const cJSON *it = bt_spec_get(obj, key);
    if (!it) return 0;
    char p[BT_PATH_MAX];
    int64_t v;
    if (!cJSON_IsNumber(it)) {
        bt_spec_err(c, it, 0, bt_spec_path(p, path, key), "must be an integer, not %s",
                    bt_spec_json_kind(it));
        return -1;
    }
    if (!bt_spec_int_of(c, it, &v)) {
        bt_spec_err(c, it, 0, bt_spec_path(p, path, key), "must be an integer, got %g",
                    it->valuedouble);
        return -1;
    }
    if (v < lo) {
        bt_spec_err(c, it, 0, bt_spec_path(p, path, key), "must be >= %" PRId64 ", got %" PRId64,
                    lo, v);
        return -1;
    }
    if (v > hi) {
        bt_spec_err(c, it, 0, bt_spec_path(p, path, key), "must be <= %" PRId64 ", got %" PRId64,
                    hi, v);
        return -1;
    }
    *out = v;
    return 1;
}

int bt_spec_read_number(bt_spec_ctx *c, const cJSON *obj, const char *key, const char *path,
                        double *out) {
    const cJSON *it = bt_spec_get(obj, key);
    if (!it) return 0;
    char p[BT_PATH_MAX];
    if (!cJSON_IsNumber(it)) {
        bt_spec_err(c, it, 0, bt_spec_path(p, path, key), "must be a number, not %s",
                    bt_spec_json_kind(it));
        return -1;
    }
    *out = it->valuedouble;
    return 1;
}

int bt_spec_read_bool(bt_spec_ctx *c, const cJSON *obj, const char *key, const char *path,
                      int *out) {
    const cJSON *it = bt_spec_get(obj, key);
    if (!it) return 0;
    char p[BT_PATH_MAX];
    if (!cJSON_IsBool(it)) {
        bt_spec_err(c, it, 0, bt_spec_path(p, path, key), "must be true or false, not %s",
                    bt_spec_json_kind(it));
        return -1;
    }
    *out = cJSON_IsTrue(it);
    return 1;
}

int bt_spec_value_of(const bt_spec_ctx *c, const cJSON *it, bt_value *out) {
    int64_t i;
    if (cJSON_IsString(it)) {
        *out = bt_value_string(bt_spec_strdup(it->valuestring));
    } else if (cJSON_IsBool(it)) {
        *out = bt_value_bool(cJSON_IsTrue(it));
    } else if (cJSON_IsNumber(it)) {
        if (bt_spec_is_int_literal(c, it) && bt_spec_int_of(c, it, &i))
            *out = bt_value_int(i);
        else
            *out = bt_value_float(it->valuedouble);
    } else {
        return 0;
    }
    return 1;
}

const char *bt_spec_value_str(const bt_value *v, char *buf, int n) {
    switch (v->kind) {
    case BT_VALUE_INT:
        snprintf(buf, (size_t)n, "%" PRId64, v->i);
        break;
    case BT_VALUE_FLOAT:
        snprintf(buf, (size_t)n, "%g", v->f);
        break;
    case BT_VALUE_STRING:
        snprintf(buf, (size_t)n, "\"%s\"", v->s);
        break;
    case BT_VALUE_BOOL:
        snprintf(buf, (size_t)n, "%s", v->i ? "true" : "false");
        break;
    default:
        snprintf(buf, (size_t)n, "null");
        break;
    }
    return buf;
}
