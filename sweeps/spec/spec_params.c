/* The `parameters` block: W&B's parameter forms (value, values, probabilities, min/max, every
 * distribution) into bt_param_spec, with W&B's inference rules and defaults, nested `parameters`
 * flattened with '.', and every structural check (types, min < max, log bounds, probabilities);
 * also bt_spec_param_index, the lookup of a parameter by name. */
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweeps/space.h"
#include "sweeps/spec/didyoumean.h"
#include "sweeps/spec/spec_internal.h"

enum {
    K_VALUE = 1 << 0,
    K_VALUES = 1 << 1,
    K_PROBS = 1 << 2,
    K_MIN = 1 << 3,
    K_MAX = 1 << 4,
    K_MU = 1 << 5,
    K_SIGMA = 1 << 6,
    K_A = 1 << 7,
    K_B = 1 << 8,
    K_Q = 1 << 9,
};

static const char *const key_names[] = {
    "value", "values", "probabilities", "min", "max", "mu", "sigma", "a", "b", "q"};
static const char *const param_keys[] = {
    "value", "values", "probabilities", "min",        "max", "mu", "sigma", "a",
    "b",     "q",      "distribution",  "parameters", NULL};

static const struct {
    const char *name;
    int keys;
} dists[] = {
    [BT_DIST_CONSTANT] = {"constant", K_VALUE},
    [BT_DIST_CATEGORICAL] = {"categorical", K_VALUES | K_PROBS},
    [BT_DIST_UNIFORM] = {"uniform", K_MIN | K_MAX},
    [BT_DIST_INT_UNIFORM] = {"int_uniform", K_MIN | K_MAX},
    [BT_DIST_Q_UNIFORM] = {"q_uniform", K_MIN | K_MAX | K_Q},
    [BT_DIST_LOG_UNIFORM] = {"log_uniform", K_MIN | K_MAX},
    [BT_DIST_LOG_UNIFORM_VALUES] = {"log_uniform_values", K_MIN | K_MAX},
    [BT_DIST_Q_LOG_UNIFORM] = {"q_log_uniform", K_MIN | K_MAX | K_Q},
    [BT_DIST_Q_LOG_UNIFORM_VALUES] = {"q_log_uniform_values", K_MIN | K_MAX | K_Q},
    [BT_DIST_INV_LOG_UNIFORM] = {"inv_log_uniform", K_MIN | K_MAX},
    [BT_DIST_INV_LOG_UNIFORM_VALUES] = {"inv_log_uniform_values", K_MIN | K_MAX},
    [BT_DIST_NORMAL] = {"normal", K_MU | K_SIGMA},
    [BT_DIST_Q_NORMAL] = {"q_normal", K_MU | K_SIGMA | K_Q},
    [BT_DIST_LOG_NORMAL] = {"log_normal", K_MU | K_SIGMA},
    [BT_DIST_Q_LOG_NORMAL] = {"q_log_normal", K_MU | K_SIGMA | K_Q},
    [BT_DIST_BETA] = {"beta", K_A | K_B},
    [BT_DIST_Q_BETA] = {"q_beta", K_A | K_B | K_Q},
};
#define N_DISTS ((int)(sizeof dists / sizeof dists[0]))

const char *bt_spec_dist_name(bt_dist d) {
    return (int)d >= 0 && (int)d < N_DISTS ? dists[d].name : "?";
}

static int is_log_values(bt_dist d) {
    return d == BT_DIST_LOG_UNIFORM_VALUES || d == BT_DIST_Q_LOG_UNIFORM_VALUES ||
           d == BT_DIST_INV_LOG_UNIFORM_VALUES;
}

static int has_q(bt_dist d) {
    return (dists[d].keys & K_Q) != 0;
}

void bt_spec_param_support(const bt_param_spec *p, double *lo, double *hi) {
    double a = -INFINITY, b = INFINITY;
    int64_t k = p->grid ? bt_space_grid_count(p) : 0;
    if (k > 0) { /* a grid's points ascend */
        *lo = bt_space_grid_value(p, 0).f;
        *hi = bt_space_grid_value(p, k - 1).f;
        return;
    }
    switch (p->dist) {
    case BT_DIST_CONSTANT:
    case BT_DIST_CATEGORICAL:
        a = INFINITY;
        b = -INFINITY;
        for (int i = 0; i < p->n_values; i++) {
            if (p->values[i].kind == BT_VALUE_STRING || p->values[i].kind == BT_VALUE_NONE)
                continue;
            a = fmin(a, p->values[i].f);
            b = fmax(b, p->values[i].f);
        }
        break;
    case BT_DIST_UNIFORM:
    case BT_DIST_INT_UNIFORM:
    case BT_DIST_Q_UNIFORM:
    case BT_DIST_LOG_UNIFORM_VALUES:
    case BT_DIST_Q_LOG_UNIFORM_VALUES:
    case BT_DIST_INV_LOG_UNIFORM_VALUES:
        a = p->min;
        b = p->max;
        break;
    case BT_DIST_LOG_UNIFORM:
    case BT_DIST_Q_LOG_UNIFORM:
        a = exp(p->min);
        b = exp(p->max);
        break;
    case BT_DIST_INV_LOG_UNIFORM:
        a = exp(-p->max);
        b = exp(-p->min);
        break;
    case BT_DIST_NORMAL:
    case BT_DIST_Q_NORMAL:
        break;
    case BT_DIST_LOG_NORMAL:
    case BT_DIST_Q_LOG_NORMAL:
        a = 0;
        break;
    case BT_DIST_BETA:
    case BT_DIST_Q_BETA:
        a = 0;
        b = 1;
        break;
    }
    if (has_q(p->dist) && p->q > 0) { /* W&B rounds to the nearest multiple of q */
        if (isfinite(a)) a = rint(a / p->q) * p->q;
        if (isfinite(b)) b = rint(b / p->q) * p->q;
    }
    *lo = a;
    *hi = b;
}

/* Every value a distribution draws must be a finite double: uniform draws min + u (max - min),
 * log_uniform exp of that; bounds like +-1e308 would give inf (and reg_lambda = inf). */
static void check_finite_bounds(bt_spec_ctx *c, const bt_param_spec *p, const cJSON *obj,
                                const char *path) {
    char kp[BT_PATH_MAX];
    const double max_exp = log(DBL_MAX); /* 709.78 */
    int exp_of = p->dist == BT_DIST_LOG_UNIFORM || p->dist == BT_DIST_Q_LOG_UNIFORM;
    const cJSON *mx = bt_spec_get(obj, "max"), *mn = bt_spec_get(obj, "min");
    if (exp_of && p->max > max_exp)
        bt_spec_err(c, mx, 0, bt_spec_path(kp, path, "max"),
                    "exp(%g) overflows a double: %s takes natural-log exponents as min and max "
                    "(at most %.2f); for bounds written as values use %s_values",
                    p->max, dists[p->dist].name, max_exp, dists[p->dist].name);
    else if (p->dist == BT_DIST_INV_LOG_UNIFORM && -p->min > max_exp)
        bt_spec_err(c, mn, 0, bt_spec_path(kp, path, "min"),
                    "exp(-(%g)) overflows a double: inv_log_uniform takes exponents as min and max "
                    "(min at least %.2f); for bounds written as values use inv_log_uniform_values",
                    p->min, -max_exp);
    else if (!isfinite(p->max - p->min))
        bt_spec_err(c, mx, 0, bt_spec_path(kp, path, "max"),
                    "max - min (%g - %g) overflows a double; every drawn value must be finite",
                    p->max, p->min);
    else if (p->dist == BT_DIST_LOG_UNIFORM && p->min > 0 && p->max <= 1 && p->min < p->max)
        /* bounds that read as values (1e-4 to 0.1) but are exponents: the draws land in
         * [1.0001, 1.105], a classic W&B mistake (and why W&B deprecates log_uniform) */
        bt_spec_warn_at(c, obj, 0, path,
                        "log_uniform takes natural-log exponents, so min %g and max %g draw "
                        "values in [%.6g, %.6g]; for values between %g and %g use "
                        "log_uniform_values",
                        p->min, p->max, exp(p->min), exp(p->max), p->min, p->max);
}

/* A normal draw is mu + sigma z with |z| < 9 (Box-Muller of a 53-bit uniform: sqrt(2 ln 2^53)
 * = 8.6); log_normal takes exp of it. Both must stay finite. */
static void check_finite_normal(bt_spec_ctx *c, const bt_param_spec *p, const cJSON *obj,
                                const char *path) {
    char kp[BT_PATH_MAX];
    int log_of = p->dist == BT_DIST_LOG_NORMAL || p->dist == BT_DIST_Q_LOG_NORMAL;
    double reach = fabs(p->mu) + 9 * p->sigma;
    if (!isfinite(reach) || (log_of && p->mu + 9 * p->sigma > log(DBL_MAX)))
        bt_spec_err(c, bt_spec_get(obj, "sigma"), 0, bt_spec_path(kp, path, "sigma"),
                    "mu %g and sigma %g can draw %s, which overflows a double; every drawn value "
                    "must be finite",
                    p->mu, p->sigma, log_of ? "exp(mu + 9 sigma)" : "mu +- 9 sigma");
}

static int name_ok(const char *s) {
    if (!(isalpha((unsigned char)s[0]) || s[0] == '_')) return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || strchr("_.-", *s))) return 0;
    return 1;
}

static bt_param_spec *add_param(bt_spec_ctx *c, const cJSON *item) {
    bt_spec *s = c->spec;
    if (s->n_params == c->cap_params) { /* doubling: one more each time copies quadratically */
        size_t cap = c->cap_params ? 2 * (size_t)c->cap_params : 16;
        bt_param_spec *np = realloc(s->params, cap * sizeof *np);
        if (np) s->params = np;
        const cJSON **ni = realloc(c->param_items, cap * sizeof *ni);
        if (ni) c->param_items = ni;
        unsigned char *nb = realloc(c->param_bad, cap);
        if (nb) c->param_bad = nb;
        if (!np || !ni || !nb) return NULL;
        c->cap_params = (int)cap;
    }
    c->param_bad[s->n_params] = 0;
    bt_param_spec *p = &s->params[s->n_params];
    memset(p, 0, sizeof *p);
    c->param_items[s->n_params] = item;
    s->n_params++;
    return p;
}

/* One value of `value` / `values` into v: a scalar; in a program sweep also a list, object or
 * null, which W&B passes to the program as it is (spec_jsonval.c). Reports what it cannot take. */
static int read_scalar(bt_spec_ctx *c, const cJSON *it, const char *path, bt_value *v) {
    if (cJSON_IsString(it) && it->valuestring[0] == BT_VALUE_JSON_MARK) {
        bt_spec_err(c, it, 0, path, "a string may not start with the control character U+001E");
        return 0;
    }
    if (bt_spec_value_of(c, it, v)) return 1;
    if (c->program_values) {
        int got = bt_spec_json_value(c, it, v);
        if (got > 0) return 1;
        if (got < 0) {
            bt_spec_err(c, it, 0, path, "out of memory");
            return 0;
        }
    }
    bt_spec_err(c, it, 0, path,
                c->program_values ? "must be a number, string, boolean, list, object or null"
                                  : "must be a number, string or boolean (a built-in model's "
                                    "parameters are scalars; lists and null go to programs)");
    return 0;
}

static void parse_categorical(bt_spec_ctx *c, bt_param_spec *p, const cJSON *obj,
                              const char *path) {
    char vp[BT_PATH_MAX], ip[BT_PATH_MAX];
    const cJSON *vals = bt_spec_get(obj, "values");
    bt_spec_path(vp, path, "values");
    if (!cJSON_IsArray(vals)) {
        bt_spec_err(c, vals ? vals : obj, vals ? 0 : 1, vp,
                    vals ? "must be an array of values" : "missing (categorical needs values)");
        return;
    }
    int n = cJSON_GetArraySize(vals);
    if (n == 0) {
        bt_spec_err(c, vals, 0, vp, "must hold at least one value");
        return;
    }
    p->values = calloc((size_t)n, sizeof *p->values);
    if (!p->values) return;
    int i = 0;
    for (const cJSON *v = vals->child; v; v = v->next, i++)
        if (read_scalar(c, v, bt_spec_path_index(ip, vp, i), &p->values[p->n_values]))
            p->n_values++;
    const cJSON *probs = bt_spec_get(obj, "probabilities");
    if (!probs) return;
    char pp[BT_PATH_MAX];
    bt_spec_path(pp, path, "probabilities");
    if (!cJSON_IsArray(probs)) {
        bt_spec_err(c, probs, 0, pp, "must be an array of numbers");
        return;
    }
    int np = cJSON_GetArraySize(probs);
    if (np != n) {
        bt_spec_err(c, probs, 0, pp, "has %d entries but values has %d; give one per value", np, n);
        return;
    }
    p->probs = calloc((size_t)n, sizeof *p->probs);
    if (!p->probs) return;
    double sum = 0;
    int bad = 0;
    i = 0;
    for (const cJSON *v = probs->child; v; v = v->next, i++) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || !isfinite(v->valuedouble)) {
            bt_spec_err(c, v, 0, bt_spec_path_index(ip, pp, i),
                        "must be a number >= 0 (a probability)");
            bad = 1;
            continue;
        }
        p->probs[i] = v->valuedouble;
        sum += v->valuedouble;
    }
    if (!bad && fabs(sum - 1.0) > 1e-6)
        bt_spec_err(c, probs, 0, pp, "must sum to 1 (within 1e-6), but sum to %.9g", sum);
}

/* Reads a numeric distribution argument with its W&B default. */
static int read_arg(bt_spec_ctx *c, const cJSON *obj, const char *key, const char *path, double def,
                    double *out) {
    *out = def;
    double v;
    int r = bt_spec_read_number(c, obj, key, path, &v);
    if (r == 1) {
        if (!isfinite(v)) {
            char p[BT_PATH_MAX];
            bt_spec_err(c, bt_spec_get(obj, key), 0, bt_spec_path(p, path, key), "must be finite");
            return -1;
        }
        *out = v;
    }
    return r;
}

static void parse_leaf(bt_spec_ctx *c, const char *name, const cJSON *key_item, const cJSON *obj,
                       const char *path) {
    bt_param_spec *p = add_param(c, key_item);
    if (!p) return;
    p->name = bt_spec_strdup(name);
    bt_jpos_item(&c->pos, key_item, 1, &p->line, &p->col);
    p->mu = 0;
    p->sigma = 1;
    p->a = 1;
    p->b = 1;
    p->q = 1;

    int n_unknown = bt_spec_check_keys(c, obj, path, param_keys);
    char kp[BT_PATH_MAX];
    int present = 0;
    for (int k = 0; k < 10; k++)
        if (bt_spec_get(obj, key_names[k])) present |= 1 << k;

    const cJSON *dist = bt_spec_get(obj, "distribution");
    int d = -1;
    if (dist) {
        bt_spec_path(kp, path, "distribution");
        if (!cJSON_IsString(dist)) {
            bt_spec_err(c, dist, 0, kp, "must be a string naming a distribution");
            return;
        }
        for (int i = 0; i < N_DISTS; i++)
            if (strcmp(dist->valuestring, dists[i].name) == 0) d = i;
        if (strcmp(dist->valuestring, "categorical_w_probabilities") == 0) d = BT_DIST_CATEGORICAL;
        if (d < 0) {
            const char *names[N_DISTS + 1];
            for (int i = 0; i < N_DISTS; i++) names[i] = dists[i].name;
            names[N_DISTS] = NULL;
            const char *dym = bt_didyoumean(dist->valuestring, names, -1);
            if (dym)
                bt_spec_err(c, dist, 0, kp, "unknown distribution '%s' (did you mean '%s'?)",
                            dist->valuestring, dym);
            else
                bt_spec_err(c, dist, 0, kp,
                            "unknown distribution '%s'; see docs/sweep-format.md for the list",
                            dist->valuestring);
            return;
        }
    } else if ((present & K_VALUE) && (present & K_VALUES)) {
        bt_spec_err(c, bt_spec_get(obj, "values"), 1, bt_spec_path(kp, path, "values"),
                    "give either value or values, not both");
        return;
    } else if (present & K_VALUE) {
        d = BT_DIST_CONSTANT;
    } else if (present & K_VALUES) {
        d = BT_DIST_CATEGORICAL;
    } else if ((present & K_MIN) && (present & K_MAX)) {
        /* W&B: both bounds written as integers means int_uniform, otherwise uniform. */
        d = bt_spec_is_int_literal(c, bt_spec_get(obj, "min")) &&
                    bt_spec_is_int_literal(c, bt_spec_get(obj, "max"))
                ? BT_DIST_INT_UNIFORM
                : BT_DIST_UNIFORM;
    } else if (present & (K_MIN | K_MAX)) {
        const char *has = (present & K_MIN) ? "min" : "max";
        bt_spec_err(c, bt_spec_get(obj, has), 1, bt_spec_path(kp, path, has), "%s needs %s as well",
                    has, (present & K_MIN) ? "max" : "min");
        return;
    } else {
        if (n_unknown > 0) return; /* the misspelt key was reported already */
        bt_spec_err(c, obj, 0, path,
                    "needs value, values, min and max, or a distribution (e.g. {\"values\": "
                    "[1, 2, 3]} or {\"distribution\": \"uniform\", \"min\": 0, \"max\": 1})");
        return;
    }
    p->dist = (bt_dist)d;

    /* Keys the chosen distribution does not take (unless it was only inferred while a misspelt
     * key, likely "distribution" itself, was reported already). */
    int extra = present & ~dists[d].keys;
    if (!dist && n_unknown > 0) extra = 0;
    for (int k = 0; k < 10; k++) {
        if (!(extra & (1 << k))) continue;
        char takes[128] = "";
        for (int j = 0; j < 10; j++)
            if (dists[d].keys & (1 << j)) {
                size_t len = strlen(takes);
                snprintf(takes + len, sizeof takes - len, "%s%s", len ? ", " : "", key_names[j]);
            }
        bt_spec_err(c, bt_spec_get(obj, key_names[k]), 1, bt_spec_path(kp, path, key_names[k]),
                    "'%s' does not apply to distribution %s (it takes %s)", key_names[k],
                    dists[d].name, takes);
    }

    switch (p->dist) {
    case BT_DIST_CONSTANT: {
        const cJSON *v = bt_spec_get(obj, "value");
        bt_spec_path(kp, path, "value");
        if (!v) {
            bt_spec_err(c, obj, 0, kp, "missing (constant needs value)");
            return;
        }
        p->values = calloc(1, sizeof *p->values);
        if (p->values && read_scalar(c, v, kp, &p->values[0])) p->n_values = 1;
        return;
    }
    case BT_DIST_CATEGORICAL:
        parse_categorical(c, p, obj, path);
        return;
    default:
        break;
    }

    int ok = 1;
    if (dists[d].keys & K_MIN) {
        const cJSON *mn = bt_spec_get(obj, "min"), *mx = bt_spec_get(obj, "max");
        if (!mn || !mx) {
            bt_spec_err(c, obj, 0, path, "distribution %s needs min and max", dists[d].name);
            return;
        }
        ok &= read_arg(c, obj, "min", path, 0, &p->min) == 1;
        ok &= read_arg(c, obj, "max", path, 0, &p->max) == 1;
        if (!ok) return;
        if (p->dist == BT_DIST_INT_UNIFORM) {
            int64_t a, b;
            if (!bt_spec_is_int_literal(c, mn) || !bt_spec_int_of(c, mn, &a)) {
                bt_spec_err(c, mn, 0, bt_spec_path(kp, path, "min"),
                            "must be an integer for int_uniform, got %g", p->min);
                ok = 0;
            }
            if (!bt_spec_is_int_literal(c, mx) || !bt_spec_int_of(c, mx, &b)) {
                bt_spec_err(c, mx, 0, bt_spec_path(kp, path, "max"),
                            "must be an integer for int_uniform, got %g", p->max);
                ok = 0;
            }
            if (!ok) return;
        }
        if (p->min >= p->max) {
            bt_spec_err(c, mx, 0, bt_spec_path(kp, path, "max"),
                        "must be greater than min (min %g, max %g)", p->min, p->max);
            ok = 0;
        }
        if (is_log_values(p->dist) && p->min <= 0) {
            bt_spec_err(c, mn, 0, bt_spec_path(kp, path, "min"), "must be > 0 for %s, got %g",
                        dists[d].name, p->min);
            ok = 0;
        }
        if (ok) check_finite_bounds(c, p, obj, path);
    }
    if (dists[d].keys & K_MU) {
        read_arg(c, obj, "mu", path, 0, &p->mu);
        if (read_arg(c, obj, "sigma", path, 1, &p->sigma) == 1 && p->sigma <= 0)
            bt_spec_err(c, bt_spec_get(obj, "sigma"), 0, bt_spec_path(kp, path, "sigma"),
                        "must be > 0, got %g", p->sigma);
        else if (p->sigma > 0)
            check_finite_normal(c, p, obj, path);
    }
    if (dists[d].keys & K_A) {
        if (read_arg(c, obj, "a", path, 1, &p->a) == 1 && p->a <= 0)
            bt_spec_err(c, bt_spec_get(obj, "a"), 0, bt_spec_path(kp, path, "a"),
                        "must be > 0, got %g", p->a);
        if (read_arg(c, obj, "b", path, 1, &p->b) == 1 && p->b <= 0)
            bt_spec_err(c, bt_spec_get(obj, "b"), 0, bt_spec_path(kp, path, "b"),
                        "must be > 0, got %g", p->b);
    }
    if (dists[d].keys & K_Q) {
        const cJSON *q = bt_spec_get(obj, "q");
        if (read_arg(c, obj, "q", path, 1, &p->q) == 1) {
            if (p->q <= 0)
                bt_spec_err(c, q, 0, bt_spec_path(kp, path, "q"), "must be > 0, got %g", p->q);
            /* W&B returns ints when q is an int (Python isinstance(q, int)). */
            p->is_int = bt_spec_is_int_literal(c, q);
        }
    }
    if (p->dist == BT_DIST_INT_UNIFORM) p->is_int = 1;
}

static void parse_level(bt_spec_ctx *c, const cJSON *params, const char *prefix, const char *path) {
    char pp[BT_PATH_MAX], name[BT_PATH_MAX];
    if (!cJSON_IsObject(params)) {
        bt_spec_err(c, params, 0, path, "must be an object mapping names to parameters");
        return;
    }
    if (!params->child) {
        bt_spec_err(c, params, 0, path, "must name at least one parameter");
        return;
    }
    const cJSON **earlier = bt_spec_earlier_keys(c, params, path);
    if (!earlier) return;
    size_t at = 0;
    for (const cJSON *k = params->child; k; k = k->next, at++) {
        bt_spec_path(pp, path, k->string);
        bt_spec_path(name, prefix, k->string);
        if (earlier[at]) {
            bt_spec_err(c, k, 1, pp, "parameter defined twice");
            continue;
        }
        if (!name_ok(k->string)) {
            bt_spec_err(c, k, 1, pp,
                        "parameter names start with a letter or '_' and hold only letters, "
                        "digits, '_', '.' and '-'");
            continue;
        }
        if (!cJSON_IsObject(k)) {
            char ex[64] = "";
            if (cJSON_IsNumber(k))
                snprintf(ex, sizeof ex, " such as {\"value\": %g}", k->valuedouble);
            bt_spec_err(c, k, 0, pp, "must be an object%s (W&B parameter form)", ex);
            continue;
        }
        const cJSON *nested = bt_spec_get(k, "parameters");
        if (nested) {
            for (const cJSON *o = k->child; o; o = o->next)
                if (strcmp(o->string, "parameters") != 0) {
                    char op[BT_PATH_MAX];
                    bt_spec_err(c, o, 1, bt_spec_path(op, pp, o->string),
                                "a nested parameter holds only 'parameters'");
                }
            char np[BT_PATH_MAX];
            parse_level(c, nested, name, bt_spec_path(np, pp, "parameters"));
            continue;
        }
        /* Only a dotted name can meet a nested one; other repeats are duplicate keys above. */
        if (strchr(name, '.') && bt_spec_param_index(c->spec, name) >= 0) {
            bt_spec_err(c, k, 1, pp, "parameter '%s' is defined twice", name);
            continue;
        }
        int before = c->n_err, idx = c->spec->n_params;
        parse_leaf(c, name, k, k, pp);
        if (idx < c->spec->n_params) c->spec->params[idx].nest_len = (int)strlen(prefix);
        if (c->n_err != before && idx < c->spec->n_params) c->param_bad[idx] = 1;
    }
    free(earlier);
}

void bt_spec_parse_params(bt_spec_ctx *c, const cJSON *params) {
    parse_level(c, params, "", "parameters");
    if (c->spec->method != BT_METHOD_GRID) return;
    /* W&B's grid (sweeps' grid_search.py) takes value, values (probabilities ignored),
     * int_uniform and q_uniform, which it expands (sweeps/space.h); batchtune also expands
     * q_log_uniform_values into the q steps a draw can take; nothing else. */
    for (int i = 0; i < c->spec->n_params; i++) {
        bt_param_spec *p = &c->spec->params[i];
        if (p->dist == BT_DIST_CONSTANT || p->dist == BT_DIST_CATEGORICAL || c->param_bad[i])
            continue;
        const cJSON *item = c->param_items[i];
        const cJSON *at = bt_spec_get(item, "distribution");
        if (!at) at = bt_spec_get(item, "min");
        char pp[BT_PATH_MAX];
        snprintf(pp, sizeof pp, "parameters.%s", p->name);
        if (p->dist == BT_DIST_Q_UNIFORM) {
            /* numpy.arange(min, max, q) holds integers only when all three are integers */
            p->is_int = p->is_int && bt_spec_is_int_literal(c, bt_spec_get(item, "min")) &&
                        bt_spec_is_int_literal(c, bt_spec_get(item, "max"));
            if (bt_space_grid_count(p) == 0)
                bt_spec_err(c, at ? at : item, at != NULL, pp,
                            "q_uniform's grid (numpy.arange(min, max, q), as W&B) is empty");
        }
        p->grid = p->dist == BT_DIST_INT_UNIFORM || p->dist == BT_DIST_Q_UNIFORM ||
                  p->dist == BT_DIST_Q_LOG_UNIFORM_VALUES;
        if (p->grid) continue;
        bt_spec_err(c, at ? at : item, at != NULL, pp,
                    "method grid takes value, values, int_uniform, q_uniform (as W&B's grid "
                    "does) and q_log_uniform_values, but this is a %s distribution; list the grid "
                    "values, or use method "
                    "random",
                    dists[p->dist].name);
    }
}

int bt_spec_param_index(const bt_spec *s, const char *name) {
    for (int p = 0; p < s->n_params; p++)
        if (strcmp(s->params[p].name, name) == 0) return p;
    return -1;
}

/* Whether W&B's grid counts a and b as one value: it hashes YAML's dump of each, with a float
 * that is a whole number made an int first, so 1 and 1.0 meet, true and 1 do not. */
static int wandb_same(bt_value a, bt_value b) {
    if ((a.kind == BT_VALUE_BOOL) != (b.kind == BT_VALUE_BOOL)) return 0;
    if (a.kind == BT_VALUE_FLOAT && b.kind == BT_VALUE_INT) {
        bt_value t = a;
        a = b;
        b = t;
    }
    if (a.kind == BT_VALUE_INT && b.kind == BT_VALUE_FLOAT) /* exactly, past 2^53 too */
        return b.f == floor(b.f) && b.f >= -0x1p63 && b.f < 0x1p63 && (int64_t)b.f == a.i;
    return bt_value_equal(a, b);
}

/* A hash that agrees with wandb_same: bt_values_hash (numbers through their double, so 1 and
 * 1.0 meet), with booleans apart. */
static uint64_t wandb_hash(bt_value v) {
    return bt_values_hash(&v, 1, -1) ^ (v.kind == BT_VALUE_BOOL ? 0x9e3779b97f4a7c15ull : 0);
}

/* Drops the repeats of one parameter's values (linear time: a table of the kept ones); returns
 * how many there were, or -1 when out of memory. */
static int unique_values(bt_param_spec *ps) {
    size_t cap = 16;
    while (cap < 2 * (size_t)ps->n_values) cap *= 2;
    int *slot = malloc(cap * sizeof *slot);
    if (!slot) return -1;
    for (size_t k = 0; k < cap; k++) slot[k] = -1;
    int m = 0, repeats = 0;
    for (int i = 0; i < ps->n_values; i++) {
        size_t k = (size_t)wandb_hash(ps->values[i]) & (cap - 1);
        while (slot[k] >= 0 && !wandb_same(ps->values[slot[k]], ps->values[i]))
            k = (k + 1) & (cap - 1);
        int j = slot[k];
        if (j < 0) {
            slot[k] = m;
            ps->values[m] = ps->values[i];
            if (ps->probs) ps->probs[m] = ps->probs[i];
            m++;
            continue;
        }
        if (ps->values[j].kind == BT_VALUE_STRING) free((char *)ps->values[j].s);
        ps->values[j] = ps->values[i]; /* the first place, the last spelling */
        if (ps->probs) ps->probs[j] += ps->probs[i];
        repeats++;
    }
    ps->n_values = m;
    free(slot);
    return repeats;
}

void bt_spec_grid_unique(bt_spec_ctx *c) {
    bt_spec *s = c->spec;
    for (int p = 0; p < s->n_params; p++) {
        bt_param_spec *ps = &s->params[p];
        if (ps->dist != BT_DIST_CATEGORICAL || ps->n_values < 2) continue;
        int repeats = unique_values(ps);
        if (repeats < 0) {
            bt_spec_err(c, c->root, 0, "parameters", "out of memory");
            return;
        }
        if (repeats == 0) continue;
        bt_spec_warn_at(c, c->param_items[p], 1, NULL,
                        "parameter %s: %d of its values repeat%s an earlier one; the grid runs "
                        "each point once, as W&B's grid does",
                        ps->name, repeats, repeats == 1 ? "s" : "");
    }
}
