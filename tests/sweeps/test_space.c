/* The search space: grid order (last parameter fastest) and size, reproducible random configs
 * that depend only on (seed, trial, parameter), and every distribution's range and moments over
 * 20000 draws (fresh seeds each run of a case, so nothing depends on one lucky stream). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/philox.h"
#include "sweeps/space.h"
#include "sweeps/spec/spec.h"
#include "tests/bt_test.h"

#define N 20000

static int parse(const char *text, bt_spec *s) {
    char *t = malloc(strlen(text) + 1);
    strcpy(t, text);
    for (char *p = t; *p; p++)
        if (*p == '\'') *p = '"';
    bt_diags d;
    bt_diags_init(&d);
    bt_status st = bt_spec_parse("space.json", t, s, &d);
    for (int i = 0; i < d.n; i++) fprintf(stderr, "  %s\n", d.msgs[i]);
    bt_diags_free(&d);
    free(t);
    return st == BT_STATUS_OK;
}

static void test_grid(void) {
    bt_spec s;
    CHECK(parse("{'method': 'grid', 'model': {'type': 'gbdt'},"
                " 'dataset': {'synthetic': 'friedman1'},"
                " 'parameters': {'eta': {'values': [0.1, 0.2, 0.3]},"
                "                'objective': {'value': 'reg:squarederror'},"
                "                'max_depth': {'values': [2, 4]}}}",
                &s));
    if (s.n_params != 3) return;
    CHECK_EQ_INT(bt_space_grid_size(&s), 6);
    const double eta[6] = {0.1, 0.1, 0.2, 0.2, 0.3, 0.3};
    const int64_t depth[6] = {2, 4, 2, 4, 2, 4};
    for (int t = 0; t < 6; t++) {
        bt_value v[3];
        CHECK_OK(bt_space_config(&s, 123, t, v));
        CHECK_NEAR(v[0].f, eta[t], 0);
        CHECK_EQ_INT(v[0].kind, BT_VALUE_FLOAT);
        CHECK_STR(v[1].s, "reg:squarederror");
        CHECK_EQ_INT(v[2].kind, BT_VALUE_INT);
        CHECK_EQ_INT(v[2].i, depth[t]);
    }
    bt_value v[3];
    CHECK_EQ_INT(bt_space_config(&s, 123, 6, v), BT_STATUS_BAD_INPUT);
    bt_spec_free(&s);
}

/* W&B's grid expansion (sweeps' grid_search.py): int_uniform is range(min, max + 1), q_uniform is
 * numpy.arange(min, max, q).tolist() -- the reference values below are numpy's, printed by repr. */
static void test_grid_wandb(void) {
    bt_spec s;
    CHECK(parse("{'method': 'grid', 'model': {'type': 'gbdt'},"
                " 'dataset': {'synthetic': 'friedman1'},"
                " 'parameters': {'max_depth': {'min': 2, 'max': 5},"
                "  'gamma': {'distribution': 'q_uniform', 'min': 0.0, 'max': 1.0, 'q': 0.1},"
                "  'max_bin': {'distribution': 'q_uniform', 'min': 16, 'max': 64, 'q': 16}}}",
                &s));
    if (s.n_params != 3) return;
    CHECK_EQ_INT(bt_space_grid_count(&s.params[0]), 4);
    CHECK_EQ_INT(bt_space_grid_count(&s.params[1]), 10);
    CHECK_EQ_INT(bt_space_grid_count(&s.params[2]), 3); /* 16, 32, 48: max excluded */
    CHECK_EQ_INT(bt_space_grid_size(&s), 120);
    static const char *const gamma[10] = {"0.0",
                                          "0.1",
                                          "0.2",
                                          "0.30000000000000004",
                                          "0.4",
                                          "0.5",
                                          "0.6000000000000001",
                                          "0.7000000000000001",
                                          "0.8",
                                          "0.9"};
    for (int t = 0; t < 120; t++) {
        bt_value v[3];
        CHECK_OK(bt_space_config(&s, 5, t, v));
        /* the last parameter fastest */
        CHECK_EQ_INT(v[0].kind, BT_VALUE_INT);
        CHECK_EQ_INT(v[0].i, 2 + t / 30);
        CHECK_EQ_INT(v[1].kind, BT_VALUE_FLOAT);
        CHECK_MSG(v[1].f == strtod(gamma[(t / 3) % 10], NULL), "trial %d: gamma %.17g", t, v[1].f);
        CHECK_EQ_INT(v[2].kind, BT_VALUE_INT); /* min, max and q written as integers */
        CHECK_EQ_INT(v[2].i, 16 * (1 + t % 3));
    }
    bt_value v[3];
    CHECK_EQ_INT(bt_space_config(&s, 5, 120, v), BT_STATUS_BAD_INPUT);
    bt_spec_free(&s);

    /* W&B's own test case (tests/test_grid_search.py), and an integer q over real bounds */
    CHECK(parse("{'method': 'grid', 'model': {'type': 'gbdt'},"
                " 'dataset': {'synthetic': 'friedman1'},"
                " 'parameters': {'base_score': {'distribution': 'q_uniform', 'min': -9.211,"
                "  'max': 23.23, 'q': 2.341},"
                "  'eta': {'distribution': 'q_uniform', 'min': 0.5, 'max': 1.0, 'q': 1}}}",
                &s));
    if (s.n_params != 2) return;
    static const char *const bs[14] = {"-9.211",
                                       "-6.87",
                                       "-4.529",
                                       "-2.1879999999999997",
                                       "0.15300000000000047",
                                       "2.4940000000000015",
                                       "4.835000000000001",
                                       "7.176",
                                       "9.517000000000001",
                                       "11.858000000000002",
                                       "14.199000000000003",
                                       "16.54",
                                       "18.881",
                                       "21.222"};
    CHECK_EQ_INT(bt_space_grid_count(&s.params[0]), 14);
    CHECK_EQ_INT(bt_space_grid_count(&s.params[1]), 1);
    for (int t = 0; t < 14; t++) {
        CHECK_OK(bt_space_config(&s, 0, t, v));
        CHECK_MSG(v[0].f == strtod(bs[t], NULL), "trial %d: %.17g, numpy %s", t, v[0].f, bs[t]);
        CHECK_EQ_INT(v[1].kind, BT_VALUE_FLOAT); /* numpy.arange(0.5, 1.0, 1) is [0.5] */
        CHECK(v[1].f == 0.5);
    }
    bt_spec_free(&s);

    /* a grid of more than 2^63 points is refused, never materialized */
    bt_diags d;
    bt_diags_init(&d);
    const char *big = "{\"method\": \"grid\", \"model\": {\"type\": \"gbdt\"},"
                      " \"dataset\": {\"synthetic\": \"friedman1\"}, \"parameters\": {"
                      " \"seed\": {\"min\": 0, \"max\": 4294967295},"
                      " \"num_round\": {\"min\": 1, \"max\": 10000000},"
                      " \"early_stopping_rounds\": {\"min\": 0, \"max\": 10000000}}}";
    CHECK_EQ_INT(bt_spec_parse("big.json", big, &s, &d), BT_STATUS_BAD_INPUT);
    CHECK(d.n == 1 && strstr(d.msgs[0], "more than 2^63 points"));
    bt_diags_free(&d);
}

/* q_log_uniform_values under grid: every value a draw can take, the multiples of q in
 * [rint(min / q), rint(max / q)] q -- and a random draw of it always lands on one of them. */
static void test_grid_q_log(void) {
    bt_spec s;
    CHECK(parse("{'method': 'grid', 'model': {'type': 'gbdt'},"
                " 'dataset': {'synthetic': 'friedman1'},"
                " 'parameters': {'max_bin': {'distribution': 'q_log_uniform_values',"
                "  'min': 16, 'max': 256, 'q': 16},"
                "  'eta': {'distribution': 'q_log_uniform_values', 'min': 0.01, 'max': 0.1,"
                "  'q': 0.01}}}",
                &s));
    if (s.n_params != 2) return;
    CHECK_EQ_INT(bt_space_grid_count(&s.params[0]), 16);
    CHECK_EQ_INT(bt_space_grid_count(&s.params[1]), 10);
    CHECK_EQ_INT(bt_space_grid_size(&s), 160);
    for (int t = 0; t < 160; t++) {
        bt_value v[2];
        CHECK_OK(bt_space_config(&s, 1, t, v));
        CHECK_EQ_INT(v[0].kind, BT_VALUE_INT);
        CHECK_EQ_INT(v[0].i, 16 * (1 + t / 10));
        CHECK_MSG(v[1].f == (double)(1 + t % 10) * 0.01, "trial %d: eta %.17g", t, v[1].f);
    }
    /* the random draws' support is the grid */
    for (uint64_t k = 0; k < 2000; k++) {
        bt_value d = bt_space_sample_param(&s.params[0], k, 0);
        CHECK_MSG(d.kind == BT_VALUE_INT && d.i % 16 == 0 && d.i >= 16 && d.i <= 256, "draw %lld",
                  (long long)d.i);
        bt_value e = bt_space_sample_param(&s.params[1], k, 1);
        int found = 0;
        for (int i = 0; i < 10; i++) found |= e.f == bt_space_grid_value(&s.params[1], i).f;
        CHECK_MSG(found, "eta draw %.17g is not a grid point", e.f);
    }
    bt_spec_free(&s);
}

static void test_random_reproducible(void) {
    const char *a = "{'method': 'random', 'model': {'type': 'gbdt'},"
                    " 'dataset': {'synthetic': 'friedman1'},"
                    " 'parameters': {'eta': {'distribution': 'log_uniform_values', 'min': 0.001,"
                    "  'max': 1}, 'max_depth': {'min': 1, 'max': 16},"
                    "  'alpha': {'distribution': 'beta', 'a': 2, 'b': 2}%s}}";
    char text[1024];
    bt_spec s, s2;
    snprintf(text, sizeof text, a, "");
    CHECK(parse(text, &s));
    snprintf(text, sizeof text, a, ", 'gamma': {'distribution': 'q_uniform', 'min': 0, 'max': 4}");
    CHECK(parse(text, &s2));
    if (s.n_params != 3 || s2.n_params != 4) return;
    CHECK_EQ_INT(bt_space_grid_size(&s), -1);
    uint64_t seed = (uint64_t)rand() * 7919u + 1;
    int differ = 0;
    for (int t = 0; t < 200; t++) {
        bt_value x[3], y[3], z[3], w[4];
        CHECK_OK(bt_space_config(&s, seed, t, x));
        CHECK_OK(bt_space_config(&s, seed, t, y));
        CHECK_OK(bt_space_config(&s, seed + 1, t, z));
        CHECK_OK(bt_space_config(&s2, seed, t, w)); /* one more parameter, same others */
        for (int p = 0; p < 3; p++) {
            CHECK(x[p].kind == y[p].kind && x[p].f == y[p].f);
            CHECK(x[p].kind == w[p].kind && x[p].f == w[p].f);
            differ += x[p].f != z[p].f;
        }
        CHECK(x[0].f >= 0.001 && x[0].f <= 1);
        CHECK(x[1].kind == BT_VALUE_INT && x[1].i >= 1 && x[1].i <= 16);
    }
    CHECK(differ > 500); /* a different seed gives different configurations */
    /* trial order does not matter: trial 57 alone equals trial 57 in the loop */
    bt_value a57[3], b57[3];
    bt_space_config(&s, seed, 57, a57);
    for (int t = 0; t < 57; t++) {
        bt_value tmp[3];
        bt_space_config(&s, seed, t, tmp);
    }
    bt_space_config(&s, seed, 57, b57);
    for (int p = 0; p < 3; p++) CHECK(a57[p].f == b57[p].f);
    bt_spec_free(&s);
    bt_spec_free(&s2);
}

static bt_param_spec mk(bt_dist d, double min, double max) {
    bt_param_spec p;
    memset(&p, 0, sizeof p);
    p.name = "x";
    p.dist = d;
    p.min = min;
    p.max = max;
    p.mu = 0;
    p.sigma = 1;
    p.a = 1;
    p.b = 1;
    p.q = 1;
    p.is_int = d == BT_DIST_INT_UNIFORM;
    return p;
}

static uint64_t SEED;

static double xs[N];

/* Draws N samples; returns mean, fills xs; checks all lie in [lo, hi] and are of `kind`. */
static double draw(const bt_param_spec *p, double lo, double hi, bt_value_kind kind) {
    double sum = 0;
    int out = 0, wrong_kind = 0;
    for (int t = 0; t < N; t++) {
        bt_value v = bt_space_sample_param(p, bt_philox_key(SEED, (uint64_t)t), 3);
        xs[t] = v.f;
        sum += v.f;
        out += !(v.f >= lo && v.f <= hi);
        wrong_kind += v.kind != kind;
    }
    CHECK_MSG(out == 0, "dist %d: %d samples outside [%g, %g]", p->dist, out, lo, hi);
    CHECK_MSG(wrong_kind == 0, "dist %d: %d samples of the wrong kind", p->dist, wrong_kind);
    return sum / N;
}

static double sd_of(double mean) {
    double s = 0;
    for (int i = 0; i < N; i++) s += (xs[i] - mean) * (xs[i] - mean);
    return sqrt(s / (N - 1));
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(void) {
    qsort(xs, N, sizeof xs[0], cmp_d);
    return 0.5 * (xs[N / 2 - 1] + xs[N / 2]);
}

static int all_multiples(double q) {
    for (int i = 0; i < N; i++) {
        double k = xs[i] / q;
        if (fabs(k - rint(k)) > 1e-9) return 0;
    }
    return 1;
}

static void test_distributions(void) {
    bt_param_spec p;
    double m;

    p = mk(BT_DIST_UNIFORM, 2, 5);
    m = draw(&p, 2, 5, BT_VALUE_FLOAT);
    CHECK_NEAR(m, 3.5, 0.03);
    CHECK_NEAR(sd_of(m), 3 / sqrt(12.0), 0.02);

    p = mk(BT_DIST_INT_UNIFORM, 1, 6);
    draw(&p, 1, 6, BT_VALUE_INT);
    int count[7] = {0};
    for (int i = 0; i < N; i++) count[(int)xs[i]]++;
    for (int k = 1; k <= 6; k++) CHECK_NEAR(count[k] / (double)N, 1 / 6.0, 0.015);

    p = mk(BT_DIST_Q_UNIFORM, 0, 10);
    p.q = 2.5;
    m = draw(&p, 0, 10, BT_VALUE_FLOAT);
    CHECK(all_multiples(2.5));
    CHECK_NEAR(m, 5, 0.1);

    p = mk(BT_DIST_Q_UNIFORM, 1, 9);
    p.q = 2;
    p.is_int = 1;
    draw(&p, 0, 10, BT_VALUE_INT);
    CHECK(all_multiples(2));

    p = mk(BT_DIST_LOG_UNIFORM_VALUES, 1e-3, 10);
    draw(&p, 1e-3, 10, BT_VALUE_FLOAT);
    CHECK_NEAR(log10(median()), -1, 0.05); /* median = geometric mean of the bounds */

    p = mk(BT_DIST_LOG_UNIFORM, -2, 2); /* W&B legacy: exponents */
    draw(&p, exp(-2), exp(2), BT_VALUE_FLOAT);
    CHECK_NEAR(log(median()), 0, 0.06);

    p = mk(BT_DIST_Q_LOG_UNIFORM_VALUES, 1, 1000);
    p.is_int = 1;
    draw(&p, 1, 1000, BT_VALUE_INT);
    CHECK_NEAR(log10(median()), 1.5, 0.05);

    p = mk(BT_DIST_Q_LOG_UNIFORM, 0, log(100.0));
    p.q = 0.5;
    draw(&p, 1, 100, BT_VALUE_FLOAT);
    CHECK(all_multiples(0.5));

    p = mk(BT_DIST_INV_LOG_UNIFORM_VALUES, 0.01, 1);
    draw(&p, 0.01, 1, BT_VALUE_FLOAT);
    CHECK_NEAR(log10(median()), -1, 0.05);

    p = mk(BT_DIST_INV_LOG_UNIFORM, 0, 3); /* exp(-U(0, 3)) */
    m = draw(&p, exp(-3), 1, BT_VALUE_FLOAT);
    CHECK_NEAR(m, (1 - exp(-3)) / 3, 0.01);

    p = mk(BT_DIST_NORMAL, 0, 0);
    p.mu = 2;
    p.sigma = 3;
    m = draw(&p, -INFINITY, INFINITY, BT_VALUE_FLOAT);
    CHECK_NEAR(m, 2, 0.07);
    CHECK_NEAR(sd_of(m), 3, 0.07);
    int within1 = 0;
    for (int i = 0; i < N; i++) within1 += fabs(xs[i] - 2) < 3;
    CHECK_NEAR(within1 / (double)N, 0.6827, 0.015);

    p = mk(BT_DIST_Q_NORMAL, 0, 0);
    p.mu = 10;
    p.sigma = 2;
    p.q = 0.5;
    m = draw(&p, -INFINITY, INFINITY, BT_VALUE_FLOAT);
    CHECK(all_multiples(0.5));
    CHECK_NEAR(m, 10, 0.06);

    p = mk(BT_DIST_LOG_NORMAL, 0, 0);
    p.mu = 1;
    p.sigma = 0.5;
    draw(&p, 0, INFINITY, BT_VALUE_FLOAT);
    for (int i = 0; i < N; i++) xs[i] = log(xs[i]);
    double lm = 0;
    for (int i = 0; i < N; i++) lm += xs[i] / N;
    CHECK_NEAR(lm, 1, 0.02);
    CHECK_NEAR(sd_of(lm), 0.5, 0.02);

    p = mk(BT_DIST_Q_LOG_NORMAL, 0, 0);
    p.mu = 3;
    p.sigma = 0.3;
    p.is_int = 1;
    draw(&p, 0, INFINITY, BT_VALUE_INT);
    CHECK_NEAR(median(), exp(3), 1.5);

    p = mk(BT_DIST_BETA, 0, 0);
    p.a = 2;
    p.b = 5;
    m = draw(&p, 0, 1, BT_VALUE_FLOAT);
    CHECK_NEAR(m, 2 / 7.0, 0.006);
    CHECK_NEAR(sd_of(m), sqrt(10 / (49.0 * 8)), 0.006);

    p = mk(BT_DIST_BETA, 0, 0);
    p.a = 0.5;
    p.b = 0.5;
    m = draw(&p, 0, 1, BT_VALUE_FLOAT);
    CHECK_NEAR(m, 0.5, 0.01);
    CHECK_NEAR(sd_of(m), sqrt(0.25 / 2), 0.01);

    p = mk(BT_DIST_Q_BETA, 0, 0);
    p.q = 0.1;
    p.a = 3;
    p.b = 3;
    m = draw(&p, 0, 1, BT_VALUE_FLOAT);
    CHECK(all_multiples(0.1));
    CHECK_NEAR(m, 0.5, 0.01);

    bt_value vals[3] = {bt_value_string("a"), bt_value_string("b"), bt_value_string("c")};
    double probs[3] = {0.2, 0.3, 0.5};
    p = mk(BT_DIST_CATEGORICAL, 0, 0);
    p.values = vals;
    p.n_values = 3;
    p.probs = probs;
    int cc[3] = {0}, cu[3] = {0};
    for (int t = 0; t < N; t++) {
        bt_value v = bt_space_sample_param(&p, bt_philox_key(SEED, (uint64_t)t), 0);
        CHECK(v.kind == BT_VALUE_STRING);
        cc[v.s[0] - 'a']++;
    }
    for (int k = 0; k < 3; k++) CHECK_NEAR(cc[k] / (double)N, probs[k], 0.015);
    p.probs = NULL;
    for (int t = 0; t < N; t++) {
        bt_value v = bt_space_sample_param(&p, bt_philox_key(SEED, (uint64_t)t), 0);
        cu[v.s[0] - 'a']++;
    }
    for (int k = 0; k < 3; k++) CHECK_NEAR(cu[k] / (double)N, 1 / 3.0, 0.015);

    bt_value one = bt_value_int(42);
    p = mk(BT_DIST_CONSTANT, 0, 0);
    p.values = &one;
    p.n_values = 1;
    draw(&p, 42, 42, BT_VALUE_INT);
}

int main(void) {
    srand((unsigned)time(NULL));
    SEED = ((uint64_t)rand() << 20) ^ (uint64_t)rand();
    if (getenv("BT_TEST_SEED")) SEED = strtoull(getenv("BT_TEST_SEED"), NULL, 10);
    printf("seed %llu\n", (unsigned long long)SEED);
    test_grid();
    test_grid_wandb();
    test_grid_q_log();
    test_random_reproducible();
    test_distributions();
    return bt_test_finish("test_space");
}
