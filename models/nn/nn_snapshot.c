/* Snapshots of one nn trial's training state (the pack ops' slot_save and slot_restore): a slot's
 * parameters, optimizer moments, batch-norm running statistics, epoch and step counters, failed
 * flag, metrics and last train loss in one versioned blob, tagged with the family and the pack's
 * shape. Everything else a step reads is a function of the trial's hyperparameters and key (the
 * optimizer settings, the schedule) or of (key, epoch, position) (shuffles, dropout masks,
 * augmentation), so a slot started from the same (hp, key) and loaded from the blob is bit for bit
 * the slot that was saved. The gradient block and the row order are scratch, rebuilt by every
 * epoch before they are read. */
#include <stdlib.h>
#include <string.h>

#include "models/nn/nn.h"
#include "models/nn/resnet.h"

#define BLOB_MAGIC "BTNNSLT" /* 8 bytes with the NUL */
/* bump when the layout or the meaning of a field changes. 2: the parameter blocks (w, m, v) are
 * the packs' padded layout, every tensor at a multiple of 4 floats (kernels/nn_blas.h); a version-1
 * blob is refused (the trial retrains). 3: the metrics hold f1, precision and recall too. */
#define BLOB_VERSION 3u
#define BLOB_BOM 0x01020304u /* written natively: a blob of the other byte order is refused */
#define BLOB_FAMILY 16

/* magic, version, byte-order mark, family, dims, n_params, n_run, key, epoch, t, failed + pad,
 * metrics, train loss */
#define BLOB_HEADER                                                                                \
    (8 + 4 + 4 + BLOB_FAMILY + 8 * BT_NN_BLOB_DIMS + 8 + 8 + 8 + 8 + 8 + 8 + 8 * BT_NN_M_COUNT + 8)

static size_t blob_size(const bt_nn_blob_shape *sh) {
    return BLOB_HEADER + (3 * (size_t)sh->n_params + (size_t)sh->n_run) * sizeof(float);
}

static void put(unsigned char **at, const void *src, size_t n) {
    if (n) memcpy(*at, src, n);
    *at += n;
}

static void get(const unsigned char **at, void *dst, size_t n) {
    if (n) memcpy(dst, *at, n);
    *at += n;
}

/* The header fields that identify the pack and the blob format, as they are written. */
static void put_ident(unsigned char **at, const bt_nn_blob_shape *sh) {
    const uint32_t version = BLOB_VERSION, bom = BLOB_BOM;
    char family[BLOB_FAMILY] = {0};
    strncpy(family, sh->family, BLOB_FAMILY - 1);
    put(at, BLOB_MAGIC, 8);
    put(at, &version, 4);
    put(at, &bom, 4);
    put(at, family, BLOB_FAMILY);
    put(at, sh->dims, 8 * BT_NN_BLOB_DIMS);
    put(at, &sh->n_params, 8);
    put(at, &sh->n_run, 8);
}

bt_status bt_nn_slot_save(const bt_nn_slot *s, const bt_nn_blob_shape *sh, void **buf,
                          size_t *len) {
    *buf = NULL;
    *len = 0;
    if (!s) return BT_FAIL(BT_STATUS_INTERNAL, "save: the slot is not started");
    const size_t n = blob_size(sh), P = (size_t)sh->n_params, R = (size_t)sh->n_run;
    unsigned char *b = malloc(n), *at = b;
    if (!b) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for a %zu-byte snapshot", n);
    const int32_t failed = s->failed, pad = 0;
    put_ident(&at, sh);
    put(&at, &s->key, 8);
    put(&at, &s->epoch, 8);
    put(&at, &s->t, 8);
    put(&at, &failed, 4);
    put(&at, &pad, 4);
    put(&at, s->metric, 8 * BT_NN_M_COUNT);
    put(&at, &s->train_loss, 8);
    put(&at, s->w, P * sizeof(float));
    put(&at, s->m, P * sizeof(float));
    put(&at, s->v, P * sizeof(float));
    put(&at, s->run, R * sizeof(float));
    *buf = b;
    *len = n;
    return BT_STATUS_OK;
}

bt_status bt_nn_slot_load(bt_nn_slot *s, const bt_nn_blob_shape *sh, const void *buf, size_t len) {
    const size_t n = blob_size(sh), P = (size_t)sh->n_params, R = (size_t)sh->n_run;
    unsigned char want[BLOB_HEADER], *w = want;
    put_ident(&w, sh);
    const size_t ident = (size_t)(w - want);
    if (!buf || len < ident || memcmp(buf, want, 8) != 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "snapshot: not an nn slot snapshot");
    if (memcmp(buf, want, ident) != 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "snapshot: written for another %s pack (family, shape, parameter count or "
                       "format version differ)",
                       sh->family);
    if (len != n)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "snapshot: %zu bytes where %zu were expected", len, n);
    const unsigned char *at = (const unsigned char *)buf + ident;
    uint64_t key;
    int32_t failed, pad;
    get(&at, &key, 8);
    if (key != s->key)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "snapshot: the state of another trial (key differs)");
    get(&at, &s->epoch, 8);
    get(&at, &s->t, 8);
    get(&at, &failed, 4);
    get(&at, &pad, 4);
    s->failed = failed != 0;
    get(&at, s->metric, 8 * BT_NN_M_COUNT);
    get(&at, &s->train_loss, 8);
    get(&at, s->w, P * sizeof(float));
    get(&at, s->m, P * sizeof(float));
    get(&at, s->v, P * sizeof(float));
    get(&at, s->run, R * sizeof(float));
    if (s->epoch < 0 || s->t < 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "snapshot: negative epoch or step count");
    return BT_STATUS_OK;
}

/* ---- the CPU packs' entries ------------------------------------------------------------------ */

void bt_mlp_blob_shape(const bt_pack *p, bt_nn_blob_shape *sh) {
    *sh = (bt_nn_blob_shape){.family = "mlp",
                             .dims = {p->F, p->H, p->D, p->K, p->B, p->act, p->bn, p->sh->n_train},
                             .n_params = p->n_params,
                             .n_run = (int64_t)2 * p->H * p->D};
}

void bt_resnet_blob_shape(const bt_resnet_pack *p, bt_nn_blob_shape *sh) {
    *sh = (bt_nn_blob_shape){
        .family = "resnet",
        .dims = {p->C, p->H, p->W, p->K, p->B, p->depth, p->width, p->sh->n_train},
        .n_params = p->n_params,
        .n_run = p->n_run};
}

/* A pack's slot to a blob (an unstarted slot is an internal error). */
static bt_status save_slot(bt_nn_slot *const *slots, int capacity, int slot,
                           const bt_nn_blob_shape *sh, void **buf, size_t *len) {
    if (slot < 0 || slot >= capacity || !slots[slot]) {
        *buf = NULL;
        *len = 0;
        return BT_FAIL(BT_STATUS_INTERNAL, "snapshot: slot %d is not started", slot);
    }
    return bt_nn_slot_save(slots[slot], sh, buf, len);
}

/* Loads a blob into a slot just started by the family's slot_start; clears it when refused. */
static bt_status load_slot(bt_pack *p, bt_nn_slot *s, int slot, const bt_nn_blob_shape *sh,
                           const void *buf, size_t len, void (*clear)(bt_pack *, int)) {
    bt_status st = bt_nn_slot_load(s, sh, buf, len);
    if (st != BT_STATUS_OK) clear(p, slot);
    return st;
}

bt_status bt_mlp_slot_save(bt_pack *p, int slot, void **buf, size_t *len) {
    bt_nn_blob_shape sh;
    bt_mlp_blob_shape(p, &sh);
    return save_slot(p->slots, p->capacity, slot, &sh, buf, len);
}

bt_status bt_mlp_slot_restore(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key,
                              const void *buf, size_t len) {
    BT_TRY(bt_mlp_slot_start(p, slot, hp, key));
    bt_nn_blob_shape sh;
    bt_mlp_blob_shape(p, &sh);
    return load_slot(p, p->slots[slot], slot, &sh, buf, len, bt_mlp_slot_clear);
}

bt_status bt_resnet_slot_save(bt_pack *pk, int slot, void **buf, size_t *len) {
    bt_resnet_pack *p = (bt_resnet_pack *)pk;
    bt_nn_blob_shape sh;
    bt_resnet_blob_shape(p, &sh);
    return save_slot(p->slots, p->capacity, slot, &sh, buf, len);
}

bt_status bt_resnet_slot_restore(bt_pack *pk, int slot, const bt_hparams *hp, uint64_t key,
                                 const void *buf, size_t len) {
    bt_resnet_pack *p = (bt_resnet_pack *)pk;
    BT_TRY(bt_resnet_slot_start(pk, slot, hp, key));
    bt_nn_blob_shape sh;
    bt_resnet_blob_shape(p, &sh);
    return load_slot(pk, p->slots[slot], slot, &sh, buf, len, bt_resnet_slot_clear);
}
