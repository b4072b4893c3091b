/* The executor's side of model-state snapshots, OUT.state (exec_internal.h; the file format is
 * runtime/store/snapshot.h): what identifies this run's numbers, writing the snapshot at
 * checkpoints, and reading the one a resume may trust. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/sha256.h"
#include "base/table.h"
#include "runtime/exec/exec_internal.h"

/* What a snapshot's numbers depend on besides the sweep file: the build (the running executable's
 * sha256, so any rebuild counts as another build; BT_VERSION where it cannot be read), the device
 * (the GPU's name, the nn math mode BT_NN_MATH, and the CUDA runtime, driver and cuBLAS versions:
 * cuBLAS picks its GEMM kernels by version) and the loaded data. Computed once. A state
 * that does not match is retrained, and the retrained run must then land on the journal. */
static void snapshot_ident(bt_exec *e) {
    if (e->snap.ident_done) return;
    e->snap.ident_done = 1;
    bt_snapshot_head *id = &e->snap.ident;
    snprintf(id->version, sizeof id->version, "%s", BT_VERSION);
    FILE *f = fopen("/proc/self/exe", "rb");
    if (f) {
        bt_sha256 c;
        bt_sha256_init(&c);
        unsigned char buf[1 << 16];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0) bt_sha256_update(&c, buf, n);
        uint8_t d[32];
        bt_sha256_final(&c, d);
        if (!ferror(f)) {
            int at = snprintf(id->version, sizeof id->version, "%s exe ", BT_VERSION);
            for (int i = 0; i < 16 && at + 2 < (int)sizeof id->version; i++, at += 2)
                snprintf(id->version + at, 3, "%02x", d[i]);
        }
        fclose(f);
    }
    if (e->dev.choice.cuda) {
        const char *math = getenv("BT_NN_MATH");
        snprintf(id->device, sizeof id->device, "cuda:%.48s math=%.12s; %.80s", e->dev.choice.name,
                 math && *math ? math : "default", bt_cuda_version_string());
    } else {
        snprintf(id->device, sizeof id->device, "cpu");
    }
    bt_sha256 c;
    bt_sha256_init(&c);
    bt_exec_hash_dataset(&c, &e->sw.train);
    bt_exec_hash_dataset(&c, &e->sw.valid);
    uint8_t d[32];
    bt_sha256_final(&c, d);
    for (int i = 0; i < 32; i++) snprintf(id->data + 2 * i, 3, "%02x", d[i]);
}

/* Removes the model-state file and a temporary one a killed writer left. */
bt_status bt_exec_state_remove(bt_exec *e) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", e->snap.path);
    if (unlink(tmp) != 0 && errno != ENOENT)
        return BT_FAIL(BT_STATUS_IO, "%s: %s", tmp, strerror(errno));
    if (unlink(e->snap.path) != 0 && errno != ENOENT)
        return BT_FAIL(BT_STATUS_IO, "%s: %s", e->snap.path, strerror(errno));
    return BT_STATUS_OK;
}

/* Forgets run L's entry of the snapshot read at the resume (the run needs no state any more). */
void bt_exec_snap_drop(bt_exec *e, int64_t L) {
    if (!e->snap.of || !e->snap.of[L]) return;
    free(e->snap.of[L]->blob);
    e->snap.of[L]->blob = NULL;
    e->snap.of[L] = NULL;
}

/* Writes the snapshot: every run holding model state, and the entries of the snapshot read at the
 * resume that no run has restored yet (idle runs that may still be promoted). A failure to save a
 * model's state only warns: the journal and the results are what a resume needs, the snapshot
 * saves it time. A failed write (a full disk: BT_STATUS_IO) stops the sweep with 74 as the
 * results and the journal would a moment later; the previous OUT.state stays, no temporary. */
static bt_status snapshot_write(bt_exec *e) {
    const bt_pack_ops *ops = e->sw.packs;
    const double t0 = bt_clock();
    e->snap.last = t0;
    bt_snapshot_head h;
    memset(&h, 0, sizeof h);
    snprintf(h.sha256, sizeof h.sha256, "%s", e->sw.spec->sha256);
    h.seed = e->sw.spec->seed;
    snapshot_ident(e);
    memcpy(h.version, e->snap.ident.version, sizeof h.version);
    snprintf(h.family, sizeof h.family, "%s", e->sw.family->name);
    memcpy(h.device, e->snap.ident.device, sizeof h.device);
    memcpy(h.data, e->snap.ident.data, sizeof h.data);
    h.tick = e->tick;
    /* carried entries (idle runs without a slot) within the bound tick step 6 keeps on resident
     * state, 2 x concurrency runs in all: the latest runs' are kept, the earliest dropped (those
     * runs are retrained if promoted), so the file does not grow with every stop */
    int64_t room = 2 * e->concurrency;
    for (int64_t t = 0; t < e->sw.n_ready; t++)
        room -= e->runs[t].slot >= 0 && e->runs[t].state_res > 0;
    for (int64_t t = e->sw.n_ready - 1; t >= 0 && e->snap.of; t--) {
        if (e->runs[t].slot >= 0 || !e->snap.of[t]) continue;
        if (room > 0)
            room--;
        else
            bt_exec_snap_drop(e, t);
    }
    for (int64_t t = 0; t < e->sw.n_ready; t++) {
        const bt_exec_run *r = &e->runs[t];
        h.n += (r->slot >= 0 && r->state_res > 0) || (r->slot < 0 && e->snap.of && e->snap.of[t]);
    }
    bt_snapshot_writer *w = NULL;
    bt_status st = bt_snapshot_begin(&w, e->snap.path, &h);
    size_t bytes = 0;
    for (int64_t t = 0; t < e->sw.n_ready && st == BT_STATUS_OK; t++) {
        const bt_exec_run *r = &e->runs[t];
        if (r->slot >= 0 && r->state_res > 0) {
            void *blob = NULL;
            size_t len = 0;
            st = ops->slot_save(bt_exec_run_pack(e, t), r->slot, &blob, &len);
            if (st == BT_STATUS_OK) st = bt_snapshot_add(w, t, r->state_res, blob, len);
            free(blob);
            bytes += len;
        } else if (r->slot < 0 && e->snap.of && e->snap.of[t]) {
            const bt_snapshot_entry *se = e->snap.of[t];
            st = bt_snapshot_add(w, t, se->resource, se->blob, se->len);
            bytes += se->len;
        }
    }
    if (st == BT_STATUS_OK) {
        st = bt_snapshot_commit(w);
    } else {
        bt_snapshot_abort(w);
    }
    if (st == BT_STATUS_IO) return st;
    if (st != BT_STATUS_OK) {
        bt_exec_warn(e, "snapshot not written: %s", bt_status_message());
        bt_status_clear();
        return BT_STATUS_OK;
    }
    char f[192];
    snprintf(f, sizeof f,
             "\"tick\":%" PRId64 ",\"runs\":%" PRId64 ",\"bytes\":%zu,\"seconds\":%.3f", e->tick,
             h.n, bytes, bt_clock() - t0);
    bt_progress_event(&e->prog, "snapshot", f);
    return BT_STATUS_OK;
}

/* At a checkpoint: a snapshot when one is due (--snapshot-every), or always on a stop request. */
bt_status bt_exec_snapshot_maybe(bt_exec *e, int stopping) {
    if (e->jnl.replaying || !(e->o->snapshot_every > 0) || !e->sw.packs->slot_save)
        return BT_STATUS_OK;
    if (stopping || bt_clock() - e->snap.last >= e->o->snapshot_every) return snapshot_write(e);
    return BT_STATUS_OK;
}

/* After the journal opened: a fresh sweep removes an old snapshot; a resume reads it and keeps
 * the entries it can trust (same sweep, seed, version, family and device kind, no later than the
 * journal, runs of this sweep), indexed by run. Anything else is ignored with a warning. */
bt_status bt_exec_state_open(bt_exec *e) {
    if (e->jnl.fresh) return BT_STATUS_OK; /* removed by bt_exec_journal_open */
    if (!e->sw.packs->slot_restore) return BT_STATUS_OK;
    bt_snapshot *sn = &e->snap.read;
    bt_status st = bt_snapshot_read(e->snap.path, sn);
    if (st == BT_STATUS_NO_INPUT) {
        bt_status_clear();
        return BT_STATUS_OK;
    }
    if (st != BT_STATUS_OK) {
        bt_exec_warn(e, "%s ignored, in-flight runs are retrained: %s", e->snap.path,
                     bt_status_message());
        bt_status_clear();
        return BT_STATUS_OK;
    }
    snapshot_ident(e);
    const bt_snapshot_head *h = &sn->head;
    const char *why = NULL;
    if (strcmp(h->sha256, e->sw.spec->sha256) != 0 || h->seed != e->sw.spec->seed)
        why = "it belongs to another sweep (sweep file or seed)";
    else if (strcmp(h->version, e->snap.ident.version) != 0)
        why = "another batchtune build wrote it";
    else if (strcmp(h->family, e->sw.family->name) != 0)
        why = "another model family wrote it";
    else if (strcmp(h->device, e->snap.ident.device) != 0)
        why = "it was written on another device or math mode";
    else if (strcmp(h->data, e->snap.ident.data) != 0)
        why = "the data changed since";
    else if (h->tick > e->jnl.log.last_tick + 1)
        why = "it is newer than the journal";
    e->snap.of = bt_table_alloc((size_t)e->sw.n_trials, sizeof *e->snap.of);
    BT_CHECK_ALLOC(e->snap.of);
    for (int64_t i = 0; i < h->n && !why; i++) {
        const int64_t L = sn->e[i].leader;
        if (L < 0 || L >= e->sw.n_trials || !bt_sweep_is_leader(&e->sw, L) || e->snap.of[L])
            why = "it names runs this sweep does not have";
        else
            e->snap.of[L] = &sn->e[i];
    }
    if (why) {
        bt_exec_warn(e, "%s ignored (%s); in-flight runs are retrained", e->snap.path, why);
        bt_table_free(e->snap.of);
        e->snap.of = NULL;
        bt_snapshot_free(sn);
    }
    return BT_STATUS_OK;
}

void bt_exec_snapshots_free(bt_exec *e) {
    bt_snapshot_free(&e->snap.read);
    bt_table_free(e->snap.of);
    free(e->snap.path);
    memset(&e->snap, 0, sizeof e->snap);
}
