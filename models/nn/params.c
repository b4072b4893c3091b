/* The mlp parameter table: names, aliases, defaults and ranges of every hyperparameter of a
 * multilayer perceptron trial. Shape parameters (width, depth, activation, batch_norm,
 * batch_size) split trials into packs; everything else varies per slot. */
#include <math.h>

#include "nn.h"

static const char *const objectives[] = {"classification", "regression", "multi:softprob",
                                         "reg:squarederror", NULL};
static const char *const activations[] = {"relu", "tanh", "gelu", NULL};
static const char *const optimizers[] = {"sgd", "adam", "adamw", "rmsprop", NULL};
static const char *const schedules[] = {"constant", "step", "cosine", NULL};

#define F(x)                                                                                       \
    { BT_VALUE_FLOAT, 0, (x), 0 }
#define I(x)                                                                                       \
    { BT_VALUE_INT, (x), (double)(x), 0 }
#define S(x)                                                                                       \
    { BT_VALUE_STRING, 0, 0.0, (x) }
#define B(x)                                                                                       \
    { BT_VALUE_BOOL, (x), (double)(x), 0 }

/* clang-format off */
const bt_model_param bt_mlp_params[BT_MLP_N_PARAMS] = {
    [BT_MLP_OBJECTIVE] = {"objective", {"task", NULL}, BT_PTYPE_STRING, 0, 0,
        S("classification"), objectives, 0,
        "classification (softmax cross-entropy; multi:softprob is a synonym) or regression "
        "(squared error; reg:squarederror)"},
    [BT_MLP_NUM_CLASS] = {"num_class", {NULL}, BT_PTYPE_INT, 0, 1 << 20, I(0), NULL, 0,
        "classes (0 = from the labels)"},
    [BT_MLP_WIDTH] = {"width", {"hidden_size", "units", NULL}, BT_PTYPE_INT, 1, 65536, I(128),
        NULL, 1, "units of every hidden layer (shape)"},
    [BT_MLP_DEPTH] = {"depth", {"hidden_layers", "n_layers", NULL}, BT_PTYPE_INT, 0, 64, I(2),
        NULL, 1, "number of hidden layers (shape; 0 = linear model)"},
    [BT_MLP_ACTIVATION] = {"activation", {NULL}, BT_PTYPE_STRING, 0, 0, S("relu"), activations,
        1, "hidden activation (shape)"},
    [BT_MLP_BATCH_NORM] = {"batch_norm", {"batchnorm", NULL}, BT_PTYPE_BOOL, 0, 1, B(0), NULL, 1,
        "batch normalization after each hidden linear layer (shape)"},
    [BT_MLP_BATCH_SIZE] = {"batch_size", {NULL}, BT_PTYPE_INT, 1, 1 << 20, I(64), NULL, 1,
        "rows per mini-batch (shape; the last batch of an epoch may be smaller)"},
    [BT_MLP_DROPOUT] = {"dropout", {NULL}, BT_PTYPE_FLOAT, 0, 0.99, F(0), NULL, 0,
        "drop probability after each hidden activation"},
    [BT_MLP_OPTIMIZER] = {"optimizer", {"solver", NULL}, BT_PTYPE_STRING, 0, 0, S("adam"),
        optimizers, 0, "update rule"},
    [BT_MLP_LR] = {"lr", {"learning_rate", NULL}, BT_PTYPE_FLOAT, 0, 100, F(1e-3), NULL, 0,
        "base learning rate (> 0)"},
    [BT_MLP_MOMENTUM] = {"momentum", {NULL}, BT_PTYPE_FLOAT, 0, 0.9999, F(0.9), NULL, 0,
        "momentum of sgd and rmsprop"},
    [BT_MLP_NESTEROV] = {"nesterov", {NULL}, BT_PTYPE_BOOL, 0, 1, B(0), NULL, 0,
        "Nesterov momentum (sgd)"},
    [BT_MLP_BETA1] = {"beta1", {NULL}, BT_PTYPE_FLOAT, 0, 0.9999, F(0.9), NULL, 0,
        "first-moment decay (adam, adamw)"},
    [BT_MLP_BETA2] = {"beta2", {NULL}, BT_PTYPE_FLOAT, 0, 0.99999, F(0.999), NULL, 0,
        "second-moment decay (adam, adamw)"},
    [BT_MLP_ALPHA] = {"alpha", {"rho", NULL}, BT_PTYPE_FLOAT, 0, 0.99999, F(0.99), NULL, 0,
        "square-average decay (rmsprop)"},
    [BT_MLP_EPS] = {"eps", {"epsilon", NULL}, BT_PTYPE_FLOAT, 1e-30, 1, F(1e-8), NULL, 0,
        "denominator term (adam, adamw, rmsprop)"},
    [BT_MLP_WEIGHT_DECAY] = {"weight_decay", {"l2", NULL}, BT_PTYPE_FLOAT, 0, INFINITY, F(0),
        NULL, 0, "L2 penalty added to the gradient; decoupled for adamw"},
    [BT_MLP_LR_SCHEDULE] = {"lr_schedule", {"scheduler_type", NULL}, BT_PTYPE_STRING, 0, 0,
        S("constant"), schedules, 0, "per-epoch learning-rate schedule after warmup"},
    [BT_MLP_WARMUP_EPOCHS] = {"warmup_epochs", {NULL}, BT_PTYPE_INT, 0, 1e6, I(0), NULL, 0,
        "epochs of linear warmup (lr (e + 1) / warmup_epochs in epoch e)"},
    [BT_MLP_STEP_SIZE] = {"step_size", {NULL}, BT_PTYPE_INT, 1, 1e6, I(10), NULL, 0,
        "epochs between decays of the step schedule"},
    [BT_MLP_GAMMA] = {"gamma", {"lr_gamma", NULL}, BT_PTYPE_FLOAT, 0, 1, F(0.1), NULL, 0,
        "decay factor of the step schedule"},
    [BT_MLP_T_MAX] = {"t_max", {"cosine_epochs", NULL}, BT_PTYPE_INT, 0, 1e7, I(0), NULL, 0,
        "epochs the cosine schedule spans, warmup included (0 = the trial's epochs)"},
    [BT_MLP_LABEL_SMOOTHING] = {"label_smoothing", {NULL}, BT_PTYPE_FLOAT, 0, 0.999, F(0), NULL,
        0, "target = (1 - s) onehot + s / classes"},
    [BT_MLP_EPOCHS] = {"epochs", {"num_epochs", "max_epochs", NULL}, BT_PTYPE_INT, 1, 1e7, I(20),
        NULL, 0, "passes over the train set: the resource (and the cosine schedule's horizon)"},
    [BT_MLP_SEED] = {"seed", {"random_state", NULL}, BT_PTYPE_INT, 0, 4294967295.0, I(0), NULL, 0,
        "extra seed mixed into the trial's key (init, shuffling, dropout)"},
};
/* clang-format on */
