/* LIBSVM / SVMlight loader: "label idx:val idx:val ... [# comment]" with 1-based indices, read
 * into a dense table. Absent entries are missing (NaN), as XGBoost's DMatrix treats them, so a
 * tree model learns a default direction for them; `qid:` tokens are ignored. */
#include "datasets/loaders.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct svm_entry {
    int64_t row;
    int64_t idx; /* 0-based */
    float val;
} svm_entry;

typedef struct svm_parse {
    svm_entry *e;
    size_t n_e, cap_e;
    float *y;
    int64_t *lines;
    int64_t n_rows, cap_rows;
    int64_t max_idx; /* 1-based, 0 = none */
} svm_parse;

static bt_status push_entry(svm_parse *p, int64_t row, int64_t idx, float v) {
    if (p->n_e == p->cap_e) {
        size_t cap = p->cap_e ? p->cap_e * 2 : 4096;
        svm_entry *e = realloc(p->e, cap * sizeof *e);
        BT_CHECK_ALLOC(e);
        p->e = e;
        p->cap_e = cap;
    }
    p->e[p->n_e++] = (svm_entry){row, idx, v};
    return BT_STATUS_OK;
}

static bt_status push_row(svm_parse *p, float y, int64_t line) {
    if (p->n_rows == p->cap_rows) {
        int64_t cap = p->cap_rows ? p->cap_rows * 2 : 1024;
        float *ny = realloc(p->y, (size_t)cap * sizeof(float));
        if (ny) p->y = ny;
        int64_t *nl = realloc(p->lines, (size_t)cap * sizeof(int64_t));
        if (nl) p->lines = nl;
        if (!ny || !nl) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory reading LIBSVM rows");
        p->cap_rows = cap;
    }
    p->y[p->n_rows] = y;
    p->lines[p->n_rows++] = line;
    return BT_STATUS_OK;
}

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r';
}

static bt_status parse(const char *path, char *buf, size_t len, svm_parse *p) {
    char *s = buf, *end = buf + len;
    int64_t line = 0;
    char ex[BT_EXCERPT_SIZE];
    while (s < end) {
        line++;
        char *eol = memchr(s, '\n', (size_t)(end - s));
        if (!eol) eol = end;
        *eol = '\0';
        char *hash = memchr(s, '#', (size_t)(eol - s));
        if (hash) *hash = '\0';
        char *q = s;
        s = eol + 1;
        while (is_space(*q)) q++;
        if (*q == '\0') continue; /* empty or comment-only line: not a row */
        char *e;
        double label = strtod(q, &e);
        if (e == q || (*e && !is_space(*e))) {
            char *t = q;
            while (*t && !is_space(*t)) t++;
            *t = '\0';
            return BT_FAIL(BT_STATUS_BAD_INPUT, "%s:%lld: label '%s' is not a number", path,
                           (long long)line, bt_excerpt(q, -1, ex));
        }
        BT_TRY(push_row(p, (float)label, line));
        q = e;
        for (;;) {
            while (is_space(*q)) q++;
            if (*q == '\0') break;
            char *tok = q;
            while (*q && !is_space(*q)) q++;
            if (*q) *q++ = '\0';
            if (strncmp(tok, "qid:", 4) == 0) continue;
            char *colon = strchr(tok, ':');
            if (!colon)
                return BT_FAIL(BT_STATUS_BAD_INPUT, "%s:%lld: '%s' is not an index:value pair",
                               path, (long long)line, bt_excerpt(tok, -1, ex));
            *colon = '\0';
            errno = 0;
            long long idx = strtoll(tok, &e, 10);
            if (e == tok || *e || errno || idx < 1 || idx > INT32_MAX)
                return BT_FAIL(BT_STATUS_BAD_INPUT,
                               "%s:%lld: feature index '%s' must be an integer >= 1 (LIBSVM "
                               "indices start at 1)",
                               path, (long long)line, bt_excerpt(tok, -1, ex));
            double v = strtod(colon + 1, &e);
            if (e == colon + 1 || *e)
                return BT_FAIL(BT_STATUS_BAD_INPUT,
                               "%s:%lld: value '%s' of feature %lld is not a number", path,
                               (long long)line, bt_excerpt(colon + 1, -1, ex), idx);
            if (isfinite(v) && fabs(v) > FLT_MAX)
                return BT_FAIL(BT_STATUS_BAD_INPUT,
                               "%s:%lld: value '%s' of feature %lld is out of float range", path,
                               (long long)line, bt_excerpt(colon + 1, -1, ex), idx);
            if (idx > p->max_idx) p->max_idx = idx;
            BT_TRY(push_entry(p, p->n_rows - 1, idx - 1, (float)v));
        }
    }
    if (p->n_rows == 0) return BT_FAIL(BT_STATUS_BAD_INPUT, "%s:1: no data rows", path);
    if (p->max_idx == 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s:1: no row has any feature (idx:value)", path);
    return BT_STATUS_OK;
}

bt_status bt_dataset_load_libsvm(const char *path, bt_dataset *out, int64_t **row_lines) {
    memset(out, 0, sizeof *out);
    if (row_lines) *row_lines = NULL;
    unsigned char *buf;
    size_t len;
    BT_TRY(bt_file_read_all(path, &buf, &len));
    svm_parse p = {0};
    bt_status s = parse(path, (char *)buf, len, &p);
    free(buf);
    /* A dense table of a very sparse file would be mostly NaN and can exhaust memory. */
    double dense = (double)p.n_rows * (double)p.max_idx;
    if (s == BT_STATUS_OK && dense > (double)(1 << 28) && dense > 64.0 * (double)p.n_e)
        s = BT_FAIL(BT_STATUS_BAD_INPUT,
                    "%s: %lld rows x %lld features from only %zu entries is too sparse for a dense "
                    "table",
                    path, (long long)p.n_rows, (long long)p.max_idx, p.n_e);
    if (s == BT_STATUS_OK) s = bt_dataset_alloc(out, p.n_rows, (int32_t)p.max_idx);
    if (s == BT_STATUS_OK) {
        size_t cells = (size_t)out->n_rows * (size_t)out->n_features;
        for (size_t i = 0; i < cells; i++) out->X[i] = NAN;
        for (size_t k = 0; k < p.n_e; k++)
            out->X[(size_t)p.e[k].row * (size_t)out->n_features + (size_t)p.e[k].idx] = p.e[k].val;
        memcpy(out->y, p.y, (size_t)p.n_rows * sizeof(float));
        out->source = bt_strdup_(path);
        if (!out->source) s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    if (s == BT_STATUS_OK && row_lines) {
        *row_lines = p.lines;
        p.lines = NULL;
    }
    if (s != BT_STATUS_OK) bt_dataset_free(out);
    free(p.e);
    free(p.y);
    free(p.lines);
    return s;
}
