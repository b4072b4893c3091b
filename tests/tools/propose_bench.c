/* bt_propose_bench: quality and speed of the model-based proposers (bench/bench_propose.py runs
 * it). bt_propose_bench quality [--fn branin|hartmann6] [--method random|bayes|tpe] [--seeds S]
 *       [--evals N] [--batch B] [--n-initial K] [--liar best|mean|worst] [--univariate]
 *       [--no-liar] [--candidates C] [--max-fit K]
 *     best value after N evaluations (Branin 40, Hartmann-6 60 by default) per seed 0..S-1
 *     (default 10) and their median; batches of B proposals, each reported before the next.
 *   bt_propose_bench speed [--method bayes|tpe] [--obs N] [--suggest K] [--batch B] ...
 *     Hartmann-6 with N random reports (the initial design stretched to N), then K suggestions
 *     in batches of B, each reported before the next: seconds per suggestion (mean, max).
 * Prints one JSON object per line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/sweeps/propose_fns.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU time of this thread: on a shared machine it counts only our own work. */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct args {
    const char *mode, *fn, *method;
    int seeds, evals, batch, obs, suggest;
    bt_propose_opts o;
} args;

static int parse_method(const char *m) {
    if (strcmp(m, "random") == 0) return BT_METHOD_RANDOM;
    if (strcmp(m, "bayes") == 0) return BT_METHOD_BAYES;
    if (strcmp(m, "tpe") == 0) return BT_METHOD_TPE;
    return -1;
}

static int parse(int argc, char **argv, args *a) {
    memset(a, 0, sizeof *a);
    a->mode = argc > 1 ? argv[1] : "";
    a->fn = "branin";
    a->method = "bayes";
    a->seeds = 10;
    a->batch = 1;
    a->obs = 100;
    a->suggest = 20;
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(k, "--univariate") == 0)
            a->o.univariate = 1;
        else if (strcmp(k, "--no-liar") == 0)
            a->o.no_liar = 1;
        else if (!v)
            return fprintf(stderr, "%s needs a value\n", k), -1;
        else if (strcmp(k, "--fn") == 0)
            a->fn = v, i++;
        else if (strcmp(k, "--method") == 0)
            a->method = v, i++;
        else if (strcmp(k, "--seeds") == 0)
            a->seeds = atoi(v), i++;
        else if (strcmp(k, "--evals") == 0)
            a->evals = atoi(v), i++;
        else if (strcmp(k, "--batch") == 0)
            a->batch = atoi(v), i++;
        else if (strcmp(k, "--obs") == 0)
            a->obs = atoi(v), i++;
        else if (strcmp(k, "--suggest") == 0)
            a->suggest = atoi(v), i++;
        else if (strcmp(k, "--n-initial") == 0)
            a->o.n_initial = atoi(v), i++;
        else if (strcmp(k, "--candidates") == 0)
            a->o.candidates = atoi(v), i++;
        else if (strcmp(k, "--max-fit") == 0)
            a->o.max_fit = atoi(v), i++;
        else if (strcmp(k, "--liar") == 0) {
            a->o.liar = strcmp(v, "best") == 0    ? BT_LIAR_BEST
                        : strcmp(v, "worst") == 0 ? BT_LIAR_WORST
                                                  : BT_LIAR_MEAN;
            i++;
        } else
            return fprintf(stderr, "unknown option %s\n", k), -1;
    }
    if (a->batch < 1 || a->batch > 64) return fprintf(stderr, "--batch is 1..64\n"), -1;
    return parse_method(a->method) < 0 ? (fprintf(stderr, "unknown method\n"), -1) : 0;
}

static int quality(const args *a) {
    test_fn f = strcmp(a->fn, "hartmann6") == 0 ? FN_HARTMANN6 : FN_BRANIN;
    int evals = a->evals > 0 ? a->evals : (f == FN_BRANIN ? 40 : 60);
    double *best = malloc(sizeof(double) * (size_t)a->seeds);
    double t0 = now();
    printf("{\"mode\": \"quality\", \"fn\": \"%s\", \"method\": \"%s\", \"evals\": %d, "
           "\"batch\": %d, \"best\": [",
           f == FN_BRANIN ? "branin" : "hartmann6", a->method, evals, a->batch);
    for (int s = 0; s < a->seeds; s++) {
        best[s] = test_run(f, parse_method(a->method), (uint64_t)s, evals, a->batch, &a->o);
        printf("%s%.9g", s ? ", " : "", best[s]);
        if (best[s] == -INFINITY) return 1;
    }
    double med = test_median(best, a->seeds);
    printf("], \"median\": %.9g, \"regret_median\": %.9g, \"seconds\": %.3f}\n", med,
           med - (f == FN_BRANIN ? BRANIN_MIN : HARTMANN6_MIN), now() - t0);
    free(best);
    return 0;
}

static int speed(const args *a) {
    int method = parse_method(a->method);
    if (method == BT_METHOD_RANDOM) return fprintf(stderr, "speed: bayes or tpe\n"), 1;
    test_space s;
    test_space_fn(&s, FN_HARTMANN6);
    bt_propose_opts o = a->o;
    o.n_initial = a->obs;
    bt_proposer *p;
    if (bt_proposer_init(&p, &s.spec, method, 7, &o) != BT_STATUS_OK) return 1;
    bt_value v[6 * 64];
    for (int t = 0; t < a->obs; t++) {
        if (bt_proposer_propose(p, t, 1, v) != BT_STATUS_OK) return 1;
        bt_proposer_observe(p, t, 0, test_eval(FN_HARTMANN6, v));
    }
    /* the first model batch also fits the hyperparameters of every schedule point so far (a
     * sweep that reports as it goes pays that along the way): timed apart */
    int n_calls = a->suggest / a->batch + 1;
    double *dt = malloc(sizeof(double) * (size_t)n_calls), total = 0, worst = 0, wall = 0;
    for (int c = 0, t = a->obs; c < n_calls; c++, t += a->batch) {
        double t0 = cpu_now(), w0 = now();
        if (bt_proposer_propose(p, t, a->batch, v) != BT_STATUS_OK) return 1;
        dt[c] = (cpu_now() - t0) / a->batch;
        if (c > 0) total += dt[c], worst = dt[c] > worst ? dt[c] : worst, wall += now() - w0;
        for (int i = 0; i < a->batch; i++)
            bt_proposer_observe(p, t + i, 0, test_eval(FN_HARTMANN6, v + 6 * i));
    }
    double first = dt[0];
    double med = test_median(dt + 1, n_calls - 1);
    printf("{\"mode\": \"speed\", \"method\": \"%s\", \"fn\": \"hartmann6\", \"reports\": %d, "
           "\"batch\": %d, \"suggestions\": %d, \"cpu_seconds_per_suggestion_mean\": %.6g, "
           "\"cpu_seconds_per_suggestion_median\": %.6g, \"cpu_seconds_per_suggestion_max\": %.6g, "
           "\"cpu_seconds_first_batch_per_suggestion\": %.6g, "
           "\"wall_seconds_per_suggestion_mean\": %.6g}\n",
           a->method, a->obs, a->batch, (n_calls - 1) * a->batch, total / (n_calls - 1), med, worst,
           first, wall / ((n_calls - 1) * a->batch));
    free(dt);
    bt_proposer_free(p);
    return 0;
}

int main(int argc, char **argv) {
    args a;
    if (parse(argc, argv, &a) != 0) return 2;
    if (strcmp(a.mode, "quality") == 0) return quality(&a);
    if (strcmp(a.mode, "speed") == 0) return speed(&a);
    fprintf(stderr, "usage: bt_propose_bench quality|speed [options]\n");
    return 2;
}
