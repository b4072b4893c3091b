/* Quality of the model-based proposers against random search (its trials with the same seeds):
 * the median over 10 seeds of the best value after 40 evaluations of Branin and 60 of Hartmann-6,
 * one proposal at a time and in batches of 4. The margins are conservative (measured: bayes'
 * median regret is below 1 % of random search's, tpe's below 20 %; bench/bench_propose.py has the
 * numbers), so the test is not flaky; a regression that loses the model shows at once. */
#include <stdio.h>

#include "tests/bt_test.h"
#include "tests/sweeps/propose_fns.h"

#define SEEDS 10

/* Median regret over SEEDS seeds. */
static double median_regret(test_fn f, int method, int evals, int batch) {
    double best[SEEDS], opt = f == FN_BRANIN ? BRANIN_MIN : HARTMANN6_MIN;
    for (int s = 0; s < SEEDS; s++) best[s] = test_run(f, method, (uint64_t)s, evals, batch, NULL);
    return test_median(best, SEEDS) - opt;
}

static void check_fn(test_fn f, const char *name, int evals) {
    double rnd = median_regret(f, BT_METHOD_RANDOM, evals, 1);
    double bayes = median_regret(f, BT_METHOD_BAYES, evals, 1);
    double tpe = median_regret(f, BT_METHOD_TPE, evals, 1);
    double bayes4 = median_regret(f, BT_METHOD_BAYES, evals, 4);
    printf("%s after %d: median regret random %.4g, bayes %.4g (batch 4: %.4g), tpe %.4g\n", name,
           evals, rnd, bayes, bayes4, tpe);
    CHECK(rnd > 0.3);
    CHECK_MSG(bayes >= 0 && bayes < 0.1 * rnd, "%s: bayes %.4g vs random %.4g", name, bayes, rnd);
    CHECK_MSG(bayes4 >= 0 && bayes4 < 0.2 * rnd, "%s: bayes batch 4 %.4g vs random %.4g", name,
              bayes4, rnd);
    CHECK_MSG(tpe >= 0 && tpe < 0.6 * rnd, "%s: tpe %.4g vs random %.4g", name, tpe, rnd);
}

int main(void) {
    check_fn(FN_BRANIN, "branin", 40);
    check_fn(FN_HARTMANN6, "hartmann6", 60);
    return bt_test_finish("test_propose_quality");
}
