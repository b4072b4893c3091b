/* bt_space: the search space of a sweep -- grid expansion and seeded sampling of every W&B
 * distribution. A trial's configuration is a pure function of (spec, seed, trial id).
 * Ownership: configurations are arrays of bt_value the caller provides; string values are
 * borrowed from the spec. */
#ifndef BT_SPACE_H
#define BT_SPACE_H

#include <stdint.h>

#include "sweeps/spec/spec.h"
#include "base/status.h"

/* Number of grid points (product of the value counts), or -1 if a parameter is continuous or the
 * product overflows int64. */
int64_t bt_space_grid_size(const bt_spec *s);

/* Fills out[0..s->n_params) with trial `trial`'s values. Grid: the trial-th point of the cartesian
 * product, the LAST parameter in file order varying fastest (documented in docs/sweep-format.md);
 * random: sampled from Philox keyed by (seed, trial), one counter per parameter. */
bt_status bt_space_config(const bt_spec *s, uint64_t seed, int64_t trial, bt_value *out);

/* Draws one value of parameter p for a uniform stream u in [0,1) sources (exposed for tests). */
bt_value bt_space_sample_param(const bt_param_spec *p, uint64_t key, uint64_t counter);

#endif
