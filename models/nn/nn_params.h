/* Parameter-table building blocks of the nn families: value initializers and the block of
 * training parameters (optimizer, schedule, smoothing, epochs, seed) every nn family ends its
 * table with, written once here so mlp and resnet document and validate them identically.
 * Internal to models/nn (params.c, resnet_params.c). */
#ifndef BT_NN_PARAMS_H
#define BT_NN_PARAMS_H

#include <math.h>

#include "models/nn/nn.h"

extern const char *const bt_nn_optimizer_names[]; /* sgd, nesterov, adam, adamw, rmsprop */
extern const char *const bt_nn_schedule_names[];  /* constant, step, cosine */

#define BT_NN_F(x)                                                                                 \
    { BT_VALUE_FLOAT, 0, (x), 0 }
#define BT_NN_I(x)                                                                                 \
    { BT_VALUE_INT, (x), (double)(x), 0 }
#define BT_NN_S(x)                                                                                 \
    { BT_VALUE_STRING, 0, 0.0, (x) }
#define BT_NN_B(x)                                                                                 \
    { BT_VALUE_BOOL, (x), (double)(x), 0 }

/* Designated initializers of the shared block at indices base + BT_NN_C_*. */
/* clang-format off */
#define BT_NN_COMMON_PARAMS(base)                                                                  \
    [(base) + BT_NN_C_OPTIMIZER] = {"optimizer", {"solver", NULL}, BT_PTYPE_STRING, 0, 0,          \
        BT_NN_S("adam"), bt_nn_optimizer_names, 0,                                                 \
        "update rule (nesterov: sgd with Nesterov momentum)"},                                     \
    [(base) + BT_NN_C_LR] = {"lr", {"learning_rate", NULL}, BT_PTYPE_FLOAT, 0, 100,                \
        BT_NN_F(1e-3), NULL, 0, "base learning rate (> 0)"},                                       \
    [(base) + BT_NN_C_MOMENTUM] = {"momentum", {NULL}, BT_PTYPE_FLOAT, 0, 0.9999, BT_NN_F(0.9),    \
        NULL, 0, "momentum of sgd and rmsprop"},                                                   \
    [(base) + BT_NN_C_NESTEROV] = {"nesterov", {NULL}, BT_PTYPE_BOOL, 0, 1, BT_NN_B(0), NULL, 0,   \
        "Nesterov momentum (sgd)"},                                                                \
    [(base) + BT_NN_C_BETA1] = {"beta1", {NULL}, BT_PTYPE_FLOAT, 0, 0.9999, BT_NN_F(0.9), NULL, 0, \
        "first-moment decay (adam, adamw)"},                                                       \
    [(base) + BT_NN_C_BETA2] = {"beta2", {NULL}, BT_PTYPE_FLOAT, 0, 0.99999, BT_NN_F(0.999), NULL, \
        0, "second-moment decay (adam, adamw)"},                                                   \
    [(base) + BT_NN_C_ALPHA] = {"alpha", {"rho", NULL}, BT_PTYPE_FLOAT, 0, 0.99999, BT_NN_F(0.99), \
        NULL, 0, "square-average decay (rmsprop)"},                                                \
    [(base) + BT_NN_C_EPS] = {"eps", {"epsilon", NULL}, BT_PTYPE_FLOAT, 1e-30, 1, BT_NN_F(1e-8),   \
        NULL, 0, "denominator term (adam, adamw, rmsprop)"},                                       \
    [(base) + BT_NN_C_WEIGHT_DECAY] = {"weight_decay", {"l2", NULL}, BT_PTYPE_FLOAT, 0, INFINITY,  \
        BT_NN_F(0), NULL, 0, "L2 penalty added to the gradient; decoupled for adamw"},             \
    [(base) + BT_NN_C_LR_SCHEDULE] = {"lr_schedule", {"scheduler_type", NULL}, BT_PTYPE_STRING, 0, \
        0, BT_NN_S("constant"), bt_nn_schedule_names, 0,                                           \
        "per-epoch learning-rate schedule after warmup"},                                          \
    [(base) + BT_NN_C_WARMUP_EPOCHS] = {"warmup_epochs", {NULL}, BT_PTYPE_INT, 0, 1e6,             \
        BT_NN_I(0), NULL, 0, "epochs of linear warmup (lr (e + 1) / warmup_epochs in epoch e)"},   \
    [(base) + BT_NN_C_STEP_SIZE] = {"step_size", {NULL}, BT_PTYPE_INT, 1, 1e6, BT_NN_I(10), NULL,  \
        0, "epochs between decays of the step schedule"},                                          \
    [(base) + BT_NN_C_GAMMA] = {"gamma", {"lr_gamma", NULL}, BT_PTYPE_FLOAT, 0, 1, BT_NN_F(0.1),   \
        NULL, 0, "decay factor of the step schedule"},                                             \
    [(base) + BT_NN_C_T_MAX] = {"t_max", {"cosine_epochs", NULL}, BT_PTYPE_INT, 0, 1e7,            \
        BT_NN_I(0), NULL, 0,                                                                       \
        "epochs the cosine schedule spans, warmup included (0 = the trial's epochs)"},             \
    [(base) + BT_NN_C_LABEL_SMOOTHING] = {"label_smoothing", {NULL}, BT_PTYPE_FLOAT, 0, 0.999,     \
        BT_NN_F(0), NULL, 0, "target = (1 - s) onehot + s / classes"},                             \
    [(base) + BT_NN_C_EPOCHS] = {"epochs", {"num_epochs", "max_epochs", NULL}, BT_PTYPE_INT, 1,    \
        1e7, BT_NN_I(20), NULL, 0,                                                                 \
        "passes over the train set: the resource (and the cosine schedule's horizon)"},            \
    [(base) + BT_NN_C_SEED] = {"seed", {"random_state", NULL}, BT_PTYPE_INT, 0, 4294967295.0,      \
        BT_NN_I(0), NULL, 0,                                                                       \
        "extra seed mixed into the trial's key (init, shuffling, dropout, augmentation)"}
/* clang-format on */

#endif
