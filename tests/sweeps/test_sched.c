/* Schedulers none, SHA and Hyperband: plans (the classic R=81, eta=3 Hyperband table), jobs per
 * rung when driven by a fake objective, who survives, NaN and maximize handling, replay of the
 * recorded calls into a fresh scheduler, and the errors for reports that match no job. */
#include "sweeps/sched/sched.h"
#include "tests/bt_test.h"
#include "tests/sweeps/test_sched_driver.h"

static void check_plan(const bt_sched *s, int nb, const int64_t (*n)[8], const int64_t (*r)[8],
                       const int *nr) {
    bt_sched_bracket_plan plan[16];
    int got = -1;
    CHECK_OK(bt_sched_plan(s, plan, 16, &got));
    CHECK_EQ_INT(got, nb);
    for (int b = 0; b < nb && b < got; b++) {
        CHECK_EQ_INT(plan[b].n_rungs, nr[b]);
        for (int i = 0; i < nr[b] && i < plan[b].n_rungs; i++) {
            CHECK_MSG(plan[b].rungs[i].n_trials == n[b][i] && plan[b].rungs[i].resource == r[b][i],
                      "bracket %d rung %d: (%lld trials, resource %lld), want (%lld, %lld)", b, i,
                      (long long)plan[b].rungs[i].n_trials, (long long)plan[b].rungs[i].resource,
                      (long long)n[b][i], (long long)r[b][i]);
        }
    }
}

static void test_names(void) {
    CHECK_STR(bt_sched_kind_name(BT_SCHED_NONE), "none");
    CHECK_STR(bt_sched_kind_name(BT_SCHED_SHA), "sha");
    CHECK_STR(bt_sched_kind_name(BT_SCHED_HYPERBAND), "hyperband");
    CHECK_STR(bt_sched_kind_name(BT_SCHED_ASHA), "asha");
    CHECK_STR(bt_sched_kind_name(BT_SCHED_WANDB_HYPERBAND), "wandb-hyperband");
    bt_sched_free(NULL);
}

static void test_none(void) {
    /* max_resource unset in the spec: the model's default (the init argument) is the budget */
    bt_sched_spec sp = sd_spec(BT_SCHED_NONE, 0, 0, 0);
    bt_sched *s = NULL;
    CHECK_OK(bt_sched_init(&s, &sp, 5, 40, 0));
    if (!s) return;
    CHECK_EQ_INT(bt_sched_n_trials(s), 5);
    const int64_t n[1][8] = {{5}}, r[1][8] = {{40}};
    const int nr[1] = {1};
    check_plan(s, 1, n, r, nr);
    bt_job j;
    for (int t = 0; t < 5; t++) {
        CHECK_OK(bt_sched_next(s, &j));
        CHECK(j.kind == BT_JOB_RUN && j.trial == t && j.resource == 40 && j.rung == 0);
    }
    CHECK_OK(bt_sched_next(s, &j));
    CHECK(j.kind == BT_JOB_WAIT);
    for (int t = 0; t < 5; t++) CHECK_OK(bt_sched_report(s, t, 40, t == 2 ? NAN : 1.0 * t));
    CHECK_OK(bt_sched_next(s, &j));
    CHECK(j.kind == BT_JOB_DONE);
    CHECK(bt_sched_trial_status(s, 0) == BT_TRIAL_COMPLETED);
    CHECK(bt_sched_trial_status(s, 2) == BT_TRIAL_FAILED);
    int64_t nd;
    const bt_rung_decision *d = bt_sched_decisions(s, &nd);
    CHECK_EQ_INT(nd, 5);
    CHECK(nd == 5 && d[2].trial == 2 && d[2].promoted == 0 && isnan(d[2].metric));
    CHECK(nd == 5 && d[4].trial == 4 && d[4].promoted == 1 && d[4].metric == 4.0);
    bt_sched_free(s);
}

/* SHA, one bracket: plan, the survivors are the best by the objective, synchronous rungs. */
static void test_sha(int maximize, uint64_t seed, int64_t conc) {
    bt_sched_spec sp = sd_spec(BT_SCHED_SHA, 1, 81, 3);
    bt_sched *s = NULL;
    CHECK_OK(bt_sched_init(&s, &sp, 81, 1000, maximize));
    if (!s) return;
    const int64_t n[1][8] = {{81, 27, 9, 3, 1}}, r[1][8] = {{1, 3, 9, 27, 81}};
    const int nr[1] = {5};
    check_plan(s, 1, n, r, nr);
    sd_log L = {0};
    CHECK_EQ_INT(sd_run(s, conc, seed, sd_objective_default, NULL, &L), 0);
    for (int i = 0; i < 5; i++) CHECK_EQ_INT(L.jobs[0][i], n[0][i]);
    CHECK_EQ_INT(L.sync_violation, 0);
    CHECK_EQ_INT(sd_check_final(s), 1);
    /* the winner is the best base (rankings agree across rungs with this objective) */
    int64_t best = 0;
    for (int64_t t = 1; t < 81; t++) {
        double a = sd_base(t, 7), b = sd_base(best, 7);
        if (maximize ? a > b : a < b) best = t;
    }
    CHECK(bt_sched_trial_status(s, best) == BT_TRIAL_COMPLETED);
    int32_t br, rg;
    bt_sched_trial_place(s, best, &br, &rg);
    CHECK(br == 0 && rg == 4);
    sd_check_one_decision_per_report(s, &L);
    /* promoted at rung 0 are exactly the 27 best bases */
    int64_t nd, wrong = 0;
    const bt_rung_decision *d = bt_sched_decisions(s, &nd);
    for (int64_t i = 0; i < nd; i++) {
        if (d[i].rung != 0) continue;
        int64_t better = 0;
        for (int64_t t = 0; t < 81; t++) {
            double a = sd_base(t, 7), b = sd_base(d[i].trial, 7);
            better += maximize ? a > b : a < b;
        }
        if ((better < 27) != (d[i].promoted == 1)) wrong++;
    }
    CHECK_EQ_INT(wrong, 0);
    sd_check_replay(s, &sp, 81, 1000, maximize, &L);
    sd_log_free(&L);
    bt_sched_free(s);
}

static void test_sha_shapes(void) {
    bt_sched *s = NULL;
    /* max not a power of eta: the last rung is max_resource; at least one trial goes on */
    bt_sched_spec sp = sd_spec(BT_SCHED_SHA, 1, 100, 3);
    CHECK_OK(bt_sched_init(&s, &sp, 10, 0, 0));
    {
        const int64_t n[1][8] = {{10, 3, 1, 1, 1, 1}}, r[1][8] = {{1, 3, 9, 27, 81, 100}};
        const int nr[1] = {6};
        if (s) check_plan(s, 1, n, r, nr);
    }
    bt_sched_free(s);
    s = NULL;
    /* eta = 2 */
    sp = sd_spec(BT_SCHED_SHA, 2, 16, 2);
    CHECK_OK(bt_sched_init(&s, &sp, 16, 0, 0));
    {
        const int64_t n[1][8] = {{16, 8, 4, 2}}, r[1][8] = {{2, 4, 8, 16}};
        const int nr[1] = {4};
        if (s) check_plan(s, 1, n, r, nr);
        sd_log L = {0};
        if (s) CHECK_EQ_INT(sd_run(s, 5, 99, sd_objective_default, NULL, &L), 0);
        for (int i = 0; i < 4; i++) CHECK_EQ_INT(L.jobs[0][i], n[0][i]);
        if (s) CHECK_EQ_INT(sd_check_final(s), 2);
        if (s) sd_check_replay(s, &sp, 16, 0, 0, &L);
        sd_log_free(&L);
    }
    bt_sched_free(s);
    s = NULL;
    /* min == max: one rung, everybody completes */
    sp = sd_spec(BT_SCHED_SHA, 7, 7, 3);
    CHECK_OK(bt_sched_init(&s, &sp, 4, 0, 0));
    {
        const int64_t n[1][8] = {{4}}, r[1][8] = {{7}};
        const int nr[1] = {1};
        if (s) check_plan(s, 1, n, r, nr);
        sd_log L = {0};
        if (s) CHECK_EQ_INT(sd_run(s, 8, 0, sd_objective_default, NULL, &L), 0);
        if (s) CHECK_EQ_INT(sd_check_final(s), 4);
        sd_log_free(&L);
    }
    bt_sched_free(s);
    s = NULL;
    /* one trial: it runs every rung up to max */
    sp = sd_spec(BT_SCHED_SHA, 1, 27, 3);
    CHECK_OK(bt_sched_init(&s, &sp, 1, 0, 0));
    if (s) {
        sd_log L = {0};
        CHECK_EQ_INT(sd_run(s, 4, 0, sd_objective_default, NULL, &L), 0);
        CHECK_EQ_INT(L.n_jobs, 4);
        CHECK(bt_sched_trial_status(s, 0) == BT_TRIAL_COMPLETED);
        sd_log_free(&L);
    }
    bt_sched_free(s);
    s = NULL;
    /* non-integer eta */
    sp = sd_spec(BT_SCHED_SHA, 4, 100, 2.5);
    CHECK_OK(bt_sched_init(&s, &sp, 25, 0, 0));
    {
        /* 4 * 2.5^3 = 62.5 rounds to 63 */
        const int64_t n[1][8] = {{25, 10, 4, 1, 1}}, r[1][8] = {{4, 10, 25, 63, 100}};
        const int nr[1] = {5};
        if (s) check_plan(s, 1, n, r, nr);
    }
    bt_sched_free(s);
}

static double obj_nan_some(int64_t trial, int64_t resource, void *ctx) {
    int64_t cut = *(const int64_t *)ctx;
    return trial < cut ? NAN : sd_objective_default(trial, resource, NULL);
}

static void test_nan(void) {
    /* all NaN: every trial fails at rung 0, nothing goes on, the sweep completes */
    bt_sched_spec sp = sd_spec(BT_SCHED_SHA, 1, 9, 3);
    bt_sched *s = NULL;
    CHECK_OK(bt_sched_init(&s, &sp, 9, 0, 0));
    if (!s) return;
    int64_t cut = 1000;
    sd_log L = {0};
    CHECK_EQ_INT(sd_run(s, 9, 3, obj_nan_some, &cut, &L), 0);
    CHECK_EQ_INT(L.n_jobs, 9);
    int64_t failed = 0, nd;
    for (int t = 0; t < 9; t++) failed += bt_sched_trial_status(s, t) == BT_TRIAL_FAILED;
    CHECK_EQ_INT(failed, 9);
    const bt_rung_decision *d = bt_sched_decisions(s, &nd);
    CHECK_EQ_INT(nd, 9);
    for (int64_t i = 0; i < nd; i++) CHECK(d[i].promoted == 0 && isnan(d[i].metric));
    sd_log_free(&L);
    bt_sched_free(s);

    /* 8 of 9 fail: the only finite trial goes on alone (failed trials rank last) */
    s = NULL;
    CHECK_OK(bt_sched_init(&s, &sp, 9, 0, 1));
    if (!s) return;
    cut = 8;
    CHECK_EQ_INT(sd_run(s, 3, 5, obj_nan_some, &cut, &L), 0);
    CHECK_EQ_INT(L.jobs[0][0], 9);
    CHECK_EQ_INT(L.jobs[0][1], 1);
    CHECK_EQ_INT(L.jobs[0][2], 1);
    CHECK(bt_sched_trial_status(s, 8) == BT_TRIAL_COMPLETED);
    sd_check_replay(s, &sp, 9, 0, 1, &L);
    sd_log_free(&L);
    bt_sched_free(s);
}

static double obj_const(int64_t trial, int64_t resource, void *ctx) {
    (void)trial, (void)resource, (void)ctx;
    return 0.5;
}

static void test_ties(void) {
    /* equal metrics: the lower trial id wins, in any report order */
    bt_sched_spec sp = sd_spec(BT_SCHED_SHA, 1, 9, 3);
    for (int maximize = 0; maximize < 2; maximize++) {
        bt_sched *s = NULL;
        CHECK_OK(bt_sched_init(&s, &sp, 9, 0, maximize));
        if (!s) return;
        sd_log L = {0};
        CHECK_EQ_INT(sd_run(s, 9, 11, obj_const, NULL, &L), 0);
        CHECK(bt_sched_trial_status(s, 0) == BT_TRIAL_COMPLETED);
        for (int t = 1; t < 9; t++) CHECK(bt_sched_trial_status(s, t) == BT_TRIAL_PRUNED);
        sd_log_free(&L);
        bt_sched_free(s);
    }
}

/* The classic Hyperband table (Li et al. 2018, R = 81, eta = 3). */
static const int64_t HB_N[5][8] = {{81, 27, 9, 3, 1}, {34, 11, 3, 1}, {15, 5, 1}, {8, 2}, {5}};
static const int64_t HB_R[5][8] = {{1, 3, 9, 27, 81}, {3, 9, 27, 81}, {9, 27, 81}, {27, 81}, {81}};
static const int HB_NR[5] = {5, 4, 3, 2, 1};

static void test_hyperband_classic(int64_t conc, uint64_t seed, int maximize) {
    bt_sched_spec sp = sd_spec(BT_SCHED_HYPERBAND, 1, 81, 3);
    bt_sched *s = NULL;
    CHECK_OK(bt_sched_init(&s, &sp, 0, 0, maximize));
    if (!s) return;
    check_plan(s, 5, HB_N, HB_R, HB_NR);
    CHECK_EQ_INT(bt_sched_n_trials(s), 143);
    /* ids are allocated bracket by bracket, s_max first */
    int32_t b, r;
    bt_sched_trial_place(s, 80, &b, &r);
    CHECK(b == 0 && r == -1);
    bt_sched_trial_place(s, 81, &b, &r);
    CHECK_EQ_INT(b, 1);
    bt_sched_trial_place(s, 142, &b, &r);
    CHECK_EQ_INT(b, 4);
    sd_log L = {0};
    CHECK_EQ_INT(sd_run(s, conc, seed, sd_objective_default, NULL, &L), 0);
    int64_t wrong = 0;
    for (int bb = 0; bb < 5; bb++)
        for (int i = 0; i < HB_NR[bb]; i++)
            if (L.jobs[bb][i] != HB_N[bb][i]) {
                wrong++;
                fprintf(stderr, "bracket %d rung %d: %lld jobs, want %lld\n", bb, i,
                        (long long)L.jobs[bb][i], (long long)HB_N[bb][i]);
            }
    CHECK_EQ_INT(wrong, 0);
    CHECK_EQ_INT(L.sync_violation, 0);
    CHECK_EQ_INT(sd_check_final(s), 1 + 1 + 1 + 2 + 5);
    sd_check_one_decision_per_report(s, &L);
    /* the survivor of bracket 0 is its best trial */
    int64_t best = 0;
    for (int64_t t = 1; t < 81; t++) {
        double x = sd_base(t, 7), y = sd_base(best, 7);
        if (maximize ? x > y : x < y) best = t;
    }
    CHECK(bt_sched_trial_status(s, best) == BT_TRIAL_COMPLETED);
    sd_check_replay(s, &sp, 0, 0, maximize, &L);
    sd_log_free(&L);
    bt_sched_free(s);
}

static void test_hyperband_shapes(void) {
    bt_sched *s = NULL;
    /* min_resource scales the resources: R = 162 / 2 = 81 units of 2 */
    bt_sched_spec sp = sd_spec(BT_SCHED_HYPERBAND, 2, 162, 3);
    CHECK_OK(bt_sched_init(&s, &sp, 0, 0, 0));
    if (s) {
        int64_t r2[5][8];
        for (int b = 0; b < 5; b++)
            for (int i = 0; i < 8; i++) r2[b][i] = 2 * HB_R[b][i];
        check_plan(s, 5, HB_N, (const int64_t(*)[8])r2, HB_NR);
    }
    bt_sched_free(s);
    s = NULL;

    /* truncated to 50 trials: every bracket shrinks in proportion (largest remainders) */
    sp = sd_spec(BT_SCHED_HYPERBAND, 1, 81, 3);
    CHECK_OK(bt_sched_init(&s, &sp, 50, 0, 0));
    if (s) {
        const int64_t n[5][8] = {{28, 9, 3, 1, 1}, {12, 4, 1, 1}, {5, 1, 1}, {3, 1}, {2}};
        check_plan(s, 5, n, HB_R, HB_NR);
        CHECK_EQ_INT(bt_sched_n_trials(s), 50);
        sd_log L = {0};
        CHECK_EQ_INT(sd_run(s, 16, 17, sd_objective_default, NULL, &L), 0);
        int64_t wrong = 0;
        for (int b = 0; b < 5; b++)
            for (int i = 0; i < HB_NR[b]; i++) wrong += L.jobs[b][i] != n[b][i];
        CHECK_EQ_INT(wrong, 0);
        sd_check_replay(s, &sp, 50, 0, 0, &L);
        sd_log_free(&L);
    }
    bt_sched_free(s);
    s = NULL;

    /* more trials offered than the plan wants: the plan's 143 */
    CHECK_OK(bt_sched_init(&s, &sp, 1000, 0, 0));
    if (s) CHECK_EQ_INT(bt_sched_n_trials(s), 143);
    bt_sched_free(s);
    s = NULL;

    /* eta = 2, R = 8: s_max = 3 */
    sp = sd_spec(BT_SCHED_HYPERBAND, 1, 8, 2);
    CHECK_OK(bt_sched_init(&s, &sp, 0, 0, 0));
    if (s) {
        const int64_t n[4][8] = {{8, 4, 2, 1}, {6, 3, 1}, {4, 2}, {4}};
        const int64_t r[4][8] = {{1, 2, 4, 8}, {2, 4, 8}, {4, 8}, {8}};
        const int nr[4] = {4, 3, 2, 1};
        check_plan(s, 4, n, r, nr);
        CHECK_EQ_INT(bt_sched_n_trials(s), 22);
        sd_log L = {0};
        CHECK_EQ_INT(sd_run(s, 3, 23, sd_objective_default, NULL, &L), 0);
        int64_t wrong = 0;
        for (int b = 0; b < 4; b++)
            for (int i = 0; i < nr[b]; i++) wrong += L.jobs[b][i] != n[b][i];
        CHECK_EQ_INT(wrong, 0);
        sd_log_free(&L);
    }
    bt_sched_free(s);
    s = NULL;

    /* R not a power of eta: 100 / 3^4 etc., rounded; the last rung is max */
    sp = sd_spec(BT_SCHED_HYPERBAND, 1, 100, 3);
    CHECK_OK(bt_sched_init(&s, &sp, 0, 0, 0));
    if (s) {
        const int64_t r[5][8] = {
            {1, 4, 11, 33, 100}, {4, 11, 33, 100}, {11, 33, 100}, {33, 100}, {100}};
        check_plan(s, 5, HB_N, r, HB_NR);
    }
    bt_sched_free(s);
    s = NULL;

    /* min == max: one bracket of one trial */
    sp = sd_spec(BT_SCHED_HYPERBAND, 5, 5, 3);
    CHECK_OK(bt_sched_init(&s, &sp, 0, 0, 0));
    if (s) {
        const int64_t n[1][8] = {{1}}, r[1][8] = {{5}};
        const int nr[1] = {1};
        check_plan(s, 1, n, r, nr);
        sd_log L = {0};
        CHECK_EQ_INT(sd_run(s, 2, 0, sd_objective_default, NULL, &L), 0);
        CHECK(bt_sched_trial_status(s, 0) == BT_TRIAL_COMPLETED);
        sd_log_free(&L);
    }
    bt_sched_free(s);
    s = NULL;

    /* n_trials = 1 with the classic plan: the one trial lands in the s_max bracket */
    sp = sd_spec(BT_SCHED_HYPERBAND, 1, 81, 3);
    CHECK_OK(bt_sched_init(&s, &sp, 1, 0, 0));
    if (s) {
        CHECK_EQ_INT(bt_sched_n_trials(s), 1);
        sd_log L = {0};
        CHECK_EQ_INT(sd_run(s, 2, 0, sd_objective_default, NULL, &L), 0);
        CHECK_EQ_INT(L.n_jobs, 5);
        CHECK(bt_sched_trial_status(s, 0) == BT_TRIAL_COMPLETED);
        sd_log_free(&L);
    }
    bt_sched_free(s);
    s = NULL;

    /* spec s = 2 keeps the two most exploratory brackets */
    sp = sd_spec(BT_SCHED_HYPERBAND, 1, 81, 3);
    sp.s = 2;
    CHECK_OK(bt_sched_init(&s, &sp, 0, 0, 0));
    if (s) {
        check_plan(s, 2, HB_N, HB_R, HB_NR);
        CHECK_EQ_INT(bt_sched_n_trials(s), 115);
    }
    bt_sched_free(s);
}

static void test_errors(void) {
    bt_sched *s = NULL;
    bt_sched_spec sp = sd_spec(BT_SCHED_SHA, 1, 9, 1.0);
    CHECK_EQ_INT(bt_sched_init(&s, &sp, 9, 0, 0), BT_STATUS_BAD_INPUT);
    CHECK(s == NULL && strstr(bt_status_message(), "eta") != NULL);
    sp = sd_spec(BT_SCHED_ASHA, 10, 9, 3);
    CHECK_EQ_INT(bt_sched_init(&s, &sp, 9, 0, 0), BT_STATUS_BAD_INPUT);
    CHECK(strstr(bt_status_message(), "min_resource") != NULL);
    sp = sd_spec(BT_SCHED_SHA, 1, 9, 3);
    CHECK_EQ_INT(bt_sched_init(&s, &sp, 0, 0, 0), BT_STATUS_BAD_INPUT);
    sp = sd_spec(BT_SCHED_NONE, 0, 0, 0);
    CHECK_EQ_INT(bt_sched_init(&s, &sp, 3, 0, 0), BT_STATUS_BAD_INPUT); /* no budget at all */
    sp = sd_spec(BT_SCHED_HYPERBAND, 1, 1LL << 40, 2);
    CHECK_EQ_INT(bt_sched_init(&s, &sp, 0, 0, 0), BT_STATUS_BAD_INPUT); /* absurd plan */
    sp = sd_spec(BT_SCHED_SHA, 1, 9, 3);
    CHECK_EQ_INT(bt_sched_init(NULL, &sp, 3, 0, 0), BT_STATUS_INTERNAL);

    CHECK_OK(bt_sched_init(&s, &sp, 3, 0, 0));
    if (!s) return;
    bt_job j;
    CHECK_OK(bt_sched_next(s, &j));
    CHECK(j.kind == BT_JOB_RUN && j.trial == 0 && j.resource == 1);
    CHECK_EQ_INT(bt_sched_report(s, 7, 1, 0.5), BT_STATUS_INTERNAL); /* unknown */
    CHECK(strstr(bt_status_message(), "trial 7") != NULL);
    CHECK_EQ_INT(bt_sched_report(s, -1, 1, 0.5), BT_STATUS_INTERNAL);
    CHECK_EQ_INT(bt_sched_report(s, 1, 1, 0.5), BT_STATUS_INTERNAL); /* not handed out yet */
    CHECK_EQ_INT(bt_sched_report(s, 0, 3, 0.5), BT_STATUS_INTERNAL); /* wrong resource */
    CHECK(strstr(bt_status_message(), "resource 3") != NULL);
    CHECK_OK(bt_sched_report(s, 0, 1, 0.5));
    CHECK_EQ_INT(bt_sched_report(s, 0, 1, 0.5), BT_STATUS_INTERNAL); /* twice */
    CHECK(strstr(bt_status_message(), "no job in flight") != NULL);
    CHECK(bt_sched_trial_status(s, 99) == BT_TRIAL_PENDING);
    int32_t b, r;
    bt_sched_trial_place(s, 99, &b, &r);
    CHECK(b == -1 && r == -1);
    bt_sched_bracket_plan one;
    int nb;
    CHECK_OK(bt_sched_plan(s, &one, 1, &nb));
    CHECK_EQ_INT(nb, 1);
    bt_sched_free(s);

    /* a plan that does not fit says so */
    s = NULL;
    sp = sd_spec(BT_SCHED_HYPERBAND, 1, 81, 3);
    CHECK_OK(bt_sched_init(&s, &sp, 0, 0, 0));
    if (s) {
        bt_sched_bracket_plan two[2];
        CHECK_EQ_INT(bt_sched_plan(s, two, 2, &nb), BT_STATUS_INTERNAL);
        CHECK_EQ_INT(nb, 2);
    }
    bt_sched_free(s);
}

int main(void) {
    test_names();
    test_none();
    test_sha(0, 0, 1);
    test_sha(0, 42, 10);
    test_sha(1, 43, 100);
    test_sha_shapes();
    test_nan();
    test_ties();
    test_hyperband_classic(1000, 0, 0);
    test_hyperband_classic(7, 1234, 0);
    test_hyperband_classic(64, 99, 1);
    test_hyperband_shapes();
    test_errors();
    return bt_test_finish("test_sched");
}
