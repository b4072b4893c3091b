/* Device-side bookkeeping between two levels of a CUDA round: once a level's nodes are partitioned,
 * each sibling pair of the next level learns its children's row ranges from the parent's left
 * count, picks the smaller child to build from rows (the larger one is the parent's histogram
 * minus it) and fills the next level's launch items -- so the host need not wait for the
 * partition before launching the next level. Integer work only: exact by construction.
 * Ownership: callers own every buffer; nothing is allocated here. */
#ifndef BT_KERNEL_GBDT_LEVEL_H
#define BT_KERNEL_GBDT_LEVEL_H

#include <stdint.h>

#include "kernels/philox.h" /* BT_HD */

/* A sibling pair whose parent was just partitioned. part < 0 marks padding. */
typedef struct bt_gbdt_level_pair {
    int64_t seg;                       /* the tree's segment of the row lists and gradients */
    int64_t parent_begin, parent_rows; /* the parent's rows, within the segment */
    int64_t parent_hist, new_hist;     /* the parent's histogram offset and a free one */
    int32_t part;                    /* the parent's partition item: n_left[part] rows went left */
    int32_t split_left, split_right; /* the children's split items (filled by the CUDA twin) */
    int32_t pad_;
} bt_gbdt_level_pair;

/* What a pair resolves to: the smaller child (ties: the left one, as
 * models/gbdt/cuda/round_host.c's host bookkeeping decides) is built from its rows into new_hist,
 * the larger one inherits the parent's histogram; each child's histogram offset and row count. */
typedef struct bt_gbdt_level_out {
    int64_t small_begin, small_rows; /* within the segment */
    int64_t left_hist, left_rows, right_hist, right_rows;
} bt_gbdt_level_out;

/* One pair; a left count outside [0, parent_rows] is clamped (the host checks the count it
 * reads back). Padding resolves to all zeros. */
BT_HD bt_gbdt_level_out bt_gbdt_level_resolve(bt_gbdt_level_pair p, int64_t n_left) {
    bt_gbdt_level_out o = {0, 0, 0, 0, 0, 0};
    if (p.part < 0) return o;
    int64_t nl = n_left < 0 ? 0 : n_left > p.parent_rows ? p.parent_rows : n_left;
    int64_t nr = p.parent_rows - nl;
    int left_small = nl <= nr;
    o.small_begin = left_small ? p.parent_begin : p.parent_begin + nl;
    o.small_rows = left_small ? nl : nr;
    o.left_hist = left_small ? p.new_hist : p.parent_hist;
    o.right_hist = left_small ? p.parent_hist : p.new_hist;
    o.left_rows = nl;
    o.right_rows = nr;
    return o;
}

/* out[i] = bt_gbdt_level_resolve(pairs[i], n_left[pairs[i].part]) (kernels/cpu/gbdt_level.c). */
void bt_gbdt_level_prepare_ref(const bt_gbdt_level_pair *pairs, int32_t n_pairs,
                               const int64_t *n_left, bt_gbdt_level_out *out);

#if BT_HAVE_CUDA
/* ---- CUDA twin (kernels/cuda/gbdt_level.cu). Device pointers; stream is a cudaStream_t. ---- */
#include "kernels/gbdt_hist.h"
#include "kernels/gbdt_split.h"
#include "base/status.h"
#ifdef __cplusplus
extern "C" {
#endif

/* For every pair i with o = bt_gbdt_level_resolve(pairs[i], n_left[pairs[i].part]), the next
 * level's launch items: zero[i] = {new_hist, T}, build[i] = {seg + o.small_begin, o.small_rows,
 * seg, new_hist}, sub[i] = {parent_hist, new_hist}; split[split_left] gets hist_offset
 * o.left_hist and n_rows o.left_rows, split[split_right] the right ones (their other fields are
 * the caller's). Padding pairs get no-op items: zero {0, 0}, build {0, 0, 0, 0}, sub {-1, 0}. */
bt_status bt_gbdt_level_prepare_cuda(const bt_gbdt_level_pair *pairs, int32_t n_pairs,
                                     const int64_t *n_left, int64_t T, bt_gbdt_hist_zero_item *zero,
                                     bt_gbdt_hist_item *build, bt_gbdt_hist_sub_item *sub,
                                     bt_gbdt_split_item *split, void *stream);

#ifdef __cplusplus
}
#endif
#endif /* BT_HAVE_CUDA */

#endif
