/* `early_terminate` (W&B's hyperband stopping rule) and `scheduler` (batchtune's SHA, Hyperband,
 * ASHA) into bt_sched_spec: defaults from the model's budget parameter, and the rule that the
 * budget parameter is the scheduler's to set, not the search space's. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweeps/spec/didyoumean.h"
#include "sweeps/spec/spec_internal.h"

/* Index of the swept parameter that is the model's budget parameter, or -1. */
static int budget_swept(const bt_spec_ctx *c) {
    for (int i = 0; i < c->spec->n_params; i++)
        if (bt_model_param_index(c->family, c->spec->params[i].name) == c->family->budget_param)
            return i;
    return -1;
}

/* A swept budget parameter with one value ({"value": 60}, or one-element values): a W&B file's way
 * of fixing the number of epochs, which sets the largest resource like a fixed model value. */
static int budget_single(const bt_spec_ctx *c, int64_t *v) {
    int bi = budget_swept(c);
    if (bi < 0) return 0;
    const bt_param_spec *p = &c->spec->params[bi];
    if ((p->dist != BT_DIST_CONSTANT && p->dist != BT_DIST_CATEGORICAL) || p->n_values != 1)
        return 0;
    *v = (int64_t)p->values[0].f;
    return 1;
}

/* The budget parameter's value the model block (or a single-valued parameter) fixes, else the
 * family's default. */
static int64_t budget_default(const bt_spec_ctx *c) {
    const bt_model_param *mp = &c->family->params[c->family->budget_param];
    for (int i = 0; i < c->spec->n_model_fixed; i++)
        if (strcmp(c->spec->model_fixed[i].key, mp->name) == 0)
            return (int64_t)c->spec->model_fixed[i].value.f;
    int64_t v;
    if (budget_single(c, &v)) return v;
    return (int64_t)mp->def.f;
}

static void parse_early(bt_spec_ctx *c, const cJSON *et) {
    bt_sched_spec *sc = &c->spec->sched;
    if (!cJSON_IsObject(et)) {
        bt_spec_err(c, et, 0, "early_terminate",
                    "must be an object such as {\"type\": \"hyperband\", \"min_iter\": 3}");
        return;
    }
    static const char *const keys[] = {"type", "min_iter", "max_iter", "s", "eta", "strict", NULL};
    bt_spec_check_keys(c, et, "early_terminate", keys);
    char *type = NULL;
    int r = bt_spec_read_string(c, et, "type", "early_terminate", &type);
    if (r == 0)
        bt_spec_err(c, et, 0, "early_terminate.type", "missing; W&B's only type is \"hyperband\"");
    else if (r == 1 && strcmp(type, "hyperband") != 0)
        bt_spec_err(c, bt_spec_get(et, "type"), 0, "early_terminate.type",
                    "unknown type \"%s\"; W&B's only early_terminate type is \"hyperband\" "
                    "(batchtune's own schedulers are under \"scheduler\")",
                    type);
    free(type);
    sc->kind = BT_SCHED_WANDB_HYPERBAND;
    sc->strict = 1; /* W&B's schema default */
    sc->eta = 3;
    int64_t min_iter = 0, max_iter = 0, s = 0;
    int has_min = bt_spec_read_int(c, et, "min_iter", "early_terminate", 1, INT32_MAX, &min_iter);
    int has_max = bt_spec_read_int(c, et, "max_iter", "early_terminate", 1, INT32_MAX, &max_iter);
    int has_s = bt_spec_read_int(c, et, "s", "early_terminate", 1, 64, &s);
    double eta;
    if (bt_spec_read_number(c, et, "eta", "early_terminate", &eta) == 1) {
        if (!(eta > 1) || !isfinite(eta))
            bt_spec_err(c, bt_spec_get(et, "eta"), 0, "early_terminate.eta", "must be > 1, got %g",
                        eta);
        else
            sc->eta = eta;
    }
    bt_spec_read_bool(c, et, "strict", "early_terminate", &sc->strict);
    if (has_min == 0 && has_max == 0)
        bt_spec_err(c, et, 0, "early_terminate",
                    "needs min_iter, or max_iter and s (W&B's two forms of hyperband)");
    else if (has_min == 0 && has_max == 1 && has_s == 0)
        bt_spec_err(c, bt_spec_get(et, "max_iter"), 1, "early_terminate.max_iter",
                    "max_iter needs s (the number of brackets) as well");
    sc->min_resource = has_min == 1 ? min_iter : 1;
    sc->max_resource = has_max == 1 ? max_iter : (c->family ? budget_default(c) : 0);
    sc->s = has_s == 1 ? (int)s : 0;
}

static void parse_scheduler(bt_spec_ctx *c, const cJSON *so) {
    bt_sched_spec *sc = &c->spec->sched;
    if (!cJSON_IsObject(so)) {
        bt_spec_err(c, so, 0, "scheduler", "must be an object such as {\"type\": \"asha\"}");
        return;
    }
    if (bt_spec_get(so, "engine")) {
        bt_spec_err(c, bt_spec_get(so, "engine"), 1, "scheduler.engine",
                    "this is W&B's Launch scheduler block, which batchtune does not use; "
                    "batchtune's scheduler is {\"type\": \"none|sha|hyperband|asha\", ...}");
        return;
    }
    static const char *const keys[] = {"type", "resource", "min_resource", "max_resource",
                                       "eta",  "s",        "concurrency",  NULL};
    bt_spec_check_keys(c, so, "scheduler", keys);
    static const char *const types[] = {"none", "sha", "hyperband", "asha", NULL};
    char *type = NULL;
    int r = bt_spec_read_string(c, so, "type", "scheduler", &type);
    if (r == 0)
        bt_spec_err(c, so, 0, "scheduler.type", "missing; one of none, sha, hyperband, asha");
    if (r == 1) {
        int k = -1;
        for (int i = 0; types[i]; i++)
            if (strcmp(types[i], type) == 0) k = i;
        if (k < 0) {
            const char *dym = bt_didyoumean(type, types, -1);
            bt_spec_err(c, bt_spec_get(so, "type"), 0, "scheduler.type",
                        "unknown scheduler \"%s\"%s%s%s; one of none, sha, hyperband, asha", type,
                        dym ? " (did you mean '" : "", dym ? dym : "", dym ? "'?)" : "");
        } else {
            sc->kind = (bt_sched_kind[]){BT_SCHED_NONE, BT_SCHED_SHA, BT_SCHED_HYPERBAND,
                                         BT_SCHED_ASHA}[k];
        }
    }
    free(type);
    char *res = NULL;
    if (bt_spec_read_string(c, so, "resource", "scheduler", &res) == 1 && c->family) {
        int pi = bt_model_param_index(c->family, res);
        if (pi != c->family->budget_param)
            bt_spec_err(c, bt_spec_get(so, "resource"), 0, "scheduler.resource",
                        "the resource must be model %s's budget parameter '%s', not '%s'",
                        c->family->name, c->family->params[c->family->budget_param].name, res);
    }
    if (c->spec->prog.on) { /* program mode: the key the program reports its progress in */
        free(sc->resource);
        sc->resource = res;
        res = NULL;
    }
    free(res);
    int64_t v;
    if (bt_spec_read_int(c, so, "min_resource", "scheduler", 1, INT32_MAX, &v) == 1)
        sc->min_resource = v;
    if (bt_spec_read_int(c, so, "max_resource", "scheduler", 1, INT32_MAX, &v) == 1)
        sc->max_resource = v;
    double eta;
    if (bt_spec_read_number(c, so, "eta", "scheduler", &eta) == 1) {
        if (!(eta > 1) || !isfinite(eta))
            bt_spec_err(c, bt_spec_get(so, "eta"), 0, "scheduler.eta", "must be > 1, got %g", eta);
        else
            sc->eta = eta;
    }
    if (bt_spec_read_int(c, so, "s", "scheduler", 0, 64, &v) == 1) sc->s = (int)v;
    if (bt_spec_read_int(c, so, "concurrency", "scheduler", 1, INT32_MAX, &v) == 1)
        sc->concurrency = v;
}

void bt_spec_parse_sched(bt_spec_ctx *c, const cJSON *early, const cJSON *sched) {
    bt_sched_spec *sc = &c->spec->sched;
    sc->kind = BT_SCHED_NONE;
    sc->eta = 3;
    if (early && sched) {
        const cJSON *t = bt_spec_get(sched, "type");
        if (!(cJSON_IsString(t) && strcmp(t->valuestring, "none") == 0))
            bt_spec_err(c, sched, 1, "scheduler",
                        "give either early_terminate (W&B's hyperband stopping) or scheduler, "
                        "not both");
        sched = NULL; /* early_terminate is still checked, to report all its problems too */
    }
    if (early)
        parse_early(c, early);
    else if (sched)
        parse_scheduler(c, sched);
    if (!c->family) return;

    const bt_model_param *bp = &c->family->params[c->family->budget_param];
    sc->resource = bt_spec_strdup(bp->name);
    int64_t def_max = budget_default(c);
    if (sc->kind != BT_SCHED_WANDB_HYPERBAND) {
        if (sc->min_resource == 0) sc->min_resource = 1;
        if (sc->max_resource == 0) sc->max_resource = def_max;
    }

    int bi = budget_swept(c);
    int64_t single;
    if (bi >= 0 && sc->kind != BT_SCHED_NONE && budget_single(c, &single)) {
        if (sc->max_resource != single) {
            const char *key = sc->kind == BT_SCHED_WANDB_HYPERBAND ? "max_iter" : "max_resource";
            const cJSON *blk = sc->kind == BT_SCHED_WANDB_HYPERBAND ? early : sched;
            char path[BT_PATH_MAX];
            bt_spec_err(
                c, bt_spec_get(blk, key), 0,
                bt_spec_path(path,
                             sc->kind == BT_SCHED_WANDB_HYPERBAND ? "early_terminate" : "scheduler",
                             key),
                "%s %lld disagrees with parameters.%s = %lld, the largest resource; give "
                "one of them",
                key, (long long)sc->max_resource, c->spec->params[bi].name, (long long)single);
        }
        bi = -1; /* a fixed budget is fine: it is the largest resource */
    }
    if (bi >= 0 && sc->kind != BT_SCHED_NONE) {
        char path[BT_PATH_MAX];
        snprintf(path, sizeof path, "parameters.%s", c->spec->params[bi].name);
        bt_spec_err(c, c->param_items[bi], 1, path,
                    "'%s' is the scheduler's resource: the %s scheduler trains each trial up to "
                    "max_resource %s rounds itself; give it one value (the largest resource), set "
                    "scheduler.max_resource or fix it in model instead, or use scheduler none to "
                    "sweep it as a prefix parameter",
                    c->spec->params[bi].name,
                    sc->kind == BT_SCHED_WANDB_HYPERBAND ? "early_terminate"
                    : sc->kind == BT_SCHED_SHA           ? "sha"
                    : sc->kind == BT_SCHED_ASHA          ? "asha"
                                                         : "hyperband",
                    bp->name);
        return;
    }
    if (bi >= 0) { /* scheduler none: the largest value a trial of the sweep can ask for */
        double lo, hi;
        bt_spec_param_support(&c->spec->params[bi], &lo, &hi);
        if (isfinite(hi) && hi >= 1) sc->max_resource = (int64_t)hi;
    }
    if (sc->min_resource > sc->max_resource) {
        const char *key = sc->kind == BT_SCHED_WANDB_HYPERBAND ? "min_iter" : "min_resource";
        const cJSON *blk = sc->kind == BT_SCHED_WANDB_HYPERBAND ? early : sched;
        const cJSON *at = bt_spec_get(blk, key);
        char path[BT_PATH_MAX];
        bt_spec_err(
            c, at ? at : (blk ? blk : c->root), 0,
            bt_spec_path(
                path, sc->kind == BT_SCHED_WANDB_HYPERBAND ? "early_terminate" : "scheduler", key),
            "%s %lld exceeds the largest resource %lld (%s)", key, (long long)sc->min_resource,
            (long long)sc->max_resource, bp->name);
    }
}
