/* Large sweep files parse in linear time and to the right values: a 1e6-value `values` list (and
 * a grid's 2e6 with repeats, 200k errors on one minified line) and
 * 200k parameter keys (with a duplicate), in JSON and in YAML, and the duplicate-key index
 * (bt_spec_earlier_keys) on 200k keys. A quadratic pass would take minutes here, past ctest's
 * timeout; the timings themselves live in bench/bench_spec_parse.py. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweeps/spec/spec.h"
#include "sweeps/spec/spec_internal.h"
#include "sweeps/spec/yaml_read.h"
#include "tests/bt_test.h"
#include "tests/sweeps/spec_test.h"

#define N_VALUES 1000000
#define N_KEYS 200000

/* A growing text buffer. */
typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int w = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (b->p && (size_t)w < b->cap - b->n) {
            b->n += (size_t)w;
            return;
        }
        b->cap = b->cap ? 2 * b->cap + (size_t)w : 1024 + (size_t)w;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
}

static double value_at(int k) {
    return (k + 1) * 1e-6; /* inside eta's (0, 1] */
}

static const char *const model_json =
    "\"model\": {\"type\": \"gbdt\", \"objective\": \"reg:squarederror\"},\n"
    "\"dataset\": {\"path\": \"data/boston.csv\", \"target\": \"MEDV\"}";
static const char *const model_yaml = "model: {type: gbdt, objective: 'reg:squarederror'}\n"
                                      "dataset: {path: data/boston.csv, target: MEDV}\n";

static void check_values(void) {
    CHECK(S.n_params == 1);
    if (S.n_params != 1) return;
    const bt_param_spec *p = &S.params[0];
    CHECK(strcmp(p->name, "eta") == 0);
    CHECK(p->n_values == N_VALUES);
    int bad = 0;
    for (int k = 0; k < p->n_values && k < N_VALUES; k++) bad += p->values[k].f != value_at(k);
    CHECK(bad == 0);
}

static void test_values_json(void) {
    sbuf b = {0};
    put(&b, "{\"method\": \"random\", \"run_cap\": 3,\n\"parameters\": {\"eta\": {\"values\": [");
    for (int k = 0; k < N_VALUES; k++) put(&b, "%s%.17g", k ? ", " : "", value_at(k));
    put(&b, "]}},\n%s}\n", model_json);
    CHECK(spec_parse_as("big.json", b.p) == BT_STATUS_OK);
    for (int i = 0; i < D.n; i++) fprintf(stderr, "%s\n", D.msgs[i]);
    check_values();
    free(b.p);
}

static void test_values_yaml(void) {
    sbuf b = {0};
    put(&b, "method: random\nrun_cap: 3\nparameters:\n  eta:\n    values:\n");
    for (int k = 0; k < N_VALUES; k++) put(&b, "      - %.17g\n", value_at(k));
    put(&b, "%s", model_yaml);
    CHECK(spec_parse_as("big.yaml", b.p) == BT_STATUS_OK);
    check_values();
    free(b.p);
}

/* A grid of 1e6 values, each written twice (as k and k.0 alternately): one grid point each, in
 * linear time (a pairwise repeat check would take minutes). */
static void test_values_grid(void) {
    sbuf b = {0};
    put(&b, "{\"method\": \"grid\", \"run_cap\": 3, \"program\": \"train.py\",\n"
            "\"parameters\": {\"x\": {\"values\": [");
    for (int k = 0; k < N_VALUES; k++) put(&b, "%s%d", k ? ", " : "", 1 + k / 2);
    for (int k = 0; k < N_VALUES; k++) put(&b, ", %d%s", 1 + k / 2, k % 2 ? ".0" : "");
    put(&b, "]}}}\n");
    CHECK(spec_parse_as("grid.json", b.p) == BT_STATUS_OK);
    for (int i = 0; i < D.n && i < 5; i++) fprintf(stderr, "%s\n", D.msgs[i]);
    CHECK(S.n_params == 1 && S.params[0].n_values == N_VALUES / 2);
    CHECK(S.n_warnings == 1 && strstr(S.warnings[0], "1500000 of its values repeat"));
    int bad = 0;
    for (int k = 0; S.n_params == 1 && k < S.params[0].n_values; k++)
        bad += S.params[0].values[k].f != 1 + k;
    CHECK(bad == 0);
    free(b.p);
}

/* A minified file: 200k out-of-range values on one line, each reported with its column (counting
 * each column from the line's start made this quadratic: minutes). */
static void test_one_line_errors(void) {
    sbuf b = {0};
    put(&b, "{\"method\": \"grid\", %s, \"parameters\": {\"max_depth\": {\"values\": [",
        model_json);
    for (char *q = b.p; *q; q++)
        if (*q == '\n') *q = ' ';
    size_t last = 0;
    for (int k = 0; k < N_KEYS; k++) {
        put(&b, "%s", k ? ", " : "");
        last = b.n;
        put(&b, "%d", 100 + k);
    }
    put(&b, "]}}}");
    CHECK(spec_parse_as("one-line.json", b.p) == BT_STATUS_BAD_INPUT);
    CHECK_EQ_INT(D.n, N_KEYS);
    char want[64];
    snprintf(want, sizeof want, "one-line.json:1:%zu: parameters.max_depth.values[%d]", last + 1,
             N_KEYS - 1);
    CHECK_MSG(D.n > 0 && strncmp(D.msgs[D.n - 1], want, strlen(want)) == 0, "%s",
              D.n ? D.msgs[D.n - 1] : "");
    free(b.p);
}

/* 200k parameters p0..p199999 the model does not have (each reported at its own line), and with
 * dup, p7 once more at the end: JSON reports it as defined twice along with the rest, YAML stops
 * at it (its reader refuses duplicate keys). A pairwise duplicate check took over a minute. */
static void test_keys(int yaml, int dup) {
    sbuf b = {0};
    put(&b, yaml ? "method: random\nrun_cap: 3\nparameters:\n"
                 : "{\"method\": \"random\", \"run_cap\": 3,\n\"parameters\": {\n");
    for (int k = 0; k < N_KEYS + dup; k++) {
        int name = k < N_KEYS ? k : 7;
        if (yaml)
            put(&b, "  p%d: {value: %d}\n", name, k);
        else
            put(&b, "%s\"p%d\": {\"value\": %d}\n", k ? "," : "", name, k);
    }
    put(&b, yaml ? "%s" : "},\n%s}\n", yaml ? model_yaml : model_json);
    CHECK(spec_parse_as(yaml ? "keys.yaml" : "keys.json", b.p) == BT_STATUS_BAD_INPUT);
    int want = yaml && dup ? 1 : N_KEYS + dup;
    CHECK_MSG(D.n == want, "%d messages, first: %s", D.n, D.n ? D.msgs[0] : "");
    int unknown = 0, twice = 0;
    for (int i = 0; i < D.n; i++) {
        unknown += strstr(D.msgs[i], "has no parameter 'p") != NULL;
        twice += strstr(D.msgs[i], "duplicate key") != NULL || strstr(D.msgs[i], "defined twice");
    }
    CHECK(unknown == (yaml && dup ? 0 : N_KEYS));
    CHECK(twice == dup);
    /* key k is on line k + 3 of the JSON file, k + 4 of the YAML one */
    int first = yaml ? 4 : 3;
    char where[32];
    snprintf(where, sizeof where, "%d:", first + 123456);
    if (!(yaml && dup)) CHECK(has_diag(where, "no parameter 'p123456'"));
    snprintf(where, sizeof where, "%d:", first + N_KEYS);
    if (dup)
        CHECK(has_diag(where,
                       yaml ? "duplicate key (first given at 11:3)" : "parameter defined twice"));
    free(b.p);
}

/* The index itself: each member names its first twin, in the order given. */
static void test_earlier_keys(void) {
    cJSON *obj = cJSON_CreateObject();
    char key[32];
    for (int k = 0; k < N_KEYS; k++) {
        snprintf(key, sizeof key, "k%d", k % (N_KEYS / 2)); /* each key twice */
        cJSON_AddItemToObject(obj, key, cJSON_CreateNumber(k));
    }
    bt_spec_ctx c;
    memset(&c, 0, sizeof c);
    const cJSON **earlier = bt_spec_earlier_keys(&c, obj, "x");
    CHECK(earlier != NULL);
    int k = 0, bad = 0;
    for (const cJSON *it = obj->child; it && earlier; it = it->next, k++) {
        if (k < N_KEYS / 2)
            bad += earlier[k] != NULL;
        else
            bad += !earlier[k] || earlier[k]->valueint != k - N_KEYS / 2;
    }
    CHECK(bad == 0);
    free(earlier);
    cJSON_Delete(obj);
}

int main(void) {
    bt_diags_init(&D);
    test_earlier_keys();
    test_values_json();
    test_values_grid();
    test_one_line_errors();
    test_keys(0, 1);
    if (bt_yaml_version()) {
        test_values_yaml();
        test_keys(1, 0);
        test_keys(1, 1);
    } else {
        fprintf(stderr, "built without libyaml: YAML cases skipped\n");
    }
    reset();
    bt_diags_free(&D);
    return bt_test_finish("spec_large");
}
