/* A trial's command line as W&B's agent builds it (cmdline.h): Python's str(), repr() and
 * json.dumps() of the trial's values, nested parameters as dicts, and the macros. */
#include "runtime/program/cmdline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- strings -------------------------------------------------------------------------------- */

bt_status bt_argv_push(bt_argv *a, const char *s) {
    if (a->n + 2 > a->cap) {
        int cap = a->cap ? 2 * a->cap : 16;
        char **nv = realloc(a->v, (size_t)cap * sizeof *nv);
        BT_CHECK_ALLOC(nv);
        a->v = nv;
        a->cap = cap;
    }
    a->v[a->n] = strdup(s);
    BT_CHECK_ALLOC(a->v[a->n]);
    a->v[++a->n] = NULL;
    return BT_STATUS_OK;
}

void bt_argv_free(bt_argv *a) {
    for (int i = 0; i < a->n; i++) free(a->v[i]);
    free(a->v);
    memset(a, 0, sizeof *a);
}

/* ---- Python's formatting -------------------------------------------------------------------- */

void bt_py_float_repr(double x, char *buf, size_t n) {
    if (isnan(x)) {
        snprintf(buf, n, "nan");
        return;
    }
    if (isinf(x)) {
        snprintf(buf, n, x < 0 ? "-inf" : "inf");
        return;
    }
    /* the shortest digits that read back as x (Python's repr since 3.1) */
    char e[40];
    for (int p = 0; p < 17; p++) {
        snprintf(e, sizeof e, "%.*e", p, x);
        if (strtod(e, NULL) == x) break;
    }
    const char *s = e;
    int neg = *s == '-';
    if (neg) s++;
    char digits[24];
    int nd = 0;
    for (; *s && *s != 'e'; s++)
        if (*s != '.') digits[nd++] = *s;
    digits[nd] = '\0';
    while (nd > 1 && digits[nd - 1] == '0') digits[--nd] = '\0';
    int exp = atoi(s + 1);
    char out[64];
    int k = 0;
    if (neg) out[k++] = '-';
    if (exp < -4 || exp >= 16) { /* scientific: 1e-05, 1.5e+16 */
        out[k++] = digits[0];
        if (nd > 1) {
            out[k++] = '.';
            for (int i = 1; i < nd; i++) out[k++] = digits[i];
        }
        snprintf(out + k, sizeof out - (size_t)k, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
    } else if (exp < 0) { /* 0.001 */
        out[k++] = '0';
        out[k++] = '.';
        for (int i = 0; i < -exp - 1; i++) out[k++] = '0';
        for (int i = 0; i < nd; i++) out[k++] = digits[i];
        out[k] = '\0';
    } else { /* 123.45, 100.0 */
        for (int i = 0; i <= exp; i++) out[k++] = i < nd ? digits[i] : '0';
        out[k++] = '.';
        if (nd > exp + 1)
            for (int i = exp + 1; i < nd; i++) out[k++] = digits[i];
        else
            out[k++] = '0';
        out[k] = '\0';
    }
    snprintf(buf, n, "%s", out);
}

/* Python's repr() of a str: single quotes unless it holds ' and no ". */
static void py_repr_str(bt_sbuf *b, const char *s) {
    char q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
    bt_sbuf_add(b, &q, 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '\\' || *p == (unsigned char)q) {
            esc[0] = '\\';
            esc[1] = (char)*p;
            bt_sbuf_add(b, esc, 2);
        } else if (*p == '\n') {
            bt_sbuf_str(b, "\\n");
        } else if (*p == '\r') {
            bt_sbuf_str(b, "\\r");
        } else if (*p == '\t') {
            bt_sbuf_str(b, "\\t");
        } else if (*p < 0x20 || *p == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02x", *p);
            bt_sbuf_str(b, esc);
        } else {
            bt_sbuf_add(b, (const char *)p, 1);
        }
    }
    bt_sbuf_add(b, &q, 1);
}

/* One UTF-8 code point at *p (advanced); invalid bytes read as themselves. */
static unsigned utf8_next(const unsigned char **p) {
    const unsigned char *s = *p;
    unsigned c = s[0];
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    for (int i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) len = 1;
    if (len > 1) {
        c &= 0x3Fu >> (len - 1);
        for (int i = 1; i < len; i++) c = (c << 6) | (s[i] & 0x3Fu);
    }
    *p = s + len;
    return c;
}

/* json.dumps() of a str (ensure_ascii=True, as W&B calls it). */
static void json_str(bt_sbuf *b, const char *s) {
    bt_sbuf_str(b, "\"");
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = utf8_next(&p);
        char esc[16];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            bt_sbuf_add(b, esc, 2);
        } else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') {
            esc[0] = '\\';
            esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : c == '\b' ? 'b' : 'f';
            bt_sbuf_add(b, esc, 2);
        } else if (c < 0x20 || (c >= 0x7f && c < 0x10000)) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            bt_sbuf_str(b, esc);
        } else if (c >= 0x10000) {
            c -= 0x10000;
            snprintf(esc, sizeof esc, "\\u%04x\\u%04x", 0xD800 + (c >> 10), 0xDC00 + (c & 0x3FF));
            bt_sbuf_str(b, esc);
        } else {
            esc[0] = (char)c;
            bt_sbuf_add(b, esc, 1);
        }
    }
    bt_sbuf_str(b, "\"");
}

/* A list, object or null value (base/value.h's BT_VALUE_JSON_MARK, written by
 * sweeps/spec/spec_jsonval.c: no spaces, strings escaped with \" \\ \uXXXX only) as W&B prints
 * it: str() (json 0) or json.dumps() (json 1), both with ", " and ": " between items. */
static void fmt_json_text(bt_sbuf *b, const char *t, int json) {
    while (*t) {
        char c = *t;
        if (c == '"') {
            bt_sbuf str = {0};
            for (t++; *t && *t != '"'; t++) {
                char ch = *t;
                if (ch == '\\' && t[1] == 'u' && t[2] && t[3] && t[4] && t[5]) {
                    char hex[5] = {t[2], t[3], t[4], t[5], 0};
                    ch = (char)strtol(hex, NULL, 16);
                    t += 5;
                } else if (ch == '\\' && t[1]) {
                    ch = *++t;
                }
                bt_sbuf_add(&str, &ch, 1);
            }
            bt_sbuf_add(&str, "", 1);
            if (str.oom) b->oom = 1;
            if (json)
                json_str(b, str.s ? str.s : "");
            else
                py_repr_str(b, str.s ? str.s : "");
            free(str.s);
            if (*t) t++;
        } else if (c == ',' || c == ':') {
            bt_sbuf_str(b, c == ',' ? ", " : ": ");
            t++;
        } else if (c == '[' || c == ']' || c == '{' || c == '}') {
            bt_sbuf_add(b, t++, 1);
        } else if (strncmp(t, "true", 4) == 0 || strncmp(t, "null", 4) == 0) {
            bt_sbuf_str(b, json ? (c == 't' ? "true" : "null") : (c == 't' ? "True" : "None"));
            t += 4;
        } else if (strncmp(t, "false", 5) == 0) {
            bt_sbuf_str(b, json ? "false" : "False");
            t += 5;
        } else if (strncmp(t, "NaN", 3) == 0) {
            bt_sbuf_str(b, json ? "NaN" : "nan");
            t += 3;
        } else if (strncmp(t, "Infinity", 8) == 0 || strncmp(t, "-Infinity", 9) == 0) {
            int neg = c == '-';
            bt_sbuf_str(b, json ? (neg ? "-Infinity" : "Infinity") : (neg ? "-inf" : "inf"));
            t += 8 + neg;
        } else { /* a number: an integer as written, else Python's float repr */
            size_t n = strspn(t, "+-0123456789.eE");
            if (n == 0) n = 1; /* not ours: copied */
            char tok[64];
            snprintf(tok, sizeof tok, "%.*s", (int)(n < 63 ? n : 63), t);
            if (strpbrk(tok, ".eE")) {
                char buf[64];
                bt_py_float_repr(strtod(tok, NULL), buf, sizeof buf);
                bt_sbuf_str(b, buf);
            } else {
                bt_sbuf_add(b, t, n);
            }
            t += n;
        }
    }
}

/* style: 0 str() at the top level, 1 repr() inside a container, 2 json.dumps(). */
static void fmt_value(bt_sbuf *b, const bt_value *v, int style) {
    char buf[64];
    if (bt_value_json_text(*v)) {
        fmt_json_text(b, bt_value_json_text(*v), style == 2);
        return;
    }
    switch (v->kind) {
    case BT_VALUE_INT:
        snprintf(buf, sizeof buf, "%lld", (long long)v->i);
        bt_sbuf_str(b, buf);
        break;
    case BT_VALUE_FLOAT:
        if (style == 2 && !isfinite(v->f))
            snprintf(buf, sizeof buf, "%s",
                     isnan(v->f) ? "NaN"
                     : v->f < 0  ? "-Infinity"
                                 : "Infinity");
        else
            bt_py_float_repr(v->f, buf, sizeof buf);
        bt_sbuf_str(b, buf);
        break;
    case BT_VALUE_BOOL:
        bt_sbuf_str(b, style == 2 ? (v->i ? "true" : "false") : (v->i ? "True" : "False"));
        break;
    case BT_VALUE_STRING:
        if (style == 0)
            bt_sbuf_str(b, v->s);
        else if (style == 1)
            py_repr_str(b, v->s);
        else
            json_str(b, v->s);
        break;
    default:
        bt_sbuf_str(b, style == 2 ? "null" : "None");
        break;
    }
}

void bt_py_value(bt_sbuf *b, const bt_value *v, int json) {
    fmt_value(b, v, json ? 2 : 0);
}

/* ---- the arguments: top-level names, nested parameters as dicts ------------------------------ */

/* A parameter's name split into the keys of its nesting: "opt" "lr" for lr in opt's
 * `parameters`; a top-level name with dots ("optimizer.config.lr", Hydra style) stays one key. */
typedef struct name_path {
    char *keys[16];
    int n;
} name_path;

static void path_of(const bt_param_spec *p, name_path *np) {
    np->n = 0;
    if (p->nest_len <= 0) {
        np->keys[np->n++] = strdup(p->name);
        return;
    }
    char *prefix = strndup(p->name, (size_t)p->nest_len);
    char *save = NULL;
    for (char *k = prefix ? strtok_r(prefix, ".", &save) : NULL; k && np->n < 15;
         k = strtok_r(NULL, ".", &save))
        np->keys[np->n++] = strdup(k);
    free(prefix);
    np->keys[np->n++] = strdup(p->name + p->nest_len + 1);
}

/* The dict of parameters idx[0..n) below keys[0..level) (shared by all of them). */
static void fmt_dict(bt_sbuf *b, const name_path *paths, const bt_value *config, const int *idx,
                     int n, int level, int json) {
    bt_sbuf_str(b, "{");
    unsigned char *done = calloc((size_t)n, 1);
    int *sub = malloc((size_t)n * sizeof *sub);
    int first = 1;
    for (int i = 0; i < n && done && sub; i++) {
        if (done[i]) continue;
        const name_path *pi = &paths[idx[i]];
        const char *key = pi->keys[level];
        if (!first) bt_sbuf_str(b, ", ");
        first = 0;
        if (json)
            json_str(b, key);
        else
            py_repr_str(b, key);
        bt_sbuf_str(b, ": ");
        if (pi->n == level + 1) {
            done[i] = 1;
            fmt_value(b, &config[idx[i]], json ? 2 : 1);
            continue;
        }
        int m = 0;
        for (int j = i; j < n; j++)
            if (!done[j] && paths[idx[j]].n > level + 1 &&
                strcmp(paths[idx[j]].keys[level], key) == 0) {
                sub[m++] = idx[j];
                done[j] = 1;
            }
        fmt_dict(b, paths, config, sub, m, level + 1, json);
    }
    if (!done || !sub) b->oom = 1;
    free(done);
    free(sub);
    bt_sbuf_str(b, "}");
}

typedef struct arg_list {
    char **names; /* top-level names, in the sweep's order */
    char **str;   /* str() of each value */
    int *is_bool; /* -1 not a bool, else its value */
    int n;
    char *json; /* json.dumps of the whole dict */
} arg_list;

static void args_free(arg_list *a) {
    for (int i = 0; i < a->n; i++) {
        free(a->names[i]);
        free(a->str[i]);
    }
    free(a->names);
    free(a->str);
    free(a->is_bool);
    free(a->json);
}

static bt_status args_build(const bt_spec *spec, const bt_value *config, arg_list *a) {
    int np = spec->n_params;
    memset(a, 0, sizeof *a);
    name_path *paths = calloc((size_t)(np ? np : 1), sizeof *paths);
    int *idx = malloc((size_t)(np ? np : 1) * sizeof *idx);
    a->names = calloc((size_t)(np ? np : 1), sizeof *a->names);
    a->str = calloc((size_t)(np ? np : 1), sizeof *a->str);
    a->is_bool = calloc((size_t)(np ? np : 1), sizeof *a->is_bool);
    bt_status st = BT_STATUS_OK;
    if (!paths || !idx || !a->names || !a->str || !a->is_bool)
        st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    for (int p = 0; p < np && st == BT_STATUS_OK; p++) path_of(&spec->params[p], &paths[p]);
    unsigned char *done = calloc((size_t)(np ? np : 1), 1);
    bt_sbuf js = {0};
    bt_sbuf_str(&js, "{");
    for (int p = 0; p < np && st == BT_STATUS_OK && done; p++) {
        if (done[p]) continue;
        const char *top = paths[p].keys[0];
        bt_sbuf v = {0};
        int m = 0;
        if (paths[p].n == 1) {
            fmt_value(&v, &config[p], 0);
            a->is_bool[a->n] = config[p].kind == BT_VALUE_BOOL ? (int)config[p].i : -1;
            idx[m++] = p;
        } else {
            for (int q = p; q < np; q++)
                if (!done[q] && paths[q].n > 1 && strcmp(paths[q].keys[0], top) == 0) idx[m++] = q;
            fmt_dict(&v, paths, config, idx, m, 1, 0);
            a->is_bool[a->n] = -1;
        }
        for (int k = 0; k < m; k++) done[idx[k]] = 1;
        if (a->n) bt_sbuf_str(&js, ", ");
        json_str(&js, top);
        bt_sbuf_str(&js, ": ");
        if (paths[p].n == 1)
            fmt_value(&js, &config[p], 2);
        else
            fmt_dict(&js, paths, config, idx, m, 1, 1);
        a->names[a->n] = strdup(top);
        a->str[a->n] = bt_sbuf_take(&v);
        if (!a->names[a->n] || v.oom) st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
        a->n++;
    }
    bt_sbuf_str(&js, "}");
    if (!done || js.oom) st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    a->json = bt_sbuf_take(&js);
    for (int p = 0; paths && p < np; p++)
        for (int k = 0; k < paths[p].n; k++) free(paths[p].keys[k]);
    free(paths);
    free(idx);
    free(done);
    return st;
}

/* ---- the command ---------------------------------------------------------------------------- */

static const char *const default_command[] = {"${env}", "${interpreter}", "${program}", "${args}"};

static void command_of(const bt_spec *spec, const char *const **cmd, int *n) {
    if (spec->prog.command) {
        *cmd = (const char *const *)spec->prog.command;
        *n = spec->prog.n_command;
    } else {
        *cmd = default_command;
        *n = 4;
    }
}

int bt_cmdline_uses(const bt_spec *spec, const char *macro) {
    const char *const *cmd;
    int n;
    command_of(spec, &cmd, &n);
    for (int i = 0; i < n; i++)
        if (strcmp(cmd[i], macro) == 0) return 1;
    return 0;
}

/* ${envvar:NAME} (NAME of A-Z, 0-9, _) -> the variable's value, or NAME when it is unset. */
static char *fill_envvars(const char *c) {
    bt_sbuf b = {0};
    bt_sbuf_str(&b, "");
    const char *p = c;
    for (;;) {
        const char *m = strstr(p, "${envvar:");
        if (!m) break;
        const char *q = m + 9;
        while ((*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '_') q++;
        if (*q != '}') {
            bt_sbuf_add(&b, p, (size_t)(m - p) + 1);
            p = m + 1;
            continue;
        }
        bt_sbuf_add(&b, p, (size_t)(m - p));
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(q - (m + 9)), m + 9);
        const char *val = getenv(name);
        bt_sbuf_str(&b, val ? val : name);
        p = q + 1;
    }
    bt_sbuf_str(&b, p);
    return bt_sbuf_take(&b);
}

/* Pushes "pre" name "mid" value for each argument (value NULL: no "mid" either). */
/* One argument pre + name [+ "=" + value]. */
static bt_status push_flag(bt_argv *out, const char *pre, const char *name, const char *value) {
    bt_sbuf b = {0};
    bt_sbuf_str(&b, pre);
    bt_sbuf_str(&b, name);
    if (value) {
        bt_sbuf_str(&b, "=");
        bt_sbuf_str(&b, value);
    }
    char *s = bt_sbuf_take(&b);
    bt_status st = bt_argv_push(out, s);
    free(s);
    return st;
}

static bt_status push_flags(bt_argv *out, const arg_list *a, const char *pre, int equals) {
    for (int i = 0; i < a->n; i++) {
        BT_TRY(push_flag(out, pre, a->names[i], equals ? a->str[i] : NULL));
        if (!equals) BT_TRY(bt_argv_push(out, a->str[i]));
    }
    return BT_STATUS_OK;
}

static bt_status expand_macro(bt_argv *out, const char *name, const bt_spec *spec,
                              const arg_list *a, const bt_cmdline_ctx *ctx) {
    if (strcmp(name, "env") == 0) return bt_argv_push(out, "/usr/bin/env");
    if (strcmp(name, "interpreter") == 0) return bt_argv_push(out, ctx->interpreter);
    if (strcmp(name, "program") == 0)
        return spec->program ? bt_argv_push(out, spec->program) : BT_STATUS_OK;
    if (strcmp(name, "args") == 0) return push_flags(out, a, "--", 1);
    if (strcmp(name, "args_no_hyphens") == 0) return push_flags(out, a, "", 1);
    if (strcmp(name, "args_no_equals") == 0) return push_flags(out, a, "--", 0);
    if (strcmp(name, "args_append_hydra") == 0) return push_flags(out, a, "+", 1);
    if (strcmp(name, "args_override_hydra") == 0) return push_flags(out, a, "++", 1);
    if (strcmp(name, "args_json") == 0) return bt_argv_push(out, a->json);
    if (strcmp(name, "args_json_file") == 0) return bt_argv_push(out, ctx->args_json_file);
    if (strcmp(name, "args_dict") == 0) /* list += dict adds the dict's keys */
        for (int i = 0; i < a->n; i++) BT_TRY(bt_argv_push(out, a->names[i]));
    if (strcmp(name, "args_no_boolean_flags") == 0)
        for (int i = 0; i < a->n; i++) /* True: a bare flag; False: left out */
            if (a->is_bool[i] != 0)
                BT_TRY(push_flag(out, "--", a->names[i], a->is_bool[i] < 0 ? a->str[i] : NULL));
    return BT_STATUS_OK; /* an unknown macro adds nothing, as in W&B */
}

bt_status bt_cmdline_build(const bt_spec *spec, const bt_value *config, const bt_cmdline_ctx *ctx,
                           bt_argv *out, char **args_json) {
    memset(out, 0, sizeof *out);
    if (args_json) *args_json = NULL;
    arg_list a;
    bt_status st = args_build(spec, config, &a);
    const char *const *cmd;
    int n;
    command_of(spec, &cmd, &n);
    for (int i = 0; i < n && st == BT_STATUS_OK; i++) {
        char *c = fill_envvars(cmd[i]);
        size_t len = strlen(c);
        if (len >= 3 && c[0] == '$' && c[1] == '{' && c[len - 1] == '}') {
            c[len - 1] = '\0';
            st = expand_macro(out, c + 2, spec, &a, ctx);
        } else {
            st = bt_argv_push(out, c);
        }
        free(c);
    }
    if (st == BT_STATUS_OK && out->n == 0) st = bt_argv_push(out, "");
    if (st == BT_STATUS_OK && args_json) {
        *args_json = a.json;
        a.json = NULL;
    }
    args_free(&a);
    if (st != BT_STATUS_OK) bt_argv_free(out);
    return st;
}
