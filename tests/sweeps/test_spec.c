/* Sweep-file validation: every rule reports its message at the right FILE:LINE:COL and JSON path,
 * all problems are collected at once, and valid files fill bt_spec with W&B's defaults. Sweep
 * texts are written with ' for " to stay readable; run() swaps them. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/store/sweep_file.h"
#include "sweeps/spec/spec.h"
#include "tests/bt_test.h"
#include "tests/sweeps/spec_test.h"

static bt_status run_raw(const char *text) {
    return spec_parse_as("dir/sweep.json", text);
}

static bt_status run(const char *text) {
    char *t = strdup(text);
    for (char *p = t; *p; p++)
        if (*p == '\'') *p = '"';
    bt_status st = run_raw(t);
    free(t);
    return st;
}

/* A valid file whose parameters block is `params` (line 5 on), so positions are predictable. */
static bt_status run_params(const char *params) {
    char buf[4096];
    snprintf(buf, sizeof buf,
             "{\n"
             "  'method': 'random',\n"
             "  'model': {'type': 'gbdt'},\n"
             "  'dataset': {'synthetic': 'friedman1'},\n"
             "  'parameters': {\n"
             "%s\n"
             "  }\n"
             "}\n",
             params);
    return run(buf);
}

static void test_syntax(void) {
    CHECK_EQ_INT(run("{\n  'method': 'random',\n}\n"), BT_STATUS_BAD_INPUT);
    EXPECT("2:21: ", "trailing comma");
    run("{\n  'method': 'random'\n  'seed': 1\n}");
    EXPECT("3:3: ", "missing ','");
    run("{\n  'method': 'random',\n  'parameters': {\n");
    EXPECT("4:1: ", "unexpected end of file");
    run_raw("{\n  // a comment\n  \"method\": \"random\"\n}");
    EXPECT("2:3: ", "comments are not allowed");
    run_raw("{\n  'method': 'random'\n}");
    EXPECT("2:3: ", "double quotes");
    run_raw("   \n");
    EXPECT("2:1: ", "empty file");
    run("[1, 2]");
    EXPECT("1:1: ", "one JSON object");
    CHECK_EQ_INT(ST, BT_STATUS_BAD_INPUT);
}

static void test_valid_defaults(void) {
    CHECK_OK(run("{\n"
                 "  'method': 'random',\n"
                 "  'model': {'type': 'gbdt', 'learning_rate': 0.1},\n"
                 "  'dataset': {'train': 'a.csv', 'valid': '/abs/b.csv', 'target': 3},\n"
                 "  'parameters': {'max_depth': {'values': [3, 6.0]},\n"
                 "                 'lambda': {'min': 0, 'max': 10},\n"
                 "                 'alpha': {'min': 0, 'max': 1.5}}\n"
                 "}\n"));
    if (!loaded) return;
    CHECK_EQ_INT(S.method, BT_METHOD_RANDOM);
    CHECK_STR(S.metric, "rmse");
    CHECK_EQ_INT(S.maximize, 0);
    CHECK_EQ_INT(S.run_cap, 100); /* random without run_cap */
    CHECK_EQ_INT(S.sched.kind, BT_SCHED_NONE);
    CHECK_STR(S.sched.resource, "num_round");
    CHECK_EQ_INT(S.sched.max_resource, 100);
    CHECK_EQ_INT(S.sched.min_resource, 1);
    CHECK_NEAR(S.sched.eta, 3, 0);
    CHECK_EQ_INT(S.sched.concurrency, 256);
    CHECK_EQ_INT(S.exec.max_pack, 256);
    CHECK_EQ_INT(S.exec.streams, 0); /* unset: the executor makes it 4 per GPU */
    CHECK_STR(S.exec.device, "auto");
    CHECK_STR(S.model_type, "gbdt");
    CHECK_EQ_INT(S.n_model_fixed, 1);
    CHECK_STR(S.model_fixed[0].key, "eta"); /* canonical name */
    CHECK_NEAR(S.model_fixed[0].value.f, 0.1, 0);
    CHECK_EQ_INT(S.model_fixed[0].line, 3);
    CHECK_EQ_INT(S.model_fixed[0].col, 29);
    CHECK_STR(S.dataset.train, "dir/a.csv");
    CHECK_STR(S.dataset.valid, "/abs/b.csv");
    CHECK_EQ_INT(S.dataset.target_index, 3);
    CHECK_STR(S.dir, "dir");
    CHECK_EQ_INT(S.n_params, 3);
    CHECK_STR(S.params[0].name, "max_depth");
    CHECK_EQ_INT(S.params[0].values[1].kind, BT_VALUE_INT); /* 6.0 for an int parameter */
    CHECK_EQ_INT(S.params[0].values[1].i, 6);
    CHECK_EQ_INT(S.params[0].line, 5);
    CHECK_EQ_INT(S.params[0].col, 18);
    CHECK_EQ_INT(S.params[1].dist, BT_DIST_INT_UNIFORM); /* W&B: integer bounds */
    CHECK_EQ_INT(S.params[1].is_int, 1);
    CHECK_EQ_INT(S.params[2].dist, BT_DIST_UNIFORM);
    CHECK_EQ_INT(bt_spec_param_index(&S, "lambda"), 1);
    CHECK_EQ_INT(bt_spec_param_index(&S, "nope"), -1);
    CHECK_EQ_INT(strlen(S.sha256), 64);
}

static void test_wandb_file(void) {
    const char *src = getenv("BT_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/sweeps/wandb_random.json", src ? src : ".");
    reset();
    bt_diags_init(&D);
    ST = bt_spec_load(path, &S, &D);
    loaded = ST == BT_STATUS_OK;
    CHECK_OK(ST);
    if (!loaded) {
        dump();
        return;
    }
    CHECK_STR(S.metric_name, "validation/rmse");
    CHECK_STR(S.metric, "rmse");
    CHECK_EQ_INT(S.has_metric_target, 1);
    CHECK_NEAR(S.metric_target, 0.05, 1e-12);
    CHECK_EQ_INT(S.run_cap, 50);
    CHECK_EQ_INT(S.seed, 7);
    CHECK_EQ_INT(S.sched.kind, BT_SCHED_WANDB_HYPERBAND);
    CHECK_EQ_INT(S.sched.min_resource, 3);
    CHECK_EQ_INT(S.sched.max_resource, 200); /* n_estimators fixed in model */
    CHECK_NEAR(S.sched.eta, 2, 0);
    CHECK_EQ_INT(S.sched.strict, 1);
    CHECK_STR(S.model_type, "gbdt");
    CHECK_STR(S.program, "train.py");
    CHECK_STR(S.project, "housing");
    CHECK_STR(S.entity, "my-team");
    CHECK_STR(S.name, "xgb-random");
    CHECK(S.command_json && strstr(S.command_json, "${program}"));
    /* a program beside a model block is not run, and the spec says so */
    CHECK_EQ_INT(S.n_warnings, 1);
    if (S.n_warnings == 1)
        CHECK_MSG(strstr(S.warnings[0], "program 'train.py' (and command [") &&
                      strstr(S.warnings[0], "not run: the model block's gbdt is trained natively"),
                  "%s", S.warnings[0]);
    CHECK_EQ_INT(S.n_params, 8);
    CHECK_STR(S.params[0].name, "learning_rate"); /* as written: a results column */
    CHECK_EQ_INT(S.params[0].dist, BT_DIST_LOG_UNIFORM_VALUES);
    CHECK_EQ_INT(S.params[3].dist, BT_DIST_CATEGORICAL);
    CHECK(S.params[3].probs != NULL);
    CHECK_EQ_INT(S.params[4].is_int, 1); /* q written as an integer */
    CHECK_EQ_INT(S.params[5].dist, BT_DIST_LOG_NORMAL);
    CHECK_NEAR(S.params[5].sigma, 1, 0);
    CHECK_EQ_INT(S.params[6].is_int, 0);
    CHECK(strstr(S.dataset.path, "sweeps/../housing.csv") != NULL);
    CHECK_STR(S.dataset.target_name, "MEDV");
    /* sha256 is of the file's bytes */
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (f) {
        fclose(f);
        char cmd[1200], out[80] = "";
        snprintf(cmd, sizeof cmd, "sha256sum '%s' 2>/dev/null", path);
        FILE *p = popen(cmd, "r");
        if (p && fgets(out, sizeof out, p) && strlen(out) >= 64) {
            out[64] = '\0';
            CHECK_STR(S.sha256, out);
        }
        if (p) pclose(p);
    }
}

static void test_missing_file(void) {
    reset();
    CHECK_EQ_INT(bt_spec_load("/nonexistent/sweep.json", &S, &D), BT_STATUS_NO_INPUT);
    CHECK(D.n == 1 && strstr(D.msgs[0], "/nonexistent/sweep.json: cannot open"));
}

static void test_top_level(void) {
    run("{\n"
        "  'method': 'random',\n"
        "  'metirc': {'name': 'rmse'},\n"
        "  'model': {'type': 'gbdt'},\n"
        "  'dataset': {'synthetic': 'friedman1'},\n"
        "  'parameters': {'eta': {'value': 0.1}},\n"
        "  'run_cap': 0,\n"
        "  'seed': -1,\n"
        "  'program': 5\n"
        "}\n");
    EXPECT("3:3: metirc: ", "unknown key 'metirc' (did you mean 'metric'?)");
    EXPECT("7:14: run_cap: ", "must be >= 1");
    EXPECT("8:11: seed: ", "non-negative integer");
    EXPECT("9:14: program: ", "must be a string");
    CHECK_EQ_INT(D.n, 4); /* all collected, nothing else */

    run("{\n  'parameters': {'eta': {'value': 0.1}}\n}");
    EXPECT("1:1: method: ", "missing");
    /* neither model nor program: one message that names both ways (a W&B sweep written for
     * wandb.agent(function=...)), and no second one about the dataset */
    EXPECT("1:1: program: ", "wandb.agent(sweep_id, function=...)");
    CHECK_EQ_INT(D.n, 2);
    run("{\n  'method': 'random',\n  'dataset': {'synthetic': 'friedman1'},\n"
        "  'parameters': {'eta': {'value': 0.1}}\n}");
    EXPECT("1:1: model: ", "missing");
    /* W&B goes on past a top-level key it does not know: a warning, unless it looks misspelt */
    run("{\n  'method': 'random',\n  'RUN': 10,\n  'model': {'type': 'gbdt'},\n"
        "  'dataset': {'synthetic': 'friedman1'},\n  'parameters': {'eta': {'value': 0.1}}\n}");
    CHECK_EQ_INT(D.n, 0);
    CHECK_EQ_INT(ST, BT_STATUS_OK);
    CHECK_EQ_INT(S.n_warnings, 1);
    if (S.n_warnings == 1) CHECK(strstr(S.warnings[0], "3:3: RUN: unknown key, ignored") != NULL);

    run("{\n  'method': 'bayse',\n  'model': {'type': 'gbdt'},\n"
        "  'dataset': {'synthetic': 'friedman1'},\n  'parameters': {'eta': {'value': 0.1}}\n}");
    EXPECT("2:13: method: ", "did you mean 'bayes'?");
    EXPECT("2:13: method: ", "grid, random, bayes and tpe");
    run("{\n  'method': 'tpe',\n  'model': {'type': 'gbdt'},\n"
        "  'dataset': {'synthetic': 'friedman1'},\n  'parameters': {'eta': {'min': 0.01, 'max': "
        "0.3}}\n}");
    CHECK_EQ_INT(D.n, 0);
    run("{\n  'method': 'gird',\n  'model': {'type': 'gbdt'},\n"
        "  'dataset': {'synthetic': 'friedman1'},\n  'parameters': {'eta': {'value': 0.1}}\n}");
    EXPECT("2:13: method: ", "did you mean 'grid'?");
    run("{\n  'method': 'grid',\n  'model': {'type': 'gbdt'},\n"
        "  'dataset': {'synthetic': 'friedman1'},\n  'parameters': {'eta': {'value': 0.1}},\n"
        "  'method': 'random'\n}");
    EXPECT("6:3: method: ", "duplicate key (first given at 2:3)");
}

static void test_params_structure(void) {
    run_params("    'eta': {'valeus': [0.1, 0.2]},\n"
               "    'gamma': {'min': 0.0, 'max': 1.0, 'q': 0.5},\n"
               "    'lambda': {'min': 2.0, 'max': 1.0},\n"
               "    'alpha': {'distribution': 'log_uniform_values', 'min': 0, 'max': 1},\n"
               "    'subsample': {'values': [0.5, 1.0], 'probabilities': [0.5, 0.4]},\n"
               "    'colsample_bytree': {'values': [0.5, 1.0], 'probabilities': [1.0]},\n"
               "    'max_depth': {'distribution': 'int_uniform', 'min': 1.5, 'max': 8},\n"
               "    'min_child_weight': {'distribution': 'gaussian'},\n"
               "    'colsample_bylevel': 0.5,\n"
               "    'max_bin': {'min': 2}");
    EXPECT("6:13: parameters.eta.valeus: ", "did you mean 'values'?");
    EXPECT("7:39: parameters.gamma.q: ", "'q' does not apply to distribution uniform");
    EXPECT("8:35: parameters.lambda.max: ", "must be greater than min");
    EXPECT("9:60: parameters.alpha.min: ", "must be > 0 for log_uniform_values");
    EXPECT("10:58: parameters.subsample.probabilities: ", "must sum to 1");
    EXPECT("11:65: parameters.colsample_bytree.probabilities: ", "has 1 entries but values has 2");
    EXPECT("12:57: parameters.max_depth.min: ", "must be an integer for int_uniform");
    EXPECT("13:42: parameters.min_child_weight.distribution: ",
           "unknown distribution 'gaussian'; see docs/sweep-format.md");
    EXPECT("14:26: parameters.colsample_bylevel: ", "must be an object such as {\"value\": 0.5}");
    EXPECT("15:17: parameters.max_bin.min: ", "min needs max as well");
    CHECK_EQ_INT(ST, BT_STATUS_BAD_INPUT);

    run_params("    'metric': {'value': 1},\n"
               "    'eta': {'value': [1, 2]},\n"
               "    'gamma': {}");
    EXPECT("6:5: parameters.metric: ", "model gbdt has no parameter 'metric'");
    EXPECT("7:22: parameters.eta.value: ", "must be a number, string or boolean");
    EXPECT("8:14: parameters.gamma: ", "needs value, values, min and max, or a distribution");
}

static void test_params_grid(void) {
    run("{\n"
        "  'method': 'grid',\n"
        "  'model': {'type': 'gbdt'},\n"
        "  'dataset': {'synthetic': 'friedman1'},\n"
        "  'parameters': {\n"
        "    'eta': {'distribution': 'uniform', 'min': 0.1, 'max': 0.3},\n"
        "    'max_depth': {'min': 2, 'max': 6}\n"
        "  }\n"
        "}\n");
    EXPECT("6:13: parameters.eta: ",
           "method grid takes value, values, int_uniform, q_uniform (as W&B's grid does) and "
           "q_log_uniform_values, but this is a uniform distribution");
    CHECK(!has_diag("7:", "max_depth")); /* int_uniform: every integer of [2, 6] */
    CHECK_EQ_INT(D.n, 1);

    /* q_log_uniform_values expands into the q steps a draw can take (W&B's grid refuses it) */
    run("{\n  'method': 'grid',\n  'model': {'type': 'gbdt'},\n"
        "  'dataset': {'synthetic': 'friedman1'},\n  'parameters': {\n"
        "    'eta': {'distribution': 'q_log_uniform_values', 'min': 0.01, 'max': 1, 'q': 0.01},\n"
        "    'gamma': {'distribution': 'q_uniform', 'min': 0, 'max': 1, 'q': 0.25},\n"
        "    'max_depth': {'distribution': 'q_uniform', 'min': 1.5, 'max': 6, 'q': 1},\n"
        "    'max_bin': {'distribution': 'int_uniform', 'min': 1, 'max': 4}\n  }\n}\n");
    CHECK(!has_diag("6:", "eta"));
    CHECK(!has_diag("7:", "gamma"));
    /* numpy.arange(1.5, 6, 1) is 1.5, 2.5, ...: not integers */
    EXPECT("8:5: parameters.max_depth: ", "takes integers but q_uniform draws real numbers");
    /* the range check reads the grid's points: 1 is below max_bin's 2 */
    EXPECT("9:55: parameters.max_bin.min: ", "values reach [1, 4] but max_bin must lie in [2, ");
    CHECK_EQ_INT(D.n, 2);
    /* the grid's points, not q's rounding of the bounds: arange(1, 17, 5) = 1, 6, 11, 16 */
    CHECK_OK(run("{'method': 'grid', 'model': {'type': 'gbdt'},"
                 " 'dataset': {'synthetic': 'friedman1'}, 'parameters': {"
                 " 'max_depth': {'distribution': 'q_uniform', 'min': 1, 'max': 17, 'q': 5}}}"));
    if (loaded) CHECK_EQ_INT(S.params[0].grid, 1);

    CHECK_OK(run("{\n  'method': 'grid', 'run_cap': 4,\n  'model': {'type': 'gbdt'},\n"
                 "  'dataset': {'synthetic': 'friedman1'},\n"
                 "  'parameters': {'eta': {'values': [0.1, 0.2, 0.3]},\n"
                 "                 'max_depth': {'values': [2, 4]}}\n}"));
    if (loaded) CHECK_EQ_INT(S.run_cap, 4);
    CHECK_OK(run("{\n  'method': 'grid', 'run_cap': 40,\n  'model': {'type': 'gbdt'},\n"
                 "  'dataset': {'synthetic': 'friedman1'},\n"
                 "  'parameters': {'eta': {'values': [0.1, 0.2, 0.3]},\n"
                 "                 'max_depth': {'values': [2, 4]}}\n}"));
    if (loaded) CHECK_EQ_INT(S.run_cap, 6); /* clamped to the grid */
    CHECK_OK(run("{\n  'method': 'grid',\n  'model': {'type': 'gbdt'},\n"
                 "  'dataset': {'synthetic': 'friedman1'},\n"
                 "  'parameters': {'eta': {'values': [0.1, 0.2, 0.3]}}\n}"));
    if (loaded) CHECK_EQ_INT(S.run_cap, 0);    /* unset: every grid point */
    if (loaded) CHECK_EQ_INT(S.n_warnings, 0); /* no program: nothing to say */
    if (loaded) { /* --run-cap: as if the file said it, at most the grid; the override is kept */
        bt_spec_set_run_cap(&S, 2);
        CHECK(S.run_cap == 2 && S.run_cap_override == 2);
        bt_spec_set_run_cap(&S, 40);
        CHECK(S.run_cap == 3 && S.run_cap_override == 40);
    }
}

static void test_params_model(void) {
    run_params("    'learning_rat': {'value': 0.1},\n"
               "    'max_depth': {'values': [4, 32]},\n"
               "    'objective': {'values': ['reg:squarederror', 'reg:linear']},\n"
               "    'subsample': {'distribution': 'normal', 'mu': 0.8, 'sigma': 0.1},\n"
               "    'min_child_weight': {'distribution': 'uniform', 'min': -1, 'max': 2.5},\n"
               "    'max_bin': {'distribution': 'uniform', 'min': 2, 'max': 64.0},\n"
               "    'eta': {'distribution': 'log_uniform', 'min': 0.001, 'max': 0.5},\n"
               "    'gamma': {'value': 'high'}");
    EXPECT("6:5: parameters.learning_rat: ",
           "model gbdt has no parameter 'learning_rat' (did you mean 'learning_rate'?)");
    EXPECT("7:33: parameters.max_depth.values[1]: ", "max_depth must lie in [1, 16], got 32");
    EXPECT("8:50: parameters.objective.values[1]: ", "objective must be one of");
    EXPECT("9:19: parameters.subsample: ", "distribution normal is unbounded");
    EXPECT("10:60: parameters.min_child_weight.min: ", "values reach [-1, 2.5]");
    EXPECT("11:5: parameters.max_bin: ", "max_bin takes integers but uniform draws real");
    EXPECT("12:65: parameters.eta.max: ", "natural-log exponents");
    EXPECT("13:24: parameters.gamma.value: ", "gamma takes a number, got \"high\"");

    run("{\n  'method': 'random',\n  'model': {'type': 'gbdt', 'eta': 0.2, 'max_dept': 3,\n"
        "            'max_depth': 40},\n"
        "  'dataset': {'synthetic': 'friedman1'},\n"
        "  'parameters': {'learning_rate': {'values': [0.1]},\n"
        "                 'reg_lambda': {'values': [1]}, 'lambda': {'values': [2]}}\n}");
    EXPECT("3:41: model.max_dept: ", "(did you mean 'max_depth'?)");
    EXPECT("4:26: model.max_depth: ", "max_depth must lie in [1, 16], got 40");
    EXPECT("6:18: parameters.learning_rate: ", "also fixed in model (at 3:29)");
    EXPECT("7:49: parameters.lambda: ", "'reg_lambda' and 'lambda' are the same model parameter");

    run("{\n  'method': 'random',\n  'model': {'type': 'xgbost'},\n"
        "  'dataset': {'synthetic': 'friedman1'},\n  'parameters': {'eta': {'value': 0.1}}\n}");
    EXPECT("3:21: model.type: ", "unknown model type 'xgbost' (did you mean 'xgboost'?)");
}

static void test_nested(void) {
    run_params("    'optimizer': {'parameters': {'lr': {'value': 0.1}, 'eta': {'value': 0.2}}},\n"
               "    'booster': {'parameters': {'eta': {'value': 0.3}}, 'x': 1}");
    EXPECT("6:34: parameters.optimizer.lr: ", "model gbdt has no parameter 'optimizer.lr'");
    EXPECT("6:56: parameters.optimizer.eta: ",
           "no parameter 'optimizer.eta' (did you mean 'eta'?)");
    EXPECT("7:56: parameters.booster.x: ", "a nested parameter holds only 'parameters'");
}

static void test_metric(void) {
    const char *fmt = "{\n  'method': 'random',\n  'model': {'type': 'gbdt'%s},\n"
                      "  'dataset': {'synthetic': 'friedman1'},\n"
                      "  'parameters': {'eta': {'value': 0.1}},\n"
                      "  'metric': %s\n}";
    char buf[1024];
    snprintf(buf, sizeof buf, fmt, "", "{'name': 'validation/mse'}");
    CHECK_OK(run(buf));
    if (loaded) {
        CHECK_STR(S.metric, "mse");
        CHECK_STR(S.metric_name, "validation/mse");
        CHECK_EQ_INT(S.maximize, 0);
    }
    snprintf(buf, sizeof buf, fmt, "", "{'name': 'val_loss'}"); /* the task's own loss */
    CHECK_OK(run(buf));
    if (loaded) {
        CHECK_STR(S.metric, "rmse");
        CHECK_STR(S.metric_name, "val_loss");
    }
    snprintf(buf, sizeof buf, fmt, ", 'objective': 'binary:logistic'", "{'name': 'loss'}");
    run(buf); /* (friedman1 disagrees with binary, but the metric itself is fine) */
    CHECK(!has_diag("", "metric.name"));
    snprintf(buf, sizeof buf, fmt, "", "{'name': 'auc', 'goal': 'maximise'}");
    run(buf);
    EXPECT("6:37: metric.goal: ", "did you mean 'maximize'?");
    EXPECT("6:22: metric.name: ", "metric 'auc' does not fit a regression task");
    snprintf(buf, sizeof buf, fmt, "", "{'name': 'val_rmsle'}");
    run(buf);
    EXPECT("6:22: metric.name: ", "cannot compute 'val_rmsle' (did you mean 'rmse'?)");
    snprintf(buf, sizeof buf, fmt, ", 'objective': 'binary:logistic'", "{'name': 'val_accu'}");
    run(buf); /* an accuracy misspelt: accuracy, never auc */
    EXPECT("6:22: metric.name: ", "cannot compute 'val_accu' (did you mean 'accuracy'?)");
    snprintf(buf, sizeof buf, fmt, "", "{'goal': 'minimize', 'nme': 'rmse'}");
    run(buf);
    EXPECT("6:13: metric.name: ", "missing");
    EXPECT("6:34: metric.nme: ", "did you mean 'name'?");

    /* binary objective: default metric logloss; auc without a goal is maximized */
    snprintf(buf, sizeof buf,
             "{\n  'method': 'random',\n  'model': {'type': 'gbdt', 'objective': "
             "'binary:logistic'},\n  'dataset': {'synthetic': 'classification'},\n"
             "  'parameters': {'eta': {'value': 0.1}}%s\n}",
             "");
    CHECK_OK(run(buf));
    if (loaded) {
        CHECK_STR(S.metric, "logloss");
        CHECK_EQ_INT(S.maximize, 0);
    }
    snprintf(buf, sizeof buf, fmt, ", 'objective': 'binary:logistic'", "{'name': 'eval-auc'}");
    run(buf);
    /* friedman1 is regression: the synthetic set disagrees with the objective */
    EXPECT("4:28: dataset.synthetic: ", "regression task but the objective");
    snprintf(buf, sizeof buf,
             "{\n  'method': 'random',\n  'model': {'type': 'gbdt', 'objective': "
             "'multi:softprob'},\n  'dataset': {'synthetic': 'classification', 'classes': 3},\n"
             "  'parameters': {'eta': {'value': 0.1}},\n  'metric': {'name': 'test-accuracy'}\n}");
    CHECK_OK(run(buf));
    if (loaded) {
        CHECK_STR(S.metric, "accuracy");
        CHECK_EQ_INT(S.maximize, 1);
        CHECK_EQ_INT(S.dataset.classes, 3);
    }
    snprintf(buf, sizeof buf, fmt, ", 'objective': 'multi:softprob'", "{'name': 'rmse'}");
    run(buf);
    EXPECT("6:22: metric.name: ", "does not fit a multiclass task");
}

static void test_scheduler(void) {
    const char *fmt = "{\n  'method': 'random',\n  'model': {'type': 'gbdt'},\n"
                      "  'dataset': {'synthetic': 'friedman1'},\n"
                      "  'parameters': {%s},\n"
                      "  %s\n}";
    char buf[1024];
    snprintf(buf, sizeof buf, fmt, "'num_round': {'values': [10, 50]}",
             "'scheduler': {'type': 'asha', 'eta': 4}");
    run(buf);
    EXPECT("5:18: parameters.num_round: ", "is the scheduler's resource");
    snprintf(buf, sizeof buf, fmt, "'num_round': {'values': [10, 50]}",
             "'scheduler': {'type': 'none'}");
    CHECK_OK(run(buf));
    if (loaded) {
        CHECK_EQ_INT(S.sched.kind, BT_SCHED_NONE);
        CHECK_EQ_INT(S.sched.max_resource, 50); /* prefix parameter: the largest value */
    }
    snprintf(buf, sizeof buf, fmt, "'eta': {'value': 0.1}",
             "'scheduler': {'type': 'asha', 'min_resource': 5, 'max_resource': 500},\n"
             "  'execution': {'max_pack': 64}");
    CHECK_OK(run(buf));
    if (loaded) {
        CHECK_EQ_INT(S.sched.kind, BT_SCHED_ASHA);
        CHECK_EQ_INT(S.sched.min_resource, 5);
        CHECK_EQ_INT(S.sched.max_resource, 500);
        CHECK_EQ_INT(S.sched.concurrency, 64);
        CHECK_EQ_INT(S.run_cap, 100);
    }
    snprintf(buf, sizeof buf, fmt, "'eta': {'value': 0.1}", "'scheduler': {'type': 'hyperband'}");
    CHECK_OK(run(buf));
    if (loaded) {
        CHECK_EQ_INT(S.sched.kind, BT_SCHED_HYPERBAND);
        CHECK_EQ_INT(S.run_cap, 0); /* hyperband sizes itself */
    }
    snprintf(buf, sizeof buf, fmt, "'eta': {'value': 0.1}",
             "'scheduler': {'type': 'asha', 'resource': 'max_depth', 'eta': 1},\n"
             "  'early_terminate': {'type': 'hyperband', 'max_iter': 27}");
    run(buf);
    EXPECT("6:3: scheduler: ", "give either early_terminate");
    snprintf(buf, sizeof buf, fmt, "'eta': {'value': 0.1}",
             "'early_terminate': {'type': 'hyperband', 'max_iter': 27, 'et': 3}");
    run(buf);
    EXPECT("6:44: early_terminate.max_iter: ", "max_iter needs s");
    EXPECT("6:60: early_terminate.et: ", "did you mean 'eta'?");
    snprintf(buf, sizeof buf, fmt, "'eta': {'value': 0.1}",
             "'scheduler': {'type': 'ash', 'resource': 'max_depth', 'eta': 1}");
    run(buf);
    EXPECT("6:25: scheduler.type: ", "did you mean 'asha'?");
    EXPECT("6:44: scheduler.resource: ", "budget parameter 'num_round', not 'max_depth'");
    EXPECT("6:64: scheduler.eta: ", "must be > 1");
    snprintf(buf, sizeof buf, fmt, "'eta': {'value': 0.1}",
             "'early_terminate': {'type': 'hyperband', 'max_iter': 27, 's': 2}");
    CHECK_OK(run(buf));
    if (loaded) {
        CHECK_EQ_INT(S.sched.kind, BT_SCHED_WANDB_HYPERBAND);
        CHECK_EQ_INT(S.sched.max_resource, 27);
        CHECK_EQ_INT(S.sched.min_resource, 1);
        CHECK_EQ_INT(S.sched.s, 2);
    }
    /* a single-valued budget parameter is W&B's way to fix the epochs: the largest resource */
    snprintf(buf, sizeof buf, fmt, "'num_boost_round': {'value': 60}",
             "'early_terminate': {'type': 'hyperband', 'min_iter': 3}");
    CHECK_OK(run(buf));
    if (loaded) {
        CHECK_EQ_INT(S.sched.max_resource, 60);
        CHECK_STR(S.params[0].name, "num_boost_round");
    }
    snprintf(buf, sizeof buf, fmt, "'num_round': {'values': [60]}",
             "'scheduler': {'type': 'sha', 'max_resource': 90}");
    run(buf);
    EXPECT("6:48: scheduler.max_resource: ", "90 disagrees with parameters.num_round = 60");
    snprintf(buf, sizeof buf, fmt, "'eta': {'value': 0.1}",
             "'early_terminate': {'type': 'hyperband', 'min_iter': 300}");
    run(buf);
    EXPECT("6:56: early_terminate.min_iter: ", "exceeds the largest resource 100");
}

static void test_dataset_exec(void) {
    const char *fmt = "{\n  'method': 'random',\n  'model': {'type': 'gbdt'},\n"
                      "  'parameters': {'eta': {'value': 0.1}},\n"
                      "  'dataset': %s,\n  'execution': %s\n}";
    char buf[1024];
    snprintf(buf, sizeof buf, fmt, "{'path': 'x.csv', 'synthetic': 'friedman1', 'rows': 10}",
             "{'device': 'gpu', 'max_pack': 0, 'stream': 2}");
    run(buf);
    EXPECT("5:32: dataset.synthetic: ", "exactly one of train, path, synthetic");
    EXPECT("6:27: execution.device: ", "must be \"auto\", \"cpu\"");
    EXPECT("6:46: execution.max_pack: ", "must be >= 1");
    EXPECT("6:49: execution.stream: ", "did you mean 'streams'?");
    snprintf(buf, sizeof buf, fmt,
             "{'path': 'x.csv', 'format': 'csb', 'rows': 10, 'target': [1], "
             "'valid_fraction': 1.5}",
             "{'device': 'cuda:0,1'}");
    run(buf);
    EXPECT("5:42: dataset.format: ", "did you mean 'csv'?");
    EXPECT("5:49: dataset.rows: ", "applies to synthetic datasets only");
    EXPECT("5:71: dataset.target: ", "column name (string) or a column index");
    EXPECT("5:94: dataset.valid_fraction: ", "must lie in (0, 1)");
    snprintf(buf, sizeof buf, fmt, "{'target': 'y'}", "{}");
    run(buf);
    EXPECT("5:14: dataset: ", "needs one of train");
    /* what `run` would refuse is refused here, with its place: more GPUs than a process drives,
     * an id past 65535, a synthetic table past 2^32 cells */
    snprintf(buf, sizeof buf, fmt, "{'synthetic': 'friedman1', 'rows': 2000000000}",
             "{'device': 'cuda:0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16'}");
    run(buf);
    EXPECT("5:49: dataset.rows: ", "more than 4.29e+09 cells");
    EXPECT("6:27: execution.device: ", "at most 16), got");
    snprintf(buf, sizeof buf, fmt, "{'synthetic': 'friedman1'}",
             "{'device': 'cuda:99999999999999999999'}");
    run(buf);
    EXPECT("6:27: execution.device: ", "(ids 0..65535");
    snprintf(buf, sizeof buf, fmt, "{'path': 'data/x.csv', 'target': -1, 'split_seed': 3}",
             "{'device': 'cuda:1', 'threads': 8}");
    CHECK_OK(run(buf));
    if (loaded) {
        CHECK_STR(S.dataset.path, "dir/data/x.csv");
        CHECK_EQ_INT(S.dataset.target_index, -1);
        CHECK_EQ_INT(S.dataset.split_seed, 3);
        CHECK_NEAR(S.dataset.valid_fraction, 0.2, 0);
        CHECK_STR(S.exec.device, "cuda:1");
        CHECK_EQ_INT(S.exec.threads, 8);
    }
}

static void test_more_rules(void) {
    run_params("    'eta': {'value': 0.1, 'values': [0.2]},\n"
               "    'optimizer.lr': {'value': 1},\n"
               "    'optimizer': {'parameters': {'lr': {'value': 2}}},\n"
               "    '9lives': {'value': 1},\n"
               "    'gamma': {'distrbution': 'uniform', 'min': 0, 'max': 1, 'q': 1},\n"
               "    'num_round': {'distribution': 'q_uniform', 'min': 10, 'max': 50, 'q': 1.0},\n"
               "    'lambda': {'value': 1, 'probabilities': [1]}");
    EXPECT("6:27: parameters.eta.values: ", "give either value or values, not both");
    EXPECT("8:34: parameters.optimizer.parameters.lr: ", "'optimizer.lr' is defined twice");
    EXPECT("9:5: parameters.9lives: ", "parameter names start with a letter");
    EXPECT("10:15: parameters.gamma.distrbution: ", "did you mean 'distribution'?");
    EXPECT("12:28: parameters.lambda.probabilities: ", "does not apply to distribution constant");
    /* q_uniform over integral bounds with integral q is integer-valued for num_round; the
     * misspelt key's inferred distribution draws no complaint about 'q' */
    for (int i = 0; i < D.n; i++) {
        CHECK(strstr(D.msgs[i], "num_round") == NULL);
        CHECK(strstr(D.msgs[i], "gamma.q") == NULL);
    }
    EXPECT("7:5: parameters.optimizer.lr: ", "model gbdt has no parameter 'optimizer.lr'");
    CHECK_EQ_INT(D.n, 6);

    run("{\n  'method': 'random', 'command': 'python train.py', 'output': '',\n"
        "  'model': {'objective': 'reg:squarederror'},\n"
        "  'dataset': {'valid': 'v.csv', 'synthetic': 'friedman1', 'classes': 3, 'target': 'y',"
        " 'valid_fraction': 0.1},\n"
        "  'parameters': {'eta': {'value': 0.1}},\n"
        "  'metric': 'rmse',\n"
        "  'scheduler': {'engine': 'optuna'},\n"
        "  'early_terminate': {'type': 'median', 'min_iter': 1}\n"
        "}");
    EXPECT("2:34: command: ", "must be an array");
    EXPECT("2:63: output: ", "must not be empty");
    EXPECT("3:12: model.type: ", "missing");
    EXPECT("4:15: dataset.valid: ", "'valid' goes with train");
    EXPECT("4:59: dataset.classes: ", "friedman1 is a regression set");
    EXPECT("4:73: dataset.target: ", "synthetic datasets have no target column");
    EXPECT("4:88: dataset.valid_fraction: ", "unused when a valid file is given");
    EXPECT("6:13: metric: ", "must be an object");
    EXPECT("7:3: scheduler: ", "give either early_terminate");
    EXPECT("8:31: early_terminate.type: ", "W&B's only early_terminate type is \"hyperband\"");

    run("{\n  'method': 'random', 'model': {'type': 'gbdt'},\n"
        "  'dataset': {'synthetic': 'friedman1'},\n"
        "  'parameters': {'eta': {'value': 0.1}},\n"
        "  'scheduler': {'engine': 'optuna'}\n}");
    EXPECT("5:17: scheduler.engine: ", "W&B's Launch scheduler");

    /* objectives spanning two tasks: the metric must fit both */
    run_params("    'objective': {'values': ['reg:squarederror', 'binary:logistic']}");
    EXPECT("1:1: metric: ", "metric 'rmse' does not fit a binary task");

    /* an integral q (written 1.0) over integral bounds counts as integer for num_round */
    CHECK_OK(run_params("    'num_round': {'distribution': 'q_uniform', 'min': 10, 'max': 50, "
                        "'q': 1.0}"));
    if (loaded) {
        CHECK_EQ_INT(S.params[0].is_int, 1);
        CHECK_EQ_INT(S.sched.max_resource, 50);
    }
}

/* bayes and tpe: one run in flight per 40 trials of the file's run_cap, 1 to 4; 4 where
 * hyperband sizes the sweep; execution.concurrency wins; --run-cap leaves it alone. */
static void test_model_concurrency(void) {
    static const struct {
        const char *method, *extra;
        int64_t want;
    } cases[] = {
        {"bayes", "'run_cap': 40,", 1},
        {"bayes", "'run_cap': 79,", 1},
        {"tpe", "'run_cap': 80,", 2},
        {"bayes", "'run_cap': 159,", 3},
        {"bayes", "'run_cap': 1000,", 4},
        {"bayes", "", 2}, /* run_cap defaults to 100 */
        {"bayes", "'scheduler': {'type': 'hyperband', 'max_resource': 27},", 4},
        {"bayes", "'run_cap': 40, 'execution': {'concurrency': 3},", 3},
        {"random", "'run_cap': 40,", 256},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[1024];
        snprintf(buf, sizeof buf,
                 "{\n  'method': '%s', %s\n  'model': {'type': 'gbdt'},\n"
                 "  'dataset': {'synthetic': 'friedman1'},\n"
                 "  'parameters': {'eta': {'min': 0.01, 'max': 0.3}}\n}\n",
                 cases[i].method, cases[i].extra);
        CHECK_OK(run(buf));
        if (!loaded) continue;
        CHECK_EQ_INT(bt_spec_concurrency(&S), cases[i].want);
        CHECK_EQ_INT(S.sched.concurrency, cases[i].want);
        bt_spec_set_run_cap(&S, 500);
        CHECK_EQ_INT(bt_spec_concurrency(&S), cases[i].want);
    }
}

/* W&B's grid runs each point once: a value listed twice in `values` is one grid point (its first
 * place, its last spelling; 1 and 1.0 meet, true and 1 do not; lists compare as written), said
 * in a warning; random search keeps the list (a repeat weighs the draw, as in W&B). */
static void test_grid_repeats(void) {
    const char *body = "{\n  'program': 'train.py',\n  'method': '%s',\n  'parameters': {\n"
                       "    'a': {'values': [1, 2, 2, 1.0, true]},\n"
                       "    'b': {'values': ['x', 'y', 'x']},\n"
                       "    'c': {'values': [[1, 2], [1, 2], [1, 2.0]]},\n"
                       "    'd': {'values': [0.5, 0.25]}\n  }\n}";
    char text[1024];
    snprintf(text, sizeof text, body, "grid");
    run(text);
    CHECK(loaded);
    if (loaded) {
        CHECK_EQ_INT(S.params[0].n_values, 3);
        CHECK(S.params[0].values[0].kind == BT_VALUE_FLOAT && S.params[0].values[0].f == 1.0);
        CHECK(S.params[0].values[1].kind == BT_VALUE_INT && S.params[0].values[1].i == 2);
        CHECK(S.params[0].values[2].kind == BT_VALUE_BOOL);
        CHECK_EQ_INT(S.params[1].n_values, 2);
        CHECK_EQ_INT(S.params[2].n_values, 2);
        CHECK_EQ_INT(S.params[3].n_values, 2);
        CHECK_EQ_INT(S.n_warnings, 3);
        CHECK(S.n_warnings > 0 && strstr(S.warnings[0], "5:5: parameter a: 2 of its values repeat "
                                                        "an earlier one"));
    }
    snprintf(text, sizeof text, body, "random");
    run(text);
    CHECK(loaded && S.params[0].n_values == 5 && S.n_warnings == 0);
    /* a file that fails still tells what it was warned about: a stray key may be the cause */
    run("{\n  'program': 'train.py',\n  'settings': {'method': 'grid'},\n"
        "  'parameters': {'x': {'values': [1, 2]}}\n}");
    EXPECT("1:1: method: ", "missing");
    CHECK(D.n_warnings == 1 && strstr(D.warnings[0], "3:3: settings: unknown key, ignored"));
    /* nothing to run: one error, none about the values a program would have taken */
    run("{\n  'method': 'grid',\n  'parameters': {'tags': {'value': ['a', 'b']}}\n}");
    EXPECT("1:1: program: ", "wandb.agent(sweep_id, function=...)");
    CHECK_EQ_INT(D.n, 1);
}

/* log_uniform's bounds are exponents: bounds that read as values (0 < min < max <= 1) are
 * almost surely meant as log_uniform_values, and a warning says what they draw. */
static void test_log_uniform_bounds(void) {
    run("{\n  'program': 'train.py',\n  'method': 'random',\n  'parameters': {\n"
        "    'lr': {'distribution': 'log_uniform', 'min': 0.0001, 'max': 0.1},\n"
        "    'wd': {'distribution': 'log_uniform', 'min': -9.2, 'max': -2.3}\n  }\n}");
    CHECK(loaded && S.n_warnings == 1);
    if (loaded && S.n_warnings == 1)
        CHECK_MSG(strstr(S.warnings[0], "5:11: parameters.lr: log_uniform takes natural-log "
                                        "exponents, so min 0.0001 and max 0.1 draw values in "
                                        "[1.0001, 1.10517]; for values between 0.0001 and 0.1 "
                                        "use log_uniform_values"),
                  "%s", S.warnings[0]);
}

int main(void) {
    bt_diags_init(&D);
    test_syntax();
    test_valid_defaults();
    test_wandb_file();
    test_missing_file();
    test_top_level();
    test_params_structure();
    test_params_grid();
    test_params_model();
    test_nested();
    test_metric();
    test_scheduler();
    test_dataset_exec();
    test_more_rules();
    test_model_concurrency();
    test_grid_repeats();
    test_log_uniform_bounds();
    reset();
    return bt_test_finish("test_spec");
}
