/* The nn families on a CUDA device: bt_mlp_vtable and bt_resnet_vtable (same names, parameters,
 * metric rules, eval) with the pack entries of pack_cuda.c and resnet_cuda.c. Second vtables
 * rather than a device flag inside the CPU packs, so those keep no CUDA code and the executor
 * picks the device per sweep (bt_model_for_device). */
#include <stdlib.h>
#include <string.h>

#include "models/nn/nn.h"
#include "models/nn/resnet.h"

int bt_mlp_cuda_enabled(void) {
    const char *e = getenv("BT_MLP_CUDA");
    return BT_HAVE_CUDA && e && strcmp(e, "1") == 0;
}

#if BT_HAVE_CUDA

#include <pthread.h>

/* pack_cuda.c */
void bt_mlp_cuda_data_free(bt_model_data *data);
bt_status bt_mlp_cuda_pack_init(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                                int capacity);
void bt_mlp_cuda_pack_free(bt_pack *p);
bt_status bt_mlp_cuda_slot_start(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key);
void bt_mlp_cuda_slot_clear(bt_pack *p, int slot);
bt_status bt_mlp_cuda_step(bt_pack *p, const int *slots, int n_slots);
int bt_mlp_cuda_pack_capacity(const bt_model_data *data, const bt_hparams *shape_hp, int wanted);
bt_status bt_mlp_cuda_slot_save(bt_pack *p, int slot, void **buf, size_t *len);
bt_status bt_mlp_cuda_slot_restore(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key,
                                   const void *buf, size_t len);

/* resnet_cuda.c */
bt_status bt_resnet_cuda_pack_init(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                                   int capacity);
void bt_resnet_cuda_pack_free(bt_pack *p);
bt_status bt_resnet_cuda_slot_start(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key);
void bt_resnet_cuda_slot_clear(bt_pack *p, int slot);
bt_status bt_resnet_cuda_step(bt_pack *p, const int *slots, int n_slots);
int bt_resnet_cuda_pack_capacity(const bt_model_data *data, const bt_hparams *shape_hp, int wanted);
bt_status bt_resnet_cuda_slot_save(bt_pack *p, int slot, void **buf, size_t *len);
bt_status bt_resnet_cuda_slot_restore(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key,
                                      const void *buf, size_t len);

static bt_model_vtable mlp_vt, resnet_vt;
static pthread_once_t cuda_vt_once = PTHREAD_ONCE_INIT;

/* The CPU vtables' rule entries are static functions of vtable.c and resnet_vtable.c, so the
 * copies are made at run time, once. slot_failed and eval stay the CPU packs', on the host slots
 * of the CUDA packs. */
static void cuda_vt_init(void) {
    mlp_vt = bt_mlp_vtable;
    /* the per-device copies of the standardized data hang off the data cache */
    mlp_vt.data_free = bt_mlp_cuda_data_free;
    mlp_vt.pack_init = bt_mlp_cuda_pack_init;
    mlp_vt.pack_free = bt_mlp_cuda_pack_free;
    mlp_vt.slot_start = bt_mlp_cuda_slot_start;
    mlp_vt.slot_clear = bt_mlp_cuda_slot_clear;
    mlp_vt.step = bt_mlp_cuda_step;
    mlp_vt.pack_capacity = bt_mlp_cuda_pack_capacity;
    mlp_vt.slot_save = bt_mlp_cuda_slot_save; /* same blobs as the CPU pack's */
    mlp_vt.slot_restore = bt_mlp_cuda_slot_restore;
    mlp_vt.concurrent_steps = 1; /* each pack owns its stream, cuBLAS handle and scratch */

    resnet_vt = bt_resnet_vtable;
    /* data_prepare, data_free: the shared nn ones (the device copies of the images belong to
     * each pack, not to the data cache) */
    resnet_vt.pack_init = bt_resnet_cuda_pack_init;
    resnet_vt.pack_free = bt_resnet_cuda_pack_free;
    resnet_vt.slot_start = bt_resnet_cuda_slot_start;
    resnet_vt.slot_clear = bt_resnet_cuda_slot_clear;
    resnet_vt.step = bt_resnet_cuda_step;
    resnet_vt.pack_capacity = bt_resnet_cuda_pack_capacity;
    resnet_vt.slot_save = bt_resnet_cuda_slot_save;
    resnet_vt.slot_restore = bt_resnet_cuda_slot_restore;
    resnet_vt.concurrent_steps = 1;
}

const bt_model_vtable *bt_mlp_cuda_vtable(void) {
    pthread_once(&cuda_vt_once, cuda_vt_init);
    return &mlp_vt;
}

const bt_model_vtable *bt_resnet_cuda_vtable(void) {
    pthread_once(&cuda_vt_once, cuda_vt_init);
    return &resnet_vt;
}

#else

const bt_model_vtable *bt_mlp_cuda_vtable(void) {
    return NULL;
}

const bt_model_vtable *bt_resnet_cuda_vtable(void) {
    return NULL;
}

#endif
