/* Method tpe: the tree-structured Parzen estimator (Bergstra et al. 2011) with the choices of
 * Optuna's TPESampler (Watanabe 2023 explains each): reports split at gamma(n) = min(ceil(0.1 n),
 * 25) into the good l(x) and the rest g(x); each a mixture of one truncated Gaussian per report
 * (bandwidth: the larger distance to its sorted neighbours, clipped to [1 / min(100, kernels + 1),
 * 1], "magic clip") plus a prior component N(0.5, 1) with weight prior_weight; report weights ramp
 * up with the trial id past 25 reports; a categorical kernel puts 1 on its value plus
 * prior_weight / kernels spread by the prior; integer and q parameters use each level's cell mass.
 * 24 draws from l(x) per proposal, the best l/g wins; multivariate by default (univariate on
 * request); pending trials join g(x) as the worst (constant liar). All in the unit cube. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sweeps/propose/propose_impl.h"

#define LOG_SQRT_2PI 0.91893853320467274178

typedef struct keyed {
    double v;
    int64_t t;
    int i;
} keyed;

static int by_value(const void *a, const void *b) {
    const keyed *p = a, *q = b;
    if (p->v != q->v) return p->v < q->v ? -1 : 1;
    if (p->t != q->t) return p->t < q->t ? -1 : 1;
    return (p->i > q->i) - (p->i < q->i);
}

static int by_trial(const void *a, const void *b) {
    const keyed *p = a, *q = b;
    if (p->t != q->t) return p->t < q->t ? -1 : 1;
    return (p->i > q->i) - (p->i < q->i);
}

/* One mixture: components 0 .. m-2 are points, m-1 the prior. */
typedef struct parzen {
    int m;
    double *w, *lw;       /* weights (sum 1) and their logs */
    double *mu, *sg, *lc; /* m x dim: centre, bandwidth, the log density's constant: -log mass
                             on [0, 1] (discrete), and - log(sg sqrt(2 pi)) (continuous) */
    double *pc;           /* m x total choices: categorical probabilities */
} parzen;

typedef struct tpe_ctx {
    const bt_model_data *md;
    const bt_propose_opts *o;
    int dim, n_choices; /* all categorical choices together */
    int *coff;          /* per coordinate: offset of its choices */
    const double *pts;  /* every point: reports, pending, this batch */
    keyed *work;
} tpe_ctx;

/* log(Phi(b) - Phi(a)) for a < b, from the tail that keeps precision. */
static double log_mass(double a, double b) {
    const double r2 = 0.70710678118654752440;
    double p;
    if (a >= 0)
        p = 0.5 * erfc(a * r2) - 0.5 * erfc(b * r2);
    else if (b <= 0)
        p = 0.5 * erfc(-b * r2) - 0.5 * erfc(-a * r2);
    else
        p = 1 - 0.5 * erfc(-a * r2) - 0.5 * erfc(b * r2);
    if (p > 0) return log(p);
    double t = a > 0 ? a : (b < 0 ? b : 0); /* underflow: density at the nearer end x width */
    return -0.5 * t * t - LOG_SQRT_2PI + log(b - a > 1e-300 ? b - a : 1e-300);
}

static void parzen_free(parzen *z) {
    free(z->w);
    free(z->lw);
    free(z->mu);
    free(z->sg);
    free(z->lc);
    free(z->pc);
    memset(z, 0, sizeof *z);
}

/* Optuna's default_weights: 1 for up to 25 points, else a ramp from 1/n to 1 over the oldest
 * n - 25 and 1 for the newest 25 (points in trial order). */
static double ramp_weight(int i, int n) {
    if (n < 25 || i >= n - 25) return 1.0;
    int k = n - 25;
    return k == 1 ? 1.0 / n : 1.0 / n + (1.0 - 1.0 / n) * i / (k - 1);
}

/* Bandwidths of coordinate d for the points pts[ix[0..k)] (Optuna's neighbour rule). */
static void bandwidths(tpe_ctx *c, const int *ix, int k, int d, double *sg) {
    keyed *s = c->work;
    for (int j = 0; j < k; j++) {
        s[j].v = c->pts[(size_t)ix[j] * c->dim + d];
        s[j].t = 0;
        s[j].i = j;
    }
    qsort(s, (size_t)k, sizeof *s, by_value);
    double minsig = 1.0 / fmin(100.0, 1.0 + (k + 1));
    for (int j = 0; j < k; j++) {
        double left = s[j].v - (j > 0 ? s[j - 1].v : 0.0);
        double right = (j + 1 < k ? s[j + 1].v : 1.0) - s[j].v;
        double sig = fmax(left, right);
        if (k >= 2 && j == 0) sig = s[1].v - s[0].v; /* consider_endpoints = False */
        if (k >= 2 && j == k - 1) sig = s[k - 1].v - s[k - 2].v;
        sg[(size_t)s[j].i * c->dim + d] = fmin(fmax(sig, minsig), 1.0);
    }
}

/* The mixture of the points pts[ix[0..k)] (in trial order) plus the prior. */
static bt_status parzen_build(tpe_ctx *c, const int *ix, int k, parzen *z) {
    int dim = c->dim, m = k + 1;
    const bt_cube *cube = c->md->cube;
    double pw = c->o->prior_weight;
    memset(z, 0, sizeof *z);
    z->m = m;
    z->w = malloc(sizeof(double) * (size_t)m);
    z->lw = malloc(sizeof(double) * (size_t)m);
    z->mu = malloc(sizeof(double) * (size_t)m * (size_t)dim);
    z->sg = malloc(sizeof(double) * (size_t)m * (size_t)dim);
    z->lc = malloc(sizeof(double) * (size_t)m * (size_t)dim);
    z->pc = malloc(sizeof(double) * ((size_t)m * (size_t)c->n_choices + 1));
    if (!z->w || !z->lw || !z->mu || !z->sg || !z->lc || !z->pc) {
        parzen_free(z);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory: tpe over %d points", k);
    }
    double tot = 0;
    for (int j = 0; j < k; j++) tot += z->w[j] = ramp_weight(j, k);
    z->w[k] = k > 0 ? pw : 1.0;
    tot += z->w[k];
    for (int j = 0; j < m; j++) {
        z->w[j] /= tot;
        z->lw[j] = z->w[j] > 0 ? log(z->w[j]) : -INFINITY;
    }
    for (int d = 0; d < dim; d++) {
        const bt_cube_dim *dm = &cube->dims[d];
        if (dm->categorical) {
            const double *probs = cube->spec->params[dm->param].probs;
            int nc = dm->n_choices;
            for (int j = 0; j < m; j++) {
                double *row = z->pc + (size_t)j * c->n_choices + c->coff[d], sum = 0;
                for (int q = 0; q < nc; q++) {
                    /* Optuna adds prior_weight / kernels to every choice; spread by the prior */
                    double prior = probs ? probs[q] * nc : 1.0;
                    row[q] = (j < k ? pw / m : 1.0) * prior;
                }
                if (j < k) row[(int)c->pts[(size_t)ix[j] * dim + d]] += 1;
                for (int q = 0; q < nc; q++) sum += row[q];
                for (int q = 0; q < nc; q++) row[q] = sum > 0 ? row[q] / sum : 1.0 / nc;
            }
            continue;
        }
        bandwidths(c, ix, k, d, z->sg);
        for (int j = 0; j < m; j++) {
            double mu = j < k ? c->pts[(size_t)ix[j] * dim + d] : 0.5;
            double sg = j < k ? z->sg[(size_t)j * dim + d] : 1.0;
            z->mu[(size_t)j * dim + d] = mu;
            z->sg[(size_t)j * dim + d] = sg;
            double lc = -log_mass(-mu / sg, (1 - mu) / sg);
            z->lc[(size_t)j * dim + d] = dm->discrete ? lc : lc - log(sg) - LOG_SQRT_2PI;
        }
    }
    return BT_STATUS_OK;
}

/* log density of component j at coordinate d's value v ([lo, hi]: its cell when discrete). */
static double comp_logpdf(const tpe_ctx *c, const parzen *z, int j, int d, double v, double lo,
                          double hi) {
    const bt_cube_dim *dm = &c->md->cube->dims[d];
    if (dm->categorical) {
        double p = z->pc[(size_t)j * c->n_choices + c->coff[d] + (int)v];
        return p > 0 ? log(p) : -INFINITY;
    }
    size_t at = (size_t)j * c->dim + d;
    double mu = z->mu[at], sg = z->sg[at];
    if (dm->discrete) return log_mass((lo - mu) / sg, (hi - mu) / sg) + z->lc[at];
    double t = (v - mu) / sg;
    return -0.5 * t * t + z->lc[at];
}

/* log of the mixture density at x, over coordinates d0 .. d1-1 (a product within a component). */
static double mix_logpdf(const tpe_ctx *c, const parzen *z, const double *x, const double *lo,
                         const double *hi, int d0, int d1) {
    double mx = -INFINITY, sum = 0; /* a running log-sum-exp */
    for (int j = 0; j < z->m; j++) {
        double l = z->lw[j];
        for (int d = d0; d < d1 && l > -INFINITY; d++)
            l += comp_logpdf(c, z, j, d, x[d], lo[d], hi[d]);
        if (l == -INFINITY) continue;
        if (l > mx) {
            sum = sum * exp(mx - l) + 1;
            mx = l;
        } else if (l - mx > -40) { /* below, exp underflows to no effect (and slowly) */
            sum += exp(l - mx);
        }
    }
    return mx == -INFINITY ? -INFINITY : mx + log(sum);
}

/* A draw of coordinate d from component j of z, snapped. */
static double comp_sample(const tpe_ctx *c, const parzen *z, int j, int d, double u) {
    const bt_cube *cube = c->md->cube;
    const bt_cube_dim *dm = &cube->dims[d];
    if (dm->categorical)
        return bt_propose_pick(z->pc + (size_t)j * c->n_choices + c->coff[d], dm->n_choices, u);
    size_t at = (size_t)j * c->dim + d;
    double mu = z->mu[at], sg = z->sg[at];
    double pa = bt_norm_cdf(-mu / sg), pb = bt_norm_cdf((1 - mu) / sg);
    double x = mu + sg * bt_norm_ppf(pa + u * (pb - pa));
    return bt_cube_snap(cube, d, x < 0 ? 0 : (x > 1 ? 1 : x));
}

/* One proposal for `trial` from l (below) and g (above) into out. */
static void propose_one(const tpe_ctx *c, const parzen *l, const parzen *g, uint64_t trial,
                        double *cand, double *lo, double *hi, double *best, double *out) {
    int dim = c->dim, nc = c->o->ei_candidates, uni = c->o->univariate;
    const bt_cube *cube = c->md->cube;
    uint64_t key = bt_philox_key(c->md->seed ^ BT_PROPOSE_SALT_TPE, trial);
    for (int d = 0; d <= dim; d++) best[d] = -INFINITY;
    for (int i = 0; i < nc; i++) {
        double *x = cand + (size_t)i * dim;
        int comp = bt_propose_pick(l->w, l->m, bt_philox_uniform(key, i, 0));
        for (int d = 0; d < dim; d++) {
            int cj = uni ? bt_propose_pick(l->w, l->m, bt_philox_uniform(key, i, 1 + 2 * d)) : comp;
            x[d] = comp_sample(c, l, cj, d, bt_philox_uniform(key, i, 2 + 2 * d));
            lo[(size_t)i * dim + d] = hi[(size_t)i * dim + d] = x[d];
            if (cube->dims[d].discrete)
                bt_cube_cell(cube, d, x[d], &lo[(size_t)i * dim + d], &hi[(size_t)i * dim + d]);
        }
        const double *li = lo + (size_t)i * dim, *hh = hi + (size_t)i * dim;
        if (uni) { /* each coordinate its own argmax */
            for (int d = 0; d < dim; d++) {
                double s =
                    mix_logpdf(c, l, x, li, hh, d, d + 1) - mix_logpdf(c, g, x, li, hh, d, d + 1);
                if (s > best[d] || i == 0) {
                    best[d] = s;
                    out[d] = x[d];
                }
            }
        } else {
            double s = mix_logpdf(c, l, x, li, hh, 0, dim) - mix_logpdf(c, g, x, li, hh, 0, dim);
            if (s > best[dim] || i == 0) {
                best[dim] = s;
                memcpy(out, x, sizeof(double) * (size_t)dim);
            }
        }
    }
}

/* Sorts the point indices ix[0..k) (trial ids tr) by trial. */
static void sort_by_trial(tpe_ctx *c, int *ix, const int64_t *tr, int k) {
    for (int j = 0; j < k; j++) {
        c->work[j].t = tr[ix[j]];
        c->work[j].i = ix[j];
        c->work[j].v = 0;
    }
    qsort(c->work, (size_t)k, sizeof *c->work, by_trial);
    for (int j = 0; j < k; j++) ix[j] = c->work[j].i;
}

bt_status bt_tpe_propose(const bt_model_data *md, const bt_propose_opts *o, int64_t first, int n,
                         double *out) {
    int dim = md->dim, nr = md->n, np = md->n_pend, tot = nr + np + n;
    tpe_ctx c = {md, o, dim, 0, NULL, NULL, NULL};
    double *pts = malloc(sizeof(double) * ((size_t)tot * (size_t)dim + 1));
    int64_t *tr = malloc(sizeof(int64_t) * (size_t)tot);
    int *below = malloc(sizeof(int) * (size_t)tot), *above = malloc(sizeof(int) * (size_t)tot);
    c.coff = malloc(sizeof(int) * (size_t)(dim + 1));
    c.work = malloc(sizeof(keyed) * (size_t)tot);
    size_t nci = (size_t)o->ei_candidates * (size_t)dim + 1;
    double *cand = malloc(sizeof(double) * nci), *lo = malloc(sizeof(double) * nci),
           *hi = malloc(sizeof(double) * nci), *best = malloc(sizeof(double) * (size_t)(dim + 1));
    parzen l, g;
    memset(&l, 0, sizeof l);
    memset(&g, 0, sizeof g);
    bt_status st = BT_STATUS_OK;
    if (!pts || !tr || !below || !above || !c.coff || !c.work || !cand || !lo || !hi || !best)
        st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory: tpe over %d points", tot);
    if (st == BT_STATUS_OK) {
        c.pts = pts;
        for (int d = 0; d < dim; d++) {
            c.coff[d] = c.n_choices;
            if (md->cube->dims[d].categorical) c.n_choices += md->cube->dims[d].n_choices;
        }
        memcpy(pts, md->x, sizeof(double) * (size_t)nr * (size_t)dim);
        memcpy(pts + (size_t)nr * dim, md->xp, sizeof(double) * (size_t)np * (size_t)dim);
        memcpy(tr, md->trial, sizeof(int64_t) * (size_t)nr);
        memcpy(tr + nr, md->tp, sizeof(int64_t) * (size_t)np);
        /* split: the gamma(n) best reports (ties: the earlier trial) are l(x), the rest g(x) */
        for (int j = 0; j < nr; j++) c.work[j] = (keyed){md->y[j], md->trial[j], j};
        qsort(c.work, (size_t)nr, sizeof *c.work, by_value);
        int nb = (int)ceil(0.1 * nr);
        nb = nb > 25 ? 25 : nb;
        for (int j = 0; j < nr; j++) (j < nb ? below : above)[j < nb ? j : j - nb] = c.work[j].i;
        sort_by_trial(&c, below, tr, nb);
        st = parzen_build(&c, below, nb, &l);
        int na = nr - nb;
        for (int b = 0; st == BT_STATUS_OK && b < n; b++) {
            int k = na;
            if (!o->no_liar) /* pending trials and this batch so far count as the worst */
                for (int j = nr; j < nr + np + b; j++) above[k++] = j;
            sort_by_trial(&c, above, tr, k);
            parzen_free(&g);
            st = parzen_build(&c, above, k, &g);
            if (st != BT_STATUS_OK) break;
            int64_t t = first + b;
            double *x = out + (size_t)b * dim;
            propose_one(&c, &l, &g, (uint64_t)t, cand, lo, hi, best, x);
            memcpy(pts + (size_t)(nr + np + b) * dim, x, sizeof(double) * (size_t)dim);
            tr[nr + np + b] = t;
            /* the above list must again hold the reports only, in any order */
            for (int j = 0, q = 0; j < k; j++)
                if (above[j] < nr) above[q++] = above[j];
        }
    }
    parzen_free(&l);
    parzen_free(&g);
    free(pts);
    free(tr);
    free(below);
    free(above);
    free(c.coff);
    free(c.work);
    free(cand);
    free(lo);
    free(hi);
    free(best);
    return st;
}
