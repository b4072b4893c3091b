/* The mlp parameter table: names, aliases, defaults and ranges of every hyperparameter of a
 * multilayer perceptron trial. Shape parameters (width, depth, activation, batch_norm,
 * batch_size) split trials into packs; everything else varies per slot. The training block
 * (optimizer ... seed) is the one every nn family shares (nn_params.h). */
#include "models/nn/nn_params.h"

static const char *const objectives[] = {"classification", "regression", "multi:softprob",
                                         "reg:squarederror", NULL};
static const char *const activations[] = {"relu", "tanh", "gelu", NULL};

/* clang-format off */
const bt_model_param bt_mlp_params[BT_MLP_N_PARAMS] = {
    [BT_MLP_OBJECTIVE] = {"objective", {"task", NULL}, BT_PTYPE_STRING, 0, 0,
        BT_NN_S("classification"), objectives, 0,
        "classification (softmax cross-entropy; multi:softprob is a synonym) or regression "
        "(squared error; reg:squarederror)"},
    [BT_MLP_NUM_CLASS] = {"num_class", {NULL}, BT_PTYPE_INT, 0, BT_MAX_CLASSES, BT_NN_I(0), NULL, 0,
        "classes (0 = from the labels)"},
    [BT_MLP_WIDTH] = {"width", {"hidden_size", "units", NULL}, BT_PTYPE_INT, 1, 65536,
        BT_NN_I(128), NULL, 1, "units of every hidden layer (shape)"},
    [BT_MLP_DEPTH] = {"depth", {"hidden_layers", "n_layers", NULL}, BT_PTYPE_INT, 0, 64,
        BT_NN_I(2), NULL, 1, "number of hidden layers (shape; 0 = linear model)"},
    [BT_MLP_ACTIVATION] = {"activation", {NULL}, BT_PTYPE_STRING, 0, 0, BT_NN_S("relu"),
        activations, 1, "hidden activation (shape)"},
    [BT_MLP_BATCH_NORM] = {"batch_norm", {"batchnorm", NULL}, BT_PTYPE_BOOL, 0, 1, BT_NN_B(0),
        NULL, 1, "batch normalization after each hidden linear layer (shape)"},
    [BT_MLP_BATCH_SIZE] = {"batch_size", {NULL}, BT_PTYPE_INT, 1, 1 << 20, BT_NN_I(64), NULL, 1,
        "rows per mini-batch (shape; the last batch of an epoch may be smaller)"},
    [BT_MLP_DROPOUT] = {"dropout", {NULL}, BT_PTYPE_FLOAT, 0, 0.99, BT_NN_F(0), NULL, 0,
        "drop probability after each hidden activation"},
    BT_NN_COMMON_PARAMS(BT_MLP_COMMON),
};
/* clang-format on */
