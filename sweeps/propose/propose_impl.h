/* What propose.c hands the two models (bayes.c, tpe.c): the reports at the model's resource level
 * and the pending trials, as points of the cube, plus the seeded draws both use.
 * Ownership: everything in bt_model_data is borrowed for the duration of one call. */
#ifndef BT_PROPOSE_IMPL_H
#define BT_PROPOSE_IMPL_H

#include <math.h>
#include <stdint.h>

#include "kernels/philox.h"
#include "sweeps/propose/cube.h"
#include "sweeps/propose/propose.h"

/* Salts keep the models' draws apart from random search's (bt_space_config keys (seed, trial)). */
#define BT_PROPOSE_SALT_BAYES 0x6261796573ull /* "bayes" */
#define BT_PROPOSE_SALT_TPE 0x747065ull       /* "tpe" */

typedef struct bt_model_data {
    const bt_cube *cube;
    const unsigned char *cat; /* per coordinate: 1 = categorical */
    int dim;
    int n;                /* reports at the model level, in arrival order */
    const double *x;      /* n x dim */
    const double *y;      /* to minimize; failures already count as the worst */
    const int64_t *trial; /* their trial ids */
    int n_pend;           /* pending trials, in trial order */
    const double *xp;     /* n_pend x dim */
    const int64_t *tp;
    uint64_t seed;
} bt_model_data;

/* The GP hyperparameters of one resource level, fitted at the points of a fixed schedule of
 * report counts (propose.c owns it). */
typedef struct bt_gp_cache {
    int64_t resource;
    int n_fit;     /* reports the last fit used; 0: none yet */
    double *theta; /* BT_GP_THETA(dim) */
} bt_gp_cache;

/* n proposals for trials first .. first+n-1 into out (n x dim, snapped coordinates). */
bt_status bt_bayes_propose(const bt_model_data *m, const bt_propose_opts *o, bt_gp_cache *fit,
                           int64_t first, int n, double *out);
bt_status bt_tpe_propose(const bt_model_data *m, const bt_propose_opts *o, int64_t first, int n,
                         double *out);

/* A standard normal draw (Box-Muller) from streams s and s + 1 of (key, ctr). */
static inline double bt_propose_normal(uint64_t key, uint64_t ctr, uint64_t s) {
    double u1 = bt_philox_uniform(key, ctr, s), u2 = bt_philox_uniform(key, ctr, s + 1);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586477 * u2);
}

/* Index k of the first cumulative weight above u * total (weights need not be normalized). */
static inline int bt_propose_pick(const double *w, int n, double u) {
    double tot = 0;
    for (int i = 0; i < n; i++) tot += w[i];
    double acc = 0, t = u * tot;
    for (int i = 0; i < n; i++) {
        acc += w[i];
        if (t < acc) return i;
    }
    return n - 1;
}

/* A prior draw of coordinate d: uniform in [0, 1) for numbers, the spec's probabilities (or
 * uniform) for categorical ones; snapped. */
static inline double bt_propose_prior(const bt_cube *c, int d, double u) {
    const bt_cube_dim *dm = &c->dims[d];
    if (!dm->categorical) return bt_cube_snap(c, d, u);
    const bt_param_spec *ps = &c->spec->params[dm->param];
    if (ps->probs) return bt_propose_pick(ps->probs, dm->n_choices, u);
    int k = (int)(u * dm->n_choices);
    return k >= dm->n_choices ? dm->n_choices - 1 : k;
}

#endif
