/* The search space: grid expansion (cartesian product, last parameter fastest; int_uniform and
 * q_uniform expanded as W&B's grid expands them; q_log_uniform_values as every value a draw can
 * take) and seeded draws from every W&B distribution.
 * Every draw comes from Philox keyed by (seed, trial) with the parameter index as counter and the
 * draw number as stream, so a trial's configuration depends only on (seed, trial id, parameter) --
 * never on other trials or on the order of sampling. */
#include "sweeps/space.h"

#include <math.h>
#include <stdint.h>

#include "kernels/philox.h"

/* Above this many points a parameter's grid counts as overflowing (bt_space_grid_size's -1). */
#define GRID_MAX ((int64_t)1 << 62)

static bt_value number(const bt_param_spec *p, double x);

int64_t bt_space_grid_count(const bt_param_spec *p) {
    switch (p->dist) {
    case BT_DIST_CONSTANT:
    case BT_DIST_CATEGORICAL:
        return p->n_values > 0 ? p->n_values : 1;
    case BT_DIST_INT_UNIFORM: { /* range(min, max + 1) */
        double k = p->max - p->min + 1.0;
        return k >= 1.0 && k <= (double)GRID_MAX ? (int64_t)k : -1;
    }
    case BT_DIST_Q_UNIFORM: { /* len(numpy.arange(min, max, q)) = ceil((max - min) / q) */
        double k = ceil((p->max - p->min) / p->q);
        return k >= 0.0 && k <= (double)GRID_MAX ? (int64_t)k : -1;
    }
    case BT_DIST_Q_LOG_UNIFORM_VALUES: { /* every value a draw can take: q * k, k in [k0, k1] */
        double k = rint(p->max / p->q) - rint(p->min / p->q) + 1.0;
        return k >= 1.0 && k <= (double)GRID_MAX ? (int64_t)k : -1;
    }
    default:
        return -1;
    }
}

bt_value bt_space_grid_value(const bt_param_spec *p, int64_t i) {
    switch (p->dist) {
    case BT_DIST_CONSTANT:
    case BT_DIST_CATEGORICAL:
        return p->n_values > 0 ? p->values[i % p->n_values] : bt_value_float(NAN);
    case BT_DIST_INT_UNIFORM:
        return bt_value_int((int64_t)p->min + i);
    case BT_DIST_Q_UNIFORM: {
        /* numpy.arange's fill, bit for bit: x0 = min, x1 = min + q, then
         * x_i = min + i * (x1 - x0); the product is kept apart so no FMA contracts it */
        double x = p->min;
        if (i == 1) {
            x = p->min + p->q;
        } else if (i > 1) {
            double x1 = p->min + p->q;
            volatile double step = (double)i * (x1 - p->min);
            x = p->min + step;
        }
        return p->is_int ? bt_value_int((int64_t)llround(x)) : bt_value_float(x);
    }
    case BT_DIST_Q_LOG_UNIFORM_VALUES: /* as a draw rounds: rint(x / q) * q */
        return number(p, (rint(p->min / p->q) + (double)i) * p->q);
    default:
        return bt_value_float(NAN);
    }
}

int64_t bt_space_grid_size(const bt_spec *s) {
    int64_t n = 1;
    for (int p = 0; p < s->n_params; p++) {
        int64_t k = bt_space_grid_count(&s->params[p]);
        if (k < 0) return -1;
        if (k > 0 && n > INT64_MAX / k) return -1;
        n *= k;
    }
    return n;
}

int64_t bt_space_offered(const bt_spec *s) {
    if (s->method != BT_METHOD_GRID) return s->run_cap;
    int64_t n = bt_space_grid_size(s);
    return n >= 0 && s->run_cap > 0 && s->run_cap < n ? s->run_cap : n;
}

/* A stream of uniforms in [0, 1) for one (key, counter): each call takes the next stream. */
typedef struct draws {
    uint64_t key, counter, stream;
} draws;

static double next_u(draws *d) {
    return bt_philox_uniform(d->key, d->counter, d->stream++);
}

/* Standard normal by Box-Muller from two uniforms (1 - u keeps the log finite). */
static double next_normal(draws *d) {
    double u1 = next_u(d), u2 = next_u(d);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

/* Gamma(shape, 1) by Marsaglia and Tsang (2000); shape < 1 through Gamma(shape + 1) * U^(1/shape).
 * Rejection takes a variable number of draws, all from the same deterministic stream sequence. */
static double next_gamma(draws *d, double shape) {
    if (shape < 1.0) {
        double g = next_gamma(d, shape + 1.0);
        double u = next_u(d);
        return g * pow(1.0 - u, 1.0 / shape);
    }
    double dd = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * dd);
    for (int tries = 0; tries < 1000; tries++) {
        double x = next_normal(d), v = 1.0 + c * x;
        if (v <= 0) continue;
        v = v * v * v;
        double u = 1.0 - next_u(d);
        if (u < 1.0 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + dd * (1.0 - v + log(v)))
            return dd * v;
    }
    return dd; /* unreachable in practice: acceptance is above 95% per try */
}

static double quantize(double x, double q) {
    return rint(x / q) * q; /* round half to even, as numpy.round in W&B */
}

static bt_value number(const bt_param_spec *p, double x) {
    return p->is_int ? bt_value_int((int64_t)llround(x)) : bt_value_float(x);
}

bt_value bt_space_sample_param(const bt_param_spec *p, uint64_t key, uint64_t counter) {
    draws d = {key, counter, 0};
    double x;
    switch (p->dist) {
    case BT_DIST_CONSTANT:
        return p->n_values > 0 ? p->values[0] : bt_value_float(NAN);
    case BT_DIST_CATEGORICAL: {
        if (p->n_values <= 0) return bt_value_float(NAN);
        double u = next_u(&d);
        int k = (int)(u * p->n_values);
        if (p->probs) { /* inverse CDF; the last value takes any rounding slack */
            double acc = 0;
            k = p->n_values - 1;
            for (int i = 0; i < p->n_values; i++) {
                acc += p->probs[i];
                if (u < acc) {
                    k = i;
                    break;
                }
            }
        }
        if (k >= p->n_values) k = p->n_values - 1;
        return p->values[k];
    }
    case BT_DIST_INT_UNIFORM: {
        double span = p->max - p->min + 1.0;
        double v = p->min + floor(next_u(&d) * span);
        if (v > p->max) v = p->max;
        return bt_value_int((int64_t)v);
    }
    case BT_DIST_UNIFORM:
        return bt_value_float(p->min + next_u(&d) * (p->max - p->min));
    case BT_DIST_Q_UNIFORM:
        x = p->min + next_u(&d) * (p->max - p->min);
        return number(p, quantize(x, p->q));
    case BT_DIST_LOG_UNIFORM:
        return bt_value_float(exp(p->min + next_u(&d) * (p->max - p->min)));
    case BT_DIST_Q_LOG_UNIFORM:
        return number(p, quantize(exp(p->min + next_u(&d) * (p->max - p->min)), p->q));
    case BT_DIST_LOG_UNIFORM_VALUES:
    case BT_DIST_Q_LOG_UNIFORM_VALUES: {
        double a = log(p->min), b = log(p->max);
        x = exp(a + next_u(&d) * (b - a));
        if (x < p->min) x = p->min; /* exp(log(x)) can miss by an ulp */
        if (x > p->max) x = p->max;
        if (p->dist == BT_DIST_LOG_UNIFORM_VALUES) return bt_value_float(x);
        return number(p, quantize(x, p->q));
    }
    case BT_DIST_INV_LOG_UNIFORM:
        /* W&B: exp(-U(min, max)), drawn at 1 - u like its ppf(1 - x). */
        return bt_value_float(exp(-(p->min + (1.0 - next_u(&d)) * (p->max - p->min))));
    case BT_DIST_INV_LOG_UNIFORM_VALUES: {
        /* W&B maps it to inv_log_uniform over [log(1/max), log(1/min)]. */
        double a = log(1.0 / p->max), b = log(1.0 / p->min);
        x = exp(-(a + (1.0 - next_u(&d)) * (b - a)));
        if (x < p->min) x = p->min;
        if (x > p->max) x = p->max;
        return bt_value_float(x);
    }
    case BT_DIST_NORMAL:
        return bt_value_float(p->mu + p->sigma * next_normal(&d));
    case BT_DIST_Q_NORMAL:
        return number(p, quantize(p->mu + p->sigma * next_normal(&d), p->q));
    case BT_DIST_LOG_NORMAL:
        return bt_value_float(exp(p->mu + p->sigma * next_normal(&d)));
    case BT_DIST_Q_LOG_NORMAL:
        return number(p, quantize(exp(p->mu + p->sigma * next_normal(&d)), p->q));
    case BT_DIST_BETA:
    case BT_DIST_Q_BETA: {
        double ga = next_gamma(&d, p->a), gb = next_gamma(&d, p->b);
        x = ga + gb > 0 ? ga / (ga + gb) : 0.5;
        if (p->dist == BT_DIST_BETA) return bt_value_float(x);
        return number(p, quantize(x, p->q));
    }
    }
    return bt_value_float(NAN);
}

bt_status bt_space_config(const bt_spec *s, uint64_t seed, int64_t trial, bt_value *out) {
    if (trial < 0)
        return BT_FAIL(BT_STATUS_INTERNAL, "space: negative trial id %lld", (long long)trial);
    if (s->method == BT_METHOD_GRID) {
        int64_t n = bt_space_grid_size(s);
        if (n < 0)
            return BT_FAIL(BT_STATUS_BAD_INPUT, "space: the grid has a continuous parameter");
        if (trial >= n)
            return BT_FAIL(BT_STATUS_BAD_INPUT, "space: trial %lld is past the grid's %lld points",
                           (long long)trial, (long long)n);
        int64_t rest = trial;
        for (int p = s->n_params - 1; p >= 0; p--) { /* the last parameter varies fastest */
            int64_t k = bt_space_grid_count(&s->params[p]);
            out[p] = bt_space_grid_value(&s->params[p], rest % k);
            rest /= k;
        }
        return BT_STATUS_OK;
    }
    uint64_t key = bt_philox_key(seed, (uint64_t)trial);
    for (int p = 0; p < s->n_params; p++)
        out[p] = bt_space_sample_param(&s->params[p], key, (uint64_t)p);
    return BT_STATUS_OK;
}
