/* The neural-net model families (mlp, resnet): the hyperparameters they share, the per-trial
 * training state (bt_nn_slot: parameters, optimizer state, schedule, metrics), the epoch driver
 * and metric rules both use, the per-dataset cache every pack reads, and the mlp pack's internals,
 * shared by the files of models/nn and by the tests.
 * Ownership: a pack owns its slots and scratch; it borrows the bt_model_data (and the cache in
 * data->shared, owned by the model data and freed by bt_nn_data_free). A bt_nn_slot owns its
 * buffers (bt_nn_slot_free). */
#ifndef BT_NN_H
#define BT_NN_H

#include "kernels/nn_act.h"
#include "kernels/nn_blas.h"
#include "kernels/nn_optim.h"
#include "models/model.h"
#include "models/pack.h"

/* ---- hyperparameters both families share --------------------------------------------------- */

/* Every nn family's table starts with objective and num_class (so task_of is shared) and ends
 * with this block of training parameters, in this order, at the family's own base index. */
enum {
    BT_NN_C_OPTIMIZER = 0,
    BT_NN_C_LR,
    BT_NN_C_MOMENTUM,
    BT_NN_C_NESTEROV,
    BT_NN_C_BETA1,
    BT_NN_C_BETA2,
    BT_NN_C_ALPHA,
    BT_NN_C_EPS,
    BT_NN_C_WEIGHT_DECAY,
    BT_NN_C_LR_SCHEDULE,
    BT_NN_C_WARMUP_EPOCHS,
    BT_NN_C_STEP_SIZE,
    BT_NN_C_GAMMA,
    BT_NN_C_T_MAX,
    BT_NN_C_LABEL_SMOOTHING,
    BT_NN_C_EPOCHS,
    BT_NN_C_SEED,
    BT_NN_C_COUNT
};
enum { BT_NN_P_OBJECTIVE = 0, BT_NN_P_NUM_CLASS = 1 };

/* Indices into bt_mlp_params (same order). */
enum {
    BT_MLP_OBJECTIVE = BT_NN_P_OBJECTIVE,
    BT_MLP_NUM_CLASS = BT_NN_P_NUM_CLASS,
    BT_MLP_WIDTH,
    BT_MLP_DEPTH,
    BT_MLP_ACTIVATION,
    BT_MLP_BATCH_NORM,
    BT_MLP_BATCH_SIZE,
    BT_MLP_DROPOUT,
    BT_MLP_COMMON, /* the shared block starts here */
    BT_MLP_OPTIMIZER = BT_MLP_COMMON + BT_NN_C_OPTIMIZER,
    BT_MLP_LR = BT_MLP_COMMON + BT_NN_C_LR,
    BT_MLP_MOMENTUM = BT_MLP_COMMON + BT_NN_C_MOMENTUM,
    BT_MLP_NESTEROV = BT_MLP_COMMON + BT_NN_C_NESTEROV,
    BT_MLP_BETA1 = BT_MLP_COMMON + BT_NN_C_BETA1,
    BT_MLP_BETA2 = BT_MLP_COMMON + BT_NN_C_BETA2,
    BT_MLP_ALPHA = BT_MLP_COMMON + BT_NN_C_ALPHA,
    BT_MLP_EPS = BT_MLP_COMMON + BT_NN_C_EPS,
    BT_MLP_WEIGHT_DECAY = BT_MLP_COMMON + BT_NN_C_WEIGHT_DECAY,
    BT_MLP_LR_SCHEDULE = BT_MLP_COMMON + BT_NN_C_LR_SCHEDULE,
    BT_MLP_WARMUP_EPOCHS = BT_MLP_COMMON + BT_NN_C_WARMUP_EPOCHS,
    BT_MLP_STEP_SIZE = BT_MLP_COMMON + BT_NN_C_STEP_SIZE,
    BT_MLP_GAMMA = BT_MLP_COMMON + BT_NN_C_GAMMA,
    BT_MLP_T_MAX = BT_MLP_COMMON + BT_NN_C_T_MAX,
    BT_MLP_LABEL_SMOOTHING = BT_MLP_COMMON + BT_NN_C_LABEL_SMOOTHING,
    BT_MLP_EPOCHS = BT_MLP_COMMON + BT_NN_C_EPOCHS,
    BT_MLP_SEED = BT_MLP_COMMON + BT_NN_C_SEED,
    BT_MLP_N_PARAMS
};

extern const bt_model_param bt_mlp_params[BT_MLP_N_PARAMS];
extern const bt_model_family bt_mlp_family;
/* The CPU pack (mlp_pack.c) and the CUDA pack (cuda/mlp_pack.c: part of the CUDA module only). */
extern const bt_pack_ops bt_mlp_cpu_packs, bt_mlp_cuda_packs;

/* Philox stream tags (the counter's high half) of the families' random draws. */
#define BT_NN_STREAM_INIT 0x494e4954ull    /* "INIT": weight init, counter = parameter index */
#define BT_NN_STREAM_SHUFFLE 0x5348554full /* "SHUF" << 32 | epoch: batch order */
#define BT_NN_STREAM_AUG 0x4155474dull     /* "AUGM": resnet crop and flip, see resnet.h */

/* ---- the per-dataset cache ------------------------------------------------------------------ */

/* The cache of data_prepare: features standardized with the train set's mean and std (missing
 * cells become 0, the mean), labels as class ids or standardized targets. A labels-only cache
 * (bt_nn_data_prepare_labels, the resnet's) leaves x_*, mean and std NULL: that family
 * normalizes per channel while it gathers a batch. */
typedef struct bt_nn_shared {
    int regression;
    int32_t n_features, n_out;  /* n_out: classes, or 1 for regression */
    int64_t n_train, n_valid;   /* n_valid: rows metrics are computed on (train when no valid) */
    float *x_train, *x_valid;   /* row-major standardized features */
    int32_t *c_train, *c_valid; /* class ids (classification) */
    float *t_train, *t_valid;   /* standardized targets (regression) */
    float *mean, *std;          /* per feature */
    double y_mean, y_std;       /* regression target scaling */
    void *cuda; /* device copies (models/nn/cuda/mlp_pack.c), released by the CUDA pack ops'
                   data_release */
} bt_nn_shared;

bt_status bt_nn_data_prepare(bt_model_data *data);
bt_status bt_nn_data_prepare_labels(bt_model_data *data);
void bt_nn_data_free(bt_model_data *data);
/* The rows metrics are computed on: the valid set, or the train set when there is none. */
const bt_dataset *bt_nn_eval_set(const bt_model_data *data);

/* ---- one trial's training state ------------------------------------------------------------- */

/* Metrics a slot keeps after each epoch (on the validation rows). */
enum {
    BT_NN_M_ACCURACY = 0,
    BT_NN_M_LOGLOSS,
    BT_NN_M_MSE,
    BT_NN_M_MAE,
    BT_NN_M_F1, /* with precision and recall: kernels/class_scores.h */
    BT_NN_M_PRECISION,
    BT_NN_M_RECALL,
    BT_NN_M_COUNT
};

typedef struct bt_nn_slot {
    uint64_t key;
    bt_nn_optim_hp opt; /* lr is set per epoch by the schedule */
    double lr;          /* base learning rate */
    int schedule;       /* 0 constant, 1 step, 2 cosine */
    int64_t warmup, step_size, horizon;
    double gamma;
    float dropout, smoothing; /* dropout: mlp only */
    int crop_pad, hflip;      /* augmentation: resnet only */
    int64_t epoch;            /* epochs trained */
    int64_t t;                /* optimizer steps taken */
    int failed;
    float *w, *g, *m, *v; /* n_params each */
    float *run;           /* batch-norm running mean and var */
    int32_t *perm;        /* batch order of the current epoch */
    double metric[BT_NN_M_COUNT];
    double train_loss; /* mean batch loss of the last epoch */
} bt_nn_slot;

/* A fresh slot for the shared block `c` (the table's values from its base index on): optimizer
 * ("nesterov" is sgd with Nesterov momentum), schedule, smoothing, key mixed with `seed`; buffers
 * for n_params parameters (w, g, m, v zeroed), n_run running statistics and n_train
 * rows. Metrics read NaN until the first epoch. */
bt_status bt_nn_slot_new(bt_nn_slot **out, const bt_value *c, uint64_t key, int64_t n_params,
                         int64_t n_run, int64_t n_train);
void bt_nn_slot_free(bt_nn_slot *s);
/* Learning rate of slot s for (0-based) epoch e under its schedule. */
double bt_nn_lr_at(const bt_nn_slot *s, int64_t e);
/* Shuffled row order of epoch e (Fisher-Yates from the identity, draws keyed by (key, e)). */
void bt_nn_shuffle(int32_t *perm, int64_t n, uint64_t key, int64_t e);
/* Value of `metric` (accuracy, merror, mlogloss, f1, precision, recall, rmse, mse, mae) for
 * slots[slot] of a pack's `capacity` slots (an internal error when it is not started); NaN once
 * failed. */
bt_status bt_nn_slot_metric(bt_nn_slot *const *slots, int capacity, int slot, const char *metric,
                            double *out);

/* Adds the classification metrics of `rows` logit rows (k classes) with labels y: correct
 * predictions (first largest logit), -log p_y (p clipped at 1e-15) and the class counts behind
 * precision, recall and F1 (3 k doubles, bt_nn_class_counts_ref). prob: k floats. */
void bt_nn_class_metrics_add(int rows, int k, const float *logits, const int32_t *y, float *prob,
                             double *correct, double *logloss, double *counts);

/* Stores a slot's classification metrics from the sums and counts (k classes) of
 * bt_nn_class_metrics_add over n rows; a non-finite log loss marks the slot failed. */
void bt_nn_class_metrics_set(bt_nn_slot *s, double correct, double logloss, const double *counts,
                             int k, int64_t n);

/* Metrics the nn families compute only when a sweep names one (model.h). */
extern const char *const bt_nn_metrics_on_request[];

/* Per-position pointer arrays for the batched kernels: dst[i] = base + i * stride (activations
 * in scratch), or the same offset into each slot's weights, gradients or running statistics. */
static inline const float **bt_nn_cptrs(const float **dst, const float *base, size_t stride,
                                        int n) {
    for (int i = 0; i < n; i++) dst[i] = base + (size_t)i * stride;
    return dst;
}
static inline float **bt_nn_ptrs(float **dst, float *base, size_t stride, int n) {
    for (int i = 0; i < n; i++) dst[i] = base + (size_t)i * stride;
    return dst;
}
static inline const float **bt_nn_wptrs(const float **dst, bt_nn_slot *const *act, int n,
                                        int64_t off) {
    for (int i = 0; i < n; i++) dst[i] = act[i]->w + off;
    return dst;
}
static inline float **bt_nn_gptrs(float **dst, bt_nn_slot *const *act, int n, int64_t off) {
    for (int i = 0; i < n; i++) dst[i] = act[i]->g + off;
    return dst;
}
static inline float **bt_nn_runptrs(float **dst, bt_nn_slot *const *act, int n, int64_t off) {
    for (int i = 0; i < n; i++) dst[i] = act[i]->run + off;
    return dst;
}

/* The family-specific halves of one epoch (bt_nn_run_epoch). */
typedef struct bt_nn_epoch_ops {
    void *ctx;
    int64_t n_train, n_params;
    int batch;   /* rows per mini-batch (the last one may be smaller) */
    int threads; /* OpenMP threads of the optimizer update (1 when the caller threads) */
    /* Forward and backward of positions [0, n): position i trains on rows idx[i][0..rows) of
     * mini-batch `batch`, leaves its gradient in act[i]->g and its mean loss in loss[i]. */
    void (*fwd_bwd)(void *ctx, bt_nn_slot *const *act, int n, const int32_t *const *idx, int rows,
                    uint32_t batch, double *loss);
    /* Validation metrics of the n slots (after their epoch counters moved on). */
    void (*evaluate)(void *ctx, bt_nn_slot *const *act, int n);
} bt_nn_epoch_ops;

/* One epoch of the n slots in act: each slot's shuffle and learning rate, every mini-batch once
 * (forward and backward of all of them, then one optimizer update each), then their metrics. A
 * slot whose batch loss is not finite is marked failed and leaves; act is compacted in place. */
bt_status bt_nn_run_epoch(const bt_nn_epoch_ops *ops, bt_nn_slot **act, int n);

/* The started, not failed slots among list[0..n_list) of a pack's slots, in list order, in a
 * malloc'd array *act (the caller frees it); an unstarted slot is an internal error. */
bt_status bt_nn_active_slots(bt_nn_slot *const *slots, int capacity, const int *list, int n_list,
                             bt_nn_slot ***act, int *n);

/* Vtable rules both families share (parameters 0 and 1 are objective and num_class). */
bt_status bt_nn_task_of(const bt_hparams *hp, bt_task *task, int32_t *n_classes);
const char *bt_nn_default_metric(bt_task task);
int bt_nn_metric_maximize(const char *metric);
int bt_nn_metric_ok(const char *metric, bt_task task);
/* Checks num_class and the shared block c (lr > 0). */
bt_status bt_nn_check_common(const bt_hparams *hp, const bt_value *c, bt_task task);
/* The families' budget_prefix on the common block c: 0 for a cosine schedule over the budget
 * (t_max unset), whose learning rates depend on the number of epochs. */
int bt_nn_budget_prefix(const bt_value *c);

/* ---- snapshots of a slot (models/nn/snapshot.c) --------------------------------------------- */

enum { BT_NN_BLOB_DIMS = 8 };

/* What a snapshot blob must match to be loaded into a pack: the family, its shape (family-defined
 * numbers, e.g. the mlp's features, width, depth, outputs, batch size, activation, batch norm and
 * train rows) and the per-slot block sizes. */
typedef struct bt_nn_blob_shape {
    const char *family;
    int64_t dims[BT_NN_BLOB_DIMS];
    int64_t n_params, n_run;
} bt_nn_blob_shape;

/* Slot s's training state as a malloc'd versioned blob (*buf, *len): parameters, optimizer
 * moments, running statistics (n_run), epoch, step count, failed flag, metrics, train loss. */
bt_status bt_nn_slot_save(const bt_nn_slot *s, const bt_nn_blob_shape *sh, void **buf, size_t *len);
/* Loads a blob of bt_nn_slot_save into s, a slot just started for the same trial (same key):
 * BT_STATUS_BAD_INPUT when the format, family, shape, size or key differ (s is then partly
 * overwritten: the caller clears it). */
bt_status bt_nn_slot_load(bt_nn_slot *s, const bt_nn_blob_shape *sh, const void *buf, size_t len);

/* ---- the mlp pack --------------------------------------------------------------------------- */

typedef bt_nn_slot bt_mlp_slot;

struct bt_pack {
    bt_model_data *data;
    const bt_nn_shared *sh;
    int capacity;
    bt_mlp_slot **slots;
    /* shape */
    int32_t F, H, D, K, B; /* features, width, hidden layers, outputs, batch size */
    bt_nn_act act;
    int bn;
    int64_t n_params;
    /* per layer (0..D), offsets in a slot block: each a multiple of BT_NN_ALIGN_FLOATS, as is
     * n_params (kernels/nn_blas.h); the gaps between tensors are zeros no layer reads */
    int64_t *w_off, *b_off, *gam_off, *bet_off;
    int32_t *in_dim, *out_dim; /* per layer */
    /* scratch, one block per position in a step's list of slots */
    float *x0;                    /* cap x B x F gathered inputs */
    float **z, **u, **xh, **istd; /* per layer: linear out, bn out, bn xhat, bn inv std */
    float **h, **mask;            /* per hidden layer: output (after dropout), dropout mask */
    float *da, *db;               /* cap x B x max dim gradient ping-pong */
    int32_t *lab;                 /* cap x B class ids */
    float *tgt;                   /* cap x B regression targets */
    float *lin_scratch;           /* max in x max out */
    int32_t maxdim;
    /* pointer arrays, one entry per position */
    const float **pa, **pb, **pc, **pd, **pe;
    float **qa, **qb, **qc, **qd, **qe;
    const int32_t **plab;
    uint64_t *keys;
    uint32_t *ep;
    float *fa;
    double *loss;
};

bt_status bt_mlp_pack_init(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                           int capacity);
void bt_mlp_pack_free(bt_pack *p);
bt_status bt_mlp_slot_start(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key);
void bt_mlp_slot_clear(bt_pack *p, int slot);
bt_status bt_mlp_step(bt_pack *p, const int *slots, int n_slots);
int bt_mlp_slot_failed(const bt_pack *p, int slot);
bt_status bt_mlp_eval(bt_pack *p, int slot, const char *metric, double *out);
/* The CPU pack's snapshot entries (nn_snapshot.c); restore = slot_start + bt_nn_slot_load. */
bt_status bt_mlp_slot_save(bt_pack *p, int slot, void **buf, size_t *len);
bt_status bt_mlp_slot_restore(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key,
                              const void *buf, size_t len);
/* The pack's snapshot identity (shared with the CUDA pack, whose blobs are the same). */
void bt_mlp_blob_shape(const bt_pack *p, bt_nn_blob_shape *sh);

/* One forward and backward pass of the listed slots (n of them, in `act`) on `rows` training rows,
 * row r of position i being train row idx[i][r]; dropout masks keyed by (slot's epoch, step).
 * Leaves each slot's mean loss in p->loss[i] and its gradients in slot->g. Used by step and by the
 * gradient checks. rows <= p->B. */
void bt_mlp_fwd_bwd(bt_pack *p, bt_mlp_slot *const *act, int n, const int32_t *const *idx, int rows,
                    uint32_t step);
/* Learning rate of slot s for (0-based) epoch e under its schedule (bt_nn_lr_at). */
static inline double bt_mlp_lr_at(const bt_mlp_slot *s, int64_t e) {
    return bt_nn_lr_at(s, e);
}

/* ---- shared by the CPU pack (mlp_pack.c) and the CUDA pack (cuda/mlp_pack.c): mlp_host.c ---- */

/* Fills a zeroed pack's shape (F, H, D, K, B, act, bn), slot array and per-layer tables (offsets
 * of W, b, gamma, beta in a slot's parameter block, layer dims, n_params, maxdim; the per-layer
 * scratch pointer arrays are allocated, their entries left NULL). On failure the caller frees p
 * with bt_mlp_pack_free. */
bt_status bt_mlp_layout_init(bt_pack *p, bt_model_data *data, const bt_hparams *shape_hp,
                             int capacity);
/* Starts slot s's next epoch (s->epoch): its row order in s->perm and its learning rate. */
void bt_mlp_epoch_begin(bt_mlp_slot *s, int64_t n_train);
/* Sets slot s's metrics from its validation sums over nv rows: acc[0], acc[1] = correct
 * predictions and -sum log p_y with the class counts (3 k, bt_nn_class_metrics_add) of
 * classification, or squared and absolute errors (regression); a non-finite loss metric marks
 * the slot failed. */
void bt_mlp_metrics_finish(bt_mlp_slot *s, int regression, const double *acc, const double *counts,
                           int k, double nv);

/* ---- the mlp pack on a CUDA device (models/nn/cuda/mlp_pack.c, cuda/ops.c) ------------------ */

/* Copies slot's device parameters, optimizer state and running statistics into its host slot
 * (w, m, v, run), e.g. to compare with a CPU pack; the host copies are not kept current otherwise.
 * A pack from bt_mlp_cuda_packs only. */
bt_status bt_mlp_cuda_slot_download(bt_pack *p, int slot);

#endif
