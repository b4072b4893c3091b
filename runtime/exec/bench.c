/* The sweep benchmark (bench.h): the sweep's runs trained through the family's pack ops, packed and
 * one at a time, timed apart from setup, with peak memory per phase and a bit-for-bit metric check.
 */
#include "runtime/exec/bench.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "runtime/devices/devices.h"
#include "runtime/devices/resolve.h"
#include "runtime/devices/nvml.h"
#include "runtime/devices/sysmon.h"
#include "runtime/exec/progress.h"
#include "runtime/exec/sweep_data.h"
#include "sweeps/plan.h"

typedef struct bench {
    bt_sweep sw;
    int64_t n_sel;      /* selected trials: 0 .. n_sel-1 */
    int64_t *report_at; /* per selected trial: the resource its metric is read at */
    /* selected runs: the plan's runs 0 .. n_runs-1, those of the selected trials (a leader is its
     * group's first trial); a run's selected members are the first of its members in the plan */
    int64_t n_runs;
    int64_t *run_target; /* per selected run: the furthest report point of its selected trials */
    const char *rss_source;
    bt_gpu_source gpu_src; /* GPU usage, when training on a GPU and a source opened */
    int gpu_index;
    double sample_period;
} bench;

/* ---- memory ------------------------------------------------------------------------------- */

/* Resets the kernel's peak-RSS mark (Linux >= 4.0), so each phase reads its own peak rather than
 * the process's; returns 0 where that is not possible and getrusage's lifetime peak must do. */
static int rss_peak_reset(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return 0;
    int ok = fputs("5", f) >= 0;
    ok &= fclose(f) == 0;
    return ok;
}

static int64_t rss_peak_bytes(const bench *b) {
    if (strcmp(b->rss_source, "VmHWM") == 0) {
        FILE *f = fopen("/proc/self/status", "r");
        if (f) {
            char line[256];
            long long kb = -1;
            while (fgets(line, sizeof line, f))
                if (sscanf(line, "VmHWM: %lld kB", &kb) == 1) break;
            fclose(f);
            if (kb >= 0) return (int64_t)kb * 1024;
        }
    }
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
    return (int64_t)ru.ru_maxrss * 1024; /* kilobytes on Linux */
}

static void phase_begin(bench *b) {
    if (!rss_peak_reset()) b->rss_source = "ru_maxrss";
}

/* ---- the device --------------------------------------------------------------------------- */

/* Where to train (bt_device_choose, as `batchtune run` does) and, on a GPU, what measures it:
 * NVML when the driver's library loads, else the CUDA runtime's memory figures. */
static bt_status choose_device(bench *b, const bt_spec *spec, const bt_bench_opts *o,
                               bt_bench_result *r) {
    bt_device_request req = {.device = o->device ? o->device : spec->exec.device,
                             .gpu_packs = o->gpu_packs ? o->gpu_packs : spec->exec.gpu_packs,
                             .bad = o->device ? BT_STATUS_USAGE : BT_STATUS_BAD_INPUT,
                             .where = o->device ? "--device" : "execution.device",
                             .probe_always = 1}; /* also on the cpu: the report names the GPU */
    bt_device_resolved res;
    bt_status st = bt_device_resolve(b->sw.family, &req, &res);
    if (res.n_gpus > 0) snprintf(r->gpu_name, sizeof r->gpu_name, "%s", res.gpus[0].name);
    r->dev = res.choice;
    BT_TRY(st);
    b->sw.packs = res.packs;
    if (!r->dev.cuda) {
        snprintf(r->gpu_unavailable, sizeof r->gpu_unavailable, "trained on the cpu (%s)",
                 r->dev.reason);
        return BT_STATUS_OK;
    }
    if (r->dev.n_gpus > 1) { /* bench's packs run on one GPU: the first of the list */
        r->dev.n_gpus = 1;
        snprintf(r->dev.label, sizeof r->dev.label, "cuda:%d", r->dev.index & 0xffff);
        size_t k = strlen(r->dev.reason);
        snprintf(r->dev.reason + k, sizeof r->dev.reason - k, "; bench measures the first");
    }
    snprintf(r->gpu_name, sizeof r->gpu_name, "%s", r->dev.name);
    b->gpu_index = r->dev.index;
    char why[200];
    if (bt_nvml_open(&b->gpu_src, &b->gpu_index, 1, why, sizeof why) == BT_STATUS_OK) {
        r->gpu_source = "nvml";
        return BT_STATUS_OK;
    }
    bt_status_clear();
    snprintf(r->gpu_unavailable, sizeof r->gpu_unavailable, "NVML unavailable (%s): no utilization",
             why);
    char why2[128];
    if (bt_gpu_cudart_source(&b->gpu_src, why2, sizeof why2) == BT_STATUS_OK)
        r->gpu_source = "cudart";
    else
        bt_status_clear();
    return BT_STATUS_OK;
}

/* ---- which runs, to where ------------------------------------------------------------------ */

static int64_t trial_budget(const bt_sweep *sw, int64_t t, bt_value *hp) {
    const bt_sweep_trial *tr = &sw->trials[t];
    if (tr->budget >= 0) return tr->budget;
    if (sw->max_resource > 0) return sw->max_resource;
    if (bt_sweep_hp(sw, t, hp) != BT_STATUS_OK) return -1;
    const bt_value v = hp[sw->family->budget_param];
    return v.kind == BT_VALUE_FLOAT ? (int64_t)llround(v.f) : v.i;
}

/* The selected trials' report points (--rounds, else each trial's budget) and the selected runs'
 * targets, on top of the plan's runs. */
static bt_status plan_runs(bench *b, const bt_bench_opts *o) {
    const bt_sweep *sw = &b->sw;
    int64_t n = b->n_sel;
    b->report_at = malloc((size_t)n * sizeof *b->report_at);
    b->run_target = calloc((size_t)n, sizeof *b->run_target);
    bt_value *hp = calloc((size_t)sw->family->n_params, sizeof *hp);
    if (!b->report_at || !b->run_target || !hp) {
        free(hp);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    for (int64_t t = 0; t < n; t++) {
        int64_t r = o->rounds > 0 ? o->rounds : trial_budget(sw, t, hp);
        if (r <= 0) {
            free(hp);
            return BT_FAIL(BT_STATUS_BAD_INPUT,
                           "trial %" PRId64 " has no budget to train to; pass --rounds N", t);
        }
        b->report_at[t] = r;
    }
    free(hp);
    b->n_runs = 0;
    while (b->n_runs < sw->n_runs && sw->run_leader[b->n_runs] < n) b->n_runs++;
    for (int64_t ri = 0; ri < b->n_runs; ri++)
        for (int64_t k = sw->mem_ptr[ri]; k < sw->mem_ptr[ri + 1] && sw->members[k] < n; k++)
            if (b->report_at[sw->members[k]] > b->run_target[ri])
                b->run_target[ri] = b->report_at[sw->members[k]];
    return BT_STATUS_OK;
}

/* ---- training ------------------------------------------------------------------------------ */

/* Reads the metric of every selected trial of run `ri` that reports at `res`. */
static void record_reports(bench *b, bt_pack *pk, int slot, int64_t ri, int64_t res,
                           double *metrics, int *failed) {
    const bt_pack_ops *ops = b->sw.packs;
    int have = 0;
    double value = NAN;
    const bt_sweep *sw = &b->sw;
    for (int64_t k = sw->mem_ptr[ri]; k < sw->mem_ptr[ri + 1] && sw->members[k] < b->n_sel; k++) {
        int64_t t = sw->members[k];
        if (b->report_at[t] != res) continue;
        if (!have) {
            if (!*failed && ops->slot_failed && ops->slot_failed(pk, slot)) *failed = 1;
            if (!*failed && ops->eval(pk, slot, b->sw.metric, &value) != BT_STATUS_OK) {
                bt_status_clear(); /* a failed evaluation fails the trial, as in a sweep */
                *failed = 1;
            }
            if (*failed) value = NAN;
            have = 1;
        }
        metrics[t] = value;
    }
}

/* Trains every run of shape pack `p`, at most `cap` at a time; freed slots refill at once. */
static bt_status train_pack(bench *b, int p, const int64_t *runs, int64_t n, int64_t max_pack,
                            bt_bench_mode *m) {
    const bt_sweep *sw = &b->sw;
    const bt_pack_ops *ops = sw->packs;
    int cap = (int)(n < max_pack ? n : max_pack);
    const bt_hparams shape = {sw->pack_hp[p]};
    if (ops->pack_capacity) { /* a device pack as large as fits; freed slots refill as usual */
        int fit = ops->pack_capacity(&b->sw.data, &shape, cap);
        if (fit >= 1 && fit < cap) cap = fit;
    }
    bt_pack *pk = NULL;
    BT_TRY(ops->pack_init(&pk, &b->sw.data, &shape, cap));
    m->n_pack_inits++;
    int64_t *slot_run = malloc((size_t)cap * sizeof *slot_run);
    int64_t *slot_res = malloc((size_t)cap * sizeof *slot_res);
    int *slot_failed = malloc((size_t)cap * sizeof *slot_failed);
    int *step_slots = malloc((size_t)cap * sizeof *step_slots);
    bt_value *hpv = calloc((size_t)sw->family->n_params, sizeof *hpv);
    bt_status st = BT_STATUS_OK;
    if (!slot_run || !slot_res || !slot_failed || !step_slots || !hpv)
        st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    for (int s = 0; st == BT_STATUS_OK && s < cap; s++) slot_run[s] = -1;
    int64_t next = 0;
    while (st == BT_STATUS_OK) {
        int k = 0;
        for (int s = 0; s < cap && st == BT_STATUS_OK; s++) {
            if (slot_run[s] < 0 && next < n) {
                int64_t ri = runs[next++];
                int64_t L = sw->run_leader[ri];
                const bt_hparams hp = {hpv};
                st = bt_sweep_hp(sw, L, hpv);
                if (st == BT_STATUS_OK) st = ops->slot_start(pk, s, &hp, bt_sweep_trial_key(sw, L));
                slot_run[s] = ri;
                slot_res[s] = 0;
                slot_failed[s] = 0;
            }
            if (slot_run[s] >= 0) step_slots[k++] = s;
        }
        if (st != BT_STATUS_OK || k == 0) break;
        st = ops->step(pk, step_slots, k);
        for (int i = 0; i < k && st == BT_STATUS_OK; i++) {
            int s = step_slots[i];
            int64_t ri = slot_run[s];
            slot_res[s]++;
            record_reports(b, pk, s, ri, slot_res[s], m->metrics, &slot_failed[s]);
            if (slot_res[s] == b->run_target[ri]) {
                m->failed += slot_failed[s];
                ops->slot_clear(pk, s);
                slot_run[s] = -1;
            }
        }
    }
    free(slot_run);
    free(slot_res);
    free(slot_failed);
    free(step_slots);
    free(hpv);
    ops->pack_free(pk);
    return st;
}

static bt_status train_mode(bench *b, int64_t max_pack, bt_bench_mode *m) {
    memset(m, 0, sizeof *m);
    m->pack = max_pack;
    m->peak_device_bytes = -1;
    m->base_device_bytes = -1;
    m->sm_utilization = NAN;
    m->metrics = malloc((size_t)b->n_sel * sizeof *m->metrics);
    int64_t *runs = malloc((size_t)b->n_runs * sizeof *runs);
    if (!m->metrics || !runs) {
        free(runs);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    for (int64_t t = 0; t < b->n_sel; t++) m->metrics[t] = NAN;
    phase_begin(b);
    bt_gpu_sampler *sampler = NULL;
    if (b->gpu_src.read && bt_gpu_sampler_start(&sampler, &b->gpu_src, &b->gpu_index, 1,
                                                b->sample_period) != BT_STATUS_OK)
        bt_status_clear(); /* no thread: the numbers stay null */
    double t0 = bt_clock();
    bt_status st = BT_STATUS_OK;
    for (int p = 0; p < b->sw.n_packs && st == BT_STATUS_OK; p++) {
        int64_t n = 0;
        for (int64_t k = b->sw.pack_run_ptr[p];
             k < b->sw.pack_run_ptr[p + 1] && b->sw.pack_runs[k] < b->n_runs; k++)
            runs[n++] = b->sw.pack_runs[k];
        if (n > 0) st = train_pack(b, p, runs, n, max_pack, m);
    }
    m->train_seconds = bt_clock() - t0;
    if (sampler) {
        bt_gpu_usage u;
        bt_gpu_sampler_stop(sampler, &u);
        m->gpu_samples = u.n_samples;
        m->sm_utilization = bt_gpu_usage_mean(&u);
        m->peak_device_bytes = u.mem_peak;
        m->base_device_bytes = u.mem_first;
    }
    m->peak_rss_bytes = rss_peak_bytes(b);
    free(runs);
    return st;
}

static void rates(const bench *b, const bt_bench_result *r, bt_bench_mode *m) {
    double s = m->train_seconds > 0 ? m->train_seconds : 1e-9;
    m->trials_per_s = (double)b->n_sel / s;
    m->runs_per_s = (double)b->n_runs / s;
    m->trial_rounds_per_s = (double)r->trial_rounds / s;
    m->row_rounds_per_s = (double)r->trial_rounds * (double)r->rows / s;
}

static int same_bits(double a, double b) {
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

/* ---- the whole benchmark --------------------------------------------------------------------- */

static bt_status bench_body(bench *b, const bt_spec *spec, const bt_bench_opts *o,
                            bt_bench_result *r) {
    if (o->rounds < 0) return BT_FAIL(BT_STATUS_USAGE, "--rounds must be >= 1");
    if (o->max_trials < 0) return BT_FAIL(BT_STATUS_USAGE, "--trials must be >= 1");
    if (o->max_pack < 0) return BT_FAIL(BT_STATUS_USAGE, "--pack must be >= 1");
    if (o->threads < 0) return BT_FAIL(BT_STATUS_USAGE, "--threads must be >= 1");
    bt_cpu_model(r->cpu_model, sizeof r->cpu_model);
    if (!r->cpu_model[0]) snprintf(r->cpu_model, sizeof r->cpu_model, "unknown");
    r->cores = bt_cpu_cores();
    r->threads = o->threads > 0           ? o->threads
                 : spec->exec.threads > 0 ? spec->exec.threads
                                          : r->cores;
    if (r->threads < 1) r->threads = 1;
    int64_t max_pack = o->max_pack > 0 ? o->max_pack : spec->exec.max_pack;
    if (max_pack <= 0) max_pack = 256;
    if (max_pack > INT32_MAX) max_pack = INT32_MAX;
    r->rounds = o->rounds > 0 ? o->rounds : -1;

    phase_begin(b);
    double t0 = bt_clock();
    BT_TRY(bt_sweep_init_fixed(&b->sw, spec)); /* bayes/tpe: their seeded random design */
    if (b->sw.n_trials <= 0) return BT_FAIL(BT_STATUS_BAD_INPUT, "the sweep has no trials");
    BT_TRY(choose_device(b, spec, o, r));
    b->n_sel = o->max_trials > 0 && o->max_trials < b->sw.n_trials ? o->max_trials : b->sw.n_trials;
    BT_TRY(bt_sweep_load_data(&b->sw, r->threads));
    r->setup_seconds = bt_clock() - t0;
    r->setup_rss_bytes = rss_peak_bytes(b);

    snprintf(r->model, sizeof r->model, "%s", b->sw.family->name);
    snprintf(r->metric, sizeof r->metric, "%s", b->sw.metric);
    BT_TRY(plan_runs(b, o));
    r->trials = b->n_sel;
    r->runs = b->n_runs;
    r->rows = b->sw.train.n_rows;
    r->valid_rows = b->sw.valid.n_rows;
    r->features = b->sw.train.n_features;
    for (int64_t i = 0; i < b->n_runs; i++) r->trial_rounds += b->run_target[i];
    for (int p = 0; p < b->sw.n_packs; p++) /* its first run is selected when any is */
        r->n_packs += b->sw.pack_run_ptr[p] < b->sw.pack_run_ptr[p + 1] &&
                      b->sw.pack_runs[b->sw.pack_run_ptr[p]] < b->n_runs;

    BT_TRY(train_mode(b, max_pack, &r->packed));
    rates(b, r, &r->packed);
    r->speedup = NAN;
    r->first_mismatch = -1;
    if (o->compare_sequential) {
        r->have_sequential = 1;
        BT_TRY(train_mode(b, 1, &r->sequential));
        rates(b, r, &r->sequential);
        r->metrics_identical = 1;
        for (int64_t t = 0; t < b->n_sel && r->metrics_identical; t++)
            if (!same_bits(r->packed.metrics[t], r->sequential.metrics[t])) {
                r->metrics_identical = 0;
                r->first_mismatch = t;
            }
        if (r->packed.train_seconds > 0)
            r->speedup = r->sequential.train_seconds / r->packed.train_seconds;
    }
    r->rss_source = b->rss_source;
    return BT_STATUS_OK;
}

bt_status bt_bench_run(const bt_spec *spec, const bt_bench_opts *o, bt_bench_result *out) {
    memset(out, 0, sizeof *out);
    out->first_mismatch = -1;
    out->speedup = NAN;
    bench b;
    memset(&b, 0, sizeof b);
    b.rss_source = "VmHWM";
    b.sample_period = o->sample_period > 0 ? o->sample_period : 0.1;
    bt_status st = bench_body(&b, spec, o, out);
    out->rss_source = b.rss_source;
    free(b.report_at);
    free(b.run_target);
    bt_gpu_source_close(&b.gpu_src);
    bt_sweep_free(&b.sw);
    if (st != BT_STATUS_OK) {
        /* keep the caller's message: freeing does not fail, so it is still the last one */
        bt_bench_result_free(out);
    }
    return st;
}

void bt_bench_result_free(bt_bench_result *r) {
    if (!r) return;
    free(r->packed.metrics);
    free(r->sequential.metrics);
    r->packed.metrics = NULL;
    r->sequential.metrics = NULL;
}
