/* Positions for cJSON items: a second, tiny pass over the raw JSON text that mirrors the tree
 * cJSON built (same member order), recording key and value offsets per item (see json_locate.h).
 * The text is known to be valid JSON already, so the walker only needs to skip tokens. */
#include "sweeps/spec/json_locate.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct walker {
    bt_jpos *m;
    const char *text;
} walker;

static const char *skip_ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

static const char *skip_string(const char *p) {
    p++; /* opening quote */
    while (*p && *p != '"') {
        if (*p == '\\' && p[1]) p++;
        p++;
    }
    return *p ? p + 1 : p;
}

/* Walks the value at *pp that cJSON turned into item; -1 when text and tree disagree. */
static int walk(walker *w, const cJSON *item, const char **pp, size_t key_off, int has_key) {
    const char *p = skip_ws(*pp);
    size_t val_off = (size_t)(p - w->text);
    if (!has_key) key_off = val_off;
    if (cJSON_IsObject(item) || cJSON_IsArray(item)) {
        int is_obj = cJSON_IsObject(item);
        char close = is_obj ? '}' : ']';
        if (*p != (is_obj ? '{' : '[')) return -1;
        p = skip_ws(p + 1);
        const cJSON *child = item->child;
        if (*p == close) {
            p++;
        } else {
            for (;;) {
                if (!child) return -1;
                p = skip_ws(p);
                size_t ko = 0;
                if (is_obj) {
                    if (*p != '"') return -1;
                    ko = (size_t)(p - w->text);
                    p = skip_ws(skip_string(p));
                    if (*p != ':') return -1;
                    p++;
                }
                if (walk(w, child, &p, ko, is_obj) != 0) return -1;
                child = child->next;
                p = skip_ws(p);
                if (*p == ',') {
                    p++;
                    continue;
                }
                if (*p == close) {
                    p++;
                    break;
                }
                return -1;
            }
        }
        if (child) return -1;
    } else if (*p == '"') {
        p = skip_string(p);
    } else {
        while (*p && !strchr(",]} \t\r\n", *p)) p++;
    }
    *pp = p;
    return bt_jpos_add(w->m, item, key_off, val_off, (size_t)(p - w->text), NULL) < 0 ? -1 : 0;
}

static int cmp_entry(const void *a, const void *b) {
    uintptr_t x = (uintptr_t)((const bt_jpos_entry *)a)->item;
    uintptr_t y = (uintptr_t)((const bt_jpos_entry *)b)->item;
    return x < y ? -1 : x > y;
}

/* Line starts of text; cr: a lone '\r' ends a line too (YAML), else only '\n' does (JSON). */
static bt_status index_lines(bt_jpos *m, const char *text, int cr) {
    memset(m, 0, sizeof *m);
    m->text = text;
    size_t n_lines = 1;
    for (const char *p = text; *p; p++) n_lines += *p == '\n' || (cr && *p == '\r' && p[1] != '\n');
    m->line_starts = malloc((n_lines + 3) * sizeof *m->line_starts);
    BT_CHECK_ALLOC(m->line_starts);
    m->line_starts[0] = 0;
    m->n_lines = 1;
    for (const char *p = text; *p; p++)
        if (*p == '\n' || (cr && *p == '\r' && p[1] != '\n'))
            m->line_starts[m->n_lines++] = (size_t)(p - text) + 1;
    m->memo = m->line_starts + n_lines;
    m->memo[0] = m->memo[1] = m->memo[2] = 0; /* line 1, offset 0, 0 characters before it */
    return BT_STATUS_OK;
}

bt_status bt_jpos_begin(bt_jpos *m, const char *text) {
    return index_lines(m, text, 1);
}

long bt_jpos_add(bt_jpos *m, const cJSON *item, size_t key_off, size_t val_off, size_t val_end,
                 const char *num) {
    if (m->n == m->cap_e) {
        size_t cap = m->cap_e ? 2 * m->cap_e : 64;
        bt_jpos_entry *e = realloc(m->e, cap * sizeof *e);
        if (!e) return -1;
        m->e = e;
        m->cap_e = cap;
    }
    size_t tok = 0;
    if (num) {
        size_t len = strlen(num) + 1;
        if (m->n_tokens + len > m->cap_tokens) {
            size_t cap = m->cap_tokens ? 2 * m->cap_tokens : 256;
            while (cap < m->n_tokens + len) cap *= 2;
            char *t = realloc(m->tokens, cap);
            if (!t) return -1;
            m->tokens = t;
            m->cap_tokens = cap;
        }
        memcpy(m->tokens + m->n_tokens, num, len);
        tok = m->n_tokens + 1;
        m->n_tokens += len;
    }
    m->e[m->n] = (bt_jpos_entry){item, key_off, val_off, val_end, tok};
    return (long)m->n++;
}

void bt_jpos_finish(bt_jpos *m) {
    size_t k = 0;
    for (size_t i = 0; i < m->n; i++)
        if (m->e[i].item) m->e[k++] = m->e[i];
    m->n = k;
    qsort(m->e, m->n, sizeof *m->e, cmp_entry);
}

bt_status bt_jpos_build(bt_jpos *m, const char *text, const cJSON *root) {
    BT_TRY(index_lines(m, text, 0));
    walker w = {m, text};
    const char *p = text;
    if ((unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF)
        p += 3; /* UTF-8 byte order mark, which cJSON skips too */
    if (walk(&w, root, &p, 0, 0) != 0) {
        bt_jpos_free(m);
        return BT_FAIL(BT_STATUS_INTERNAL, "json positions: text and cJSON tree disagree");
    }
    bt_jpos_finish(m);
    return BT_STATUS_OK;
}

void bt_jpos_free(bt_jpos *m) {
    if (!m) return;
    free(m->e);
    free(m->line_starts);
    free(m->tokens);
    memset(m, 0, sizeof *m);
}

const bt_jpos_entry *bt_jpos_find(const bt_jpos *m, const cJSON *item) {
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uintptr_t)m->e[mid].item < (uintptr_t)item)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->n && m->e[lo].item == item ? &m->e[lo] : NULL;
}

const char *bt_jpos_number(const bt_jpos *m, const cJSON *item, size_t *len) {
    const bt_jpos_entry *e = bt_jpos_find(m, item);
    if (!e) return NULL;
    if (e->num) {
        const char *t = m->tokens + e->num - 1;
        *len = strlen(t);
        return t;
    }
    *len = e->val_end - e->val_off;
    return m->text + e->val_off;
}

static int count_chars(const char *s, size_t n) {
    int c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80; /* UTF-8 leads */
    return c;
}

void bt_jpos_linecol(const bt_jpos *m, size_t off, int *line, int *col) {
    size_t lo = 0, hi = m->n_lines;
    while (hi - lo > 1) { /* last line start <= off */
        size_t mid = lo + (hi - lo) / 2;
        if (m->line_starts[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    *line = (int)lo + 1;
    size_t start = m->line_starts[lo], from = start, chars = 0;
    if (m->memo && m->memo[0] == start && m->memo[1] <= off) { /* further along the same line */
        from = m->memo[1];
        chars = m->memo[2];
    }
    chars += (size_t)count_chars(m->text + from, off - from);
    if (m->memo) {
        m->memo[0] = start;
        m->memo[1] = off;
        m->memo[2] = chars;
    }
    *col = (int)chars + 1;
}

void bt_jpos_item(const bt_jpos *m, const cJSON *item, int want_key, int *line, int *col) {
    const bt_jpos_entry *e = item ? bt_jpos_find(m, item) : NULL;
    if (!e) {
        *line = *col = 1;
        return;
    }
    bt_jpos_linecol(m, want_key ? e->key_off : e->val_off, line, col);
}

int bt_jpos_locate(const bt_jpos *m, const cJSON *root, const char *const *path, int n_path,
                   int want_key, int *line, int *col) {
    const cJSON *it = root;
    for (int i = 0; i < n_path && it; i++) {
        if (cJSON_IsArray(it)) {
            char *end;
            long k = strtol(path[i], &end, 10);
            if (*end || k < 0) return 0;
            it = cJSON_GetArrayItem(it, (int)k);
        } else if (cJSON_IsObject(it)) {
            it = cJSON_GetObjectItemCaseSensitive(it, path[i]);
        } else {
            return 0;
        }
    }
    if (!it) return 0;
    bt_jpos_item(m, it, want_key, line, col);
    return 1;
}

void bt_json_text_linecol(const char *text, size_t err_off, int *line, int *col) {
    int l = 1;
    size_t start = 0;
    for (size_t i = 0; i < err_off && text[i]; i++)
        if (text[i] == '\n') {
            l++;
            start = i + 1;
        }
    *line = l;
    *col = count_chars(text + start, err_off - start) + 1;
}

/* ---- syntax errors -------------------------------------------------------------------------- */

/* A strict recursive-descent checker that stops at the first error with a message aimed at the
 * usual slips (trailing commas, comments, single quotes, missing commas). */
typedef struct checker {
    const char *text, *p;
    const char *err;
    const char *msg;
    int depth;
} checker;

static int fail_at(checker *k, const char *at, const char *msg) {
    if (!k->err) {
        k->err = at;
        k->msg = msg;
    }
    return 0;
}

static int check_value(checker *k);

static int check_string(checker *k) {
    const char *p = k->p;
    if (*p == '\'') return fail_at(k, p, "strings and keys need double quotes (\"...\") in JSON");
    if (*p != '"') return fail_at(k, p, "expected a string in double quotes");
    p++;
    while (*p != '"') {
        if (*p == '\0' || *p == '\n')
            return fail_at(k, k->p, "unterminated string (missing closing \")");
        if ((unsigned char)*p < 0x20) return fail_at(k, p, "control character inside a string");
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!isxdigit((unsigned char)p[i]))
                        return fail_at(k, p - 1, "invalid \\u escape in a string");
                p += 4;
            } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
                return fail_at(k, p - 1, "invalid escape in a string");
            }
        }
        p++;
    }
    k->p = p + 1;
    return 1;
}

static int check_number(checker *k) {
    const char *p = k->p;
    if (*p == '-') p++;
    if (*p == '0')
        p++;
    else if (isdigit((unsigned char)*p))
        while (isdigit((unsigned char)*p)) p++;
    else
        return fail_at(k, k->p, "invalid number");
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) return fail_at(k, k->p, "invalid number");
        while (isdigit((unsigned char)*p)) p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!isdigit((unsigned char)*p)) return fail_at(k, k->p, "invalid number");
        while (isdigit((unsigned char)*p)) p++;
    }
    if (isalnum((unsigned char)*p) || *p == '.') return fail_at(k, k->p, "invalid number");
    k->p = p;
    return 1;
}

/* After an item inside an object or array: ',' (not before the closer) or the closer. */
static int check_after_item(checker *k, char close, int *done) {
    k->p = skip_ws(k->p);
    if (*k->p == ',') {
        const char *comma = k->p;
        k->p = skip_ws(k->p + 1);
        if (*k->p == close)
            return fail_at(k, comma,
                           "trailing comma before a closing bracket is not allowed in "
                           "JSON");
        *done = 0;
        return 1;
    }
    if (*k->p == close) {
        k->p++;
        *done = 1;
        return 1;
    }
    if (*k->p == '\0') return fail_at(k, k->p, "unexpected end of file (an unclosed '{' or '['?)");
    if (*k->p == '/' || *k->p == '#') return fail_at(k, k->p, "comments are not allowed in JSON");
    if (*k->p == '"' || *k->p == '\'' || *k->p == '{' || *k->p == '[' ||
        isalnum((unsigned char)*k->p) || *k->p == '-')
        return fail_at(k, k->p, "missing ',' between items");
    return fail_at(k, k->p, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
}

static int check_value(checker *k) {
    k->p = skip_ws(k->p);
    const char *p = k->p;
    if (++k->depth > 500) return fail_at(k, p, "nested too deeply");
    int ok = 1;
    if (*p == '{') {
        k->p = skip_ws(p + 1);
        if (*k->p == '}') {
            k->p++;
        } else {
            for (int done = 0; ok && !done;) {
                k->p = skip_ws(k->p);
                if (*k->p == '/' || *k->p == '#')
                    ok = fail_at(k, k->p, "comments are not allowed in JSON");
                else if (*k->p == '\0')
                    ok = fail_at(k, k->p, "unexpected end of file (an unclosed '{'?)");
                else if (*k->p != '"' && *k->p != '\'')
                    ok = fail_at(k, k->p, "expected a key in double quotes");
                else if ((ok = check_string(k))) {
                    k->p = skip_ws(k->p);
                    if (*k->p != ':')
                        ok = fail_at(k, k->p, "expected ':' after the key");
                    else {
                        k->p++;
                        ok = check_value(k) && check_after_item(k, '}', &done);
                    }
                }
            }
        }
    } else if (*p == '[') {
        k->p = skip_ws(p + 1);
        if (*k->p == ']') {
            k->p++;
        } else {
            for (int done = 0; ok && !done;) ok = check_value(k) && check_after_item(k, ']', &done);
        }
    } else if (*p == '"' || *p == '\'') {
        ok = check_string(k);
    } else if (*p == '-' || isdigit((unsigned char)*p)) {
        ok = check_number(k);
    } else if (strncmp(p, "true", 4) == 0 || strncmp(p, "null", 4) == 0) {
        k->p = p + 4;
    } else if (strncmp(p, "false", 5) == 0) {
        k->p = p + 5;
    } else if (*p == '/' || *p == '#') {
        ok = fail_at(k, p, "comments are not allowed in JSON");
    } else if (*p == '\0') {
        ok = fail_at(k, p, "unexpected end of file (expected a value)");
    } else if (strncmp(p, "True", 4) == 0 || strncmp(p, "False", 5) == 0 ||
               strncmp(p, "None", 4) == 0) {
        ok = fail_at(k, p, "JSON writes true, false and null in lower case");
    } else if (strncmp(p, "NaN", 3) == 0 || strncmp(p, "Infinity", 8) == 0) {
        ok = fail_at(k, p, "JSON has no NaN or Infinity");
    } else {
        ok = fail_at(k, p, "expected a value (object, array, string, number, true, false, null)");
    }
    k->depth--;
    return ok;
}

int bt_json_find_error(const char *text, size_t *err_off, char *msg, int n_msg) {
    checker k = {text, text, NULL, NULL, 0};
    if ((unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB &&
        (unsigned char)text[2] == 0xBF)
        k.p += 3;
    const char *start = skip_ws(k.p);
    if (*start == '\0') {
        fail_at(&k, start, "empty file (expected a JSON object)");
    } else if (check_value(&k)) {
        k.p = skip_ws(k.p);
        if (*k.p) fail_at(&k, k.p, "unexpected text after the end of the JSON value");
    }
    if (!k.err) return 0;
    *err_off = (size_t)(k.err - text);
    snprintf(msg, (size_t)n_msg, "%s", k.msg);
    return 1;
}
