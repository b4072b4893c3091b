/* The optimizers' update step, batched over trial slots: SGD (momentum, Nesterov), Adam, AdamW,
 * RMSprop, each with weight decay, following PyTorch's definitions (torch.optim, foreach=False).
 * Each slot has its own hyperparameters (its optimizer included) and its own state buffers.
 * Ownership: callers own every buffer. */
#ifndef BT_KERNEL_NN_OPTIM_H
#define BT_KERNEL_NN_OPTIM_H

#include <stdint.h>

typedef enum bt_nn_opt {
    BT_NN_OPT_SGD = 0,
    BT_NN_OPT_ADAM,
    BT_NN_OPT_ADAMW,
    BT_NN_OPT_RMSPROP
} bt_nn_opt;

/* The optimizer named `name` ("sgd", "adam", "adamw", "rmsprop"), or -1. */
int bt_nn_opt_from_name(const char *name);

typedef struct bt_nn_optim_hp {
    bt_nn_opt kind;
    float lr;           /* this step's learning rate (after the schedule) */
    float momentum;     /* sgd, rmsprop */
    int nesterov;       /* sgd */
    float beta1, beta2; /* adam, adamw */
    float alpha;        /* rmsprop's square-average decay */
    float eps;          /* adam, adamw, rmsprop */
    float weight_decay; /* L2 added to the gradient; decoupled (w *= 1 - lr wd) for adamw */
} bt_nn_optim_hp;

/* One update of n parameters per slot. t[s] >= 1 is the slot's step number (Adam's bias
 * correction). State: m[s] (momentum buffer, Adam's first moment), v[s] (second moment / square
 * average), both zero before the first step. g[s] is read only. */
void bt_nn_optim_step_ref(int n_slots, int64_t n, const bt_nn_optim_hp *hp, const int64_t *t,
                          float *const *w, const float *const *g, float *const *m, float *const *v);

#if BT_HAVE_CUDA
/* ---- CUDA twin (kernels/cuda/nn_optim.cu): one fused launch updates n parameters of every slot,
 * each slot with its own optimizer and hyperparameters. hp and t are device arrays of n_slots
 * entries, w, g, m, v device arrays of device pointers; active (may be NULL: every slot) a device
 * array of n_slots flags, slots whose flag is 0 are left untouched. Every float operation of the
 * reference is rounded as written (no fused multiply-adds; IEEE sqrtf and division), so SGD and
 * RMSprop are bit-identical; Adam's bias corrections use the device's double pow. ----------- */
#include "base/status.h"
#ifdef __cplusplus
extern "C" {
#endif

bt_status bt_nn_optim_step_cuda(int n_slots, int64_t n, const bt_nn_optim_hp *hp, const int64_t *t,
                                float *const *w, const float *const *g, float *const *m,
                                float *const *v, const int32_t *active, void *stream);

#ifdef __cplusplus
}
#endif
#endif /* BT_HAVE_CUDA */

#endif
