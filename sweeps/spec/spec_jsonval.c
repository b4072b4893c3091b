/* A list, object or null as a parameter value of a program sweep (W&B passes them through to the
 * program: `--net_arch=[32, 32]`, `--x=None`, and the same value in ${args_json}). The value is a
 * string that starts with BT_VALUE_JSON_MARK (base/value.h) and holds the value's JSON, written
 * so the command line can print it as W&B does: integers as integers (every digit), other
 * numbers with a '.' or an exponent (Python's float), NaN and Infinity as json.dumps writes them,
 * strings escaped as JSON, and a key given twice in an object once, at its first place with its
 * last value (as a Python dict keeps it). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sbuf.h"
#include "sweeps/spec/spec_internal.h"

static void put_string(bt_sbuf *b, const char *s) {
    bt_sbuf_str(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\', esc[1] = (char)*p;
            bt_sbuf_add(b, esc, 2);
        } else if (*p < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            bt_sbuf_str(b, esc);
        } else {
            bt_sbuf_add(b, (const char *)p, 1);
        }
    }
    bt_sbuf_str(b, "\"");
}

/* An integer literal too large for int64, as its digits (sign kept, leading zeros dropped); 0
 * when there is no literal of plain digits to copy. */
static int put_big_int(const bt_spec_ctx *c, bt_sbuf *b, const cJSON *it) {
    size_t n = 0;
    const char *lit = bt_jpos_number(&c->pos, it, &n);
    if (!lit || n == 0) return 0;
    size_t k = lit[0] == '-' || lit[0] == '+';
    if (k == n || strspn(lit + k, "0123456789") != n - k) return 0;
    if (lit[0] == '-') bt_sbuf_str(b, "-");
    while (k + 1 < n && lit[k] == '0') k++;
    bt_sbuf_add(b, lit + k, n - k);
    return 1;
}

/* For a key given twice in obj, Python's dict keeps its first place and its last value: NULL
 * where e's key came earlier, else the last member with e's key. */
static const cJSON *member_to_write(const cJSON *obj, const cJSON *e) {
    const char *k = e->string ? e->string : "";
    for (const cJSON *f = obj->child; f != e; f = f->next)
        if (strcmp(f->string ? f->string : "", k) == 0) return NULL;
    const cJSON *last = e;
    for (const cJSON *f = e->next; f; f = f->next)
        if (strcmp(f->string ? f->string : "", k) == 0) last = f;
    return last;
}

static void put_json(const bt_spec_ctx *c, bt_sbuf *b, const cJSON *it, int depth) {
    char num[64];
    int64_t i;
    if (depth > 64) {
        bt_sbuf_str(b, "null"); /* the parsers already refuse deeper nesting */
    } else if (cJSON_IsArray(it) || cJSON_IsObject(it)) {
        int obj = cJSON_IsObject(it);
        bt_sbuf_str(b, obj ? "{" : "[");
        int first = 1;
        for (const cJSON *e = it->child; e; e = e->next) {
            const cJSON *w = obj ? member_to_write(it, e) : e;
            if (!w) continue;
            if (!first) bt_sbuf_str(b, ",");
            first = 0;
            if (obj) {
                put_string(b, e->string ? e->string : "");
                bt_sbuf_str(b, ":");
            }
            put_json(c, b, w, depth + 1);
        }
        bt_sbuf_str(b, obj ? "}" : "]");
    } else if (cJSON_IsString(it)) {
        put_string(b, it->valuestring);
    } else if (cJSON_IsBool(it)) {
        bt_sbuf_str(b, cJSON_IsTrue(it) ? "true" : "false");
    } else if (cJSON_IsNumber(it) && bt_spec_is_int_literal(c, it) && bt_spec_int_of(c, it, &i)) {
        snprintf(num, sizeof num, "%" PRId64, i);
        bt_sbuf_str(b, num);
    } else if (cJSON_IsNumber(it) && bt_spec_is_int_literal(c, it) && put_big_int(c, b, it)) {
        ; /* past int64: Python's int keeps every digit */
    } else if (cJSON_IsNumber(it) && isfinite(it->valuedouble)) {
        snprintf(num, sizeof num, "%.17g", it->valuedouble);
        if (!strpbrk(num, ".eE")) strcat(num, ".0");
        bt_sbuf_str(b, num);
    } else if (cJSON_IsNumber(it)) { /* json.dumps' names; the command line maps them for str() */
        bt_sbuf_str(b, isnan(it->valuedouble) ? "NaN"
                       : it->valuedouble < 0  ? "-Infinity"
                                              : "Infinity");
    } else {
        bt_sbuf_str(b, "null");
    }
}

int bt_spec_json_value(const bt_spec_ctx *c, const cJSON *it, bt_value *out) {
    if (!(cJSON_IsArray(it) || cJSON_IsObject(it) || cJSON_IsNull(it))) return 0;
    bt_sbuf b = {0};
    char mark[2] = {BT_VALUE_JSON_MARK, 0};
    bt_sbuf_str(&b, mark);
    put_json(c, &b, it, 0);
    if (b.oom) {
        free(bt_sbuf_take(&b));
        return -1;
    }
    *out = bt_value_string(bt_sbuf_take(&b));
    return 1;
}
