/* `batchtune bench SWEEP.yaml`: how fast the sweep's trials train here -- packed and, with
 * `--compare sequential`, one at a time -- as a small table or one JSON object. Writes no results;
 * exits 70 when the two modes disagree on any trial's metric (they must be bit-identical). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cli/cli.h"
#include "runtime/devices/resolve.h"
#include "runtime/exec/bench.h"
#include "sweeps/spec/spec.h"
#include "runtime/store/wopen.h"

static const char help[] =
    "usage: batchtune bench SWEEP.yaml [options]\n"
    "\n"
    "Trains the sweep's trials (no scheduler, no results file) and prints throughput: trials/s,\n"
    "trial-rounds/s, training rows x rounds/s, setup and training seconds, peak memory. Trials\n"
    "that differ only in the budget share one training run, as in a sweep.\n"
    "\n"
    "Options:\n"
    "  --rounds N        train every trial N resource units (default: each trial's budget)\n"
    "  --trials K        only the first K trials of the sweep\n"
    "  --pack N          at most N trials per pack (default: the sweep's execution.max_pack)\n"
    "  --compare sequential   also train the same trials one at a time (packs of one) in this\n"
    "                    process on the same data, print the speedup, and check that every\n"
    "                    trial's metric is bit-identical in both modes (exit 70 if not)\n"
    "  --threads N       CPU threads (default: the sweep's execution.threads, else all cores)\n"
    "  --device DEV      auto | cpu | cuda | cuda:all | cuda:N[,M...], as for run\n"
    "                    (default: the sweep's, else auto). On a GPU, NVML (libnvidia-ml.so.1,\n"
    "                    when it loads) gives the average utilization; peak device memory\n"
    "                    comes from NVML or CUDA\n"
    "  --gpu-packs WHICH stable | all, as for run\n"
    "  --json            print one JSON object instead of the table\n"
    "  --out-json PATH   also write that JSON object to PATH\n\n";

static int parse_count(const char *opt, const char *s, int64_t *out) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || !end || *end || end == s || v < 1) {
        fprintf(stderr, "batchtune bench: %s takes a positive integer, not '%s'\n", opt, s);
        return BT_STATUS_USAGE;
    }
    *out = (int64_t)v;
    return 0;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void add_num_or_null(cJSON *o, const char *key, double v, int have) {
    if (have && isfinite(v))
        cJSON_AddNumberToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

static cJSON *mode_json(const bt_bench_mode *m, const char *rss_source) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "pack", (double)m->pack);
    cJSON_AddNumberToObject(o, "train_seconds", m->train_seconds);
    cJSON_AddNumberToObject(o, "trials_per_s", m->trials_per_s);
    cJSON_AddNumberToObject(o, "runs_per_s", m->runs_per_s);
    cJSON_AddNumberToObject(o, "trial_rounds_per_s", m->trial_rounds_per_s);
    cJSON_AddNumberToObject(o, "row_rounds_per_s", m->row_rounds_per_s);
    add_num_or_null(o, "peak_rss_bytes", (double)m->peak_rss_bytes, m->peak_rss_bytes >= 0);
    cJSON_AddStringToObject(o, "peak_rss_source", rss_source);
    add_num_or_null(o, "peak_device_memory_bytes", (double)m->peak_device_bytes,
                    m->peak_device_bytes >= 0);
    add_num_or_null(o, "device_memory_at_start_bytes", (double)m->base_device_bytes,
                    m->base_device_bytes >= 0);
    add_num_or_null(o, "sm_utilization", m->sm_utilization, 1);
    cJSON_AddNumberToObject(o, "gpu_samples", (double)m->gpu_samples);
    cJSON_AddNumberToObject(o, "failed_runs", (double)m->failed);
    return o;
}

static char *result_json(const char *sweep, const bt_bench_result *r) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "batchtune_version", BT_VERSION);
    cJSON_AddStringToObject(o, "sweep", sweep);
    cJSON *dev = cJSON_AddObjectToObject(o, "device");
    cJSON_AddStringToObject(dev, "trained_on", r->dev.label);
    cJSON_AddStringToObject(dev, "reason", r->dev.reason);
    cJSON_AddStringToObject(dev, "cpu", r->cpu_model);
    cJSON_AddNumberToObject(dev, "cores", r->cores);
    if (r->gpu_name[0])
        cJSON_AddStringToObject(dev, "gpu", r->gpu_name);
    else
        cJSON_AddNullToObject(dev, "gpu");
    add_num_or_null(dev, "gpu_memory_bytes", (double)r->dev.total_mem, r->dev.cuda);
    cJSON_AddBoolToObject(dev, "nvml", r->gpu_source && strcmp(r->gpu_source, "nvml") == 0);
    if (r->gpu_source)
        cJSON_AddStringToObject(dev, "gpu_usage_source", r->gpu_source);
    else
        cJSON_AddNullToObject(dev, "gpu_usage_source");
    if (r->gpu_unavailable[0])
        cJSON_AddStringToObject(dev, "gpu_usage_unavailable", r->gpu_unavailable);
    else
        cJSON_AddNullToObject(dev, "gpu_usage_unavailable");
    cJSON_AddNumberToObject(o, "threads", r->threads);
    cJSON_AddStringToObject(o, "model", r->model);
    cJSON_AddStringToObject(o, "metric", r->metric);
    cJSON_AddNumberToObject(o, "trials", (double)r->trials);
    cJSON_AddNumberToObject(o, "runs", (double)r->runs);
    cJSON_AddNumberToObject(o, "packs", (double)r->n_packs);
    add_num_or_null(o, "rounds", (double)r->rounds, r->rounds > 0);
    cJSON_AddNumberToObject(o, "trial_rounds", (double)r->trial_rounds);
    cJSON_AddNumberToObject(o, "rows", (double)r->rows);
    cJSON_AddNumberToObject(o, "valid_rows", (double)r->valid_rows);
    cJSON_AddNumberToObject(o, "features", (double)r->features);
    cJSON_AddNumberToObject(o, "setup_seconds", r->setup_seconds);
    add_num_or_null(o, "setup_peak_rss_bytes", (double)r->setup_rss_bytes, r->setup_rss_bytes >= 0);
    cJSON_AddItemToObject(o, "packed", mode_json(&r->packed, r->rss_source));
    if (r->have_sequential) {
        cJSON_AddItemToObject(o, "sequential", mode_json(&r->sequential, r->rss_source));
        add_num_or_null(o, "speedup", r->speedup, 1);
        cJSON_AddBoolToObject(o, "metrics_identical", r->metrics_identical);
        add_num_or_null(o, "first_mismatch", (double)r->first_mismatch, r->first_mismatch >= 0);
    } else {
        cJSON_AddNullToObject(o, "sequential");
        cJSON_AddNullToObject(o, "speedup");
        cJSON_AddNullToObject(o, "metrics_identical");
    }
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    return s;
}

/* ---- the table ----------------------------------------------------------------------------- */

static void fmt_bytes(char *buf, size_t n, int64_t v) {
    if (v < 0)
        snprintf(buf, n, "n/a");
    else
        snprintf(buf, n, "%.1f MiB", (double)v / (1024.0 * 1024.0));
}

static void mode_row(const char *name, const bt_bench_mode *m) {
    char rss[32], dev[32], sm[16];
    fmt_bytes(rss, sizeof rss, m->peak_rss_bytes);
    fmt_bytes(dev, sizeof dev, m->peak_device_bytes);
    if (isnan(m->sm_utilization))
        snprintf(sm, sizeof sm, "n/a");
    else
        snprintf(sm, sizeof sm, "%.0f%%", 100 * m->sm_utilization);
    printf("%-11s %5" PRId64 " %9.3f %10.1f %14.1f %15.4g %11s %10s %7s\n", name, m->pack,
           m->train_seconds, m->trials_per_s, m->trial_rounds_per_s, m->row_rounds_per_s, rss, dev,
           sm);
}

static void print_table(const char *sweep, const bt_bench_result *r) {
    char rss[32];
    printf("batchtune bench %s\n", sweep);
    printf("device   %s, %d cores; gpu: %s\n", r->cpu_model, r->cores,
           r->gpu_name[0] ? r->gpu_name : "none");
    if (r->dev.cuda) {
        char desc[320];
        bt_device_describe(&r->dev, desc, sizeof desc);
        printf("         trained on %s [%s]\n", desc, r->dev.reason);
        printf("         GPU usage from %s%s%s\n", r->gpu_source ? r->gpu_source : "nothing",
               r->gpu_unavailable[0] ? "; " : "", r->gpu_unavailable);
    } else {
        printf("         trained on the cpu, %d thread%s [%s]\n", r->threads,
               r->threads == 1 ? "" : "s", r->dev.reason);
    }
    printf("sweep    %s, %" PRId64 " trials -> %" PRId64 " training runs in %" PRId64
           " pack%s, metric %s\n",
           r->model, r->trials, r->runs, r->n_packs, r->n_packs == 1 ? "" : "s", r->metric);
    if (r->rounds > 0)
        printf("work     %" PRId64 " rounds per run, %" PRId64 " trial-rounds", r->rounds,
               r->trial_rounds);
    else
        printf("work     each trial's own budget, %" PRId64 " trial-rounds", r->trial_rounds);
    printf(", %" PRId64 " train rows x %" PRId64 " features (%" PRId64 " valid rows)\n", r->rows,
           r->features, r->valid_rows);
    fmt_bytes(rss, sizeof rss, r->setup_rss_bytes);
    printf("setup    %.3f s (trials, data load, binning), peak RSS %s\n\n", r->setup_seconds, rss);
    printf("%-11s %5s %9s %10s %14s %15s %11s %10s %7s\n", "mode", "pack", "train s", "trials/s",
           "trial-rounds/s", "rows x rounds/s", "peak RSS", "device mem", "SM util");
    mode_row("packed", &r->packed);
    if (r->have_sequential) {
        mode_row("sequential", &r->sequential);
        printf("\nspeedup  %.2fx (sequential train s / packed train s)\n", r->speedup);
        if (r->metrics_identical)
            printf("metrics identical: yes (%" PRId64 " trials, bit for bit)\n", r->trials);
        else
            printf("metrics identical: no (trial %" PRId64 ": packed %.17g, sequential %.17g)\n",
                   r->first_mismatch, r->packed.metrics[r->first_mismatch],
                   r->sequential.metrics[r->first_mismatch]);
    }
    if (r->packed.failed || (r->have_sequential && r->sequential.failed))
        printf("failed runs: %" PRId64 " packed, %" PRId64 " sequential (diverged; metric NaN)\n",
               r->packed.failed, r->have_sequential ? r->sequential.failed : 0);
}

/* ---- the command --------------------------------------------------------------------------- */

int bt_cmd_bench(int argc, char **argv) {
    const char *sweep = NULL, *out_json = NULL;
    int json = 0;
    const char *device = NULL, *gpu_packs = NULL;
    bt_bench_opts o;
    memset(&o, 0, sizeof o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        int64_t v = 0;
        if (bt_cli_is_help(a)) {
            fputs(help, stdout);
            fputs(bt_cli_exit_codes, stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--device") == 0 && more) {
            device = argv[++i];
        } else if (strcmp(a, "--gpu-packs") == 0 && more) {
            gpu_packs = argv[++i];
            if (!bt_gpu_packs_valid(gpu_packs)) {
                fprintf(stderr, "batchtune: --gpu-packs takes stable or all\n");
                return BT_STATUS_USAGE;
            }
        } else if (strcmp(a, "--out-json") == 0 && more) {
            out_json = argv[++i];
        } else if (strcmp(a, "--compare") == 0 && more) {
            if (strcmp(argv[++i], "sequential") != 0) {
                fprintf(stderr, "batchtune bench: --compare takes 'sequential', not '%s'\n",
                        argv[i]);
                return BT_STATUS_USAGE;
            }
            o.compare_sequential = 1;
        } else if ((strcmp(a, "--rounds") == 0 || strcmp(a, "--trials") == 0 ||
                    strcmp(a, "--pack") == 0 || strcmp(a, "--threads") == 0) &&
                   more) {
            int rc = parse_count(a, argv[++i], &v);
            if (rc) return rc;
            if (strcmp(a, "--rounds") == 0)
                o.rounds = v;
            else if (strcmp(a, "--trials") == 0)
                o.max_trials = v;
            else if (strcmp(a, "--pack") == 0)
                o.max_pack = v;
            else if (v > 4096) {
                fprintf(stderr, "batchtune bench: --threads %" PRId64 " is too many\n", v);
                return BT_STATUS_USAGE;
            } else
                o.threads = (int)v;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "batchtune bench: unknown or incomplete option '%s'\n%s", a, help);
            return BT_STATUS_USAGE;
        } else if (!sweep) {
            sweep = a;
        } else {
            fprintf(stderr, "batchtune bench: one sweep file at a time ('%s' is extra)\n", a);
            return BT_STATUS_USAGE;
        }
    }
    if (!sweep) {
        fprintf(stderr, "batchtune bench: which sweep file?\n%s", help);
        return BT_STATUS_USAGE;
    }
    bt_spec spec;
    int rc = bt_cli_load_spec(sweep, &spec);
    if (rc) return rc;
    bt_cli_spec_warnings(&spec);
    o.device = device;
    o.gpu_packs = gpu_packs;
    bt_bench_result r;
    bt_status st = bt_bench_run(&spec, &o, &r);
    bt_spec_free(&spec);
    if (st != BT_STATUS_OK) return bt_cli_error(st);

    char *js = result_json(sweep, &r);
    if (!js) {
        bt_bench_result_free(&r);
        fprintf(stderr, "batchtune bench: out of memory\n");
        return BT_STATUS_INTERNAL;
    }
    if (json)
        printf("%s\n", js);
    else
        print_table(sweep, &r);
    rc = 0;
    if (out_json) {
        FILE *f = bt_wfopen(out_json, "w");
        int ok = f && fprintf(f, "%s\n", js) >= 0;
        if (f) ok &= fclose(f) == 0;
        if (!ok) {
            fprintf(stderr, "batchtune bench: --out-json %s: %s\n", out_json,
                    bt_wopen_error(errno));
            rc = BT_STATUS_IO;
        }
    }
    if (r.have_sequential && !r.metrics_identical) {
        fprintf(stderr,
                "batchtune bench: packed and sequential training disagree on trial %" PRId64
                " (training must not depend on the pack)\n",
                r.first_mismatch);
        rc = BT_STATUS_INTERNAL;
    }
    free(js);
    bt_bench_result_free(&r);
    return rc;
}
