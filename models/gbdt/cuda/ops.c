/* The gbdt family on a CUDA device: bt_gbdt_vtable (same name, parameters, metric rules, eval and
 * export) with the pack entries of pack_cuda.c. A second vtable rather than a device flag inside
 * pack.c, so the CPU pack stays free of CUDA and the executor picks the device per pack. */
#include "models/gbdt/trainer.h"

#if BT_HAVE_CUDA

#include <pthread.h>

static bt_model_vtable cuda_vt;
static pthread_once_t cuda_vt_once = PTHREAD_ONCE_INIT;

/* bt_gbdt_vtable's other entries are static functions of vtable.c, so the copy is made at run
 * time, once. */
static void cuda_vt_init(void) {
    cuda_vt = bt_gbdt_vtable;
    cuda_vt.data_free = bt_gbdt_cuda_data_free;
    cuda_vt.pack_init = bt_gbdt_cuda_pack_init;
    cuda_vt.pack_free = bt_gbdt_cuda_pack_free;
    cuda_vt.slot_start = bt_gbdt_cuda_slot_start;
    cuda_vt.slot_clear = bt_gbdt_cuda_slot_clear;
    cuda_vt.step = bt_gbdt_cuda_step;
    cuda_vt.pack_capacity = bt_gbdt_cuda_pack_capacity;
    /* each pack owns its stream, device buffers and host scratch */
    cuda_vt.concurrent_steps = 1;
    /* slot_failed, eval, export_model: pack.c's, on the host copies of the CUDA pack */
}

const bt_model_vtable *bt_gbdt_cuda_vtable(void) {
    pthread_once(&cuda_vt_once, cuda_vt_init);
    return &cuda_vt;
}

#else

const bt_model_vtable *bt_gbdt_cuda_vtable(void) {
    return NULL;
}

#endif
