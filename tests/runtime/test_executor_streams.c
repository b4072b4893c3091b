/* Packs stepped side by side (executor streams) must change nothing: the CPU gbdt family with
 * concurrent_steps flipped on, small packs (several per shape) and random delays inside each step,
 * so packs finish in any order, against the plain sequential run -- /trials, /history and the
 * event log must match, also across an interruption and resume, and a failing step must surface
 * as an error naming its pack. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "models/pack.h"
#include "runtime/exec/executor.h"
#include "runtime/store/results.h"
#include "runtime/store/sweep_file.h"
#include "sweeps/spec/spec.h"
#include "tests/bt_test.h"

static bt_pack_ops test_vt;
static const bt_pack_ops *base_vt;
static atomic_int n_steps;
static atomic_int n_concurrent, max_concurrent;
static int stop_at = -1, fail_at = -1;
static volatile sig_atomic_t stop_flag;
static unsigned delay_seed;

static int small_capacity(const bt_model_data *d, const bt_hparams *shape, int wanted) {
    (void)d;
    (void)shape;
    return wanted < 3 ? wanted : 3;
}

static bt_status slow_step(bt_pack *p, const int *slots, int n) {
    int k = atomic_fetch_add(&n_steps, 1);
    int now = atomic_fetch_add(&n_concurrent, 1) + 1;
    int seen = atomic_load(&max_concurrent);
    while (now > seen && !atomic_compare_exchange_weak(&max_concurrent, &seen, now)) {
    }
    /* a delay drawn from the step number, so packs finish out of order */
    unsigned s = delay_seed ^ (unsigned)k * 2654435761u;
    struct timespec ts = {0, (long)(s % 400u) * 1000L};
    nanosleep(&ts, NULL);
    bt_status st = k == fail_at ? BT_FAIL(BT_STATUS_INTERNAL, "injected failure at step %d", k)
                                : base_vt->step(p, slots, n);
    if (k == stop_at) stop_flag = 1;
    atomic_fetch_sub(&n_concurrent, 1);
    return st;
}

static const char *tmp;

/* A pack's note (pack ops `note`): said once per pack as a warning, once notes are on. */
static atomic_int notes_on;
static const char *test_note(const bt_pack *p) {
    (void)p;
    return atomic_load(&notes_on) ? "test note: cuBLAS runs in FP32 instead of TF32" : NULL;
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* Runs the sweep at sweep_path into out (fresh unless resume); log lines go to log_path. */
static bt_status run(const char *sweep_path, const char *out, const char *log_path, int concurrent,
                     int resume) {
    bt_spec spec;
    bt_diags d;
    bt_diags_init(&d);
    bt_status st = bt_spec_load(sweep_path, &spec, &d);
    for (int i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.msgs[i]);
    bt_diags_free(&d);
    if (st != BT_STATUS_OK) return st;
    FILE *log = fopen(log_path, resume ? "a" : "w");
    stop_flag = 0;
    bt_run_opts o = {.out_path = out,
                     .device = "cpu",
                     .fresh = !resume,
                     .log = log,
                     .stop = &stop_flag,
                     .checkpoint_every = 1000,
                     .streams = concurrent ? 4 : 0,
                     .packs_override = concurrent ? &test_vt : NULL};
    bt_run_summary sum;
    st = bt_sweep_run(&spec, &o, &sum);
    if (log) fclose(log);
    bt_spec_free(&spec);
    return st;
}

static int same_double(double a, double b) {
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

static void compare_results(const char *a_path, const char *b_path) {
    bt_results a, b;
    CHECK_OK(bt_results_read(a_path, &a));
    CHECK_OK(bt_results_read(b_path, &b));
    CHECK_EQ_INT(a.n_trials, b.n_trials);
    int64_t bad = 0;
    for (int64_t t = 0; t < a.n_trials && t < b.n_trials; t++) {
        const bt_trial_row *x = &a.trials[t], *y = &b.trials[t];
        if (x->status != y->status || !same_double(x->metric, y->metric) ||
            !same_double(x->best_metric, y->best_metric) || x->resource != y->resource ||
            x->bracket != y->bracket || x->rung != y->rung)
            bad++;
    }
    CHECK_MSG(bad == 0, "%lld trial rows differ", (long long)bad);
    CHECK_EQ_INT(a.n_history, b.n_history);
    bad = 0;
    for (int64_t h = 0; h < a.n_history && h < b.n_history; h++) {
        const bt_history_row *x = &a.history[h], *y = &b.history[h];
        if (x->trial_id != y->trial_id || x->resource != y->resource ||
            strcmp(a.metric_names[x->metric], b.metric_names[y->metric]) != 0 ||
            !same_double(x->value, y->value))
            bad++;
    }
    CHECK_MSG(bad == 0, "%lld history rows differ", (long long)bad);
    CHECK_EQ_INT(a.n_rungs, b.n_rungs);
    CHECK_EQ_INT(a.best_trial, b.best_trial);
    bt_results_free(&a);
    bt_results_free(&b);
}

/* The event log without its clock fields and without the events that describe the machinery
 * (checkpoints come with time, pack_init with the packing) -- what must not change. */
static char *events(const char *path, int64_t *n_lines) {
    FILE *f = fopen(path, "r");
    *n_lines = 0;
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap), line[4096];
    while (out && fgets(line, sizeof line, f)) {
        if (strstr(line, "\"checkpoint\"") || strstr(line, "\"pack_init\"")) continue;
        char *p = strstr(line, "\"elapsed\":");
        if (p) p = strchr(p, ',');
        const char *keep = p ? p + 1 : line;
        char *ev = strstr(line, "\"event\":");
        size_t need = strlen(keep) + 64;
        if (len + need >= cap) {
            cap = 2 * (len + need);
            char *no = realloc(out, cap);
            if (!no) break;
            out = no;
        }
        /* the event name, then everything after "elapsed" */
        if (ev) {
            char *end = strchr(ev + 9, '"');
            if (end) len += (size_t)snprintf(out + len, cap - len, "%.*s ", (int)(end - ev), ev);
        }
        len += (size_t)snprintf(out + len, cap - len, "%s", keep);
        (*n_lines)++;
    }
    fclose(f);
    return out;
}

static void compare_events(const char *a_path, const char *b_path) {
    int64_t na = 0, nb = 0;
    char *a = events(a_path, &na), *b = events(b_path, &nb);
    CHECK(a && b);
    CHECK(na > 10);
    CHECK_EQ_INT(na, nb);
    if (a && b && strcmp(a, b) != 0) {
        size_t i = 0;
        while (a[i] && a[i] == b[i]) i++;
        CHECK_MSG(0, "event logs differ at byte %zu: ...%.80s vs ...%.80s", i,
                  a + (i > 40 ? i - 40 : 0), b + (i > 40 ? i - 40 : 0));
    }
    free(a);
    free(b);
}

static void case_sweep(const char *name, const char *sweep_json) {
    char sweep[512], ref[512], con[512], res[512], lref[512], lcon[512], lres[512];
    snprintf(sweep, sizeof sweep, "%s/streams-%s.json", tmp, name);
    snprintf(ref, sizeof ref, "%s/streams-%s-ref.h5", tmp, name);
    snprintf(con, sizeof con, "%s/streams-%s-con.h5", tmp, name);
    snprintf(res, sizeof res, "%s/streams-%s-res.h5", tmp, name);
    snprintf(lref, sizeof lref, "%s/streams-%s-ref.log", tmp, name);
    snprintf(lcon, sizeof lcon, "%s/streams-%s-con.log", tmp, name);
    snprintf(lres, sizeof lres, "%s/streams-%s-res.log", tmp, name);
    write_file(sweep, sweep_json);
    printf("%s: sequential\n", name);
    CHECK_OK(run(sweep, ref, lref, 0, 0));
    int seq_max = atomic_load(&max_concurrent);
    CHECK_EQ_INT(seq_max, 0); /* the override was not used: no test step ran */

    printf("%s: 4 streams, packs of 3\n", name);
    atomic_store(&n_steps, 0);
    CHECK_OK(run(sweep, con, lcon, 1, 0));
    int steps = atomic_load(&n_steps);
    printf("%s: %d pack steps, at most %d at once\n", name, steps, atomic_load(&max_concurrent));
    CHECK(steps > 0);
    CHECK(atomic_load(&max_concurrent) >= 2); /* packs really were stepped side by side */
    compare_results(ref, con);
    compare_events(lref, lcon);

    /* stopped part way (SIGTERM's path), then resumed, both with streams */
    atomic_store(&n_steps, 0);
    stop_at = steps / 3;
    bt_status st = run(sweep, res, lres, 1, 0);
    CHECK_EQ_INT(st, BT_STATUS_INTERRUPTED);
    stop_at = -1;
    CHECK_OK(run(sweep, res, lres, 1, 1));
    compare_results(ref, res);

    /* a step failing on some thread fails the sweep with that step's message */
    atomic_store(&n_steps, 0);
    fail_at = steps / 2;
    st = run(sweep, res, lres, 1, 0);
    fail_at = -1;
    CHECK_EQ_INT(st, BT_STATUS_INTERNAL);
    CHECK_MSG(strstr(bt_status_message(), "injected failure") != NULL &&
                  strstr(bt_status_message(), "pack ") != NULL,
              "message: %s", bt_status_message());
    atomic_store(&max_concurrent, 0);
}

/* Lines of file `path` containing both a and b. */
static int count_lines(const char *path, const char *a, const char *b) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f)) n += strstr(line, a) && strstr(line, b);
    fclose(f);
    return n;
}

/* The notes of the packs reach the user once per pack, as warning events. */
static void case_notes(const char *sweep_json) {
    char sweep[512], out[512], log[512];
    snprintf(sweep, sizeof sweep, "%s/streams-notes.json", tmp);
    snprintf(out, sizeof out, "%s/streams-notes.h5", tmp);
    snprintf(log, sizeof log, "%s/streams-notes.log", tmp);
    write_file(sweep, sweep_json);
    atomic_store(&notes_on, 1);
    CHECK_OK(run(sweep, out, log, 1, 0));
    atomic_store(&notes_on, 0);
    int packs = count_lines(log, "\"pack_init\"", "\"slots\"");
    int warned = count_lines(log, "\"warning\"", "test note: cuBLAS runs in FP32");
    CHECK_MSG(packs >= 2 && warned == packs, "%d packs, %d note warnings", packs, warned);
}

int main(void) {
    tmp = bt_test_tmpdir();
    const char *src = getenv("BT_SOURCE_DIR");
    if (!src) src = ".";
    base_vt = bt_model_find("gbdt")->cpu;
    test_vt = *base_vt;
    test_vt.concurrent_steps = 1;
    test_vt.pack_capacity = small_capacity;
    test_vt.step = slow_step;
    test_vt.note = test_note;
    delay_seed = (unsigned)time(NULL);
    printf("delay seed %u\n", delay_seed);

    char json[4096];
    /* ASHA with two shapes (max_bin), row sampling and an extra metric */
    snprintf(
        json, sizeof json,
        "{\"method\": \"random\", \"run_cap\": 30,"
        " \"metric\": {\"name\": \"validation/rmse\", \"goal\": \"minimize\"},"
        " \"parameters\": {\"eta\": {\"min\": 0.05, \"max\": 0.5},"
        "   \"max_depth\": {\"values\": [2, 3, 4, 5]},"
        "   \"subsample\": {\"min\": 0.5, \"max\": 1.0},"
        "   \"max_bin\": {\"values\": [32, 256]}},"
        " \"model\": {\"type\": \"gbdt\", \"objective\": \"reg:squarederror\"},"
        " \"dataset\": {\"path\": \"%s/sweeps/examples/data/boston.csv\", \"target\": \"MEDV\"},"
        " \"scheduler\": {\"type\": \"asha\", \"min_resource\": 1, \"max_resource\": 27,"
        "   \"eta\": 3, \"concurrency\": 8},"
        " \"execution\": {\"threads\": 2}, \"seed\": 7}",
        src);
    case_sweep("asha", json);
    /* a grid with num_round as a budget prefix, two shapes */
    snprintf(
        json, sizeof json,
        "{\"method\": \"grid\","
        " \"metric\": {\"name\": \"validation/mse\", \"goal\": \"minimize\"},"
        " \"parameters\": {\"eta\": {\"values\": [0.2, 0.3]},"
        "   \"max_depth\": {\"values\": [2, 4, 6]},"
        "   \"num_round\": {\"values\": [4, 9, 12]},"
        "   \"max_bin\": {\"values\": [64, 256]}},"
        " \"model\": {\"type\": \"gbdt\", \"objective\": \"reg:squarederror\"},"
        " \"dataset\": {\"path\": \"%s/sweeps/examples/data/boston.csv\", \"target\": \"MEDV\"},"
        " \"execution\": {\"threads\": 1}, \"seed\": 3}",
        src);
    case_sweep("grid", json);
    case_notes(json);
    return bt_test_finish("test_executor_streams");
}
