/* Pack instances and their slots (exec_internal.h): a run holds a slot of a pack of its shape
 * while it has model state; packs are made as runs need them, sized to what the device can hold,
 * and placed on the sweep's GPUs in turn (pack instance k on GPU k mod G).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "runtime/exec/exec_internal.h"

/* A pack instance: one bt_pack of a shape. A shape's runs fill its instances' slots; another
 * instance of the same shape is made when they are all taken (the device had room for fewer, or
 * more runs are resident than the first one was sized for). */
static int64_t shape_slots(const bt_exec *e, int shape) {
    int64_t n = 0;
    for (int i = 0; i < e->slots.n_inst; i++)
        if (e->slots.inst[i].shape == shape) n += e->slots.inst[i].cap;
    return n;
}

/* Placement: pack instance k lives on the k-th GPU of the list, round and round. Instances are
 * made in the tick plan's order, which no device affects, and a trial's results do not depend on
 * its pack (its slot, its pack mates, the pack's size), so neither do they on the GPU count. */
static int placement_gpu(const bt_exec *e, int inst) {
    const bt_device_choice *c = &e->dev.choice;
    return c->cuda && c->n_gpus > 0 ? c->gpus[inst % c->n_gpus] : -1;
}

bt_status bt_exec_pack_bind(const bt_exec *e, int inst) {
    int gpu = e->slots.inst[inst].gpu;
    return gpu >= 0 ? bt_gpu_select(gpu) : BT_STATUS_OK;
}

static bt_status pack_new(bt_exec *e, int shape, int *out) {
    bt_sweep *sw = &e->sw;
    bt_exec_slots *s = &e->slots;
    bt_exec_pack *ni = bt_grow(s->inst, &s->cap_inst, s->n_inst + 1, sizeof *ni, 8);
    BT_CHECK_ALLOC(ni);
    s->inst = ni;
    /* as many slots as the shape's runs can occupy at once: every active run (<= concurrency)
     * plus the idle ones tick step 6 lets stay resident (< 2 x concurrency) */
    const int64_t shape_runs = bt_sweep_shape_runs(sw, shape);
    int64_t wanted = shape_runs - shape_slots(e, shape);
    if (wanted > 2 * e->concurrency) wanted = 2 * e->concurrency;
    /* several GPUs: a shape's runs are cut into one pack per GPU (the same share each), so a
     * single-shape sweep keeps every GPU busy */
    const int n_gpus = e->dev.choice.cuda ? e->dev.choice.n_gpus : 1;
    if (n_gpus > 1) {
        int64_t all = shape_runs < 2 * e->concurrency ? shape_runs : 2 * e->concurrency;
        int64_t share = (all + n_gpus - 1) / n_gpus;
        if (wanted > share) wanted = share;
    }
    if (e->o->pack_slots > 0 && wanted > e->o->pack_slots) wanted = e->o->pack_slots;
    if (wanted > INT32_MAX / 2) wanted = INT32_MAX / 2;
    if (wanted < 1) wanted = 1;
    const bt_hparams shape_hp = {sw->pack_hp[shape]};
    const int gpu = placement_gpu(e, s->n_inst);
    /* the pack binds to the current GPU (its memory, streams and data copy are made there) */
    if (gpu >= 0) BT_TRY(bt_gpu_select(gpu));
    int cap = (int)wanted;
    if (sw->packs->pack_capacity) cap = sw->packs->pack_capacity(&sw->data, &shape_hp, cap);
    if (cap < 1) cap = 1;
    if (cap > wanted) cap = (int)wanted;
    bt_pack *pk = NULL;
    bt_status st = sw->packs->pack_init(&pk, &sw->data, &shape_hp, cap);
    /* a device pack that does not fit after all (the estimate was short, or another process took
     * memory) shrinks rather than failing the sweep: packing never changes results */
    while (st != BT_STATUS_OK && sw->packs->pack_capacity && cap > 1) {
        cap /= 2;
        bt_status_clear();
        st = sw->packs->pack_init(&pk, &sw->data, &shape_hp, cap);
    }
    BT_TRY(st);
    bt_exec_pack *pi = &s->inst[s->n_inst];
    memset(pi, 0, sizeof *pi);
    pi->pack = pk;
    pi->shape = shape;
    pi->cap = cap;
    pi->gpu = gpu;
    pi->free = malloc((size_t)cap * sizeof *pi->free);
    if (!pi->free) {
        sw->packs->pack_free(pk);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    for (int i = 0; i < cap; i++) pi->free[i] = cap - 1 - i;
    pi->n_free = cap;
    *out = s->n_inst++;
    char f[160];
    int k = snprintf(f, sizeof f, "\"pack\":%d,\"shape\":%d,\"slots\":%d,\"wanted\":%" PRId64, *out,
                     shape, cap, wanted);
    if (gpu >= 0 && k > 0 && (size_t)k < sizeof f)
        snprintf(f + k, sizeof f - (size_t)k, ",\"device\":\"cuda:%d\"", gpu & 0xffff);
    bt_progress_event(&e->prog, "pack_init", f);
    return BT_STATUS_OK;
}

/* Starts the run of `leader` (hyperparameters hpv) in its slot: from its snapshot when there is
 * one, else fresh. */
static bt_status slot_fill(bt_exec *e, int64_t leader, const bt_value *hpv) {
    bt_exec_run *r = &e->runs[leader];
    bt_exec_pack *pi = &e->slots.inst[r->inst];
    const bt_hparams hp = {hpv};
    const uint64_t key = bt_sweep_trial_key(&e->sw, leader);
    const bt_pack_ops *ops = e->sw.packs;
    r->state_res = 0;
    /* a snapshot of this run, at most as far as the journal says it got: restore it (the rest of
     * the way is retrained, and catch_up still checks where it lands) */
    bt_snapshot_entry *se = e->snap.of ? e->snap.of[leader] : NULL;
    if (se) {
        e->snap.of[leader] = NULL;
        if (ops->slot_restore && se->resource > 0 && se->resource <= r->resource) {
            if (ops->slot_restore(pi->pack, r->slot, &hp, key, se->blob, se->len) == BT_STATUS_OK) {
                r->state_res = se->resource;
                e->snap.n_restored++;
                e->snap.units_restored += se->resource;
            } else {
                bt_exec_warn(e, "%s: trial %" PRId64 ": %s; retraining it", e->snap.path, leader,
                             bt_status_message());
                bt_status_clear();
            }
        }
        free(se->blob);
        se->blob = NULL;
        if (r->state_res > 0) return BT_STATUS_OK;
    }
    return ops->slot_start(pi->pack, r->slot, &hp, key);
}

bt_status bt_exec_slot_acquire(bt_exec *e, int64_t leader) {
    bt_exec_run *r = &e->runs[leader];
    if (r->slot >= 0) return BT_STATUS_OK;
    int shape = e->sw.trials[leader].pack, inst = -1;
    for (int i = 0; i < e->slots.n_inst && inst < 0; i++)
        if (e->slots.inst[i].shape == shape && e->slots.inst[i].n_free > 0) inst = i;
    if (inst < 0) BT_TRY(pack_new(e, shape, &inst));
    bt_exec_pack *pi = &e->slots.inst[inst];
    BT_TRY(bt_exec_pack_bind(e, inst));
    bt_value *hp = calloc((size_t)e->sw.family->n_params, sizeof *hp);
    BT_CHECK_ALLOC(hp);
    bt_status st = bt_sweep_hp(&e->sw, leader, hp);
    if (st == BT_STATUS_OK) {
        r->inst = inst;
        r->slot = pi->free[--pi->n_free];
        r->gpu = pi->gpu;
        st = slot_fill(e, leader, hp);
    }
    free(hp);
    return st;
}

void bt_exec_slot_release(bt_exec *e, int64_t leader) {
    bt_exec_run *r = &e->runs[leader];
    if (r->slot < 0) return;
    bt_exec_pack *pi = &e->slots.inst[r->inst];
    if (bt_exec_pack_bind(e, r->inst) != BT_STATUS_OK) bt_status_clear(); /* the pack binds too */
    e->sw.packs->slot_clear(pi->pack, r->slot);
    pi->free[pi->n_free++] = r->slot;
    r->slot = -1;
    r->inst = -1;
    r->state_res = 0;
}

void bt_exec_slots_free(bt_exec *e) {
    bt_exec_slots *s = &e->slots;
    bt_pool_free(s->pool);
    for (int i = 0; i < s->n_inst; i++) {
        if (bt_exec_pack_bind(e, i) != BT_STATUS_OK) bt_status_clear();
        e->sw.packs->pack_free(s->inst[i].pack);
        free(s->inst[i].free);
    }
    free(s->inst);
    free(s->jobs);
    free(s->step_slots);
    free(s->step_leaders);
    memset(s, 0, sizeof *s);
}
