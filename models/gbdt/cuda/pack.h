/* Test knobs of the CUDA gbdt pack (this folder) beyond those in trainer.h. Process-wide, read
 * once per pack at pack_init; built only with BT_HAVE_CUDA (and in the emulation). */
#ifndef BT_GBDT_PACK_CUDA_H
#define BT_GBDT_PACK_CUDA_H

/* Whether new CUDA packs grow a wave's levels on the device (kernels/gbdt_apply.h: every level,
 * the split application and the last partition as one graph, one host wait) instead of applying
 * each level's splits on the host (one graph and one wait per level). Default 1. */
void bt_gbdt_cuda_set_device_levels(int on);

#endif
