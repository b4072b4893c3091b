/* The table of model families and name lookup (canonical names, aliases, parameters). */
#include <string.h>

#include "models/gbdt/gbdt.h"
#include "models/nn/nn.h"
#include "models/nn/resnet.h"
#include "models/model.h"

static const bt_model_vtable *const all_models[] = {&bt_gbdt_vtable, &bt_mlp_vtable,
                                                    &bt_resnet_vtable, NULL};

const bt_model_vtable *const *bt_model_all(void) {
    return all_models;
}

const bt_model_vtable *bt_model_find(const char *type) {
    if (!type) return NULL;
    for (int m = 0; all_models[m]; m++) {
        const bt_model_vtable *vt = all_models[m];
        if (strcmp(vt->name, type) == 0) return vt;
        for (int a = 0; vt->aliases && vt->aliases[a]; a++)
            if (strcmp(vt->aliases[a], type) == 0) return vt;
    }
    return NULL;
}

int bt_model_param_index(const bt_model_vtable *vt, const char *name) {
    for (int p = 0; p < vt->n_params; p++) {
        if (strcmp(vt->params[p].name, name) == 0) return p;
        for (int a = 0; a < 4 && vt->params[p].aliases[a]; a++)
            if (strcmp(vt->params[p].aliases[a], name) == 0) return p;
    }
    return -1;
}

const bt_model_vtable *bt_model_for_device(const bt_model_vtable *vt, int cuda) {
    if (!vt || !cuda) return vt;
    if (vt == &bt_gbdt_vtable) return bt_gbdt_cuda_vtable();
    /* The nn GPU packs are opt-in (BT_MLP_CUDA=1) until they have run on a GPU. */
    if (vt == &bt_mlp_vtable) return bt_mlp_cuda_enabled() ? bt_mlp_cuda_vtable() : NULL;
    if (vt == &bt_resnet_vtable) return bt_mlp_cuda_enabled() ? bt_resnet_cuda_vtable() : NULL;
    return NULL;
}
