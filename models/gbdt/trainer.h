/* Internals of the gbdt family shared by its files: the per-dataset binning cache, a pack of trial
 * slots and the tree growth that advances every active slot of a pack together (level-synchronous
 * histograms in grow.c; on small data sets, whole trees per thread from column lists in
 * grow_cols.c).
 * Ownership: the shared cache belongs to bt_model_data (freed by data_free); a pack owns its slots
 * and every buffer in them; slots borrow the pack's binning and the datasets. */
#ifndef BT_GBDT_TRAINER_H
#define BT_GBDT_TRAINER_H

#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "datasets/binning.h"
#include "kernels/gbdt_hist.h"
#include "kernels/gbdt_metric.h"
#include "kernels/gbdt_objective.h"
#include "kernels/gbdt_predict.h"
#include "kernels/gbdt_split.h"
#include "models/gbdt/gbdt.h"

/* Train set binned with one max_bin, shared by every pack of that shape. */
typedef struct bt_gbdt_binning {
    int32_t max_bin;
    bt_bin_cuts cuts;
    bt_binned train;
    uint32_t *off;        /* n_features + 1 histogram offsets (each feature: bins + missing) */
    int32_t *missing_bin; /* missing code per feature (= its bin count) */
    /* The same bins feature-major (n_features x n_rows, same width): row partitions read one
     * feature of a node's rows, which in this layout share cache lines. */
    void *cols;
    /* Small data sets only (see bt_gbdt_col_mode): per feature, the train rows sorted by bin
     * (then row), n_features x n_rows; NULL otherwise. */
    int32_t *order;
} bt_gbdt_binning;

/* Whether trees on this binning grow from per-feature sorted row lists instead of histograms:
 * when rows are few compared with bins, scanning every histogram bin of every node costs more
 * than walking each node's rows in bin order (same candidates, same integer sums). Such data sets
 * are small enough that a step grows each slot's trees in one thread (bt_gbdt_cols_grow). */
static inline int bt_gbdt_col_mode(int64_t n_rows, int32_t n_features, int64_t total_bins) {
    return n_rows * n_features <= (1 << 20) && n_rows * n_features <= 4 * total_bins;
}

typedef struct bt_gbdt_shared {
    bt_gbdt_binning **binnings;
    int n_binnings;
    int32_t n_classes; /* classes for multiclass (from the labels when the data says 0) */
    float max_label;   /* largest train or valid label (multiclass: must be < num_class) */
    /* Device copies of the binnings and data sets (cuda/data.c), one per (device, binning), shared
     * by every CUDA pack; NULL without CUDA. Freed by the CUDA pack ops' data_release. */
    void *cuda;
} bt_gbdt_shared;

/* Overrides the choice between histograms and column lists for binnings made afterwards:
 * 0 automatic (bt_gbdt_col_mode), 1 histograms, 2 column lists. Process-wide; for tests. */
void bt_gbdt_set_mode(int mode);

/* Whether a parallel phase of nt threads over n_jobs jobs touching `work` row-feature cells is
 * worth forking; bt_gbdt_set_par_min_work sets the threshold (process-wide; 0 in tests forces
 * parallel phases on small data). */
int bt_gbdt_par_ok(int nt, int n_jobs, int64_t work);
void bt_gbdt_set_par_min_work(int64_t cells);

/* The calling thread's number inside a parallel region (0 outside or without OpenMP). */
static inline int bt_gbdt_thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Caps the number of slots grown together (0 = automatic, by memory). Process-wide; for tests. */
void bt_gbdt_set_wave_cap(int cap);

/* The binning for max_bin, computed and cached on first use (not thread-safe). */
bt_status bt_gbdt_binning_get(bt_model_data *data, int32_t max_bin, const bt_gbdt_binning **out);
void bt_gbdt_data_free(bt_model_data *data);

typedef struct bt_gbdt_tree {
    bt_gbdt_node *nodes;
    int32_t n_nodes;
} bt_gbdt_tree;

/* One trial. Parameters are resolved at slot_start; buffers of the model (margins, trees) live as
 * long as the trial, growth buffers (gradients, row lists) are allocated at its first step. */
typedef struct bt_gbdt_slot {
    int used, failed, stopped;
    int in_step; /* guards against a slot listed twice in one step */
    /* parameters */
    bt_gbdt_objective obj;
    int32_t n_out; /* trees per round: classes for softprob, else 1 */
    float eta, gamma;
    int32_t max_depth;
    bt_gbdt_split_param sp;
    double subsample, colsample_bytree, colsample_bylevel;
    float base_score;  /* as XGBoost stores it (a probability for binary:logistic) */
    float base_margin; /* the margin every prediction starts from */
    int32_t early_stopping_rounds;
    float scale_pos_weight; /* XGBoost's, on the gradients of rows labelled 1 */
    uint64_t key;
    /* model */
    int32_t round;                      /* rounds trained */
    float *margin_train, *margin_valid; /* n x n_out, row-major */
    bt_gbdt_tree *trees;                /* round-major, n_out per round */
    int64_t n_trees, cap_trees;
    /* the margins belong to the pack that lent them (a CUDA pack's pinned mirrors,
     * models/gbdt/cuda/pack.c), not to the slot: freeing the slot leaves them */
    int margins_lent;
    /* gblinear: weights w[f * n_out + k], then the biases (XGBoost's layout); the best round's
     * copy for early stopping; the feature selector (linear.c) and top_k */
    float *lin_w, *lin_best;
    int32_t selector, top_k;
    /* early stopping: the metric it watches (a bt_gbdt_metric, larger is better when
     * es_maximize), the best round so far and the valid margins there */
    int32_t es_metric, es_maximize;
    int32_t best_round;
    double best_metric;
    float *best_valid;
    /* growth buffers: borrowed from the pack's pool for the duration of a step */
    float *g, *h;       /* n_out x n */
    bt_gbdt_gh *gh;     /* n_out x n */
    int32_t *rows;      /* n_out x n */
    int64_t *n_sampled; /* n_out */
    int32_t *eg, *eh;   /* n_out quantization exponents */
} bt_gbdt_slot;

/* One set of growth buffers, lent to a slot while its round grows. */
typedef struct bt_gbdt_gbuf {
    int64_t cap_rows; /* capacity in rows x outputs */
    int32_t cap_out;  /* capacity in outputs */
    float *g, *h;
    bt_gbdt_gh *gh;
    int32_t *rows;
    int64_t *n_sampled;
    int32_t *eg, *eh;
} bt_gbdt_gbuf;

struct bt_pack {
    bt_model_data *data;
    const bt_gbdt_binning *bin;
    int capacity;
    bt_gbdt_slot **slots; /* NULL until used */
    int threads;
    void *grow; /* growth workspace (grow.c) */
    /* Slots grow in waves of at most n_gbufs; gradients and row lists exist only for a wave. */
    bt_gbdt_gbuf *gbufs;
    int n_gbufs;
    void *cols; /* column mode: per-thread growth workspaces (grow_cols.c) */
    int on_gpu; /* a CUDA pack (its host part) */
    /* booster gblinear (linear.c): the train set by column, non-missing entries with rows
     * ascending (XGBoost's CSC page): feature f's are [col_off[f], col_off[f + 1]) */
    int linear;
    int64_t *col_off;
    int32_t *col_row;
    float *col_val;
    /* What the user should know about the knobs its trials set (pack ops `note`), or "". */
    char note[512];
};

/* Grows one round of trees for the listed slots together (gradients already in s->gh and row
 * lists in s->rows), appending n_out trees to each and updating train margins. */
bt_status bt_gbdt_grow_round(bt_pack *p, bt_gbdt_slot **slots, int n_slots);
/* The tree-growing rules the CPU grower and the CUDA pack share, so they cannot drift apart.
 * Whether split sp of a node at `depth` is taken (XGBoost: loss_chg > kRtEps, both children with
 * hessian, gamma, max_depth). */
int bt_gbdt_split_takes(const bt_gbdt_slot *s, const bt_gbdt_split *sp, int depth);
/* Makes nodes[id] a leaf with parent, base weight and value; its hessian sum from sum[id]. */
void bt_gbdt_leaf_init(bt_gbdt_node *nodes, const bt_gbdt_gh *sum, double hu, int32_t id,
                       int32_t parent, float base_weight, float value);
/* Turns nodes[id] into split sp with children L and R (leaves valued eta x weight); sum[L] and
 * sum[R] receive the children's fixed-point sums; gu, hu are the tree's quantization units. */
void bt_gbdt_node_split(const bt_gbdt_slot *s, bt_gbdt_node *nodes, bt_gbdt_gh *sum, double gu,
                        double hu, int32_t id, const bt_gbdt_split *sp, int32_t L, int32_t R);
void bt_gbdt_grow_free(void *grow);

/* Column mode (bin->order set): a slot's whole round grows in one thread. prepare (outside any
 * parallel region) sizes the per-thread workspaces for the listed slots; grow then grows slot s's
 * n_out trees with thread tid's workspace (gradients in s->gh, sampled rows in s->rows), appends
 * them and updates its train margins. Slots of a step may grow on different threads at once. */
bt_status bt_gbdt_cols_prepare(bt_pack *p, bt_gbdt_slot *const *act, int n_act);
bt_status bt_gbdt_cols_grow(bt_pack *p, bt_gbdt_slot *s, int tid);
void bt_gbdt_cols_free(void *cols);
/* Column mode's split evaluation: AVX-512 (when the CPU has it; the default) or portable code.
 * Both give identical splits. Process-wide; for tests. */
void bt_gbdt_cols_set_simd(int on);

/* Metric id of a name, or -1; the name of an id, or NULL. */
int bt_gbdt_metric_id(const char *name);
const char *bt_gbdt_metric_name(int metric);
/* Whether larger values of a metric are better (auc, accuracy): the family's metric_maximize. */
int bt_gbdt_metric_maximize(const char *metric);
/* Metric value of a slot's current valid margins. */
double bt_gbdt_slot_metric(const bt_pack *p, const bt_gbdt_slot *s, int metric, void *scratch);
bt_gbdt_metric bt_gbdt_default_metric_id(bt_gbdt_objective obj);

/* The CPU pack's operations (pack.c, eval.c; the table is bt_gbdt_cpu_packs). */
bt_status bt_gbdt_pack_init(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                            int capacity);
void bt_gbdt_pack_free(bt_pack *p);
bt_status bt_gbdt_slot_start(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key);
void bt_gbdt_slot_clear(bt_pack *p, int slot);
bt_status bt_gbdt_step(bt_pack *p, const int *slots, int n_slots);
/* A step's first part, shared with the CUDA pack: checks the listed slots (started, not listed
 * twice), skips failed and stopped ones, makes room for the round's trees. act (and act_slot,
 * unless NULL) receive the *n_act slots that advance. */
/* Early stopping after a slot's round (early_stopping_rounds > 0; pack.c and the CUDA pack): keeps
 * the best round's valid margins, and once early_stopping_rounds rounds pass without a strict
 * improvement (XGBoost's rule) reverts the slot to its best round -- margins, trees, round -- and
 * marks it stopped. *stopped_now = 1 on the round it stops. scratch: bt_gbdt_metric_scratch_bytes
 * for the eval rows. */
void bt_gbdt_early_stop(const bt_pack *p, bt_gbdt_slot *s, void *scratch, int *stopped_now);
bt_status bt_gbdt_step_begin(bt_pack *p, const int *slots, int n_slots, int64_t nv,
                             bt_gbdt_slot **act, int *act_slot, int *n_act);
int bt_gbdt_slot_failed(const bt_pack *p, int slot);
/* The pack's note (XGBoost knobs accepted but not applied as XGBoost would), or NULL. */
const char *bt_gbdt_note(const bt_pack *p);
bt_status bt_gbdt_eval(bt_pack *p, int slot, const char *metric, double *out);
bt_status bt_gbdt_export(bt_pack *p, int slot, const char *format, char **out, size_t *len);

/* The CUDA pack's entry points (cuda/, built only into the CUDA module): a bt_pack whose slots,
 * trees and host margins are pack.c's, so bt_gbdt_eval and bt_gbdt_export serve it too;
 * data_release frees the device copies hung off bt_gbdt_shared.cuda (bt_gbdt_data_free the
 * rest, after it). */
bt_status bt_gbdt_cuda_pack_init(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                                 int capacity);
void bt_gbdt_cuda_pack_free(bt_pack *p);
bt_status bt_gbdt_cuda_slot_start(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key);
void bt_gbdt_cuda_slot_clear(bt_pack *p, int slot);
bt_status bt_gbdt_cuda_step(bt_pack *p, const int *slots, int n_slots);
void bt_gbdt_cuda_data_release(bt_model_data *data);
/* The largest pack capacity <= wanted that fits the current device's free memory (docs/cuda.md,
 * "Sizing"); at least 1. */
int bt_gbdt_cuda_pack_capacity(const bt_model_data *data, const bt_hparams *shape_hp, int wanted);
/* Bytes of histograms a CUDA round keeps live at once (trees grow in waves under it; default
 * 1 GiB, <= 0 restores it). Process-wide; for tests and small GPUs. */
void bt_gbdt_cuda_set_hist_budget(int64_t bytes);
/* Whether new CUDA packs run each level's launches as captured CUDA graphs (default 1) or
 * directly. Process-wide; for tests. */
void bt_gbdt_cuda_set_graphs(int on);

/* booster gblinear (linear.c): the pack's columns (pack_init), a slot's weights (slot_start), one
 * round of the listed slots (step, after bt_gbdt_step_begin); the selector's number of a name. */
bt_status bt_gbdt_linear_init(bt_pack *p);
bt_status bt_gbdt_linear_slot_init(const bt_pack *p, bt_gbdt_slot *s);
bt_status bt_gbdt_linear_step(bt_pack *p, bt_gbdt_slot **act, int n_act);
int bt_gbdt_linear_selector(const char *name);

/* xgboost-json export of a slot (malloc'd text). */
bt_status bt_gbdt_export_json(const bt_pack *p, const bt_gbdt_slot *s, char **out, size_t *len);

#endif
