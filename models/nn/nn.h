/* The neural-net model families (mlp now; resnet later): parameter indices, the per-dataset cache
 * every pack reads (standardized features, integer or standardized labels) and the mlp pack's
 * internals, shared by the files of models/nn and by the tests.
 * Ownership: a pack owns its slots and scratch; it borrows the bt_model_data (and the cache in
 * data->shared, owned by the model data and freed by bt_nn_data_free). */
#ifndef BT_NN_H
#define BT_NN_H

#include "../../kernels/nn_act.h"
#include "../../kernels/nn_optim.h"
#include "../model.h"

/* Indices into bt_mlp_params (same order). */
enum {
    BT_MLP_OBJECTIVE = 0,
    BT_MLP_NUM_CLASS,
    BT_MLP_WIDTH,
    BT_MLP_DEPTH,
    BT_MLP_ACTIVATION,
    BT_MLP_BATCH_NORM,
    BT_MLP_BATCH_SIZE,
    BT_MLP_DROPOUT,
    BT_MLP_OPTIMIZER,
    BT_MLP_LR,
    BT_MLP_MOMENTUM,
    BT_MLP_NESTEROV,
    BT_MLP_BETA1,
    BT_MLP_BETA2,
    BT_MLP_ALPHA,
    BT_MLP_EPS,
    BT_MLP_WEIGHT_DECAY,
    BT_MLP_LR_SCHEDULE,
    BT_MLP_WARMUP_EPOCHS,
    BT_MLP_STEP_SIZE,
    BT_MLP_GAMMA,
    BT_MLP_T_MAX,
    BT_MLP_LABEL_SMOOTHING,
    BT_MLP_EPOCHS,
    BT_MLP_SEED,
    BT_MLP_N_PARAMS
};

extern const bt_model_param bt_mlp_params[BT_MLP_N_PARAMS];
extern const bt_model_vtable bt_mlp_vtable;

/* Philox stream tags (the counter's high half) of the family's random draws. */
#define BT_NN_STREAM_INIT 0x494e4954ull    /* "INIT": weight init, counter = parameter index */
#define BT_NN_STREAM_SHUFFLE 0x5348554full /* "SHUF" << 32 | epoch: batch order */

/* The cache of data_prepare: features standardized with the train set's mean and std (missing
 * cells become 0, the mean), labels as class ids or standardized targets. */
typedef struct bt_nn_shared {
    int regression;
    int32_t n_features, n_out;  /* n_out: classes, or 1 for regression */
    int64_t n_train, n_valid;   /* n_valid: rows metrics are computed on (train when no valid) */
    float *x_train, *x_valid;   /* row-major standardized features */
    int32_t *c_train, *c_valid; /* class ids (classification) */
    float *t_train, *t_valid;   /* standardized targets (regression) */
    float *mean, *std;          /* per feature */
    double y_mean, y_std;       /* regression target scaling */
    void *cuda; /* device copies (models/nn/pack_cuda.c), freed by the CUDA vtable's data_free */
} bt_nn_shared;

bt_status bt_nn_data_prepare(bt_model_data *data);
void bt_nn_data_free(bt_model_data *data);

/* Metrics a slot keeps after each epoch (on the validation rows). */
enum { BT_NN_M_ACCURACY = 0, BT_NN_M_LOGLOSS, BT_NN_M_MSE, BT_NN_M_MAE, BT_NN_M_COUNT };

typedef struct bt_mlp_slot {
    uint64_t key;
    bt_nn_optim_hp opt; /* lr is set per epoch by the schedule */
    double lr;          /* base learning rate */
    int schedule;       /* 0 constant, 1 step, 2 cosine */
    int64_t warmup, step_size, horizon;
    double gamma;
    float dropout, smoothing;
    int64_t epoch; /* epochs trained */
    int64_t t;     /* optimizer steps taken */
    int failed;
    float *w, *g, *m, *v; /* n_params each */
    float *run;           /* batch-norm running mean and var, 2 * width per hidden layer */
    int32_t *perm;        /* batch order of the current epoch */
    double metric[BT_NN_M_COUNT];
    double train_loss; /* mean batch loss of the last epoch */
} bt_mlp_slot;

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
    int64_t *w_off, *b_off, *gam_off, *bet_off; /* per layer (0..D), offsets in a slot block */
    int32_t *in_dim, *out_dim;                  /* per layer */
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
    bt_nn_optim_hp *hps;
    int64_t *ts;
};

bt_status bt_mlp_pack_init(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                           int capacity);
void bt_mlp_pack_free(bt_pack *p);
bt_status bt_mlp_slot_start(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key);
void bt_mlp_slot_clear(bt_pack *p, int slot);
bt_status bt_mlp_step(bt_pack *p, const int *slots, int n_slots);
int bt_mlp_slot_failed(const bt_pack *p, int slot);
bt_status bt_mlp_eval(bt_pack *p, int slot, const char *metric, double *out);

/* One forward and backward pass of the listed slots (n of them, in `act`) on `rows` training rows,
 * row r of position i being train row idx[i][r]; dropout masks keyed by (slot's epoch, step).
 * Leaves each slot's mean loss in p->loss[i] and its gradients in slot->g. Used by step and by the
 * gradient checks. rows <= p->B. */
void bt_mlp_fwd_bwd(bt_pack *p, bt_mlp_slot *const *act, int n, const int32_t *const *idx, int rows,
                    uint32_t step);
/* Learning rate of slot s for (0-based) epoch e under its schedule. */
double bt_mlp_lr_at(const bt_mlp_slot *s, int64_t e);

/* ---- shared by the CPU pack (pack.c) and the CUDA pack (pack_cuda.c): models/nn/mlp_host.c --- */

/* Fills a zeroed pack's shape (F, H, D, K, B, act, bn), slot array and per-layer tables (offsets
 * of W, b, gamma, beta in a slot's parameter block, layer dims, n_params, maxdim; the per-layer
 * scratch pointer arrays are allocated, their entries left NULL). On failure the caller frees p
 * with bt_mlp_pack_free. */
bt_status bt_mlp_layout_init(bt_pack *p, bt_model_data *data, const bt_hparams *shape_hp,
                             int capacity);
/* Shuffled row order of epoch e: Fisher-Yates from the identity, draws keyed by (key, e). */
void bt_mlp_shuffle(int32_t *perm, int64_t n, uint64_t key, int64_t e);
/* Starts slot s's next epoch (s->epoch): its row order in s->perm and its learning rate. */
void bt_mlp_epoch_begin(bt_mlp_slot *s, int64_t n_train);
/* Sets slot s's metrics from its validation sums over nv rows: acc[0], acc[1] = correct
 * predictions and -sum log p_y (classification) or squared and absolute errors (regression); a
 * non-finite loss metric marks the slot failed. */
void bt_mlp_metrics_finish(bt_mlp_slot *s, int regression, const double *acc, double nv);

/* ---- the mlp pack on a CUDA device (models/nn/pack_cuda.c, vtable_cuda.c) ------------------- */

/* bt_mlp_vtable with the pack entries of pack_cuda.c, or NULL in a build without CUDA. */
const bt_model_vtable *bt_mlp_cuda_vtable(void);
/* Copies slot's device parameters, optimizer state and running statistics into its host slot
 * (w, m, v, run), e.g. to compare with a CPU pack; the host copies are not kept current otherwise.
 * A pack from bt_mlp_cuda_vtable only. */
bt_status bt_mlp_cuda_slot_download(bt_pack *p, int slot);

#endif
