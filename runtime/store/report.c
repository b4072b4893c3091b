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

static int rank_cmp_src(const void *pa, const void *pb) {
    int c = rank_cmp(pa, pb);
    if (c) return c;
    const rank_entry *a = pa, *b = pb;
    return (a->index > b->index) - (a->index < b->index);
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
void bt_report_format_exact(char *buf, size_t n, double x) {
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
    int is_null; /* NaN/inf in JSON, which has no such numbers; an empty cell */
    int is_bool;
} cell;

/* The columns of a (possibly multi-sweep) report: `sweep` (several files only), trial_id,
 * status, one column per metric name (named by the metric: "mse"), resource, then the union of
 * the hyperparameters by name in order of first appearance. */
typedef enum col_kind {
    COL_SWEEP,
    COL_ID,
    COL_STATUS,
    COL_METRIC,
    COL_RESOURCE,
    COL_PARAM
} col_kind;

typedef struct col {
    col_kind kind;
    const char *name;
    int *param; /* COL_PARAM: per sweep, the index of the parameter of that name, or -1 */
    int metric; /* COL_METRIC: which metric name (index into the layout's metric list) */
} col;

typedef struct layout {
    const bt_results *const *rs;
    const char *const *labels;
    int n_src;
    col *cols;
    int ncol;
    const char **metrics; /* distinct metric names */
    int *metric_of;       /* per sweep: index into metrics */
    int n_metrics;
    char (*metric_col)[80];
} layout;

typedef struct row_ref {
    int src;
    int64_t t;
} row_ref;

const char *bt_report_metric_name(const bt_results *r) {
    if (r->metric_name && r->metric_name[0]) return r->metric_name;
    if (r->metric_as_written && r->metric_as_written[0]) return r->metric_as_written;
    return "metric";
}

static void layout_free(layout *L) {
    for (int c = 0; c < L->ncol; c++) free(L->cols[c].param);
    free(L->cols);
    free(L->metrics);
    free(L->metric_of);
    free(L->metric_col);
    memset(L, 0, sizeof *L);
}

/* The report's own columns a parameter may be named like. */
static const char *const report_fixed[][2] = {{"sweep", "param:sweep"},
                                              {"trial_id", "param:trial_id"},
                                              {"status", "param:status"},
                                              {"resource", "param:resource"}};
enum { N_REPORT_FIXED = sizeof report_fixed / sizeof report_fixed[0] };

/* A hyperparameter's column header: its name, or "param:NAME" where a fixed column of the report
 * has that name (as /trials does for its own columns). */
static const char *header_of(const char *name) {
    for (int i = 0; i < N_REPORT_FIXED; i++)
        if (strcmp(name, report_fixed[i][0]) == 0) return report_fixed[i][1];
    return name;
}

static int find_param(const bt_results *r, const char *name) {
    for (int j = 0; j < r->n_params; j++)
        if (r->params[j].name && strcmp(r->params[j].name, name) == 0) return j;
    return -1;
}

static int name_taken(const layout *L, const char *name) {
    for (int s = 0; s < L->n_src; s++)
        if (find_param(L->rs[s], name) >= 0) return 1;
    return header_of(name) != name;
}

static bt_status layout_init(layout *L, const bt_results *const *rs, const char *const *labels,
                             int n) {
    memset(L, 0, sizeof *L);
    L->rs = rs;
    L->labels = labels;
    L->n_src = n;
    int cap = 5 + n;
    for (int s = 0; s < n; s++) cap += rs[s]->n_params;
    L->cols = calloc((size_t)cap, sizeof *L->cols);
    L->metrics = calloc((size_t)n, sizeof *L->metrics);
    L->metric_of = calloc((size_t)n, sizeof *L->metric_of);
    L->metric_col = calloc((size_t)n, sizeof *L->metric_col);
    if (!L->cols || !L->metrics || !L->metric_of || !L->metric_col) {
        layout_free(L);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    for (int s = 0; s < n; s++) {
        const char *m = bt_report_metric_name(rs[s]);
        int k = 0;
        while (k < L->n_metrics && strcmp(L->metrics[k], m) != 0) k++;
        if (k == L->n_metrics) L->metrics[L->n_metrics++] = m;
        L->metric_of[s] = k;
    }
    if (n > 1) L->cols[L->ncol++] = (col){COL_SWEEP, "sweep", NULL, 0};
    L->cols[L->ncol++] = (col){COL_ID, "trial_id", NULL, 0};
    L->cols[L->ncol++] = (col){COL_STATUS, "status", NULL, 0};
    for (int k = 0; k < L->n_metrics; k++) {
        /* named by the metric; a hyperparameter of the same name keeps its own column */
        const char *m = L->metrics[k];
        snprintf(L->metric_col[k], sizeof L->metric_col[k], name_taken(L, m) ? "metric_%s" : "%s",
                 m);
        L->cols[L->ncol++] = (col){COL_METRIC, L->metric_col[k], NULL, k};
    }
    L->cols[L->ncol++] = (col){COL_RESOURCE, "resource", NULL, 0};
    for (int s = 0; s < n; s++)
        for (int j = 0; j < rs[s]->n_params; j++) {
            const char *name = rs[s]->params[j].name ? rs[s]->params[j].name : "";
            int seen = 0;
            for (int c = 0; c < L->ncol && !seen; c++)
                seen =
                    L->cols[c].kind == COL_PARAM && strcmp(L->cols[c].name, header_of(name)) == 0;
            if (seen) continue;
            col *c = &L->cols[L->ncol++];
            *c = (col){COL_PARAM, header_of(name), calloc((size_t)n, sizeof(int)), 0};
            if (!c->param) {
                layout_free(L);
                return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
            }
            for (int s2 = 0; s2 < n; s2++) c->param[s2] = find_param(rs[s2], name);
        }
    return BT_STATUS_OK;
}

static void make_cell(const layout *L, row_ref rw, int ci, int exact, cell *c) {
    const bt_results *r = L->rs[rw.src];
    const bt_trial_row *tr = &r->trials[rw.t];
    const col *k = &L->cols[ci];
    memset(c, 0, sizeof *c);
    c->text = c->num;
    c->numeric = 1;
    int j = -1;
    switch (k->kind) {
    case COL_SWEEP:
        c->text = L->labels && L->labels[rw.src] ? L->labels[rw.src] : "";
        c->numeric = 0;
        return;
    case COL_ID:
        snprintf(c->num, sizeof c->num, "%lld", (long long)tr->trial_id);
        return;
    case COL_STATUS:
        c->text = bt_trial_status_name(tr->status);
        c->numeric = 0;
        return;
    case COL_METRIC:
        if (L->metric_of[rw.src] != k->metric) {
            c->is_null = 1; /* another sweep's metric */
            return;
        }
        if (exact)
            bt_report_format_exact(c->num, sizeof c->num, tr->metric);
        else
            snprintf(c->num, sizeof c->num, "%.6g", tr->metric);
        c->is_null = !isfinite(tr->metric);
        return;
    case COL_RESOURCE:
        snprintf(c->num, sizeof c->num, "%lld", (long long)tr->resource);
        return;
    case COL_PARAM:
        j = k->param[rw.src];
        break;
    }
    if (j < 0) {
        c->is_null = 1; /* a parameter this sweep does not have */
        return;
    }
    bt_value v = tr->params[j];
    switch (r->params[j].kind) {
    case BT_VALUE_INT:
        snprintf(c->num, sizeof c->num, "%lld",
                 (long long)(v.kind == BT_VALUE_FLOAT ? (int64_t)v.f : v.i));
        break;
    case BT_VALUE_FLOAT: {
        double x = v.kind == BT_VALUE_FLOAT ? v.f : (double)v.i;
        if (exact)
            bt_report_format_exact(c->num, sizeof c->num, x);
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

void bt_report_json_string(FILE *out, const char *s, int in_html) {
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
        case '<': /* inside an HTML <script>, "</script>" or "<!--" would end or confuse it */
        case '&':
            if (in_html)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
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

static void print_csv(const layout *L, FILE *out, const row_ref *rows, int64_t n) {
    for (int c = 0; c < L->ncol; c++) {
        if (c) fputc(',', out);
        csv_field(out, L->cols[c].name);
    }
    fputc('\n', out);
    for (int64_t k = 0; k < n; k++) {
        for (int c = 0; c < L->ncol; c++) {
            cell x;
            make_cell(L, rows[k], c, 1, &x);
            if (c) fputc(',', out);
            csv_field(out, x.text);
        }
        fputc('\n', out);
    }
}

static void print_json(const layout *L, FILE *out, const row_ref *rows, int64_t n) {
    fputc('[', out);
    for (int64_t k = 0; k < n; k++) {
        fputs(k ? ",\n {" : "\n {", out);
        for (int c = 0; c < L->ncol; c++) {
            cell x;
            make_cell(L, rows[k], c, 1, &x);
            if (c) fputs(", ", out);
            bt_report_json_string(out, L->cols[c].name, 0);
            fputs(": ", out);
            if (x.is_null)
                fputs("null", out);
            else if (x.numeric)
                fputs(x.text, out);
            else
                bt_report_json_string(out, x.text, 0);
        }
        fputc('}', out);
    }
    fputs(n ? "\n]\n" : "]\n", out);
}

static void pad(FILE *out, size_t n) {
    while (n-- > 0) fputc(' ', out);
}

/* Two passes: widths first, then the rows; numbers right-aligned, text left-aligned. */
static bt_status print_table(const layout *L, FILE *out, const row_ref *rows, int64_t n) {
    int ncol = L->ncol;
    size_t *width = calloc((size_t)ncol, sizeof *width);
    int *numeric = calloc((size_t)ncol, sizeof *numeric);
    if (!width || !numeric) {
        free(width);
        free(numeric);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    for (int c = 0; c < ncol; c++) {
        width[c] = strlen(L->cols[c].name);
        numeric[c] = L->cols[c].kind != COL_STATUS && L->cols[c].kind != COL_SWEEP;
        if (L->cols[c].kind == COL_PARAM) {
            int s = 0;
            while (s + 1 < L->n_src && L->cols[c].param[s] < 0) s++;
            bt_value_kind kd = L->rs[s]->params[L->cols[c].param[s]].kind;
            numeric[c] = kd == BT_VALUE_INT || kd == BT_VALUE_FLOAT;
        }
    }
    for (int64_t k = 0; k < n; k++)
        for (int c = 0; c < ncol; c++) {
            cell x;
            make_cell(L, rows[k], c, 0, &x);
            size_t w = strlen(x.text);
            if (w > width[c]) width[c] = w;
        }
    for (int c = 0; c < ncol; c++) {
        const char *h = L->cols[c].name;
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
            make_cell(L, rows[k], c, 0, &x);
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

/* Best first over all the sweeps when they share the metric and the goal (one ranking means
 * something then), else sweep by sweep, each best first; top_k counts the whole list in the
 * first case and each sweep's rows in the second. */
static bt_status order_rows(const layout *L, int64_t top_k, row_ref **out, int64_t *n_out) {
    int64_t total = 0;
    int shared = L->n_metrics == 1;
    for (int s = 0; s < L->n_src; s++) {
        total += L->rs[s]->n_trials;
        shared = shared && L->rs[s]->maximize == L->rs[0]->maximize;
    }
    row_ref *rows = malloc((size_t)(total > 0 ? total : 1) * sizeof *rows);
    rank_entry *e = malloc((size_t)(total > 0 ? total : 1) * sizeof *e);
    if (!rows || !e) {
        free(rows);
        free(e);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    int64_t n = 0, done = 0;
    for (int s = 0; s < L->n_src; s++) {
        const bt_results *r = L->rs[s];
        for (int64_t t = 0; t < r->n_trials; t++) {
            const bt_trial_row *tr = &r->trials[t];
            rank_entry *x = &e[done + t];
            x->index = (int64_t)s << 40 | t; /* sweep and row, recovered below */
            x->trial_id = tr->trial_id;
            x->usable = !isnan(tr->metric) && tr->status != BT_TRIAL_FAILED &&
                        tr->status != BT_TRIAL_PENDING;
            x->key = r->maximize ? -tr->metric : tr->metric;
        }
        if (!shared) {
            qsort(e + done, (size_t)r->n_trials, sizeof *e, rank_cmp);
            int64_t keep = top_k > 0 && top_k < r->n_trials ? top_k : r->n_trials;
            for (int64_t k = 0; k < keep; k++) e[n++] = e[done + k];
        }
        done += r->n_trials;
    }
    if (shared) {
        /* ties in metric and id keep the sweeps' order: compare the packed index last */
        qsort(e, (size_t)total, sizeof *e, rank_cmp_src);
        n = top_k > 0 && top_k < total ? top_k : total;
    }
    for (int64_t k = 0; k < n; k++)
        rows[k] = (row_ref){(int)(e[k].index >> 40), e[k].index & (((int64_t)1 << 40) - 1)};
    free(e);
    *out = rows;
    *n_out = n;
    return BT_STATUS_OK;
}

bt_status bt_report_print_many(const bt_results *const *rs, const char *const *labels, int n_src,
                               FILE *out, int64_t top_k, const char *format) {
    if (!rs || n_src < 1 || !out) return BT_FAIL(BT_STATUS_INTERNAL, "report: no results");
    const char *f = format ? format : "table";
    if (strcmp(f, "table") != 0 && strcmp(f, "csv") != 0 && strcmp(f, "json") != 0)
        return BT_FAIL(BT_STATUS_USAGE, "report: unknown format \"%s\" (table, csv or json)", f);
    for (int s = 0; s < n_src; s++)
        if (rs[s]->n_params > 0 && rs[s]->n_trials > 0 && !rs[s]->params)
            return BT_FAIL(BT_STATUS_INTERNAL, "report: results without parameter columns");
    layout L;
    BT_TRY(layout_init(&L, rs, labels, n_src));
    row_ref *rows = NULL;
    int64_t n = 0;
    bt_status s = order_rows(&L, top_k, &rows, &n);
    if (s == BT_STATUS_OK) {
        if (f[0] == 'c')
            print_csv(&L, out, rows, n);
        else if (f[0] == 'j')
            print_json(&L, out, rows, n);
        else
            s = print_table(&L, out, rows, n);
    }
    free(rows);
    layout_free(&L);
    if (s == BT_STATUS_OK && (fflush(out) != 0 || ferror(out)))
        s = BT_FAIL(BT_STATUS_IO, "report: cannot write the output");
    return s;
}

bt_status bt_report_print(const bt_results *r, FILE *out, int64_t top_k, const char *format) {
    if (!r || !out) return BT_FAIL(BT_STATUS_INTERNAL, "report: NULL results or stream");
    return bt_report_print_many(&r, NULL, 1, out, top_k, format);
}
