/* The CUDA mlp pack (bt_mlp_cuda_packs) against the CPU pack (bt_mlp_cpu_packs): 12 random trials
 * (every optimizer, Nesterov, weight decay, dropout, label smoothing, step / cosine schedules with
 * warm-up, one trial that diverges) trained side by side for 4 epochs in four shapes (relu / gelu
 * / tanh, with and without batch norm, a smaller last batch, a linear model with one full batch,
 * classification and regression); midway one slot is cleared and refilled with a new trial, and
 * at the end that slot is stepped alone (what the executor does with freed slots). In strict FP32
 * mode (bt_nn_blas_set_default_math) failure flags, epochs and step counts must be equal,
 * train losses and every weight and running variance within 2e-3 relative (float sums in other
 * orders over 40+ optimizer steps), validation metrics within 2e-3 (3e-2 with batch norm: they
 * read the running means, see run) and accuracy within 3 (5) validation rows. Then: the same GPU
 * run twice is bit-identical; so is a GPU pack resumed from snapshots (slot_save, a new pack,
 * slot_restore) against one never interrupted; a trial alone in a GPU pack of one matches its
 * packed self; TF32
 * (the default) and BF16 learn the same (median trial's loss metric within 10 %, accuracies
 * within 0.1). First, the pointer table's alignment check (test_alignment): the padded layout
 * keeps TF32 / BF16, the old one falls back to FP32 and still runs, a pointer that is not
 * float-aligned is an error; on the device emulation the old layout's GEMM in TF32 / BF16 faults
 * as on a GPU (two "emu cublasGemmBatchedEx ... not 16-byte aligned" lines on stderr). SKIP (77)
 * without a GPU. The comparison logic also passes with the CPU pack on both sides. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/philox.h"
#include "models/nn/nn.h"
#include "tests/bt_test.h"
#include "tests/cuda/gpu_skip.h"
#include "tests/nn_snapshot_check.h"
#include "tests/test_rng.h"

#if BT_HAVE_CUDA
#include <cuda_runtime.h>

#include "kernels/nn_blas.h"
#include "kernels/nn_linear.h"
#include "models/nn/cuda/common.h"
#ifdef BT_EMU_CUDA_RUNTIME_H /* the device emulation: its strict cuBLAS can be made to fault */
#include "tests/emu/emu.h"
#endif

#define TRIALS 13 /* 12 start; the 13th refills slot 3 */
#define SLOTS 12
#define EPOCHS 4

static double gauss(void) {
    double u = urand() + 1e-12, v = urand();
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* Three Gaussian blobs in 6 dimensions (classification) or a noisy nonlinear target. */
static void make_data(bt_dataset *d, int64_t n, int reg) {
    memset(d, 0, sizeof *d);
    d->n_rows = n;
    d->n_features = 6;
    d->X = malloc((size_t)n * 6 * sizeof(float));
    d->y = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        int c = (int)(i % 3);
        double s = 0;
        for (int f = 0; f < 6; f++) {
            double x = gauss() + (reg ? 0 : (f == c ? 2.0 : 0.0));
            d->X[i * 6 + f] = (float)(x * 10 + 5);
            s += (f + 1) * x;
        }
        d->y[i] = reg ? (float)(3 * sin(s / 4) + s + 0.1 * gauss() + 100) : (float)c;
    }
}

static void random_trial(const bt_value *shape, bt_value *v, int k) {
    static const char *const opts[] = {"sgd", "adam", "adamw", "rmsprop"};
    static const char *const sched[] = {"constant", "step", "cosine"};
    memcpy(v, shape, sizeof(bt_value) * BT_MLP_N_PARAMS);
    v[BT_MLP_OPTIMIZER] = bt_value_string(opts[k % 4]);
    v[BT_MLP_LR] = bt_value_float(k % 4 == 0 ? 0.01 + 0.05 * urand() : 0.001 + 0.01 * urand());
    v[BT_MLP_MOMENTUM] = bt_value_float(urand() < 0.3 ? 0.0 : 0.9);
    v[BT_MLP_NESTEROV] = bt_value_bool(k % 8 == 0);
    v[BT_MLP_DROPOUT] = bt_value_float(urand() < 0.4 ? 0.0 : 0.3 * urand());
    v[BT_MLP_LR_SCHEDULE] = bt_value_string(sched[(k / 4) % 3]);
    v[BT_MLP_WARMUP_EPOCHS] = bt_value_int(k % 3 == 2);
    v[BT_MLP_STEP_SIZE] = bt_value_int(2);
    v[BT_MLP_LABEL_SMOOTHING] = bt_value_float(urand() < 0.5 ? 0.0 : 0.1);
    v[BT_MLP_WEIGHT_DECAY] = bt_value_float(urand() < 0.5 ? 0.0 : 1e-3);
    v[BT_MLP_EPOCHS] = bt_value_int(EPOCHS);
    if (k == 5) { /* diverges */
        v[BT_MLP_OPTIMIZER] = bt_value_string("sgd");
        v[BT_MLP_LR] = bt_value_float(1e30);
        v[BT_MLP_MOMENTUM] = bt_value_float(0.99);
    }
}

static unsigned char *cmp_mask; /* parameters compared across devices (see run) */
static unsigned char *run_mask; /* running statistics compared (the variances) */

typedef struct result {
    int failed;
    int64_t epoch, t;
    double metric[BT_NN_M_COUNT], train_loss;
    float *w, *run;
} result;

static void results_free(result *r, int n) {
    for (int i = 0; i < n; i++) {
        free(r[i].w);
        free(r[i].run);
    }
}

/* Runs the scenario on vt: trials 0..11 in slots 0..11 (or only `only` in slot 0 of a pack of
 * one when only >= 0), EPOCHS epochs with the list order rotating; after epoch 2 slot 3 gets
 * trial 12; finally slot 3 steps alone once. out[slot]: each slot's final state. */
static int run(const bt_pack_ops *vt, bt_model_data *data, const bt_value *shape,
               const bt_value *trials, const uint64_t *keys, int only, result *out) {
    bt_hparams sh = {shape};
    bt_pack *p = NULL;
    const int cap = only >= 0 ? 1 : SLOTS;
    CHECK_OK(vt->pack_init(&p, data, &sh, cap));
    if (!p) return 0;
    int slots[SLOTS];
    for (int k = 0; k < cap; k++) {
        int trial = only >= 0 ? only : k;
        bt_hparams h = {trials + (size_t)trial * BT_MLP_N_PARAMS};
        CHECK_OK(vt->slot_start(p, k, &h, keys[trial]));
        slots[k] = k;
    }
    for (int e = 0; e < EPOCHS; e++) {
        if (e == 2 && only < 0) {
            vt->slot_clear(p, 3);
            bt_hparams h = {trials + (size_t)12 * BT_MLP_N_PARAMS};
            CHECK_OK(vt->slot_start(p, 3, &h, keys[12]));
        }
        int order[SLOTS];
        for (int i = 0; i < cap; i++) order[i] = slots[(i + e) % cap];
        CHECK_OK(vt->step(p, order, cap));
    }
    if (only < 0) {
        int alone = 3;
        CHECK_OK(vt->step(p, &alone, 1));
    }
    const int cuda = vt != &bt_mlp_cpu_packs;
    const size_t P = (size_t)p->n_params, R = (size_t)2 * (size_t)p->H * (size_t)p->D;
    for (int k = 0; k < cap; k++) {
        bt_mlp_slot *s = p->slots[k];
        if (cuda) CHECK_OK(bt_mlp_cuda_slot_download(p, k));
        result *r = &out[k];
        r->failed = vt->slot_failed(p, k);
        r->epoch = s->epoch;
        r->t = s->t;
        memcpy(r->metric, s->metric, sizeof r->metric);
        r->train_loss = s->train_loss;
        r->w = malloc(P * sizeof(float));
        r->run = malloc((R ? R : 1) * sizeof(float));
        memcpy(r->w, s->w, P * sizeof(float));
        if (R) memcpy(r->run, s->run, R * sizeof(float));
    }
    /* With batch norm after a linear layer, that layer's bias has an exactly zero gradient in
     * exact arithmetic: what is left is rounding noise, which Adam and RMSprop normalize into
     * full-size steps of either sign. Those biases (and the running means that follow them) are
     * noise on both devices, so the comparison leaves them out; nothing downstream depends on
     * them in training. */
    free(cmp_mask);
    cmp_mask = malloc(P ? P : 1);
    memset(cmp_mask, 1, P);
    for (int l = 0; p->bn && l < p->D; l++)
        memset(cmp_mask + p->b_off[l], 0, (size_t)p->out_dim[l]);
    free(run_mask);
    run_mask = malloc(R ? R : 1);
    for (size_t i = 0; i < R; i++) run_mask[i] = (i / (size_t)p->H) % 2 == 1;
    int np = (int)p->n_params;
    vt->pack_free(p);
    return np;
}

/* ||a - b|| / ||b|| over the elements whose mask entry is set (mask NULL: all). */
static double rel_norm(const float *a, const float *b, size_t n, const unsigned char *mask) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (mask && !mask[i]) continue;
        double d = (double)a[i] - (double)b[i];
        if (!isfinite(d)) return INFINITY;
        num += d * d;
        den += (double)b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static int close_rel(double a, double b, double rel) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return fabs(a - b) <= 1e-6 + rel * fmax(fabs(a), fabs(b));
}

/* GPU result g against CPU result c of one slot. */
static void compare(const char *what, int k, const result *g, const result *c, size_t P, size_t R,
                    int reg, double nv, double tol, double mtol, double acc_rows) {
    CHECK_MSG(g->failed == c->failed, "%s slot %d: failed %d (gpu) vs %d (cpu)", what, k, g->failed,
              c->failed);
    CHECK_MSG(g->epoch == c->epoch && g->t == c->t,
              "%s slot %d: epoch %lld t %lld (gpu) vs epoch %lld t %lld (cpu)", what, k,
              (long long)g->epoch, (long long)g->t, (long long)c->epoch, (long long)c->t);
    if (c->failed) return;
    /* Where the two trajectories drifted apart (a ReLU input near 0 rounds to the other side,
     * which RMSprop's normalization turns into a full step), the validation metrics may differ
     * by more than the weights: they get 10x the weights' normwise difference on top of mtol. */
    double ew = rel_norm(g->w, c->w, P, cmp_mask);
    mtol += 10.0 * ew;
    if (reg) {
        CHECK_MSG(close_rel(g->metric[BT_NN_M_MSE], c->metric[BT_NN_M_MSE], mtol),
                  "%s slot %d: mse %.9g vs %.9g", what, k, g->metric[BT_NN_M_MSE],
                  c->metric[BT_NN_M_MSE]);
        CHECK_MSG(close_rel(g->metric[BT_NN_M_MAE], c->metric[BT_NN_M_MAE], mtol),
                  "%s slot %d: mae %.9g vs %.9g", what, k, g->metric[BT_NN_M_MAE],
                  c->metric[BT_NN_M_MAE]);
    } else {
        CHECK_MSG(fabs(g->metric[BT_NN_M_ACCURACY] - c->metric[BT_NN_M_ACCURACY]) <=
                      acc_rows / nv + 1e-12,
                  "%s slot %d: accuracy %.6f vs %.6f", what, k, g->metric[BT_NN_M_ACCURACY],
                  c->metric[BT_NN_M_ACCURACY]);
        CHECK_MSG(close_rel(g->metric[BT_NN_M_LOGLOSS], c->metric[BT_NN_M_LOGLOSS], mtol),
                  "%s slot %d: mlogloss %.9g vs %.9g", what, k, g->metric[BT_NN_M_LOGLOSS],
                  c->metric[BT_NN_M_LOGLOSS]);
    }
    CHECK_MSG(close_rel(g->train_loss, c->train_loss, tol), "%s slot %d: train loss %.9g vs %.9g",
              what, k, g->train_loss, c->train_loss);
    CHECK_MSG(ew <= tol, "%s slot %d: weights differ by %.3g (normwise, bound %.3g)", what, k, ew,
              tol);
    if (R) { /* running variances only: the means follow the noisy biases */
        double er = rel_norm(g->run, c->run, R, run_mask);
        CHECK_MSG(er <= tol, "%s slot %d: running statistics differ by %.3g", what, k, er);
    }
}

/* Ascending insertion sort of a dozen values. */
static void sort_small(double *v, int n) {
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

/* The scenario on the GPU pack in a fast math mode against the FP32 CPU results cpu[]. Rounding
 * perturbs every product (TF32 ~1e-3, BF16 ~1e-2), and 40+ steps amplify that differently per
 * trial (a trial at an unstable learning rate may take another path altogether), so the checks
 * are on the median trial: loss metric within `bound` (relative) of the CPU's, accuracy within
 * 0.1; no trial fails that does not fail on the CPU. */
static void fast_mode(const char *what, bt_nn_math math, double bound, const bt_pack_ops *cvt,
                      bt_model_data *data, const bt_value *shape, const bt_value *trials,
                      const uint64_t *keys, int reg, const result *cpu) {
    const char *name = math == BT_NN_MATH_BF16 ? "BF16" : "TF32";
    result fast[SLOTS];
    memset(fast, 0, sizeof fast);
    bt_nn_blas_set_default_math(math);
    run(cvt, data, shape, trials, keys, -1, fast);
    double rel[SLOTS], dacc[SLOTS];
    int nr = 0, na = 0;
    for (int k = 0; k < SLOTS; k++) {
        if (cpu[k].failed) continue;
        CHECK_MSG(!fast[k].failed, "%s slot %d: failed in %s only", what, k, name);
        int m = reg ? BT_NN_M_MSE : BT_NN_M_LOGLOSS;
        rel[nr++] = fabs(fast[k].metric[m] - cpu[k].metric[m]) / fmax(cpu[k].metric[m], 1e-12);
        if (!reg)
            dacc[na++] = fabs(fast[k].metric[BT_NN_M_ACCURACY] - cpu[k].metric[BT_NN_M_ACCURACY]);
    }
    sort_small(rel, nr);
    sort_small(dacc, na);
    if (nr > 0)
        CHECK_MSG(rel[nr / 2] <= bound, "%s: %s median relative metric difference %.3g", what, name,
                  rel[nr / 2]);
    if (na > 0)
        CHECK_MSG(dacc[na / 2] <= 0.1, "%s: %s median accuracy difference %.3g", what, name,
                  dacc[na / 2]);
    printf("%s: %s vs the FP32 CPU: median relative metric difference %.3g\n", what, name,
           nr > 0 ? rel[nr / 2] : 0.0);
    results_free(fast, SLOTS);
}

/* One linear layer forward (1 row, 2 -> 5) of 3 positions whose weights start P floats apart in
 * k->w, inputs and outputs 12 floats apart in k->m and k->v: the GEMM the alignment rules are
 * about. Returns the status of the launch and, in *sync, the stream's synchronization. */
static bt_status tiny_linear(bt_nn_cuda_core *k, size_t P, cudaError_t *sync) {
    size_t at = 0;
    const size_t W = bt_nn_cuda_tab_slot(k, &at, k->w, P, 0, 3);
    const size_t X = bt_nn_cuda_tab_slot(k, &at, k->m, 12, 0, 3);
    const size_t Y = bt_nn_cuda_tab_slot(k, &at, k->v, 12, 0, 3);
    bt_status st = bt_nn_cuda_tab_gemm(k, W, 3, "test weights");
    if (st == BT_STATUS_OK) st = bt_nn_cuda_tab_upload(k, at, "test");
    if (st == BT_STATUS_OK)
        st = bt_nn_linear_fwd_cuda(k->blas, 3, 1, 2, 5, BT_NN_CFP(k, X), BT_NN_CFP(k, W), NULL,
                                   BT_NN_FP(k, Y));
    *sync = cudaStreamSynchronize(k->stream);
    return st;
}

/* The pointer table's alignment check (bt_nn_cuda_tab_gemm) on a core of 3 slots of 12 floats:
 * 16-byte aligned operands leave the math mode alone; the old layout's stride of 10 floats (slot 1
 * at 40 bytes) and a base one float off make a TF32 or BF16 handle fall back to FP32 with a note,
 * and the GEMM then runs (on a GPU too: FP32 takes 4-byte alignment); a pointer that is not even
 * float-aligned is an error. On the emulation the same GEMM in TF32 / BF16 faults as cuBLAS would:
 * a sticky cudaErrorMisalignedAddress, every later launch refused. */
static void test_alignment(void) {
    bt_nn_cuda_core k;
    memset(&k, 0, sizeof k);
    CHECK_OK(bt_nn_cuda_core_init(&k, 12, 0, 4, 4, 4, 0, "alignment test"));
    CHECK_OK(bt_nn_cuda_core_alloc(&k, 3, 16, "alignment test"));
    if (!k.blas || !k.htab) {
        bt_nn_cuda_core_free(&k);
        return;
    }
    CHECK(cudaMemset(k.w, 0, 36 * sizeof(float)) == cudaSuccess &&
          cudaMemset(k.m, 0, 36 * sizeof(float)) == cudaSuccess &&
          cudaDeviceSynchronize() == cudaSuccess);
    for (int i = 0; i < 3; i++) k.slot_of[i] = i;
    cudaError_t sync = cudaSuccess;
    for (int m = 0; m < 2; m++) {
        const bt_nn_math fast = m ? BT_NN_MATH_BF16 : BT_NN_MATH_TF32;
        /* the padded layout: every slot's block 16-byte aligned, the mode stays */
        bt_nn_blas_set_math(k.blas, fast);
        k.math_note[0] = 0;
        CHECK_OK(tiny_linear(&k, 12, &sync));
        CHECK_MSG(sync == cudaSuccess, "aligned GEMM: %s", cudaGetErrorString(sync));
        CHECK(bt_nn_blas_math(k.blas) == fast && k.math_note[0] == 0);
        /* the old layout's odd stride: FP32 for good, with the reason; the GEMM runs */
        CHECK_OK(tiny_linear(&k, 10, &sync));
        CHECK_MSG(sync == cudaSuccess, "GEMM after the FP32 fallback: %s",
                  cudaGetErrorString(sync));
        CHECK(bt_nn_blas_math(k.blas) == BT_NN_MATH_FP32);
        CHECK_MSG(strstr(k.math_note, "test weights of position 1") &&
                      strstr(k.math_note, m ? "instead of BF16" : "instead of TF32"),
                  "math note: \"%s\"", k.math_note);
        /* a base one float off */
        bt_nn_blas_set_math(k.blas, fast);
        k.math_note[0] = 0;
        size_t at = 0;
        size_t o = bt_nn_cuda_tab_pos(&k, &at, k.w + 1, 0, 2);
        CHECK_OK(bt_nn_cuda_tab_gemm(&k, o, 2, "shifted"));
        CHECK(bt_nn_blas_math(k.blas) == BT_NN_MATH_FP32 && strstr(k.math_note, "shifted"));
    }
    /* not even float-aligned: no mode takes it */
    size_t at = 0;
    size_t o = bt_nn_cuda_tab_pos(&k, &at, (char *)k.w + 2, 0, 1);
    CHECK(bt_nn_cuda_tab_gemm(&k, o, 1, "odd bytes") == BT_STATUS_INTERNAL &&
          strstr(bt_status_message(), "odd bytes of position 0") &&
          strstr(bt_status_message(), "not float-aligned"));
#ifdef BT_EMU_CUDA_RUNTIME_H
    /* the GPU's failure, emulated: the old layout's GEMM run in TF32 / BF16 anyway */
    for (int m = 0; m < 2; m++) {
        size_t at2 = 0;
        const size_t W = bt_nn_cuda_tab_slot(&k, &at2, k.w, 10, 0, 3);
        const size_t X = bt_nn_cuda_tab_slot(&k, &at2, k.m, 12, 0, 3);
        const size_t Y = bt_nn_cuda_tab_slot(&k, &at2, k.v, 12, 0, 3);
        CHECK_OK(bt_nn_cuda_tab_upload(&k, at2, "test"));
        bt_nn_blas_set_math(k.blas, m ? BT_NN_MATH_BF16 : BT_NN_MATH_TF32);
        CHECK_OK(bt_nn_linear_fwd_cuda(k.blas, 3, 1, 2, 5, BT_NN_CFP(&k, X), BT_NN_CFP(&k, W), NULL,
                                       BT_NN_FP(&k, Y))); /* asynchronous: not seen yet */
        CHECK(cudaStreamSynchronize(k.stream) == cudaErrorMisalignedAddress);
        CHECK(cudaDeviceSynchronize() == cudaErrorMisalignedAddress);
        CHECK(cudaGetLastError() == cudaErrorMisalignedAddress); /* sticky: not cleared */
        CHECK(cudaGetLastError() == cudaErrorMisalignedAddress);
        CHECK(bt_nn_linear_fwd_cuda(k.blas, 3, 1, 2, 5, BT_NN_CFP(&k, X), BT_NN_CFP(&k, W), NULL,
                                    BT_NN_FP(&k, Y)) != BT_STATUS_OK);
        bt_emu_set_sticky_error(cudaSuccess); /* what only a new process does on a GPU */
        cudaGetLastError();
    }
#endif
    bt_nn_cuda_core_free(&k);
}

static void test_shape(int reg, int width, int depth, const char *act, int bn, int batch) {
    bt_dataset tr, va;
    make_data(&tr, 300, reg);
    make_data(&va, 90, reg);
    bt_model_data data = {.train = &tr,
                          .valid = &va,
                          .task = reg ? BT_TASK_REGRESSION : BT_TASK_MULTICLASS,
                          .n_classes = reg ? 0 : 3,
                          .threads = 1};
    bt_value shape[BT_MLP_N_PARAMS];
    for (int i = 0; i < BT_MLP_N_PARAMS; i++) shape[i] = bt_mlp_params[i].def;
    shape[BT_MLP_OBJECTIVE] = bt_value_string(reg ? "regression" : "classification");
    shape[BT_MLP_WIDTH] = bt_value_int(width);
    shape[BT_MLP_DEPTH] = bt_value_int(depth);
    shape[BT_MLP_ACTIVATION] = bt_value_string(act);
    shape[BT_MLP_BATCH_NORM] = bt_value_bool(bn);
    shape[BT_MLP_BATCH_SIZE] = bt_value_int(batch);
    bt_value *trials = malloc(sizeof(bt_value) * BT_MLP_N_PARAMS * TRIALS);
    uint64_t keys[TRIALS];
    for (int k = 0; k < TRIALS; k++) {
        random_trial(shape, trials + (size_t)k * BT_MLP_N_PARAMS, k);
        keys[k] = bt_philox_key(bt_test_rng, (uint64_t)k);
    }
    const bt_pack_ops *cvt = &bt_mlp_cuda_packs;
    CHECK(cvt != &bt_mlp_cpu_packs && cvt->concurrent_steps == 1);
    if (!cvt) return;
    char what[128];
    snprintf(what, sizeof what, "%s w%d d%d %s bn%d b%d", reg ? "reg" : "cls", width, depth, act,
             bn, batch);
    const size_t R = (size_t)2 * (size_t)width * (size_t)depth;
    const double nv = (double)va.n_rows;
    result cpu[SLOTS], gpu[SLOTS], gpu2[SLOTS], one[1];
    memset(cpu, 0, sizeof cpu);
    memset(gpu, 0, sizeof gpu);
    memset(gpu2, 0, sizeof gpu2);
    memset(one, 0, sizeof one);
    /* strict FP32 against the CPU */
    bt_nn_blas_set_default_math(BT_NN_MATH_FP32);
    size_t P = (size_t)run(&bt_mlp_cpu_packs, &data, shape, trials, keys, -1, cpu);
    run(cvt, &data, shape, trials, keys, -1, gpu);
    /* validation metrics read the running means, which follow the noisy pre-batch-norm biases */
    const double mtol = bn ? 3e-2 : 2e-3, rows = bn ? 5 : 3;
    /* RMSprop (slots k % 4 == 3) with momentum divides each gradient by its own running RMS,
     * so a ReLU input that rounds to the other side of 0 on one device becomes a full-size step
     * there: its trajectories drift apart about ten times as far (seen up to 9e-3 normwise after
     * the test's epochs, against 1e-7 for the other optimizers on the same seeds). */
    for (int k = 0; k < SLOTS; k++)
        compare(what, k, &gpu[k], &cpu[k], P, R, reg, nv, k % 4 == 3 ? 2e-2 : 2e-3, mtol, rows);
    if (depth > 0 || reg) /* a linear softmax model's logits grow without overflowing */
        CHECK_MSG(cpu[5].failed && gpu[5].failed, "%s: the lr 1e30 trial diverged", what);
    CHECK_MSG(cpu[3].epoch == EPOCHS - 2 + 1, "%s: the refilled slot trained %lld epochs", what,
              (long long)cpu[3].epoch);
    /* the same GPU run again: bit-identical (cuBLAS is deterministic for a given configuration,
     * the kernels have fixed summation orders) */
    run(cvt, &data, shape, trials, keys, -1, gpu2);
    for (int k = 0; k < SLOTS; k++) {
        CHECK_MSG(gpu2[k].failed == gpu[k].failed &&
                      memcmp(gpu2[k].metric, gpu[k].metric, sizeof gpu[k].metric) == 0 &&
                      memcmp(gpu2[k].w, gpu[k].w, P * sizeof(float)) == 0,
                  "%s slot %d: two GPU runs differ", what, k);
    }
    /* trial 0 alone in a pack of one: its packed result (cuBLAS may pick another kernel for
     * another batch count, so close rather than identical; exactness is reported) */
    run(cvt, &data, shape, trials, keys, 0, one);
    compare("alone vs packed", 0, &one[0], &gpu[0], P, R, reg, nv, 1e-4, bn ? 1e-2 : 1e-4, 2);
    printf("%s: trial 0 alone vs packed on the GPU: %s\n", what,
           memcmp(one[0].w, gpu[0].w, P * sizeof(float)) == 0 ? "bit-identical" : "close");
    /* TF32 (the default mode) and BF16: the same training within a loose bound; both run every
     * GEMM on operands that must be 16-byte aligned (the emulation's cuBLAS faults otherwise) */
    fast_mode(what, BT_NN_MATH_TF32, 0.1, cvt, &data, shape, trials, keys, reg, cpu);
    fast_mode(what, BT_NN_MATH_BF16, 0.1, cvt, &data, shape, trials, keys, reg, cpu);
    bt_nn_blas_set_default_math(BT_NN_MATH_FP32);
    /* a snapshot resume of the GPU pack ends bit-identical (first shape only: the device
     * emulation is slow) */
    static int snapshot_checked = 0;
    if (!snapshot_checked++) {
        const bt_value *pair[2] = {trials + (size_t)BT_MLP_N_PARAMS,
                                   trials + (size_t)2 * BT_MLP_N_PARAMS};
        const uint64_t pair_keys[2] = {keys[1], keys[2]};
        CHECK(check_snapshot_resume(what, cvt, &data, pair, pair_keys, 2, 1) == 2);
    }
    results_free(cpu, SLOTS);
    results_free(gpu, SLOTS);
    results_free(gpu2, SLOTS);
    results_free(one, 1);
    free(trials);
    if (cvt->data_release) cvt->data_release(&data);
    bt_mlp_family.data_free(&data);
    bt_dataset_free(&tr);
    bt_dataset_free(&va);
}

int main(void) {
    /* offered to sweeps only with execution.gpu_packs "all" until verified on a GPU */
    CHECK(bt_mlp_cuda_packs.experimental == 1 && bt_mlp_cpu_packs.experimental == 0);
    BT_GPU_TEST_GATE("test_nn_mlp_pack_cuda");
    const char *s = getenv("BT_TEST_SEED");
    uint64_t seed = s && *s ? strtoull(s, NULL, 10) : (uint64_t)time(NULL);
    printf("test_nn_mlp_pack_cuda: seed %llu (BT_TEST_SEED replays it)\n",
           (unsigned long long)seed);
    bt_test_rng_seed(seed);
    test_alignment();
    test_shape(0, 16, 2, "relu", 0, 32);
    test_shape(0, 24, 1, "gelu", 1, 64);
    test_shape(1, 16, 2, "tanh", 1, 32);
    test_shape(0, 8, 0, "relu", 0, 300);
    return bt_test_finish("test_nn_mlp_pack_cuda");
}

#else

int main(void) {
    /* built without CUDA: the CUDA pack does not exist here */
    printf("SKIP: built without CUDA\n");
    return 77;
}

#endif
