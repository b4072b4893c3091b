/* Per-trial `seconds` in the results: a budget-prefix group's run is paid for once (its members
 * share each tick's time, so the trials' seconds add up to no more than the sweep's), a longer
 * member costs more than a shorter one, and a stopped and resumed sweep keeps the time spent
 * before the stop (finished trials' seconds unchanged, bit for bit). */
#include <stdatomic.h>
#include <time.h>

#include "models/pack.h"
#include "runtime/exec/executor.h"
#include "runtime/store/results.h"
#include "runtime/store/sweep_file.h"
#include "sweeps/spec/spec.h"
#include "tests/bt_test.h"

static bt_pack_ops slow_vt;
static const bt_pack_ops *base_vt;
static atomic_int n_steps;
static int stop_at = -1;
static volatile sig_atomic_t stop_flag;

/* Each step takes at least 2 ms, so tick times are well above the clock's resolution. */
static bt_status slow_step(bt_pack *p, const int *slots, int n) {
    int k = atomic_fetch_add(&n_steps, 1);
    struct timespec ts = {0, 2 * 1000 * 1000};
    nanosleep(&ts, NULL);
    bt_status st = base_vt->step(p, slots, n);
    if (k == stop_at) stop_flag = 1;
    return st;
}

static bt_status run(const char *sweep, const char *out, int resume, bt_run_summary *sum) {
    bt_spec spec;
    bt_diags d;
    bt_diags_init(&d);
    bt_status st = bt_spec_load(sweep, &spec, &d);
    for (int i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.msgs[i]);
    bt_diags_free(&d);
    if (st != BT_STATUS_OK) return st;
    stop_flag = 0;
    bt_run_opts o = {.out_path = out,
                     .device = "cpu",
                     .fresh = !resume,
                     .stop = &stop_flag,
                     .checkpoint_every = 1000,
                     .packs_override = &slow_vt};
    st = bt_sweep_run(&spec, &o, sum);
    bt_spec_free(&spec);
    return st;
}

static double total_seconds(const bt_results *r) {
    double s = 0;
    for (int64_t t = 0; t < r->n_trials; t++) s += r->trials[t].seconds;
    return s;
}

/* index of parameter `name` among the results' columns */
static int col(const bt_results *r, const char *name) {
    for (int p = 0; p < r->n_params; p++)
        if (strcmp(r->params[p].name, name) == 0) return p;
    return -1;
}

int main(void) {
    const char *tmp = bt_test_tmpdir();
    const char *src = getenv("BT_SOURCE_DIR");
    if (!src) src = ".";
    base_vt = bt_model_find("gbdt")->cpu;
    slow_vt = *base_vt;
    slow_vt.step = slow_step;
    char sweep[512], out[512], json[2048];
    snprintf(sweep, sizeof sweep, "%s/seconds.json", tmp);
    snprintf(out, sizeof out, "%s/seconds.h5", tmp);
    /* 6 runs, each shared by 5 trials (num_round 2..10) */
    snprintf(
        json, sizeof json,
        "{\"method\": \"grid\", \"metric\": {\"name\": \"validation/mse\", \"goal\": "
        "\"minimize\"}, \"parameters\": {\"eta\": {\"values\": [0.1, 0.2, 0.3]},"
        " \"max_depth\": {\"values\": [2, 3]}, \"num_round\": {\"values\": [2, 4, 6, 8, 10]}},"
        " \"model\": {\"type\": \"gbdt\", \"objective\": \"reg:squarederror\"},"
        " \"dataset\": {\"path\": \"%s/sweeps/examples/data/boston.csv\", \"target\": \"MEDV\"},"
        " \"execution\": {\"threads\": 1}, \"seed\": 5}",
        src);
    FILE *f = fopen(sweep, "w");
    CHECK(f != NULL);
    if (!f) return bt_test_finish("test_executor_seconds");
    fputs(json, f);
    fclose(f);

    /* uninterrupted */
    bt_run_summary sum;
    CHECK_OK(run(sweep, out, 0, &sum));
    bt_results full;
    CHECK_OK(bt_results_read(out, &full));
    double tot = total_seconds(&full);
    printf("trials' seconds %.4f, sweep %.4f\n", tot, sum.seconds);
    CHECK(tot > 0.02); /* 10 ticks of at least 2 ms */
    CHECK_MSG(tot <= sum.seconds + 1e-9, "trials %.6f s > sweep %.6f s", tot, sum.seconds);
    int c_nr = col(&full, "num_round");
    CHECK(c_nr >= 0);
    /* within a group (consecutive trials in grid order), seconds grow with num_round */
    for (int64_t t = 0; c_nr >= 0 && t + 1 < full.n_trials; t++) {
        if (full.trials[t + 1].params[c_nr].i <= full.trials[t].params[c_nr].i) continue;
        CHECK_MSG(full.trials[t + 1].seconds > full.trials[t].seconds,
                  "trial %lld (%.6f s) vs %lld (%.6f s)", (long long)t + 1,
                  full.trials[t + 1].seconds, (long long)t, full.trials[t].seconds);
    }

    /* stopped after 4 of 10 ticks, then resumed */
    stop_at = 3;
    atomic_store(&n_steps, 0);
    CHECK_EQ_INT(run(sweep, out, 0, &sum), BT_STATUS_INTERRUPTED);
    stop_at = -1;
    bt_results part, resumed;
    CHECK_OK(bt_results_read(out, &part));
    CHECK_OK(run(sweep, out, 1, &sum));
    CHECK(sum.resumed);
    CHECK_OK(bt_results_read(out, &resumed));
    int64_t done_before = 0, kept = 0;
    for (int64_t t = 0; t < part.n_trials; t++) {
        CHECK(resumed.trials[t].seconds >= part.trials[t].seconds);
        if (part.trials[t].status != BT_TRIAL_COMPLETED) continue;
        done_before++;
        kept += memcmp(&part.trials[t].seconds, &resumed.trials[t].seconds, sizeof(double)) == 0;
    }
    printf("%lld trials done before the stop, %lld kept their seconds; total %.4f -> %.4f\n",
           (long long)done_before, (long long)kept, total_seconds(&part), total_seconds(&resumed));
    CHECK(done_before > 0);
    CHECK_EQ_INT(kept, done_before);
    CHECK(total_seconds(&resumed) > total_seconds(&part));
    /* the resumed sweep's history clock goes on from where the first session stopped */
    double last_part = 0, first_new = 1e30;
    for (int64_t h = 0; h < part.n_history; h++)
        if (part.history[h].time > last_part) last_part = part.history[h].time;
    for (int64_t h = part.n_history; h < resumed.n_history; h++)
        if (resumed.history[h].time < first_new) first_new = resumed.history[h].time;
    CHECK_MSG(first_new >= last_part, "history time %.6f after the resume < %.6f before", first_new,
              last_part);
    bt_results_free(&full);
    bt_results_free(&part);
    bt_results_free(&resumed);
    return bt_test_finish("test_executor_seconds");
}
