/* `batchtune report`: the trials of a bt_results, best first, as an aligned terminal table, CSV
 * or JSON. CSV and JSON print every number so that it parses back to the same double; the table
 * rounds to 6 significant digits for reading. */
#include "runtime/store/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct rank_entry {
    int64_t index;
    int64_t trial_id;
    double key; /* smaller is better: the metric, negated when maximizing */
    int usable;
} rank_entry;

static int rank_cmp(const void *pa, const void *pb) {
    const rank_entry *a = pa, *b = pb;
    if (a->usable != b->usable) return a->usable ? -1 : 1;
    if (a->usable && a->key != b->key) return a->key < b->key ? -1 : 1;
    return (a->trial_id > b->trial_id) - (a->trial_id < b->trial_id);
}

bt_status bt_report_order(const bt_results *r, int64_t *order) {
    if (r->n_trials <= 0) return BT_STATUS_OK;
    rank_entry *e = malloc((size_t)r->n_trials * sizeof *e);
    BT_CHECK_ALLOC(e);
    for (int64_t t = 0; t < r->n_trials; t++) {
        const bt_trial_row *tr = &r->trials[t];
        e[t].index = t;
        e[t].trial_id = tr->trial_id;
        e[t].usable =
            !isnan(tr->metric) && tr->status != BT_TRIAL_FAILED && tr->status != BT_TRIAL_PENDING;
        e[t].key = r->maximize ? -tr->metric : tr->metric;
    }
    qsort(e, (size_t)r->n_trials, sizeof *e, rank_cmp);
    for (int64_t t = 0; t < r->n_trials; t++) order[t] = e[t].index;
    free(e);
    return BT_STATUS_OK;
}

/* Shortest %g that reads back as the same double (at most 17 digits always suffice). */
static void format_exact(char *buf, size_t n, double x) {
    if (isnan(x)) {
        snprintf(buf, n, "nan");
        return;
    }
    if (isinf(x)) {
        snprintf(buf, n, x > 0 ? "inf" : "-inf");
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, n, "%.*g", p, x);
        if (strtod(buf, NULL) == x) return;
    }
}

/* One cell: either a string borrowed from the results or a number formatted into num. */
typedef struct cell {
    const char *text;
    char num[40];
    int numeric;
    int is_null; /* NaN/inf in JSON, which has no such numbers */
    int is_bool;
} cell;

enum { BT_REPORT_NFIXED = 4 };
static const char *const bt_report_fixed_[BT_REPORT_NFIXED] = {"trial_id", "status", "metric",
                                                               "resource"};

static void make_cell(const bt_results *r, const bt_trial_row *tr, int col, int exact, cell *c) {
    memset(c, 0, sizeof *c);
    c->text = c->num;
    c->numeric = 1;
    switch (col) {
    case 0:
        snprintf(c->num, sizeof c->num, "%lld", (long long)tr->trial_id);
        return;
    case 1:
        c->text = bt_trial_status_name(tr->status);
        c->numeric = 0;
        return;
    case 2:
        if (exact)
            format_exact(c->num, sizeof c->num, tr->metric);
        else
            snprintf(c->num, sizeof c->num, "%.6g", tr->metric);
        c->is_null = !isfinite(tr->metric);
        return;
    case 3:
        snprintf(c->num, sizeof c->num, "%lld", (long long)tr->resource);
        return;
    default:
        break;
    }
    int j = col - BT_REPORT_NFIXED;
    bt_value v = tr->params[j];
    switch (r->params[j].kind) {
    case BT_VALUE_INT:
        snprintf(c->num, sizeof c->num, "%lld",
                 (long long)(v.kind == BT_VALUE_FLOAT ? (int64_t)v.f : v.i));
        break;
    case BT_VALUE_FLOAT: {
        double x = v.kind == BT_VALUE_FLOAT ? v.f : (double)v.i;
        if (exact)
            format_exact(c->num, sizeof c->num, x);
        else
            snprintf(c->num, sizeof c->num, "%.6g", x);
        c->is_null = !isfinite(x);
        break;
    }
    case BT_VALUE_BOOL:
        snprintf(c->num, sizeof c->num, "%s", v.i ? "true" : "false");
        c->is_bool = 1;
        break;
    case BT_VALUE_STRING:
        c->text = v.kind == BT_VALUE_STRING && v.s ? v.s : "";
        c->numeric = 0;
        break;
    default:
        c->text = "";
        c->numeric = 0;
        break;
    }
}

static const char *col_name(const bt_results *r, int col) {
    return col < BT_REPORT_NFIXED ? bt_report_fixed_[col] : r->params[col - BT_REPORT_NFIXED].name;
}

/* RFC 4180: quote a field holding a separator, quote or line break (or edge spaces, which some
 * readers trim), doubling the quotes inside. */
static void csv_field(FILE *out, const char *s) {
    size_t n = strlen(s);
    int quote = n > 0 && (s[0] == ' ' || s[n - 1] == ' ');
    for (const char *p = s; *p && !quote; p++)
        if (*p == ',' || *p == '"' || *p == '\n' || *p == '\r') quote = 1;
    if (!quote) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (const char *p = s; *p; p++) {
        if (*p == '"') fputc('"', out);
        fputc(*p, out);
    }
    fputc('"', out);
}

static void json_string(FILE *out, const char *s) {
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", out);
            break;
        case '\\':
            fputs("\\\\", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\r':
            fputs("\\r", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

static void print_csv(const bt_results *r, FILE *out, const int64_t *order, int64_t n) {
    int ncol = BT_REPORT_NFIXED + r->n_params;
    for (int c = 0; c < ncol; c++) {
        if (c) fputc(',', out);
        csv_field(out, col_name(r, c));
    }
    fputc('\n', out);
    for (int64_t k = 0; k < n; k++) {
        const bt_trial_row *tr = &r->trials[order[k]];
        for (int c = 0; c < ncol; c++) {
            cell x;
            make_cell(r, tr, c, 1, &x);
            if (c) fputc(',', out);
            csv_field(out, x.text);
        }
        fputc('\n', out);
    }
}

static void print_json(const bt_results *r, FILE *out, const int64_t *order, int64_t n) {
    int ncol = BT_REPORT_NFIXED + r->n_params;
    fputc('[', out);
    for (int64_t k = 0; k < n; k++) {
        const bt_trial_row *tr = &r->trials[order[k]];
        fputs(k ? ",\n {" : "\n {", out);
        for (int c = 0; c < ncol; c++) {
            cell x;
            make_cell(r, tr, c, 1, &x);
            if (c) fputs(", ", out);
            json_string(out, col_name(r, c));
            fputs(": ", out);
            if (x.is_null)
                fputs("null", out);
            else if (x.numeric)
                fputs(x.text, out);
            else
                json_string(out, x.text);
        }
        fputc('}', out);
    }
    fputs(n ? "\n]\n" : "]\n", out);
}

static void pad(FILE *out, size_t n) {
    while (n-- > 0) fputc(' ', out);
}

/* Two passes: widths first, then the rows; numbers right-aligned, text left-aligned. */
static bt_status print_table(const bt_results *r, FILE *out, const int64_t *order, int64_t n) {
    int ncol = BT_REPORT_NFIXED + r->n_params;
    size_t *width = calloc((size_t)ncol, sizeof *width);
    int *numeric = calloc((size_t)ncol, sizeof *numeric);
    if (!width || !numeric) {
        free(width);
        free(numeric);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    for (int c = 0; c < ncol; c++) {
        width[c] = strlen(col_name(r, c));
        cell x;
        if (r->n_trials > 0) {
            make_cell(r, &r->trials[0], c, 0, &x);
            numeric[c] = x.numeric && !x.is_bool;
        } else {
            numeric[c] = c != 1;
        }
    }
    for (int64_t k = 0; k < n; k++)
        for (int c = 0; c < ncol; c++) {
            cell x;
            make_cell(r, &r->trials[order[k]], c, 0, &x);
            size_t w = strlen(x.text);
            if (w > width[c]) width[c] = w;
        }
    for (int c = 0; c < ncol; c++) {
        const char *h = col_name(r, c);
        if (c) fputs("  ", out);
        if (numeric[c]) pad(out, width[c] - strlen(h));
        fputs(h, out);
        if (!numeric[c] && c + 1 < ncol) pad(out, width[c] - strlen(h));
    }
    fputc('\n', out);
    for (int c = 0; c < ncol; c++) {
        if (c) fputs("  ", out);
        for (size_t i = 0; i < width[c]; i++) fputc('-', out);
    }
    fputc('\n', out);
    for (int64_t k = 0; k < n; k++) {
        for (int c = 0; c < ncol; c++) {
            cell x;
            make_cell(r, &r->trials[order[k]], c, 0, &x);
            size_t w = strlen(x.text);
            if (c) fputs("  ", out);
            if (numeric[c]) pad(out, width[c] - w);
            fputs(x.text, out);
            if (!numeric[c] && c + 1 < ncol) pad(out, width[c] - w);
        }
        fputc('\n', out);
    }
    free(width);
    free(numeric);
    return BT_STATUS_OK;
}

bt_status bt_report_print(const bt_results *r, FILE *out, int64_t top_k, const char *format) {
    if (!r || !out) return BT_FAIL(BT_STATUS_INTERNAL, "report: NULL results or stream");
    const char *f = format ? format : "table";
    if (strcmp(f, "table") != 0 && strcmp(f, "csv") != 0 && strcmp(f, "json") != 0)
        return BT_FAIL(BT_STATUS_USAGE, "report: unknown format \"%s\" (table, csv or json)", f);
    if (r->n_params > 0 && r->n_trials > 0 && !r->params)
        return BT_FAIL(BT_STATUS_INTERNAL, "report: results without parameter columns");
    int64_t *order = malloc((r->n_trials > 0 ? (size_t)r->n_trials : 1) * sizeof *order);
    BT_CHECK_ALLOC(order);
    bt_status s = bt_report_order(r, order);
    int64_t n = top_k > 0 && top_k < r->n_trials ? top_k : r->n_trials;
    if (s == BT_STATUS_OK) {
        if (f[0] == 'c')
            print_csv(r, out, order, n);
        else if (f[0] == 'j')
            print_json(r, out, order, n);
        else
            s = print_table(r, out, order, n);
    }
    free(order);
    if (s == BT_STATUS_OK && (fflush(out) != 0 || ferror(out)))
        s = BT_FAIL(BT_STATUS_IO, "report: cannot write the output");
    return s;
}
