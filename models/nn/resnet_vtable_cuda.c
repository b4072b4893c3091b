/* The resnet family on a CUDA device: bt_resnet_vtable (same name, parameters, metric rules,
 * eval) with the pack entries of resnet_cuda.c, given by bt_model_for_device like the mlp's
 * (vtable_cuda.c): the CPU pack keeps no CUDA code. */
#include "resnet.h"

#if BT_HAVE_CUDA

#include <pthread.h>

/* resnet_cuda.c */
bt_status bt_resnet_cuda_pack_init(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                                   int capacity);
void bt_resnet_cuda_pack_free(bt_pack *p);
bt_status bt_resnet_cuda_slot_start(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key);
void bt_resnet_cuda_slot_clear(bt_pack *p, int slot);
bt_status bt_resnet_cuda_step(bt_pack *p, const int *slots, int n_slots);
int bt_resnet_cuda_pack_capacity(const bt_model_data *data, const bt_hparams *shape_hp, int wanted);

static bt_model_vtable cuda_vt;
static pthread_once_t cuda_vt_once = PTHREAD_ONCE_INIT;

/* bt_resnet_vtable's rule entries are static functions of resnet_vtable.c, so the copy is made
 * at run time, once. */
static void cuda_vt_init(void) {
    cuda_vt = bt_resnet_vtable;
    cuda_vt.pack_init = bt_resnet_cuda_pack_init;
    cuda_vt.pack_free = bt_resnet_cuda_pack_free;
    cuda_vt.slot_start = bt_resnet_cuda_slot_start;
    cuda_vt.slot_clear = bt_resnet_cuda_slot_clear;
    cuda_vt.step = bt_resnet_cuda_step;
    cuda_vt.pack_capacity = bt_resnet_cuda_pack_capacity;
    cuda_vt.concurrent_steps = 1; /* each pack owns its stream, cuBLAS handle and scratch */
    /* slot_failed, eval, data_prepare, data_free: resnet_pack.c's / the shared nn ones (the
     * device copies of the images belong to each pack, not to the data cache) */
}

const bt_model_vtable *bt_resnet_cuda_vtable(void) {
    pthread_once(&cuda_vt_once, cuda_vt_init);
    return &cuda_vt;
}

#else

const bt_model_vtable *bt_resnet_cuda_vtable(void) {
    return NULL;
}

#endif
