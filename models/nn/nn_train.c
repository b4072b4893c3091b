/* One nn trial's training state and the epoch both families run: a slot's optimizer and schedule
 * from the shared parameter block, the per-epoch learning rate and row order, the classification
 * metrics, and the epoch driver (shuffle, mini-batches, divergence check, optimizer update,
 * evaluation) around a family's forward/backward and evaluation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/class_scores.h"
#include "kernels/nn_softmax_ce.h"
#include "kernels/nn_train.h"
#include "kernels/philox.h"
#include "models/nn/nn.h"

void bt_nn_slot_free(bt_nn_slot *s) {
    if (!s) return;
    free(s->w);
    free(s->g);
    free(s->m);
    free(s->v);
    free(s->run);
    free(s->perm);
    free(s);
}

static int schedule_of(const char *name) {
    if (name && strcmp(name, "step") == 0) return 1;
    if (name && strcmp(name, "cosine") == 0) return 2;
    return 0;
}

bt_status bt_nn_slot_new(bt_nn_slot **out, const bt_value *c, uint64_t key, int64_t n_params,
                         int64_t n_run, int64_t n_train) {
    *out = NULL;
    const char *oname = c[BT_NN_C_OPTIMIZER].s;
    int nesterov = oname && strcmp(oname, "nesterov") == 0;
    int opt = nesterov ? BT_NN_OPT_SGD : bt_nn_opt_from_name(oname);
    if (opt < 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "optimizer: unknown \"%s\"", oname ? oname : "(null)");
    if (!(c[BT_NN_C_LR].f > 0))
        return BT_FAIL(BT_STATUS_BAD_INPUT, "lr: must be > 0, got %g", c[BT_NN_C_LR].f);
    bt_nn_slot *s = calloc(1, sizeof *s);
    BT_CHECK_ALLOC(s);
    const size_t P = (size_t)(n_params > 0 ? n_params : 1);
    /* zeroed: the alignment gaps of the layout (kernels/nn_blas.h) are never written by a layer,
     * so their gradient and weight stay 0 and the optimizer leaves them 0 */
    s->w = calloc(P, sizeof(float));
    s->g = calloc(P, sizeof(float));
    s->m = calloc(P, sizeof(float));
    s->v = calloc(P, sizeof(float));
    s->run = malloc((size_t)(n_run > 0 ? n_run : 1) * sizeof(float));
    s->perm = malloc((size_t)(n_train > 0 ? n_train : 1) * sizeof *s->perm);
    if (!s->w || !s->g || !s->m || !s->v || !s->run || !s->perm) {
        bt_nn_slot_free(s);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory starting a trial");
    }
    s->key = bt_philox_key(key, (uint64_t)c[BT_NN_C_SEED].i);
    s->opt.kind = (bt_nn_opt)opt;
    s->opt.momentum = (float)c[BT_NN_C_MOMENTUM].f;
    s->opt.nesterov = nesterov || c[BT_NN_C_NESTEROV].i != 0;
    s->opt.beta1 = (float)c[BT_NN_C_BETA1].f;
    s->opt.beta2 = (float)c[BT_NN_C_BETA2].f;
    s->opt.alpha = (float)c[BT_NN_C_ALPHA].f;
    s->opt.eps = (float)c[BT_NN_C_EPS].f;
    s->opt.weight_decay = (float)c[BT_NN_C_WEIGHT_DECAY].f;
    s->lr = c[BT_NN_C_LR].f;
    s->schedule = schedule_of(c[BT_NN_C_LR_SCHEDULE].s);
    s->warmup = c[BT_NN_C_WARMUP_EPOCHS].i;
    s->step_size = c[BT_NN_C_STEP_SIZE].i > 0 ? c[BT_NN_C_STEP_SIZE].i : 1;
    s->gamma = c[BT_NN_C_GAMMA].f;
    s->horizon = c[BT_NN_C_T_MAX].i > 0 ? c[BT_NN_C_T_MAX].i : c[BT_NN_C_EPOCHS].i;
    s->smoothing = (float)c[BT_NN_C_LABEL_SMOOTHING].f;
    for (int m = 0; m < BT_NN_M_COUNT; m++) s->metric[m] = NAN;
    s->train_loss = NAN;
    *out = s;
    return BT_STATUS_OK;
}

double bt_nn_lr_at(const bt_nn_slot *s, int64_t e) {
    if (e < s->warmup) return s->lr * (double)(e + 1) / (double)s->warmup;
    int64_t k = e - s->warmup;
    switch (s->schedule) {
    case 1:
        return s->lr * pow(s->gamma, (double)(k / s->step_size));
    case 2: {
        int64_t T = s->horizon - s->warmup;
        if (T <= 0 || k >= T) return 0.0;
        return s->lr * 0.5 * (1.0 + cos(3.14159265358979323846 * (double)k / (double)T));
    }
    default:
        return s->lr;
    }
}

/* An epoch's order never depends on earlier ones: each is drawn afresh from the identity. */
void bt_nn_shuffle(int32_t *perm, int64_t n, uint64_t key, int64_t e) {
    for (int64_t i = 0; i < n; i++) perm[i] = (int32_t)i;
    uint64_t stream = (BT_NN_STREAM_SHUFFLE << 32) ^ (uint64_t)e;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(bt_philox_uniform(key, (uint64_t)i, stream) * (double)(i + 1));
        if (j > i) j = i;
        int32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

void bt_nn_class_metrics_add(int rows, int k, const float *logits, const int32_t *y, float *prob,
                             double *correct, double *logloss, double *counts) {
    bt_nn_class_counts_ref(1, rows, k, &logits, y, counts);
    for (int r = 0; r < rows; r++) {
        const float *z = logits + (size_t)r * (size_t)k;
        bt_nn_softmax_ref(1, k, z, prob);
        int32_t best = 0;
        for (int32_t j = 1; j < k; j++)
            if (z[j] > z[best]) best = j;
        *correct += best == y[r];
        double py = prob[y[r]] > 1e-15f ? prob[y[r]] : 1e-15;
        *logloss -= log(py);
    }
}

/* The update of every parameter of the n slots. Parameters are independent, so chunks of them
 * run on any thread with the same result. */
static void update(const bt_nn_epoch_ops *ops, bt_nn_slot *const *act, int n) {
    enum { CHUNK = 1 << 14 };
    const int64_t P = ops->n_params, nc = (P + CHUNK - 1) / CHUNK;
    const int64_t items = nc * n;
    int nt = ops->threads > 1 && items > 1 ? ops->threads : 1;
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int64_t it = 0; it < items; it++) {
        bt_nn_slot *s = act[it / nc];
        int64_t lo = (it % nc) * CHUNK, len = P - lo < CHUNK ? P - lo : CHUNK;
        float *w = s->w + lo, *m = s->m + lo, *v = s->v + lo;
        const float *g = s->g + lo;
        bt_nn_optim_step_ref(1, len, &s->opt, &s->t, &w, &g, &m, &v);
    }
}

bt_status bt_nn_run_epoch(const bt_nn_epoch_ops *ops, bt_nn_slot **act, int n) {
    const int64_t N = ops->n_train, B = ops->batch;
    const size_t cap = (size_t)(n > 0 ? n : 1);
    const int32_t **idx = malloc(cap * sizeof *idx);
    double *loss = malloc(cap * sizeof *loss), *loss_sum = calloc(cap, sizeof *loss_sum);
    if (!idx || !loss || !loss_sum) {
        free(idx);
        free(loss);
        free(loss_sum);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for an epoch");
    }
    for (int i = 0; i < n; i++) {
        bt_nn_slot *s = act[i];
        bt_nn_shuffle(s->perm, N, s->key, s->epoch);
        s->opt.lr = (float)bt_nn_lr_at(s, s->epoch);
    }
    int64_t n_batches = (N + B - 1) / B;
    for (int64_t b = 0; b < n_batches && n > 0; b++) {
        int rows = (int)(N - b * B < B ? N - b * B : B);
        for (int i = 0; i < n; i++) idx[i] = act[i]->perm + b * B;
        ops->fwd_bwd(ops->ctx, act, n, idx, rows, (uint32_t)b, loss);
        /* a slot whose loss is no longer finite has diverged: it leaves the pack's work */
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (!isfinite(loss[i])) {
                act[i]->failed = 1;
                continue;
            }
            loss_sum[k] = loss_sum[i] + loss[i] * rows;
            act[k++] = act[i];
        }
        n = k;
        for (int i = 0; i < n; i++) act[i]->t++;
        update(ops, act, n);
    }
    for (int i = 0; i < n; i++) {
        act[i]->epoch++;
        act[i]->train_loss = loss_sum[i] / (double)N;
    }
    if (n > 0) ops->evaluate(ops->ctx, act, n);
    free(idx);
    free(loss);
    free(loss_sum);
    return BT_STATUS_OK;
}

bt_status bt_nn_active_slots(bt_nn_slot *const *slots, int capacity, const int *list, int n_list,
                             bt_nn_slot ***act, int *n) {
    *act = malloc((size_t)(n_list > 0 ? n_list : 1) * sizeof **act);
    *n = 0;
    BT_CHECK_ALLOC(*act);
    for (int i = 0; i < n_list; i++) {
        int sl = list[i];
        if (sl < 0 || sl >= capacity || !slots[sl]) {
            free(*act);
            *act = NULL;
            return BT_FAIL(BT_STATUS_INTERNAL, "step: slot %d is not started", sl);
        }
        if (!slots[sl]->failed) (*act)[(*n)++] = slots[sl];
    }
    return BT_STATUS_OK;
}

void bt_nn_class_metrics_set(bt_nn_slot *s, double correct, double logloss, const double *counts,
                             int k, int64_t n) {
    s->metric[BT_NN_M_F1] = bt_class_score_of(BT_CLASS_F1, counts, k);
    s->metric[BT_NN_M_PRECISION] = bt_class_score_of(BT_CLASS_PRECISION, counts, k);
    s->metric[BT_NN_M_RECALL] = bt_class_score_of(BT_CLASS_RECALL, counts, k);
    s->metric[BT_NN_M_ACCURACY] = correct / (double)n;
    s->metric[BT_NN_M_LOGLOSS] = logloss / (double)n;
    if (!isfinite(s->metric[BT_NN_M_LOGLOSS])) s->failed = 1;
}
