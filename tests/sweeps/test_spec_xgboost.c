/* XGBoost knobs in a sweep's model block and parameters: the ones batchtune accepts (with their
 * canonical names and types), n_jobs setting execution.threads, eval_metric as a string or a list
 * checked against the family's metrics, and the values it refuses (dart, lossguide) named as
 * unsupported at their place in the file. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/gbdt/gbdt.h"
#include "sweeps/plan.h"
#include "sweeps/spec/spec.h"
#include "tests/bt_test.h"

static bt_spec S;
static bt_diags D;
static int loaded = 0;

/* Parses a sweep whose model block (after type) is `model` on line 3 and whose parameters block
 * is `params` on line 4; ' stands for ". */
static bt_status run(const char *model, const char *params, const char *extra) {
    if (loaded) bt_spec_free(&S);
    bt_diags_free(&D);
    bt_diags_init(&D);
    char buf[4096];
    snprintf(buf, sizeof buf,
             "{\n"
             "  'method': 'random', 'run_cap': 4,\n"
             "  'model': {'type': 'xgboost', 'objective': 'binary:logistic'%s},\n"
             "  'parameters': {'eta': {'min': 0.1, 'max': 0.3}%s},\n"
             "  'dataset': {'synthetic': 'classification'}%s\n"
             "}\n",
             model, params, extra);
    for (char *p = buf; *p; p++)
        if (*p == '\'') *p = '"';
    bt_status st = bt_spec_parse("sweep.json", buf, &S, &D);
    loaded = st == BT_STATUS_OK;
    return st;
}

static int has_diag(const char *where, const char *frag) {
    char pre[64];
    snprintf(pre, sizeof pre, "sweep.json:%s", where);
    for (int i = 0; i < D.n; i++)
        if (strncmp(D.msgs[i], pre, strlen(pre)) == 0 && strstr(D.msgs[i], frag)) return 1;
    for (int i = 0; i < D.n; i++) fprintf(stderr, "    diag: %s\n", D.msgs[i]);
    return 0;
}

static const bt_value *fixed(const char *key) {
    for (int i = 0; i < S.n_model_fixed; i++)
        if (strcmp(S.model_fixed[i].key, key) == 0) return &S.model_fixed[i].value;
    return NULL;
}

static void test_accepted(void) {
    CHECK_OK(run(", 'booster': 'gbtree', 'device': 'cuda', "
                 "'nthread': 3, 'verbosity': 0, 'silent': 1, 'use_label_encoder': false, "
                 "'random_state': 7, 'grow_policy': 'depthwise', 'max_leaves': 0, "
                 "'scale_pos_weight': 2.5, 'early_stopping_rounds': 5, "
                 "'eval_metric': ['logloss', 'auc']",
                 ", 'tree_method': {'values': ['hist', 'exact', 'approx', 'auto']}", ""));
    if (!loaded) return;
    const bt_value *v = fixed("n_jobs"); /* nthread's canonical name */
    CHECK(v && v->kind == BT_VALUE_INT && v->i == 3);
    CHECK_EQ_INT(S.exec.threads, 3); /* n_jobs sets the threads execution does not give */
    v = fixed("silent");
    CHECK(v && v->kind == BT_VALUE_BOOL && v->i == 1);
    v = fixed("seed");
    CHECK(v && v->i == 7);
    v = fixed("eval_metric"); /* a list is kept comma-separated */
    CHECK(v && v->kind == BT_VALUE_STRING && strcmp(v->s, "logloss,auc") == 0);
    v = fixed("scale_pos_weight");
    CHECK(v && v->kind == BT_VALUE_FLOAT && v->f == 2.5);

    /* execution.threads wins over n_jobs; -1 (every core) leaves the default */
    CHECK_OK(run(", 'n_jobs': 3", "", ", 'execution': {'threads': 2}"));
    if (loaded) CHECK_EQ_INT(S.exec.threads, 2);
    CHECK_OK(run(", 'n_jobs': -1, 'eval_metric': 'error'", "", ""));
    if (loaded) CHECK_EQ_INT(S.exec.threads, 0);

    /* a trial's resolved knobs: booster is a shape parameter, the rest plain values */
    CHECK(bt_gbdt_params[BT_GBDT_BOOSTER].shape == 1);
    CHECK_OK(run(", 'eval_metric': ['auc']", ", 'scale_pos_weight': {'values': [1, 3]}", ""));
    if (!loaded) return;
    bt_sweep sw;
    CHECK_OK(bt_sweep_init(&sw, &S));
    bt_value hp[BT_GBDT_N_PARAMS];
    for (int64_t t = 0; t < sw.n_trials; t++) {
        CHECK_OK(bt_sweep_hp(&sw, t, hp));
        CHECK(hp[BT_GBDT_SCALE_POS_WEIGHT].f == 1 || hp[BT_GBDT_SCALE_POS_WEIGHT].f == 3);
        CHECK(strcmp(hp[BT_GBDT_EVAL_METRIC].s, "auc") == 0);
        CHECK(strcmp(hp[BT_GBDT_BOOSTER].s, "gbtree") == 0);
    }
    bt_sweep_free(&sw);
}

static void test_refused(void) {
    CHECK_EQ_INT(run(", 'booster': 'dart'", "", ""), BT_STATUS_BAD_INPUT);
    CHECK(has_diag("3:75: model.booster", "booster \"dart\" is not supported by batchtune"));
    CHECK(has_diag("3:75: model.booster", "supported: gbtree"));
    CHECK_EQ_INT(run("", ", 'grow_policy': {'values': ['depthwise', 'lossguide']}", ""),
                 BT_STATUS_BAD_INPUT);
    CHECK(has_diag("4:91: parameters.grow_policy.values[1]",
                   "grow_policy \"lossguide\" is not supported by batchtune; supported: "
                   "depthwise"));
    CHECK_EQ_INT(run(", 'eval_metric': ['logloss', 'aucc']", "", ""), BT_STATUS_BAD_INPUT);
    CHECK(has_diag("3:79: model.eval_metric", "cannot compute 'aucc' (did you mean 'auc'?)"));
    CHECK_EQ_INT(run(", 'eval_metric': 'rmsle'", "", ""), BT_STATUS_BAD_INPUT);
    CHECK(has_diag("3:79: model.eval_metric", "cannot compute 'rmsle' (did you mean 'rmse'?)"));
    CHECK_EQ_INT(run(", 'eval_metric': ['auc', 3]", "", ""), BT_STATUS_BAD_INPUT);
    CHECK(has_diag("3:87: model.eval_metric", "a list of names"));
    CHECK_EQ_INT(run(", 'tree_method': 'gpu-hist', 'silent': 2", "", ""), BT_STATUS_BAD_INPUT);
    CHECK(has_diag("3:79: model.tree_method", "did you mean 'gpu_hist'?"));
    CHECK(has_diag("3:101: model.silent", "takes true or false"));
    CHECK_EQ_INT(run(", 'scale_pos_weight': -1", "", ""), BT_STATUS_BAD_INPUT);
    CHECK(has_diag("3:84: model.scale_pos_weight", "must lie in [0, inf]"));
}

int main(void) {
    test_accepted();
    test_refused();
    if (loaded) bt_spec_free(&S);
    bt_diags_free(&D);
    return bt_test_finish("test_spec_xgboost");
}
