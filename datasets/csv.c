/* CSV loader: a header row, then one numeric row per record; RFC 4180 quoting (also newlines
 * inside quotes), CRLF, a ',' ';' or tab delimiter detected from the header, gzip'd files. Every
 * bad cell is an error naming file, line and column, so no row is ever dropped silently. */
#include "datasets/loaders.h"

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct csv_reader {
    const char *path;
    char *p, *end;
    int64_t line; /* physical line of *p, 1-based */
    char delim;
    char **fields;
    int n_fields, cap_fields;
} csv_reader;

static int is_blank_char(const csv_reader *r, char c) {
    return c == ' ' || (c == '\t' && r->delim != '\t');
}

static bt_status push_field(csv_reader *r, char *s) {
    if (r->n_fields == r->cap_fields) {
        int cap = r->cap_fields ? r->cap_fields * 2 : 64;
        char **f = realloc(r->fields, (size_t)cap * sizeof *f);
        BT_CHECK_ALLOC(f);
        r->fields = f;
        r->cap_fields = cap;
    }
    r->fields[r->n_fields++] = s;
    return BT_STATUS_OK;
}

/* Reads the next record into r->fields (NUL-terminated in place, quotes removed). *got is 0 at
 * the end of the file; *blank says the record was an empty line. */
static bt_status csv_next(csv_reader *r, int *got, int *blank, int64_t *rec_line) {
    *got = 0;
    *blank = 0;
    *rec_line = r->line;
    r->n_fields = 0;
    if (r->p >= r->end) return BT_STATUS_OK;
    int any_quoted = 0;
    for (;;) {
        char *q = r->p, *start, *wend;
        while (q < r->end && is_blank_char(r, *q)) q++;
        if (q < r->end && *q == '"') {
            any_quoted = 1;
            q++;
            start = wend = q;
            for (;;) {
                if (q >= r->end)
                    return BT_FAIL(BT_STATUS_BAD_INPUT, "%s:%lld: quoted field is never closed",
                                   r->path, (long long)*rec_line);
                if (*q == '"') {
                    if (q + 1 < r->end && q[1] == '"') {
                        *wend++ = '"';
                        q += 2;
                        continue;
                    }
                    q++;
                    break;
                }
                if (*q == '\n') r->line++;
                *wend++ = *q++;
            }
            while (q < r->end && is_blank_char(r, *q)) q++;
            if (q < r->end && *q != r->delim && *q != '\n' && *q != '\r')
                return BT_FAIL(BT_STATUS_BAD_INPUT,
                               "%s:%lld: unexpected '%c' after a closing quote (column %d)",
                               r->path, (long long)r->line, *q, r->n_fields + 1);
        } else {
            start = q;
            while (q < r->end && *q != r->delim && *q != '\n' && *q != '\r') q++;
            wend = q;
            while (wend > start && is_blank_char(r, wend[-1])) wend--;
        }
        char term = q < r->end ? *q : '\n';
        *wend = '\0'; /* may overwrite term; it was saved above */
        BT_TRY(push_field(r, start));
        if (term == r->delim) {
            r->p = q + 1;
            continue;
        }
        if (q < r->end) {
            q += (term == '\r' && q + 1 < r->end && q[1] == '\n') ? 2 : 1;
            r->line++;
        }
        r->p = q;
        break;
    }
    *got = 1;
    *blank = r->n_fields == 1 && !any_quoted && r->fields[0][0] == '\0';
    return BT_STATUS_OK;
}

static int is_missing(const char *s) {
    return s[0] == '\0' || strcmp(s, "?") == 0 || strcasecmp(s, "na") == 0 ||
           strcasecmp(s, "n/a") == 0 || strcasecmp(s, "nan") == 0 || strcasecmp(s, "-nan") == 0 ||
           strcasecmp(s, "null") == 0;
}

/* 0 ok, 1 not a number, 2 out of float range. */
static int parse_number(const char *s, float *out) {
    char *e;
    double v = strtod(s, &e);
    if (e == s || *e != '\0') return 1;
    if (isfinite(v) && fabs(v) > FLT_MAX) return 2;
    *out = (float)v;
    return 0;
}

static char detect_delim(const char *p, const char *end) {
    int in_q = 0, comma = 0, semi = 0, tab = 0;
    for (; p < end && (in_q || (*p != '\n' && *p != '\r')); p++) {
        if (*p == '"')
            in_q = !in_q;
        else if (!in_q && *p == ',')
            comma++;
        else if (!in_q && *p == ';')
            semi++;
        else if (!in_q && *p == '\t')
            tab++;
    }
    return comma ? ',' : semi ? ';' : tab ? '\t' : ',';
}

static int edit_distance(const char *a, const char *b) {
    size_t n = strlen(a), m = strlen(b);
    if (n > 200 || m > 200) return 1000;
    int prev[201], cur[201];
    for (size_t j = 0; j <= m; j++) prev[j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= m; j++) {
            int sub = prev[j - 1] +
                      (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (m + 1) * sizeof(int));
    }
    return prev[m];
}

static bt_status no_such_column(const csv_reader *r, const char *name, int64_t line) {
    int best = -1, best_d = 1 << 30;
    for (int c = 0; c < r->n_fields; c++) {
        int d = edit_distance(name, r->fields[c]);
        if (d < best_d) best_d = d, best = c;
    }
    char cols[1024];
    size_t used = 0;
    cols[0] = '\0';
    for (int c = 0; c < r->n_fields && used + 40 < sizeof cols; c++) {
        char ex[BT_EXCERPT_SIZE];
        int w = snprintf(cols + used, sizeof cols - used, "%s%s", c ? ", " : "",
                         bt_excerpt(r->fields[c], -1, ex));
        if (w < 0 || (size_t)w >= sizeof cols - used) break;
        used += (size_t)w;
        if (c == 29 && r->n_fields > 30) {
            snprintf(cols + used, sizeof cols - used, ", ... (%d columns)", r->n_fields);
            break;
        }
    }
    size_t len = strlen(name);
    int close = best >= 0 && best_d <= (len > 6 ? (int)len / 3 : 2);
    char ex[BT_EXCERPT_SIZE];
    return BT_FAIL(BT_STATUS_BAD_INPUT, "%s:%lld: no column named '%s'%s%s%s; columns are: %s",
                   r->path, (long long)line, name, close ? " (did you mean '" : "",
                   close ? bt_excerpt(r->fields[best], -1, ex) : "", close ? "'?)" : "", cols);
}

typedef struct csv_table {
    float *X, *y;
    int64_t *lines;
    int64_t n, cap;
    int32_t nf;
} csv_table;

static bt_status table_grow(csv_table *t) {
    int64_t cap = t->cap ? t->cap * 2 : 1024;
    float *X = realloc(t->X, (size_t)cap * (size_t)(t->nf ? t->nf : 1) * sizeof(float));
    if (X) t->X = X;
    float *y = realloc(t->y, (size_t)cap * sizeof(float));
    if (y) t->y = y;
    int64_t *l = realloc(t->lines, (size_t)cap * sizeof(int64_t));
    if (l) t->lines = l;
    if (!X || !y || !l) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory growing CSV table");
    t->cap = cap;
    return BT_STATUS_OK;
}

static bt_status load(csv_reader *r, const char *target_name, int target_index, bt_dataset *out,
                      int64_t **row_lines, csv_table *t) {
    /* Header: skip a UTF-8 byte order mark and leading empty lines. */
    if (r->end - r->p >= 3 && memcmp(r->p, "\xEF\xBB\xBF", 3) == 0) r->p += 3;
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\r' || *r->p == '\n')) {
        if (*r->p == '\n') r->line++;
        r->p++;
    }
    if (r->p >= r->end) return BT_FAIL(BT_STATUS_BAD_INPUT, "%s:1: empty file", r->path);
    r->delim = detect_delim(r->p, r->end);
    int got, blank;
    int64_t hline;
    BT_TRY(csv_next(r, &got, &blank, &hline));
    int ncols = r->n_fields;
    int tcol;
    if (target_name) {
        tcol = -1;
        for (int c = 0; c < ncols; c++)
            if (strcmp(r->fields[c], target_name) == 0) {
                tcol = c;
                break;
            }
        if (tcol < 0) return no_such_column(r, target_name, hline);
    } else {
        tcol = target_index < 0 ? ncols + target_index : target_index;
        if (tcol < 0 || tcol >= ncols)
            return BT_FAIL(BT_STATUS_BAD_INPUT,
                           "%s:%lld: target_index %d is out of range: the header has %d column%s",
                           r->path, (long long)hline, target_index, ncols, ncols == 1 ? "" : "s");
    }
    if (ncols < 2) {
        char ex[BT_EXCERPT_SIZE];
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "%s:%lld: the header has only the target column '%s'; no features (is "
                       "the delimiter ',', ';' or tab?)",
                       r->path, (long long)hline, bt_excerpt(r->fields[tcol], -1, ex));
    }
    t->nf = ncols - 1;
    out->feature_names = calloc((size_t)t->nf, sizeof(char *));
    BT_CHECK_ALLOC(out->feature_names);
    out->n_features = t->nf; /* so bt_dataset_free releases the names on failure */
    for (int c = 0, j = 0; c < ncols; c++) {
        if (c == tcol) continue;
        char tmp[32];
        snprintf(tmp, sizeof tmp, "column_%d", c + 1);
        out->feature_names[j] = bt_strdup_(r->fields[c][0] ? r->fields[c] : tmp);
        BT_CHECK_ALLOC(out->feature_names[j]);
        j++;
    }
    char target_label[256]; /* r->fields is reused by every row */
    snprintf(target_label, sizeof target_label, "%s", r->fields[tcol]);

    for (;;) {
        int64_t line;
        BT_TRY(csv_next(r, &got, &blank, &line));
        if (!got) break;
        if (blank) continue;
        if (r->n_fields != ncols)
            return BT_FAIL(BT_STATUS_BAD_INPUT, "%s:%lld: row has %d field%s but the header has %d",
                           r->path, (long long)line, r->n_fields, r->n_fields == 1 ? "" : "s",
                           ncols);
        if (t->n == t->cap) BT_TRY(table_grow(t));
        float *row = t->X + (size_t)t->n * (size_t)t->nf;
        char ex1[BT_EXCERPT_SIZE], ex2[BT_EXCERPT_SIZE];
        for (int c = 0, j = 0; c < ncols; c++) {
            const char *cell = r->fields[c];
            if (c == tcol) {
                if (is_missing(cell))
                    return BT_FAIL(BT_STATUS_BAD_INPUT,
                                   "%s:%lld: missing label ('%s') in target column '%s'", r->path,
                                   (long long)line, cell, bt_excerpt(target_label, -1, ex2));
                int e = parse_number(cell, &t->y[t->n]);
                if (e)
                    return BT_FAIL(BT_STATUS_BAD_INPUT,
                                   "%s:%lld: label '%s' in target column '%s' %s", r->path,
                                   (long long)line, bt_excerpt(cell, -1, ex1),
                                   bt_excerpt(target_label, -1, ex2),
                                   e == 1 ? "is not a number (encode classes as 0, 1, 2, ...)"
                                          : "is out of float range");
                continue;
            }
            if (is_missing(cell)) {
                row[j++] = NAN;
                continue;
            }
            int e = parse_number(cell, &row[j]);
            if (e)
                return BT_FAIL(BT_STATUS_BAD_INPUT, "%s:%lld: column %d '%s': '%s' %s", r->path,
                               (long long)line, c + 1, bt_excerpt(out->feature_names[j], -1, ex2),
                               bt_excerpt(cell, -1, ex1),
                               e == 1 ? "is not a number" : "is out of float range");
            j++;
        }
        t->lines[t->n++] = line;
    }
    if (t->n == 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s:%lld: no data rows after the header", r->path,
                       (long long)hline);
    out->n_rows = t->n;
    out->X = t->X;
    out->y = t->y;
    t->X = t->y = NULL;
    if (row_lines) {
        *row_lines = t->lines;
        t->lines = NULL;
    }
    out->source = bt_strdup_(r->path);
    BT_CHECK_ALLOC(out->source);
    return BT_STATUS_OK;
}

bt_status bt_dataset_load_csv(const char *path, const char *target_name, int target_index,
                              bt_dataset *out, int64_t **row_lines) {
    memset(out, 0, sizeof *out);
    if (row_lines) *row_lines = NULL;
    unsigned char *buf;
    size_t len;
    BT_TRY(bt_file_read_all(path, &buf, &len));
    const unsigned char *nul = memchr(buf, 0, len);
    if (nul) { /* strtod would stop there and take a cell's prefix for the whole */
        int64_t line = 1;
        for (const unsigned char *q = buf; q < nul; q++) line += *q == '\n';
        free(buf);
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s:%lld: NUL byte: this is not a text CSV file", path,
                       (long long)line);
    }
    csv_reader r = {.path = path, .p = (char *)buf, .end = (char *)buf + len, .line = 1};
    csv_table t = {0};
    bt_status s = load(&r, target_name, target_index, out, row_lines, &t);
    free(r.fields);
    free(buf);
    free(t.X);
    free(t.y);
    free(t.lines);
    if (s != BT_STATUS_OK) {
        bt_dataset_free(out);
        if (row_lines) {
            free(*row_lines);
            *row_lines = NULL;
        }
    }
    return s;
}
