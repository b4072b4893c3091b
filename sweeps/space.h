/* bt_space: the search space of a sweep -- grid expansion and seeded sampling of every W&B
 * distribution. A trial's configuration is a pure function of (spec, seed, trial id).
 * Ownership: configurations are arrays of bt_value the caller provides; string values are
 * borrowed from the spec. */
#ifndef BT_SPACE_H
#define BT_SPACE_H

#include <stdint.h>

#include "sweeps/spec/spec.h"
#include "base/status.h"

/* Number of grid points (product of the parameters' counts), or -1 if a parameter has no grid or
 * the product overflows int64. */
int64_t bt_space_grid_size(const bt_spec *s);

/* The trials the space offers the scheduler: a grid's points, at most run_cap of them, or run_cap
 * for the other methods (0: unset); -1 for a grid without one (bt_space_grid_size's -1). */
int64_t bt_space_offered(const bt_spec *s);

/* The points one parameter takes in a grid, as W&B's grid search expands it: value / values as
 * listed; int_uniform every integer of [min, max] ascending (Python's range(min, max + 1));
 * q_uniform numpy.arange(min, max, q) -- min, min + q, ... below max (max itself excluded),
 * integers when min, max and q are all written as integers, computed as numpy does. Other
 * distributions have no grid: -1, as is a count above 2^62. */
int64_t bt_space_grid_count(const bt_param_spec *p);
/* Point i (0 <= i < bt_space_grid_count(p)) of that list. */
bt_value bt_space_grid_value(const bt_param_spec *p, int64_t i);

/* Fills out[0..s->n_params) with trial `trial`'s values. Grid: the trial-th point of the cartesian
 * product, the LAST parameter in file order varying fastest (documented in docs/sweep-format.md);
 * random: sampled from Philox keyed by (seed, trial), one counter per parameter. */
bt_status bt_space_config(const bt_spec *s, uint64_t seed, int64_t trial, bt_value *out);

/* Draws one value of parameter p for a uniform stream u in [0,1) sources (exposed for tests). */
bt_value bt_space_sample_param(const bt_param_spec *p, uint64_t key, uint64_t counter);

#endif
