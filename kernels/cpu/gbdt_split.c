/* C reference of the split scan (see kernels/gbdt_split.h). Empty bins are skipped: their
 * candidate repeats the previous one exactly and could never be strictly better. */
#include "../gbdt_split.h"

static void consider(bt_gbdt_split *best, float loss, int32_t feature, int32_t bin, int dleft,
                     float cond, bt_gbdt_gh left, bt_gbdt_gh right) {
    if (!(loss > best->loss_chg)) return;
    best->loss_chg = loss;
    best->feature = feature;
    best->bin = bin;
    best->default_left = dleft;
    best->split_cond = cond;
    best->left = left;
    best->right = right;
}

void bt_gbdt_split_scan_ref(const bt_gbdt_gh *e, const int32_t *bin_ids, int32_t n,
                            const float *cuts, float min_value, int32_t feature, bt_gbdt_gh total,
                            double g_unit, double h_unit, const bt_gbdt_split_param *p,
                            float root_gain, bt_gbdt_split *best) {
    const double mcw = p->min_child_weight;
    bt_gbdt_gh acc = {0, 0};
    /* forward: bins <= b left, missing right */
    for (int32_t i = 0; i < n; i++) {
        if ((e[i].g | e[i].h) == 0) continue;
        acc.g += e[i].g;
        acc.h += e[i].h;
        bt_gbdt_gh rest = {total.g - acc.g, total.h - acc.h};
        double lh = (double)acc.h * h_unit, rh = (double)rest.h * h_unit;
        if (!(lh >= mcw && rh >= mcw)) continue;
        float gl = bt_gbdt_gain(p, (double)acc.g * g_unit, lh);
        float gr = bt_gbdt_gain(p, (double)rest.g * g_unit, rh);
        float loss = (gl + gr) - root_gain;
        int32_t bin = bin_ids ? bin_ids[i] : i;
        consider(best, loss, feature, bin, 0, cuts[bin], acc, rest);
    }
    if (acc.g == total.g && acc.h == total.h) return; /* no missing value in this node */
    /* backward: bins >= b right, missing left */
    acc.g = acc.h = 0;
    for (int32_t i = n - 1; i >= 0; i--) {
        if ((e[i].g | e[i].h) == 0) continue;
        acc.g += e[i].g;
        acc.h += e[i].h;
        bt_gbdt_gh rest = {total.g - acc.g, total.h - acc.h};
        double rh = (double)acc.h * h_unit, lh = (double)rest.h * h_unit;
        if (!(rh >= mcw && lh >= mcw)) continue;
        float gl = bt_gbdt_gain(p, (double)rest.g * g_unit, lh);
        float gr = bt_gbdt_gain(p, (double)acc.g * g_unit, rh);
        float loss = (gl + gr) - root_gain;
        int32_t bin = bin_ids ? bin_ids[i] : i;
        consider(best, loss, feature, bin - 1, 1, bin == 0 ? min_value : cuts[bin - 1], rest, acc);
    }
}
