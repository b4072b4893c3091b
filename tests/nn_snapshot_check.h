/* Shared by the nn pack tests (the CUDA packs' too): a snapshot resume of a whole pack. Two trials
 * train `before` + `after` epochs in a pack of two without a break; the same two train `before`
 * epochs, are saved (pack ops slot_save), the pack is freed, a new pack restores them into the same
 * slots (slot_restore) and trains `after` more. Same pack size and positions on both sides, so
 * even a GPU pack (whose kernels depend on the batch count) must end bit-identical: every slot's
 * blob -- weights, moments, running statistics, counters, metrics -- is compared byte for byte.
 * Include after tests/bt_test.h and the family's header. */
#ifndef BT_TEST_NN_SNAPSHOT_CHECK_H
#define BT_TEST_NN_SNAPSHOT_CHECK_H

#include <stdlib.h>
#include <string.h>

static inline void snapshot_train(const bt_pack_ops *vt, bt_pack *p, int epochs) {
    const int both[2] = {0, 1};
    for (int e = 0; e < epochs; e++) CHECK_OK(vt->step(p, both, 2));
}

/* Checks the resume on vt (trials hp[0], hp[1] with keys key[0], key[1]); returns the number of
 * slots whose final state was bit-identical (2 on success). */
static inline int check_snapshot_resume(const char *what, const bt_pack_ops *vt,
                                        bt_model_data *data, const bt_value *const hp[2],
                                        const uint64_t key[2], int before, int after) {
    const bt_hparams shape = {hp[0]}, h[2] = {{hp[0]}, {hp[1]}};
    bt_pack *a = NULL, *b = NULL;
    void *blob[2] = {NULL, NULL}, *x = NULL, *y = NULL;
    size_t len[2] = {0, 0}, nx = 0, ny = 0;
    int same = 0;
    CHECK_OK(vt->pack_init(&a, data, &shape, 2));
    CHECK_OK(vt->pack_init(&b, data, &shape, 2));
    if (!a || !b) goto done;
    for (int k = 0; k < 2; k++) {
        CHECK_OK(vt->slot_start(a, k, &h[k], key[k]));
        CHECK_OK(vt->slot_start(b, k, &h[k], key[k]));
    }
    snapshot_train(vt, a, before + after);
    snapshot_train(vt, b, before);
    for (int k = 0; k < 2; k++) CHECK_OK(vt->slot_save(b, k, &blob[k], &len[k]));
    vt->pack_free(b);
    b = NULL;
    CHECK_OK(vt->pack_init(&b, data, &shape, 2));
    if (!b || !blob[0] || !blob[1]) goto done;
    for (int k = 0; k < 2; k++) CHECK_OK(vt->slot_restore(b, k, &h[k], key[k], blob[k], len[k]));
    snapshot_train(vt, b, after);
    for (int k = 0; k < 2; k++) {
        CHECK_OK(vt->slot_save(a, k, &x, &nx));
        CHECK_OK(vt->slot_save(b, k, &y, &ny));
        int ok = x && y && nx == ny && memcmp(x, y, nx) == 0;
        CHECK_MSG(ok, "%s: slot %d after a snapshot resume differs from the uninterrupted one",
                  what, k);
        same += ok;
        free(x);
        free(y);
        x = y = NULL;
    }
done:
    free(blob[0]);
    free(blob[1]);
    if (a) vt->pack_free(a);
    if (b) vt->pack_free(b);
    return same;
}

#endif
