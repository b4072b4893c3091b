/* YAML sweep files: the core-schema scalar rules and tags (table-driven), the YAML-or-JSON rule,
 * messages at YAML's LINE:COL (keys and values, nested lists, aliases, merges), refusals (second
 * document, duplicate keys, alias loops and bombs, bad tags) and a W&B-style YAML file parsing to
 * exactly the spec of its JSON twin. Built without libyaml, it checks the scalar rules and the
 * refusal message, then skips (77). */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/store/sweep_file.h"
#include "sweeps/spec/spec.h"
#include "sweeps/spec/yaml_read.h"
#include "sweeps/spec/yaml_scalar.h"
#include "tests/bt_test.h"
#include "tests/sweeps/spec_test.h"

/* ---- scalars -------------------------------------------------------------------------------- */

typedef struct scalar_case {
    const char *text;
    int plain;
    const char *tag; /* short name ("int") or NULL */
    char kind;       /* 's' string, 'n' number, 'b' bool, 'z' null, 'E' error */
    double num;      /* number value, or bool 0/1 */
    const char *lit; /* number: its JSON literal */
} scalar_case;

static const scalar_case scalar_cases[] = {
    /* core schema, plain */
    {"1e-3", 1, NULL, 'n', 1e-3, "1e-3"},
    {"1.0e-3", 1, NULL, 'n', 1e-3, "1.0e-3"},
    {"1E3", 1, NULL, 'n', 1000, "1E3"},
    {".5", 1, NULL, 'n', 0.5, ".5"},
    {"-.5", 1, NULL, 'n', -0.5, "-.5"},
    {"5.", 1, NULL, 'n', 5, "5."},
    {"+1", 1, NULL, 'n', 1, "1"},
    {"-3", 1, NULL, 'n', -3, "-3"},
    {"007", 1, NULL, 'n', 7, "007"},
    {"0x1F", 1, NULL, 'n', 31, "31"},
    {"0o17", 1, NULL, 'n', 15, "15"},
    {"0xFFFFFFFFFFFFFFFFFF", 1, NULL, 'n', 4722366482869645213696.0, "4722366482869645213696"},
    {"99999999999999999999", 1, NULL, 'n', 1e20, "99999999999999999999"},
    {".inf", 1, NULL, 'n', INFINITY, ".inf"},
    {"-.Inf", 1, NULL, 'n', -INFINITY, "-.inf"},
    {"+.INF", 1, NULL, 'n', INFINITY, ".inf"},
    {".nan", 1, NULL, 'n', NAN, ".nan"},
    {"true", 1, NULL, 'b', 1, NULL},
    {"True", 1, NULL, 'b', 1, NULL},
    {"TRUE", 1, NULL, 'b', 1, NULL},
    {"false", 1, NULL, 'b', 0, NULL},
    {"null", 1, NULL, 'z', 0, NULL},
    {"~", 1, NULL, 'z', 0, NULL},
    {"", 1, NULL, 'z', 0, NULL},
    /* YAML 1.1 forms that are strings in 1.2 */
    {"yes", 1, NULL, 's', 0, NULL},
    {"off", 1, NULL, 's', 0, NULL},
    {"1_000", 1, NULL, 's', 0, NULL},
    {"0b101", 1, NULL, 's', 0, NULL},
    {"1:30", 1, NULL, 's', 0, NULL},
    {"2024-01-02", 1, NULL, 's', 0, NULL},
    {"tRUE", 1, NULL, 's', 0, NULL},
    {".", 1, NULL, 's', 0, NULL},
    {"1e", 1, NULL, 's', 0, NULL},
    {"e3", 1, NULL, 's', 0, NULL},
    {"0x", 1, NULL, 's', 0, NULL},
    {"-0x1F", 1, NULL, 's', 0, NULL},
    {"inf", 1, NULL, 's', 0, NULL},
    {"reg:squarederror", 1, NULL, 's', 0, NULL},
    /* quoted: always strings */
    {"1e-3", 0, NULL, 's', 0, NULL},
    {"true", 0, NULL, 's', 0, NULL},
    {"null", 0, NULL, 's', 0, NULL},
    /* tags */
    {"1e-3", 1, "str", 's', 0, NULL},
    {"3", 1, "float", 'n', 3, "3.0"},
    {"-3", 1, "float", 'n', -3, "-3.0"},
    {"2.5", 0, "float", 'n', 2.5, "2.5"}, /* !!float "2.5": the tag converts quoted text too */
    {".inf", 1, "float", 'n', INFINITY, ".inf"},
    {"0x10", 1, "float", 'E', 0, NULL},
    {"abc", 1, "float", 'E', 0, NULL},
    {"42", 0, "int", 'n', 42, "42"},
    {"0x10", 1, "int", 'n', 16, "16"},
    {"abc", 1, "int", 'E', 0, NULL},
    {"3.0", 1, "int", 'E', 0, NULL},
    {"1e3", 1, "int", 'E', 0, NULL},
    {"False", 1, "bool", 'b', 0, NULL},
    {"yes", 1, "bool", 'E', 0, NULL},
    {"~", 1, "null", 'z', 0, NULL},
    {"0", 1, "null", 'E', 0, NULL},
    {"x", 1, "binary", 'E', 0, NULL},
    {"12", 1, "!", 's', 0, NULL}, /* the non-specific tag: a string */
};

static void test_scalars(void) {
    for (size_t i = 0; i < sizeof scalar_cases / sizeof *scalar_cases; i++) {
        const scalar_case *t = &scalar_cases[i];
        char tag[64], err[256], *lit = NULL;
        const char *tp = NULL;
        if (t->tag && strcmp(t->tag, "!") == 0)
            tp = "!";
        else if (t->tag)
            tp = strcat(strcpy(tag, BT_YAML_TAG("")), t->tag);
        cJSON *it = bt_yaml_scalar(t->text, strlen(t->text), t->plain, tp, &lit, err, sizeof err);
        const char *what = t->text;
        switch (t->kind) {
        case 'E':
            CHECK_MSG(!it && err[0], "%s !!%s should be refused", what, t->tag);
            break;
        case 's':
            CHECK_MSG(cJSON_IsString(it) && !strcmp(it->valuestring, t->text), "'%s' string", what);
            break;
        case 'b':
            CHECK_MSG(cJSON_IsBool(it) && cJSON_IsTrue(it) == (t->num != 0), "'%s' bool", what);
            break;
        case 'z':
            CHECK_MSG(cJSON_IsNull(it), "'%s' null", what);
            break;
        default:
            CHECK_MSG(cJSON_IsNumber(it), "'%s' number", what);
            if (!cJSON_IsNumber(it)) break;
            if (isnan(t->num))
                CHECK_MSG(isnan(it->valuedouble), "'%s' nan", what);
            else
                CHECK_MSG(it->valuedouble == t->num, "'%s' = %.17g", what, it->valuedouble);
            CHECK_MSG(lit && !strcmp(lit, t->lit), "'%s' literal %s", what, lit ? lit : "NULL");
        }
        cJSON_Delete(it);
        free(lit);
    }
    char buf[64];
    CHECK_STR(bt_yaml_tag_name(BT_YAML_TAG("int"), buf, sizeof buf), "!!int");
    CHECK_STR(bt_yaml_tag_name("!custom", buf, sizeof buf), "!custom");
}

static void test_is_yaml(void) {
    CHECK(bt_yaml_is_yaml("a/sweep.yaml", "{}"));
    CHECK(bt_yaml_is_yaml("sweep.YML", "{}"));
    CHECK(!bt_yaml_is_yaml("sweep.json", "method: grid"));
    CHECK(!bt_yaml_is_yaml("sweep.JSON", "method: grid"));
    CHECK(!bt_yaml_is_yaml("/dev/fd/63", "\xEF\xBB\xBF \n {\"method\": 1}"));
    CHECK(!bt_yaml_is_yaml("sweep.txt", "[1]"));
    CHECK(bt_yaml_is_yaml("/dev/fd/63", "# comment\nmethod: grid\n"));
    CHECK(bt_yaml_is_yaml("sweep", ""));
    CHECK(!bt_yaml_is_yaml("yaml", "{}"));
}

/* ---- whole files ---------------------------------------------------------------------------- */

static bt_status parse(const char *text) {
    return spec_parse_as("dir/sweep.yaml", text);
}

/* A valid sweep whose parameters block is `params` (line 7 on). */
static bt_status parse_params(const char *params) {
    char buf[8192];
    snprintf(buf, sizeof buf,
             "# a comment line\n"
             "method: random   # and a comment after a value\n"
             "model: {type: gbdt}\n"
             "dataset:\n"
             "  synthetic: friedman1\n"
             "parameters:\n"
             "%s",
             params);
    return parse(buf);
}

static const bt_param_spec *param(const char *name) {
    int i = loaded ? bt_spec_param_index(&S, name) : -1;
    CHECK_MSG(i >= 0, "no parameter %s", name);
    return i >= 0 ? &S.params[i] : NULL;
}

static void test_positions(void) {
    /* an unknown key: at the key */
    parse("method: random\n"
          "metric:\n"
          "  name: mse\n"
          "  gaol: minimize\n"
          "model: {type: gbdt}\n"
          "dataset: {synthetic: friedman1}\n"
          "parameters:\n"
          "  eta: {min: 0.1, max: 0.3}\n");
    CHECK_EQ_INT(ST, BT_STATUS_BAD_INPUT);
    EXPECT("4:3: metric.gaol: ", "did you mean 'goal'");
    /* a bad value inside a nested list, block and flow */
    parse_params("  max_depth:\n"
                 "    values:\n"
                 "      - 3\n"
                 "      - [4]\n"
                 "  eta:\n"
                 "    values: [0.1, 0.2, {x: 1}]\n");
    EXPECT("10:9: parameters.max_depth.values[1]: ", "scalars");
    EXPECT("12:24: parameters.eta.values[2]: ", "scalars");
    /* a value of the wrong type: at the value; columns count characters, not bytes */
    parse_params("  eta: {\"é\": 1, min: x, max: 0.3}\n");
    EXPECT("7:22: parameters.eta.min: ", "must be a number");
    /* an unknown model parameter, at its key */
    parse_params("  etaa: {values: [0.1]}\n");
    EXPECT("7:3: parameters.etaa: ", "did you mean 'eta'");
    /* CRLF line ends, a byte order mark */
    parse("\xEF\xBB\xBFmethod: random\r\nmodel: {type: gbdt}\r\ndataset: {synthetic: friedman1}\r\n"
          "parameters:\r\n  eta: {min: 0.1, max: x}\r\n");
    EXPECT("5:24: parameters.eta.max: ", "must be a number");
    /* the whole file not a mapping */
    parse("- 1\n- 2\n");
    EXPECT("1:1: ", "one YAML mapping");
}

static void test_numbers_and_tags(void) {
    CHECK_OK(parse_params("  eta: {distribution: log_uniform_values, min: 1e-3, max: .5}\n"
                          "  max_depth: {values: [0x4, +6, 8]}\n"
                          "  num_round: {value: 20}\n"
                          "  gamma: {min: 0, max: 4}\n"
                          "  reg_lambda: {min: !!float 0, max: 4}\n"
                          "  reg_alpha: {min: !!int \"0\", max: 0x4}\n"
                          "  min_child_weight: {min: 1, max: 4.0}\n"
                          "run_cap: 1e1\n"
                          "seed: 0x10\n"));
    if (!loaded) return;
    const bt_param_spec *p = param("eta");
    if (p) CHECK(p->min == 1e-3 && p->max == 0.5 && p->dist == BT_DIST_LOG_UNIFORM_VALUES);
    p = param("max_depth");
    if (p) {
        CHECK_EQ_INT(p->values[0].kind, BT_VALUE_INT);
        CHECK_EQ_INT(p->values[0].i, 4);
        CHECK_EQ_INT(p->values[1].i, 6);
    }
    /* W&B's rule: integer min and max make int_uniform, so how a number is written counts */
    p = param("gamma");
    if (p) CHECK(p->is_int && p->dist == BT_DIST_INT_UNIFORM);
    p = param("reg_lambda"); /* !!float 0 */
    if (p) CHECK(!p->is_int && p->dist == BT_DIST_UNIFORM);
    p = param("reg_alpha"); /* !!int "0", 0x4 */
    if (p) CHECK(p->is_int && p->dist == BT_DIST_INT_UNIFORM && p->max == 4);
    p = param("min_child_weight"); /* 4.0, as JSON's */
    if (p) CHECK(!p->is_int && p->dist == BT_DIST_UNIFORM);
    CHECK_EQ_INT(S.seed, 16);
    CHECK_EQ_INT(S.run_cap, 10); /* an integral float, as JSON's 1e1 */

    /* quoted numbers are strings */
    parse_params("  max_depth: {values: [\"3\", '4']}\n");
    CHECK_EQ_INT(ST, BT_STATUS_BAD_INPUT);
    EXPECT("7:24: parameters.max_depth.values[0]: ", "got \"3\"");
    /* impossible conversions, at the tag */
    parse_params("  eta: {values: [!!int abc]}\n");
    EXPECT("7:18: parameters.eta.values[0]: ", "!!int: 'abc' is not an integer");
    parse_params("  eta: {values: [!!python/tuple [1, 2]]}\n");
    EXPECT("7:18: parameters.eta.values[0]: ", "does not apply to a list");
    parse_params("  eta: !!set {0.1}\n");
    EXPECT("7:8: parameters.eta: ", "the tag '!!set'");
    /* infinities read, then refused where a finite number is needed */
    parse_params("  eta: {min: -.inf, max: 0.3}\n");
    EXPECT("7:14: parameters.eta.min: ", "must be finite");
    /* big integers as JSON has them */
    parse_params("  eta: {value: 0.1}\nrun_cap: 99999999999999999999\n");
    char yaml_msg[256] = "";
    if (D.n) snprintf(yaml_msg, sizeof yaml_msg, "%s", strchr(D.msgs[0], ' '));
    spec_parse_as("dir/sweep.json",
                  "{\"method\": \"random\", \"model\": {\"type\": \"gbdt\"}, "
                  "\"dataset\": {\"synthetic\": \"friedman1\"}, \"parameters\": {"
                  "\"eta\": {\"value\": 0.1}}, \"run_cap\": 99999999999999999999}");
    CHECK_MSG(D.n == 1 && yaml_msg[0] && !strcmp(strchr(D.msgs[0], ' '), yaml_msg),
              "big int: yaml '%s' vs json '%s'", yaml_msg, D.n ? D.msgs[0] : "");
    CHECK_OK(parse_params("  eta: {value: 0.1}\nseed: 18446744073709551615\n"));
    CHECK(loaded && S.seed == UINT64_MAX);
}

static void test_refusals(void) {
    parse("method: random\n---\nmethod: grid\n");
    EXPECT("2:1: ", "second YAML document");
    parse_params("  eta: {values: [0.1]}\n  eta: {values: [0.2]}\n");
    EXPECT("8:3: parameters.eta: ", "duplicate key (first given at 7:3)");
    parse("method: random\nmethod: grid\n");
    EXPECT("2:1: method: ", "duplicate key");
    parse_params("  eta: {values: &a [0.1, *a]}\n");
    EXPECT("7:26: parameters.eta.values[1]: ", "inside its own anchor");
    parse_params("  eta: {values: [*nope]}\n");
    EXPECT("7:18: parameters.eta.values[0]: ", "unknown alias *nope");
    parse_params("  ? [a, b]\n  : 1\n");
    EXPECT("7:5: ", "a key must be a single value");
    parse_params("  eta:\n\t values: [0.1]\n");
    EXPECT("8:", "tab");
    parse("method: [random\n");
    EXPECT("2:1: ", "while parsing a flow sequence at 1:9");
    parse("   \n# only a comment\n");
    EXPECT("3:1: ", "empty file");
    parse("method: \xff\n");
    EXPECT("1:9: ", "UTF-8");
    /* nesting: refused past 500 levels, not a stack overflow */
    char *deep = malloc(8192);
    strcpy(deep, "method: random\nx: ");
    for (int i = 0; i < 600; i++) strcat(deep, "[");
    for (int i = 0; i < 600; i++) strcat(deep, "]");
    parse(deep);
    EXPECT("2:", "nested more than 500 levels");
    free(deep);
}

/* Billion laughs: each level repeats the one before 10 times. */
static void test_alias_bomb(void) {
    char buf[4096];
    int n =
        snprintf(buf, sizeof buf, "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (int i = 1; i <= 9; i++) {
        n += snprintf(buf + n, sizeof buf - (size_t)n, "a%d: &a%d [", i, i);
        for (int k = 0; k < 10; k++)
            n += snprintf(buf + n, sizeof buf - (size_t)n, "%s*a%d", k ? ", " : "", i - 1);
        n += snprintf(buf + n, sizeof buf - (size_t)n, "]\n");
    }
    clock_t t0 = clock();
    parse(buf);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECK_EQ_INT(ST, BT_STATUS_BAD_INPUT);
    EXPECT("", "expands to more than 1000000 values");
    CHECK_MSG(D.n == 1, "%d messages", D.n);
    CHECK_MSG(secs < 5, "the bomb took %.1f s", secs);
    /* a long string repeated: the text cap */
    char *big = malloc(2 << 20);
    strcpy(big, "s: &s \"");
    size_t len = strlen(big);
    memset(big + len, 'x', 1 << 20);
    len += 1 << 20;
    strcpy(big + len,
           "\"\nt: &t [*s, *s, *s, *s, *s, *s, *s, *s]\nu: [*t, *t, *t, *t, *t, *t, *t, *t]\n");
    parse(big);
    EXPECT("", "64 MiB");
    free(big);
}

static void test_aliases_and_merges(void) {
    /* plain anchor reuse: a list of values and a parameter block */
    CHECK_OK(parse("method: grid\n"
                   "model: {type: gbdt}\n"
                   "dataset: {synthetic: friedman1}\n"
                   "parameters:\n"
                   "  eta: &rates\n"
                   "    values: [0.1, 0.2]\n"
                   "  reg_lambda: *rates\n"
                   "  max_depth: {values: &depths [2, 3]}\n"
                   "  num_round: {values: *depths}\n"));
    const bt_param_spec *p = param("reg_lambda");
    if (p) CHECK(p->n_values == 2 && p->values[1].f == 0.2);
    p = param("num_round");
    if (p) CHECK(p->n_values == 2 && p->values[1].kind == BT_VALUE_INT && p->values[1].i == 3);
    /* an error in an aliased block points at the anchor's text, under the alias's path */
    parse("method: grid\n"
          "model: {type: gbdt}\n"
          "dataset: {synthetic: friedman1}\n"
          "parameters:\n"
          "  eta: &r {values: [0.1, oops]}\n"
          "  reg_lambda: *r\n");
    EXPECT("5:26: parameters.eta.values[1]: ", "\"oops\"");
    EXPECT("5:26: parameters.reg_lambda.values[1]: ", "\"oops\"");

    /* merge keys inside a parameter block, as W&B files use them */
    CHECK_OK(parse("method: random\n"
                   "model: {type: gbdt}\n"
                   "dataset: {synthetic: friedman1}\n"
                   "parameters:\n"
                   "  eta: &dist {distribution: uniform, min: 0.1, max: 0.3}\n"
                   "  reg_lambda:\n"
                   "    <<: *dist\n"
                   "    max: 2\n"
                   "  gamma:\n"
                   "    <<: [{min: 0, max: 1}, *dist]\n"));
    p = param("reg_lambda");
    if (p) CHECK(p->dist == BT_DIST_UNIFORM && p->min == 0.1 && p->max == 2);
    p = param("gamma");
    if (p) CHECK(p->dist == BT_DIST_UNIFORM && p->min == 0 && p->max == 1);
}

/* The parameters block of a merge, read through the tree: order and values as PyYAML. */
static void test_merge_tree(void) {
    const char *text = "base: &b {a: 1, b: 2}\n"
                       "other: &o {b: 3, c: 4}\n"
                       "m:\n"
                       "  <<: [*b, *o]\n"
                       "  c: 5\n"
                       "n:\n"
                       "  x: 0\n"
                       "  <<: *o\n"
                       "  b: 9\n";
    cJSON *root = NULL;
    bt_jpos pos;
    bt_diags d;
    bt_diags_init(&d);
    CHECK_OK(bt_yaml_read("t.yaml", text, &root, &pos, &d));
    if (!root) return;
    char *m = cJSON_PrintUnformatted(cJSON_GetObjectItem(root, "m"));
    char *n = cJSON_PrintUnformatted(cJSON_GetObjectItem(root, "n"));
    CHECK_STR(m, "{\"b\":2,\"c\":5,\"a\":1}");
    CHECK_STR(n, "{\"b\":9,\"c\":4,\"x\":0}");
    free(m);
    free(n);
    int line, col;
    const char *pa[] = {"m", "a"};
    CHECK(bt_jpos_locate(&pos, root, pa, 2, 1, &line, &col)); /* merged: where it was written */
    CHECK(line == 1 && col == 11);
    const char *pc[] = {"n", "c"};
    CHECK(bt_jpos_locate(&pos, root, pc, 2, 0, &line, &col));
    CHECK(line == 2 && col == 21);
    const char *pb[] = {"n", "b"};
    CHECK(bt_jpos_locate(&pos, root, pb, 2, 0, &line, &col));
    CHECK(line == 9 && col == 6);
    bt_jpos_free(&pos);
    cJSON_Delete(root);
    /* '<<' takes mappings only */
    CHECK_EQ_INT(bt_yaml_read("t.yaml", "a:\n  <<: 3\n", &root, &pos, &d), BT_STATUS_BAD_INPUT);
    CHECK_MSG(d.n == 1 && strstr(d.msgs[0], "t.yaml:2:7: a.<<: '<<' (a merge key) takes a mapping"),
              "%s", d.n ? d.msgs[0] : "no message");
    bt_diags_free(&d);
}

static void test_flow_and_comments(void) {
    CHECK_OK(parse("{method: grid, model: {type: gbdt},  # a flow mapping over lines\n"
                   " dataset: {synthetic: friedman1},\n"
                   " parameters: {eta: {values: [0.1, 0.2]}, max_depth: {values: [2, 3]}}}\n"));
    CHECK(loaded && S.n_params == 2);
    /* multi-line strings: block and folded scalars */
    CHECK_OK(parse_params("  eta: {values: [0.1]}\n"
                          "description: |\n"
                          "  two\n"
                          "  lines\n"
                          "name: >-\n"
                          "  folded\n"
                          "  text\n"));
    if (loaded) {
        CHECK_STR(S.description, "two\nlines\n");
        CHECK_STR(S.name, "folded text");
    }
}

static int same_str(const char *a, const char *b) {
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static int same_value(const bt_value *a, const bt_value *b) {
    if (a->kind != b->kind) return 0;
    if (a->kind == BT_VALUE_STRING) return same_str(a->s, b->s);
    return a->i == b->i && (a->f == b->f || (isnan(a->f) && isnan(b->f)));
}

/* Every field of two specs parsed from different files (positions, path and text aside). */
static void check_same_spec(const bt_spec *a, const bt_spec *b) {
    CHECK(a->method == b->method && same_str(a->metric_name, b->metric_name) &&
          same_str(a->metric, b->metric) && a->maximize == b->maximize &&
          a->has_metric_target == b->has_metric_target && a->metric_target == b->metric_target);
    CHECK_EQ_INT(a->n_params, b->n_params);
    for (int i = 0; i < a->n_params && i < b->n_params; i++) {
        const bt_param_spec *p = &a->params[i], *q = &b->params[i];
        CHECK_MSG(same_str(p->name, q->name) && p->dist == q->dist && p->n_values == q->n_values &&
                      p->min == q->min && p->max == q->max && p->mu == q->mu &&
                      p->sigma == q->sigma && p->a == q->a && p->b == q->b && p->q == q->q &&
                      p->is_int == q->is_int && !p->probs == !q->probs,
                  "parameter %s", p->name);
        for (int k = 0; k < p->n_values && k < q->n_values; k++) {
            CHECK_MSG(same_value(&p->values[k], &q->values[k]), "%s value %d", p->name, k);
            if (p->probs && q->probs) CHECK(p->probs[k] == q->probs[k]);
        }
    }
    CHECK(a->run_cap == b->run_cap && a->seed == b->seed);
    const bt_sched_spec *s = &a->sched, *t = &b->sched;
    CHECK(s->kind == t->kind && same_str(s->resource, t->resource) &&
          s->min_resource == t->min_resource && s->max_resource == t->max_resource &&
          s->eta == t->eta && s->s == t->s && s->strict == t->strict &&
          s->concurrency == t->concurrency);
    CHECK(same_str(a->model_type, b->model_type));
    CHECK_EQ_INT(a->n_model_fixed, b->n_model_fixed);
    for (int i = 0; i < a->n_model_fixed && i < b->n_model_fixed; i++)
        CHECK_MSG(same_str(a->model_fixed[i].key, b->model_fixed[i].key) &&
                      same_value(&a->model_fixed[i].value, &b->model_fixed[i].value),
                  "model.%s", a->model_fixed[i].key);
    const bt_dataset_spec *x = &a->dataset, *y = &b->dataset;
    CHECK(same_str(x->path, y->path) && same_str(x->train, y->train) &&
          same_str(x->valid, y->valid) && same_str(x->format, y->format) &&
          same_str(x->target_name, y->target_name) && x->target_index == y->target_index &&
          x->valid_fraction == y->valid_fraction && x->split_seed == y->split_seed &&
          same_str(x->synthetic, y->synthetic));
    CHECK(same_str(a->exec.device, b->exec.device) && a->exec.max_pack == b->exec.max_pack &&
          a->exec.streams == b->exec.streams && a->exec.threads == b->exec.threads);
    CHECK(same_str(a->output, b->output) && same_str(a->name, b->name) &&
          same_str(a->description, b->description) && same_str(a->program, b->program) &&
          same_str(a->project, b->project) && same_str(a->entity, b->entity));
    CHECK_MSG(same_str(a->command_json, b->command_json), "command %s vs %s", a->command_json,
              b->command_json);
}

static void test_wandb_twin(void) {
    char *json = spec_data("wandb_random.json"), *yaml = spec_data("wandb_random.yaml");
    CHECK(json && yaml);
    if (!json || !yaml) goto out;
    bt_spec a, b;
    bt_diags d;
    bt_diags_init(&d);
    CHECK_OK(bt_spec_parse("data/wandb_random.json", json, &a, &d));
    CHECK_OK(bt_spec_parse("data/wandb_random.yaml", yaml, &b, &d));
    CHECK_EQ_INT(d.n, 0);
    if (d.n == 0) {
        CHECK(a.n_params == 8 && a.sched.kind == BT_SCHED_WANDB_HYPERBAND);
        check_same_spec(&a, &b);
        /* parameters defined where their keys are in each file */
        CHECK_MSG(a.params[1].line == 11 && b.params[1].line == 18 && b.params[1].col == 3,
                  "%d vs %d:%d", a.params[1].line, b.params[1].line, b.params[1].col);
        bt_spec_free(&a);
        bt_spec_free(&b);
    }
    bt_diags_free(&d);
out:
    free(json);
    free(yaml);
}

/* A 1 MB file (a long values list with comments) reads in linear time. The checker is not timed:
 * it walks a values list with cJSON_GetArrayItem, quadratic in its length, for JSON files too. */
static void test_large_file(void) {
    size_t cap = 1100000, n = 0;
    char *t = malloc(cap);
    n += (size_t)snprintf(t + n, cap - n, "method: grid\nparameters:\n  eta:\n    values:\n");
    int n_values = 0;
    for (; n < 1000000; n_values++)
        n += (size_t)snprintf(t + n, cap - n, "      - %d.%03de-3   # trial %d\n", n_values / 1000,
                              n_values % 1000, n_values);
    struct timespec t0, t1;
    cJSON *root = NULL;
    bt_jpos pos;
    bt_diags d;
    bt_diags_init(&d);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_OK(bt_yaml_read("big.yaml", t, &root, &pos, &d));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    const char *path[] = {"parameters", "eta", "values", "30000"};
    int line = 0, col = 0;
    if (root) {
        const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "parameters"), "eta");
        CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(v, "values")), n_values);
        CHECK(bt_jpos_locate(&pos, root, path, 4, 0, &line, &col) && line == 30005 && col == 9);
        bt_jpos_free(&pos);
        cJSON_Delete(root);
    }
    bt_diags_free(&d);
    printf("a %.2f MB YAML sweep file (%d values): read in %.1f ms\n", (double)n / 1e6, n_values,
           ms);
    CHECK_MSG(ms < 5000, "%.0f ms", ms);
    free(t);
}

/* The sweep file loader on a .yml file from disk. */
static void test_load(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/spec_yaml_load.yml", bt_test_tmpdir());
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs("method: grid\nmodel: {type: gbdt}\ndataset: {synthetic: friedman1}\n"
          "parameters:\n  eta: {values: [0.1, 0.2]}\n",
          f);
    fclose(f);
    reset();
    CHECK_OK(bt_spec_load(path, &S, &D));
    loaded = D.n == 0;
    CHECK(loaded && S.n_params == 1 && S.params[0].n_values == 2);
    remove(path);
}

int main(void) {
    test_scalars();
    test_is_yaml();
    if (!bt_yaml_version()) {
        parse("method: grid\n");
        CHECK(D.n == 1 && strstr(D.msgs[0], "libyaml-dev"));
        reset();
        printf("SKIP: built without libyaml (the scalar rules and the refusal were checked)\n");
        int rc = bt_test_finish("test_spec_yaml");
        return rc ? rc : 77;
    }
    test_positions();
    test_numbers_and_tags();
    test_refusals();
    test_alias_bomb();
    test_aliases_and_merges();
    test_merge_tree();
    test_flow_and_comments();
    test_wandb_twin();
    test_large_file();
    test_load();
    reset();
    return bt_test_finish("test_spec_yaml");
}
