/* A sweep made concrete: trials' configurations and hyperparameters, budget-prefix groups and
 * their runs, shape packs and the scheduler (see plan.h). Pure: no data is read and nothing
 * trains here. */
#include "sweeps/plan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/philox.h"
#include "sweeps/propose/propose.h"
#include "sweeps/space.h"

/* Converts a sweep value to the model parameter's type (the spec validated compatibility). */
static bt_value to_param_type(const bt_model_param *mp, bt_value v) {
    switch (mp->type) {
    case BT_PTYPE_INT:
        if (v.kind == BT_VALUE_FLOAT) return bt_value_int((int64_t)llround(v.f));
        if (v.kind == BT_VALUE_BOOL) return bt_value_int(v.i);
        return v;
    case BT_PTYPE_FLOAT:
        if (v.kind == BT_VALUE_INT || v.kind == BT_VALUE_BOOL) return bt_value_float((double)v.i);
        return v;
    case BT_PTYPE_BOOL:
        if (v.kind == BT_VALUE_INT) return bt_value_bool(v.i != 0);
        if (v.kind == BT_VALUE_FLOAT) return bt_value_bool(v.f != 0.0);
        return v;
    case BT_PTYPE_STRING:
        return v;
    }
    return v;
}

static int values_equal(bt_value a, bt_value b) {
    if (a.kind == BT_VALUE_STRING || b.kind == BT_VALUE_STRING)
        return a.kind == b.kind && strcmp(a.s, b.s) == 0;
    if (a.kind == BT_VALUE_FLOAT || b.kind == BT_VALUE_FLOAT)
        return a.f == b.f || (isnan(a.f) && isnan(b.f)); /* NaN defaults (base_score) match */
    return a.i == b.i;
}

static bt_status resolve_hp(bt_sweep *sw, bt_sweep_trial *t) {
    const bt_model_family *family = sw->family;
    const bt_spec *spec = sw->spec;
    t->hp = calloc((size_t)family->n_params, sizeof *t->hp);
    BT_CHECK_ALLOC(t->hp);
    for (int p = 0; p < family->n_params; p++) t->hp[p] = family->params[p].def;
    for (int k = 0; k < spec->n_model_fixed; k++) {
        int idx = bt_model_param_index(family, spec->model_fixed[k].key);
        if (idx < 0)
            return BT_FAIL(BT_STATUS_BAD_INPUT, "model.%s: unknown %s parameter",
                           spec->model_fixed[k].key, family->name);
        t->hp[idx] = to_param_type(&family->params[idx], spec->model_fixed[k].value);
    }
    for (int p = 0; p < spec->n_params; p++) {
        int idx = bt_model_param_index(family, spec->params[p].name);
        if (idx < 0)
            return BT_FAIL(BT_STATUS_BAD_INPUT, "parameters.%s: unknown %s parameter",
                           spec->params[p].name, family->name);
        t->hp[idx] = to_param_type(&family->params[idx], t->config[p]);
    }
    return BT_STATUS_OK;
}

/* Trials are in the same group when every model hyperparameter but the budget is equal. */
static int same_group(const bt_sweep *sw, const bt_sweep_trial *a, const bt_sweep_trial *b) {
    for (int p = 0; p < sw->family->n_params; p++) {
        if (p == sw->family->budget_param) continue;
        if (!values_equal(a->hp[p], b->hp[p])) return 0;
    }
    return 1;
}

static int same_shape(const bt_sweep *sw, const bt_sweep_trial *a, const bt_sweep_trial *b) {
    for (int p = 0; p < sw->family->n_params; p++)
        if (sw->family->params[p].shape && !values_equal(a->hp[p], b->hp[p])) return 0;
    return 1;
}

static uint64_t hash_hp(const bt_sweep *sw, const bt_value *hp, int skip) {
    uint64_t h = 1469598103934665603ull;
    for (int p = 0; p < sw->family->n_params; p++) {
        if (p == skip) continue;
        uint64_t x;
        if (hp[p].kind == BT_VALUE_STRING) {
            x = 0;
            for (const char *c = hp[p].s; *c; c++) x = x * 31 + (unsigned char)*c;
        } else if (hp[p].kind == BT_VALUE_FLOAT) {
            double f = isnan(hp[p].f) ? NAN : hp[p].f; /* one NaN bit pattern */
            memcpy(&x, &f, sizeof x);
        } else {
            double f = (double)hp[p].i;
            memcpy(&x, &f, sizeof x);
        }
        h = (h ^ x) * 1099511628211ull;
    }
    return h;
}

/* Groups trials that differ only in the budget: an open-addressing table from hash to leader. */
static bt_status build_groups(bt_sweep *sw) {
    int64_t n = sw->n_trials;
    int64_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    int64_t *table = malloc((size_t)cap * sizeof *table);
    BT_CHECK_ALLOC(table);
    for (int64_t i = 0; i < cap; i++) table[i] = -1;
    for (int64_t t = 0; t < n; t++) {
        bt_sweep_trial *tr = &sw->trials[t];
        tr->leader = t;
        if (sw->budget_param < 0) continue;
        const bt_hparams hp = {tr->hp};
        if (sw->family->budget_prefix && !sw->family->budget_prefix(&hp))
            continue; /* a run of its own */
        uint64_t h = hash_hp(sw, tr->hp, sw->family->budget_param);
        for (int64_t s = (int64_t)(h & (uint64_t)(cap - 1));; s = (s + 1) & (cap - 1)) {
            if (table[s] < 0) {
                table[s] = t;
                break;
            }
            if (same_group(sw, &sw->trials[table[s]], tr)) {
                tr->leader = table[s];
                break;
            }
        }
    }
    free(table);
    return BT_STATUS_OK;
}

static bt_status build_packs(bt_sweep *sw) {
    sw->pack_leader = malloc(sizeof *sw->pack_leader);
    BT_CHECK_ALLOC(sw->pack_leader);
    sw->n_packs = 0;
    for (int64_t t = 0; t < sw->n_trials; t++) {
        int found = -1;
        for (int k = 0; k < sw->n_packs && found < 0; k++)
            if (same_shape(sw, &sw->trials[sw->pack_leader[k]], &sw->trials[t])) found = k;
        if (found < 0) {
            int64_t *np = realloc(sw->pack_leader, (size_t)(sw->n_packs + 1) * sizeof *np);
            BT_CHECK_ALLOC(np);
            sw->pack_leader = np;
            found = sw->n_packs++;
            sw->pack_leader[found] = t;
        }
        sw->trials[t].pack = found;
    }
    return BT_STATUS_OK;
}

/* The runs: one per group leader, in trial order; each run's members and each pack's runs as
 * CSR lists, filled in trial order so both come out ascending. */
static bt_status build_runs(bt_sweep *sw) {
    int64_t n = sw->n_trials;
    size_t n1 = (size_t)(n ? n : 1);
    sw->run_leader = malloc(n1 * sizeof *sw->run_leader);
    sw->mem_ptr = calloc((size_t)n + 1, sizeof *sw->mem_ptr);
    sw->members = malloc(n1 * sizeof *sw->members);
    sw->pack_run_ptr = calloc((size_t)sw->n_packs + 1, sizeof *sw->pack_run_ptr);
    sw->pack_runs = malloc(n1 * sizeof *sw->pack_runs);
    int64_t *fill = calloc(n1 + (size_t)sw->n_packs, sizeof *fill);
    if (!sw->run_leader || !sw->mem_ptr || !sw->members || !sw->pack_run_ptr || !sw->pack_runs ||
        !fill) {
        free(fill);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    sw->n_runs = 0;
    for (int64_t t = 0; t < n; t++) {
        bt_sweep_trial *tr = &sw->trials[t];
        if (tr->leader == t) {
            sw->run_leader[sw->n_runs] = t;
            sw->pack_run_ptr[tr->pack + 1]++;
            tr->run = sw->n_runs++;
        } else {
            tr->run = sw->trials[tr->leader].run; /* the leader came first */
        }
        sw->mem_ptr[tr->run + 1]++;
    }
    for (int64_t r = 0; r < sw->n_runs; r++) sw->mem_ptr[r + 1] += sw->mem_ptr[r];
    for (int p = 0; p < sw->n_packs; p++) sw->pack_run_ptr[p + 1] += sw->pack_run_ptr[p];
    int64_t *pack_fill = fill + n1;
    for (int64_t t = 0; t < n; t++) {
        int64_t r = sw->trials[t].run;
        sw->members[sw->mem_ptr[r] + fill[r]++] = t;
    }
    for (int64_t r = 0; r < sw->n_runs; r++) {
        int p = sw->trials[sw->run_leader[r]].pack;
        sw->pack_runs[sw->pack_run_ptr[p] + pack_fill[p]++] = r;
    }
    free(fill);
    return BT_STATUS_OK;
}

/* A trial whose config is set: its hyperparameters, its own budget, and (lazy) its pack. */
static bt_status trial_ready(bt_sweep *sw, int64_t t) {
    bt_sweep_trial *tr = &sw->trials[t];
    BT_TRY(resolve_hp(sw, tr));
    tr->budget = sw->budget_param >= 0 ? tr->hp[sw->family->budget_param].i : -1;
    if (tr->budget > sw->max_resource && sw->budget_param >= 0) sw->max_resource = tr->budget;
    if (!sw->lazy) return BT_STATUS_OK;
    if (sw->data_loaded && sw->family->check) {
        const bt_hparams hp = {tr->hp};
        BT_TRY(sw->family->check(&hp, sw->task));
    }
    int found = -1;
    for (int k = 0; k < sw->n_packs && found < 0; k++)
        if (same_shape(sw, &sw->trials[sw->pack_leader[k]], tr)) found = k;
    if (found < 0) {
        int64_t *nl = realloc(sw->pack_leader, (size_t)(sw->n_packs + 1) * sizeof *nl);
        if (nl) sw->pack_leader = nl;
        int64_t *ns = nl ? realloc(sw->pack_size, (size_t)(sw->n_packs + 1) * sizeof *ns) : NULL;
        if (ns) sw->pack_size = ns;
        if (!nl || !ns) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
        found = sw->n_packs++;
        sw->pack_leader[found] = t;
        sw->pack_size[found] = 0;
    }
    tr->pack = found;
    sw->pack_size[found]++;
    return BT_STATUS_OK;
}

/* A lazy plan: every trial a run of its own, no configuration and no pack until proposed. */
static bt_status plan_lazy(bt_sweep *sw) {
    const bt_spec *spec = sw->spec;
    int64_t n = sw->n_trials;
    size_t n1 = (size_t)(n ? n : 1);
    sw->run_leader = malloc(n1 * sizeof *sw->run_leader);
    sw->mem_ptr = malloc((n1 + 1) * sizeof *sw->mem_ptr);
    sw->members = malloc(n1 * sizeof *sw->members);
    sw->pack_run_ptr = calloc(1, sizeof *sw->pack_run_ptr);
    sw->pack_runs = malloc(sizeof *sw->pack_runs);
    sw->pack_leader = malloc(sizeof *sw->pack_leader);
    sw->pack_size = malloc(sizeof *sw->pack_size);
    if (!sw->run_leader || !sw->mem_ptr || !sw->members || !sw->pack_run_ptr || !sw->pack_runs ||
        !sw->pack_leader || !sw->pack_size)
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    sw->mem_ptr[0] = 0;
    for (int64_t t = 0; t < n; t++) {
        sw->trials[t] = (bt_sweep_trial){.leader = t, .run = t, .budget = -1, .pack = -1};
        sw->run_leader[t] = t;
        sw->members[t] = t;
        sw->mem_ptr[t + 1] = t + 1;
    }
    sw->n_runs = n;
    sw->n_packs = 0;
    size_t np = (size_t)(spec->n_params > 0 ? spec->n_params : 1);
    sw->proto.config = calloc(np, sizeof *sw->proto.config);
    BT_CHECK_ALLOC(sw->proto.config);
    BT_TRY(bt_space_config(spec, spec->seed, 0, sw->proto.config));
    BT_TRY(resolve_hp(sw, &sw->proto));
    return bt_proposer_init(&sw->prop, spec, (int)spec->method, spec->seed, NULL);
}

/* fixed: bt_sweep_init_fixed; preview > 0: bt_sweep_preview's limit. */
static bt_status sweep_init(bt_sweep *sw, const bt_spec *spec, int fixed, int64_t preview) {
    memset(sw, 0, sizeof *sw);
    sw->spec = spec;
    sw->budget_param = -1;
    sw->family = bt_model_find(spec->model_type);
    if (!sw->family) return BT_FAIL(BT_STATUS_BAD_INPUT, "model.type: unknown model family");
    const bt_model_family *family = sw->family;
    sw->packs = family->cpu;
    sw->lazy = bt_method_is_model(spec->method) && !fixed;
    /* A swept budget is a prefix only without a scheduler: a scheduler owns the resource (a
     * single fixed value there merely sets max_resource, which the spec already did). */
    if (spec->sched.kind == BT_SCHED_NONE)
        for (int p = 0; p < spec->n_params; p++)
            if (bt_model_param_index(family, spec->params[p].name) == family->budget_param)
                sw->budget_param = p;

    /* how many trials the space offers */
    int64_t offered = bt_space_offered(spec);
    if (offered < 0) return BT_FAIL(BT_STATUS_BAD_INPUT, "method grid needs finite values");
    sw->max_resource = spec->sched.max_resource;

    /* configurations of the trials the space offers; the scheduler may use fewer */
    int64_t n_conf = offered > 0 ? offered : 0;
    sw->maximize = spec->maximize;
    if (preview > 0)
        BT_TRY(
            bt_sched_init_plan(&sw->sched, &spec->sched, offered, sw->max_resource, sw->maximize));
    else
        BT_TRY(bt_sched_init(&sw->sched, &spec->sched, offered, sw->max_resource, sw->maximize));
    int64_t n = bt_sched_n_trials(sw->sched);
    if (n > n_conf) n_conf = n;
    sw->n_total = n;
    if (preview > 0 && n > preview) n = n_conf = preview;
    sw->n_trials = n;
    sw->trials = calloc((size_t)(n_conf > 0 ? n_conf : 1), sizeof *sw->trials);
    BT_CHECK_ALLOC(sw->trials);
    if (sw->lazy) {
        BT_TRY(plan_lazy(sw));
    } else {
        for (int64_t t = 0; t < n; t++) {
            bt_sweep_trial *tr = &sw->trials[t];
            tr->config =
                calloc((size_t)(spec->n_params > 0 ? spec->n_params : 1), sizeof *tr->config);
            BT_CHECK_ALLOC(tr->config);
            BT_TRY(bt_space_config(spec, spec->seed, t, tr->config));
            BT_TRY(trial_ready(sw, t));
        }
        sw->n_ready = n;
        BT_TRY(build_groups(sw));
        BT_TRY(build_packs(sw));
        BT_TRY(build_runs(sw));
    }

    /* task from the first trial (objective cannot vary within a sweep: the spec checks it) */
    const bt_hparams hp0 = {sw->lazy ? sw->proto.hp : sw->trials[0].hp};
    sw->task = BT_TASK_REGRESSION;
    sw->n_classes = 0;
    if ((n > 0 || sw->lazy) && family->task_of)
        BT_TRY(family->task_of(&hp0, &sw->task, &sw->n_classes));
    sw->metric = spec->metric;
    if (!sw->metric && family->default_metric) sw->metric = family->default_metric(sw->task);
    if (!sw->metric) return BT_FAIL(BT_STATUS_BAD_INPUT, "metric: none given and no default");
    if (family->metric_ok && !family->metric_ok(sw->metric, sw->task))
        return BT_FAIL(BT_STATUS_BAD_INPUT, "metric.name: %s cannot be computed for this task",
                       sw->metric);
    return BT_STATUS_OK;
}

bt_status bt_sweep_init(bt_sweep *sw, const bt_spec *spec) {
    return sweep_init(sw, spec, 0, 0);
}

bt_status bt_sweep_init_fixed(bt_sweep *sw, const bt_spec *spec) {
    return sweep_init(sw, spec, 1, 0);
}

bt_status bt_sweep_preview(bt_sweep *sw, const bt_spec *spec, int64_t limit) {
    return sweep_init(sw, spec, 0, limit > 0 ? limit : 1);
}

bt_status bt_sweep_ready(bt_sweep *sw, int64_t t) {
    if (t < 0 || t >= sw->n_trials)
        return BT_FAIL(BT_STATUS_INTERNAL, "no trial %lld", (long long)t);
    if (sw->trials[t].config) return BT_STATUS_OK;
    if (!sw->lazy || t != sw->n_ready)
        return BT_FAIL(BT_STATUS_INTERNAL, "trial %lld proposed out of order (next is %lld)",
                       (long long)t, (long long)sw->n_ready);
    bt_sweep_trial *tr = &sw->trials[t];
    tr->config =
        calloc((size_t)(sw->spec->n_params > 0 ? sw->spec->n_params : 1), sizeof *tr->config);
    BT_CHECK_ALLOC(tr->config);
    BT_TRY(bt_proposer_propose(sw->prop, t, 1, tr->config));
    BT_TRY(trial_ready(sw, t));
    sw->n_ready++;
    return BT_STATUS_OK;
}

/* The spec's own copy of a string value (results strings do not outlive the caller). */
static bt_value spec_value(const bt_param_spec *p, bt_value v) {
    if (v.kind != BT_VALUE_STRING) return v;
    for (int i = 0; i < p->n_values; i++)
        if (p->values[i].kind == BT_VALUE_STRING && strcmp(p->values[i].s, v.s) == 0)
            return p->values[i];
    return v;
}

bt_status bt_sweep_set_config(bt_sweep *sw, int64_t t, const bt_value *config) {
    if (t < 0 || t >= sw->n_trials) return BT_FAIL(BT_STATUS_USAGE, "no trial %lld", (long long)t);
    bt_sweep_trial *tr = &sw->trials[t];
    if (tr->config) {
        free(tr->hp);
        tr->hp = NULL;
        if (sw->lazy && tr->pack >= 0) sw->pack_size[tr->pack]--;
    } else {
        tr->config =
            calloc((size_t)(sw->spec->n_params > 0 ? sw->spec->n_params : 1), sizeof *tr->config);
        BT_CHECK_ALLOC(tr->config);
    }
    for (int p = 0; p < sw->spec->n_params; p++)
        tr->config[p] = spec_value(&sw->spec->params[p], config[p]);
    return trial_ready(sw, t);
}

bt_status bt_sweep_observe(bt_sweep *sw, int64_t t, int64_t resource, double metric) {
    return sw->prop ? bt_proposer_observe(sw->prop, t, resource, metric) : BT_STATUS_OK;
}

int64_t bt_sweep_shape_runs(const bt_sweep *sw, int shape) {
    if (sw->lazy) return sw->pack_size[shape] + (sw->n_trials - sw->n_ready);
    return sw->pack_run_ptr[shape + 1] - sw->pack_run_ptr[shape];
}

void bt_sweep_free(bt_sweep *sw) {
    if (!sw) return;
    if (sw->data_loaded) {
        if (sw->packs && sw->packs->data_release) sw->packs->data_release(&sw->data);
        if (sw->family->data_free) sw->family->data_free(&sw->data);
    }
    bt_dataset_free(&sw->train);
    bt_dataset_free(&sw->valid);
    for (int64_t t = 0; sw->trials && t < sw->n_trials; t++) {
        free(sw->trials[t].config);
        free(sw->trials[t].hp);
    }
    free(sw->trials);
    free(sw->pack_leader);
    free(sw->run_leader);
    free(sw->mem_ptr);
    free(sw->members);
    free(sw->pack_run_ptr);
    free(sw->pack_runs);
    free(sw->pack_size);
    free(sw->proto.config);
    free(sw->proto.hp);
    bt_proposer_free(sw->prop);
    bt_sched_free(sw->sched);
    memset(sw, 0, sizeof *sw);
}

size_t bt_sweep_trial_bytes(const bt_sweep *sw) {
    /* the trial, its configuration and hyperparameters (two allocations, ~16 bytes of heap
     * header each), its run and pack lists, and the scheduler's state */
    size_t values = (size_t)sw->spec->n_params + (size_t)sw->family->n_params;
    return sizeof(bt_sweep_trial) + 32 + values * sizeof(bt_value) + 4 * sizeof(int64_t) +
           bt_sched_trial_bytes();
}

uint64_t bt_sweep_trial_key(const bt_sweep *sw, int64_t trial) {
    return bt_philox_key(sw->spec->seed, (uint64_t)sw->trials[trial].leader);
}
