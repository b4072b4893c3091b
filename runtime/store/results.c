/* bt_results: freeing and the names of trial states. Writing and reading the HDF5 file live in
 * results_write.c and results_read.c; the layout is documented in docs/results-format.md. */
#include "runtime/store/results.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *const bt_trial_fixed[BT_TRIAL_NFIXED] = {"trial_id",    "status",   "metric",
                                                     "best_metric", "resource", "bracket",
                                                     "rung",        "device",   "seconds"};

static const char PARAM_PREFIX[] = "param:";
enum { PREFIX_LEN = sizeof PARAM_PREFIX - 1 };

/* name is ("param:")^k followed by a fixed column or "error", k >= 0 */
static int is_reserved(const char *name) {
    while (strncmp(name, PARAM_PREFIX, PREFIX_LEN) == 0) name += PREFIX_LEN;
    for (int f = 0; f < BT_TRIAL_NFIXED; f++)
        if (strcmp(name, bt_trial_fixed[f]) == 0) return 1;
    return strcmp(name, "error") == 0;
}

const char *bt_results_param_column(const char *name, char *buf, size_t n) {
    if (!is_reserved(name)) return name;
    snprintf(buf, n, "%s%s", PARAM_PREFIX, name);
    return buf;
}

const char *bt_results_column_param(const char *col) {
    if (strncmp(col, PARAM_PREFIX, PREFIX_LEN) == 0 && is_reserved(col + PREFIX_LEN))
        return col + PREFIX_LEN;
    return col;
}

static char *dup_or_empty(const char *s, int *failed) {
    char *d = strdup(s ? s : "");
    *failed |= d == NULL;
    return d;
}

bt_status bt_results_describe_sweep(bt_results *r, const bt_spec *spec, const char *command_line) {
    char host[256] = "", created[32];
    gethostname(host, sizeof host - 1);
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    int failed = 0;
    r->batchtune_version = dup_or_empty(BT_VERSION, &failed);
    r->created = dup_or_empty(created, &failed);
    r->host = dup_or_empty(host, &failed);
    r->sweep_text = dup_or_empty(spec->text, &failed);
    r->sweep_sha256 = dup_or_empty(spec->sha256, &failed);
    r->sweep_path = dup_or_empty(spec->path, &failed);
    r->command_line = dup_or_empty(command_line, &failed);
    r->scheduler = dup_or_empty(bt_sched_kind_name(spec->sched.kind), &failed);
    r->seed = spec->seed;
    r->run_cap_override = spec->run_cap_override;
    if (spec->n_warnings > 0 && !failed) {
        r->warnings = calloc((size_t)spec->n_warnings, sizeof *r->warnings);
        failed |= r->warnings == NULL;
        for (int i = 0; r->warnings && i < spec->n_warnings; i++)
            if ((r->warnings[r->n_warnings] = dup_or_empty(spec->warnings[i], &failed)))
                r->n_warnings++;
    }
    if (failed) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory: the results' sweep description");
    return BT_STATUS_OK;
}

bt_value_kind bt_results_column_kind(const bt_param_spec *p) {
    if (p->dist == BT_DIST_CONSTANT || p->dist == BT_DIST_CATEGORICAL) {
        int any_str = 0, any_float = 0, all_bool = p->n_values > 0;
        for (int i = 0; i < p->n_values; i++) {
            any_str |= p->values[i].kind == BT_VALUE_STRING;
            any_float |= p->values[i].kind == BT_VALUE_FLOAT;
            all_bool &= p->values[i].kind == BT_VALUE_BOOL;
        }
        if (any_str) return BT_VALUE_STRING;
        if (any_float) return BT_VALUE_FLOAT;
        return all_bool ? BT_VALUE_BOOL : BT_VALUE_INT;
    }
    return p->is_int ? BT_VALUE_INT : BT_VALUE_FLOAT;
}

/* A trial's configuration value as its results column stores it (an owned copy of strings). */
bt_value bt_results_column_value(bt_value_kind kind, bt_value v) {
    switch (kind) {
    case BT_VALUE_STRING:
        if (v.kind == BT_VALUE_STRING) { /* a list or null: its JSON */
            v.s = strdup(bt_value_json_text(v) ? bt_value_json_text(v) : v.s);
        } else {
            char buf[64];
            if (v.kind == BT_VALUE_FLOAT)
                snprintf(buf, sizeof buf, "%.17g", v.f);
            else
                snprintf(buf, sizeof buf, "%" PRId64, v.i);
            v = bt_value_string(strdup(buf));
        }
        break;
    case BT_VALUE_FLOAT:
        v = bt_value_float(v.f);
        break;
    case BT_VALUE_INT:
        v = bt_value_int(v.kind == BT_VALUE_FLOAT ? llround(v.f) : v.i);
        break;
    case BT_VALUE_BOOL:
        v = bt_value_bool(v.i != 0);
        break;
    default:
        break;
    }
    return v;
}

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
    char **prov[] = {&r->git_commit, &r->train_sha256,   &r->valid_sha256,
                     &r->note,       &r->tags,           &r->cpu_model,
                     &r->gpu_names,  &r->driver_version, &r->cuda_version};
    for (size_t i = 0; i < sizeof prov / sizeof prov[0]; i++) free(*prov[i]);
    for (int j = 0; r->system_cols && j < r->n_system_cols; j++) free(r->system_cols[j]);
    free(r->system_cols);
    free(r->system);
    /* STRING values of the trial rows are owned by the results (results.h), so they go too;
     * the kind of the value, not the column, says whether .s is a string. */
    if (r->trials) {
        for (int64_t t = 0; t < r->n_trials; t++) {
            bt_value *v = r->trials[t].params;
            free(r->trials[t].error);
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
