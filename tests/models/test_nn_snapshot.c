/* Slot snapshots of the nn families (pack ops slot_save / slot_restore): a trial trained some
 * epochs, saved, its pack freed, restored into another slot of another pack (next to other trials)
 * and trained on ends bit-identical -- weights, optimizer moments, running statistics, counters,
 * metrics: the whole blob -- to the same trial trained without a break, for the mlp (batch norm,
 * dropout, Adam, cosine schedule) and the resnet (crop, flip, Nesterov SGD). Blobs of another
 * trial, family or shape, truncated or of another format version are refused and leave the slot
 * empty. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/philox.h"
#include "models/nn/resnet.h"
#include "tests/bt_test.h"

/* n rows of F features in 3 classes (class k shifts feature block k), from Philox. */
static void make_data(bt_dataset *d, int64_t n, int F, uint64_t seed) {
    memset(d, 0, sizeof *d);
    d->n_rows = n;
    d->n_features = F;
    d->X = malloc((size_t)n * F * sizeof(float));
    d->y = malloc((size_t)n * sizeof(float));
    const uint64_t key = bt_philox_key(seed, 1);
    for (int64_t i = 0; i < n; i++) {
        int k = (int)(i % 3);
        d->y[i] = (float)k;
        for (int f = 0; f < F; f++) {
            double u = bt_philox_uniform(key, (uint64_t)(i * F + f), 9);
            d->X[i * F + f] = (float)(u * 2 + (f * 3 / F == k ? 1.5 : 0.0));
        }
    }
}

static void free_data(bt_dataset *d) {
    free(d->X);
    free(d->y);
}

/* Trains `epochs` epochs of the listed slots. */
static void train(const bt_pack_ops *vt, bt_pack *p, const int *slots, int n, int epochs) {
    for (int e = 0; e < epochs; e++) CHECK_OK(vt->step(p, slots, n));
}

static void save(const bt_pack_ops *vt, bt_pack *p, int slot, void **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    CHECK_OK(vt->slot_save(p, slot, buf, len));
}

/* Trial (hp, key) trained `before` + `after` epochs without a break in slot 1 of a pack of 2,
 * against `before` epochs in a pack of 1, saved, that pack freed, restored at slot 2 of a pack of
 * 3 (slot 0 holds another trial started then) and `after` more epochs. Returns the blob after
 * `before` epochs (the caller frees it) for the refusal checks. */
static void *roundtrip(const char *what, const bt_pack_ops *vt, bt_model_data *data,
                       const bt_value *hp, const bt_value *other, int before, int after,
                       size_t *blob_len) {
    const bt_hparams h = {hp}, ho = {other};
    const uint64_t key = bt_philox_key(7, 3), other_key = bt_philox_key(7, 4);
    /* without a break */
    bt_pack *a = NULL;
    CHECK_OK(vt->pack_init(&a, data, &h, 2));
    if (!a) return NULL;
    CHECK_OK(vt->slot_start(a, 0, &ho, other_key));
    CHECK_OK(vt->slot_start(a, 1, &h, key));
    const int both[2] = {0, 1};
    train(vt, a, both, 2, before + after);
    /* interrupted after `before` epochs */
    bt_pack *b = NULL;
    CHECK_OK(vt->pack_init(&b, data, &h, 1));
    if (!b) return NULL;
    CHECK_OK(vt->slot_start(b, 0, &h, key));
    const int zero[1] = {0};
    train(vt, b, zero, 1, before);
    void *mid = NULL;
    size_t mid_len = 0;
    save(vt, b, 0, &mid, &mid_len);
    double m_b = NAN;
    CHECK_OK(vt->eval(b, 0, "mlogloss", &m_b));
    vt->pack_free(b);
    /* resumed elsewhere */
    bt_pack *c = NULL;
    CHECK_OK(vt->pack_init(&c, data, &h, 3));
    if (!c) return NULL;
    CHECK_OK(vt->slot_start(c, 0, &ho, other_key));
    CHECK_OK(vt->slot_restore(c, 2, &h, key, mid, mid_len));
    double m_c = NAN;
    CHECK_OK(vt->eval(c, 2, "mlogloss", &m_c));
    CHECK_MSG(m_c == m_b && isfinite(m_c), "%s: restored metric %.17g, saved %.17g", what, m_c,
              m_b);
    /* the restored slot saves to the same bytes */
    void *again = NULL;
    size_t again_len = 0;
    save(vt, c, 2, &again, &again_len);
    CHECK(again_len == mid_len && again && memcmp(again, mid, mid_len) == 0);
    free(again);
    const int pair[2] = {2, 0};
    train(vt, c, pair, 2, after);
    void *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    save(vt, a, 1, &x, &nx);
    save(vt, c, 2, &y, &ny);
    CHECK_MSG(nx == ny && x && y && memcmp(x, y, nx) == 0,
              "%s: the resumed trial's state differs from the uninterrupted one's", what);
    static const char *const metrics[] = {"accuracy", "mlogloss"};
    for (int m = 0; m < 2; m++) {
        double va = NAN, vc = NAN;
        CHECK_OK(vt->eval(a, 1, metrics[m], &va));
        CHECK_OK(vt->eval(c, 2, metrics[m], &vc));
        CHECK_MSG(va == vc && isfinite(va), "%s %s: %.17g vs %.17g", what, metrics[m], va, vc);
    }
    CHECK(!vt->slot_failed(c, 2));
    printf("%s: %zu-byte blob after %d epochs; %d more epochs after the restore bit-identical\n",
           what, mid_len, before, after);
    /* refusals leave the slot empty: eval is then an error */
    bt_status_clear();
    CHECK(vt->slot_restore(c, 1, &h, key + 1, mid, mid_len) == BT_STATUS_BAD_INPUT);
    double v = 0;
    CHECK(vt->eval(c, 1, "accuracy", &v) != BT_STATUS_OK);
    CHECK(vt->slot_restore(c, 1, &h, key, mid, mid_len - 1) == BT_STATUS_BAD_INPUT);
    CHECK(vt->slot_restore(c, 1, &h, key, mid, 12) == BT_STATUS_BAD_INPUT);
    unsigned char *bad = malloc(mid_len);
    memcpy(bad, mid, mid_len);
    bad[8] ^= 0x40; /* the format version */
    CHECK(vt->slot_restore(c, 1, &h, key, bad, mid_len) == BT_STATUS_BAD_INPUT);
    memcpy(bad, mid, mid_len);
    bad[0] = 'X';
    CHECK(vt->slot_restore(c, 1, &h, key, bad, mid_len) == BT_STATUS_BAD_INPUT);
    free(bad);
    CHECK(vt->eval(c, 1, "accuracy", &v) != BT_STATUS_OK);
    bt_status_clear();
    free(x);
    free(y);
    vt->pack_free(a);
    vt->pack_free(c);
    *blob_len = mid_len;
    return mid;
}

static void mlp_hp(bt_value *hp, int width) {
    for (int i = 0; i < BT_MLP_N_PARAMS; i++) hp[i] = bt_mlp_params[i].def;
    hp[BT_MLP_WIDTH] = bt_value_int(width);
    hp[BT_MLP_DEPTH] = bt_value_int(2);
    hp[BT_MLP_BATCH_SIZE] = bt_value_int(16);
    hp[BT_MLP_BATCH_NORM] = bt_value_bool(1);
    hp[BT_MLP_DROPOUT] = bt_value_float(0.2);
    hp[BT_MLP_OPTIMIZER] = bt_value_string("adam");
    hp[BT_MLP_LR] = bt_value_float(0.01);
    hp[BT_MLP_LR_SCHEDULE] = bt_value_string("cosine");
    hp[BT_MLP_T_MAX] = bt_value_int(6);
}

static void resnet_hp(bt_value *hp) {
    for (int i = 0; i < BT_RESNET_N_PARAMS; i++) hp[i] = bt_resnet_params[i].def;
    hp[BT_RESNET_DEPTH] = bt_value_int(8);
    hp[BT_RESNET_WIDTH] = bt_value_int(4);
    hp[BT_RESNET_BATCH_SIZE] = bt_value_int(16);
    hp[BT_RESNET_INPUT_SHAPE] = bt_value_string("6x6");
    hp[BT_RESNET_CROP_PADDING] = bt_value_int(1);
    hp[BT_RESNET_HFLIP] = bt_value_bool(1);
    hp[BT_RESNET_OPTIMIZER] = bt_value_string("nesterov");
    hp[BT_RESNET_LR] = bt_value_float(0.05);
    hp[BT_RESNET_LR_SCHEDULE] = bt_value_string("cosine");
    hp[BT_RESNET_T_MAX] = bt_value_int(5);
}

int main(void) {
    bt_dataset tr, va;
    make_data(&tr, 90, 36, 1);
    make_data(&va, 30, 36, 2);
    bt_model_data mdata = {
        .train = &tr, .valid = &va, .task = BT_TASK_MULTICLASS, .n_classes = 3, .threads = 2};
    bt_value hp[BT_MLP_N_PARAMS], other[BT_MLP_N_PARAMS];
    mlp_hp(hp, 16);
    mlp_hp(other, 16);
    other[BT_MLP_OPTIMIZER] = bt_value_string("rmsprop");
    other[BT_MLP_LR] = bt_value_float(0.003);
    size_t mlp_len = 0, rn_len = 0;
    void *mlp_blob = roundtrip("mlp", &bt_mlp_cpu_packs, &mdata, hp, other, 3, 3, &mlp_len);

    /* another shape (width 8) refuses the width-16 blob */
    bt_value narrow[BT_MLP_N_PARAMS];
    mlp_hp(narrow, 8);
    const bt_hparams hn = {narrow};
    bt_pack *p = NULL;
    CHECK_OK(bt_mlp_cpu_packs.pack_init(&p, &mdata, &hn, 1));
    if (p && mlp_blob)
        CHECK(bt_mlp_cpu_packs.slot_restore(p, 0, &hn, bt_philox_key(7, 3), mlp_blob, mlp_len) ==
              BT_STATUS_BAD_INPUT);
    bt_mlp_cpu_packs.pack_free(p);
    bt_mlp_family.data_free(&mdata);

    bt_model_data rdata = {
        .train = &tr, .valid = &va, .task = BT_TASK_MULTICLASS, .n_classes = 3, .threads = 2};
    bt_value rhp[BT_RESNET_N_PARAMS], rother[BT_RESNET_N_PARAMS];
    resnet_hp(rhp);
    resnet_hp(rother);
    rother[BT_RESNET_OPTIMIZER] = bt_value_string("adam");
    rother[BT_RESNET_LR] = bt_value_float(0.003);
    rother[BT_RESNET_HFLIP] = bt_value_bool(0);
    void *rn_blob = roundtrip("resnet", &bt_resnet_cpu_packs, &rdata, rhp, rother, 2, 2, &rn_len);

    /* a family's blob never loads into the other family's pack */
    const bt_hparams hr = {rhp};
    CHECK_OK(bt_resnet_cpu_packs.pack_init(&p, &rdata, &hr, 1));
    if (p && mlp_blob)
        CHECK(bt_resnet_cpu_packs.slot_restore(p, 0, &hr, bt_philox_key(7, 3), mlp_blob, mlp_len) ==
              BT_STATUS_BAD_INPUT);
    bt_resnet_cpu_packs.pack_free(p);
    bt_resnet_family.data_free(&rdata);
    CHECK_OK(bt_mlp_family.data_prepare(&mdata, &hn));
    const bt_hparams hm = {hp};
    CHECK_OK(bt_mlp_cpu_packs.pack_init(&p, &mdata, &hm, 1));
    if (p && rn_blob)
        CHECK(bt_mlp_cpu_packs.slot_restore(p, 0, &hm, bt_philox_key(7, 3), rn_blob, rn_len) ==
              BT_STATUS_BAD_INPUT);
    bt_mlp_cpu_packs.pack_free(p);
    bt_mlp_family.data_free(&mdata);
    bt_status_clear();
    free(mlp_blob);
    free(rn_blob);
    free_data(&tr);
    free_data(&va);
    return bt_test_finish("test_nn_snapshot");
}
