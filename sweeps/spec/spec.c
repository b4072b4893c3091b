/* The sweep file as a whole: reading, JSON syntax errors with positions, the top-level keys, and
 * the shared helpers of spec_*.c (diagnostics, typed readers, unknown-key checks). The blocks
 * live in spec_params.c, spec_model.c, spec_sched.c and spec_data.c. */
#include "sweeps/spec/spec.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweeps/spec/didyoumean.h"
#include "base/sha256.h"
#include "sweeps/space.h"
#include "sweeps/spec/spec_internal.h"

/* ---- diagnostics ---------------------------------------------------------------------------- */

void bt_diags_init(bt_diags *d) {
    memset(d, 0, sizeof *d);
}

void bt_diags_free(bt_diags *d) {
    if (!d) return;
    for (int i = 0; i < d->n; i++) free(d->msgs[i]);
    free(d->msgs);
    memset(d, 0, sizeof *d);
}

void bt_diags_add(bt_diags *d, const char *fmt, ...) {
    if (!d) return;
    if (d->n == d->cap) {
        int cap = d->cap ? 2 * d->cap : 16;
        char **m = realloc(d->msgs, (size_t)cap * sizeof *m);
        if (!m) return; /* out of memory: the message is lost, the status still says bad input */
        d->msgs = m;
        d->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = malloc((size_t)n + 1);
    if (!s) return;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    d->msgs[d->n++] = s;
}

void bt_spec_err(bt_spec_ctx *c, const cJSON *at, int at_key, const char *path, const char *fmt,
                 ...) {
    int line = 1, col = 1;
    if (c->pos.e) bt_jpos_item(&c->pos, at, at_key, &line, &col);
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (path && *path)
        bt_diags_add(c->diags, "%s:%d:%d: %s: %s", c->file, line, col, path, msg);
    else
        bt_diags_add(c->diags, "%s:%d:%d: %s", c->file, line, col, msg);
    c->n_err++;
}

/* ---- small helpers -------------------------------------------------------------------------- */

char *bt_spec_strdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

const char *bt_spec_path(char *buf, const char *parent, const char *key) {
    if (parent && *parent)
        snprintf(buf, BT_PATH_MAX, "%s.%s", parent, key);
    else
        snprintf(buf, BT_PATH_MAX, "%s", key);
    return buf;
}

const char *bt_spec_path_index(char *buf, const char *parent, int i) {
    snprintf(buf, BT_PATH_MAX, "%s[%d]", parent, i);
    return buf;
}

const cJSON *bt_spec_get(const cJSON *obj, const char *key) {
    return obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

int bt_spec_is_int_literal(const bt_spec_ctx *c, const cJSON *it) {
    if (!cJSON_IsNumber(it)) return 0;
    const bt_jpos_entry *e = bt_jpos_find(&c->pos, it);
    if (!e) return it->valuedouble == floor(it->valuedouble);
    for (size_t i = e->val_off; i < e->val_end; i++)
        if (strchr(".eE", c->text[i])) return 0;
    return 1;
}

int bt_spec_int_of(const bt_spec_ctx *c, const cJSON *it, int64_t *out) {
    if (!cJSON_IsNumber(it)) return 0;
    if (bt_spec_is_int_literal(c, it)) {
        const bt_jpos_entry *e = bt_jpos_find(&c->pos, it);
        if (e) {
            char tok[64];
            size_t n = e->val_end - e->val_off;
            if (n >= sizeof tok) return 0;
            memcpy(tok, c->text + e->val_off, n);
            tok[n] = '\0';
            errno = 0;
            long long v = strtoll(tok, NULL, 10);
            if (errno == ERANGE) return 0;
            *out = (int64_t)v;
            return 1;
        }
    }
    double v = it->valuedouble;
    if (v != floor(v) || fabs(v) > 9007199254740992.0) return 0;
    *out = (int64_t)v;
    return 1;
}

static const char *json_kind(const cJSON *it) {
    if (cJSON_IsString(it)) return "a string";
    if (cJSON_IsNumber(it)) return "a number";
    if (cJSON_IsBool(it)) return "a boolean";
    if (cJSON_IsNull(it)) return "null";
    if (cJSON_IsArray(it)) return "an array";
    if (cJSON_IsObject(it)) return "an object";
    return "invalid";
}

int bt_spec_check_keys(bt_spec_ctx *c, const cJSON *obj, const char *path,
                       const char *const *allowed) {
    char p[BT_PATH_MAX];
    int n_unknown = 0;
    for (const cJSON *k = obj ? obj->child : NULL; k; k = k->next) {
        for (const cJSON *prev = obj->child; prev != k; prev = prev->next) {
            if (strcmp(prev->string, k->string) == 0) {
                int line, col;
                bt_jpos_item(&c->pos, prev, 1, &line, &col);
                bt_spec_err(c, k, 1, bt_spec_path(p, path, k->string),
                            "duplicate key (first given at %d:%d)", line, col);
                break;
            }
        }
        int known = 0;
        for (int i = 0; allowed[i]; i++) known |= strcmp(allowed[i], k->string) == 0;
        if (known) continue;
        n_unknown++;
        const char *dym = bt_didyoumean(k->string, allowed, -1);
        char list[512] = "";
        for (int i = 0; allowed[i]; i++) {
            size_t len = strlen(list);
            snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", allowed[i]);
        }
        if (dym)
            bt_spec_err(c, k, 1, bt_spec_path(p, path, k->string),
                        "unknown key '%s' (did you mean '%s'?)", k->string, dym);
        else
            bt_spec_err(c, k, 1, bt_spec_path(p, path, k->string),
                        "unknown key '%s'; known keys: %s", k->string, list);
    }
    return n_unknown;
}

int bt_spec_read_string(bt_spec_ctx *c, const cJSON *obj, const char *key, const char *path,
                        char **out) {
    const cJSON *it = bt_spec_get(obj, key);
    if (!it) return 0;
    char p[BT_PATH_MAX];
    if (!cJSON_IsString(it)) {
        bt_spec_err(c, it, 0, bt_spec_path(p, path, key), "must be a string, not %s",
                    json_kind(it));
        return -1;
    }
    free(*out);
    *out = bt_spec_strdup(it->valuestring);
    return 1;
}

int bt_spec_read_int(bt_spec_ctx *c, const cJSON *obj, const char *key, const char *path,
                     int64_t lo, int64_t hi, int64_t *out) {
    const cJSON *it = bt_spec_get(obj, key);
    if (!it) return 0;
    char p[BT_PATH_MAX];
    int64_t v;
    if (!cJSON_IsNumber(it)) {
        bt_spec_err(c, it, 0, bt_spec_path(p, path, key), "must be an integer, not %s",
                    json_kind(it));
        return -1;
    }
    if (!bt_spec_int_of(c, it, &v)) {
        bt_spec_err(c, it, 0, bt_spec_path(p, path, key), "must be an integer, got %g",
                    it->valuedouble);
        return -1;
    }
    if (v < lo) {
        bt_spec_err(c, it, 0, bt_spec_path(p, path, key), "must be >= %" PRId64 ", got %" PRId64,
                    lo, v);
        return -1;
    }
    if (v > hi) {
        bt_spec_err(c, it, 0, bt_spec_path(p, path, key), "must be <= %" PRId64 ", got %" PRId64,
                    hi, v);
        return -1;
    }
    *out = v;
    return 1;
}

int bt_spec_read_number(bt_spec_ctx *c, const cJSON *obj, const char *key, const char *path,
                        double *out) {
    const cJSON *it = bt_spec_get(obj, key);
    if (!it) return 0;
    char p[BT_PATH_MAX];
    if (!cJSON_IsNumber(it)) {
        bt_spec_err(c, it, 0, bt_spec_path(p, path, key), "must be a number, not %s",
                    json_kind(it));
        return -1;
    }
    *out = it->valuedouble;
    return 1;
}

int bt_spec_read_bool(bt_spec_ctx *c, const cJSON *obj, const char *key, const char *path,
                      int *out) {
    const cJSON *it = bt_spec_get(obj, key);
    if (!it) return 0;
    char p[BT_PATH_MAX];
    if (!cJSON_IsBool(it)) {
        bt_spec_err(c, it, 0, bt_spec_path(p, path, key), "must be true or false, not %s",
                    json_kind(it));
        return -1;
    }
    *out = cJSON_IsTrue(it);
    return 1;
}

int bt_spec_value_of(const bt_spec_ctx *c, const cJSON *it, bt_value *out) {
    int64_t i;
    if (cJSON_IsString(it)) {
        *out = bt_value_string(bt_spec_strdup(it->valuestring));
    } else if (cJSON_IsBool(it)) {
        *out = bt_value_bool(cJSON_IsTrue(it));
    } else if (cJSON_IsNumber(it)) {
        if (bt_spec_is_int_literal(c, it) && bt_spec_int_of(c, it, &i))
            *out = bt_value_int(i);
        else
            *out = bt_value_float(it->valuedouble);
    } else {
        return 0;
    }
    return 1;
}

const char *bt_spec_value_str(const bt_value *v, char *buf, int n) {
    switch (v->kind) {
    case BT_VALUE_INT:
        snprintf(buf, (size_t)n, "%" PRId64, v->i);
        break;
    case BT_VALUE_FLOAT:
        snprintf(buf, (size_t)n, "%g", v->f);
        break;
    case BT_VALUE_STRING:
        snprintf(buf, (size_t)n, "\"%s\"", v->s);
        break;
    case BT_VALUE_BOOL:
        snprintf(buf, (size_t)n, "%s", v->i ? "true" : "false");
        break;
    default:
        snprintf(buf, (size_t)n, "null");
        break;
    }
    return buf;
}

/* ---- syntax errors -------------------------------------------------------------------------- */

static void syntax_error(bt_spec_ctx *c, const char *text, size_t cjson_off) {
    size_t off = cjson_off;
    char msg[256] = "invalid JSON";
    bt_json_find_error(text, &off, msg, sizeof msg); /* keeps cJSON's offset if it finds none */
    int line, col;
    bt_json_text_linecol(text, off, &line, &col);
    bt_diags_add(c->diags, "%s:%d:%d: %s", c->file, line, col, msg);
    c->n_err++;
}

/* ---- the whole file ------------------------------------------------------------------------- */

static const char *const top_keys[] = {
    "method",      "metric",    "parameters", "run_cap",   "early_terminate",
    "program",     "command",   "project",    "entity",    "name",
    "description", "model",     "dataset",    "scheduler", "seed",
    "output",      "execution", "controller", "kind",      "apiVersion",
    "job",         "image_uri", NULL};

static void parse_method(bt_spec_ctx *c, const cJSON *root) {
    const cJSON *m = bt_spec_get(root, "method");
    if (!m) {
        bt_spec_err(c, root, 0, "method", "missing; give \"method\": \"grid\" or \"random\"");
        return;
    }
    if (!cJSON_IsString(m)) {
        bt_spec_err(c, m, 0, "method", "must be a string (\"grid\" or \"random\"), not %s",
                    json_kind(m));
        return;
    }
    const char *v = m->valuestring;
    if (strcmp(v, "grid") == 0) {
        c->spec->method = BT_METHOD_GRID;
    } else if (strcmp(v, "random") == 0) {
        c->spec->method = BT_METHOD_RANDOM;
    } else if (strcmp(v, "bayes") == 0) {
        bt_spec_err(c, m, 0, "method",
                    "'bayes' is not supported yet; use \"method\": \"random\" with "
                    "\"scheduler\": {\"type\": \"asha\"}, which spends most of the budget on "
                    "the promising trials");
    } else {
        static const char *const methods[] = {"grid", "random", "bayes", NULL};
        const char *dym = bt_didyoumean(v, methods, -1);
        bt_spec_err(c, m, 0, "method",
                    "unknown method '%s'%s%s%s; batchtune supports grid and "
                    "random",
                    v, dym ? " (did you mean '" : "", dym ? dym : "", dym ? "'?)" : "");
    }
}

static void parse_recorded(bt_spec_ctx *c, const cJSON *root) {
    bt_spec *s = c->spec;
    bt_spec_read_string(c, root, "name", "", &s->name);
    bt_spec_read_string(c, root, "description", "", &s->description);
    bt_spec_read_string(c, root, "program", "", &s->program);
    bt_spec_read_string(c, root, "project", "", &s->project);
    bt_spec_read_string(c, root, "entity", "", &s->entity);
    const cJSON *cmd = bt_spec_get(root, "command");
    if (cmd) {
        if (!cJSON_IsArray(cmd))
            bt_spec_err(c, cmd, 0, "command", "must be an array (W&B's command list), not %s",
                        json_kind(cmd));
        else
            s->command_json = cJSON_PrintUnformatted(cmd);
    }
    /* controller, kind, apiVersion, job, image_uri: W&B keys accepted and ignored. */
}

static void parse_root(bt_spec_ctx *c, const cJSON *root) {
    bt_spec *s = c->spec;
    bt_spec_check_keys(c, root, "", top_keys);
    parse_method(c, root);
    parse_recorded(c, root);

    const cJSON *model = bt_spec_get(root, "model");
    if (!model)
        bt_spec_err(c, root, 0, "model",
                    "missing; batchtune trains the model itself: add \"model\": {\"type\": "
                    "\"gbdt\", ...fixed parameters}");
    else
        bt_spec_parse_model(c, model);

    const cJSON *params = bt_spec_get(root, "parameters");
    c->params_obj = params;
    if (!params)
        bt_spec_err(c, root, 0, "parameters", "missing; give the parameters to sweep");
    else
        bt_spec_parse_params(c, params);
    if (c->family) bt_spec_check_params_model(c);

    bt_spec_parse_metric(c, bt_spec_get(root, "metric"));

    int64_t v;
    if (bt_spec_read_int(c, root, "run_cap", "", 1, INT64_MAX, &v) == 1) s->run_cap = v;
    const cJSON *seed = bt_spec_get(root, "seed");
    if (seed) {
        if (!cJSON_IsNumber(seed) || !bt_spec_is_int_literal(c, seed) || seed->valuedouble < 0) {
            bt_spec_err(c, seed, 0, "seed", "must be a non-negative integer");
        } else {
            const bt_jpos_entry *e = bt_jpos_find(&c->pos, seed);
            char tok[32] = "";
            size_t n = e ? e->val_end - e->val_off : 0;
            if (n > 0 && n < sizeof tok) memcpy(tok, c->text + e->val_off, n);
            errno = 0;
            unsigned long long u = strtoull(tok, NULL, 10);
            if (errno == ERANGE || n == 0 || n >= sizeof tok)
                bt_spec_err(c, seed, 0, "seed", "must fit in 64 bits");
            else
                s->seed = (uint64_t)u;
        }
    }
    bt_spec_read_string(c, root, "output", "", &s->output);
    if (s->output && !*s->output)
        bt_spec_err(c, bt_spec_get(root, "output"), 0, "output", "must not be empty");

    const cJSON *ds = bt_spec_get(root, "dataset");
    if (!ds)
        bt_spec_err(c, root, 0, "dataset",
                    "missing; add \"dataset\": {\"path\": \"data.csv\", \"target\": \"y\"} (or "
                    "train/valid files, or a synthetic set)");
    else
        bt_spec_parse_dataset(c, ds);
    bt_spec_parse_exec(c, bt_spec_get(root, "execution"));
    bt_spec_parse_sched(c, bt_spec_get(root, "early_terminate"), bt_spec_get(root, "scheduler"));

    /* Sizes: random search without a self-sizing scheduler needs a bound (W&B would run
     * forever); grid runs every point unless run_cap says fewer. */
    if (s->method == BT_METHOD_RANDOM && s->run_cap == 0 && s->sched.kind != BT_SCHED_HYPERBAND)
        s->run_cap = 100;
    if (s->method == BT_METHOD_GRID && c->n_err == 0) {
        int64_t g = bt_space_grid_size(s);
        if (g < 0)
            bt_spec_err(c, params, 0, "parameters", "the grid has more than 2^63 points");
        else if (s->run_cap > g)
            s->run_cap = g;
    }
}

bt_status bt_spec_parse(const char *path, const char *text, bt_spec *out, bt_diags *diags) {
    memset(out, 0, sizeof *out);
    bt_spec *s = out;
    s->path = bt_spec_strdup(path);
    const char *slash = strrchr(path, '/');
    if (slash) {
        s->dir = malloc((size_t)(slash - path) + 2);
        BT_CHECK_ALLOC(s->dir);
        memcpy(s->dir, path, (size_t)(slash - path) + 1);
        s->dir[slash - path + (slash == path)] = '\0'; /* "/x.json" -> "/" */
    } else {
        s->dir = bt_spec_strdup(".");
    }
    s->text = bt_spec_strdup(text);
    BT_CHECK_ALLOC(s->path);
    BT_CHECK_ALLOC(s->text);
    bt_sha256_hex(text, strlen(text), s->sha256);
    s->exec.max_pack = 256;
    s->exec.streams = 4;
    s->sched.eta = 3;
    s->dataset.target_index = -1;
    s->dataset.valid_fraction = 0.2;
    s->dataset.split_seed = 42;

    bt_spec_ctx c;
    memset(&c, 0, sizeof c);
    c.file = path;
    c.text = text;
    c.diags = diags;
    c.spec = s;

    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        size_t off = end ? (size_t)(end - text) : 0;
        syntax_error(&c, text, off);
        size_t plen = strlen(path);
        if ((plen > 5 && strcmp(path + plen - 5, ".yaml") == 0) ||
            (plen > 4 && strcmp(path + plen - 4, ".yml") == 0))
            bt_diags_add(diags,
                         "%s: note: batchtune reads JSON sweep files; convert YAML with "
                         "e.g. python3 -c 'import json,sys,yaml; "
                         "json.dump(yaml.safe_load(sys.stdin), sys.stdout, indent=2)'",
                         path);
        bt_spec_free(s);
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: not valid JSON", path);
    }
    c.root = root;
    bt_status st = bt_jpos_build(&c.pos, text, root);
    if (st != BT_STATUS_OK) {
        cJSON_Delete(root);
        bt_spec_free(s);
        return st;
    }
    if (!cJSON_IsObject(root))
        bt_spec_err(&c, root, 0, "", "the sweep file must hold one JSON object, not %s",
                    json_kind(root));
    else
        parse_root(&c, root);

    free(c.param_items);
    free(c.param_bad);
    bt_jpos_free(&c.pos);
    cJSON_Delete(root);
    if (c.n_err > 0) {
        bt_spec_free(s);
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: %d problem%s in the sweep file", path, c.n_err,
                       c.n_err == 1 ? "" : "s");
    }
    return BT_STATUS_OK;
}

bt_status bt_spec_load(const char *path, bt_spec *out, bt_diags *diags) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        bt_diags_add(diags, "%s: cannot open: %s", path, strerror(e));
        return BT_FAIL(BT_STATUS_NO_INPUT, "%s: cannot open: %s", path, strerror(e));
    }
    size_t cap = 1 << 14, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory reading %s", path);
    }
    for (;;) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                fclose(f);
                return BT_FAIL(BT_STATUS_INTERNAL, "out of memory reading %s", path);
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        bt_diags_add(diags, "%s: cannot read (is it a folder?)", path);
        return BT_FAIL(BT_STATUS_NO_INPUT, "%s: cannot read", path);
    }
    buf[n] = '\0';
    if (strlen(buf) != n) {
        int line, col;
        bt_json_text_linecol(buf, strlen(buf), &line, &col);
        bt_diags_add(diags, "%s:%d:%d: NUL byte in the file (not a text file?)", path, line, col);
        free(buf);
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: not a text file", path);
    }
    bt_status st = bt_spec_parse(path, buf, out, diags);
    free(buf);
    return st;
}

static void free_value(bt_value *v) {
    if (v->kind == BT_VALUE_STRING) free((char *)v->s);
}

void bt_spec_free(bt_spec *s) {
    if (!s) return;
    free(s->path);
    free(s->dir);
    free(s->text);
    free(s->metric_name);
    free(s->metric);
    for (int p = 0; p < s->n_params; p++) {
        bt_param_spec *ps = &s->params[p];
        free(ps->name);
        for (int i = 0; i < ps->n_values; i++) free_value(&ps->values[i]);
        free(ps->values);
        free(ps->probs);
    }
    free(s->params);
    free(s->sched.resource);
    free(s->model_type);
    for (int i = 0; i < s->n_model_fixed; i++) {
        free(s->model_fixed[i].key);
        free_value(&s->model_fixed[i].value);
    }
    free(s->model_fixed);
    bt_dataset_spec *d = &s->dataset;
    free(d->train);
    free(d->train_labels);
    free(d->valid);
    free(d->valid_labels);
    free(d->path);
    free(d->format);
    free(d->target_name);
    free(d->synthetic);
    free(s->exec.device);
    free(s->exec.gpu_packs);
    free(s->output);
    free(s->name);
    free(s->description);
    free(s->program);
    free(s->project);
    free(s->entity);
    if (s->command_json) cJSON_free(s->command_json);
    memset(s, 0, sizeof *s);
}

int bt_spec_param_index(const bt_spec *s, const char *name) {
    for (int p = 0; p < s->n_params; p++)
        if (strcmp(s->params[p].name, name) == 0) return p;
    return -1;
}
