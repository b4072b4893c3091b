/* The unit-cube encoding of a search space (cube.h): per distribution, the map from [0, 1] to a
 * value and back, the snapping of discrete coordinates to their level, the level cells, and the
 * special functions the maps need (normal CDF and quantile, the regularized incomplete beta
 * function and its inverse). */
#include "sweeps/propose/cube.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAP_LIN, MAP_INT, MAP_LOG, MAP_NORMAL, MAP_LOGNORMAL, MAP_BETA };

/* Unbounded distributions decode u within [U_EPS, 1 - U_EPS]: about six standard deviations. */
#define U_EPS 1e-9

double bt_norm_cdf(double x) {
    return 0.5 * erfc(-x * 0.70710678118654752440);
}

double bt_norm_ppf(double p) {
    static const double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                -2.759285104469687e+02, 1.383577518672690e+02,
                                -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                -1.556989798598866e+02, 6.680131188771972e+01,
                                -1.328068155288572e+01};
    static const double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                -2.400758277161838e+00, -2.549732539343734e+00,
                                4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[4] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                3.754408661907416e+00};
    if (!(p > 1e-300)) p = 1e-300;
    if (p >= 1.0) p = 1.0 - 1e-16;
    double x, q, r;
    if (p < 0.02425) {
        q = sqrt(-2 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else if (p <= 1 - 0.02425) {
        q = p - 0.5;
        r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    } else {
        q = sqrt(-2 * log1p(-p));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    /* one Halley step on the exact CDF takes the 1e-9 approximation to double precision */
    double e = bt_norm_cdf(x) - p;
    double u = e * 2.50662827463100050242 * exp(0.5 * x * x);
    return x - u / (1 + 0.5 * x * u);
}

/* The continued fraction of the incomplete beta function (modified Lentz). */
static double beta_cf(double a, double b, double x) {
    const double tiny = 1e-300;
    double qab = a + b, qap = a + 1, qam = a - 1;
    double c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 500; m++) {
        double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        c = 1 + aa / c;
        if (fabs(d) < tiny) d = tiny;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        c = 1 + aa / c;
        if (fabs(d) < tiny) d = tiny;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-15) break;
    }
    return h;
}

/* I_x(a, b), the Beta(a, b) CDF; lbeta = log B(a, b). */
static double beta_cdf(double x, double a, double b, double lbeta) {
    if (!(x > 0)) return 0;
    if (x >= 1) return 1;
    double front = exp(a * log(x) + b * log1p(-x) - lbeta);
    if (x < (a + 1) / (a + b + 2)) return front * beta_cf(a, b, x) / a;
    return 1 - front * beta_cf(b, a, 1 - x) / b;
}

/* The Beta quantile: a bracket from the dimension's CDF table, then Newton steps kept inside it
 * (bisection when a step leaves the bracket). */
static double beta_ppf(const bt_cube_dim *dm, double a, double b, double u) {
    if (u <= 0) return 0;
    if (u >= 1) return 1;
    const double *t = dm->table;
    int lo = 0, hi = BT_CUBE_TABLE;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (t[mid] <= u)
            lo = mid;
        else
            hi = mid;
    }
    double xl = (double)lo / BT_CUBE_TABLE, xh = (double)hi / BT_CUBE_TABLE;
    double fl = t[lo], fh = t[hi];
    double x = fh > fl ? xl + (u - fl) / (fh - fl) * (xh - xl) : 0.5 * (xl + xh);
    for (int it = 0; it < 60; it++) {
        double f = beta_cdf(x, a, b, dm->lbeta) - u;
        if (f < 0)
            xl = x;
        else
            xh = x;
        double pdf = exp((a - 1) * log(x) + (b - 1) * log1p(-x) - dm->lbeta);
        double nx = pdf > 0 && isfinite(pdf) ? x - f / pdf : 0.5 * (xl + xh);
        if (!(nx > xl && nx < xh)) nx = 0.5 * (xl + xh);
        if (fabs(nx - x) < 1e-15 || xh - xl < 1e-15) return nx;
        x = nx;
    }
    return x;
}

static int map_of(bt_dist d) {
    switch (d) {
    case BT_DIST_INT_UNIFORM:
        return MAP_INT;
    case BT_DIST_LOG_UNIFORM:
    case BT_DIST_LOG_UNIFORM_VALUES:
    case BT_DIST_Q_LOG_UNIFORM:
    case BT_DIST_Q_LOG_UNIFORM_VALUES:
    case BT_DIST_INV_LOG_UNIFORM:
    case BT_DIST_INV_LOG_UNIFORM_VALUES:
        return MAP_LOG;
    case BT_DIST_NORMAL:
    case BT_DIST_Q_NORMAL:
        return MAP_NORMAL;
    case BT_DIST_LOG_NORMAL:
    case BT_DIST_Q_LOG_NORMAL:
        return MAP_LOGNORMAL;
    case BT_DIST_BETA:
    case BT_DIST_Q_BETA:
        return MAP_BETA;
    default:
        return MAP_LIN;
    }
}

static int has_q(bt_dist d) {
    return d == BT_DIST_Q_UNIFORM || d == BT_DIST_Q_LOG_UNIFORM ||
           d == BT_DIST_Q_LOG_UNIFORM_VALUES || d == BT_DIST_Q_NORMAL ||
           d == BT_DIST_Q_LOG_NORMAL || d == BT_DIST_Q_BETA;
}

/* The *_values log forms stay inside [min, max] (exp(log(x)) can miss by an ulp), as space.c. */
static int clamps_to_bounds(bt_dist d) {
    return d == BT_DIST_LOG_UNIFORM_VALUES || d == BT_DIST_Q_LOG_UNIFORM_VALUES ||
           d == BT_DIST_INV_LOG_UNIFORM_VALUES;
}

bt_status bt_cube_init(bt_cube *c, const bt_spec *spec) {
    memset(c, 0, sizeof *c);
    c->spec = spec;
    if (spec->n_params == 0) return BT_STATUS_OK;
    c->dims = calloc((size_t)spec->n_params, sizeof *c->dims);
    BT_CHECK_ALLOC(c->dims);
    for (int p = 0; p < spec->n_params; p++) {
        const bt_param_spec *ps = &spec->params[p];
        if (ps->dist == BT_DIST_CONSTANT) continue;
        if (ps->dist == BT_DIST_CATEGORICAL && ps->n_values <= 0) continue;
        bt_cube_dim *dm = &c->dims[c->n_dims++];
        dm->param = p;
        if (ps->dist == BT_DIST_CATEGORICAL) {
            dm->categorical = 1;
            dm->n_choices = ps->n_values;
            continue;
        }
        dm->discrete = ps->dist == BT_DIST_INT_UNIFORM || has_q(ps->dist);
        dm->lo = ps->min;
        dm->hi = ps->max;
        if (ps->dist == BT_DIST_LOG_UNIFORM_VALUES || ps->dist == BT_DIST_Q_LOG_UNIFORM_VALUES ||
            ps->dist == BT_DIST_INV_LOG_UNIFORM_VALUES) {
            /* inv_log_uniform_values is log-uniform on [min, max] too (space.c) */
            dm->lo = log(ps->min);
            dm->hi = log(ps->max);
        } else if (ps->dist == BT_DIST_INV_LOG_UNIFORM) { /* exp(-U(min, max)) */
            dm->lo = -ps->max;
            dm->hi = -ps->min;
        }
        if (map_of(ps->dist) == MAP_BETA) {
            dm->lbeta = lgamma(ps->a) + lgamma(ps->b) - lgamma(ps->a + ps->b);
            dm->table = malloc((BT_CUBE_TABLE + 1) * sizeof *dm->table);
            BT_CHECK_ALLOC(dm->table);
            for (int j = 0; j <= BT_CUBE_TABLE; j++)
                dm->table[j] = beta_cdf((double)j / BT_CUBE_TABLE, ps->a, ps->b, dm->lbeta);
        }
    }
    return BT_STATUS_OK;
}

void bt_cube_free(bt_cube *c) {
    if (!c) return;
    for (int d = 0; d < c->n_dims; d++) free(c->dims[d].table);
    free(c->dims);
    memset(c, 0, sizeof *c);
}

/* The number coordinate d decodes u to, before q rounding. */
static double decode_raw(const bt_cube *c, int d, double u) {
    const bt_cube_dim *dm = &c->dims[d];
    const bt_param_spec *ps = &c->spec->params[dm->param];
    if (!(u >= 0)) u = 0; /* NaN too */
    if (u > 1) u = 1;
    double uc = u < U_EPS ? U_EPS : (u > 1 - U_EPS ? 1 - U_EPS : u);
    switch (map_of(ps->dist)) {
    case MAP_INT: {
        double x = ps->min + floor(u * (ps->max - ps->min + 1.0));
        return x > ps->max ? ps->max : x;
    }
    case MAP_LOG: {
        double x = exp(dm->lo + u * (dm->hi - dm->lo));
        if (clamps_to_bounds(ps->dist)) x = x < ps->min ? ps->min : (x > ps->max ? ps->max : x);
        return x;
    }
    case MAP_NORMAL:
        return ps->mu + ps->sigma * bt_norm_ppf(uc);
    case MAP_LOGNORMAL:
        return exp(ps->mu + ps->sigma * bt_norm_ppf(uc));
    case MAP_BETA:
        return beta_ppf(dm, ps->a, ps->b, u);
    default:
        return ps->min + u * (ps->max - ps->min);
    }
}

static double decode_num(const bt_cube *c, int d, double u) {
    const bt_param_spec *ps = &c->spec->params[c->dims[d].param];
    double x = decode_raw(c, d, u);
    if (has_q(ps->dist)) x = rint(x / ps->q) * ps->q; /* half to even, as space.c */
    return x;
}

/* The coordinate of number x (clamped to [0, 1]). */
static double encode_num(const bt_cube *c, int d, double x) {
    const bt_cube_dim *dm = &c->dims[d];
    const bt_param_spec *ps = &c->spec->params[dm->param];
    double u;
    switch (map_of(ps->dist)) {
    case MAP_INT:
        u = (x - ps->min + 0.5) / (ps->max - ps->min + 1.0);
        break;
    case MAP_LOG:
        u = x > 0 ? (log(x) - dm->lo) / (dm->hi - dm->lo) : 0;
        break;
    case MAP_NORMAL:
        u = bt_norm_cdf((x - ps->mu) / ps->sigma);
        break;
    case MAP_LOGNORMAL:
        u = x > 0 ? bt_norm_cdf((log(x) - ps->mu) / ps->sigma) : 0;
        break;
    case MAP_BETA:
        u = beta_cdf(x, ps->a, ps->b, dm->lbeta);
        break;
    default:
        u = (x - ps->min) / (ps->max - ps->min);
        break;
    }
    if (!(u >= 0)) u = 0;
    return u > 1 ? 1 : u;
}

static int value_equal(bt_value a, bt_value b) {
    if (a.kind != b.kind) return 0;
    switch (a.kind) {
    case BT_VALUE_STRING:
        return a.s == b.s || (a.s && b.s && strcmp(a.s, b.s) == 0);
    case BT_VALUE_INT:
    case BT_VALUE_BOOL:
        return a.i == b.i;
    case BT_VALUE_FLOAT:
        return a.f == b.f;
    default:
        return 1;
    }
}

bt_status bt_cube_encode(const bt_cube *c, const bt_value *config, double *u) {
    for (int d = 0; d < c->n_dims; d++) {
        const bt_cube_dim *dm = &c->dims[d];
        const bt_param_spec *ps = &c->spec->params[dm->param];
        bt_value v = config[dm->param];
        if (!dm->categorical) {
            u[d] = encode_num(c, d, v.f);
            continue;
        }
        int k = 0;
        while (k < ps->n_values && !value_equal(ps->values[k], v)) k++;
        if (k == ps->n_values)
            return BT_FAIL(BT_STATUS_INTERNAL, "propose: a value of '%s' is not one of its values",
                           ps->name);
        u[d] = k;
    }
    return BT_STATUS_OK;
}

bt_value bt_cube_decode_dim(const bt_cube *c, int d, double u) {
    const bt_cube_dim *dm = &c->dims[d];
    const bt_param_spec *ps = &c->spec->params[dm->param];
    if (dm->categorical) {
        int k = (int)u;
        k = k < 0 ? 0 : (k >= dm->n_choices ? dm->n_choices - 1 : k);
        return ps->values[k];
    }
    double x = decode_num(c, d, u);
    return ps->is_int ? bt_value_int((int64_t)llround(x)) : bt_value_float(x);
}

void bt_cube_decode(const bt_cube *c, const double *u, bt_value *config) {
    const bt_spec *s = c->spec;
    for (int p = 0; p < s->n_params; p++)
        config[p] = s->params[p].n_values > 0 ? s->params[p].values[0] : bt_value_float(NAN);
    for (int d = 0; d < c->n_dims; d++) config[c->dims[d].param] = bt_cube_decode_dim(c, d, u[d]);
}

double bt_cube_snap(const bt_cube *c, int d, double u) {
    const bt_cube_dim *dm = &c->dims[d];
    if (dm->categorical) return u;
    if (!dm->discrete) return u < 0 ? 0 : (u > 1 ? 1 : u);
    return encode_num(c, d, decode_num(c, d, u));
}

void bt_cube_cell(const bt_cube *c, int d, double u, double *lo, double *hi) {
    const bt_cube_dim *dm = &c->dims[d];
    const bt_param_spec *ps = &c->spec->params[dm->param];
    if (!dm->discrete) {
        *lo = *hi = u;
        return;
    }
    if (ps->dist == BT_DIST_INT_UNIFORM) {
        double n = ps->max - ps->min + 1.0;
        double k = floor(u * n);
        k = k < 0 ? 0 : (k > n - 1 ? n - 1 : k);
        *lo = k / n;
        *hi = (k + 1) / n;
        return;
    }
    double x = decode_num(c, d, u);
    *lo = encode_num(c, d, x - 0.5 * ps->q);
    *hi = encode_num(c, d, x + 0.5 * ps->q);
    int m = map_of(ps->dist);
    if (m == MAP_NORMAL || m == MAP_LOGNORMAL) { /* u beyond U_EPS decodes as U_EPS does */
        if (*lo <= U_EPS) *lo = 0;
        if (*hi >= 1 - U_EPS) *hi = 1;
    }
}
