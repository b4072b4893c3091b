/* bt_gbdt_fit: trains a pack of gbdt trials on raw float32 files and prints every trial's
 * per-round metrics as JSON (the parity tests compare them with xgboost), optionally writing each
 * trial's xgboost-json export. Trials sharing max_bin and booster train together in one pack.
 * usage: bt_gbdt_fit --train X.f32 Y.f32 ROWS COLS [--valid X.f32 Y.f32 ROWS] --trials FILE
 *        --rounds R [--metrics rmse,auc] [--threads T] [--export DIR] [--seed S]
 *   --mode hist|col|auto forces how trees find splits (histograms or sorted column lists).
 *   --export DIR writes DIR/trial_<i>.json (xgboost-json) and DIR/trial_<i>.margin.f32 (the
 *   final valid margins, rows x outputs float32).
 *   FILE: one trial per line, "name=value" pairs separated by spaces (gbdt parameter names). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/philox.h"
#include "models/gbdt/gbdt.h"
#include "models/gbdt/trainer.h"
#include "models/model.h"

static float *read_f32(const char *path, int64_t n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    float *x = malloc((size_t)(n > 0 ? n : 1) * sizeof *x);
    if (x && fread(x, sizeof *x, (size_t)n, f) != (size_t)n) {
        free(x);
        x = NULL;
    }
    fclose(f);
    return x;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

#define MAX_TRIALS 4096
#define MAX_METRICS 16

int main(int argc, char **argv) {
    const bt_pack_ops *vt = &bt_gbdt_cpu_packs;
    bt_dataset train = {0}, valid = {0};
    const char *trials_path = NULL, *export_dir = NULL, *metrics_arg = "";
    int rounds = 10, threads = 1;
    unsigned long long seed = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--train") && i + 4 < argc) {
            train.n_rows = atoll(argv[i + 3]);
            train.n_features = atoi(argv[i + 4]);
            train.X = read_f32(argv[i + 1], train.n_rows * train.n_features);
            train.y = read_f32(argv[i + 2], train.n_rows);
            i += 4;
        } else if (!strcmp(argv[i], "--valid") && i + 3 < argc) {
            valid.n_rows = atoll(argv[i + 3]);
            valid.n_features = train.n_features;
            valid.X = read_f32(argv[i + 1], valid.n_rows * valid.n_features);
            valid.y = read_f32(argv[i + 2], valid.n_rows);
            i += 3;
        } else if (!strcmp(argv[i], "--trials") && i + 1 < argc) {
            trials_path = argv[++i];
        } else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--metrics") && i + 1 < argc) {
            metrics_arg = argv[++i];
        } else if (!strcmp(argv[i], "--export") && i + 1 < argc) {
            export_dir = argv[++i];
        } else if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
            i++;
            bt_gbdt_set_mode(!strcmp(argv[i], "hist") ? 1 : !strcmp(argv[i], "col") ? 2 : 0);
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "bt_gbdt_fit: bad argument %s\n", argv[i]);
            return 2;
        }
    }
    if (!train.X || !train.y || !trials_path || (valid.n_rows && (!valid.X || !valid.y))) {
        fprintf(stderr, "bt_gbdt_fit: need readable --train files and --trials\n");
        return 2;
    }
    /* trials */
    static bt_value hp[MAX_TRIALS][BT_GBDT_N_PARAMS];
    int n_trials = 0;
    FILE *tf = fopen(trials_path, "r");
    if (!tf) {
        fprintf(stderr, "bt_gbdt_fit: cannot open %s\n", trials_path);
        return 66;
    }
    char line[4096];
    while (fgets(line, sizeof line, tf) && n_trials < MAX_TRIALS) {
        if (line[0] == '\n' || line[0] == '#') continue;
        bt_value *v = hp[n_trials];
        for (int p = 0; p < bt_gbdt_family.n_params; p++) v[p] = bt_gbdt_family.params[p].def;
        for (char *tok = strtok(line, " \t\n"); tok; tok = strtok(NULL, " \t\n")) {
            char *eq = strchr(tok, '=');
            if (!eq) continue;
            *eq = 0;
            int p = bt_model_param_index(&bt_gbdt_family, tok);
            if (p < 0) {
                fprintf(stderr, "bt_gbdt_fit: unknown parameter %s\n", tok);
                return 65;
            }
            const char *val = eq + 1;
            switch (bt_gbdt_family.params[p].type) {
            case BT_PTYPE_FLOAT:
                v[p] = bt_value_float(strtod(val, NULL));
                break;
            case BT_PTYPE_INT:
                v[p] = bt_value_int(strtoll(val, NULL, 10));
                break;
            case BT_PTYPE_BOOL:
                v[p] = bt_value_bool(atoi(val));
                break;
            default:
                v[p] = bt_value_string(dup_str(val));
                break;
            }
        }
        n_trials++;
    }
    fclose(tf);
    if (n_trials == 0) {
        fprintf(stderr, "bt_gbdt_fit: no trials\n");
        return 65;
    }
    char metric_buf[512];
    const char *metrics[MAX_METRICS];
    int n_metrics = 0;
    snprintf(metric_buf, sizeof metric_buf, "%s", metrics_arg);
    for (char *t = strtok(metric_buf, ","); t && n_metrics < MAX_METRICS; t = strtok(NULL, ","))
        metrics[n_metrics++] = t;

    bt_hparams h0 = {hp[0]};
    bt_model_data data = {0};
    data.train = &train;
    data.valid = valid.n_rows ? &valid : NULL;
    data.threads = threads;
    if (bt_gbdt_family.task_of(&h0, &data.task, &data.n_classes) != BT_STATUS_OK ||
        bt_gbdt_family.data_prepare(&data, &h0) != BT_STATUS_OK) {
        fprintf(stderr, "bt_gbdt_fit: %s\n", bt_status_message());
        return 65;
    }
    if (n_metrics == 0) metrics[n_metrics++] = bt_gbdt_family.default_metric(data.task);

    double *res = malloc((size_t)n_trials * (size_t)rounds * (size_t)n_metrics * sizeof *res);
    int *failed = calloc((size_t)n_trials, sizeof *failed);
    char **models = calloc((size_t)n_trials, sizeof *models);
    size_t *model_len = calloc((size_t)n_trials, sizeof *model_len);
    int *done = calloc((size_t)n_trials, sizeof *done);
    int *slots = malloc((size_t)n_trials * sizeof *slots);
    int *ids = malloc((size_t)n_trials * sizeof *ids);
    if (!res || !failed || !models || !done || !slots || !ids || !model_len) return 70;
    /* one pack per shape: distinct max_bin and booster */
    for (int first = 0; first < n_trials; first++) {
        if (done[first]) continue;
        int64_t mb = hp[first][BT_GBDT_MAX_BIN].i;
        const char *booster = hp[first][BT_GBDT_BOOSTER].s;
        int n = 0;
        for (int t = first; t < n_trials; t++)
            if (!done[t] && hp[t][BT_GBDT_MAX_BIN].i == mb &&
                strcmp(hp[t][BT_GBDT_BOOSTER].s, booster) == 0)
                ids[n++] = t;
        bt_hparams hs = {hp[first]};
        bt_pack *pack = NULL;
        if (vt->pack_init(&pack, &data, &hs, n) != BT_STATUS_OK) {
            fprintf(stderr, "bt_gbdt_fit: %s\n", bt_status_message());
            return 70;
        }
        for (int s = 0; s < n; s++) {
            bt_hparams ht = {hp[ids[s]]};
            if (bt_gbdt_family.check(&ht, data.task) != BT_STATUS_OK ||
                vt->slot_start(pack, s, &ht, bt_philox_key(seed, (uint64_t)ids[s])) !=
                    BT_STATUS_OK) {
                fprintf(stderr, "bt_gbdt_fit: trial %d: %s\n", ids[s], bt_status_message());
                return 65;
            }
            slots[s] = s;
            done[ids[s]] = 1;
        }
        for (int r = 0; r < rounds; r++) {
            if (vt->step(pack, slots, n) != BT_STATUS_OK) {
                fprintf(stderr, "bt_gbdt_fit: %s\n", bt_status_message());
                return 70;
            }
            for (int s = 0; s < n; s++)
                for (int m = 0; m < n_metrics; m++) {
                    double x;
                    if (vt->eval(pack, s, metrics[m], &x) != BT_STATUS_OK) {
                        fprintf(stderr, "bt_gbdt_fit: %s\n", bt_status_message());
                        return 65;
                    }
                    res[((size_t)ids[s] * rounds + r) * n_metrics + m] = x;
                }
        }
        for (int s = 0; s < n; s++) {
            failed[ids[s]] = vt->slot_failed(pack, s);
            if (export_dir && bt_gbdt_family.export_model(pack, s, "xgboost-json", &models[ids[s]],
                                                          &model_len[ids[s]]) != BT_STATUS_OK) {
                fprintf(stderr, "bt_gbdt_fit: %s\n", bt_status_message());
                return 70;
            }
            if (export_dir && valid.n_rows) {
                const bt_gbdt_slot *sl = pack->slots[s];
                char path[1024];
                snprintf(path, sizeof path, "%s/trial_%d.margin.f32", export_dir, ids[s]);
                FILE *f = fopen(path, "wb");
                size_t cnt = (size_t)valid.n_rows * (size_t)sl->n_out;
                if (!f || fwrite(sl->margin_valid, sizeof(float), cnt, f) != cnt) {
                    fprintf(stderr, "bt_gbdt_fit: cannot write %s\n", path);
                    return 74;
                }
                fclose(f);
            }
        }
        vt->pack_free(pack);
    }
    printf("{\"trials\":[");
    for (int t = 0; t < n_trials; t++) {
        printf("%s{\"id\":%d,\"failed\":%d,\"metrics\":{", t ? "," : "", t, failed[t]);
        for (int m = 0; m < n_metrics; m++) {
            printf("%s\"%s\":[", m ? "," : "", metrics[m]);
            for (int r = 0; r < rounds; r++) {
                double x = res[((size_t)t * rounds + r) * n_metrics + m];
                if (x != x)
                    printf("%snull", r ? "," : "");
                else
                    printf("%s%.17g", r ? "," : "", x);
            }
            printf("]");
        }
        printf("}}");
        if (export_dir && models[t]) {
            char path[1024];
            snprintf(path, sizeof path, "%s/trial_%d.json", export_dir, t);
            FILE *f = fopen(path, "wb");
            if (!f || fwrite(models[t], 1, model_len[t], f) != model_len[t]) {
                fprintf(stderr, "bt_gbdt_fit: cannot write %s\n", path);
                return 74;
            }
            fclose(f);
        }
    }
    printf("]}\n");
    bt_gbdt_family.data_free(&data);
    for (int t = 0; t < n_trials; t++) free(models[t]);
    free(models);
    free(model_len);
    free(res);
    free(failed);
    free(done);
    free(slots);
    free(ids);
    free(train.X);
    free(train.y);
    free(valid.X);
    free(valid.y);
    return 0;
}
