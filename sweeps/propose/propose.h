/* bt_proposer: the model-based search methods -- `bayes` (a Gaussian process with expected
 * improvement, W&B's meaning) and `tpe` (the tree-structured Parzen estimator as Optuna's
 * TPESampler has it) -- as a pure state machine of observe and propose calls.
 *
 * Trial ids run from 0 over the sweep's life. The first n_initial trials are random search's
 * trials (bt_space_config with the same seed); later ones come from the model, fitted to the
 * reports at one resource level: the highest resource with at least n_min reports (BOHB's rule),
 * else the level with the most reports. A proposed trial without any report yet is pending; a
 * batch treats pending trials by a constant liar (docs/sweep-format.md, "Methods bayes and tpe").
 *
 * Determinism: the proposals are a pure function of (spec, method, seed, options, the ordered
 * sequence of calls) -- no clock, no global state, no threads; every random draw comes from Philox
 * keyed by (seed, trial id or the batch's first trial). Replaying the same calls gives the same
 * bytes (a resumed sweep replays its calls). The GP's hyperparameters are fitted at fixed report
 * counts from the reports in arrival order, so they too depend on the reports alone.
 *
 * Ownership: the proposer borrows the spec, which must outlive it; proposed string values are
 * borrowed from the spec. Not thread-safe (one proposer per sweep, driven by one thread). */
#ifndef BT_PROPOSE_H
#define BT_PROPOSE_H

#include <stdint.h>

#include "base/status.h"
#include "base/value.h"
#include "sweeps/spec/spec.h"

/* The value a pending trial is assumed to report in a bayes batch (constant liar). */
typedef enum bt_propose_liar {
    BT_LIAR_DEFAULT = 0,
    BT_LIAR_BEST, /* the best reported value (optimistic: batches cluster more) */
    BT_LIAR_MEAN, /* the mean reported value */
    BT_LIAR_WORST /* the worst reported value (pessimistic: batches spread more) */
} bt_propose_liar;

/* Options; a zero field takes its default. */
typedef struct bt_propose_opts {
    int n_initial; /* random trials before the model (default: see propose.c, documented) */
    int n_min;     /* reports a resource level needs to be modelled (default dims + 3) */
    /* bayes */
    int candidates;  /* random expected-improvement candidates per batch (default 512) */
    int max_fit;     /* reports the GP is fitted to at most: the best half and the most recent
                        (default 128) */
    int max_pending; /* pending trials a batch takes into account, most recent first (256) */
    int liar;        /* bt_propose_liar (default BT_LIAR_MEAN) */
    /* tpe */
    int ei_candidates;   /* draws from l(x) per proposal (default 24, Optuna's) */
    int univariate;      /* 1: one estimator per parameter; default multivariate, as Optuna >= 4 */
    double prior_weight; /* weight of the prior component (default 1.0) */
    int no_liar;         /* 1: pending trials are ignored (default: they count as the worst) */
} bt_propose_opts;

typedef struct bt_proposer bt_proposer;

/* A proposer for method BT_METHOD_BAYES or BT_METHOD_TPE over spec's parameters; the metric is
 * maximized when spec->maximize. opts may be NULL. */
bt_status bt_proposer_init(bt_proposer **out, const bt_spec *spec, int method, uint64_t seed,
                           const bt_propose_opts *opts);
void bt_proposer_free(bt_proposer *p);

/* Configurations of trials first .. first+n-1 (out: n * spec->n_params values). Trials already
 * proposed get their configuration again; new ones must follow the last proposed trial without a
 * gap (a gap inside the initial design is filled with its random trials). */
bt_status bt_proposer_propose(bt_proposer *p, int64_t first, int n, bt_value *out);

/* Trial t reported `metric` at `resource` (any int64 level: rounds, epochs; 0 without a
 * scheduler). NaN or infinite: the trial failed, and counts as the worst value reported at that
 * level (so the model steers away from where trials fail). A second report of the same (t,
 * resource) replaces the first. Trial t must have been proposed (or lie in the initial design). */
bt_status bt_proposer_observe(bt_proposer *p, int64_t t, int64_t resource, double metric);

/* The resource level the next model proposal learns from, or -1 when it would be random
 * (for tests and logs). */
int64_t bt_proposer_model_resource(const bt_proposer *p);

/* The options in force after defaults (for logs and results). */
bt_propose_opts bt_proposer_options(const bt_proposer *p);

#endif
