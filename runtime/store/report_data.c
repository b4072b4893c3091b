/* The HTML report's computed data: curves, best-so-far, rungs, importance, machine metrics.
 * Importance is a first-order variance decomposition (fANOVA's main effects, estimated by
 * grouping): for each parameter, the share of the variance of the trials' metric ranks that the
 * parameter's groups explain (the correlation ratio eta^2 = SS_between / SS_total). Ranks keep a
 * few diverged trials from deciding it; numeric parameters with more distinct values than bins
 * are cut into equal-count bins (10, fewer for fewer than 50 trials), and eta^2 is adjusted for
 * the number of groups. */
#include "runtime/store/report_data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/store/report.h"

void bt_report_json_num(FILE *o, double x, int digits) {
    if (!isfinite(x))
        fputs("null", o);
    else if (x == floor(x) && fabs(x) < 1e15)
        fprintf(o, "%.0f", x);
    else
        fprintf(o, "%.*g", digits, x);
}

void bt_report_json_value(FILE *o, bt_value v) {
    switch (v.kind) {
    case BT_VALUE_INT:
        fprintf(o, "%lld", (long long)v.i);
        break;
    case BT_VALUE_FLOAT:
        bt_report_json_num(o, v.f, 8);
        break;
    case BT_VALUE_BOOL:
        fputs(v.i ? "true" : "false", o);
        break;
    case BT_VALUE_STRING:
        bt_report_json_string(o, v.s ? v.s : "", 1);
        break;
    default:
        fputs("null", o);
    }
}

/* The index of the sweep's metric in /history's names (a program reports it as written), -1:
 * none. */
static int metric_index(const bt_results *r) {
    const char *names[2] = {bt_report_metric_name(r), r->metric_as_written};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < r->n_metric_names && names[k]; i++)
            if (strcmp(r->metric_names[i], names[k]) == 0) return i;
    return -1;
}

/* The row of trial `id`, -1 when none (ids are normally the rows: 0..n-1). */
static int64_t row_of_id(const bt_results *r, int64_t id) {
    if (id >= 0 && id < r->n_trials && r->trials[id].trial_id == id) return id;
    for (int64_t t = 0; t < r->n_trials; t++)
        if (r->trials[t].trial_id == id) return t;
    return -1;
}

/* Row index of each history row's trial, -1 when unknown. */
static int64_t *trial_rows(const bt_results *r) {
    int64_t *row = malloc((size_t)(r->n_history > 0 ? r->n_history : 1) * sizeof *row);
    if (!row) return NULL;
    for (int64_t h = 0; h < r->n_history; h++) row[h] = row_of_id(r, r->history[h].trial_id);
    return row;
}

static bt_status emit_curves(FILE *o, const bt_results *r, int m) {
    int64_t *row = trial_rows(r);
    int64_t *count = calloc((size_t)r->n_trials + 1, sizeof *count);
    int64_t *start = calloc((size_t)r->n_trials + 2, sizeof *start);
    int64_t *pts = malloc((size_t)(r->n_history > 0 ? r->n_history : 1) * sizeof *pts);
    if (!row || !count || !start || !pts) {
        free(row), free(count), free(start), free(pts);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    int64_t total = 0, with = 0;
    for (int64_t h = 0; h < r->n_history; h++)
        if (row[h] >= 0 && r->history[h].metric == m) count[row[h]]++, total++;
    for (int64_t t = 0; t < r->n_trials; t++) {
        start[t + 1] = start[t] + count[t];
        with += count[t] > 0;
        count[t] = 0;
    }
    for (int64_t h = 0; h < r->n_history; h++)
        if (row[h] >= 0 && r->history[h].metric == m) pts[start[row[h]] + count[row[h]]++] = h;
    int64_t per = total <= BT_REPORT_CURVE_POINTS ? INT64_MAX : BT_REPORT_CURVE_POINTS / with;
    if (per < 4) per = 4;
    fprintf(o, "\"curves\":{\"downsampled\":%s,\"t\":[", per < INT64_MAX ? "true" : "false");
    int first = 1;
    for (int64_t t = 0; t < r->n_trials; t++)
        if (count[t]) fprintf(o, first ? "%lld" : ",%lld", (long long)t), first = 0;
    for (int pass = 0; pass < 2; pass++) {
        fputs(pass ? "],\"v\":[" : "],\"r\":[", o);
        first = 1;
        for (int64_t t = 0; t < r->n_trials; t++) {
            int64_t c = count[t];
            if (!c) continue;
            fputs(first ? "[" : ",[", o);
            first = 0;
            int64_t keep = c < per ? c : per;
            for (int64_t i = 0; i < keep; i++) {
                /* evenly spaced, first and last always */
                int64_t k = keep == 1
                                ? c - 1
                                : (int64_t)((double)i * (double)(c - 1) / (double)(keep - 1) + 0.5);
                const bt_history_row *hr = &r->history[pts[start[t] + k]];
                if (i) fputc(',', o);
                if (pass)
                    bt_report_json_num(o, hr->value, 6);
                else
                    fprintf(o, "%lld", (long long)hr->resource);
            }
            fputc(']', o);
        }
    }
    fputs("]},", o);
    free(row), free(count), free(start), free(pts);
    return BT_STATUS_OK;
}

/* The best value reported so far against the sweep's clock: the points where it improved. */
static void emit_best_so_far(FILE *o, const bt_results *r, int m) {
    double best = NAN, wall = 0;
    fputs("\"best_so_far\":[", o);
    int first = 1;
    for (int64_t h = 0; h < r->n_history; h++) {
        const bt_history_row *hr = &r->history[h];
        if (hr->time > wall) wall = hr->time;
        if (hr->metric != m || isnan(hr->value)) continue;
        if (!isnan(best) && (r->maximize ? hr->value <= best : hr->value >= best)) continue;
        best = hr->value;
        fputs(first ? "[" : ",[", o);
        first = 0;
        bt_report_json_num(o, hr->time, 6);
        fputc(',', o);
        bt_report_json_num(o, best, 8);
        fputc(']', o);
    }
    fputs("],\"wall\":", o);
    bt_report_json_num(o, wall, 6);
    fputc(',', o);
}

typedef struct rung_key {
    int32_t bracket, rung;
    int64_t resource, trial;
    int promoted;
} rung_key;

static int rung_cmp(const void *pa, const void *pb) {
    const rung_key *a = pa, *b = pb;
    if (a->bracket != b->bracket) return a->bracket < b->bracket ? -1 : 1;
    if (a->rung != b->rung) return a->rung < b->rung ? -1 : 1;
    return (a->trial > b->trial) - (a->trial < b->trial);
}

/* Per bracket and rung: its resource, the trials that entered, and the promoted ones' ids (at
 * most 200 listed). */
static bt_status emit_rungs(FILE *o, const bt_results *r) {
    rung_key *k = malloc((size_t)(r->n_rungs > 0 ? r->n_rungs : 1) * sizeof *k);
    BT_CHECK_ALLOC(k);
    for (int64_t i = 0; i < r->n_rungs; i++) {
        const bt_rung_decision *d = &r->rungs[i];
        k[i] = (rung_key){d->bracket, d->rung, d->resource, d->trial, d->promoted};
    }
    qsort(k, (size_t)r->n_rungs, sizeof *k, rung_cmp);
    fputs("\"rungs\":[", o);
    for (int64_t i = 0; i < r->n_rungs;) {
        int64_t j = i, promoted = 0;
        while (j < r->n_rungs && k[j].bracket == k[i].bracket && k[j].rung == k[i].rung)
            promoted += k[j++].promoted;
        fprintf(o,
                "%s{\"bracket\":%d,\"rung\":%d,\"resource\":%lld,\"entered\":%lld,"
                "\"promoted\":%lld,\"ids\":[",
                i ? "," : "", (int)k[i].bracket, (int)k[i].rung, (long long)k[i].resource,
                (long long)(j - i), (long long)promoted);
        int listed = 0;
        for (int64_t q = i; q < j && listed < 200; q++)
            if (k[q].promoted) fprintf(o, listed++ ? ",%lld" : "%lld", (long long)k[q].trial);
        fputs("]}", o);
        i = j;
    }
    fputs("],", o);
    free(k);
    return BT_STATUS_OK;
}

typedef struct imp_item {
    double key, y;
    const char *s;
} imp_item;

static int imp_cmp(const void *pa, const void *pb) {
    const imp_item *a = pa, *b = pb;
    if (a->s || b->s) return strcmp(a->s ? a->s : "", b->s ? b->s : "");
    return (a->key > b->key) - (a->key < b->key);
}

static int y_cmp(const void *pa, const void *pb) {
    const imp_item *a = pa, *b = pb;
    return (a->y > b->y) - (a->y < b->y);
}

static int same_group(const imp_item *a, const imp_item *b, int64_t ia, int64_t ib, int64_t n,
                      int bins) {
    if (bins) return ia * bins / n == ib * bins / n;
    return imp_cmp(a, b) == 0;
}

/* eta^2 of the metric ranks grouped by one parameter's values (items[].key or .s), adjusted for
 * the number of groups k (1 - (1 - eta^2)(n - 1)/(n - k), at least 0) so that many small groups
 * do not explain variance by chance. */
static double eta2(imp_item *it, int64_t n, int numeric) {
    qsort(it, (size_t)n, sizeof *it, imp_cmp);
    int64_t distinct = n > 0;
    for (int64_t i = 1; i < n; i++) distinct += imp_cmp(&it[i - 1], &it[i]) != 0;
    /* at most 10 bins, at least 5 trials in each */
    int64_t bins = n / 5 < 10 ? n / 5 : 10;
    if (bins < 2) bins = 2;
    if (!numeric || distinct <= bins) bins = 0;
    double mean = (double)(n - 1) / 2.0, sst = 0, ssb = 0;
    int64_t groups = 0;
    for (int64_t i = 0; i < n; i++) sst += (it[i].y - mean) * (it[i].y - mean);
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        double sum = 0;
        while (j < n && same_group(&it[i], &it[j], i, j, n, (int)bins)) sum += it[j++].y;
        double gm = sum / (double)(j - i);
        ssb += (double)(j - i) * (gm - mean) * (gm - mean);
        groups++;
        i = j;
    }
    if (sst <= 0 || groups >= n) return 0;
    double adj = 1.0 - (1.0 - ssb / sst) * (double)(n - 1) / (double)(n - groups);
    return adj > 0 ? adj : 0;
}

/* Which trials the importance is computed on, and their metric (into use[], y[]): the completed
 * trials; when fewer than 20 completed and the scheduler decided rungs, the rung most trials
 * entered (every trial's metric at one resource, so pruned trials count too). */
static int64_t importance_basis(const bt_results *r, int64_t *use, double *y, char *basis,
                                size_t nb) {
    int64_t n = 0;
    for (int64_t t = 0; t < r->n_trials; t++)
        if (isfinite(r->trials[t].metric) && r->trials[t].status == BT_TRIAL_COMPLETED)
            use[n] = t, y[n++] = r->trials[t].metric;
    snprintf(basis, nb, "%lld completed trials", (long long)n);
    int64_t best = -1, best_n = 0;
    rung_key *k = n < 20 && r->n_rungs > 0 ? malloc((size_t)r->n_rungs * sizeof *k) : NULL;
    for (int64_t i = 0; k && i < r->n_rungs; i++)
        k[i] = (rung_key){r->rungs[i].bracket, r->rungs[i].rung, 0, i, 0};
    if (k) qsort(k, (size_t)r->n_rungs, sizeof *k, rung_cmp);
    for (int64_t i = 0, j; k && i < r->n_rungs; i = j) {
        for (j = i; j < r->n_rungs && k[j].bracket == k[i].bracket && k[j].rung == k[i].rung;) j++;
        if (j - i > best_n) best = k[i].trial, best_n = j - i; /* .trial holds the row here */
    }
    free(k);
    if (best < 0 || best_n <= n) return n;
    const bt_rung_decision *b = &r->rungs[best];
    n = 0;
    for (int64_t q = 0; q < r->n_rungs; q++) {
        const bt_rung_decision *d = &r->rungs[q];
        if (d->bracket != b->bracket || d->rung != b->rung || !isfinite(d->metric)) continue;
        int64_t t = row_of_id(r, d->trial);
        if (t >= 0) use[n] = t, y[n++] = d->metric;
    }
    snprintf(basis, nb, "%lld trials at the resource %lld (bracket %d, rung %d)", (long long)n,
             (long long)b->resource, (int)b->bracket, (int)b->rung);
    return n;
}

static bt_status emit_importance(FILE *o, const bt_results *r) {
    size_t cap = (size_t)(r->n_trials > 0 ? r->n_trials : 1) + (size_t)r->n_rungs;
    imp_item *it = malloc(cap * sizeof *it);
    int64_t *use = malloc(cap * sizeof *use);
    double *y = malloc(cap * sizeof *y);
    if (!it || !use || !y) {
        free(it), free(use), free(y);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    char basis[160];
    int64_t n = importance_basis(r, use, y, basis, sizeof basis);
    fprintf(o, "\"importance\":{\"n\":%lld,\"basis\":", (long long)n);
    bt_report_json_string(o, basis, 1);
    fputs(",\"eta2\":[", o);
    for (int j = 0; j < r->n_params; j++) {
        /* ranks of the metric (ties broken by order: fine for a variance share) */
        for (int64_t i = 0; i < n; i++) it[i] = (imp_item){(double)i, y[i], NULL};
        qsort(it, (size_t)n, sizeof *it, y_cmp);
        for (int64_t i = 0; i < n; i++) {
            const bt_value v = r->trials[use[(int64_t)it[i].key]].params[j];
            it[i].y = (double)i;
            it[i].s = v.kind == BT_VALUE_STRING ? (v.s ? v.s : "") : NULL;
            it[i].key = v.kind == BT_VALUE_FLOAT ? v.f : (double)v.i;
            if (isnan(it[i].key)) it[i].key = -INFINITY; /* absent (conditional) values group */
        }
        int numeric = r->params[j].kind == BT_VALUE_INT || r->params[j].kind == BT_VALUE_FLOAT;
        if (j) fputc(',', o);
        bt_report_json_num(o, n >= 5 ? eta2(it, n, numeric) : 0, 4);
    }
    fputs("]},", o);
    free(it), free(use), free(y);
    return BT_STATUS_OK;
}

static void emit_system(FILE *o, const bt_report_extra *x) {
    fputs("\"system\":", o);
    if (x->n_cols == 0 || x->n_rows == 0) {
        fputs("null,", o);
        return;
    }
    int64_t step = (x->n_rows + BT_REPORT_SYSTEM_ROWS - 1) / BT_REPORT_SYSTEM_ROWS;
    fputs("{\"cols\":[", o);
    for (int c = 0; c < x->n_cols; c++) {
        if (c) fputc(',', o);
        bt_report_json_string(o, x->col_name[c], 1);
    }
    fputs("],\"data\":[", o);
    for (int c = 0; c < x->n_cols; c++) {
        fputs(c ? ",[" : "[", o);
        for (int64_t i = 0; i < x->n_rows; i += step) {
            if (i) fputc(',', o);
            bt_report_json_num(o, x->col[c][i], 6);
        }
        fputc(']', o);
    }
    fputs("]},", o);
}

bt_status bt_report_emit_analysis(FILE *o, const bt_results *r, const bt_report_extra *x) {
    int m = metric_index(r);
    BT_TRY(emit_curves(o, r, m));
    emit_best_so_far(o, r, m);
    BT_TRY(emit_rungs(o, r));
    BT_TRY(emit_importance(o, r));
    emit_system(o, x);
    return BT_STATUS_OK;
}
