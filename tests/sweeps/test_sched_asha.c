/* ASHA (Li et al. 2020, Algorithm 2): a hand-traced sequential run, WAIT while promotions are
 * pending, plan upper bounds, end-of-sweep pruning, NaN and maximize, and replay of random
 * asynchronous runs into a fresh scheduler. */
#include <math.h>
#include <stdlib.h>

#include "sweeps/sched/sched.h"
#include "tests/bt_test.h"
#include "tests/sweeps/test_sched_driver.h"

static bt_job next_job(bt_sched *s) {
    bt_job j;
    memset(&j, 0, sizeof j);
    CHECK_OK(bt_sched_next(s, &j));
    return j;
}

#define EXPECT_RUN(s, t, r)                                                                        \
    do {                                                                                           \
        bt_job j_ = next_job(s);                                                                   \
        CHECK_MSG(j_.kind == BT_JOB_RUN && j_.trial == (t) && j_.resource == (r),                  \
                  "got kind %d trial %lld resource %lld, want RUN %d %d", (int)j_.kind,            \
                  (long long)j_.trial, (long long)j_.resource, (int)(t), (int)(r));                \
    } while (0)

/* n = 4, eta = 2, rungs 1, 2, 4; one job at a time; metric per trial 0.4, 0.1, 0.3, 0.2. */
static void test_trace(int maximize) {
    bt_sched_spec sp = sd_spec(BT_SCHED_ASHA, 1, 4, 2);
    bt_sched *s = NULL;
    CHECK_OK(bt_sched_init(&s, &sp, 4, 0, maximize));
    if (!s) return;
    const double m[4] = {0.4, 0.1, 0.3, 0.2};
    double sg = maximize ? -1.0 : 1.0; /* maximize the negated values: the same run */
    EXPECT_RUN(s, 0, 1);
    CHECK_OK(bt_sched_report(s, 0, 1, sg * m[0]));
    EXPECT_RUN(s, 1, 1); /* floor(1/2) = 0 promotable: new trial */
    CHECK_OK(bt_sched_report(s, 1, 1, sg * m[1]));
    EXPECT_RUN(s, 1, 2); /* top floor(2/2) = 1 of rung 0 is trial 1 */
    CHECK_OK(bt_sched_report(s, 1, 2, sg * m[1]));
    EXPECT_RUN(s, 2, 1);
    CHECK_OK(bt_sched_report(s, 2, 1, sg * m[2]));
    EXPECT_RUN(s, 3, 1); /* top 1 of 3 is trial 1, already promoted */
    CHECK_OK(bt_sched_report(s, 3, 1, sg * m[3]));
    EXPECT_RUN(s, 3, 2); /* top 2 of 4: trials 1 and 3 */
    CHECK_OK(bt_sched_report(s, 3, 2, sg * m[3]));
    EXPECT_RUN(s, 1, 4); /* rung 1 first: top 1 of 2 is trial 1 */
    CHECK_OK(bt_sched_report(s, 1, 4, sg * m[1]));
    bt_job j = next_job(s);
    CHECK(j.kind == BT_JOB_DONE);
    j = next_job(s);
    CHECK(j.kind == BT_JOB_DONE);
    CHECK(bt_sched_trial_status(s, 0) == BT_TRIAL_PRUNED);
    CHECK(bt_sched_trial_status(s, 1) == BT_TRIAL_COMPLETED);
    CHECK(bt_sched_trial_status(s, 2) == BT_TRIAL_PRUNED);
    CHECK(bt_sched_trial_status(s, 3) == BT_TRIAL_PRUNED);
    int32_t b, r;
    bt_sched_trial_place(s, 3, &b, &r);
    CHECK(b == 0 && r == 1);
    /* decisions: promotions as made, then the end-of-sweep prunes rung by rung */
    int64_t nd;
    const bt_rung_decision *d = bt_sched_decisions(s, &nd);
    const int64_t want_t[7] = {1, 3, 1, 1, 0, 2, 3};
    const int want_rung[7] = {0, 0, 1, 2, 0, 0, 1};
    const int want_p[7] = {1, 1, 1, 1, 0, 0, 0};
    CHECK_EQ_INT(nd, 7);
    for (int i = 0; i < 7 && i < nd; i++)
        CHECK_MSG(d[i].trial == want_t[i] && d[i].rung == want_rung[i] &&
                      d[i].promoted == want_p[i],
                  "decision %d: trial %lld rung %d promoted %d", i, (long long)d[i].trial,
                  d[i].rung, d[i].promoted);
    bt_sched_free(s);
}

static void test_wait(void) {
    bt_sched_spec sp = sd_spec(BT_SCHED_ASHA, 1, 2, 2);
    bt_sched *s = NULL;
    CHECK_OK(bt_sched_init(&s, &sp, 2, 0, 0));
    if (!s) return;
    EXPECT_RUN(s, 0, 1);
    EXPECT_RUN(s, 1, 1);
    bt_job j = next_job(s);
    CHECK(j.kind == BT_JOB_WAIT);
    CHECK_OK(bt_sched_report(s, 1, 1, 0.9));
    j = next_job(s);
    CHECK(j.kind == BT_JOB_WAIT); /* floor(1/2) = 0: nothing promotable, one job out */
    CHECK(bt_sched_trial_status(s, 1) == BT_TRIAL_RUNNING);
    CHECK_OK(bt_sched_report(s, 0, 1, 0.3));
    EXPECT_RUN(s, 0, 2);
    CHECK_OK(bt_sched_report(s, 0, 2, 0.2));
    j = next_job(s);
    CHECK(j.kind == BT_JOB_DONE);
    CHECK(bt_sched_trial_status(s, 0) == BT_TRIAL_COMPLETED);
    CHECK(bt_sched_trial_status(s, 1) == BT_TRIAL_PRUNED);
    bt_sched_free(s);
}

static double obj_nan_odd(int64_t trial, int64_t resource, void *ctx) {
    (void)ctx;
    return trial % 2 ? NAN : sd_objective_default(trial, resource, NULL);
}
static double obj_nan_all(int64_t trial, int64_t resource, void *ctx) {
    (void)trial, (void)resource, (void)ctx;
    return NAN;
}

static void test_random_runs(void) {
    const int64_t n[5] = {81, 27, 9, 3, 1};
    const int64_t res[5] = {1, 3, 9, 27, 81};
    for (int rep = 0; rep < 6; rep++) {
        int maximize = rep % 2;
        int64_t conc = rep < 2 ? 1 : (rep < 4 ? 8 : 100);
        bt_sched_spec sp = sd_spec(BT_SCHED_ASHA, 1, 81, 3);
        bt_sched *s = NULL;
        CHECK_OK(bt_sched_init(&s, &sp, 81, 0, maximize));
        if (!s) return;
        bt_sched_bracket_plan plan[1];
        int nb;
        CHECK_OK(bt_sched_plan(s, plan, 1, &nb));
        CHECK(nb == 1 && plan[0].n_rungs == 5);
        for (int i = 0; i < 5; i++)
            CHECK(plan[0].rungs[i].n_trials == n[i] && plan[0].rungs[i].resource == res[i]);
        sd_log L = {0};
        sd_objective f = rep == 5 ? obj_nan_odd : sd_objective_default;
        CHECK_EQ_INT(sd_run(s, conc, 1000 + (uint64_t)rep, f, NULL, &L), 0);
        CHECK_EQ_INT(L.jobs[0][0], 81);
        /* The plan rows are nominal (n * eta^-k): ASHA may promote more, since a trial promoted
         * early stays promoted when better ones arrive later. What must hold at the end: nothing
         * promotable is left, so at least the top floor(n_k / eta) of each rung went on. */
        for (int i = 1; i < 5; i++) {
            CHECK(L.jobs[0][i] <= L.jobs[0][i - 1]);
            if (f != obj_nan_odd)
                CHECK_MSG(L.jobs[0][i] >= L.jobs[0][i - 1] / 3, "rung %d: %lld jobs after %lld", i,
                          (long long)L.jobs[0][i], (long long)L.jobs[0][i - 1]);
        }
        CHECK(L.jobs[0][1] >= 1);
        int64_t completed = sd_check_final(s);
        CHECK_EQ_INT(completed, L.jobs[0][4]);
        sd_check_one_decision_per_report(s, &L);
        if (f == obj_nan_odd) {
            int64_t failed = 0;
            for (int t = 0; t < 81; t++) failed += bt_sched_trial_status(s, t) == BT_TRIAL_FAILED;
            CHECK_EQ_INT(failed, 40);
        }
        /* sequentially, ASHA promotes the overall best trial all the way */
        if (conc == 1) {
            int64_t best = 0;
            for (int64_t t = 1; t < 81; t++) {
                double a = sd_base(t, 7), b = sd_base(best, 7);
                if (maximize ? a > b : a < b) best = t;
            }
            CHECK(bt_sched_trial_status(s, best) == BT_TRIAL_COMPLETED);
        }
        sd_check_replay(s, &sp, 81, 0, maximize, &L);
        sd_log_free(&L);
        bt_sched_free(s);
    }
}

static void test_edges(void) {
    bt_sched *s = NULL;
    /* min == max: one rung, every trial completes */
    bt_sched_spec sp = sd_spec(BT_SCHED_ASHA, 10, 10, 3);
    CHECK_OK(bt_sched_init(&s, &sp, 5, 0, 0));
    if (s) {
        sd_log L = {0};
        CHECK_EQ_INT(sd_run(s, 2, 5, sd_objective_default, NULL, &L), 0);
        CHECK_EQ_INT(sd_check_final(s), 5);
        CHECK_EQ_INT(L.n_jobs, 5);
        sd_log_free(&L);
    }
    bt_sched_free(s);
    s = NULL;
    /* one trial: floor(1/eta) = 0, so ASHA never promotes it (Algorithm 2 as written) */
    sp = sd_spec(BT_SCHED_ASHA, 1, 9, 3);
    CHECK_OK(bt_sched_init(&s, &sp, 1, 0, 0));
    if (s) {
        sd_log L = {0};
        CHECK_EQ_INT(sd_run(s, 4, 0, sd_objective_default, NULL, &L), 0);
        CHECK_EQ_INT(L.n_jobs, 1);
        CHECK(bt_sched_trial_status(s, 0) == BT_TRIAL_PRUNED);
        sd_log_free(&L);
    }
    bt_sched_free(s);
    s = NULL;
    /* all NaN: all fail, nothing promoted, done */
    sp = sd_spec(BT_SCHED_ASHA, 1, 16, 2);
    CHECK_OK(bt_sched_init(&s, &sp, 12, 0, 0));
    if (s) {
        sd_log L = {0};
        CHECK_EQ_INT(sd_run(s, 3, 8, obj_nan_all, NULL, &L), 0);
        CHECK_EQ_INT(L.n_jobs, 12);
        int64_t failed = 0;
        for (int t = 0; t < 12; t++) failed += bt_sched_trial_status(s, t) == BT_TRIAL_FAILED;
        CHECK_EQ_INT(failed, 12);
        sd_log_free(&L);
    }
    bt_sched_free(s);
    s = NULL;
    /* eta = 2 with a large sweep: rungs 1, 2, 4, ..., 64, 100 */
    sp = sd_spec(BT_SCHED_ASHA, 1, 100, 2);
    CHECK_OK(bt_sched_init(&s, &sp, 200, 0, 0));
    if (s) {
        bt_sched_bracket_plan plan[1];
        int nb;
        CHECK_OK(bt_sched_plan(s, plan, 1, &nb));
        CHECK_EQ_INT(plan[0].n_rungs, 8);
        CHECK_EQ_INT(plan[0].rungs[6].resource, 64);
        CHECK_EQ_INT(plan[0].rungs[7].resource, 100);
        CHECK_EQ_INT(plan[0].rungs[7].n_trials, 1);
        sd_log L = {0};
        CHECK_EQ_INT(sd_run(s, 16, 77, sd_objective_default, NULL, &L), 0);
        CHECK(L.jobs[0][7] >= 1);
        sd_check_replay(s, &sp, 200, 0, 0, &L);
        sd_log_free(&L);
    }
    bt_sched_free(s);
}

/* A sweep the size of a few full GPU packs stays fast (no rung is re-sorted per call). */
static void test_large(void) {
    bt_sched_spec sp = sd_spec(BT_SCHED_ASHA, 1, 243, 3);
    bt_sched *s = NULL;
    CHECK_OK(bt_sched_init(&s, &sp, 4000, 0, 0));
    if (!s) return;
    sd_log L = {0};
    CHECK_EQ_INT(sd_run(s, 256, 4242, sd_objective_default, NULL, &L), 0);
    CHECK_EQ_INT(L.jobs[0][0], 4000);
    CHECK(L.jobs[0][5] >= 4000 / 243);
    sd_check_replay(s, &sp, 4000, 0, 0, &L);
    sd_log_free(&L);
    bt_sched_free(s);
}

/* ---- a brute-force reference: Algorithm 2 read literally, every rung sorted at every call ---- */

typedef struct ref_entry {
    int64_t trial;
    double metric;
    int promoted;
} ref_entry;

static int ref_maximize;

static int ref_better(const ref_entry *a, const ref_entry *b) {
    int na = isnan(a->metric), nb = isnan(b->metric);
    if (na != nb) return nb;
    if (!na && a->metric != b->metric)
        return ref_maximize ? a->metric > b->metric : a->metric < b->metric;
    return a->trial < b->trial;
}

static int ref_cmp(const void *a, const void *b) {
    return ref_better(a, b) ? -1 : (ref_better(b, a) ? 1 : 0);
}

/* Replays the calls of L against the reference and checks every job the scheduler gave. */
static void check_reference(const sd_log *L, int64_t n_trials, int n_rungs, int eta, int maximize) {
    ref_maximize = maximize;
    ref_entry *rung[8];
    int64_t n[8] = {0};
    for (int k = 0; k < n_rungs; k++) rung[k] = calloc((size_t)n_trials, sizeof(ref_entry));
    int *at = calloc((size_t)n_trials, sizeof(int)); /* each trial's rung of its latest job */
    int64_t started = 0, mismatches = 0;
    for (int64_t i = 0; i < L->n; i++) {
        const sd_op *op = &L->ops[i];
        if (op->is_report) {
            int k = at[op->trial];
            if (n[k] < n_trials) rung[k][n[k]++] = (ref_entry){op->trial, op->metric, 0};
            continue;
        }
        int64_t want_t = -1;
        int want_k = -1;
        for (int k = n_rungs - 2; k >= 0 && want_t < 0; k--) {
            qsort(rung[k], (size_t)n[k], sizeof(ref_entry), ref_cmp);
            for (int64_t j = 0; j < n[k] / eta; j++)
                if (!rung[k][j].promoted && !isnan(rung[k][j].metric)) {
                    rung[k][j].promoted = 1;
                    want_t = rung[k][j].trial;
                    want_k = k + 1;
                    break;
                }
        }
        if (want_t < 0 && started < n_trials) {
            want_t = started++;
            want_k = 0;
        }
        if (want_t >= 0) at[want_t] = want_k;
        int ok = want_t < 0 ? op->job.kind != BT_JOB_RUN
                            : op->job.kind == BT_JOB_RUN && op->job.trial == want_t &&
                                  op->job.rung == want_k;
        if (!ok && mismatches++ == 0)
            CHECK_MSG(0, "call %lld: got kind %d trial %lld rung %d, the reference wants %lld %d",
                      (long long)i, (int)op->job.kind, (long long)op->job.trial, op->job.rung,
                      (long long)want_t, want_k);
    }
    CHECK_EQ_INT(mismatches, 0);
    for (int k = 0; k < n_rungs; k++) free(rung[k]);
    free(at);
}

static double obj_coarse(int64_t trial, int64_t resource, void *ctx) {
    (void)ctx; /* few distinct values (ties broken by trial id), some failures */
    if (trial % 17 == 5) return NAN;
    return floor(sd_base(trial, 3) * 8) + 1.0 / (double)resource;
}

/* The scheduler's promotions (kept incrementally) against the reference, on asynchronous runs of
 * 3,000 trials with ties and failures. */
static void test_reference(void) {
    for (int rep = 0; rep < 4; rep++) {
        int maximize = rep % 2, eta = rep < 2 ? 3 : 2;
        bt_sched_spec sp = sd_spec(BT_SCHED_ASHA, 1, 27, eta);
        bt_sched *s = NULL;
        CHECK_OK(bt_sched_init(&s, &sp, 3000, 0, maximize));
        if (!s) return;
        bt_sched_bracket_plan plan[1];
        int nb;
        CHECK_OK(bt_sched_plan(s, plan, 1, &nb));
        sd_log L = {0};
        CHECK_EQ_INT(sd_run(s, rep < 2 ? 40 : 7, 77 + (uint64_t)rep,
                            rep == 3 ? obj_coarse : sd_objective_default, NULL, &L),
                     0);
        check_reference(&L, 3000, plan[0].n_rungs, eta, maximize);
        sd_log_free(&L);
        bt_sched_free(s);
    }
}

int main(void) {
    test_trace(0);
    test_trace(1);
    test_wait();
    test_random_runs();
    test_edges();
    test_large();
    test_reference();
    return bt_test_finish("test_sched_asha");
}
