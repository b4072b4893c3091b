/* bt_results: freeing and the names of trial states. Writing and reading the HDF5 file live in
 * results_write.c and results_read.c; the layout is documented in docs/results-format.md. */
#include "runtime/store/results.h"

#include <stdlib.h>
#include <string.h>

void bt_results_free(bt_results *r) {
    if (!r) return;
    free(r->batchtune_version);
    free(r->created);
    free(r->sweep_text);
    free(r->sweep_sha256);
    free(r->sweep_path);
    free(r->host);
    free(r->command_line);
    free(r->metric_name);
    free(r->metric_as_written);
    for (int j = 0; r->warnings && j < r->n_warnings; j++) free(r->warnings[j]);
    free(r->warnings);
    free(r->scheduler);
    free(r->model_type);
    free(r->device);
    /* STRING values of the trial rows are owned by the results (results.h), so they go too;
     * the kind of the value, not the column, says whether .s is a string. */
    if (r->trials) {
        for (int64_t t = 0; t < r->n_trials; t++) {
            bt_value *v = r->trials[t].params;
            if (!v) continue;
            for (int j = 0; j < r->n_params; j++)
                if (v[j].kind == BT_VALUE_STRING) free((char *)v[j].s);
            free(v);
        }
    }
    free(r->trials);
    if (r->params)
        for (int j = 0; j < r->n_params; j++) free(r->params[j].name);
    free(r->params);
    if (r->metric_names)
        for (int j = 0; j < r->n_metric_names; j++) free(r->metric_names[j]);
    free(r->metric_names);
    free(r->history);
    free(r->rungs);
    free(r->best_model);
    free(r->best_model_format);
    memset(r, 0, sizeof *r);
    r->best_trial = -1;
}

const char *bt_trial_status_name(bt_trial_status s) {
    switch (s) {
    case BT_TRIAL_PENDING:
        return "pending";
    case BT_TRIAL_RUNNING:
        return "running";
    case BT_TRIAL_COMPLETED:
        return "completed";
    case BT_TRIAL_PRUNED:
        return "pruned";
    case BT_TRIAL_FAILED:
        return "failed";
    }
    return "unknown";
}

bt_status bt_trial_status_parse(const char *name, bt_trial_status *out) {
    static const bt_trial_status all[] = {BT_TRIAL_PENDING, BT_TRIAL_RUNNING, BT_TRIAL_COMPLETED,
                                          BT_TRIAL_PRUNED, BT_TRIAL_FAILED};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(name, bt_trial_status_name(all[i])) == 0) {
            *out = all[i];
            return BT_STATUS_OK;
        }
    }
    return BT_FAIL(BT_STATUS_BAD_INPUT, "unknown trial status \"%s\"", name);
}
