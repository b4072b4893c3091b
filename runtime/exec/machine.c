/* The machine side of the results (exec_internal.h): the session's bt_record
 * (runtime/store/provenance.h: provenance and /system) with what only the executor knows, the
 * loaded data's digests and the GPU it trains on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sha256.h"
#include "runtime/exec/exec_internal.h"

void bt_exec_hash_dataset(bt_sha256 *c, const bt_dataset *d) {
    const int64_t dims[2] = {d->n_rows, d->n_features};
    bt_sha256_update(c, dims, sizeof dims);
    if (d->X) bt_sha256_update(c, d->X, (size_t)d->n_rows * (size_t)d->n_features * sizeof(float));
    if (d->y) bt_sha256_update(c, d->y, (size_t)d->n_rows * sizeof(float));
}

static void hex(const uint8_t d[32], char out[65]) {
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void data_digests(bt_exec *e, bt_provenance *p) {
    uint8_t d[32];
    bt_sha256 c;
    bt_sha256_init(&c);
    bt_exec_hash_dataset(&c, &e->sw.train);
    bt_sha256_final(&c, d);
    hex(d, p->train_sha256);
    if (e->sw.valid.n_rows > 0) {
        bt_sha256_init(&c);
        bt_exec_hash_dataset(&c, &e->sw.valid);
        bt_sha256_final(&c, d);
        hex(d, p->valid_sha256);
    }
}

bt_status bt_exec_machine_start(bt_exec *e, int resumed) {
    const bt_run_opts *o = e->o;
    int gpu = e->dev.choice.index;
    bt_record_opts ro = {.out_path = o->out_path,
                         .sweep_path = e->sw.spec->path,
                         .resumed = resumed && !o->fresh,
                         .note = o->note,
                         .tags = o->tags,
                         .system_every = o->system_every,
                         .t0 = e->prog.t0 - e->jnl.time_offset,
                         .time_offset = e->jnl.time_offset,
                         .gpus = &gpu,
                         .n_gpus = e->dev.choice.cuda ? 1 : 0};
    BT_TRY(bt_record_start(&e->mach, &ro));
    bt_provenance *p = &e->mach.prov;
    data_digests(e, p);
    if (e->dev.choice.cuda) snprintf(p->gpu_names, sizeof p->gpu_names, "%s", e->dev.choice.name);
    return BT_STATUS_OK;
}

bt_status bt_exec_machine_fill(bt_exec *e, bt_results *r) {
    return bt_record_fill(&e->mach, r);
}

void bt_exec_machine_free(bt_exec *e) {
    bt_record_free(&e->mach);
}
