/* The executor on a GPU: a sweep trained with `--device cuda` (the CUDA gbdt pack) gives the CPU
 * run's /trials and /history bit for bit (squared error), and so do several small CUDA packs
 * stepped side by side on 4 streams (concurrent_steps on, pack_capacity 3), for an ASHA sweep with
 * two shapes and a budget-prefix grid; `auto` picks the GPU and the results say so; `batchtune
 * bench` on the GPU trains the grid packed and one trial at a time to the same metrics and reports
 * the GPU and its memory. SKIP (77) without a GPU or a CUDA build
 * (in CPU-only builds the ctest executor_cuda_emu runs it against the emulated module). */
#include <signal.h>

#include "models/pack.h"
#include "runtime/exec/bench.h"
#include "runtime/devices/devices.h"
#include "runtime/exec/executor.h"
#include "runtime/store/results.h"
#include "runtime/store/sweep_file.h"
#include "sweeps/spec/spec.h"
#include "tests/bt_test.h"
#include "tests/cuda/gpu_skip.h"

static bt_pack_ops streams_vt;

/* Three slots a pack (the real hook's answer, if smaller, wins): several packs per shape. */
static const bt_pack_ops *cuda_vt;
static int small_capacity(const bt_model_data *d, const bt_hparams *shape, int wanted) {
    int fit = cuda_vt->pack_capacity ? cuda_vt->pack_capacity(d, shape, wanted) : wanted;
    return fit < 3 ? fit : 3;
}

/* Loads a sweep file, printing its diagnostics. */
static bt_status load(const char *sweep, bt_spec *spec) {
    bt_diags d;
    bt_diags_init(&d);
    bt_status st = bt_spec_load(sweep, spec, &d);
    for (int i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.msgs[i]);
    bt_diags_free(&d);
    return st;
}

static bt_status run(const char *sweep, const char *out, const char *device,
                     const bt_pack_ops *override, bt_run_summary *sum) {
    bt_spec spec;
    bt_status st = load(sweep, &spec);
    if (st != BT_STATUS_OK) return st;
    static volatile sig_atomic_t stop = 0;
    bt_run_opts o = {.out_path = out,
                     .device = device,
                     .fresh = 1,
                     .stop = &stop,
                     .checkpoint_every = 1000,
                     .streams = 4,
                     .packs_override = override};
    st = bt_sweep_run(&spec, &o, sum);
    bt_spec_free(&spec);
    return st;
}

static int same_double(double a, double b) {
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

static void compare(const char *what, const char *a_path, const char *b_path) {
    bt_results a, b;
    CHECK_OK(bt_results_read(a_path, &a));
    CHECK_OK(bt_results_read(b_path, &b));
    CHECK_EQ_INT(a.n_trials, b.n_trials);
    int64_t bad = 0;
    for (int64_t t = 0; t < a.n_trials && t < b.n_trials; t++)
        bad += a.trials[t].status != b.trials[t].status ||
               !same_double(a.trials[t].metric, b.trials[t].metric) ||
               a.trials[t].resource != b.trials[t].resource;
    CHECK_MSG(bad == 0, "%s: %lld trial rows differ", what, (long long)bad);
    CHECK_EQ_INT(a.n_history, b.n_history);
    bad = 0;
    for (int64_t h = 0; h < a.n_history && h < b.n_history; h++)
        bad += a.history[h].trial_id != b.history[h].trial_id ||
               a.history[h].resource != b.history[h].resource ||
               !same_double(a.history[h].value, b.history[h].value);
    CHECK_MSG(bad == 0, "%s: %lld history rows differ", what, (long long)bad);
    printf("%s: %lld trials, %lld history rows compared; device %s\n", what, (long long)a.n_trials,
           (long long)a.n_history, b.device ? b.device : "?");
    bt_results_free(&a);
    bt_results_free(&b);
}

static void case_sweep(const char *tmp, const char *name, const char *json) {
    char sweep[512], cpu[512], gpu[512], con[512], aut[512];
    snprintf(sweep, sizeof sweep, "%s/exec-cuda-%s.json", tmp, name);
    snprintf(cpu, sizeof cpu, "%s/exec-cuda-%s-cpu.h5", tmp, name);
    snprintf(gpu, sizeof gpu, "%s/exec-cuda-%s-gpu.h5", tmp, name);
    snprintf(con, sizeof con, "%s/exec-cuda-%s-streams.h5", tmp, name);
    snprintf(aut, sizeof aut, "%s/exec-cuda-%s-auto.h5", tmp, name);
    FILE *f = fopen(sweep, "w");
    if (!f) return;
    fputs(json, f);
    fclose(f);
    bt_run_summary sum;
    CHECK_OK(run(sweep, cpu, "cpu", NULL, &sum));
    CHECK_OK(run(sweep, gpu, "cuda:0", NULL, &sum));
    compare(name, cpu, gpu);
    CHECK_OK(run(sweep, con, "cuda:0", &streams_vt, &sum));
    compare(name, cpu, con);
    CHECK_OK(run(sweep, aut, "auto", NULL, &sum));
    bt_results r;
    CHECK_OK(bt_results_read(aut, &r));
    CHECK_MSG(r.device && strncmp(r.device, "cuda:", 5) == 0, "auto trained on %s",
              r.device ? r.device : "?");
    CHECK_MSG(r.n_trials > 0 && strncmp(r.trials[0].device, "cuda:", 5) == 0, "trial device %s",
              r.n_trials ? r.trials[0].device : "?");
    bt_results_free(&r);
}

/* bt_bench_run on GPU 0 over the sweep file: packed and sequential, bit-identical metrics, and
 * the device, its name and a memory reading in the report. */
static void case_bench(const char *sweep) {
    bt_spec spec;
    bt_status st = load(sweep, &spec);
    CHECK_OK(st);
    if (st != BT_STATUS_OK) return;
    bt_bench_opts o = {.max_trials = 12, .compare_sequential = 1, .device = "cuda:0"};
    bt_bench_result r;
    memset(&r, 0, sizeof r);
    CHECK_OK(bt_bench_run(&spec, &o, &r));
    CHECK_MSG(r.dev.cuda == 1 && r.dev.index == 0, "bench trained on %s", r.dev.label);
    CHECK_MSG(r.gpu_name[0] != '\0', "bench names no GPU");
    CHECK_EQ_INT(r.trials, 12);
    CHECK_MSG(r.have_sequential && r.metrics_identical,
              "bench: packed and sequential metrics differ at trial %lld",
              (long long)r.first_mismatch);
    CHECK_MSG(r.packed.pack > 1 && r.sequential.pack == 1, "bench packs %lld / %lld",
              (long long)r.packed.pack, (long long)r.sequential.pack);
    for (int64_t t = 0; t < r.trials; t++)
        CHECK_MSG(isfinite(r.packed.metrics[t]), "bench trial %lld: metric %g", (long long)t,
                  r.packed.metrics[t]);
    /* NVML or the CUDA runtime reports memory; the sampler's last read is after training */
    CHECK_MSG(r.gpu_source != NULL, "no GPU usage source: %s", r.gpu_unavailable);
    if (r.gpu_source) {
        CHECK_MSG(r.packed.gpu_samples >= 1 && r.packed.peak_device_bytes > 0,
                  "bench: %lld samples, peak %lld bytes", (long long)r.packed.gpu_samples,
                  (long long)r.packed.peak_device_bytes);
    }
    printf(
        "bench: %lld trials on %s (%s), packed %.3f s, sequential %.3f s, peak %lld bytes (%s)\n",
        (long long)r.trials, r.dev.label, r.gpu_name, r.packed.train_seconds,
        r.sequential.train_seconds, (long long)r.packed.peak_device_bytes,
        r.gpu_source ? r.gpu_source : "-");
    bt_bench_result_free(&r);
    bt_spec_free(&spec);
}

int main(void) {
    const bt_pack_ops *cuda = bt_gpu_pack_ops("gbdt");
    BT_GPU_TEST_GATE("test_executor_cuda");
    if (!cuda) {
        fprintf(stderr, "test_executor_cuda: the CUDA module has no gbdt pack\n");
        return 1;
    }
    cuda_vt = cuda;
    streams_vt = *cuda;
    streams_vt.concurrent_steps = 1;
    streams_vt.pack_capacity = small_capacity;
    const char *tmp = bt_test_tmpdir();
    const char *src = getenv("BT_SOURCE_DIR");
    if (!src) src = ".";
    char json[4096];
    snprintf(
        json, sizeof json,
        "{\"method\": \"random\", \"run_cap\": 30,"
        " \"metric\": {\"name\": \"validation/rmse\", \"goal\": \"minimize\"},"
        " \"parameters\": {\"eta\": {\"min\": 0.05, \"max\": 0.5},"
        "   \"max_depth\": {\"values\": [2, 3, 4, 6]},"
        "   \"subsample\": {\"min\": 0.5, \"max\": 1.0},"
        "   \"colsample_bytree\": {\"min\": 0.5, \"max\": 1.0},"
        "   \"max_bin\": {\"values\": [32, 256]}},"
        " \"model\": {\"type\": \"gbdt\", \"objective\": \"reg:squarederror\"},"
        " \"dataset\": {\"path\": \"%s/sweeps/examples/data/boston.csv\", \"target\": \"MEDV\"},"
        " \"scheduler\": {\"type\": \"asha\", \"min_resource\": 1, \"max_resource\": 27,"
        "   \"eta\": 3, \"concurrency\": 8},"
        " \"execution\": {\"threads\": 2}, \"seed\": 7}",
        src);
    case_sweep(tmp, "asha", json);
    snprintf(
        json, sizeof json,
        "{\"method\": \"grid\","
        " \"metric\": {\"name\": \"validation/mse\", \"goal\": \"minimize\"},"
        " \"parameters\": {\"eta\": {\"values\": [0.2, 0.3]},"
        "   \"max_depth\": {\"values\": [2, 4, 6, 8]},"
        "   \"num_round\": {\"values\": [4, 9, 12]},"
        "   \"max_bin\": {\"values\": [64, 256]}},"
        " \"model\": {\"type\": \"gbdt\", \"objective\": \"reg:squarederror\"},"
        " \"dataset\": {\"path\": \"%s/sweeps/examples/data/boston.csv\", \"target\": \"MEDV\"},"
        " \"execution\": {\"threads\": 2}, \"seed\": 3}",
        src);
    case_sweep(tmp, "grid", json);
    char path[512];
    snprintf(path, sizeof path, "%s/exec-cuda-grid.json", tmp);
    case_bench(path);
    return bt_test_finish("test_executor_cuda");
}
