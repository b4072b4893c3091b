/* The sweep file as a whole, from its text in memory: JSON or YAML (yaml_read.h, chosen by the
 * file's name) into one cJSON tree with positions, JSON syntax errors with positions, the
 * top-level keys and their dispatch to the blocks (spec_params.c, spec_model.c, spec_sched.c,
 * spec_data.c), and bt_spec_free. The helpers the blocks share are spec_read.c's; reading the file
 * from disk is the runtime's (runtime/store/sweep_file.c). */
#include "sweeps/spec/spec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweeps/spec/didyoumean.h"
#include "base/sha256.h"
#include "sweeps/sched/sched.h"
#include "sweeps/space.h"
#include "sweeps/spec/spec_internal.h"
#include "sweeps/spec/yaml_read.h"

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
    static const char *const methods[] = {"grid", "random", "bayes", "tpe", NULL};
    const cJSON *m = bt_spec_get(root, "method");
    if (!m) {
        bt_spec_err(c, root, 0, "method",
                    "missing; give \"method\": \"grid\", \"random\", \"bayes\" or \"tpe\"");
        return;
    }
    if (!cJSON_IsString(m)) {
        bt_spec_err(c, m, 0, "method",
                    "must be a string (\"grid\", \"random\", \"bayes\" or "
                    "\"tpe\"), not %s",
                    bt_spec_json_kind(m));
        return;
    }
    const char *v = m->valuestring;
    for (int k = 0; methods[k]; k++)
        if (strcmp(v, methods[k]) == 0) {
            c->spec->method = (bt_method)k; /* the table follows bt_method's order */
            return;
        }
    const char *dym = bt_didyoumean(v, methods, -1);
    bt_spec_err(c, m, 0, "method",
                "unknown method '%s'%s%s%s; batchtune supports grid, random, bayes and tpe", v,
                dym ? " (did you mean '" : "", dym ? dym : "", dym ? "'?)" : "");
}

const char *bt_method_name(bt_method m) {
    static const char *const names[] = {"grid", "random", "bayes", "tpe"};
    return (unsigned)m < sizeof names / sizeof *names ? names[m] : "?";
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
                        bt_spec_json_kind(cmd));
        else
            s->command_json = cJSON_PrintUnformatted(cmd);
    }
    /* controller, kind, apiVersion, job, image_uri: W&B keys accepted and ignored. */
}

/* A grid's run_cap above its size is its size. */
static void clamp_run_cap(bt_spec *s) {
    int64_t g = s->method == BT_METHOD_GRID ? bt_space_grid_size(s) : -1;
    if (g >= 0 && s->run_cap > g) s->run_cap = g;
}

/* W&B runs `program` / `command` for each trial; with a model block batchtune trains the model
 * itself, so the program is not run: say so rather than leave it silently unused. */
static void warn_program(bt_spec_ctx *c) {
    const bt_spec *s = c->spec;
    if (!s->model_type || (!s->program && !s->command_json)) return;
    char msg[640], what[400];
    if (s->program && s->command_json)
        snprintf(what, sizeof what, "program '%.120s' (and command %.200s) is", s->program,
                 s->command_json);
    else if (s->program)
        snprintf(what, sizeof what, "program '%.120s' is", s->program);
    else
        snprintf(what, sizeof what, "command %.200s is", s->command_json);
    snprintf(msg, sizeof msg,
             "the sweep's %s not run: the model block's %s is trained natively by batchtune "
             "(program and command are only recorded)",
             what, s->model_type);
    bt_spec_warn(c->spec, msg);
}

static void parse_root(bt_spec_ctx *c, const cJSON *root) {
    bt_spec *s = c->spec;
    /* W&B warns about a top-level key it does not know and goes on; so does batchtune, unless
     * the key looks like a misspelt one */
    bt_spec_check_keys_ex(c, root, "", top_keys, 1);
    parse_method(c, root);
    parse_recorded(c, root);

    const cJSON *model = bt_spec_get(root, "model");
    s->prog.on = !model && (bt_spec_get(root, "program") || bt_spec_get(root, "command"));
    c->program_values = !model && (s->prog.on || !bt_spec_get(root, "dataset"));
    if (s->prog.on)
        bt_spec_parse_program(c, root);
    else if (!model && !bt_spec_get(root, "dataset"))
        /* a W&B sweep written for wandb.agent(sweep_id, function=train) in Python: nothing to
         * run from the command line, as for `wandb agent` */
        bt_spec_err(c, root, 0, "program",
                    "missing; the sweep names no program, command or model. W&B's command-line "
                    "agent runs `program` (a script that reads wandb.config); a sweep written for "
                    "wandb.agent(sweep_id, function=...) needs one too, e.g. \"program\": "
                    "\"train.py\" calling that function. Or add \"model\" and \"dataset\" "
                    "blocks to have batchtune train a built-in model itself");
    else if (!model)
        bt_spec_err(c, root, 0, "model",
                    "missing; batchtune trains the model itself: add \"model\": {\"type\": "
                    "\"gbdt\", ...fixed parameters}, or give `program` (or `command`) to run "
                    "your own training program as W&B's agent does");
    else
        bt_spec_parse_model(c, model);
    warn_program(c);

    const cJSON *params = bt_spec_get(root, "parameters");
    c->params_obj = params;
    if (!params)
        bt_spec_err(c, root, 0, "parameters", "missing; give the parameters to sweep");
    else
        bt_spec_parse_params(c, params);
    if (c->family) bt_spec_check_params_model(c);
    if (s->method == BT_METHOD_GRID) bt_spec_grid_unique(c);

    bt_spec_parse_metric(c, bt_spec_get(root, "metric"));

    int64_t v;
    if (bt_spec_read_int(c, root, "run_cap", "", 1, BT_SPEC_MAX_TRIALS, &v) == 1) s->run_cap = v;
    const cJSON *seed = bt_spec_get(root, "seed");
    if (seed) {
        if (!cJSON_IsNumber(seed) || !bt_spec_is_int_literal(c, seed) || seed->valuedouble < 0) {
            bt_spec_err(c, seed, 0, "seed", "must be a non-negative integer");
        } else {
            size_t n = 0;
            const char *lit = bt_jpos_number(&c->pos, seed, &n);
            char tok[32] = "";
            if (!lit) n = 0;
            if (n > 0 && n < sizeof tok) memcpy(tok, lit, n);
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
    if (s->prog.on && ds)
        bt_spec_err(c, ds, 1, "dataset",
                    "a program sweep has no dataset block: the program loads its own data");
    else if (s->prog.on || (!model && !ds))
        ; /* a program sweep, or one with neither (said above) */
    else if (!ds)
        bt_spec_err(c, root, 0, "dataset",
                    "missing; add \"dataset\": {\"path\": \"data.csv\", \"target\": \"y\"} (or "
                    "train/valid files, or a synthetic set)");
    else
        bt_spec_parse_dataset(c, ds);
    bt_spec_parse_exec(c, bt_spec_get(root, "execution"));
    bt_spec_parse_sched(c, bt_spec_get(root, "early_terminate"), bt_spec_get(root, "scheduler"));
    bt_spec_parse_program_exec(c, bt_spec_get(root, "execution"));

    /* Sizes: random search without a self-sizing scheduler needs a bound (W&B would run
     * forever); grid runs every point unless run_cap says fewer. */
    if (s->method != BT_METHOD_GRID && s->run_cap == 0 && s->sched.kind != BT_SCHED_HYPERBAND)
        s->run_cap = 100;
    /* bayes and tpe: a proposal made while k trials are in flight misses their k reports, which
     * costs a short sweep dearly and a long one little (bench/bayes_quality.py: 40 trials at
     * concurrency 1, 2, 4, 8 reach 0.0906, 0.0909, 0.0918, 0.0928; 160 trials at 1 and 4 reach
     * 0.08352 and 0.08335), so the default grows with the budget */
    if (bt_method_is_model(s->method)) {
        int64_t k =
            s->run_cap > 0 ? s->run_cap / BT_SPEC_MODEL_TRIALS_PER_RUN : BT_SPEC_MODEL_CONCURRENCY;
        s->model_concurrency =
            k < 1 ? 1 : (k > BT_SPEC_MODEL_CONCURRENCY ? BT_SPEC_MODEL_CONCURRENCY : k);
    }
    if (c->family && s->sched.concurrency == 0) s->sched.concurrency = bt_spec_concurrency(s);
    if (s->method == BT_METHOD_GRID && c->n_err == 0) {
        int64_t g = bt_space_grid_size(s);
        if (g < 0)
            bt_spec_err(c, params, 0, "parameters", "the grid has more than 2^63 points");
        else if (g > BT_SPEC_MAX_TRIALS && s->run_cap == 0)
            bt_spec_err(c, params, 0, "parameters",
                        "the grid has %lld points, more than the limit of %lld trials; set "
                        "run_cap to run its first N points",
                        (long long)g, BT_SPEC_MAX_TRIALS);
        else
            clamp_run_cap(s);
    }
    /* Hyperband without run_cap sizes itself: a plan past the trial limit is the scheduler
     * block's fault, so it is reported here, where its place in the file is known. */
    if (s->sched.kind == BT_SCHED_HYPERBAND && c->n_err == 0) {
        bt_sched *plan = NULL;
        if (bt_sched_init_plan(&plan, &s->sched, bt_space_offered(s), s->sched.max_resource,
                               s->maximize) != BT_STATUS_OK) {
            const cJSON *at = bt_spec_get(root, "scheduler");
            bt_spec_err(c, at ? at : root, 1, "scheduler", "%s", bt_status_message());
            bt_status_clear();
        }
        bt_sched_free(plan);
    }
}

void bt_spec_set_run_cap(bt_spec *s, int64_t n) {
    s->run_cap = n;
    s->run_cap_override = n;
    clamp_run_cap(s);
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
    s->exec.streams = 0; /* unset: 4 per GPU (runtime/exec/executor.c) */
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

    cJSON *root = NULL;
    int yaml = bt_yaml_is_yaml(path, text);
    if (yaml) {
        bt_status st = bt_yaml_read(path, text, &root, &c.pos, diags);
        if (st != BT_STATUS_OK) {
            bt_spec_free(s);
            return st;
        }
    } else {
        const char *end = NULL;
        root = cJSON_ParseWithOpts(text, &end, 1);
        if (!root) {
            syntax_error(&c, text, end ? (size_t)(end - text) : 0);
            bt_spec_free(s);
            return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: not valid JSON", path);
        }
        bt_status st = bt_jpos_build(&c.pos, text, root);
        if (st != BT_STATUS_OK) {
            cJSON_Delete(root);
            bt_spec_free(s);
            return st;
        }
    }
    c.root = root;
    if (!cJSON_IsObject(root))
        bt_spec_err(&c, root, 0, "", "the sweep file must hold one %s, not %s",
                    yaml ? "YAML mapping (key: value lines)" : "JSON object",
                    bt_spec_json_kind(root));
    else
        parse_root(&c, root);

    free(c.param_items);
    free(c.param_bad);
    bt_jpos_free(&c.pos);
    cJSON_Delete(root);
    if (c.n_err > 0) {
        if (diags) { /* a stray key W&B would name may well be the problem */
            for (int i = 0; i < diags->n_warnings; i++) free(diags->warnings[i]);
            free(diags->warnings);
            diags->warnings = s->warnings;
            diags->n_warnings = s->n_warnings;
            s->warnings = NULL;
            s->n_warnings = 0;
        }
        bt_spec_free(s);
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: %d problem%s in the sweep file", path, c.n_err,
                       c.n_err == 1 ? "" : "s");
    }
    return BT_STATUS_OK;
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
    for (int i = 0; i < s->n_warnings; i++) free(s->warnings[i]);
    free(s->warnings);
    for (int i = 0; i < s->prog.n_command; i++) free(s->prog.command[i]);
    free(s->prog.command);
    free(s->prog.wandb);
    memset(s, 0, sizeof *s);
}
