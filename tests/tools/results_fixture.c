/* bt_results_fixture: writes a results.h5 with known content to the path given on the command
 * line, for tests/py/test_results_h5py.py (which checks it with h5py, pandas and PyTables). With
 * --empty it writes a sweep with parameters but no trials. Exit 0 on success, else the status. */
#include "runtime/store/results.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_str(const char *s) {
    char *d = malloc(strlen(s) + 1);
    if (d) strcpy(d, s);
    return d;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s OUT.h5 [--empty]\n", argv[0]);
        return 2;
    }
    int empty = argc > 2 && strcmp(argv[2], "--empty") == 0;
    bt_results r;
    memset(&r, 0, sizeof r);
    r.batchtune_version = dup_str("0.1.0");
    r.created = dup_str("2026-11-23T15:04:05Z");
    r.sweep_text = dup_str("{\n  \"method\": \"random\",\n  \"metric\": {\"name\": \"mse\"}\n}\n");
    r.sweep_sha256 = dup_str("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    r.sweep_path = dup_str("sweeps/fixture.json");
    r.seed = UINT64_C(18446744073709551557); /* above INT64_MAX: must stay unsigned */
    r.host = dup_str("fixture-host");
    r.command_line = dup_str("batchtune sweeps/fixture.json");
    r.metric_name = dup_str("mse");
    r.maximize = 0;
    r.scheduler = dup_str("hyperband");
    r.model_type = dup_str("gbdt");

    static const char *names[] = {"eta", "max_depth", "booster", "use_gpu", "optimizer.lr"};
    static const bt_value_kind kinds[] = {BT_VALUE_FLOAT, BT_VALUE_INT, BT_VALUE_STRING,
                                          BT_VALUE_BOOL, BT_VALUE_FLOAT};
    r.n_params = 5;
    r.params = calloc(5, sizeof *r.params);
    for (int j = 0; j < 5; j++) {
        r.params[j].name = dup_str(names[j]);
        r.params[j].kind = kinds[j];
    }
    /* trial t: eta 0.1*(t+1), max_depth t+2, booster gbtree/dart, use_gpu t%2, lr 1e-3*t */
    static const bt_trial_status st[] = {BT_TRIAL_COMPLETED, BT_TRIAL_PRUNED, BT_TRIAL_FAILED,
                                         BT_TRIAL_RUNNING};
    r.n_trials = empty ? 0 : 4;
    r.trials = calloc(4, sizeof *r.trials);
    for (int t = 0; t < r.n_trials; t++) {
        bt_trial_row *tr = &r.trials[t];
        tr->trial_id = t;
        tr->status = st[t];
        tr->metric = t == 2 ? NAN : 0.5 + 0.25 * t;
        tr->best_metric = t == 2 ? NAN : 0.25 + 0.25 * t;
        tr->resource = 10 * (t + 1);
        tr->bracket = t % 2;
        tr->rung = t;
        snprintf(tr->device, sizeof tr->device, t % 2 ? "cuda:%d" : "cpu", t);
        tr->seconds = 1.5 * t;
        tr->params = calloc(5, sizeof *tr->params);
        tr->params[0] = bt_value_float(0.1 * (t + 1));
        tr->params[1] = bt_value_int(t + 2);
        tr->params[2] = bt_value_string(dup_str(t % 2 ? "dart" : "gbtree"));
        tr->params[3] = bt_value_bool(t % 2);
        tr->params[4] = bt_value_float(1e-3 * t);
    }
    r.n_metric_names = 2;
    r.metric_names = calloc(2, sizeof *r.metric_names);
    r.metric_names[0] = dup_str("mse");
    r.metric_names[1] = dup_str("train-mse");
    /* history: every trial at resources 1..3, both metrics */
    r.n_history = empty ? 0 : 4 * 3 * 2;
    r.history = calloc(24, sizeof *r.history);
    for (int k = 0; k < r.n_history; k++) {
        bt_history_row *h = &r.history[k];
        h->trial_id = k / 6;
        h->resource = (k / 2) % 3 + 1;
        h->metric = k % 2;
        h->value = 1.0 / (k + 1);
        h->time = 0.01 * k;
    }
    r.n_rungs = empty ? 0 : 2;
    r.rungs = calloc(2, sizeof *r.rungs);
    for (int k = 0; k < r.n_rungs; k++) {
        r.rungs[k].bracket = 0;
        r.rungs[k].rung = 0;
        r.rungs[k].trial = k;
        r.rungs[k].resource = 10;
        r.rungs[k].metric = 0.5 + 0.25 * k;
        r.rungs[k].promoted = k == 0;
    }
    r.best_trial = empty ? -1 : 0;
    if (!empty) {
        r.best_model = dup_str("{\"learner\": {}}");
        r.best_model_len = strlen(r.best_model);
        r.best_model_format = dup_str("xgboost-json");
    }
    bt_status s = bt_results_write(&r, argv[1]);
    if (s != BT_STATUS_OK) fprintf(stderr, "%s: %s\n", argv[1], bt_status_message());
    bt_results_free(&r);
    return (int)s;
}
