/* bt_cube: a sweep's search space as the unit cube the model-based proposers (bayes, tpe) work in.
 * Every modelled parameter (all but constants) is one coordinate. Numbers map to [0, 1]: linearly,
 * in log space for the log distributions, and through their CDF for the unbounded ones (normal,
 * log_normal, beta), so the prior is uniform in the cube. A categorical coordinate holds the value
 * index (0 .. k-1). Integer and q-distributions are discrete: snapping a coordinate (decode, then
 * encode) gives its level's point, and each level owns a cell of [0, 1].
 * Ownership: a bt_cube borrows the spec (which must outlive it) and owns its dimension table;
 * decoded string values are borrowed from the spec. */
#ifndef BT_CUBE_H
#define BT_CUBE_H

#include "base/status.h"
#include "base/value.h"
#include "sweeps/spec/spec.h"

typedef struct bt_cube_dim {
    int param;       /* index in spec->params */
    int categorical; /* 1: the coordinate is a value index */
    int n_choices;   /* categorical: how many values */
    int discrete;    /* a number with levels (int_uniform or a q-distribution) */
    double lo, hi;   /* linear and log maps: the ends of the (log) range */
    double lbeta;    /* beta: log B(a, b) */
    double *table;   /* beta: the CDF at x = j / BT_CUBE_TABLE, j = 0..BT_CUBE_TABLE */
} bt_cube_dim;

#define BT_CUBE_TABLE 256

typedef struct bt_cube {
    const bt_spec *spec;
    bt_cube_dim *dims;
    int n_dims;
} bt_cube;

/* The cube of spec's parameters; constants get no coordinate. */
bt_status bt_cube_init(bt_cube *c, const bt_spec *spec);
void bt_cube_free(bt_cube *c);

/* u[0..n_dims) of a configuration (spec->n_params values). BT_STATUS_INTERNAL when a categorical
 * value is not one of the parameter's values. */
bt_status bt_cube_encode(const bt_cube *c, const bt_value *config, double *u);
/* The configuration (every parameter, constants included) of a point of the cube. */
void bt_cube_decode(const bt_cube *c, const double *u, bt_value *config);
/* Coordinate d's value at u, as the trial gets it. */
bt_value bt_cube_decode_dim(const bt_cube *c, int d, double u);
/* encode(decode(u)) for coordinate d: the point of u's level for a discrete coordinate, u itself
 * (within rounding) for a continuous one; a categorical index is returned as is. */
double bt_cube_snap(const bt_cube *c, int d, double u);
/* The cell [lo, hi] of [0, 1] that decodes to the same level as u (discrete coordinates). */
void bt_cube_cell(const bt_cube *c, int d, double u, double *lo, double *hi);

/* The standard normal CDF and its inverse (Acklam's rational approximation with one Halley step,
 * accurate to about 1e-15; p is clamped to (0, 1)). */
double bt_norm_cdf(double x);
double bt_norm_ppf(double p);

#endif
