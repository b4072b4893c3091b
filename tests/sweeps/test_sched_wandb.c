/* W&B hyperband stopping rule: the bands W&B derives (min_iter form and max_iter/s form, checked
 * against the band lists in wandb/sweeps' own tests), the threshold sorted[int(n / eta)], strict
 * (value at the band) versus default (best value so far), maximize, NaN, and replay. */
#include "sweeps/sched/sched.h"
#include "tests/bt_test.h"
#include "tests/sweeps/test_sched_driver.h"

static void check_rungs(bt_sched_spec sp, int64_t max_res, const int64_t *want, int n) {
    bt_sched *s = NULL;
    CHECK_OK(bt_sched_init(&s, &sp, 4, max_res, 0));
    if (!s) return;
    bt_sched_bracket_plan plan[1];
    int nb;
    CHECK_OK(bt_sched_plan(s, plan, 1, &nb));
    CHECK_EQ_INT(plan[0].n_rungs, n);
    for (int i = 0; i < n && i < plan[0].n_rungs; i++) {
        CHECK_MSG(plan[0].rungs[i].resource == want[i], "rung %d: %lld, want %lld", i,
                  (long long)plan[0].rungs[i].resource, (long long)want[i]);
        CHECK_EQ_INT(plan[0].rungs[i].n_trials, 4);
    }
    bt_sched_free(s);
}

static void test_bands(void) {
    /* min_iter 3, eta 3: W&B bands 3, 9, 27, ...; trials train to 100 */
    bt_sched_spec sp = sd_spec(BT_SCHED_WANDB_HYPERBAND, 3, 0, 3);
    const int64_t a[] = {3, 9, 27, 81, 100};
    check_rungs(sp, 100, a, 5);
    /* max_iter 81, s 3, eta 3: 27, 9, 3 sorted */
    sp = sd_spec(BT_SCHED_WANDB_HYPERBAND, 0, 81, 3);
    sp.s = 3;
    const int64_t b[] = {3, 9, 27, 81};
    check_rungs(sp, 0, b, 4);
    /* max_iter 18, s 2, eta 3: [2, 6] (int truncation of 6.0 and 2.0) */
    sp = sd_spec(BT_SCHED_WANDB_HYPERBAND, 0, 18, 3);
    sp.s = 2;
    const int64_t c[] = {2, 6, 18};
    check_rungs(sp, 0, c, 3);
    /* max_iter 5, s 2, eta 2: 2.5 -> 2, 1.25 -> 1 */
    sp = sd_spec(BT_SCHED_WANDB_HYPERBAND, 0, 5, 2);
    sp.s = 2;
    const int64_t d[] = {1, 2, 5};
    check_rungs(sp, 0, d, 3);
    /* max_iter 9, s 5, eta 3: stops when band < 1 -> 1, 3 */
    sp = sd_spec(BT_SCHED_WANDB_HYPERBAND, 0, 9, 3);
    sp.s = 5;
    const int64_t e[] = {1, 3, 9};
    check_rungs(sp, 0, e, 3);
    /* min_iter >= max: no band, one job straight to max */
    sp = sd_spec(BT_SCHED_WANDB_HYPERBAND, 10, 10, 3);
    const int64_t f[] = {10};
    check_rungs(sp, 0, f, 1);
}

/* metric[trial][rung] for the scripted runs below; resources 1, 2, 4 (eta 2, min_iter 1). */
typedef struct script {
    double m[8][3];
} script;

static double obj_script(int64_t trial, int64_t resource, void *ctx) {
    const script *sc = (const script *)ctx;
    int k = resource == 1 ? 0 : resource == 2 ? 1 : 2;
    return sc->m[trial][k];
}

static bt_sched *run_script(const script *sc, int n, int strict, int maximize, sd_log *L) {
    bt_sched_spec sp = sd_spec(BT_SCHED_WANDB_HYPERBAND, 1, 4, 2);
    sp.strict = strict;
    bt_sched *s = NULL;
    CHECK_OK(bt_sched_init(&s, &sp, n, 0, maximize));
    if (!s) return NULL;
    CHECK_EQ_INT(sd_run(s, 1, 0, obj_script, (void *)sc, L), 0);
    sd_check_replay(s, &sp, n, 0, maximize, L);
    sd_check_one_decision_per_report(s, L);
    return s;
}

static void test_thresholds(void) {
    /* Sequential; each trial constant across resources.
     * t0 .5 passes (alone). t1 .6: band values {.5,.6}, threshold sorted[int(2/2)] = .6, not
     * worse, passes; t2 .7: {.5,.6,.7} -> sorted[1] = .6, .7 is worse: stopped at band 1.
     * t3 .4: passes everything. */
    for (int maximize = 0; maximize < 2; maximize++) {
        double sg = maximize ? -1 : 1;
        script sc;
        const double v[4] = {.5, .6, .7, .4};
        for (int t = 0; t < 4; t++)
            for (int k = 0; k < 3; k++) sc.m[t][k] = sg * v[t];
        sd_log L = {0};
        bt_sched *s = run_script(&sc, 4, 1, maximize, &L);
        if (!s) return;
        CHECK(bt_sched_trial_status(s, 0) == BT_TRIAL_COMPLETED);
        CHECK(bt_sched_trial_status(s, 1) == BT_TRIAL_COMPLETED);
        CHECK(bt_sched_trial_status(s, 2) == BT_TRIAL_PRUNED);
        CHECK(bt_sched_trial_status(s, 3) == BT_TRIAL_COMPLETED);
        int32_t b, r;
        bt_sched_trial_place(s, 2, &b, &r);
        CHECK_EQ_INT(r, 0);
        /* trial 1 finished before trial 2 started: W&B's runs go one after another too */
        CHECK_EQ_INT(L.n_jobs, 3 + 3 + 1 + 3);
        int64_t nd;
        const bt_rung_decision *d = bt_sched_decisions(s, &nd);
        CHECK_EQ_INT(nd, 10);
        CHECK(nd == 10 && d[6].trial == 2 && d[6].promoted == 0 && d[6].resource == 1);
        sd_log_free(&L);
        bt_sched_free(s);
    }
}

static void test_strict(void) {
    /* t2 is good at band 1 (.3) and bad at band 2 (.9): band 2 threshold from {.5,.6,.9} is .6.
     * strict compares the band value .9 -> stop; default compares the best so far .3 -> go on. */
    script sc = {{{.5, .5, .5}, {.6, .6, .6}, {.3, .9, .9}}};
    for (int strict = 0; strict < 2; strict++) {
        sd_log L = {0};
        bt_sched *s = run_script(&sc, 3, strict, 0, &L);
        if (!s) return;
        CHECK(bt_sched_trial_status(s, 2) == (strict ? BT_TRIAL_PRUNED : BT_TRIAL_COMPLETED));
        int32_t b, r;
        bt_sched_trial_place(s, 2, &b, &r);
        CHECK_EQ_INT(r, strict ? 1 : 2);
        sd_log_free(&L);
        bt_sched_free(s);
    }
}

static void test_nan(void) {
    /* a NaN report fails the trial and is left out of later thresholds (W&B filters invalid
     * values): t2 .7 then faces {.5, .7} -> threshold .7 and passes */
    script sc = {{{.5, .5, .5}, {NAN, 0, 0}, {.7, .7, .7}}};
    sd_log L = {0};
    bt_sched *s = run_script(&sc, 3, 1, 0, &L);
    if (!s) return;
    CHECK(bt_sched_trial_status(s, 1) == BT_TRIAL_FAILED);
    CHECK(bt_sched_trial_status(s, 2) == BT_TRIAL_COMPLETED);
    sd_log_free(&L);
    bt_sched_free(s);
    /* all NaN */
    script all;
    for (int t = 0; t < 8; t++)
        for (int k = 0; k < 3; k++) all.m[t][k] = NAN;
    s = run_script(&all, 8, 0, 0, &L);
    if (!s) return;
    CHECK_EQ_INT(L.n_jobs, 8);
    for (int t = 0; t < 8; t++) CHECK(bt_sched_trial_status(s, t) == BT_TRIAL_FAILED);
    sd_log_free(&L);
    bt_sched_free(s);
}

static void test_random(void) {
    for (int rep = 0; rep < 4; rep++) {
        bt_sched_spec sp = sd_spec(BT_SCHED_WANDB_HYPERBAND, 1, 0, 3);
        sp.strict = rep % 2;
        bt_sched *s = NULL;
        CHECK_OK(bt_sched_init(&s, &sp, 60, 81, rep / 2));
        if (!s) return;
        sd_log L = {0};
        CHECK_EQ_INT(sd_run(s, 1 + 9 * rep, 500 + (uint64_t)rep, sd_objective_default, NULL, &L),
                     0);
        CHECK_EQ_INT(L.jobs[0][0], 60);
        CHECK(L.jobs[0][4] >= 1 && L.jobs[0][4] < 60); /* some stopped, some reached 81 */
        CHECK_EQ_INT(sd_check_final(s), L.jobs[0][4]);
        sd_check_one_decision_per_report(s, &L);
        sd_check_replay(s, &sp, 60, 81, rep / 2, &L);
        sd_log_free(&L);
        bt_sched_free(s);
    }
    /* one trial: alone at every band, it always passes */
    bt_sched_spec sp = sd_spec(BT_SCHED_WANDB_HYPERBAND, 1, 27, 3);
    bt_sched *s = NULL;
    CHECK_OK(bt_sched_init(&s, &sp, 1, 0, 0));
    if (s) {
        sd_log L = {0};
        CHECK_EQ_INT(sd_run(s, 1, 0, sd_objective_default, NULL, &L), 0);
        CHECK_EQ_INT(L.n_jobs, 4);
        CHECK(bt_sched_trial_status(s, 0) == BT_TRIAL_COMPLETED);
        sd_log_free(&L);
    }
    bt_sched_free(s);
}

int main(void) {
    test_bands();
    test_thresholds();
    test_strict();
    test_nan();
    test_random();
    return bt_test_finish("test_sched_wandb");
}
