/* The table of model families and name lookup (canonical names, aliases, parameters). Which
 * pack a family trains with on a device is chosen above, in runtime/devices (the CPU's is the
 * family's own; a GPU's comes from the CUDA module). */
#include <string.h>

#include "models/gbdt/gbdt.h"
#include "models/model.h"
#include "models/nn/nn.h"
#include "models/nn/resnet.h"

static const bt_model_family *const all_models[] = {&bt_gbdt_family, &bt_mlp_family,
                                                    &bt_resnet_family, NULL};

const bt_model_family *const *bt_model_all(void) {
    return all_models;
}

const bt_model_family *bt_model_find(const char *type) {
    if (!type) return NULL;
    for (int m = 0; all_models[m]; m++) {
        const bt_model_family *f = all_models[m];
        if (strcmp(f->name, type) == 0) return f;
        for (int a = 0; f->aliases && f->aliases[a]; a++)
            if (strcmp(f->aliases[a], type) == 0) return f;
    }
    return NULL;
}

int bt_model_param_index(const bt_model_family *f, const char *name) {
    for (int p = 0; p < f->n_params; p++) {
        if (strcmp(f->params[p].name, name) == 0) return p;
        for (int a = 0; a < 4 && f->params[p].aliases[a]; a++)
            if (strcmp(f->params[p].aliases[a], name) == 0) return p;
    }
    return -1;
}

int bt_model_has_metric(const bt_model_family *f, const char *name) {
    const char *const *lists[2] = {f->metrics, f->metrics_on_request};
    for (int l = 0; l < 2; l++)
        for (int m = 0; name && lists[l] && lists[l][m]; m++)
            if (strcmp(lists[l][m], name) == 0) return 1;
    return 0;
}
