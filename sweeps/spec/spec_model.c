/* Where the sweep meets the model family: the `model` block (family and fixed parameters, with
 * canonical names), every swept parameter checked against the family's parameter table (names,
 * aliases, types, ranges, choices), the learning task, and the metric (normalized, known to the
 * family, fitting the task). Vtable entries a family leaves NULL fall back to simple rules. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweeps/spec/didyoumean.h"
#include "sweeps/spec/spec_internal.h"

/* ---- names ---------------------------------------------------------------------------------- */

/* Canonical names and aliases of the family's parameters, NULL-terminated; caller frees. */
static const char **param_names(const bt_model_family *family, const char *extra) {
    int n = 0;
    const char **names = malloc(sizeof *names * (size_t)(family->n_params * 5 + 2));
    if (!names) return NULL;
    for (int p = 0; p < family->n_params; p++) {
        names[n++] = family->params[p].name;
        for (int a = 0; a < 4 && family->params[p].aliases[a]; a++)
            names[n++] = family->params[p].aliases[a];
    }
    if (extra) names[n++] = extra;
    names[n] = NULL;
    return names;
}

static void unknown_param(bt_spec_ctx *c, const cJSON *at, const char *path, const char *name) {
    const char **names = param_names(c->family, NULL);
    const char *dym = names ? bt_didyoumean(name, names, -1) : NULL;
    /* "optimizer.lr" style names: suggest on the last component too. */
    const char *dot = strrchr(name, '.');
    if (!dym && dot && names) dym = bt_didyoumean(dot + 1, names, -1);
    if (dym)
        bt_spec_err(c, at, 1, path, "model %s has no parameter '%s' (did you mean '%s'?)",
                    c->family->name, name, dym);
    else
        bt_spec_err(c, at, 1, path,
                    "model %s has no parameter '%s'; docs/sweep-format.md lists them",
                    c->family->name, name);
    free(names);
}

static void fmt_num(char *buf, size_t n, double x) {
    if (isinf(x))
        snprintf(buf, n, "%sinf", x < 0 ? "-" : "");
    else
        snprintf(buf, n, "%g", x);
}

/* A list parameter (mp->list): every comma-separated name is a metric of the family. */
static int check_metric_list(bt_spec_ctx *c, const char *list, const cJSON *at, const char *path) {
    const char *const *known = c->family->metrics;
    char name[128];
    for (const char *q = list; *q;) {
        size_t len = strcspn(q, ",");
        snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), q);
        q += len + (q[len] == ',');
        int ok = 0;
        for (int i = 0; known && known[i] && !ok; i++) ok = strcmp(known[i], name) == 0;
        if (ok) continue;
        const char *dym = known ? bt_didyoumean(name, known, -1) : NULL;
        char names[256] = "";
        for (int i = 0; known && known[i]; i++) {
            size_t n = strlen(names);
            snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "", known[i]);
        }
        if (dym)
            bt_spec_err(c, at, 0, path, "model %s cannot compute '%s' (did you mean '%s'?)",
                        c->family->name, name, dym);
        else
            bt_spec_err(c, at, 0, path, "model %s cannot compute '%s'; it reports %s",
                        c->family->name, name, names);
        return 0;
    }
    return 1;
}

/* Checks one value against a model parameter and converts it to the parameter's type (ints for
 * floats, integral floats for ints, 0 and 1 for booleans). Returns 1 when fine. */
static int check_value(bt_spec_ctx *c, const bt_model_param *mp, bt_value *v, const cJSON *at,
                       const char *path) {
    char vs[128], lo[32], hi[32];
    bt_spec_value_str(v, vs, sizeof vs);
    switch (mp->type) {
    case BT_PTYPE_STRING: {
        if (v->kind != BT_VALUE_STRING) {
            bt_spec_err(c, at, 0, path, "%s takes a string, got %s", mp->name, vs);
            return 0;
        }
        if (mp->list) return check_metric_list(c, v->s, at, path);
        if (!mp->choices) {
            const char *want = mp->syntax ? mp->syntax(v->s) : NULL;
            if (want) bt_spec_err(c, at, 0, path, "%s %s: %s", mp->name, vs, want);
            return want == NULL;
        }
        for (int i = 0; mp->choices[i]; i++)
            if (strcmp(mp->choices[i], v->s) == 0) return 1;
        char list[512] = "";
        for (int i = 0; mp->choices[i]; i++) {
            size_t len = strlen(list);
            snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", mp->choices[i]);
        }
        const char *dym = bt_didyoumean(v->s, mp->choices, -1);
        int known = 0;
        for (int i = 0; mp->unsupported && mp->unsupported[i] && !known; i++)
            known = strcmp(mp->unsupported[i], v->s) == 0;
        if (known)
            bt_spec_err(c, at, 0, path, "%s %s is not supported by batchtune; supported: %s",
                        mp->name, vs, list);
        else if (dym)
            bt_spec_err(c, at, 0, path, "%s must be one of %s, got %s (did you mean '%s'?)",
                        mp->name, list, vs, dym);
        else
            bt_spec_err(c, at, 0, path, "%s must be one of %s, got %s", mp->name, list, vs);
        return 0;
    }
    case BT_PTYPE_BOOL:
        if (v->kind == BT_VALUE_INT && (v->i == 0 || v->i == 1)) *v = bt_value_bool((int)v->i);
        if (v->kind != BT_VALUE_BOOL) {
            bt_spec_err(c, at, 0, path, "%s takes true or false, got %s", mp->name, vs);
            return 0;
        }
        return 1;
    case BT_PTYPE_INT:
        if (v->kind == BT_VALUE_FLOAT && v->f == floor(v->f) && fabs(v->f) < 9e15)
            *v = bt_value_int((int64_t)v->f);
        if (v->kind != BT_VALUE_INT) {
            bt_spec_err(c, at, 0, path, "%s takes an integer, got %s", mp->name, vs);
            return 0;
        }
        break;
    case BT_PTYPE_FLOAT:
        if (v->kind == BT_VALUE_INT) *v = bt_value_float((double)v->i);
        if (v->kind != BT_VALUE_FLOAT) {
            bt_spec_err(c, at, 0, path, "%s takes a number, got %s", mp->name, vs);
            return 0;
        }
        break;
    }
    if (!(v->f >= mp->min && v->f <= mp->max)) {
        fmt_num(lo, sizeof lo, mp->min);
        fmt_num(hi, sizeof hi, mp->max);
        bt_spec_err(c, at, 0, path, "%s must lie in [%s, %s], got %s", mp->name, lo, hi, vs);
        return 0;
    }
    return 1;
}

/* ---- the model block ------------------------------------------------------------------------ */

static bt_kv *add_fixed(bt_spec *s) {
    bt_kv *kv = realloc(s->model_fixed, (size_t)(s->n_model_fixed + 1) * sizeof *kv);
    if (!kv) return NULL;
    s->model_fixed = kv;
    memset(&kv[s->n_model_fixed], 0, sizeof *kv);
    return &kv[s->n_model_fixed++];
}

/* A list parameter given as an array of strings: one comma-separated string. */
static int join_strings(bt_spec_ctx *c, const cJSON *arr, const char *path, bt_value *out) {
    size_t n = 1;
    for (const cJSON *e = arr->child; e; e = e->next) {
        if (!cJSON_IsString(e) || !e->valuestring[0] || strchr(e->valuestring, ',')) {
            bt_spec_err(c, e, 0, path, "must be a name or a list of names (strings)");
            return 0;
        }
        n += strlen(e->valuestring) + 1;
    }
    char *s = malloc(n);
    if (!s) return 0;
    s[0] = '\0';
    for (const cJSON *e = arr->child; e; e = e->next) {
        if (s[0]) strcat(s, ",");
        strcat(s, e->valuestring);
    }
    *out = bt_value_string(s);
    return 1;
}

void bt_spec_parse_model(bt_spec_ctx *c, const cJSON *model) {
    c->model_obj = model;
    if (!cJSON_IsObject(model)) {
        bt_spec_err(c, model, 0, "model", "must be an object such as {\"type\": \"gbdt\"}");
        return;
    }
    const cJSON *type = bt_spec_get(model, "type");
    if (!type) {
        bt_spec_err(c, model, 0, "model.type", "missing; name the model family (e.g. \"gbdt\")");
        return;
    }
    if (!cJSON_IsString(type)) {
        bt_spec_err(c, type, 0, "model.type", "must be a string such as \"gbdt\"");
        return;
    }
    c->family = bt_model_find(type->valuestring);
    if (!c->family) {
        const char *names[64];
        int n = 0;
        char list[256] = "";
        for (const bt_model_family *const *m = bt_model_all(); *m && n < 60; m++) {
            names[n++] = (*m)->name;
            size_t len = strlen(list);
            snprintf(list + len, sizeof list - len, "%s%s", len ? ", " : "", (*m)->name);
            for (int a = 0; (*m)->aliases && (*m)->aliases[a] && n < 60; a++)
                names[n++] = (*m)->aliases[a];
        }
        names[n] = NULL;
        const char *dym = bt_didyoumean(type->valuestring, names, -1);
        if (dym)
            bt_spec_err(c, type, 0, "model.type", "unknown model type '%s' (did you mean '%s'?)",
                        type->valuestring, dym);
        else
            bt_spec_err(c, type, 0, "model.type", "unknown model type '%s'; known: %s",
                        type->valuestring, list);
        return;
    }
    c->spec->model_type = bt_spec_strdup(c->family->name);

    char path[BT_PATH_MAX];
    const cJSON **earlier = bt_spec_earlier_keys(c, model, "model");
    if (!earlier) return;
    size_t at = 0;
    for (const cJSON *k = model->child; k; k = k->next, at++) {
        bt_spec_path(path, "model", k->string);
        if (earlier[at]) {
            bt_spec_err(c, k, 1, path, "duplicate key");
            continue;
        }
        if (strcmp(k->string, "type") == 0) continue;
        int pi = bt_model_param_index(c->family, k->string);
        if (pi < 0) {
            unknown_param(c, k, path, k->string);
            continue;
        }
        const bt_model_param *mp = &c->family->params[pi];
        for (int i = 0; i < c->spec->n_model_fixed; i++)
            if (strcmp(c->spec->model_fixed[i].key, mp->name) == 0) {
                bt_spec_err(c, k, 1, path, "'%s' is set twice (as '%s' and '%s')", mp->name,
                            k->string, mp->name);
                goto next;
            }
        bt_value v;
        if (mp->list && cJSON_IsArray(k)) {
            if (!join_strings(c, k, path, &v)) continue;
        } else if (!bt_spec_value_of(c, k, &v)) {
            bt_spec_err(c, k, 0, path,
                        "a fixed model parameter must be a number, string or boolean; to sweep "
                        "it, move it to parameters");
            continue;
        }
        if (!check_value(c, mp, &v, k, path)) {
            if (v.kind == BT_VALUE_STRING) free((char *)v.s);
            continue;
        }
        bt_kv *kv = add_fixed(c->spec);
        if (!kv) {
            if (v.kind == BT_VALUE_STRING) free((char *)v.s);
            break;
        }
        kv->key = bt_spec_strdup(mp->name);
        kv->value = v;
        bt_jpos_item(&c->pos, k, 1, &kv->line, &kv->col);
    next:;
    }
    free(earlier);
}

/* ---- parameters against the model ---------------------------------------------------------- */

static int fixed_index(const bt_spec *s, const char *canonical) {
    for (int i = 0; i < s->n_model_fixed; i++)
        if (strcmp(s->model_fixed[i].key, canonical) == 0) return i;
    return -1;
}

void bt_spec_check_params_model(bt_spec_ctx *c) {
    bt_spec *s = c->spec;
    const bt_model_family *family = c->family;
    int *owner = malloc(sizeof(int) * (size_t)(family->n_params > 0 ? family->n_params : 1));
    if (!owner) return;
    for (int i = 0; i < family->n_params; i++) owner[i] = -1;
    char path[BT_PATH_MAX], ip[BT_PATH_MAX], vpath[BT_PATH_MAX], lo_s[32], hi_s[32], plo[32],
        phi[32];
    for (int i = 0; i < s->n_params; i++) {
        bt_param_spec *p = &s->params[i];
        const cJSON *item = c->param_items[i];
        if (c->param_bad[i]) continue;
        snprintf(path, sizeof path, "parameters.%s", p->name);
        int pi = bt_model_param_index(family, p->name);
        if (pi < 0) {
            unknown_param(c, item, path, p->name);
            continue;
        }
        const bt_model_param *mp = &family->params[pi];
        if (owner[pi] >= 0) {
            bt_spec_err(c, item, 1, path, "'%s' and '%s' are the same model parameter (%s)",
                        s->params[owner[pi]].name, p->name, mp->name);
            continue;
        }
        owner[pi] = i;
        int fi = fixed_index(s, mp->name);
        if (fi >= 0) {
            bt_spec_err(c, item, 1, path,
                        "'%s' is also fixed in model (at %d:%d); give it in one place only",
                        p->name, s->model_fixed[fi].line, s->model_fixed[fi].col);
            continue;
        }
        if (p->dist == BT_DIST_CONSTANT || p->dist == BT_DIST_CATEGORICAL) {
            const cJSON *vals = bt_spec_get(item, p->dist == BT_DIST_CONSTANT ? "value" : "values");
            const cJSON *at = p->dist == BT_DIST_CONSTANT ? vals : vals ? vals->child : NULL;
            for (int k = 0; k < p->n_values; k++, at = at && at != vals ? at->next : at) {
                const char *vp =
                    p->dist == BT_DIST_CONSTANT
                        ? bt_spec_path(ip, path, "value")
                        : bt_spec_path_index(ip, bt_spec_path(vpath, path, "values"), k);
                check_value(c, mp, &p->values[k], at, vp);
            }
            continue;
        }
        /* A distribution: the parameter's type first, then the range it can reach. */
        if (mp->type == BT_PTYPE_STRING || mp->type == BT_PTYPE_BOOL) {
            bt_spec_err(c, item, 1, path, "%s takes %s; use value or values, not distribution %s",
                        mp->name, mp->type == BT_PTYPE_STRING ? "strings" : "true/false",
                        bt_spec_dist_name(p->dist));
            continue;
        }
        if (mp->type == BT_PTYPE_INT && !p->is_int) {
            /* An integral q over integral bounds only yields integers: accept it as such. */
            if (p->q == floor(p->q) && p->dist == BT_DIST_Q_UNIFORM && p->min == floor(p->min) &&
                p->max == floor(p->max)) {
                p->is_int = 1;
            } else {
                bt_spec_err(c, item, 1, path,
                            "%s takes integers but %s draws real numbers; use int_uniform (min "
                            "and max written as integers) or an integer q",
                            mp->name, bt_spec_dist_name(p->dist));
                continue;
            }
        }
        double lo, hi;
        bt_spec_param_support(p, &lo, &hi);
        if (lo >= mp->min && hi <= mp->max) continue;
        fmt_num(lo_s, sizeof lo_s, lo);
        fmt_num(hi_s, sizeof hi_s, hi);
        fmt_num(plo, sizeof plo, mp->min);
        fmt_num(phi, sizeof phi, mp->max);
        const char *hint = "";
        if (p->dist == BT_DIST_LOG_UNIFORM || p->dist == BT_DIST_Q_LOG_UNIFORM)
            hint = " (W&B's log_uniform takes natural-log exponents as min and max; for bounds "
                   "written as values use log_uniform_values)";
        else if (p->dist == BT_DIST_INV_LOG_UNIFORM)
            hint = " (inv_log_uniform takes exponents; for bounds written as values use "
                   "inv_log_uniform_values)";
        const cJSON *at = NULL;
        const char *which = NULL;
        if (isfinite(lo) && lo < mp->min && bt_spec_get(item, "min")) which = "min";
        if (!which && isfinite(hi) && hi > mp->max && bt_spec_get(item, "max")) which = "max";
        if (which) at = bt_spec_get(item, which);
        if (!at) at = bt_spec_get(item, "distribution");
        if (!at) at = item;
        if (!which && (!isfinite(lo) || !isfinite(hi)))
            bt_spec_err(c, at, at != item, path,
                        "distribution %s is unbounded (reaches [%s, %s]) but %s must lie in "
                        "[%s, %s]; use a bounded distribution",
                        bt_spec_dist_name(p->dist), lo_s, hi_s, mp->name, plo, phi);
        else
            bt_spec_err(c, at, 0, which ? bt_spec_path(ip, path, which) : path,
                        "values reach [%s, %s] but %s must lie in [%s, %s]%s", lo_s, hi_s, mp->name,
                        plo, phi, hint);
    }
    free(owner);
}

/* ---- task and metric ------------------------------------------------------------------------ */

static const char *const reg_metrics[] = {"rmse", "mse", "mae", NULL};
static const char *const bin_metrics[] = {"logloss", "error",     "auc",    "accuracy",
                                          "f1",      "precision", "recall", NULL};
static const char *const multi_metrics[] = {"mlogloss",  "merror", "accuracy", "f1",
                                            "precision", "recall", NULL};
static const char *const task_names[] = {"regression", "binary", "multiclass"};

static int in_list(const char *const *l, const char *s) {
    for (int i = 0; l && l[i]; i++)
        if (strcmp(l[i], s) == 0) return 1;
    return 0;
}

static int fallback_metric_ok(const char *m, bt_task t) {
    return in_list(t == BT_TASK_REGRESSION ? reg_metrics
                   : t == BT_TASK_BINARY   ? bin_metrics
                                           : multi_metrics,
                   m);
}

static const char *fallback_default_metric(bt_task t) {
    return t == BT_TASK_REGRESSION ? "rmse" : t == BT_TASK_BINARY ? "logloss" : "mlogloss";
}

static int fallback_maximize(const char *m) {
    static const char *const up[] = {"auc", "accuracy", "f1", "precision", "recall", NULL};
    return in_list(up, m);
}

static bt_task task_of_objective(const bt_spec_ctx *c, const char *objective) {
    const bt_model_family *family = c->family;
    int oi = bt_model_param_index(family, "objective");
    if (family->task_of && oi >= 0) {
        bt_value *hp = malloc(sizeof *hp * (size_t)family->n_params);
        if (hp) {
            for (int i = 0; i < family->n_params; i++) hp[i] = family->params[i].def;
            for (int i = 0; i < c->spec->n_model_fixed; i++) {
                int pi = bt_model_param_index(family, c->spec->model_fixed[i].key);
                if (pi >= 0) hp[pi] = c->spec->model_fixed[i].value;
            }
            hp[oi] = bt_value_string(objective);
            bt_hparams h = {hp};
            bt_task t = BT_TASK_REGRESSION;
            int32_t nc = 0;
            bt_status st = family->task_of(&h, &t, &nc);
            free(hp);
            if (st == BT_STATUS_OK) return t;
        }
    }
    if (strncmp(objective, "binary:", 7) == 0) return BT_TASK_BINARY;
    if (strncmp(objective, "multi:", 6) == 0) return BT_TASK_MULTICLASS;
    return BT_TASK_REGRESSION;
}

/* Bit per task the sweep's objective values (swept, fixed or default) lead to. */
static int task_mask(const bt_spec_ctx *c) {
    const bt_model_family *family = c->family;
    int oi = bt_model_param_index(family, "objective");
    if (oi < 0) return 1 << BT_TASK_REGRESSION;
    for (int i = 0; i < c->spec->n_params; i++) {
        const bt_param_spec *p = &c->spec->params[i];
        if (bt_model_param_index(family, p->name) != oi) continue;
        int mask = 0;
        for (int k = 0; k < p->n_values; k++)
            if (p->values[k].kind == BT_VALUE_STRING)
                mask |= 1 << task_of_objective(c, p->values[k].s);
        if (mask) return mask;
    }
    int fi = fixed_index(c->spec, family->params[oi].name);
    const bt_value *v = fi >= 0 ? &c->spec->model_fixed[fi].value : &family->params[oi].def;
    return 1 << task_of_objective(c, v->kind == BT_VALUE_STRING ? v->s : "");
}

void bt_spec_metric_normalize(const char *name, char *out, int n) {
    static const char *const words[] = {"validation", "valid", "val", "eval", "test", NULL};
    const char *s = name;
    for (int w = 0; words[w]; w++) {
        size_t len = strlen(words[w]);
        size_t k = 0;
        while (k < len && tolower((unsigned char)s[k]) == words[w][k]) k++;
        if (k < len) continue;
        const char *q = s + len;
        if (*q == '_' && isdigit((unsigned char)q[1])) { /* XGBoost's "validation_0-rmse" */
            q++;
            while (isdigit((unsigned char)*q)) q++;
        }
        if (*q && strchr("/_-.:", *q) && q[1]) {
            s = q + 1;
            break;
        }
    }
    int i = 0;
    for (; s[i] && i < n - 1; i++) out[i] = (char)tolower((unsigned char)s[i]);
    out[i] = '\0';
}

/* A metric.name the family does not compute: a did-you-mean among its names and their aliases,
 * or the list; a name of the training set gets a word on what batchtune measures. */
static void report_unknown_metric(bt_spec_ctx *c, const cJSON *name_item, const char *const *known,
                                  const char *norm, bt_task task, const char *task_default) {
    const bt_spec *s = c->spec;
    const char *family = c->family->name;
    size_t t = strncmp(norm, "training", 8) == 0 ? 8 : strncmp(norm, "train", 5) == 0 ? 5 : 0;
    if (t > 0 && norm[t] && strchr("/_-.:", norm[t])) {
        bt_spec_err(c, name_item, 0, "metric.name",
                    "'%s' is a training-set metric; batchtune measures its metrics on the "
                    "validation set (write e.g. 'val_loss' or 'val_acc')",
                    s->metric_name);
        return;
    }
    const char *dym = bt_spec_metric_suggest(norm, known, task, task_default);
    char list[256] = "";
    for (int i = 0; known[i]; i++) {
        size_t len = strlen(list);
        snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", known[i]);
    }
    if (dym)
        bt_spec_err(c, name_item, 0, "metric.name",
                    "model %s cannot compute '%s' (did you mean '%s'?)", family, s->metric_name,
                    dym);
    else
        bt_spec_err(c, name_item, 0, "metric.name",
                    "model %s cannot compute '%s'; it reports %s (and their spellings in "
                    "docs/sweep-format.md)",
                    family, s->metric_name, list);
}

void bt_spec_parse_metric(bt_spec_ctx *c, const cJSON *metric) {
    bt_spec *s = c->spec;
    const bt_model_family *family = c->family;
    int goal_given = 0;
    if (metric) {
        if (!cJSON_IsObject(metric)) {
            bt_spec_err(c, metric, 0, "metric",
                        "must be an object such as {\"name\": \"rmse\", \"goal\": \"minimize\"}");
            return;
        }
        static const char *const keys[] = {
            "name", "goal", "target", "impute", "impute_while_running", NULL};
        bt_spec_check_keys(c, metric, "metric", keys);
        if (bt_spec_read_string(c, metric, "name", "metric", &s->metric_name) == 0)
            bt_spec_err(c, metric, 0, "metric.name", "missing; name the metric to optimize");
        char *goal = NULL;
        if (bt_spec_read_string(c, metric, "goal", "metric", &goal) == 1) {
            if (strcmp(goal, "minimize") == 0 || strcmp(goal, "maximize") == 0) {
                s->maximize = strcmp(goal, "maximize") == 0;
                goal_given = 1;
            } else {
                static const char *const goals[] = {"minimize", "maximize", NULL};
                const char *dym = bt_didyoumean(goal, goals, -1);
                bt_spec_err(c, bt_spec_get(metric, "goal"), 0, "metric.goal",
                            "must be \"minimize\" or \"maximize\", got \"%s\"%s%s%s", goal,
                            dym ? " (did you mean '" : "", dym ? dym : "", dym ? "'?)" : "");
            }
        }
        free(goal);
        double t;
        if (bt_spec_read_number(c, metric, "target", "metric", &t) == 1) {
            s->has_metric_target = 1;
            s->metric_target = t;
        }
    }
    if (!family) return;
    int mask = task_mask(c);
    c->task_mask = mask;
    bt_task first = (mask & 1)   ? BT_TASK_REGRESSION
                    : (mask & 2) ? BT_TASK_BINARY
                                 : BT_TASK_MULTICLASS;
    const cJSON *name_item = bt_spec_get(metric, "name");
    const char *task_default = family->default_metric ? family->default_metric(first) : NULL;
    if (!task_default) task_default = fallback_default_metric(first);
    if (s->metric_name) {
        char norm[128];
        bt_spec_metric_normalize(s->metric_name, norm, sizeof norm);
        static const char *const all_fallback[] = {"rmse",     "mse", "mae",      "logloss",
                                                   "error",    "auc", "mlogloss", "merror",
                                                   "accuracy", NULL};
        const char *known[64];
        int n_known = 0;
        const char *const *lists[2] = {family->metrics ? family->metrics : all_fallback,
                                       family->metrics_on_request};
        for (int l = 0; l < 2; l++)
            for (int i = 0; lists[l] && lists[l][i] && n_known < 63; i++)
                known[n_known++] = lists[l][i];
        known[n_known] = NULL;
        /* W&B scripts log "val_acc", "loss", "val_loss"...: an alias stands for the canonical
         * name, unless the family computes the name itself for this task */
        int own = in_list(known, norm) && (!family->metric_ok || family->metric_ok(norm, first));
        const char *alias = own ? NULL : bt_spec_metric_alias(norm, first, task_default);
        if (alias) snprintf(norm, sizeof norm, "%s", alias);
        s->metric = bt_spec_strdup(norm);
        if (!in_list(known, norm)) {
            report_unknown_metric(c, name_item, known, norm, first, task_default);
            return;
        }
    } else {
        s->metric = bt_spec_strdup(task_default);
        s->metric_name = bt_spec_strdup(task_default);
    }
    for (int t = 0; t < 3; t++) {
        if (!(mask & (1 << t))) continue;
        int ok = family->metric_ok ? family->metric_ok(s->metric, (bt_task)t)
                                   : fallback_metric_ok(s->metric, (bt_task)t);
        if (ok) continue;
        const char *const *fit = t == BT_TASK_REGRESSION ? reg_metrics
                                 : t == BT_TASK_BINARY   ? bin_metrics
                                                         : multi_metrics;
        char list[256] = "";
        for (int i = 0; fit[i]; i++) {
            size_t len = strlen(list);
            snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", fit[i]);
        }
        bt_spec_err(c, name_item ? name_item : (metric ? metric : c->root), 0,
                    name_item ? "metric.name" : "metric",
                    "metric '%s' does not fit a %s task (set by the objective); use one of %s",
                    s->metric, task_names[t], list);
        break;
    }
    if (!goal_given)
        s->maximize = family->metric_maximize ? family->metric_maximize(s->metric)
                                              : fallback_maximize(s->metric);
}
