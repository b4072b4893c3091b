/* The pack operations of a model family on one kind of device: one static table per (family,
 * device) -- the CPU's beside each family (bt_model_family.cpu), a GPU's in the family's cuda/
 * folder, handed over by the CUDA module -- never a copy of another table with entries patched.
 * A pack holds up to `capacity` trials in slots that share one dataset and one shape; the
 * executor puts trials into slots, advances the active ones one resource unit (a boosting round,
 * an epoch) at a time and reads their validation metrics.
 * Ownership: a pack owns its per-trial state; it borrows the bt_model_data it was created with,
 * which must outlive it. Tables are static and never freed. */
#ifndef BT_PACK_H
#define BT_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "models/model.h"

struct bt_pack_ops {
    const char *device; /* "cpu", "cuda" */
    /* 1 for a pack not yet verified on its device: offered only when the user asks for every GPU
     * pack (execution.gpu_packs / --gpu-packs all; docs/sweep-format.md). */
    int experimental;

    /* A pack of `capacity` slots; shape_hp fixes the shape parameters every slot shares. */
    bt_status (*pack_init)(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                           int capacity);
    void (*pack_free)(bt_pack *p);
    /* Starts a fresh trial in slot (resource 0); key = bt_philox_key(sweep seed, trial id). */
    bt_status (*slot_start)(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key);
    void (*slot_clear)(bt_pack *p, int slot);
    /* Advances the listed slots by one resource unit each, together. A slot that diverges (NaN)
     * is marked failed (see slot_failed) without failing the call. */
    bt_status (*step)(bt_pack *p, const int *slots, int n_slots);
    int (*slot_failed)(const bt_pack *p, int slot);
    /* Validation value of `metric` for slot at its current resource. */
    bt_status (*eval)(bt_pack *p, int slot, const char *metric, double *out);

    /* Optional (NULL: `wanted`). The largest pack capacity <= wanted that fits the device now,
     * from its free memory and the family's per-trial estimate; at least 1. Device packs only. */
    int (*pack_capacity)(const bt_model_data *data, const bt_hparams *shape_hp, int wanted);
    /* 1 when packs may be stepped from different host threads at once (each pack owns its stream
     * and scratch: GPU packs); 0 for CPU packs, which thread internally. */
    int concurrent_steps;

    /* Optional snapshots (both NULL: a resume retrains the runs instead, e.g. gbdt).
     * slot_save: slot's whole training state -- everything a further step or eval reads -- as a
     * malloc'd blob (*buf, *len), versioned and tagged with the family and the pack's shape.
     * slot_restore: starts slot from such a blob of the same trial (hp, key), in place of
     * slot_start; the slot is then exactly where it was saved, so stepping it on gives the same
     * bits as a slot never interrupted. A blob that does not fit (another family, shape, trial or
     * format version; truncated) is refused with BT_STATUS_BAD_INPUT and leaves the slot empty. */
    bt_status (*slot_save)(bt_pack *p, int slot, void **buf, size_t *len);
    bt_status (*slot_restore)(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key,
                              const void *buf, size_t len);

    /* Optional. What the user should know about this pack now, or NULL: e.g. a GPU pack that had
     * to leave its fast math mode ("... cuBLAS runs in FP32 instead of TF32"). Read after each
     * step from the thread that owns the sweep; the string is the pack's. */
    const char *(*note)(const bt_pack *p);

    /* Optional. Releases what packs of this device added to data->shared (device copies of the
     * data), leaving the rest for the family's data_free, which runs after it. */
    void (*data_release)(bt_model_data *data);
};

#endif
