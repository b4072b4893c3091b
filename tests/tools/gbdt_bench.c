/* bt_gbdt_bench: times the packed gbdt trainer.
 *   bt_gbdt_bench boston CSV [--threads T]
 *     the 252-trial Boston grid: depth 2..8 x eta {0.05,0.1,0.3} x lambda {0.5,1,2}
 *     x num_round {10,20,30,50}; trials differing only in num_round share one run (63 runs of
 *     50 rounds, all in one pack), rmse evaluated after every round.
 *   bt_gbdt_bench synthetic ROWS FEATURES --trials T --rounds R --depth D [--threads T]
 *     [--pack P]: random continuous data (binary labels), max_bin 256, T trials of depth D.
 * Prints one JSON line with the timings. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/philox.h"
#include "models/gbdt/gbdt.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const bt_pack_ops *vt = &bt_gbdt_cpu_packs;

static int run_packs(bt_model_data *data, bt_value (*trials)[BT_GBDT_N_PARAMS], int n,
                     int pack_size, int rounds, const char *metric, double *checksum) {
    int *slots = malloc(sizeof(int) * (size_t)n);
    for (int first = 0; first < n; first += pack_size) {
        int m = n - first < pack_size ? n - first : pack_size;
        bt_hparams h0 = {trials[first]};
        bt_pack *p = NULL;
        if (vt->pack_init(&p, data, &h0, m)) return 1;
        for (int s = 0; s < m; s++) {
            bt_hparams h = {trials[first + s]};
            if (vt->slot_start(p, s, &h, bt_philox_key(7, (uint64_t)(first + s)))) return 1;
            slots[s] = s;
        }
        for (int r = 0; r < rounds; r++) {
            if (vt->step(p, slots, m)) return 1;
            for (int s = 0; s < m; s++) {
                double x;
                if (vt->eval(p, s, metric, &x)) return 1;
                if (r == rounds - 1) *checksum += x;
            }
        }
        vt->pack_free(p);
    }
    free(slots);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: see the file header\n");
        return 2;
    }
    int threads = 1, n_trials = 64, rounds = 200, depth = 8, pack_size = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        if (!strcmp(argv[i], "--trials") && i + 1 < argc) n_trials = atoi(argv[++i]);
        if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
        if (!strcmp(argv[i], "--depth") && i + 1 < argc) depth = atoi(argv[++i]);
        if (!strcmp(argv[i], "--pack") && i + 1 < argc) pack_size = atoi(argv[++i]);
    }
    bt_dataset tr = {0}, va = {0};
    static bt_value trials[4096][BT_GBDT_N_PARAMS];
    int n = 0;
    const char *metric;
    bt_model_data data = {0};
    data.threads = threads;
    if (!strcmp(argv[1], "boston")) {
        FILE *f = fopen(argv[2], "r");
        if (!f) return 66;
        char line[4096];
        float *X = malloc(sizeof(float) * 506 * 13), *y = malloc(sizeof(float) * 506);
        int r = 0;
        while (fgets(line, sizeof line, f) && r < 506) {
            if (line[0] < '0' || line[0] > '9' || strchr(line, ',') == strrchr(line, ',') ||
                strstr(line, ",,"))
                continue;
            char *s = line;
            for (int c = 0; c < 14; c++) {
                float v = strtof(s, &s);
                if (*s == ',') s++;
                if (c < 13)
                    X[r * 13 + c] = v;
                else
                    y[r] = v;
            }
            r++;
        }
        fclose(f);
        tr.n_rows = 404;
        va.n_rows = r - 404;
        tr.n_features = va.n_features = 13;
        tr.X = X;
        tr.y = y;
        va.X = X + 404 * 13;
        va.y = y + 404;
        data.task = BT_TASK_REGRESSION;
        const double etas[3] = {0.05, 0.1, 0.3}, lambdas[3] = {0.5, 1, 2};
        for (int d = 2; d <= 8; d++)
            for (int e = 0; e < 3; e++)
                for (int l = 0; l < 3; l++) {
                    bt_value *v = trials[n++];
                    for (int p = 0; p < bt_gbdt_family.n_params; p++)
                        v[p] = bt_gbdt_family.params[p].def;
                    v[BT_GBDT_MAX_DEPTH] = bt_value_int(d);
                    v[BT_GBDT_ETA] = bt_value_float(etas[e]);
                    v[BT_GBDT_LAMBDA] = bt_value_float(lambdas[l]);
                    v[BT_GBDT_NUM_ROUND] = bt_value_int(50);
                }
        rounds = 50;
        metric = "rmse";
    } else {
        int64_t rows = atoll(argv[2]);
        int32_t F = atoi(argv[3]);
        int64_t nv = rows / 10;
        tr.n_rows = rows;
        va.n_rows = nv;
        tr.n_features = va.n_features = F;
        tr.X = malloc(sizeof(float) * (size_t)(rows * F));
        tr.y = malloc(sizeof(float) * (size_t)rows);
        va.X = malloc(sizeof(float) * (size_t)(nv * F));
        va.y = malloc(sizeof(float) * (size_t)nv);
        for (int s = 0; s < 2; s++) {
            bt_dataset *d = s ? &va : &tr;
            for (int64_t r = 0; r < d->n_rows; r++) {
                double z = 0;
                for (int32_t f = 0; f < F; f++) {
                    double u = bt_philox_uniform(99 + (uint64_t)s, (uint64_t)r, (uint64_t)f);
                    d->X[r * F + f] = (float)u;
                    z += (f % 3 == 0 ? 1 : -0.5) * sin(6 * u + f);
                }
                z += bt_philox_uniform(5 + (uint64_t)s, (uint64_t)r, 1 << 20) - 0.5;
                d->y[r] = (float)(z > 0);
            }
        }
        data.task = BT_TASK_BINARY;
        data.n_classes = 2;
        for (int t = 0; t < n_trials; t++) {
            bt_value *v = trials[n++];
            for (int p = 0; p < bt_gbdt_family.n_params; p++) v[p] = bt_gbdt_family.params[p].def;
            v[BT_GBDT_OBJECTIVE] = bt_value_string("binary:logistic");
            v[BT_GBDT_MAX_DEPTH] = bt_value_int(depth);
            v[BT_GBDT_ETA] = bt_value_float(0.05 + 0.25 * (t % 8) / 7.0);
            v[BT_GBDT_LAMBDA] = bt_value_float(0.5 + (t / 8) % 4);
            v[BT_GBDT_MIN_CHILD_WEIGHT] = bt_value_float(1 + t % 3);
            v[BT_GBDT_BASE_SCORE] = bt_value_float(0.5);
        }
        metric = "logloss";
    }
    data.train = &tr;
    data.valid = &va;
    if (pack_size <= 0) pack_size = n;
    double t0 = now();
    bt_hparams h0 = {trials[0]};
    if (bt_gbdt_family.data_prepare(&data, &h0)) {
        fprintf(stderr, "%s\n", bt_status_message());
        return 70;
    }
    double t1 = now(), checksum = 0;
    if (run_packs(&data, trials, n, pack_size, rounds, metric, &checksum)) {
        fprintf(stderr, "%s\n", bt_status_message());
        return 70;
    }
    double t2 = now();
    printf("{\"mode\":\"%s\",\"rows\":%lld,\"features\":%d,\"trials\":%d,\"rounds\":%d,"
           "\"threads\":%d,\"pack\":%d,\"prepare_s\":%.4f,\"train_s\":%.4f,\"total_s\":%.4f,"
           "\"mean_final_%s\":%.6f}\n",
           argv[1], (long long)tr.n_rows, tr.n_features, n, rounds, threads, pack_size, t1 - t0,
           t2 - t1, t2 - t0, metric, checksum / n);
    bt_gbdt_family.data_free(&data);
    return 0;
}
