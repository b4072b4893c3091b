/* The Gaussian process of method bayes (gp.h): the Matern 5/2 ARD kernel with an overlap term for
 * categorical coordinates, the growing Cholesky factor, posterior predictions for single points
 * and candidate pools, log expected improvement, and the hyperparameter fit (iRprop- on the log
 * marginal likelihood with analytic gradients, Blum & Riedmiller 2013). */
#include "sweeps/propose/gp.h"

#include "sweeps/propose/cube.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SQRT5 2.23606797749978969641

/* Bounds of the hyperparameters (log space) and their weak priors: lengthscales Gamma(3, 6)
 * (mode 0.5 of the cube's side), log sf2 ~ N(0, 1.5^2) (targets are standardized), log sn2 ~
 * N(-6, 3^2) (little noise unless the data say otherwise). */
static const double LOG_ELL_MIN = -4.6, LOG_ELL_MAX = 3.9;  /* 0.01 .. 50 */
static const double LOG_SF2_MIN = -4.6, LOG_SF2_MAX = 4.6;  /* 0.01 .. 100 */
static const double LOG_SN2_MIN = -13.8, LOG_SN2_MAX = 0.0; /* 1e-6 .. 1 */

static double clampd(double x, double lo, double hi) {
    return x < lo ? lo : (x > hi ? hi : x);
}

/* sum a[k] b[k] in four interleaved partial sums: a fixed order (so bit-reproducible) that does
 * not wait on one accumulator's latency */
static double dot(const double *a, const double *b, int n) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int k = 0;
    for (; k + 4 <= n; k += 4) {
        s0 += a[k] * b[k];
        s1 += a[k + 1] * b[k + 1];
        s2 += a[k + 2] * b[k + 2];
        s3 += a[k + 3] * b[k + 3];
    }
    for (; k < n; k++) s0 += a[k] * b[k];
    return (s0 + s1) + (s2 + s3);
}

static double r2_of(int dim, const unsigned char *cat, const double *inv_ell2, const double *a,
                    const double *b) {
    double r2 = 0;
    for (int d = 0; d < dim; d++) {
        if (cat && cat[d]) {
            if (a[d] != b[d]) r2 += inv_ell2[d];
        } else {
            double t = a[d] - b[d];
            r2 += t * t * inv_ell2[d];
        }
    }
    return r2;
}

static double matern(double sf2, double r2) {
    double r = sqrt(r2);
    return sf2 * (1 + SQRT5 * r + (5.0 / 3.0) * r2) * exp(-SQRT5 * r);
}

static double kernel(const bt_gp *g, const double *a, const double *b) {
    return matern(g->sf2, r2_of(g->dim, g->cat, g->inv_ell2, a, b));
}

void bt_gp_default_theta(int dim, double ell, double *theta) {
    for (int d = 0; d < dim; d++) theta[d] = log(ell);
    theta[dim] = 0;
    theta[dim + 1] = log(1e-3);
}

bt_status bt_gp_init(bt_gp *g, int dim, const unsigned char *cat, const double *theta, int cap) {
    memset(g, 0, sizeof *g);
    g->dim = dim;
    g->cat = cat;
    g->cap = cap;
    g->inv_ell2 = malloc(sizeof(double) * (size_t)(dim > 0 ? dim : 1));
    g->x = malloc(sizeof(double) * (size_t)(cap * (dim > 0 ? dim : 1) + 1));
    g->l = malloc(sizeof(double) * ((size_t)cap * (size_t)cap + 1));
    g->z = malloc(sizeof(double) * (size_t)(cap + 1));
    if (!g->inv_ell2 || !g->x || !g->l || !g->z) {
        bt_gp_free(g);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory: gaussian process of %d points", cap);
    }
    for (int d = 0; d < dim; d++) g->inv_ell2[d] = exp(-2 * theta[d]);
    g->sf2 = exp(theta[dim]);
    g->sn2 = exp(theta[dim + 1]);
    return BT_STATUS_OK;
}

void bt_gp_free(bt_gp *g) {
    if (!g) return;
    free(g->inv_ell2);
    free(g->x);
    free(g->l);
    free(g->z);
    memset(g, 0, sizeof *g);
}

bt_status bt_gp_add(bt_gp *g, const double *x, double y) {
    if (g->n >= g->cap)
        return BT_FAIL(BT_STATUS_INTERNAL, "propose: gaussian process full (%d points)", g->cap);
    int n = g->n, cap = g->cap, dim = g->dim;
    double *row = g->l + (size_t)n * cap;
    double ss = 0, sz = 0;
    for (int j = 0; j < n; j++) {
        const double *lj = g->l + (size_t)j * cap;
        row[j] = (kernel(g, g->x + (size_t)j * dim, x) - dot(lj, row, j)) / lj[j];
        ss += row[j] * row[j];
        sz += row[j] * g->z[j];
    }
    /* a duplicate point leaves only the noise; the floor keeps the factor usable regardless */
    double d = g->sf2 + g->sn2 - ss;
    double floor_ = 1e-9 * (g->sf2 + g->sn2);
    row[n] = sqrt(d > floor_ ? d : floor_);
    g->z[n] = (y - sz) / row[n];
    memcpy(g->x + (size_t)n * dim, x, sizeof(double) * (size_t)dim);
    g->n++;
    return BT_STATUS_OK;
}

void bt_gp_predict(const bt_gp *g, const double *x, double *mu, double *var, double *work) {
    double m = 0, v = g->sf2;
    for (int j = 0; j < g->n; j++) {
        const double *lj = g->l + (size_t)j * g->cap;
        work[j] = (kernel(g, g->x + (size_t)j * g->dim, x) - dot(lj, work, j)) / lj[j];
        m += work[j] * g->z[j];
        v -= work[j] * work[j];
    }
    *mu = m;
    *var = v > 0 ? v : 0;
}

double bt_log_ei(double mu, double var, double best) {
    double sd = sqrt(var);
    if (!(sd > 1e-12)) return best > mu ? log(best - mu) : -1e300;
    double z = (best - mu) / sd;
    double lh;
    if (z > -8) {
        double h = z * bt_norm_cdf(z) + exp(-0.5 * z * z) * 0.39894228040143267794;
        lh = h > 0 ? log(h) : -1e300;
    } else { /* h(z) = phi(z) / z^2 (1 - 3/z^2 + 15/z^4 - 105/z^6 ...) */
        double iz2 = 1 / (z * z);
        lh = -0.5 * z * z - 0.91893853320467274178 + log(iz2) +
             log(1 - 3 * iz2 + 15 * iz2 * iz2 - 105 * iz2 * iz2 * iz2);
    }
    return lh + log(sd);
}

/* ---- the pool ---------------------------------------------------------------------------- */

bt_status bt_gp_pool_init(bt_gp_pool *p, const bt_gp *g, const double *cand, int m) {
    memset(p, 0, sizeof *p);
    p->m = m;
    p->dim = g->dim;
    p->cap = g->cap;
    p->c = malloc(sizeof(double) * ((size_t)m * (size_t)g->dim + 1));
    p->v = malloc(sizeof(double) * ((size_t)m * (size_t)g->cap + 1));
    p->mu = malloc(sizeof(double) * (size_t)(m + 1));
    p->var = malloc(sizeof(double) * (size_t)(m + 1));
    if (!p->c || !p->v || !p->mu || !p->var) {
        bt_gp_pool_free(p);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory: %d candidates", m);
    }
    memcpy(p->c, cand, sizeof(double) * (size_t)m * (size_t)g->dim);
    for (int i = 0; i < m; i++) {
        p->mu[i] = 0;
        p->var[i] = g->sf2;
    }
    bt_gp_pool_update(p, g);
    return BT_STATUS_OK;
}

/* Row k of V = L^-1 K(X, C) for every candidate at once: V_k = (K(x_k, C) - sum_j L_kj V_j) / L_kk
 * -- axpys over the candidates, which vectorize without reordering any sum. */
void bt_gp_pool_update(bt_gp_pool *p, const bt_gp *g) {
    int m = p->m;
    for (int k = p->n; k < g->n; k++) {
        const double *lk = g->l + (size_t)k * g->cap;
        const double *xk = g->x + (size_t)k * g->dim;
        double *vk = p->v + (size_t)k * m;
        for (int i = 0; i < m; i++) vk[i] = kernel(g, xk, p->c + (size_t)i * p->dim);
        for (int j = 0; j < k; j++) {
            const double *vj = p->v + (size_t)j * m;
            double a = lk[j];
            for (int i = 0; i < m; i++) vk[i] -= a * vj[i];
        }
        double inv = 1 / lk[k], zk = g->z[k];
        for (int i = 0; i < m; i++) {
            double v = vk[i] * inv;
            vk[i] = v;
            p->mu[i] += v * zk;
            p->var[i] -= v * v;
        }
    }
    p->n = g->n; /* var may dip below 0 by rounding: bt_log_ei treats that as no variance */
}

void bt_gp_pool_free(bt_gp_pool *p) {
    if (!p) return;
    free(p->c);
    free(p->v);
    free(p->mu);
    free(p->var);
    memset(p, 0, sizeof *p);
}

/* ---- the hyperparameter fit -------------------------------------------------------------- */

typedef struct fit_work {
    int n, dim;
    const unsigned char *cat;
    const double *y;
    double *d2;    /* pairs x dim: squared coordinate distances (categorical: 0 or 1) */
    double *kp;    /* pairs: kernel values */
    double *gp;    /* pairs: sf2 (5/3) (1 + sqrt5 r) exp(-sqrt5 r), the lengthscale factor */
    double *l;     /* n x n Cholesky factor */
    double *li;    /* n x n: row j holds column j of L^-1 */
    double *alpha; /* K^-1 y */
    double *ie2;   /* 1 / l^2 */
} fit_work;

#define PAIR(i, j) ((size_t)(i) * (size_t)((i)-1) / 2 + (size_t)(j))

static int cholesky(double *a, int n) {
    for (int i = 0; i < n; i++) {
        double *ai = a + (size_t)i * n;
        for (int j = 0; j <= i; j++) {
            const double *aj = a + (size_t)j * n;
            double s = ai[j] - dot(ai, aj, j);
            if (i == j) {
                if (!(s > 0)) return -1;
                ai[i] = sqrt(s);
            } else {
                ai[j] = s / aj[j];
            }
        }
    }
    return 0;
}

/* Log marginal likelihood + log priors at theta (constants dropped) and, when grad is given, its
 * gradient. -inf when the kernel matrix is not positive definite. */
static double objective(fit_work *w, const double *theta, double *grad) {
    int n = w->n, dim = w->dim;
    double sf2 = exp(theta[dim]), sn2 = exp(theta[dim + 1]);
    for (int d = 0; d < dim; d++) w->ie2[d] = exp(-2 * theta[d]);
    double *l = w->l;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++) {
            const double *d2 = w->d2 + PAIR(i, j) * dim;
            double r2 = 0;
            for (int d = 0; d < dim; d++) r2 += d2[d] * w->ie2[d];
            double r = sqrt(r2), e = exp(-SQRT5 * r);
            double k = sf2 * (1 + SQRT5 * r + (5.0 / 3.0) * r2) * e;
            w->kp[PAIR(i, j)] = k;
            w->gp[PAIR(i, j)] = sf2 * (5.0 / 3.0) * (1 + SQRT5 * r) * e;
            l[(size_t)i * n + j] = k;
        }
        l[(size_t)i * n + i] = sf2 + sn2;
    }
    if (cholesky(l, n) != 0) return -INFINITY;
    double logdet = 0;
    for (int i = 0; i < n; i++) { /* forward: L a = y */
        w->alpha[i] = (w->y[i] - dot(l + (size_t)i * n, w->alpha, i)) / l[(size_t)i * n + i];
        logdet += 2 * log(l[(size_t)i * n + i]);
    }
    double quad = 0;
    for (int i = 0; i < n; i++) quad += w->alpha[i] * w->alpha[i];
    for (int i = n - 1; i >= 0; i--) { /* backward: L^T alpha = a */
        double s = w->alpha[i];
        for (int k = i + 1; k < n; k++) s -= l[(size_t)k * n + i] * w->alpha[k];
        w->alpha[i] = s / l[(size_t)i * n + i];
    }
    double f = -0.5 * quad - 0.5 * logdet;
    for (int d = 0; d < dim; d++) f += 3 * theta[d] - 6 * exp(theta[d]);
    f += -theta[dim] * theta[dim] / (2 * 2.25);
    f += -(theta[dim + 1] + 6) * (theta[dim + 1] + 6) / (2 * 9.0);
    if (!grad) return f;

    /* W = alpha alpha^T - K^-1, with K^-1 = L^-T L^-1 from the columns of L^-1 */
    for (int j = 0; j < n; j++) {
        double *x = w->li + (size_t)j * n;
        for (int i = 0; i < j; i++) x[i] = 0;
        x[j] = 1 / l[(size_t)j * n + j];
        for (int i = j + 1; i < n; i++) {
            const double *li = l + (size_t)i * n;
            x[i] = -dot(li + j, x + j, i - j) / li[i];
        }
    }
    double tr = 0, gsf = 0;
    for (int d = 0; d < dim + 2; d++) grad[d] = 0;
    for (int i = 0; i < n; i++) {
        const double *ci = w->li + (size_t)i * n;
        for (int j = 0; j <= i; j++) {
            const double *cj = w->li + (size_t)j * n;
            double kinv = dot(ci + i, cj + i, n - i);
            double wij = w->alpha[i] * w->alpha[j] - kinv;
            if (i == j) {
                tr += wij;
                continue;
            }
            gsf += wij * w->kp[PAIR(i, j)];
            double wg = wij * w->gp[PAIR(i, j)];
            const double *d2 = w->d2 + PAIR(i, j) * dim;
            for (int d = 0; d < dim; d++) grad[d] += wg * d2[d];
        }
    }
    for (int d = 0; d < dim; d++) grad[d] = grad[d] * w->ie2[d] + 3 - 6 * exp(theta[d]);
    grad[dim] = 0.5 * (sf2 * tr + 2 * gsf) - theta[dim] / 2.25;
    grad[dim + 1] = 0.5 * sn2 * tr - (theta[dim + 1] + 6) / 9.0;
    return f;
}

static bt_status work_init(fit_work *w, int dim, const unsigned char *cat, const double *x,
                           const double *y, int n) {
    memset(w, 0, sizeof *w);
    w->n = n;
    w->dim = dim;
    w->cat = cat;
    w->y = y;
    size_t pairs = (size_t)n * (size_t)(n - 1) / 2 + 1;
    w->d2 = malloc(sizeof(double) * pairs * (size_t)(dim > 0 ? dim : 1));
    w->kp = malloc(sizeof(double) * pairs);
    w->gp = malloc(sizeof(double) * pairs);
    w->l = malloc(sizeof(double) * (size_t)n * (size_t)n);
    w->li = malloc(sizeof(double) * (size_t)n * (size_t)n);
    w->alpha = malloc(sizeof(double) * (size_t)n);
    w->ie2 = malloc(sizeof(double) * (size_t)(dim > 0 ? dim : 1));
    if (!w->d2 || !w->kp || !w->gp || !w->l || !w->li || !w->alpha || !w->ie2)
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory: fitting %d points", n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++) {
            double *d2 = w->d2 + PAIR(i, j) * dim;
            for (int d = 0; d < dim; d++) {
                double t = x[(size_t)i * dim + d] - x[(size_t)j * dim + d];
                d2[d] = cat && cat[d] ? (t != 0 ? 1.0 : 0.0) : t * t;
            }
        }
    return BT_STATUS_OK;
}

static void work_free(fit_work *w) {
    free(w->d2);
    free(w->kp);
    free(w->gp);
    free(w->l);
    free(w->li);
    free(w->alpha);
    free(w->ie2);
}

double bt_gp_objective(int dim, const unsigned char *cat, const double *x, const double *y, int n,
                       const double *theta) {
    fit_work w;
    double f = -INFINITY;
    if (n > 0 && work_init(&w, dim, cat, x, y, n) == BT_STATUS_OK) f = objective(&w, theta, NULL);
    if (n > 0) work_free(&w);
    return f;
}

bt_status bt_gp_fit(int dim, const unsigned char *cat, const double *x, const double *y, int n,
                    double *theta, int iters) {
    if (n <= 0) return BT_STATUS_OK;
    fit_work w;
    bt_status st = work_init(&w, dim, cat, x, y, n);
    int np = BT_GP_THETA(dim);
    double *buf = malloc(sizeof(double) * (size_t)(4 * np));
    if (st == BT_STATUS_OK && !buf) st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory: gp fit");
    if (st != BT_STATUS_OK) {
        work_free(&w);
        free(buf);
        return st;
    }
    double *g = buf, *gprev = buf + np, *step = buf + 2 * np, *best = buf + 3 * np;
    double fbest = -INFINITY;
    for (int j = 0; j < np; j++) {
        gprev[j] = 0;
        step[j] = 0.1;
        best[j] = theta[j];
    }
    for (int it = 0; it < iters; it++) {
        double f = objective(&w, theta, g);
        if (f > fbest) {
            fbest = f;
            memcpy(best, theta, sizeof(double) * (size_t)np);
        }
        if (!isfinite(f)) { /* singular: more noise */
            theta[dim + 1] = clampd(theta[dim + 1] + 1, LOG_SN2_MIN, LOG_SN2_MAX);
            continue;
        }
        for (int j = 0; j < np; j++) { /* iRprop-: sign steps, adapted per coordinate */
            double s = g[j] * gprev[j];
            if (s > 0)
                step[j] = fmin(step[j] * 1.2, 1.0);
            else if (s < 0) {
                step[j] = fmax(step[j] * 0.5, 1e-6);
                g[j] = 0;
            }
            theta[j] += g[j] > 0 ? step[j] : (g[j] < 0 ? -step[j] : 0);
            gprev[j] = g[j];
        }
        for (int d = 0; d < dim; d++) theta[d] = clampd(theta[d], LOG_ELL_MIN, LOG_ELL_MAX);
        theta[dim] = clampd(theta[dim], LOG_SF2_MIN, LOG_SF2_MAX);
        theta[dim + 1] = clampd(theta[dim + 1], LOG_SN2_MIN, LOG_SN2_MAX);
    }
    if (isfinite(fbest)) memcpy(theta, best, sizeof(double) * (size_t)np);
    work_free(&w);
    free(buf);
    return BT_STATUS_OK;
}
