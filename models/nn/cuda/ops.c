/* The nn families' pack operations on a CUDA device: the mlp's (mlp_pack.c of this folder) and
 * the resnet's (resnet_pack.c), with the CPU packs' slot_failed and eval, which read the host
 * slots the CUDA packs keep. Both are experimental (offered only with execution.gpu_packs
 * "all") until they have run on a GPU. Built only with CUDA. */
#include "models/nn/nn.h"
#include "models/nn/resnet.h"

#if BT_HAVE_CUDA

/* mlp_pack.c */
void bt_mlp_cuda_data_release(bt_model_data *data);
bt_status bt_mlp_cuda_pack_init(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                                int capacity);
void bt_mlp_cuda_pack_free(bt_pack *p);
bt_status bt_mlp_cuda_slot_start(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key);
void bt_mlp_cuda_slot_clear(bt_pack *p, int slot);
bt_status bt_mlp_cuda_step(bt_pack *p, const int *slots, int n_slots);
const char *bt_mlp_cuda_note(const bt_pack *p);
int bt_mlp_cuda_pack_capacity(const bt_model_data *data, const bt_hparams *shape_hp, int wanted);
bt_status bt_mlp_cuda_slot_save(bt_pack *p, int slot, void **buf, size_t *len);
bt_status bt_mlp_cuda_slot_restore(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key,
                                   const void *buf, size_t len);

/* resnet_pack.c */
bt_status bt_resnet_cuda_pack_init(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                                   int capacity);
void bt_resnet_cuda_pack_free(bt_pack *p);
bt_status bt_resnet_cuda_slot_start(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key);
void bt_resnet_cuda_slot_clear(bt_pack *p, int slot);
bt_status bt_resnet_cuda_step(bt_pack *p, const int *slots, int n_slots);
const char *bt_resnet_cuda_note(const bt_pack *p);
int bt_resnet_cuda_pack_capacity(const bt_model_data *data, const bt_hparams *shape_hp, int wanted);
bt_status bt_resnet_cuda_slot_save(bt_pack *p, int slot, void **buf, size_t *len);
bt_status bt_resnet_cuda_slot_restore(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key,
                                      const void *buf, size_t len);

const bt_pack_ops bt_mlp_cuda_packs = {
    .device = "cuda",
    .experimental = 1,
    .pack_init = bt_mlp_cuda_pack_init,
    .pack_free = bt_mlp_cuda_pack_free,
    .slot_start = bt_mlp_cuda_slot_start,
    .slot_clear = bt_mlp_cuda_slot_clear,
    .step = bt_mlp_cuda_step,
    .slot_failed = bt_mlp_slot_failed,
    .eval = bt_mlp_eval,
    .pack_capacity = bt_mlp_cuda_pack_capacity,
    .concurrent_steps = 1,              /* each pack owns its stream, cuBLAS handle and scratch */
    .slot_save = bt_mlp_cuda_slot_save, /* same blobs as the CPU pack's */
    .slot_restore = bt_mlp_cuda_slot_restore,
    .note = bt_mlp_cuda_note, /* a GEMM operand that forced FP32 (common.c) */
    /* the per-device copies of the standardized data hang off the data cache */
    .data_release = bt_mlp_cuda_data_release,
};

/* The device copies of the images belong to each pack, not to the data cache: no data_release. */
const bt_pack_ops bt_resnet_cuda_packs = {
    .device = "cuda",
    .experimental = 1,
    .pack_init = bt_resnet_cuda_pack_init,
    .pack_free = bt_resnet_cuda_pack_free,
    .slot_start = bt_resnet_cuda_slot_start,
    .slot_clear = bt_resnet_cuda_slot_clear,
    .step = bt_resnet_cuda_step,
    .slot_failed = bt_resnet_slot_failed,
    .eval = bt_resnet_eval,
    .pack_capacity = bt_resnet_cuda_pack_capacity,
    .concurrent_steps = 1,
    .slot_save = bt_resnet_cuda_slot_save,
    .slot_restore = bt_resnet_cuda_slot_restore,
    .note = bt_resnet_cuda_note,
};

#else
typedef int bt_nn_cuda_ops_unused; /* ISO C: a translation unit is not empty */
#endif
