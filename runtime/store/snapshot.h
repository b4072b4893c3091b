/* bt_snapshot: the model-state file beside the journal (OUT.state). It holds, for the runs that
 * had model state at one executor checkpoint, each run's leader trial id, the resource its state
 * is at and the family's blob of it (pack ops slot_save), so a resume restores those runs instead
 * of retraining them from scratch. Header: format version, the sweep's sha256 and seed, the
 * batchtune build, family and device that wrote it, the data's sha256, the tick it was written
 * after, a
 * checksum; each entry carries its own checksum and a trailer closes the file, so a torn,
 * truncated or corrupted file is recognized and ignored, never trusted. Written to a temporary
 * file, fsync'd and renamed over the old one (readers see the old file or the new one).
 * Ownership: bt_snapshot_read fills a bt_snapshot the caller frees with bt_snapshot_free; a
 * writer owns its file until commit or abort. */
#ifndef BT_SNAPSHOT_H
#define BT_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

#define BT_SNAPSHOT_DEVICE 160 /* bytes of bt_snapshot_head.device, its '\0' included */

typedef struct bt_snapshot_head {
    char sha256[65];  /* the sweep's */
    uint64_t seed;    /* the sweep's (after --seed) */
    char version[64]; /* batchtune version and build stamp that wrote it (another build may
                         round differently) */
    char family[32];  /* model family name */
    char device[BT_SNAPSHOT_DEVICE]; /* "cpu", or "cuda:", the GPU's name, the nn math mode and
                                        the CUDA runtime, driver and cuBLAS versions: numerics
                                        differ between them */
    char data[65]; /* sha256 of the loaded train and validation sets (rows, labels, sizes) */
    int64_t tick;  /* ticks completed when it was written */
    int64_t n;     /* entries */
} bt_snapshot_head;

typedef struct bt_snapshot_entry {
    int64_t leader;   /* run: its leader trial id */
    int64_t resource; /* resource units the state is at */
    void *blob;       /* malloc'd */
    size_t len;
} bt_snapshot_entry;

typedef struct bt_snapshot {
    bt_snapshot_head head;
    bt_snapshot_entry *e; /* head.n entries */
} bt_snapshot;

/* Reads path whole. BT_STATUS_NO_INPUT when it does not exist; BT_STATUS_BAD_INPUT (with what is
 * wrong) when it is not a complete, intact snapshot: out is then empty. */
bt_status bt_snapshot_read(const char *path, bt_snapshot *out);
void bt_snapshot_free(bt_snapshot *s);

typedef struct bt_snapshot_writer bt_snapshot_writer;

/* Starts writing path (through a temporary file beside it) with head (head->n entries to come). */
bt_status bt_snapshot_begin(bt_snapshot_writer **out, const char *path, const bt_snapshot_head *h);
/* Appends one entry (the blob is copied out, the caller keeps it). */
bt_status bt_snapshot_add(bt_snapshot_writer *w, int64_t leader, int64_t resource, const void *blob,
                          size_t len);
/* Finishes the file (after exactly head->n entries), fsyncs it and renames it over path. Frees w,
 * also on failure (the temporary file is then removed). */
bt_status bt_snapshot_commit(bt_snapshot_writer *w);
/* Drops an unfinished write: the temporary file is removed, path is untouched. Frees w. */
void bt_snapshot_abort(bt_snapshot_writer *w);

#endif
