/* metric.name as people write it: every common spelling of what a model computes (accuracy, the
 * task's loss, error, f1, precision, recall, with validation prefixes) on every task and family
 * normalizes to the one canonical name, with its direction; the spelling stays in metric_name;
 * unknown names get suggestions among canonical names and aliases, never auc for an accuracy. */
#include <stdio.h>
#include <string.h>

#include "sweeps/spec/spec.h"
#include "tests/bt_test.h"

/* the sweeps' model and dataset per case */
enum { GBDT_REG, GBDT_BIN, GBDT_MULTI, MLP_MULTI, MLP_REG, N_SETUPS };
static const char *const setups[N_SETUPS] = {
    "'model': {'type': 'gbdt'}, 'dataset': {'synthetic': 'friedman1'}",
    "'model': {'type': 'gbdt', 'objective': 'binary:logistic'}, "
    "'dataset': {'synthetic': 'classification'}",
    "'model': {'type': 'xgboost', 'objective': 'multi:softprob'}, "
    "'dataset': {'synthetic': 'classification', 'classes': 3}",
    "'model': {'type': 'mlp'}, 'dataset': {'synthetic': 'classification', 'classes': 3}",
    "'model': {'type': 'mlp', 'objective': 'regression'}, 'dataset': {'synthetic': 'friedman1'}",
};

static bt_spec S;
static bt_diags D;
static int loaded;

static bt_status parse(int setup, const char *name) {
    if (loaded) bt_spec_free(&S);
    bt_diags_free(&D);
    bt_diags_init(&D);
    char text[1024];
    snprintf(text, sizeof text,
             "{'method': 'random', %s, 'parameters': {'seed': {'value': 1}}, "
             "'metric': {'name': '%s'}}",
             setups[setup], name);
    for (char *p = text; *p; p++)
        if (*p == '\'') *p = '"';
    bt_status st = bt_spec_parse("m.json", text, &S, &D);
    loaded = st == BT_STATUS_OK;
    return st;
}

static int diag_has(const char *frag) {
    for (int i = 0; i < D.n; i++)
        if (strstr(D.msgs[i], frag)) return 1;
    return 0;
}

/* name on setup is canonical, maximized or not */
static void expect(int setup, const char *name, const char *canonical, int maximize) {
    bt_status st = parse(setup, name);
    CHECK_MSG(st == BT_STATUS_OK, "setup %d, '%s': %s", setup, name, D.n ? D.msgs[0] : "?");
    if (!loaded) return;
    CHECK_MSG(strcmp(S.metric, canonical) == 0, "setup %d, '%s' -> '%s', want '%s'", setup, name,
              S.metric, canonical);
    CHECK_STR(S.metric_name, name); /* the spelling as written */
    CHECK_MSG(S.maximize == maximize, "setup %d, '%s': maximize %d", setup, name, S.maximize);
}

/* name on setup is an error whose message holds frag (and never offers auc) */
static void refuse(int setup, const char *name, const char *frag) {
    CHECK_MSG(parse(setup, name) == BT_STATUS_BAD_INPUT, "setup %d, '%s' accepted", setup, name);
    CHECK_MSG(diag_has(frag), "setup %d, '%s': no '%s' in %s", setup, name, frag,
              D.n ? D.msgs[0] : "nothing");
    CHECK_MSG(!diag_has("'auc'") || strstr(frag, "auc"), "setup %d, '%s': %s", setup, name,
              D.msgs[0]);
}

static const char *const accuracy[] = {"acc",
                                       "accuracy",
                                       "val_acc",
                                       "val_accuracy",
                                       "valid_acc",
                                       "validation/accuracy",
                                       "val/acc",
                                       "eval/acc",
                                       "Val_Acc",
                                       "test_acc",
                                       "validation_0-accuracy",
                                       NULL};
static const char *const losses[] = {"loss",      "val_loss", "validation/loss",
                                     "eval/loss", "val/loss", NULL};

static void test_accuracy(void) {
    for (int i = 0; accuracy[i]; i++) {
        expect(GBDT_BIN, accuracy[i], "accuracy", 1);
        expect(GBDT_MULTI, accuracy[i], "accuracy", 1);
        expect(MLP_MULTI, accuracy[i], "accuracy", 1);
        refuse(GBDT_REG, accuracy[i], "metric 'accuracy' does not fit a regression task");
        refuse(MLP_REG, accuracy[i], "metric 'accuracy' does not fit a regression task");
    }
}

static void test_loss_error(void) {
    for (int i = 0; losses[i]; i++) {
        expect(GBDT_REG, losses[i], "rmse", 0);
        expect(GBDT_BIN, losses[i], "logloss", 0);
        expect(GBDT_MULTI, losses[i], "mlogloss", 0);
        expect(MLP_MULTI, losses[i], "mlogloss", 0);
        expect(MLP_REG, losses[i], "rmse", 0);
    }
    static const char *const logloss[] = {"logloss", "val_log_loss", "cross_entropy",
                                          "validation/nll", NULL};
    for (int i = 0; logloss[i]; i++) {
        expect(GBDT_BIN, logloss[i], "logloss", 0);
        expect(GBDT_MULTI, logloss[i], "mlogloss", 0);
        expect(MLP_MULTI, logloss[i], "mlogloss", 0);
    }
    static const char *const error[] = {"error", "val_error", "err", "valid/error", NULL};
    for (int i = 0; error[i]; i++) {
        expect(GBDT_BIN, error[i], "error", 0);
        expect(GBDT_MULTI, error[i], "merror", 0);
        expect(MLP_MULTI, error[i], "merror", 0);
        refuse(GBDT_REG, error[i], "does not fit a regression task");
    }
    /* the canonical names stay themselves */
    expect(GBDT_MULTI, "merror", "merror", 0);
    expect(GBDT_BIN, "auc", "auc", 1);
    expect(GBDT_BIN, "val_roc_auc", "auc", 1);
    expect(GBDT_REG, "val_mean_squared_error", "mse", 0);
    expect(GBDT_REG, "validation/mae", "mae", 0);
}

static void test_f1_family(void) {
    static const struct {
        const char *name, *canonical;
    } cases[] = {{"f1", "f1"},
                 {"val_f1", "f1"},
                 {"val/f1", "f1"},
                 {"validation/f1", "f1"},
                 {"f1_score", "f1"},
                 {"eval/f1score", "f1"},
                 {"precision", "precision"},
                 {"val_precision", "precision"},
                 {"prec", "precision"},
                 {"recall", "recall"},
                 {"valid_recall", "recall"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect(GBDT_BIN, cases[i].name, cases[i].canonical, 1);
        expect(GBDT_MULTI, cases[i].name, cases[i].canonical, 1);
        expect(MLP_MULTI, cases[i].name, cases[i].canonical, 1);
        refuse(GBDT_REG, cases[i].name, "does not fit a regression task");
        refuse(MLP_REG, cases[i].name, "does not fit a regression task");
    }
    /* a goal still decides */
    parse(GBDT_BIN, "f1");
    if (loaded) CHECK_EQ_INT(S.maximize, 1);
}

static void test_suggestions(void) {
    /* misspelt accuracies: accuracy, never auc */
    static const char *const acc[] = {
        "val_accu", "accuarcy", "val_acuracy", "ac", "accc", "validation/accurracy", NULL};
    for (int i = 0; acc[i]; i++) {
        refuse(GBDT_BIN, acc[i], "(did you mean 'accuracy'?)");
        refuse(MLP_MULTI, acc[i], "(did you mean 'accuracy'?)");
    }
    refuse(GBDT_BIN, "val_f1s", "(did you mean 'f1'?)");
    refuse(GBDT_MULTI, "precison", "(did you mean 'precision'?)");
    refuse(MLP_MULTI, "val_recal", "(did you mean 'recall'?)");
    refuse(GBDT_BIN, "aux", "(did you mean 'auc'?)");
    refuse(GBDT_REG, "val_rmsle", "(did you mean 'rmse'?)");
    /* an alias of a name the task has is suggested as the name it stands for */
    refuse(GBDT_BIN, "logg_loss", "(did you mean 'logloss'?)");
    refuse(GBDT_MULTI, "crossentropyy", "(did you mean 'mlogloss'?)");
    /* training-set names say what batchtune measures */
    refuse(GBDT_BIN, "train_loss", "batchtune measures its metrics on the validation set");
    refuse(MLP_MULTI, "training/acc", "batchtune measures its metrics on the validation set");
    refuse(GBDT_REG, "perplexity", "it reports rmse, mse, mae");
}

int main(void) {
    test_accuracy();
    test_loss_error();
    test_f1_family();
    test_suggestions();
    if (loaded) bt_spec_free(&S);
    bt_diags_free(&D);
    return bt_test_finish("test_spec_metric");
}
