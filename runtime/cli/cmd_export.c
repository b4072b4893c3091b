/* `batchtune export RESULTS.h5 --trial ID -o FILE`: writes a trial's model. The best trial's model
 * is stored in the results; any other trial is retrained from the sweep recorded in the file
 * (deterministic, so it is the same model the sweep trained). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cli/cli.h"
#include "runtime/store/results.h"
#include "sweeps/spec/spec.h"
#include "runtime/exec/sweep_data.h"
#include "sweeps/plan.h"
#include "runtime/store/wopen.h"

static const char help[] =
    "usage: batchtune export RESULTS.h5 --trial ID [--format xgboost-json] -o FILE\n"
    "\n"
    "Writes the trial's trained model. gbdt models use XGBoost's JSON format:\n"
    "xgboost.Booster(model_file=FILE) loads them. The best trial's model is read from the\n"
    "results; another trial is retrained from the sweep recorded there (its data must still be\n"
    "where the sweep says).\n\n";

static bt_status write_file(const char *path, const char *data, size_t len) {
    FILE *f = strcmp(path, "-") == 0 ? stdout : bt_wfopen(path, "w");
    if (!f) return BT_FAIL(BT_STATUS_IO, "%s: %s", path, bt_wopen_error(errno));
    size_t w = fwrite(data, 1, len, f);
    int bad = w != len || (f != stdout ? fclose(f) != 0 : fflush(f) != 0);
    if (bad) return BT_FAIL(BT_STATUS_IO, "%s: write failed", path);
    return BT_STATUS_OK;
}

static bt_status retrain(const bt_results *r, int64_t trial, const char *format, char **out,
                         size_t *len) {
    /* Refuse before parsing and loading the data, which may be large or gone. */
    int64_t resource = -1;
    const bt_value *config = NULL;
    for (int64_t i = 0; i < r->n_trials; i++)
        if (r->trials[i].trial_id == trial) {
            resource = r->trials[i].resource;
            config = r->trials[i].params;
        }
    if (resource <= 0) return BT_FAIL(BT_STATUS_USAGE, "trial %" PRId64 " never trained", trial);
    bt_spec spec;
    bt_diags d;
    bt_diags_init(&d);
    bt_status st = bt_spec_parse(r->sweep_path, r->sweep_text, &spec, &d);
    bt_diags_free(&d);
    if (st != BT_STATUS_OK)
        return BT_FAIL(st, "the sweep recorded in the results no longer parses");
    spec.seed = r->seed;
    if (r->run_cap_override > 0) bt_spec_set_run_cap(&spec, r->run_cap_override);
    bt_sweep sw;
    st = bt_sweep_init(&sw, &spec);
    /* bayes/tpe proposed it from the sweep's reports: take its configuration from the results */
    if (st == BT_STATUS_OK && sw.lazy) {
        if (r->n_params != spec.n_params)
            st = BT_FAIL(BT_STATUS_BAD_INPUT, "the results' parameters do not match the sweep");
        else
            st = bt_sweep_set_config(&sw, trial, config);
    }
    if (st == BT_STATUS_OK)
        st = bt_sweep_load_data(&sw, spec.exec.threads > 0 ? spec.exec.threads : 1);
    if (st == BT_STATUS_OK)
        st = bt_sweep_train_export(&sw, trial, resource, format, out, len, NULL);
    bt_sweep_free(&sw);
    bt_spec_free(&spec);
    return st;
}

int bt_cmd_export(int argc, char **argv) {
    const char *path = NULL, *format = "xgboost-json", *out = NULL;
    long long trial = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (bt_cli_is_help(a)) {
            fputs(help, stdout);
            fputs(bt_cli_exit_codes, stdout);
            return 0;
        } else if (strcmp(a, "--trial") == 0 && more) {
            char *end;
            trial = strtoll(argv[++i], &end, 10);
            if (*end || trial < 0) {
                fprintf(stderr, "batchtune export: --trial takes a trial id\n");
                return BT_STATUS_USAGE;
            }
        } else if (strcmp(a, "--format") == 0 && more)
            format = argv[++i];
        else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && more)
            out = argv[++i];
        else if (a[0] == '-' || path) {
            fprintf(stderr, "batchtune export: unexpected '%s'\n%s", a, help);
            return BT_STATUS_USAGE;
        } else
            path = a;
    }
    if (!path || !out) {
        fputs(help, stderr);
        return BT_STATUS_USAGE;
    }
    if (strcmp(format, "xgboost-json") != 0) {
        fprintf(stderr, "batchtune export: --format xgboost-json is the one format so far\n");
        return BT_STATUS_USAGE;
    }
    bt_results r;
    bt_status st = bt_results_read(path, &r);
    if (st != BT_STATUS_OK) return bt_cli_error(st);
    if (trial < 0) trial = r.best_trial;
    if (trial < 0) {
        bt_results_free(&r);
        fprintf(stderr, "batchtune export: the results have no best trial yet; give --trial\n");
        return BT_STATUS_USAGE;
    }
    if (trial == r.best_trial && r.best_model && r.best_model_format &&
        strcmp(r.best_model_format, format) == 0) {
        st = write_file(out, r.best_model, r.best_model_len);
    } else {
        char *model = NULL;
        size_t len = 0;
        st = retrain(&r, trial, format, &model, &len);
        if (st == BT_STATUS_OK) st = write_file(out, model, len);
        free(model);
    }
    bt_results_free(&r);
    if (st != BT_STATUS_OK) return bt_cli_error(st);
    fprintf(stderr, "wrote trial %lld's model to %s\n", trial, out);
    return 0;
}
