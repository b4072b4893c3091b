/* The resnet family: CIFAR-style residual networks (He et al. 2016, section 4.2) trained on images
 * -- a 3x3 stem, three stages of n basic blocks (widths w, 2w, 4w; stride 2 into stages 2 and 3,
 * 1x1 convolution + batch norm shortcuts where the shape changes), global average pooling, a
 * linear classifier; depth = 6n + 2. Parameter indices, the pack's layout and the entry points the
 * pack ops and the tests use.
 * Ownership: a pack owns its slots and scratch; it borrows the bt_model_data and its cache. */
#ifndef BT_RESNET_H
#define BT_RESNET_H

#include "kernels/nn_conv2d.h"
#include "models/nn/nn.h"

/* Indices into bt_resnet_params (same order). */
enum {
    BT_RESNET_OBJECTIVE = BT_NN_P_OBJECTIVE,
    BT_RESNET_NUM_CLASS = BT_NN_P_NUM_CLASS,
    BT_RESNET_DEPTH,
    BT_RESNET_WIDTH,
    BT_RESNET_BATCH_SIZE,
    BT_RESNET_INPUT_SHAPE,
    BT_RESNET_CROP_PADDING,
    BT_RESNET_HFLIP,
    BT_RESNET_COMMON, /* the shared training block starts here */
    BT_RESNET_OPTIMIZER = BT_RESNET_COMMON + BT_NN_C_OPTIMIZER,
    BT_RESNET_LR = BT_RESNET_COMMON + BT_NN_C_LR,
    BT_RESNET_MOMENTUM = BT_RESNET_COMMON + BT_NN_C_MOMENTUM,
    BT_RESNET_NESTEROV = BT_RESNET_COMMON + BT_NN_C_NESTEROV,
    BT_RESNET_WEIGHT_DECAY = BT_RESNET_COMMON + BT_NN_C_WEIGHT_DECAY,
    BT_RESNET_LR_SCHEDULE = BT_RESNET_COMMON + BT_NN_C_LR_SCHEDULE,
    BT_RESNET_WARMUP_EPOCHS = BT_RESNET_COMMON + BT_NN_C_WARMUP_EPOCHS,
    BT_RESNET_T_MAX = BT_RESNET_COMMON + BT_NN_C_T_MAX,
    BT_RESNET_LABEL_SMOOTHING = BT_RESNET_COMMON + BT_NN_C_LABEL_SMOOTHING,
    BT_RESNET_EPOCHS = BT_RESNET_COMMON + BT_NN_C_EPOCHS,
    BT_RESNET_SEED = BT_RESNET_COMMON + BT_NN_C_SEED,
    BT_RESNET_N_PARAMS = BT_RESNET_COMMON + BT_NN_C_COUNT
};

extern const bt_model_param bt_resnet_params[BT_RESNET_N_PARAMS];
extern const bt_model_family bt_resnet_family;
/* The CPU pack and the CUDA pack (cuda/resnet_pack.c: part of the CUDA module only). */
extern const bt_pack_ops bt_resnet_cpu_packs, bt_resnet_cuda_packs;

/* The input shape C x H x W of a trial: `input_shape` ("CxHxW" or "HxW"; empty or "auto": the
 * dataset's image shape, else a square single-channel image when the feature count is a perfect
 * square). A row's features are read channel-major (C, then H, then W), as IDX, CIFAR and NCHW
 * .npy store them. */
/* Parses an input_shape "CxHxW" or "HxW" (C = 1), sizes in [1, 65536], into dims; 0 when it is
 * not one (resnet_params.c). "auto" and "" are not shapes: the data decides them. */
int bt_resnet_parse_shape(const char *s, long dims[3]);
/* The parameter table's syntax check: NULL for "auto", "" or a shape, else what is expected. */
const char *bt_resnet_shape_syntax(const char *s);
bt_status bt_resnet_input_shape(const bt_dataset *d, const char *spec, int32_t *c, int32_t *h,
                                int32_t *w);

/* One convolution + batch norm unit. */
typedef struct bt_rn_conv {
    bt_nn_conv2d_shape sh; /* rows is set per call */
    int oh, ow;
    size_t in_n, out_n;       /* elements per image of input and output */
    int64_t w_off;            /* weights [k][k][c_in][c_out] */
    int64_t gam_off, bet_off; /* batch norm scale and shift */
    int64_t run_off;          /* running mean (c_out), then running var (c_out) */
} bt_rn_conv;

/* A basic block: conv c1 (maybe strided) -> bn -> relu -> conv c2 -> bn, plus the shortcut (the
 * block's input, or conv cs (1x1, strided) -> bn), then relu. Indices into pack->conv. */
typedef struct bt_rn_block {
    int c1, c2, cs; /* cs = -1: identity shortcut */
} bt_rn_block;

typedef struct bt_resnet_pack {
    bt_model_data *data;
    const bt_nn_shared *sh;
    const float *x_train, *x_valid; /* the datasets' raw rows (C x H x W each) */
    int capacity;
    bt_nn_slot **slots;
    /* shape */
    int32_t C, H, W, K, B;   /* input channels, height, width; classes; batch size */
    int32_t depth, width, n; /* n blocks per stage */
    int n_conv, n_blocks;
    bt_rn_conv *conv; /* conv 0 is the stem */
    bt_rn_block *blk;
    int32_t feat; /* channels into the classifier (4 width) */
    int64_t fc_w, fc_b, n_params, n_run;
    float *ch_mean, *ch_inv; /* per input channel: train mean and 1 / std */
    int threads;
    /* scratch for `group` positions (a step's slots run in groups of this many) */
    int group;
    size_t in_n, max_n; /* per image: input elements, largest activation */
    float *x0;          /* group x B x in_n gathered (augmented, normalized) inputs */
    float **xh, **out;  /* per conv: group x B x out_n bn xhat / unit output; out NULL for cs */
    float **istd;       /* per conv: group x c_out */
    float *z, *ga, *gb, *gc; /* group x B x max_n: conv output, three gradient buffers */
    float *pooled, *dpool;   /* group x B x feat */
    float *logits, *dlogits; /* group x B x K */
    int32_t *lab;            /* group x B */
    float *wt;               /* group x largest conv weight count: conv backward scratch */
    float *lin;              /* feat x K: linear backward scratch */
    float *prob;             /* K */
    const float **pa, **pb, **pc, **pd; /* per-position pointer arrays */
    float **qa, **qb, **qc, **qd, **qe, **qf;
    const int32_t **plab;
    float *fa;
    double *loss;
} bt_resnet_pack;

bt_status bt_resnet_pack_init(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                              int capacity);
/* Fills a zeroed pack's shape, layout (convolution units, blocks, parameter offsets), slot array
 * and per-channel normalization, without the CPU's training scratch: pack_init's first half,
 * shared with the CUDA pack (cuda/resnet_pack.c). On failure the caller frees p with
 * bt_resnet_pack_free. */
bt_status bt_resnet_layout_init(bt_resnet_pack *p, bt_model_data *data, const bt_value *shape_v,
                                int capacity);
void bt_resnet_pack_free(bt_pack *p);
bt_status bt_resnet_slot_start(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key);
void bt_resnet_slot_clear(bt_pack *p, int slot);
bt_status bt_resnet_step(bt_pack *p, const int *slots, int n_slots);
int bt_resnet_slot_failed(const bt_pack *p, int slot);
bt_status bt_resnet_eval(bt_pack *p, int slot, const char *metric, double *out);
/* The CPU pack's snapshot entries (nn_snapshot.c); restore = slot_start + bt_nn_slot_load. */
bt_status bt_resnet_slot_save(bt_pack *p, int slot, void **buf, size_t *len);
bt_status bt_resnet_slot_restore(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key,
                                 const void *buf, size_t len);
/* The pack's snapshot identity (shared with the CUDA pack, whose blobs are the same). */
void bt_resnet_blob_shape(const bt_resnet_pack *p, bt_nn_blob_shape *sh);

/* Image src (C x H x W, raw) normalized per channel into dst (H x W x C). With a slot s whose
 * crop_pad or hflip is set, the image is cropped at offsets (oy, ox) in [-pad, pad] and mirrored
 * left-right with probability 1/2, drawn from Philox(s->key, counter (s->epoch << 32 | pos),
 * BT_NN_STREAM_AUG << 32): oy = (v0 (2 pad + 1)) >> 32 - pad, ox likewise from v1, flip = v2 & 1.
 * Output pixel (y, x) reads input (y + oy, x' + ox), x' = W - 1 - x when flipped; pixels from
 * outside the image are 0 (the channel mean). */
void bt_resnet_gather(const bt_resnet_pack *p, const float *src, const bt_nn_slot *s, uint32_t pos,
                      float *dst);

/* Forward and backward of n <= group positions on training rows idx[i][0..rows) of mini-batch
 * `batch` (augmented per the slot's settings, keyed by its epoch), leaving the mean loss in
 * loss[i] and the gradients in act[i]->g. */
void bt_resnet_fwd_bwd(bt_resnet_pack *p, bt_nn_slot *const *act, int n, const int32_t *const *idx,
                       int rows, uint32_t batch, double *loss);
/* Validation metrics of n slots (groups of at most p->group at a time inside). */
void bt_resnet_evaluate(bt_resnet_pack *p, bt_nn_slot *const *act, int n);

/* ---- the resnet pack on a CUDA device (cuda/resnet_pack.c, cuda/ops.c) --------------------- */

/* Copies slot's device parameters, optimizer state and running statistics into its host slot
 * (w, m, v, run), e.g. to compare with a CPU pack. A pack from bt_resnet_cuda_packs only. */
bt_status bt_resnet_cuda_slot_download(bt_pack *p, int slot);

#endif
