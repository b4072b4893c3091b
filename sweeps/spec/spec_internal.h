/* Private to sweeps/spec/spec*.c: the validation context every part of the sweep-file checker
 * shares (file name, positions, diagnostics, the spec being filled, the model family), the small
 * typed accessors that report problems with their JSON path and LINE:COL (spec_read.c), and the
 * entry points of each block's parser.
 * Ownership: the context borrows everything; strings it hands out are malloc'd for the spec. */
#ifndef BT_SPEC_INTERNAL_H
#define BT_SPEC_INTERNAL_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "datasets/dataset.h"
#include "models/model.h"
#include "sweeps/spec/json_locate.h"
#include "sweeps/spec/spec.h"

#define BT_PATH_MAX 512

typedef struct bt_spec_ctx {
    const char *file;
    const char *text;
    const cJSON *root;
    bt_jpos pos;
    bt_diags *diags;
    int n_err;
    bt_spec *spec;
    const bt_model_family *family; /* NULL until the model block names a known family */
    const cJSON *model_obj;        /* the `model` block, or NULL */
    const cJSON *params_obj;       /* the `parameters` block, or NULL */
    const cJSON **param_items;     /* per spec->params entry: its JSON object (for positions) */
    unsigned char *param_bad;      /* per spec->params entry: already reported, skip later checks */
    int cap_params;                /* room in spec->params, param_items and param_bad */
    int task_mask;                 /* bit per bt_task the sweep's objectives can produce */
    int program_values; /* values of every JSON kind, as programs get them: program mode, or a
                           file with nothing to run (already an error; no second one about them) */
} bt_spec_ctx;

/* ---- shared helpers (spec_read.c) ---- */

/* Records "FILE:LINE:COL: path: message" at item `at` (its key when at_key and it has one). */
void bt_spec_err(bt_spec_ctx *c, const cJSON *at, int at_key, const char *path, const char *fmt,
                 ...) __attribute__((format(printf, 5, 6)));

char *bt_spec_strdup(const char *s);
/* parent.key, or key at the top level. */
const char *bt_spec_path(char *buf, const char *parent, const char *key);
/* parent[i]. */
const char *bt_spec_path_index(char *buf, const char *parent, int i);

const cJSON *bt_spec_get(const cJSON *obj, const char *key);
/* "a string", "a number", "an object", ... for messages about a value of the wrong type. */
const char *bt_spec_json_kind(const cJSON *it);
/* Whether a number was written as an integer literal (no '.', no exponent): W&B's Python reads
 * such numbers as int, which decides int_uniform and integer q. */
int bt_spec_is_int_literal(const bt_spec_ctx *c, const cJSON *it);
/* An integer value, exact for integer literals up to int64 and accepting integral floats. */
int bt_spec_int_of(const bt_spec_ctx *c, const cJSON *it, int64_t *out);
/* Per member of obj, in order: the earlier member with the same key, or NULL (a new key). An
 * array the caller frees; NULL, with the error reported at path, when out of memory. */
const cJSON **bt_spec_earlier_keys(bt_spec_ctx *c, const cJSON *obj, const char *path);
/* Reports keys of obj not in allowed (NULL-terminated) with a did-you-mean, and duplicate keys;
 * returns how many keys were unknown. */
int bt_spec_check_keys(bt_spec_ctx *c, const cJSON *obj, const char *path,
                       const char *const *allowed);
/* The same; with ignore_unknown, an unknown key with no close known one is a warning
 * (bt_spec_warn) instead of an error, and still counted. */
int bt_spec_check_keys_ex(bt_spec_ctx *c, const cJSON *obj, const char *path,
                          const char *const *allowed, int ignore_unknown);
/* Adds one warning sentence to s->warnings (copied; lost only when out of memory). */
void bt_spec_warn(bt_spec *s, const char *msg);
/* A warning as bt_spec_err words an error: "FILE:LINE:COL: path: message" at item `at`. */
void bt_spec_warn_at(bt_spec_ctx *c, const cJSON *at, int at_key, const char *path, const char *fmt,
                     ...) __attribute__((format(printf, 5, 6)));

/* Typed readers of obj[key]: return 1 when present and valid (out set), 0 when absent, -1 when
 * present but invalid (error reported). */
int bt_spec_read_string(bt_spec_ctx *c, const cJSON *obj, const char *key, const char *path,
                        char **out);
int bt_spec_read_int(bt_spec_ctx *c, const cJSON *obj, const char *key, const char *path,
                     int64_t lo, int64_t hi, int64_t *out);
int bt_spec_read_number(bt_spec_ctx *c, const cJSON *obj, const char *key, const char *path,
                        double *out);
int bt_spec_read_bool(bt_spec_ctx *c, const cJSON *obj, const char *key, const char *path,
                      int *out);
/* A JSON scalar as a bt_value (string copied, owned by the caller); 0 for arrays, objects, null. */
int bt_spec_value_of(const bt_spec_ctx *c, const cJSON *it, bt_value *out);
/* A list, object or null (a program sweep's value) into out: a string starting with
 * BT_VALUE_JSON_MARK that holds its JSON (spec_jsonval.c), owned like any string value. 1 when
 * taken, 0 when `it` is none of them, -1 when out of memory. */
int bt_spec_json_value(const bt_spec_ctx *c, const cJSON *it, bt_value *out);
/* "3", "0.1", "\"adam\"", "true" for messages. */
const char *bt_spec_value_str(const bt_value *v, char *buf, int n);

/* ---- the blocks ---- */

/* spec_params.c: the `parameters` block into spec->params (W&B rules, flattening). */
void bt_spec_parse_params(bt_spec_ctx *c, const cJSON *params);
/* Method grid: a value listed twice in one parameter's `values` is one grid point, as W&B's grid
 * runs each point once (its first place, its last spelling: 1 and 1.0 are one value, true and 1
 * two); warns about each parameter that had repeats. */
void bt_spec_grid_unique(bt_spec_ctx *c);
/* Smallest and largest value a parameter can take (infinite for unbounded distributions). */
void bt_spec_param_support(const bt_param_spec *p, double *lo, double *hi);
const char *bt_spec_dist_name(bt_dist d);

/* spec_model.c: the `model` block, parameter/model agreement, task, metric. */
void bt_spec_parse_model(bt_spec_ctx *c, const cJSON *model);
void bt_spec_check_params_model(bt_spec_ctx *c);
void bt_spec_parse_metric(bt_spec_ctx *c, const cJSON *metric);
/* Strips validation prefixes ("validation/", "val_", "eval-", ...) and lowercases. */
void bt_spec_metric_normalize(const char *name, char *out, int n);

/* metric_names.c: the canonical metric a normalized name is an alias of on `task` (acc ->
 * accuracy; loss -> task_default, the task's default metric; error -> merror on multiclass; ...),
 * or NULL when it is no alias. */
const char *bt_spec_metric_alias(const char *norm, bt_task task, const char *task_default);
/* The canonical name to suggest for an unknown normalized name, by edit distance among the known
 * (canonical) names and their aliases, or NULL; never auc for a name holding "acc". */
const char *bt_spec_metric_suggest(const char *norm, const char *const *known, bt_task task,
                                   const char *task_default);

/* spec_sched.c: `early_terminate` and `scheduler`. */
void bt_spec_parse_sched(bt_spec_ctx *c, const cJSON *early, const cJSON *sched);

/* spec_program.c: program mode -- `program` and `command` of a sweep without a model block, the
 * metric as the program reports it, scheduler defaults, and the execution keys of program sweeps
 * (refused elsewhere). */
void bt_spec_parse_program(bt_spec_ctx *c, const cJSON *root);
void bt_spec_parse_program_exec(bt_spec_ctx *c, const cJSON *ex);

/* spec_data.c: `dataset` and `execution`. */
void bt_spec_parse_dataset(bt_spec_ctx *c, const cJSON *ds);
void bt_spec_parse_exec(bt_spec_ctx *c, const cJSON *ex);

#endif
