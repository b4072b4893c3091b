/* Program mode's command line against W&B's agent (wandb/wandb_agent.py, wandb/sdk/launch/sweeps/
 * utils.py): every macro, Python's str() / repr() / json.dumps() of each value kind, nested
 * parameters as dicts, ${envvar:...}, unknown macros, and values that a shell would execute stay
 * one argument. The expected strings are what CPython 3.11 prints for the same values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/program/cmdline.h"
#include "sweeps/space.h"
#include "tests/bt_test.h"

static bt_spec parse(const char *text) {
    bt_spec s;
    bt_diags d;
    bt_diags_init(&d);
    bt_status st = bt_spec_parse("/tmp/sweep.json", text, &s, &d);
    for (int i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.msgs[i]);
    bt_diags_free(&d);
    if (st != BT_STATUS_OK) {
        fprintf(stderr, "spec did not parse\n");
        exit(1);
    }
    return s;
}

/* The argv joined with " | " between arguments. */
static char *joined(const bt_spec *s, const bt_value *config, char **json) {
    bt_cmdline_ctx cc = {"python", "/o/args.json"};
    bt_argv a;
    if (bt_cmdline_build(s, config, &cc, &a, json) != BT_STATUS_OK) return strdup("<error>");
    bt_sbuf b = {0};
    for (int i = 0; i < a.n; i++) {
        if (i) bt_sbuf_str(&b, " | ");
        bt_sbuf_str(&b, a.v[i]);
    }
    bt_argv_free(&a);
    return bt_sbuf_take(&b);
}

static void floats(void) {
    static const struct {
        double x;
        const char *py;
    } cases[] = {{0.1, "0.1"},
                 {1e-05, "1e-05"},
                 {100.0, "100.0"},
                 {0.001, "0.001"},
                 {1e16, "1e+16"},
                 {1.5e16, "1.5e+16"},
                 {1e15, "1000000000000000.0"},
                 {0.0001, "0.0001"},
                 {-2.5, "-2.5"},
                 {1.0 / 3.0, "0.3333333333333333"},
                 {123456.789, "123456.789"},
                 {0.0, "0.0"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char buf[64];
        bt_py_float_repr(cases[i].x, buf, sizeof buf);
        CHECK_STR(buf, cases[i].py);
    }
}

int main(void) {
    floats();
    bt_spec s = parse("{\"program\": \"train.py\", \"method\": \"grid\", \"parameters\": {"
                      "\"lr\": {\"value\": 0.001}, \"epochs\": {\"value\": 3},"
                      "\"flag\": {\"value\": true}, \"off\": {\"value\": false},"
                      "\"opt\": {\"value\": \"it's \\\"x\\\"\"},"
                      "\"net\": {\"parameters\": {\"width\": {\"value\": 64},"
                      "  \"act\": {\"parameters\": {\"kind\": {\"value\": \"relu\"}}}}},"
                      "\"optimizer.config.learning_rate\": {\"value\": 1e-5}}}");
    bt_value cfg[8];
    CHECK_OK(bt_space_config(&s, s.seed, 0, cfg));
    char *json = NULL;
    char *got = joined(&s, cfg, &json);
    CHECK_STR(got,
              "/usr/bin/env | python | train.py | --lr=0.001 | --epochs=3 | --flag=True | "
              "--off=False | --opt=it's \"x\" | --net={'width': 64, 'act': {'kind': 'relu'}} | "
              "--optimizer.config.learning_rate=1e-05");
    CHECK_STR(json, "{\"lr\": 0.001, \"epochs\": 3, \"flag\": true, \"off\": false, \"opt\": "
                    "\"it's \\\"x\\\"\", \"net\": {\"width\": 64, \"act\": {\"kind\": \"relu\"}}, "
                    "\"optimizer.config.learning_rate\": 1e-05}");
    free(got);
    free(json);
    bt_spec_free(&s);

    /* every macro, in one command; ${envvar:...} inside an entry; an unknown macro adds nothing */
    setenv("BT_TEST_DATA", "/data", 1);
    unsetenv("BT_TEST_UNSET");
    s = parse("{\"program\": \"t.py\", \"method\": \"grid\", \"command\": [\"${env}\", "
              "\"${interpreter}\", \"-u\", \"${program}\", \"${args_no_hyphens}\", "
              "\"${args_no_boolean_flags}\", \"${args_json}\", \"${args_json_file}\", "
              "\"${args_no_equals}\", \"${args_append_hydra}\", \"${args_override_hydra}\", "
              "\"--data=${envvar:BT_TEST_DATA}\", \"${envvar:BT_TEST_UNSET}\", \"${nope}\", 7, "
              "\"${args_dict}\"], \"parameters\": {\"a\": {\"value\": 1.5}, "
              "\"b\": {\"value\": true}, \"c\": {\"value\": false}}}");
    CHECK_OK(bt_space_config(&s, s.seed, 0, cfg));
    got = joined(&s, cfg, NULL);
    CHECK_STR(got,
              "/usr/bin/env | python | -u | t.py | a=1.5 | b=True | c=False | --a=1.5 | --b | "
              "{\"a\": 1.5, \"b\": true, \"c\": false} | /o/args.json | --a | 1.5 | --b | True "
              "| --c | False | +a=1.5 | +b=True | +c=False | ++a=1.5 | ++b=True | ++c=False | "
              "--data=/data | BT_TEST_UNSET | 7 | a | b | c");
    CHECK(bt_cmdline_uses(&s, "${args_json_file}"));
    free(got);
    bt_spec_free(&s);

    /* values a shell would run stay one argument each, verbatim; json escapes them */
    s = parse("{\"program\": \"t.py\", \"method\": \"grid\", \"parameters\": {"
              "\"x\": {\"value\": \"x; rm -rf ~\"}, \"y\": {\"value\": \"$(touch pwned) `id`\"},"
              "\"z\": {\"value\": \"caf\\u00e9\\n\"}}}");
    CHECK_OK(bt_space_config(&s, s.seed, 0, cfg));
    bt_cmdline_ctx cc = {"python", "/o/a.json"};
    bt_argv a;
    CHECK_OK(bt_cmdline_build(&s, cfg, &cc, &a, &json));
    CHECK_EQ_INT(a.n, 6);
    CHECK_STR(a.v[3], "--x=x; rm -rf ~");
    CHECK_STR(a.v[4], "--y=$(touch pwned) `id`");
    CHECK_STR(a.v[5], "--z=caf\xc3\xa9\n");
    CHECK_STR(json, "{\"x\": \"x; rm -rf ~\", \"y\": \"$(touch pwned) `id`\", \"z\": "
                    "\"caf\\u00e9\\n\"}");
    free(json);
    bt_argv_free(&a);
    bt_spec_free(&s);

    /* lists, objects and null (what CPython 3.11's str() and json.dumps() print): integers past
     * int64 with every digit, floats as repr, a repeated key at its first place with its last
     * value, quotes and escapes inside, non-finite numbers as json.dumps names them */
    s = parse("{\"program\": \"t.py\", \"method\": \"grid\", \"parameters\": {"
              "\"l\": {\"value\": [32, 1.0, 1e-7, -0.0, 100000000000000000000, \"it's\", true,"
              " null, [\"a\\\\b\"]]},"
              "\"o\": {\"value\": {\"k\": 1, \"j\": {\"q\": \"\\\"\"}, \"k\": 2}},"
              "\"n\": {\"values\": [null, 3]}}}");
    CHECK_OK(bt_space_config(&s, s.seed, 0, cfg));
    got = joined(&s, cfg, &json);
    CHECK_STR(got, "/usr/bin/env | python | t.py | "
                   "--l=[32, 1.0, 1e-07, -0.0, 100000000000000000000, \"it's\", True, None, "
                   "['a\\\\b']] | --o={'k': 2, 'j': {'q': '\"'}} | --n=None");
    CHECK_STR(json, "{\"l\": [32, 1.0, 1e-07, -0.0, 100000000000000000000, \"it's\", true, "
                    "null, [\"a\\\\b\"]], \"o\": {\"k\": 2, \"j\": {\"q\": \"\\\"\"}}, "
                    "\"n\": null}");
    free(got);
    free(json);
    bt_spec_free(&s);
    return bt_test_finish("test_program_cmdline");
}
