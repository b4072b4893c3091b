/* bt_gp: a Gaussian process on the unit cube for method bayes. Kernel: Matern 5/2 with one
 * lengthscale per coordinate (ARD), where a categorical coordinate adds [a != b] / l^2 to the
 * squared distance (one-hot with one lengthscale per parameter); a constant signal variance sf2
 * and a noise variance sn2. Hyperparameters theta = (log l_0 .. log l_{dim-1}, log sf2, log sn2)
 * are fitted by maximizing the marginal likelihood times weak priors (iRprop-, a fixed number of
 * steps). Points are appended one at a time (the Cholesky factor grows by a row), and a candidate
 * pool keeps L^-1 k(X, c) per candidate so a new point updates every candidate in O(n).
 * Ownership: bt_gp and bt_gp_pool own their arrays; `cat` is borrowed. Pure, single-threaded. */
#ifndef BT_GP_H
#define BT_GP_H

#include "base/status.h"

#define BT_GP_THETA(dim) ((dim) + 2)

typedef struct bt_gp {
    int dim;
    const unsigned char *cat; /* per coordinate: 1 = categorical; borrowed */
    double *inv_ell2;         /* 1 / l^2 per coordinate */
    double sf2, sn2;
    int n, cap;
    double *x; /* cap x dim */
    double *l; /* cap x cap, row-major lower Cholesky factor of K + sn2 I */
    double *z; /* L^-1 y */
} bt_gp;

/* An empty GP for up to cap points with hyperparameters theta. */
bt_status bt_gp_init(bt_gp *g, int dim, const unsigned char *cat, const double *theta, int cap);
void bt_gp_free(bt_gp *g);
/* Appends point x with target y (O(n^2)); BT_STATUS_INTERNAL past cap. */
bt_status bt_gp_add(bt_gp *g, const double *x, double y);
/* Posterior mean and latent variance at x; work holds g->n doubles. */
void bt_gp_predict(const bt_gp *g, const double *x, double *mu, double *var, double *work);

/* log of expected improvement below `best` of N(mu, var), accurate far into the tail (the
 * asymptotic series of the Mills ratio below z = -8), so candidates with tiny EI still rank. */
double bt_log_ei(double mu, double var, double best);

/* Fits theta (in: the start; out: the best point seen) to n points x (n x dim) with standardized
 * targets y by `iters` iRprop- steps on the log marginal likelihood plus log priors. */
bt_status bt_gp_fit(int dim, const unsigned char *cat, const double *x, const double *y, int n,
                    double *theta, int iters);
/* The fitted objective (log marginal likelihood + log priors) at theta; -inf if K is singular. */
double bt_gp_objective(int dim, const unsigned char *cat, const double *x, const double *y, int n,
                       const double *theta);
/* The default start: every lengthscale ell, sf2 = 1, sn2 = 1e-3. */
void bt_gp_default_theta(int dim, double ell, double *theta);

/* Candidates scored against a GP that grows by pending points. */
typedef struct bt_gp_pool {
    int m, dim, n, cap;
    double *c;   /* m x dim candidates (copied) */
    double *v;   /* cap x m: row k holds (L^-1 K(X, C))_k for every candidate */
    double *mu;  /* posterior mean per candidate */
    double *var; /* latent posterior variance per candidate (may be -0 by rounding) */
} bt_gp_pool;

bt_status bt_gp_pool_init(bt_gp_pool *p, const bt_gp *g, const double *cand, int m);
/* Brings the pool up to date after points were added to g. */
void bt_gp_pool_update(bt_gp_pool *p, const bt_gp *g);
void bt_gp_pool_free(bt_gp_pool *p);

#endif
