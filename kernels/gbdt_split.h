/* Split evaluation for histogram trees, with XGBoost 1.7 hist's arithmetic: child gains
 * G^2/(H+lambda) (G soft-thresholded by alpha) computed in double and rounded to float, their sum
 * minus the parent's gain in float, min_child_weight on both children, missing values tried on
 * the right (forward scan) and, when the node has any, on the left (backward scan); a candidate
 * replaces the best only when strictly better, so ties keep the smaller feature, then the forward
 * scan, then the smaller bin. Sums arrive as int64 fixed point with a power-of-two unit. The gain
 * and loss formulas are BT_HD inline functions shared by the C reference, column mode
 * (models/gbdt/grow_cols.c) and the CUDA kernel, so every path rounds the same.
 * Ownership: nothing is allocated; callers own every buffer. */
#ifndef BT_KERNEL_GBDT_SPLIT_H
#define BT_KERNEL_GBDT_SPLIT_H

#include <math.h> /* INFINITY */
#include <stdint.h>

#include "kernels/gbdt_hist.h"
#include "kernels/philox.h" /* BT_HD */

typedef struct bt_gbdt_split_param {
    float min_child_weight;
    float lambda;
    float alpha;
} bt_gbdt_split_param;

typedef struct bt_gbdt_split {
    float loss_chg;  /* 0 when no candidate beat the initial 0 */
    int32_t feature; /* -1 = none */
    int32_t bin;     /* non-missing rows with bin <= this go left (-1: none do) */
    int32_t default_left;
    float split_cond; /* raw-value rule: x < split_cond goes left */
    bt_gbdt_gh left, right;
} bt_gbdt_split;

BT_HD void bt_gbdt_split_reset(bt_gbdt_split *s) {
    s->loss_chg = 0.0f;
    s->feature = -1;
    s->bin = -1;
    s->default_left = 0;
    s->split_cond = 0.0f;
    s->left.g = s->left.h = s->right.g = s->right.h = 0;
}

/* BT_HD that GCC inlines even into callers compiled with other floating-point options (the CPU's
 * optimize("no-trapping-math") vector loops), where it inlines only always_inline functions. */
#if defined(__GNUC__) && !defined(__CUDACC__)
#define BT_HD_ALWAYS static inline __attribute__((always_inline))
#else
#define BT_HD_ALWAYS BT_HD
#endif

/* Round-to-nearest arithmetic that no compiler may fuse: on the device nvcc would contract
 * a * b + c into an FMA, which rounds once where the host rounds twice, so device code spells
 * every operation with its _rn intrinsic. Host C is ISO C11 (no contraction) and the emulated
 * device build is -ffp-contract=off: plain operators there. */
#ifdef __CUDA_ARCH__
BT_HD_ALWAYS double bt_dadd_rn(double a, double b) {
    return __dadd_rn(a, b);
}
BT_HD_ALWAYS double bt_dsub_rn(double a, double b) {
    return __dsub_rn(a, b);
}
BT_HD_ALWAYS double bt_dmul_rn(double a, double b) {
    return __dmul_rn(a, b);
}
BT_HD_ALWAYS double bt_ddiv_rn(double a, double b) {
    return __ddiv_rn(a, b);
}
BT_HD_ALWAYS float bt_fadd_rn(float a, float b) {
    return __fadd_rn(a, b);
}
BT_HD_ALWAYS float bt_fsub_rn(float a, float b) {
    return __fsub_rn(a, b);
}
BT_HD_ALWAYS float bt_d2f_rn(double x) {
    return __double2float_rn(x);
}
#else
BT_HD_ALWAYS double bt_dadd_rn(double a, double b) {
    return a + b;
}
BT_HD_ALWAYS double bt_dsub_rn(double a, double b) {
    return a - b;
}
BT_HD_ALWAYS double bt_dmul_rn(double a, double b) {
    return a * b;
}
BT_HD_ALWAYS double bt_ddiv_rn(double a, double b) {
    return a / b;
}
BT_HD_ALWAYS float bt_fadd_rn(float a, float b) {
    return a + b;
}
BT_HD_ALWAYS float bt_fsub_rn(float a, float b) {
    return a - b;
}
BT_HD_ALWAYS float bt_d2f_rn(double x) {
    return (float)x;
}
#endif

BT_HD double bt_gbdt_threshold_l1(double w, float alpha) {
    if (w > +alpha) return bt_dsub_rn(w, (double)alpha);
    if (w < -alpha) return bt_dadd_rn(w, (double)alpha);
    return 0.0;
}

/* Gain of a node with sums (G, H): XGBoost's CalcGainGivenWeight without constraints. The parent
 * gain of every split path is this with G = S.g * g_unit, H = S.h * h_unit. */
BT_HD float bt_gbdt_gain(const bt_gbdt_split_param *p, double G, double H) {
    if (H <= 0) return 0.0f;
    double t = bt_gbdt_threshold_l1(G, p->alpha);
    return bt_d2f_rn(bt_ddiv_rn(bt_dmul_rn(t, t), bt_dadd_rn(H, (double)p->lambda)));
}

/* Loss change of the candidate whose children have the integer sums (gl, hl) and (gr, hr), passed
 * as doubles (exact below 2^53; the CPU converts them outside its vector loops), with units gu, hu,
 * the parent's gain root_gain and alpha, lambda, min_child_weight as doubles (not the param
 * struct, which a loop's float stores could alias); -inf when a child's hessian is below
 * min_child_weight. Each child's gain is bt_gbdt_gain (for finite sums) written without branches,
 * so loops over candidates vectorize: G - clamp(G, -alpha, alpha) is G - alpha, G + alpha or 0
 * exactly as the soft threshold is, and the selects stand for its H <= 0 test. */
BT_HD_ALWAYS float bt_gbdt_split_loss(double gl, double hl, double gr, double hr, double gu,
                                      double hu, double alpha, double lambda, double mcw,
                                      float root_gain) {
    const double G0 = bt_dmul_rn(gl, gu), H0 = bt_dmul_rn(hl, hu);
    const double G1 = bt_dmul_rn(gr, gu), H1 = bt_dmul_rn(hr, hu);
    double c0 = G0 > alpha ? alpha : G0, c1 = G1 > alpha ? alpha : G1;
    c0 = c0 < -alpha ? -alpha : c0;
    c1 = c1 < -alpha ? -alpha : c1;
    const double t0 = bt_dsub_rn(G0, c0), t1 = bt_dsub_rn(G1, c1);
    const double d0 = H0 > 0 ? bt_dadd_rn(H0, lambda) : 1.0;
    const double d1 = H1 > 0 ? bt_dadd_rn(H1, lambda) : 1.0;
    float x0 = bt_d2f_rn(bt_ddiv_rn(bt_dmul_rn(t0, t0), d0));
    float x1 = bt_d2f_rn(bt_ddiv_rn(bt_dmul_rn(t1, t1), d1));
    x0 = H0 > 0 ? x0 : 0.0f;
    x1 = H1 > 0 ? x1 : 0.0f;
    const float loss = bt_fsub_rn(bt_fadd_rn(x0, x1), root_gain);
    return (H0 >= mcw) & (H1 >= mcw) ? loss : -INFINITY;
}

/* Leaf weight (before eta): XGBoost's CalcWeight without max_delta_step. */
BT_HD float bt_gbdt_weight(const bt_gbdt_split_param *p, double G, double H) {
    if (H < p->min_child_weight || H <= 0.0) return 0.0f;
    return (float)(-bt_gbdt_threshold_l1(G, p->alpha) / (H + p->lambda));
}

/* Scans one feature. e[0..n) are the feature's non-missing bin sums in increasing bin order:
 * dense (bin_ids NULL: entry i is bin i, zero entries are skipped) or compact (entry i is bin
 * bin_ids[i]). cuts are the feature's cut values, min_value its smallest train value. total is
 * the node's sum (missing rows included), units the fixed-point units of g and h, root_gain the
 * node's own gain. Updates *best when a candidate is strictly better. */
void bt_gbdt_split_scan_ref(const bt_gbdt_gh *e, const int32_t *bin_ids, int32_t n,
                            const float *cuts, float min_value, int32_t feature, bt_gbdt_gh total,
                            double g_unit, double h_unit, const bt_gbdt_split_param *p,
                            float root_gain, bt_gbdt_split *best);

/* The same scan from prefix sums: pg/ph[j] is the sum of the feature's non-missing bins up to and
 * including bin[j], for the m non-empty bins in increasing order (column mode builds these while
 * walking a node's rows in bin order). Same candidates, order and result as the scan above. */
void bt_gbdt_split_scan_prefix_ref(const int64_t *pg, const int64_t *ph, const int32_t *bin,
                                   int32_t m, const float *cuts, float min_value, int32_t feature,
                                   bt_gbdt_gh total, double g_unit, double h_unit,
                                   const bt_gbdt_split_param *p, float root_gain,
                                   bt_gbdt_split *best);

#if BT_HAVE_CUDA
/* ---- CUDA twin (kernels/cuda/gbdt_split.cu). Device pointers; stream is a cudaStream_t. ---- */
#include <stddef.h>

#include "base/status.h"
#ifdef __cplusplus
extern "C" {
#endif

/* One node to evaluate: its histogram at hist[hist_offset + off[f] + bin] (the layout of
 * gbdt_hist.h), its sum, row count, fixed-point units, the row of the per-trial parameter array
 * and its candidate features feats[feats_begin .. feats_begin + n_feats) (in increasing order). */
typedef struct bt_gbdt_split_item {
    int64_t hist_offset;
    bt_gbdt_gh total; /* the node's sum, missing rows included */
    int64_t n_rows;
    double g_unit, h_unit;
    int32_t trial;
    int32_t feats_begin;
    int32_t n_feats;
    int32_t pad_;
} bt_gbdt_split_item;

/* Scratch bytes bt_gbdt_split_cuda needs for n_items nodes. */
size_t bt_gbdt_split_cuda_scratch_bytes(int32_t n_items);

/* What models/gbdt/grow.c's eval_node does on the histogram path, for every item at once: out =
 * reset split; unless n_rows < 2 or H < 2 min_child_weight (1 - 1e-9), root_gain = gain(total) and
 * bt_gbdt_split_scan_ref over each listed feature in list order. A feature's bins are
 * off[f+1] - off[f] - 1 (its missing code), its cuts cut_values[cut_ptr[f] ..], its minimum
 * min_values[f]; params[trial] holds the trial's lambda, alpha and min_child_weight. */
bt_status bt_gbdt_split_cuda(const bt_gbdt_gh *hist, const uint32_t *off, const uint32_t *cut_ptr,
                             const float *cut_values, const float *min_values, const int32_t *feats,
                             const bt_gbdt_split_param *params, const bt_gbdt_split_item *items,
                             int32_t n_items, void *scratch, bt_gbdt_split *out, void *stream);

#ifdef __cplusplus
}
#endif
#endif /* BT_HAVE_CUDA */

#endif
