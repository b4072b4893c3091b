/* The resnet parameter table: the network's shape (depth, width, batch size, input shape), its
 * per-trial augmentation (random crop with padding, horizontal flip), then the training block every
 * nn family shares (nn_params.h). Shape parameters split trials into packs. */
#include <stdlib.h>
#include <string.h>

#include "models/nn/nn_params.h"
#include "models/nn/resnet.h"

static const char *const objectives[] = {"classification", "multi:softprob", NULL};

/* clang-format off */
const bt_model_param bt_resnet_params[BT_RESNET_N_PARAMS] = {
    [BT_RESNET_OBJECTIVE] = {"objective", {"task", NULL}, BT_PTYPE_STRING, 0, 0,
        BT_NN_S("classification"), objectives, 0,
        "classification (softmax cross-entropy; multi:softprob is a synonym)"},
    [BT_RESNET_NUM_CLASS] = {"num_class", {NULL}, BT_PTYPE_INT, 0, BT_MAX_CLASSES, BT_NN_I(0), NULL, 0,
        "classes (0 = from the labels)"},
    [BT_RESNET_DEPTH] = {"depth", {"n_layers", NULL}, BT_PTYPE_INT, 8, 1202, BT_NN_I(20), NULL, 1,
        "layers with weights, 6n + 2 (8, 14, 20, 32, ...): n basic blocks per stage (shape)"},
    [BT_RESNET_WIDTH] = {"width", {"base_width", "channels", NULL}, BT_PTYPE_INT, 1, 4096,
        BT_NN_I(16), NULL, 1, "channels of the first stage; 2x and 4x in stages 2 and 3 (shape)"},
    [BT_RESNET_BATCH_SIZE] = {"batch_size", {NULL}, BT_PTYPE_INT, 1, 1 << 20, BT_NN_I(128), NULL,
        1, "images per mini-batch (shape; the last batch of an epoch may be smaller)"},
    [BT_RESNET_INPUT_SHAPE] = {"input_shape", {"image_shape", NULL}, BT_PTYPE_STRING, 0, 0,
        BT_NN_S("auto"), NULL, 1,
        "\"CxHxW\" or \"HxW\" of a row's features, channel-major; auto: the dataset's image "
        "shape, else a square one-channel image (shape)", 0, NULL, bt_resnet_shape_syntax},
    [BT_RESNET_CROP_PADDING] = {"crop_padding", {"pad_crop", NULL}, BT_PTYPE_INT, 0, 64,
        BT_NN_I(0), NULL, 0,
        "random crop: pad each side by this many pixels and cut the image size back out (0 = off)"},
    [BT_RESNET_HFLIP] = {"hflip", {"horizontal_flip", NULL}, BT_PTYPE_BOOL, 0, 1, BT_NN_B(0),
        NULL, 0, "mirror each training image left-right with probability 1/2"},
    BT_NN_COMMON_PARAMS(BT_RESNET_COMMON),
};
/* clang-format on */

int bt_resnet_parse_shape(const char *s, long dims[3]) {
    int nd = 0;
    const char *q = s;
    while (nd < 3) {
        char *end = NULL;
        long v = *q >= '0' && *q <= '9' ? strtol(q, &end, 10) : -1;
        if (v < 1 || v > 65536) break;
        dims[nd++] = v;
        q = end;
        if (*q != 'x') break;
        q++;
    }
    if (*q != 0 || nd < 2 || q[-1] == 'x') return 0;
    if (nd == 2) dims[2] = dims[1], dims[1] = dims[0], dims[0] = 1;
    return 1;
}

const char *bt_resnet_shape_syntax(const char *s) {
    long dims[3];
    if (!*s || strcmp(s, "auto") == 0 || bt_resnet_parse_shape(s, dims)) return NULL;
    return "not \"auto\", \"CxHxW\" or \"HxW\" with sizes in [1, 65536]";
}
