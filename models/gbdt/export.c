/* Export of a gbdt slot as XGBoost 1.7's JSON model, loadable by xgboost.Booster(model_file=...).
 * Floats are printed with 9 significant digits so every float32 value reads back exactly. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sbuf.h"
#include "models/gbdt/trainer.h"

/* A float as JSON that XGBoost's parser reads as a Number: it takes "404" for an Integer and
 * refuses it where a float is expected, so integral values get an exponent. */
static void sb_float(bt_sbuf *b, const char *sep, float x) {
    char t[48];
    snprintf(t, sizeof t, "%.9g", (double)x);
    int integral = strpbrk(t, ".eEni") == NULL;
    bt_sbuf_printf(b, "%s%s%s", sep, t, integral ? "E0" : "");
}

typedef enum {
    F_LEFT,
    F_RIGHT,
    F_PARENT,
    F_FEATURE,
    F_DEFAULT,
    F_COND,
    F_BASE,
    F_LOSS,
    F_HESS
} field;

static void tree_array(bt_sbuf *b, const bt_gbdt_tree *t, field f) {
    bt_sbuf_printf(b, "[");
    for (int32_t i = 0; i < t->n_nodes; i++) {
        const bt_gbdt_node *nd = &t->nodes[i];
        int leaf = nd->left < 0;
        const char *sep = i ? "," : "";
        switch (f) {
        case F_LEFT:
            bt_sbuf_printf(b, "%s%d", sep, nd->left);
            break;
        case F_RIGHT:
            bt_sbuf_printf(b, "%s%d", sep, nd->right);
            break;
        case F_PARENT:
            bt_sbuf_printf(b, "%s%d", sep, nd->parent < 0 ? 2147483647 : nd->parent);
            break;
        case F_FEATURE:
            bt_sbuf_printf(b, "%s%d", sep, leaf ? 0 : nd->feature);
            break;
        case F_DEFAULT:
            bt_sbuf_printf(b, "%s%d", sep, leaf ? 0 : nd->default_left);
            break;
        case F_COND:
            sb_float(b, sep, leaf ? nd->value : nd->split_cond);
            break;
        case F_BASE:
            sb_float(b, sep, nd->base_weight);
            break;
        case F_LOSS:
            sb_float(b, sep, nd->loss_chg);
            break;
        case F_HESS:
            sb_float(b, sep, nd->sum_hess);
            break;
        }
    }
    bt_sbuf_printf(b, "]");
}

static const char *objective_name(bt_gbdt_objective o) {
    return o == BT_GBDT_OBJ_LOGISTIC   ? "binary:logistic"
           : o == BT_GBDT_OBJ_SOFTPROB ? "multi:softprob"
                                       : "reg:squarederror";
}

/* The gbtree booster's JSON: every tree of the slot. */
static void gbtree_json(bt_sbuf *b, const bt_gbdt_slot *s, int32_t F) {
    bt_sbuf_printf(b,
                   "\"gradient_booster\":{\"model\":{\"gbtree_model_param\":{\"num_parallel_tree\":"
                   "\"1\",\"num_trees\":\"%lld\",\"size_leaf_vector\":\"0\"},\"tree_info\":[",
                   (long long)s->n_trees);
    for (int64_t t = 0; t < s->n_trees; t++)
        bt_sbuf_printf(b, "%s%d", t ? "," : "", (int)(t % s->n_out));
    bt_sbuf_printf(b, "],\"trees\":[");
    for (int64_t t = 0; t < s->n_trees; t++) {
        const bt_gbdt_tree *tr = &s->trees[t];
        bt_sbuf_printf(b, "%s{\"base_weights\":", t ? "," : "");
        tree_array(b, tr, F_BASE);
        bt_sbuf_printf(b, ",\"categories\":[],\"categories_nodes\":[],\"categories_segments\":[],"
                          "\"categories_sizes\":[],\"default_left\":");
        tree_array(b, tr, F_DEFAULT);
        bt_sbuf_printf(b, ",\"id\":%lld,\"left_children\":", (long long)t);
        tree_array(b, tr, F_LEFT);
        bt_sbuf_printf(b, ",\"loss_changes\":");
        tree_array(b, tr, F_LOSS);
        bt_sbuf_printf(b, ",\"parents\":");
        tree_array(b, tr, F_PARENT);
        bt_sbuf_printf(b, ",\"right_children\":");
        tree_array(b, tr, F_RIGHT);
        bt_sbuf_printf(b, ",\"split_conditions\":");
        tree_array(b, tr, F_COND);
        bt_sbuf_printf(b, ",\"split_indices\":");
        tree_array(b, tr, F_FEATURE);
        bt_sbuf_printf(b, ",\"split_type\":[");
        for (int32_t i = 0; i < tr->n_nodes; i++) bt_sbuf_printf(b, "%s0", i ? "," : "");
        bt_sbuf_printf(b, "],\"sum_hessian\":");
        tree_array(b, tr, F_HESS);
        bt_sbuf_printf(
            b,
            ",\"tree_param\":{\"num_deleted\":\"0\",\"num_feature\":\"%d\",\"num_nodes\":"
            "\"%d\",\"size_leaf_vector\":\"0\"}}",
            F, tr->n_nodes);
    }
    bt_sbuf_printf(b, "]},\"name\":\"gbtree\"},");
}

bt_status bt_gbdt_export_json(const bt_pack *p, const bt_gbdt_slot *s, char **out, size_t *len) {
    int32_t F = p->data->train->n_features;
    bt_sbuf b = {malloc(1 << 16), 0, 1 << 16, 0};
    BT_CHECK_ALLOC(b.s);
    bt_sbuf_printf(&b,
                   "{\"learner\":{\"attributes\":{},\"feature_names\":[],\"feature_types\":[],");
    if (s->lin_w) { /* gblinear: (features + 1) x outputs weights, the biases last */
        bt_sbuf_printf(&b, "\"gradient_booster\":{\"model\":{\"weights\":[");
        for (int64_t i = 0; i < ((int64_t)F + 1) * s->n_out; i++)
            sb_float(&b, i ? "," : "", s->lin_w[i]);
        bt_sbuf_printf(&b, "]},\"name\":\"gblinear\"},");
    } else {
        gbtree_json(&b, s, F);
    }
    bt_sbuf_printf(&b,
                   "\"learner_model_param\":{\"base_score\":\"%.9g\",\"boost_from_average\":\"0\","
                   "\"num_class\":\"%d\",\"num_feature\":\"%d\",\"num_target\":\"1\"},",
                   (double)s->base_score, s->obj == BT_GBDT_OBJ_SOFTPROB ? s->n_out : 0, F);
    if (s->obj == BT_GBDT_OBJ_SOFTPROB)
        bt_sbuf_printf(&b,
                       "\"objective\":{\"name\":\"multi:softprob\",\"softmax_multiclass_param\":{"
                       "\"num_class\":\"%d\"}}},",
                       s->n_out);
    else
        bt_sbuf_printf(&b,
                       "\"objective\":{\"name\":\"%s\",\"reg_loss_param\":{\"scale_pos_weight\":"
                       "\"%.9g\"}}},",
                       objective_name(s->obj), (double)s->scale_pos_weight);
    bt_sbuf_printf(&b, "\"version\":[1,7,4]}");
    if (b.oom) {
        free(b.s);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory exporting a model");
    }
    *out = b.s;
    *len = b.n;
    return BT_STATUS_OK;
}
