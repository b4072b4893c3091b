/* A list, object or null as a parameter value of a program sweep (W&B passes them through to the
 * program: `--net_arch=[32, 32]`, `--x=None`, and the same value in ${args_json}). The value is a
 * string that starts with BT_VALUE_JSON_MARK (base/value.h) and holds the value's JSON, written
 * so the command line can print it as W&B does: integers as integers, other numbers with a '.'
 * or an exponent (Python's float), strings escaped as JSON. */
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

static void put_json(const bt_spec_ctx *c, bt_sbuf *b, const cJSON *it, int depth) {
    char num[64];
    int64_t i;
    if (depth > 64) {
        bt_sbuf_str(b, "null"); /* the parsers already refuse deeper nesting */
    } else if (cJSON_IsArray(it) || cJSON_IsObject(it)) {
        int obj = cJSON_IsObject(it);
        bt_sbuf_str(b, obj ? "{" : "[");
        for (const cJSON *e = it->child; e; e = e->next) {
            if (e != it->child) bt_sbuf_str(b, ",");
            if (obj) {
                put_string(b, e->string ? e->string : "");
                bt_sbuf_str(b, ":");
            }
            put_json(c, b, e, depth + 1);
        }
        bt_sbuf_str(b, obj ? "}" : "]");
    } else if (cJSON_IsString(it)) {
        put_string(b, it->valuestring);
    } else if (cJSON_IsBool(it)) {
        bt_sbuf_str(b, cJSON_IsTrue(it) ? "true" : "false");
    } else if (cJSON_IsNumber(it) && bt_spec_is_int_literal(c, it) && bt_spec_int_of(c, it, &i)) {
        snprintf(num, sizeof num, "%" PRId64, i);
        bt_sbuf_str(b, num);
    } else if (cJSON_IsNumber(it) && isfinite(it->valuedouble)) {
        snprintf(num, sizeof num, "%.17g", it->valuedouble);
        if (!strpbrk(num, ".eE")) strcat(num, ".0");
        bt_sbuf_str(b, num);
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
