/* The mlp family on a CUDA device: bt_mlp_vtable (same name, parameters, metric rules, eval) with
 * the pack entries of pack_cuda.c. A second vtable rather than a device flag inside pack.c, so the
 * CPU pack keeps no CUDA code and the executor picks the device per sweep (bt_model_for_device). */
#include <stdlib.h>
#include <string.h>

#include "nn.h"

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

static bt_model_vtable cuda_vt;
static pthread_once_t cuda_vt_once = PTHREAD_ONCE_INIT;

/* bt_mlp_vtable's rule entries are static functions of vtable.c, so the copy is made at run
 * time, once. */
static void cuda_vt_init(void) {
    cuda_vt = bt_mlp_vtable;
    cuda_vt.data_free = bt_mlp_cuda_data_free;
    cuda_vt.pack_init = bt_mlp_cuda_pack_init;
    cuda_vt.pack_free = bt_mlp_cuda_pack_free;
    cuda_vt.slot_start = bt_mlp_cuda_slot_start;
    cuda_vt.slot_clear = bt_mlp_cuda_slot_clear;
    cuda_vt.step = bt_mlp_cuda_step;
    cuda_vt.pack_capacity = bt_mlp_cuda_pack_capacity;
    cuda_vt.concurrent_steps = 1; /* each pack owns its stream, cuBLAS handle and scratch */
    /* slot_failed, eval: pack.c's, on the host slots of the CUDA pack */
}

const bt_model_vtable *bt_mlp_cuda_vtable(void) {
    pthread_once(&cuda_vt_once, cuda_vt_init);
    return &cuda_vt;
}

#else

const bt_model_vtable *bt_mlp_cuda_vtable(void) {
    return NULL;
}

#endif
