/* What the two rounds of the CUDA gbdt pack share (round_host.c, round_graph.c): the trees a
 * round grows as the host keeps them -- allocation, the per-tree feature sample -- and the
 * read-back of the stepped slots' margins. */
#include "models/gbdt/trainer.h"

#if BT_HAVE_CUDA

#include <stdlib.h>

#include "models/gbdt/cuda/internal.h"

/* Frees tree w's host arrays (also a zeroed or partly allocated tree's). */
void bt_gcu_tgrow_free(tgrow *w) {
    free(w->nodes);
    free(w->beg);
    free(w->cnt);
    free(w->hslot);
    free(w->sum);
    free(w->level);
    free(w->next);
    free(w->feats_tree);
    free(w->feats_level);
    free(w->part_of);
}

static int tgrow_alloc(tgrow *w, int64_t n, int32_t F) {
    int64_t cap = (1ll << (w->s->max_depth + 1)) - 1; /* as grow.c sizes it */
    if (cap > 2 * n + 1) cap = 2 * n + 1;
    w->cap = (int32_t)cap;
    w->nodes = calloc((size_t)cap, sizeof *w->nodes);
    w->beg = calloc((size_t)cap, sizeof *w->beg);
    w->cnt = calloc((size_t)cap, sizeof *w->cnt);
    w->hslot = malloc((size_t)cap * sizeof *w->hslot);
    w->sum = calloc((size_t)cap, sizeof *w->sum);
    w->level = malloc((size_t)cap * sizeof *w->level);
    w->next = malloc((size_t)cap * sizeof *w->next);
    w->feats_tree = malloc((size_t)F * sizeof *w->feats_tree);
    w->feats_level = malloc((size_t)F * sizeof *w->feats_level);
    w->part_of = malloc((size_t)cap * sizeof *w->part_of);
    if (!(w->nodes && w->beg && w->cnt && w->hslot && w->sum && w->level && w->next &&
          w->feats_tree && w->feats_level && w->part_of))
        return 0;
    for (int32_t i = 0; i < w->cap; i++) w->hslot[i] = w->part_of[i] = -1;
    return 1;
}

/* Allocates tree w and draws its per-tree feature sample (colsample_bytree), as grow.c does;
 * fscratch holds 2 F + 8 words. */
bt_status bt_gcu_tgrow_begin(tgrow *w, int64_t n, int32_t F, uint64_t *fscratch) {
    if (!tgrow_alloc(w, n, F)) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory growing trees");
    const bt_gbdt_slot *s = w->s;
    uint64_t tree = (uint64_t)s->round * (uint64_t)s->n_out + (uint64_t)w->k;
    for (int32_t f = 0; f < F; f++) w->feats_level[f] = f;
    w->n_feats_tree = bt_gbdt_sample_features_ref(s->key, tree, 0, w->feats_level, F,
                                                  s->colsample_bytree, w->feats_tree, fscratch);
    return BT_STATUS_OK;
}

/* Queues the copies of the stepped slots' margins to their host slots (no wait): into the
 * pinned mirrors the slots' margins point at (slot_start), so they are DMAs that return at once
 * and may overlap other packs' work. */
bt_status bt_gcu_queue_margins(cuda_pack *c, bt_gbdt_slot **act, const int *act_slot,
                               const int *slot_ok, int n_act) {
    const int64_t n = c->n, nv = c->nv, K = c->K;
    for (int i = 0; i < n_act; i++) {
        bt_gbdt_slot *s = act[i];
        if (slot_ok && !slot_ok[i]) continue;
        CU(cudaMemcpyAsync(s->margin_train, c->margin_train + (int64_t)act_slot[i] * n * K,
                           (size_t)n * (size_t)s->n_out * sizeof(float), cudaMemcpyDeviceToHost,
                           c->stream));
        if (nv > 0)
            CU(cudaMemcpyAsync(s->margin_valid, c->margin_valid + (int64_t)act_slot[i] * nv * K,
                               (size_t)nv * (size_t)s->n_out * sizeof(float),
                               cudaMemcpyDeviceToHost, c->stream));
    }
    return BT_STATUS_OK;
}

#endif /* BT_HAVE_CUDA */
