/* A sweep made concrete: trials' configurations and hyperparameters, budget-prefix groups and
 * their runs, shape packs and the scheduler (see plan.h). Pure: no data is read and nothing
 * trains here. */
#include "sweeps/plan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/table.h"
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

/* Where each swept and fixed parameter lands among the family's (checked once, at init). */
static bt_status build_index(bt_sweep *sw) {
    const bt_model_family *family = sw->family;
    const bt_spec *spec = sw->spec;
    sw->param_index = calloc((size_t)(spec->n_params > 0 ? spec->n_params : 1), sizeof(int));
    sw->fixed_index =
        calloc((size_t)(spec->n_model_fixed > 0 ? spec->n_model_fixed : 1), sizeof(int));
    if (!sw->param_index || !sw->fixed_index) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    for (int k = 0; k < spec->n_model_fixed; k++) {
        int idx = bt_model_param_index(family, spec->model_fixed[k].key);
        if (idx < 0)
            return BT_FAIL(BT_STATUS_BAD_INPUT, "model.%s: unknown %s parameter",
                           spec->model_fixed[k].key, family->name);
        sw->fixed_index[k] = idx;
    }
    for (int p = 0; p < spec->n_params; p++) {
        int idx = bt_model_param_index(family, spec->params[p].name);
        if (idx < 0)
            return BT_FAIL(BT_STATUS_BAD_INPUT, "parameters.%s: unknown %s parameter",
                           spec->params[p].name, family->name);
        sw->param_index[p] = idx;
    }
    return BT_STATUS_OK;
}

/* A configuration's model hyperparameters: the family's defaults, the fixed ones, the swept. */
static void resolve_hp(const bt_sweep *sw, const bt_value *config, bt_value *hp) {
    const bt_model_family *family = sw->family;
    const bt_spec *spec = sw->spec;
    for (int p = 0; p < family->n_params; p++) hp[p] = family->params[p].def;
    for (int k = 0; k < spec->n_model_fixed; k++) {
        int idx = sw->fixed_index[k];
        hp[idx] = to_param_type(&family->params[idx], spec->model_fixed[k].value);
    }
    for (int p = 0; p < spec->n_params; p++) {
        int idx = sw->param_index[p];
        hp[idx] = to_param_type(&family->params[idx], config[p]);
    }
}

static bt_value *values_alloc(int n) {
    return calloc((size_t)(n > 0 ? n : 1), sizeof(bt_value));
}

/* Trials are in the same group when every model hyperparameter but the budget is equal. */
static int same_group(const bt_sweep *sw, const bt_value *a, const bt_value *b) {
    for (int p = 0; p < sw->family->n_params; p++) {
        if (p == sw->family->budget_param) continue;
        if (!bt_value_equal(a[p], b[p])) return 0;
    }
    return 1;
}

static int same_shape(const bt_sweep *sw, const bt_value *a, const bt_value *b) {
    for (int p = 0; p < sw->family->n_params; p++)
        if (sw->family->params[p].shape && !bt_value_equal(a[p], b[p])) return 0;
    return 1;
}

bt_status bt_sweep_config(const bt_sweep *sw, int64_t t, bt_value *out) {
    if (t < 0 || t >= sw->n_trials)
        return BT_FAIL(BT_STATUS_INTERNAL, "no trial %lld", (long long)t);
    const bt_sweep_trial *tr = &sw->trials[t];
    if (tr->config) {
        memcpy(out, tr->config, (size_t)sw->spec->n_params * sizeof *out);
        return BT_STATUS_OK;
    }
    if (sw->lazy)
        return BT_FAIL(BT_STATUS_INTERNAL, "trial %lld has not been proposed", (long long)t);
    return bt_space_config(sw->spec, sw->spec->seed, t, out);
}

bt_status bt_sweep_hp(const bt_sweep *sw, int64_t t, bt_value *out) {
    bt_value *config = values_alloc(sw->spec->n_params);
    BT_CHECK_ALLOC(config);
    bt_status st = bt_sweep_config(sw, t, config);
    if (st == BT_STATUS_OK) resolve_hp(sw, config, out);
    free(config);
    return st;
}

/* The pack of hyperparameters hp (trial t's): an existing one of the same shape, or a new one. */
static bt_status find_pack(bt_sweep *sw, const bt_value *hp, int64_t t, int *out) {
    for (int k = 0; k < sw->n_packs; k++)
        if (same_shape(sw, sw->pack_hp[k], hp)) {
            *out = k;
            return BT_STATUS_OK;
        }
    int n = sw->n_packs + 1;
    int64_t *nl = realloc(sw->pack_leader, (size_t)n * sizeof *nl);
    if (nl) sw->pack_leader = nl;
    bt_value **nh = nl ? realloc(sw->pack_hp, (size_t)n * sizeof *nh) : NULL;
    if (nh) sw->pack_hp = nh;
    int64_t *ns = nh ? realloc(sw->pack_size, (size_t)n * sizeof *ns) : NULL;
    if (ns) sw->pack_size = ns;
    bt_value *copy = ns ? values_alloc(sw->family->n_params) : NULL;
    if (!copy) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    memcpy(copy, hp, (size_t)sw->family->n_params * sizeof *copy);
    sw->pack_leader[sw->n_packs] = t;
    sw->pack_hp[sw->n_packs] = copy;
    sw->pack_size[sw->n_packs] = 0;
    *out = sw->n_packs++;
    return BT_STATUS_OK;
}

/* The budget of a trial of hyperparameters hp: its own when the budget is swept, else -1. */
static int64_t trial_budget(bt_sweep *sw, const bt_value *hp) {
    if (sw->budget_param < 0) return -1;
    int64_t b = hp[sw->family->budget_param].i;
    if (b > sw->max_resource) sw->max_resource = b;
    return b;
}

/* Groups trials that differ only in the budget: an open-addressing table from hash to leader
 * (a probe that meets another group's leader regenerates its hyperparameters to compare). */
static bt_status plan_groups(bt_sweep *sw, bt_value *hp, bt_value *other) {
    int64_t n = sw->n_trials;
    int64_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    int64_t *table = sw->grouped ? malloc((size_t)cap * sizeof *table) : NULL;
    if (sw->grouped && !table) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    for (int64_t i = 0; table && i < cap; i++) table[i] = -1;
    bt_status st = BT_STATUS_OK;
    for (int64_t t = 0; t < n && st == BT_STATUS_OK; t++) {
        bt_sweep_trial *tr = &sw->trials[t];
        st = bt_sweep_hp(sw, t, hp);
        if (st != BT_STATUS_OK) break;
        tr->leader = t;
        tr->budget = trial_budget(sw, hp);
        st = find_pack(sw, hp, t, &tr->pack);
        const bt_hparams h = {hp};
        if (!table || (sw->family->budget_prefix && !sw->family->budget_prefix(&h)))
            continue; /* a run of its own */
        uint64_t hh = bt_values_hash(hp, sw->family->n_params, sw->family->budget_param);
        for (int64_t s = (int64_t)(hh & (uint64_t)(cap - 1)); st == BT_STATUS_OK;
             s = (s + 1) & (cap - 1)) {
            if (table[s] < 0) {
                table[s] = t;
                break;
            }
            st = bt_sweep_hp(sw, table[s], other);
            if (st == BT_STATUS_OK && same_group(sw, other, hp)) {
                tr->leader = table[s];
                break;
            }
        }
    }
    free(table);
    return st;
}

/* The runs: one per group leader, in trial order; each run's members and each pack's runs as
 * CSR lists, filled in trial order so both come out ascending. */
static bt_status build_runs(bt_sweep *sw) {
    int64_t n = sw->n_trials;
    size_t n1 = (size_t)(n ? n : 1);
    sw->run_leader = bt_table_alloc(n1, sizeof *sw->run_leader);
    sw->mem_ptr = bt_table_alloc(n1 + 1, sizeof *sw->mem_ptr);
    sw->members = bt_table_alloc(n1, sizeof *sw->members);
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

/* Every trial planned now: groups, packs, runs. */
static bt_status plan_eager(bt_sweep *sw) {
    bt_value *hp = values_alloc(sw->family->n_params);
    bt_value *other = values_alloc(sw->family->n_params);
    bt_status st =
        hp && other ? plan_groups(sw, hp, other) : BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    free(hp);
    free(other);
    BT_TRY(st);
    sw->n_ready = sw->n_trials;
    return build_runs(sw);
}

/* Shapes counted exactly (one pass over the configurations, nothing kept per trial) up to this
 * many trials; past it a shape's count is an upper bound (the trials not ready yet), which only
 * sizes packs: a device pack is cut to what fits, and packing never changes results. */
#define SCAN_MAX ((int64_t)1 << 20)

/* An incremental plan (plan.h): tables reserved for every trial, filled as trials get ready. */
static bt_status plan_incremental(bt_sweep *sw) {
    int64_t n = sw->n_trials;
    size_t n1 = (size_t)(n ? n : 1);
    sw->run_leader = bt_table_alloc(n1, sizeof *sw->run_leader);
    sw->mem_ptr = bt_table_alloc(n1 + 1, sizeof *sw->mem_ptr);
    sw->members = bt_table_alloc(n1, sizeof *sw->members);
    sw->pack_run_ptr = calloc(1, sizeof *sw->pack_run_ptr);
    sw->pack_runs = malloc(sizeof *sw->pack_runs);
    if (!sw->run_leader || !sw->mem_ptr || !sw->members || !sw->pack_run_ptr || !sw->pack_runs)
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    sw->n_runs = n; /* run t is trial t's */
    if (sw->lazy || n > SCAN_MAX) return BT_STATUS_OK;
    bt_value *hp = values_alloc(sw->family->n_params);
    BT_CHECK_ALLOC(hp);
    bt_status st = BT_STATUS_OK;
    for (int64_t t = 0; t < n && st == BT_STATUS_OK; t++) {
        int k = 0;
        st = bt_sweep_hp(sw, t, hp);
        if (st == BT_STATUS_OK) st = find_pack(sw, hp, t, &k);
        if (st == BT_STATUS_OK) sw->pack_size[k]++;
    }
    free(hp);
    sw->counts_exact = 1;
    return st;
}

/* Trial t of an incremental plan becomes ready: checked, its pack and run. */
static bt_status make_ready(bt_sweep *sw, int64_t t) {
    bt_value *hp = values_alloc(sw->family->n_params);
    BT_CHECK_ALLOC(hp);
    bt_status st = bt_sweep_hp(sw, t, hp);
    const bt_hparams h = {hp};
    if (st == BT_STATUS_OK && sw->data_loaded && sw->family->check)
        st = sw->family->check(&h, sw->task);
    int k = -1;
    if (st == BT_STATUS_OK) st = find_pack(sw, hp, t, &k);
    if (st == BT_STATUS_OK) {
        if (!sw->counts_exact) sw->pack_size[k]++;
        sw->trials[t] = (bt_sweep_trial){.config = sw->trials[t].config,
                                         .leader = t,
                                         .run = t,
                                         .budget = trial_budget(sw, hp),
                                         .pack = k};
        sw->run_leader[t] = t;
        sw->members[t] = t;
        sw->mem_ptr[t + 1] = t + 1;
    }
    free(hp);
    return st;
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
    BT_TRY(build_index(sw));
    /* A swept budget is a prefix only without a scheduler: a scheduler owns the resource (a
     * single fixed value there merely sets max_resource, which the spec already did). */
    if (spec->sched.kind == BT_SCHED_NONE)
        for (int p = 0; p < spec->n_params; p++)
            if (sw->param_index[p] == family->budget_param) sw->budget_param = p;

    /* how many trials the space offers */
    int64_t offered = bt_space_offered(spec);
    if (offered < 0) return BT_FAIL(BT_STATUS_BAD_INPUT, "method grid needs finite values");
    sw->max_resource = spec->sched.max_resource;
    sw->maximize = spec->maximize;
    if (preview > 0)
        BT_TRY(
            bt_sched_init_plan(&sw->sched, &spec->sched, offered, sw->max_resource, sw->maximize));
    else
        BT_TRY(bt_sched_init(&sw->sched, &spec->sched, offered, sw->max_resource, sw->maximize));
    int64_t n = bt_sched_n_trials(sw->sched);
    sw->n_total = n;
    sw->grouped = sw->budget_param >= 0 && !sw->lazy && n <= BT_SWEEP_GROUP_MAX;
    sw->eager = !sw->lazy && (fixed || preview > 0 || sw->grouped);
    if (preview > 0 && n > preview) n = preview;
    sw->n_trials = n;
    sw->trials = bt_table_alloc((size_t)(n > 0 ? n : 1), sizeof *sw->trials);
    BT_CHECK_ALLOC(sw->trials);
    /* trial 0's configuration: the task, the data's preparation */
    sw->proto_config = values_alloc(spec->n_params);
    sw->proto_hp = values_alloc(family->n_params);
    if (!sw->proto_config || !sw->proto_hp) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    BT_TRY(bt_space_config(spec, spec->seed, 0, sw->proto_config));
    resolve_hp(sw, sw->proto_config, sw->proto_hp);
    if (sw->lazy) BT_TRY(bt_proposer_init(&sw->prop, spec, (int)spec->method, spec->seed, NULL));
    BT_TRY(sw->eager ? plan_eager(sw) : plan_incremental(sw));

    /* task from the first trial (objective cannot vary within a sweep: the spec checks it) */
    const bt_hparams hp0 = {sw->proto_hp};
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

/* Stores trial t's configuration (a proposal or a set one). */
static bt_status store_config(bt_sweep *sw, int64_t t, bt_value **out) {
    bt_sweep_trial *tr = &sw->trials[t];
    if (!tr->config) tr->config = values_alloc(sw->spec->n_params);
    BT_CHECK_ALLOC(tr->config);
    if (t >= sw->n_config) sw->n_config = t + 1;
    *out = tr->config;
    return BT_STATUS_OK;
}

bt_status bt_sweep_ready(bt_sweep *sw, int64_t t) {
    if (t < 0 || t >= sw->n_trials)
        return BT_FAIL(BT_STATUS_INTERNAL, "no trial %lld", (long long)t);
    if (t < sw->n_ready) return BT_STATUS_OK;
    if (t != sw->n_ready)
        return BT_FAIL(BT_STATUS_INTERNAL, "trial %lld made ready out of order (next is %lld)",
                       (long long)t, (long long)sw->n_ready);
    if (sw->lazy) {
        bt_value *config = NULL;
        BT_TRY(store_config(sw, t, &config));
        BT_TRY(bt_proposer_propose(sw->prop, t, 1, config));
    }
    BT_TRY(make_ready(sw, t));
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
    if (sw->eager) return BT_FAIL(BT_STATUS_INTERNAL, "an eager plan's configurations are fixed");
    bt_value *c = NULL;
    BT_TRY(store_config(sw, t, &c));
    for (int p = 0; p < sw->spec->n_params; p++) c[p] = spec_value(&sw->spec->params[p], config[p]);
    return make_ready(sw, t);
}

bt_status bt_sweep_observe(bt_sweep *sw, int64_t t, int64_t resource, double metric) {
    return sw->prop ? bt_proposer_observe(sw->prop, t, resource, metric) : BT_STATUS_OK;
}

int64_t bt_sweep_shape_runs(const bt_sweep *sw, int shape) {
    if (sw->eager) return sw->pack_run_ptr[shape + 1] - sw->pack_run_ptr[shape];
    if (sw->counts_exact) return sw->pack_size[shape];
    return sw->pack_size[shape] + (sw->n_trials - sw->n_ready);
}

void bt_sweep_free(bt_sweep *sw) {
    if (!sw) return;
    if (sw->data_loaded) {
        if (sw->packs && sw->packs->data_release) sw->packs->data_release(&sw->data);
        if (sw->family->data_free) sw->family->data_free(&sw->data);
    }
    bt_dataset_free(&sw->train);
    bt_dataset_free(&sw->valid);
    for (int64_t t = 0; sw->trials && t < sw->n_config; t++) free(sw->trials[t].config);
    bt_table_free(sw->trials);
    for (int k = 0; k < sw->n_packs; k++) free(sw->pack_hp[k]);
    free(sw->pack_hp);
    free(sw->pack_leader);
    bt_table_free(sw->run_leader);
    bt_table_free(sw->mem_ptr);
    bt_table_free(sw->members);
    free(sw->pack_run_ptr);
    free(sw->pack_runs);
    free(sw->pack_size);
    free(sw->param_index);
    free(sw->fixed_index);
    free(sw->proto_config);
    free(sw->proto_hp);
    bt_proposer_free(sw->prop);
    bt_sched_free(sw->sched);
    memset(sw, 0, sizeof *sw);
}

int bt_sweep_is_eager(const bt_sweep *preview) {
    return preview->grouped;
}

size_t bt_sweep_trial_bytes(const bt_sweep *sw) {
    /* the trial, its run and pack lists, the grouping's hash table while planning, and the
     * scheduler's state */
    (void)sw;
    return sizeof(bt_sweep_trial) + 5 * sizeof(int64_t) + 2 * sizeof(int64_t) +
           bt_sched_trial_bytes();
}

uint64_t bt_sweep_trial_key(const bt_sweep *sw, int64_t trial) {
    return bt_philox_key(sw->spec->seed, (uint64_t)sw->trials[trial].leader);
}
