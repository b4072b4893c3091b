/* The proposer's state machine (propose.h): the trials proposed so far (configuration and cube
 * point), the reports in arrival order with their resource levels, the choice of the level the
 * model learns from (BOHB's rule), the initial design and the hand-over to bayes.c and tpe.c. */
#include "sweeps/propose/propose.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sweeps/propose/gp.h"
#include "sweeps/propose/propose_impl.h"
#include "sweeps/space.h"

typedef struct report {
    int64_t t, r;
    double y;  /* as reported */
    int next;  /* the trial's previous report, or -1 */
    int level; /* index in levels */
} report;

typedef struct level {
    int64_t r;
    int n, n_finite;
    bt_gp_cache fit;
} level;

struct bt_proposer {
    const bt_spec *spec;
    bt_spec random_spec; /* the spec with method random: the initial design's draws */
    int method;
    uint64_t seed;
    bt_propose_opts o;
    bt_cube cube;
    int dim;
    unsigned char *cat;
    int64_t n_trials, cap_trials;
    double *u;     /* cap_trials x dim: cube points */
    bt_value *cfg; /* cap_trials x n_params */
    int *last;     /* per trial: its latest report, or -1 */
    report *reports;
    int n_reports, cap_reports;
    level *levels;
    int n_levels;
};

/* The initial design's default size: random search's first trials before any model. bayes:
 * 2 per parameter, at least 5 and at most 20; tpe: 10, Optuna's n_startup_trials. */
static int default_initial(int method, int dim) {
    if (method == BT_METHOD_TPE) return 10;
    int n = 2 * dim;
    return n < 5 ? 5 : (n > 20 ? 20 : n);
}

static bt_propose_opts resolve(const bt_propose_opts *in, int method, int dim) {
    bt_propose_opts o;
    memset(&o, 0, sizeof o);
    if (in) o = *in;
    if (o.n_initial <= 0) o.n_initial = default_initial(method, dim);
    if (o.n_min <= 0) o.n_min = dim + 3;
    if (o.candidates <= 0) o.candidates = 512;
    if (o.max_fit <= 0) o.max_fit = 96;
    if (o.max_fit < 2) o.max_fit = 2;
    if (o.max_pending <= 0) o.max_pending = 256;
    if (o.liar <= BT_LIAR_DEFAULT || o.liar > BT_LIAR_WORST) o.liar = BT_LIAR_BEST;
    if (o.ei_candidates <= 0) o.ei_candidates = 24;
    if (!(o.prior_weight > 0)) o.prior_weight = 1.0;
    return o;
}

bt_status bt_proposer_init(bt_proposer **out, const bt_spec *spec, int method, uint64_t seed,
                           const bt_propose_opts *opts) {
    *out = NULL;
    if (method != BT_METHOD_BAYES && method != BT_METHOD_TPE)
        return BT_FAIL(BT_STATUS_INTERNAL, "propose: method %d is not bayes or tpe", method);
    bt_proposer *p = calloc(1, sizeof *p);
    BT_CHECK_ALLOC(p);
    p->spec = spec;
    p->random_spec = *spec;
    p->random_spec.method = BT_METHOD_RANDOM;
    p->method = method;
    p->seed = seed;
    bt_status st = bt_cube_init(&p->cube, spec);
    if (st != BT_STATUS_OK) {
        bt_proposer_free(p);
        return st;
    }
    p->dim = p->cube.n_dims;
    p->o = resolve(opts, method, p->dim);
    p->cat = calloc((size_t)p->dim + 1, 1);
    if (!p->cat) {
        bt_proposer_free(p);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory: proposer");
    }
    for (int d = 0; d < p->dim; d++) p->cat[d] = (unsigned char)p->cube.dims[d].categorical;
    *out = p;
    return BT_STATUS_OK;
}

void bt_proposer_free(bt_proposer *p) {
    if (!p) return;
    bt_cube_free(&p->cube);
    free(p->cat);
    free(p->u);
    free(p->cfg);
    free(p->last);
    free(p->reports);
    for (int i = 0; i < p->n_levels; i++) free(p->levels[i].fit.theta);
    free(p->levels);
    free(p);
}

bt_propose_opts bt_proposer_options(const bt_proposer *p) {
    return p->o;
}

static bt_status grow_trials(bt_proposer *p, int64_t need) {
    if (need <= p->cap_trials) return BT_STATUS_OK;
    int64_t cap = p->cap_trials ? p->cap_trials : 64;
    while (cap < need) cap *= 2;
    size_t np = (size_t)p->spec->n_params, dim = (size_t)p->dim;
    double *u = realloc(p->u, sizeof(double) * ((size_t)cap * dim + 1));
    if (u) p->u = u;
    bt_value *cfg = realloc(p->cfg, sizeof(bt_value) * ((size_t)cap * np + 1));
    if (cfg) p->cfg = cfg;
    int *last = realloc(p->last, sizeof(int) * (size_t)cap);
    if (last) p->last = last;
    if (!u || !cfg || !last)
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory: %lld trials", (long long)need);
    p->cap_trials = cap;
    return BT_STATUS_OK;
}

/* Records trial t (== n_trials) with configuration cfg. */
static bt_status add_trial(bt_proposer *p, const bt_value *cfg) {
    BT_TRY(grow_trials(p, p->n_trials + 1));
    int64_t t = p->n_trials;
    size_t np = (size_t)p->spec->n_params;
    memcpy(p->cfg + (size_t)t * np, cfg, sizeof(bt_value) * np);
    BT_TRY(bt_cube_encode(&p->cube, cfg, p->u + (size_t)t * p->dim));
    p->last[t] = -1;
    p->n_trials++;
    return BT_STATUS_OK;
}

/* Random search's trial n_trials (the initial design, or no model yet). */
static bt_status add_random(bt_proposer *p) {
    bt_value stack[16], *cfg = stack;
    int np = p->spec->n_params;
    if (np > 16) cfg = malloc(sizeof(bt_value) * (size_t)np);
    BT_CHECK_ALLOC(cfg);
    bt_status st = bt_space_config(&p->random_spec, p->seed, p->n_trials, cfg);
    if (st == BT_STATUS_OK) st = add_trial(p, cfg);
    if (cfg != stack) free(cfg);
    return st;
}

/* The level the model learns from: the highest resource with at least n_min reports, else the
 * one with the most reports (ties: the highest); -1 without reports. */
static int model_level(const bt_proposer *p) {
    int best = -1;
    for (int i = 0; i < p->n_levels; i++)
        if (p->levels[i].n >= p->o.n_min && (best < 0 || p->levels[i].r > p->levels[best].r))
            best = i;
    if (best < 0)
        for (int i = 0; i < p->n_levels; i++) {
            const level *l = &p->levels[i];
            if (best < 0 || l->n > p->levels[best].n ||
                (l->n == p->levels[best].n && l->r > p->levels[best].r))
                best = i;
        }
    if (best >= 0 && (p->levels[best].n < 2 || p->levels[best].n_finite < 1)) return -1;
    return best;
}

int64_t bt_proposer_model_resource(const bt_proposer *p) {
    int l = p->dim > 0 ? model_level(p) : -1;
    return l < 0 ? -1 : p->levels[l].r;
}

typedef struct gathered {
    double *x, *y, *xp;
    int64_t *trial, *tp;
} gathered;

static void gathered_free(gathered *g) {
    free(g->x);
    free(g->y);
    free(g->xp);
    free(g->trial);
    free(g->tp);
}

/* The reports at level li (failures as the worst) and the pending trials, as model data. */
static bt_status gather(const bt_proposer *p, int li, bt_model_data *m, gathered *g) {
    const level *lv = &p->levels[li];
    int dim = p->dim, n = lv->n;
    int64_t np = 0;
    for (int64_t t = 0; t < p->n_trials; t++) np += p->last[t] < 0;
    memset(g, 0, sizeof *g);
    g->x = malloc(sizeof(double) * ((size_t)n * (size_t)dim + 1));
    g->y = malloc(sizeof(double) * (size_t)n);
    g->trial = malloc(sizeof(int64_t) * (size_t)n);
    g->xp = malloc(sizeof(double) * ((size_t)np * (size_t)dim + 1));
    g->tp = malloc(sizeof(int64_t) * ((size_t)np + 1));
    if (!g->x || !g->y || !g->trial || !g->xp || !g->tp)
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory: %d reports", n);
    double worst = -INFINITY;
    int k = 0;
    for (int i = 0; i < p->n_reports; i++) {
        const report *r = &p->reports[i];
        if (r->level != li) continue;
        double y = p->spec->maximize ? -r->y : r->y;
        if (isfinite(y)) worst = fmax(worst, y);
        memcpy(g->x + (size_t)k * dim, p->u + (size_t)r->t * dim, sizeof(double) * (size_t)dim);
        g->y[k] = y;
        g->trial[k++] = r->t;
    }
    for (int j = 0; j < k; j++)
        if (!isfinite(g->y[j])) g->y[j] = worst;
    k = 0;
    for (int64_t t = 0; t < p->n_trials; t++)
        if (p->last[t] < 0) {
            memcpy(g->xp + (size_t)k * dim, p->u + (size_t)t * dim, sizeof(double) * (size_t)dim);
            g->tp[k++] = t;
        }
    *m = (bt_model_data){&p->cube, p->cat,  dim,   n,     g->x,   g->y,
                         g->trial, (int)np, g->xp, g->tp, p->seed};
    return BT_STATUS_OK;
}

/* n trials from the model (the level li) appended after the current last trial. */
static bt_status add_model(bt_proposer *p, int li, int n) {
    level *lv = &p->levels[li];
    if (p->method == BT_METHOD_BAYES && !lv->fit.theta) {
        lv->fit.theta = calloc((size_t)BT_GP_THETA(p->dim), sizeof(double));
        BT_CHECK_ALLOC(lv->fit.theta);
    }
    bt_model_data m;
    gathered g;
    bt_status st = gather(p, li, &m, &g);
    int np = p->spec->n_params;
    double *u = malloc(sizeof(double) * ((size_t)n * (size_t)p->dim + 1));
    bt_value *cfg = malloc(sizeof(bt_value) * ((size_t)np + 1));
    if (st == BT_STATUS_OK && (!u || !cfg))
        st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory: %d proposals", n);
    if (st == BT_STATUS_OK)
        st = p->method == BT_METHOD_BAYES ? bt_bayes_propose(&m, &p->o, &lv->fit, p->n_trials, n, u)
                                          : bt_tpe_propose(&m, &p->o, p->n_trials, n, u);
    for (int b = 0; st == BT_STATUS_OK && b < n; b++) {
        bt_cube_decode(&p->cube, u + (size_t)b * p->dim, cfg);
        st = add_trial(p, cfg);
    }
    gathered_free(&g);
    free(u);
    free(cfg);
    return st;
}

bt_status bt_proposer_propose(bt_proposer *p, int64_t first, int n, bt_value *out) {
    if (first < 0 || n < 0)
        return BT_FAIL(BT_STATUS_INTERNAL, "propose: bad trial range %lld+%d", (long long)first, n);
    if (first > p->n_trials && first > p->o.n_initial)
        return BT_FAIL(BT_STATUS_INTERNAL,
                       "propose: trial %lld asked before trial %lld (trial ids are consecutive)",
                       (long long)first, (long long)p->n_trials);
    while (p->n_trials < first) BT_TRY(add_random(p)); /* a gap in the initial design */
    int64_t end = first + n;
    while (p->n_trials < end && p->n_trials < p->o.n_initial) BT_TRY(add_random(p));
    if (p->n_trials < end) {
        int li = p->dim > 0 ? model_level(p) : -1;
        if (li >= 0) BT_TRY(add_model(p, li, (int)(end - p->n_trials)));
        while (p->n_trials < end) BT_TRY(add_random(p));
    }
    size_t np = (size_t)p->spec->n_params;
    if (n > 0) memcpy(out, p->cfg + (size_t)first * np, sizeof(bt_value) * np * (size_t)n);
    return BT_STATUS_OK;
}

static int level_of(bt_proposer *p, int64_t r) {
    for (int i = 0; i < p->n_levels; i++)
        if (p->levels[i].r == r) return i;
    level *nl = realloc(p->levels, sizeof(level) * (size_t)(p->n_levels + 1));
    if (!nl) return -1;
    p->levels = nl;
    memset(&nl[p->n_levels], 0, sizeof *nl);
    nl[p->n_levels].r = r;
    nl[p->n_levels].fit.resource = r;
    return p->n_levels++;
}

bt_status bt_proposer_observe(bt_proposer *p, int64_t t, int64_t resource, double metric) {
    if (t < 0 || (t >= p->n_trials && t >= p->o.n_initial))
        return BT_FAIL(BT_STATUS_INTERNAL, "propose: report for trial %lld, which was not proposed",
                       (long long)t);
    while (p->n_trials <= t) BT_TRY(add_random(p));
    for (int i = p->last[t]; i >= 0; i = p->reports[i].next) {
        report *r = &p->reports[i];
        if (r->r != resource) continue;
        level *lv = &p->levels[r->level];
        lv->n_finite += (isfinite(metric) != 0) - (isfinite(r->y) != 0);
        r->y = metric;
        lv->fit.n_fit = 0; /* the fits saw the old value: refit from the start */
        return BT_STATUS_OK;
    }
    int li = level_of(p, resource);
    if (li < 0) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory: resource levels");
    if (p->n_reports == p->cap_reports) {
        int cap = p->cap_reports ? 2 * p->cap_reports : 256;
        report *nr = realloc(p->reports, sizeof(report) * (size_t)cap);
        if (!nr) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory: %d reports", cap);
        p->reports = nr;
        p->cap_reports = cap;
    }
    p->reports[p->n_reports] = (report){t, resource, metric, p->last[t], li};
    p->last[t] = p->n_reports++;
    p->levels[li].n++;
    p->levels[li].n_finite += isfinite(metric) != 0;
    return BT_STATUS_OK;
}
