/* `batchtune report` formatting: on fresh random trials, rows come best first for either goal
 * (unusable trials last, ties by id), CSV has the documented header, RFC 4180 quoting and numbers
 * that parse back to the same doubles, JSON parses (cJSON) to the same values, the table aligns.
 * Several results side by side: a sweep column, one column per metric name (never two metrics in
 * one), one ranking when metric and goal agree, and a metric named like a parameter renamed. */
#define _POSIX_C_SOURCE 200809L
#include "runtime/store/report.h"
#include "tests/bt_test.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng_state;
static uint64_t rnd(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double rnd_unit(void) {
    return (double)(rnd() >> 11) / 9007199254740992.0;
}
static char *dupstr(const char *s) {
    char *d = malloc(strlen(s) + 1);
    strcpy(d, s);
    return d;
}

/* Params: lr (FLOAT), depth (INT), note (STRING with commas/quotes), flag (BOOL), "a.b" (FLOAT). */
static void make(bt_results *r, int64_t n, int maximize) {
    memset(r, 0, sizeof *r);
    r->maximize = maximize;
    r->metric_name = dupstr("mse");
    static const char *names[] = {"lr", "depth", "note", "flag", "a.b"};
    static const bt_value_kind kinds[] = {BT_VALUE_FLOAT, BT_VALUE_INT, BT_VALUE_STRING,
                                          BT_VALUE_BOOL, BT_VALUE_FLOAT};
    static const char *notes[] = {"plain", "with,comma", "say \"hi\"", "two\nlines", " edge ", ""};
    r->n_params = 5;
    r->params = calloc(5, sizeof *r->params);
    for (int j = 0; j < 5; j++) {
        r->params[j].name = dupstr(names[j]);
        r->params[j].kind = kinds[j];
    }
    r->n_trials = n;
    r->trials = calloc((size_t)n, sizeof *r->trials);
    for (int64_t t = 0; t < n; t++) {
        bt_trial_row *tr = &r->trials[t];
        /* ids shuffled relative to row order, so sorting by id is a real check */
        tr->trial_id = (t * 7919) % n;
        tr->status = (bt_trial_status)(rnd() % 5);
        uint64_t k = rnd() % 10;
        /* a few exact ties (metric 0.5) and NaNs */
        tr->metric = k == 0 ? NAN : k == 1 ? 0.5 : rnd_unit() * 4.0 - 1.0;
        tr->resource = (int64_t)(rnd() % 1000);
        tr->params = calloc(5, sizeof *tr->params);
        tr->params[0] = bt_value_float(rnd_unit() * 1e-3);
        tr->params[1] = bt_value_int((int64_t)(rnd() % 20) - 3);
        tr->params[2] = bt_value_string(dupstr(notes[rnd() % 6]));
        tr->params[3] = bt_value_bool((int)(rnd() % 2));
        tr->params[4] = bt_value_float(k == 2 ? NAN : rnd_unit() * 1e6);
    }
    r->best_trial = -1;
}

static int usable(const bt_trial_row *t) {
    return !isnan(t->metric) && t->status != BT_TRIAL_FAILED && t->status != BT_TRIAL_PENDING;
}

/* The order must be best first, unusable trials last, ties by trial_id; and a permutation. */
static void check_order(const bt_results *r, const int64_t *order) {
    char *seen = calloc((size_t)r->n_trials + 1, 1);
    for (int64_t k = 0; k < r->n_trials; k++) {
        CHECK(order[k] >= 0 && order[k] < r->n_trials && !seen[order[k]]);
        seen[order[k]] = 1;
        if (k == 0) continue;
        const bt_trial_row *a = &r->trials[order[k - 1]], *b = &r->trials[order[k]];
        if (usable(a) && usable(b)) {
            int better = r->maximize ? a->metric > b->metric : a->metric < b->metric;
            CHECK_MSG(better || (a->metric == b->metric && a->trial_id < b->trial_id),
                      "row %lld: %g (id %lld) before %g (id %lld)", (long long)k, a->metric,
                      (long long)a->trial_id, b->metric, (long long)b->trial_id);
        } else {
            CHECK_MSG(usable(a) || !usable(b), "unusable trial before a usable one at %lld",
                      (long long)k);
            if (!usable(a) && !usable(b)) CHECK(a->trial_id < b->trial_id);
        }
    }
    free(seen);
}

static char *capture(const bt_results *r, int64_t top_k, const char *format, bt_status *s) {
    FILE *f = tmpfile();
    *s = bt_report_print(r, f, top_k, format);
    long n = ftell(f);
    rewind(f);
    char *buf = calloc((size_t)n + 1, 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

/* Minimal RFC 4180 reader: fields of one record into out (malloc'ed), returns the count and
 * advances *p past the record. */
static int csv_record(const char **p, char **out, int cap) {
    int n = 0;
    const char *s = *p;
    for (;;) {
        char *field = malloc(strlen(s) + 1);
        size_t k = 0;
        if (*s == '"') {
            s++;
            for (;;) {
                if (*s == '"' && s[1] == '"')
                    field[k++] = '"', s += 2;
                else if (*s == '"') {
                    s++;
                    break;
                } else if (!*s)
                    break;
                else
                    field[k++] = *s++;
            }
        } else {
            while (*s && *s != ',' && *s != '\n') field[k++] = *s++;
        }
        field[k] = '\0';
        if (n < cap)
            out[n++] = field;
        else
            free(field);
        if (*s == ',') {
            s++;
            continue;
        }
        if (*s == '\n') s++;
        break;
    }
    *p = s;
    return n;
}

static void check_csv(const bt_results *r, const int64_t *order, int64_t top_k) {
    bt_status s;
    char *text = capture(r, top_k, "csv", &s);
    CHECK_OK(s);
    CHECK(strncmp(text, "trial_id,status,mse,resource,lr,depth,note,flag,a.b\n", 52) == 0);
    const char *p = text;
    char *f[16];
    int nf = csv_record(&p, f, 16);
    CHECK_EQ_INT(nf, 9);
    for (int i = 0; i < nf; i++) free(f[i]);
    int64_t rows = 0, want = top_k > 0 && top_k < r->n_trials ? top_k : r->n_trials;
    while (*p) {
        nf = csv_record(&p, f, 16);
        CHECK_EQ_INT(nf, 9);
        if (nf == 9 && rows < r->n_trials) {
            const bt_trial_row *tr = &r->trials[order[rows]];
            CHECK_EQ_INT(strtoll(f[0], NULL, 10), tr->trial_id);
            CHECK_STR(f[1], bt_trial_status_name(tr->status));
            double m = strtod(f[2], NULL);
            CHECK_MSG(m == tr->metric || (isnan(m) && isnan(tr->metric)), "%s vs %.17g", f[2],
                      tr->metric);
            CHECK_EQ_INT(strtoll(f[3], NULL, 10), tr->resource);
            CHECK_MSG(strtod(f[4], NULL) == tr->params[0].f, "lr %s vs %.17g", f[4],
                      tr->params[0].f);
            CHECK_EQ_INT(strtoll(f[5], NULL, 10), tr->params[1].i);
            CHECK_STR(f[6], tr->params[2].s);
            CHECK_STR(f[7], tr->params[3].i ? "true" : "false");
            double ab = strtod(f[8], NULL);
            CHECK(ab == tr->params[4].f || (isnan(ab) && isnan(tr->params[4].f)));
        }
        for (int i = 0; i < nf; i++) free(f[i]);
        rows++;
    }
    CHECK_EQ_INT(rows, want);
    free(text);
}

static void check_json(const bt_results *r, const int64_t *order) {
    bt_status s;
    char *text = capture(r, 0, "json", &s);
    CHECK_OK(s);
    cJSON *doc = cJSON_Parse(text);
    CHECK(doc && cJSON_IsArray(doc));
    CHECK_EQ_INT(cJSON_GetArraySize(doc), r->n_trials);
    int64_t k = 0;
    for (cJSON *o = doc ? doc->child : NULL; o && k < r->n_trials; o = o->next, k++) {
        const bt_trial_row *tr = &r->trials[order[k]];
        CHECK_EQ_INT(cJSON_GetObjectItem(o, "trial_id")->valuedouble, tr->trial_id);
        CHECK_STR(cJSON_GetObjectItem(o, "status")->valuestring, bt_trial_status_name(tr->status));
        cJSON *m = cJSON_GetObjectItem(o, "mse");
        if (isnan(tr->metric))
            CHECK(cJSON_IsNull(m));
        else
            CHECK_MSG(cJSON_IsNumber(m) && m->valuedouble == tr->metric, "json metric");
        CHECK(cJSON_GetObjectItem(o, "lr")->valuedouble == tr->params[0].f);
        CHECK_STR(cJSON_GetObjectItem(o, "note")->valuestring, tr->params[2].s);
        CHECK(cJSON_IsBool(cJSON_GetObjectItem(o, "flag")));
        CHECK_EQ_INT(cJSON_IsTrue(cJSON_GetObjectItem(o, "flag")), tr->params[3].i);
        cJSON *ab = cJSON_GetObjectItem(o, "a.b");
        CHECK(ab != NULL);
        if (ab && isnan(tr->params[4].f)) CHECK(cJSON_IsNull(ab));
    }
    cJSON_Delete(doc);
    free(text);
}

/* Table without the string column (it may hold a line break): every line has the same width
 * and the header names its columns in order. */
static void check_table(bt_results *r) {
    bt_results t = *r;
    t.n_params = 2; /* lr, depth: numeric only */
    bt_status s;
    char *text = capture(&t, 5, "table", &s);
    CHECK_OK(s);
    CHECK(strncmp(text, "trial_id  status", 16) == 0);
    int lines = 0;
    size_t width = 0;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        CHECK(nl != NULL);
        if (!nl) break;
        size_t w = (size_t)(nl - line);
        if (lines == 0)
            width = w;
        else
            CHECK_MSG(w == width, "line %d is %zu wide, header %zu", lines, w, width);
        lines++;
        line = nl + 1;
    }
    CHECK_EQ_INT(lines, 2 + (r->n_trials < 5 ? r->n_trials : 5));
    CHECK(strstr(text, "mse") && strstr(text, "resource") && strstr(text, "depth"));
    free(text);
}

static char *capture_many(const bt_results *const *rs, int n, int64_t top_k, const char *format) {
    static const char *const labels[] = {"a.h5", "b.h5", "c.h5"};
    FILE *f = tmpfile();
    CHECK_OK(bt_report_print_many(rs, labels, n, f, top_k, format));
    long len = ftell(f);
    rewind(f);
    char *buf = calloc((size_t)len + 1, 1);
    size_t got = fread(buf, 1, (size_t)len, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

static void check_many(void) {
    bt_results a, b, c;
    make(&a, 30, 0);
    make(&b, 20, 0);
    make(&c, 10, 0);
    free(c.metric_name);
    c.metric_name = dupstr("rmse");
    /* b lacks `note`; c has a parameter named like a's metric */
    free(b.params[2].name);
    b.params[2].name = dupstr("other");
    free(c.params[0].name);
    c.params[0].name = dupstr("mse");
    const bt_results *ab[] = {&a, &b}, *abc[] = {&a, &b, &c};
    char *text = capture_many(ab, 2, 0, "csv");
    CHECK_MSG(
        strncmp(text, "sweep,trial_id,status,mse,resource,lr,depth,note,flag,a.b,other\n", 64) == 0,
        "%.80s", text);
    /* one ranking: the usable rows' mse never decreases down the list */
    const char *p = text;
    char *f[16];
    int nf = csv_record(&p, f, 16), rows = 0;
    for (int i = 0; i < nf; i++) free(f[i]);
    double last = -INFINITY;
    int sorted = 1, unusable_seen = 0;
    while (*p) {
        nf = csv_record(&p, f, 16);
        CHECK_EQ_INT(nf, 11);
        int is_a = strcmp(f[0], "a.h5") == 0;
        CHECK(is_a || strcmp(f[0], "b.h5") == 0);
        CHECK(is_a ? f[10][0] == '\0' : f[7][0] == '\0'); /* absent parameters are empty */
        int ok = strcmp(f[2], "failed") && strcmp(f[2], "pending") && strcmp(f[3], "nan");
        if (!ok) unusable_seen = 1;
        if (ok && (unusable_seen || strtod(f[3], NULL) < last)) sorted = 0;
        if (ok) last = strtod(f[3], NULL);
        for (int i = 0; i < nf; i++) free(f[i]);
        rows++;
    }
    CHECK(sorted);
    CHECK_EQ_INT(rows, 50);
    free(text);
    /* another metric: its own column (null in JSON for the others' rows), sweep by sweep */
    text = capture_many(abc, 3, 2, "json");
    cJSON *j = cJSON_Parse(text);
    CHECK(cJSON_IsArray(j) && cJSON_GetArraySize(j) == 6);
    for (int i = 0; i < cJSON_GetArraySize(j); i++) {
        cJSON *o = cJSON_GetArrayItem(j, i);
        const char *sw = cJSON_GetObjectItem(o, "sweep")->valuestring;
        static const char *const want[] = {"a.h5", "a.h5", "b.h5", "b.h5", "c.h5", "c.h5"};
        CHECK_STR(sw, want[i]);
        int in_c = strcmp(sw, "c.h5") == 0;
        CHECK(cJSON_IsNull(cJSON_GetObjectItem(o, in_c ? "metric_mse" : "rmse")));
        CHECK(cJSON_GetObjectItem(o, in_c ? "rmse" : "metric_mse") != NULL);
        CHECK(in_c ? cJSON_IsNumber(cJSON_GetObjectItem(o, "mse"))
                   : cJSON_IsNull(cJSON_GetObjectItem(o, "mse")));
    }
    cJSON_Delete(j);
    free(text);
    /* one file through print_many is exactly print_report */
    bt_status s;
    char *one = capture(&a, 0, "table", &s);
    text = capture_many(ab, 1, 0, "table");
    CHECK_STR(text, one);
    free(one);
    free(text);
    bt_results_free(&a);
    bt_results_free(&b);
    bt_results_free(&c);
}

int main(void) {
    const char *env = getenv("BT_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) ^ (uint64_t)getpid();
    printf("test_results_report: seed %llu (BT_TEST_SEED to repeat)\n", (unsigned long long)seed);
    rng_state = seed;
    for (int maximize = 0; maximize <= 1; maximize++) {
        bt_results r;
        make(&r, 200, maximize);
        int64_t *order = malloc((size_t)r.n_trials * sizeof *order);
        CHECK_OK(bt_report_order(&r, order));
        check_order(&r, order);
        check_csv(&r, order, 0);
        check_csv(&r, order, 7);
        check_json(&r, order);
        check_table(&r);
        bt_status s;
        free(capture(&r, 0, "xml", &s));
        CHECK_EQ_INT(s, BT_STATUS_USAGE);
        free(order);
        bt_results_free(&r);
    }
    /* no trials: a header only, an empty JSON array */
    bt_results e;
    make(&e, 0, 0);
    bt_status s;
    char *text = capture(&e, 0, "csv", &s);
    CHECK_OK(s);
    CHECK_STR(text, "trial_id,status,mse,resource,lr,depth,note,flag,a.b\n");
    free(text);
    text = capture(&e, 0, "json", &s);
    CHECK_OK(s);
    CHECK_STR(text, "[]\n");
    free(text);
    bt_results_free(&e);
    check_many();
    return bt_test_finish("test_results_report");
}
