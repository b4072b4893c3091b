/* The gbdt family's pack operations on a CUDA device: the entries of the CUDA pack (pack.c of
 * this folder) and, for what reads only the host copies a CUDA pack keeps (slot_failed, eval),
 * the CPU pack's own functions. Built only with CUDA. */
#include "models/gbdt/trainer.h"

#if BT_HAVE_CUDA

const bt_pack_ops bt_gbdt_cuda_packs = {
    .device = "cuda",
    .pack_init = bt_gbdt_cuda_pack_init,
    .pack_free = bt_gbdt_cuda_pack_free,
    .slot_start = bt_gbdt_cuda_slot_start,
    .slot_clear = bt_gbdt_cuda_slot_clear,
    .step = bt_gbdt_cuda_step,
    .slot_failed = bt_gbdt_slot_failed,
    .eval = bt_gbdt_eval,
    .note = bt_gbdt_note,
    .pack_capacity = bt_gbdt_cuda_pack_capacity,
    /* each pack owns its stream, device buffers and host scratch */
    .concurrent_steps = 1,
    .data_release = bt_gbdt_cuda_data_release,
};

#else
typedef int bt_gbdt_cuda_ops_unused; /* ISO C: a translation unit is not empty */
#endif
