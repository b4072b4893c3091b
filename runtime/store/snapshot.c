/* The model-state file beside the journal (snapshot.h). Layout, native byte order (a byte-order
 * mark refuses the other one):
 *   "BTSTATE\n", u32 format version, u32 byte-order mark, sha256 (64 hex), u64 seed,
 *   version (64), family (32), device (160), data sha256 (64 hex), i64 tick, i64 n, 32-byte
 *   SHA-256 of all of that;
 *   n entries: i64 leader, i64 resource, u64 length, 32-byte SHA-256 of those three and the blob,
 *   the blob;
 *   "BTSTEND\n", i64 n. */
#include "runtime/store/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/sha256.h"
#include "runtime/store/wopen.h"

#define MAGIC "BTSTATE\n"
#define TRAILER "BTSTEND\n"
#define FORMAT 3u /* 3: device 160 bytes (GPU, math mode, CUDA and cuBLAS versions) */
#define BOM 0x01020304u
#define HEAD_BYTES (8 + 4 + 4 + 64 + 8 + 64 + 32 + BT_SNAPSHOT_DEVICE + 64 + 8 + 8)
#define ENTRY_BYTES (8 + 8 + 8 + 32)

static void put(unsigned char **at, const void *src, size_t n) {
    memcpy(*at, src, n);
    *at += n;
}

static void get(const unsigned char **at, void *dst, size_t n) {
    memcpy(dst, *at, n);
    *at += n;
}

static void head_encode(const bt_snapshot_head *h, unsigned char out[HEAD_BYTES]) {
    const uint32_t format = FORMAT, bom = BOM;
    char sha[64] = {0}, version[64] = {0}, family[32] = {0}, device[BT_SNAPSHOT_DEVICE] = {0},
         data[64] = {0};
    memcpy(sha, h->sha256, strnlen(h->sha256, 64));
    memcpy(version, h->version, strnlen(h->version, 63));
    memcpy(family, h->family, strnlen(h->family, 31));
    memcpy(device, h->device, strnlen(h->device, BT_SNAPSHOT_DEVICE - 1));
    memcpy(data, h->data, strnlen(h->data, 64));
    unsigned char *at = out;
    put(&at, MAGIC, 8);
    put(&at, &format, 4);
    put(&at, &bom, 4);
    put(&at, sha, 64);
    put(&at, &h->seed, 8);
    put(&at, version, 64);
    put(&at, family, 32);
    put(&at, device, BT_SNAPSHOT_DEVICE);
    put(&at, data, 64);
    put(&at, &h->tick, 8);
    put(&at, &h->n, 8);
}

static void entry_sum(int64_t leader, int64_t resource, const void *blob, size_t len,
                      uint8_t sum[32]) {
    bt_sha256 c;
    uint64_t l = len;
    bt_sha256_init(&c);
    bt_sha256_update(&c, &leader, 8);
    bt_sha256_update(&c, &resource, 8);
    bt_sha256_update(&c, &l, 8);
    bt_sha256_update(&c, blob, len);
    bt_sha256_final(&c, sum);
}

/* ---- reading -------------------------------------------------------------------------------- */

void bt_snapshot_free(bt_snapshot *s) {
    if (!s) return;
    for (int64_t i = 0; s->e && i < s->head.n; i++) free(s->e[i].blob);
    free(s->e);
    memset(s, 0, sizeof *s);
}

static bt_status slurp(const char *path, unsigned char **buf, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return BT_FAIL(BT_STATUS_NO_INPUT, "%s: no such file", path);
        return BT_FAIL(BT_STATUS_IO, "%s: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: not a regular file", path);
    }
    size_t n = (size_t)st.st_size;
    *buf = malloc(n ? n : 1);
    if (!*buf) {
        fclose(f);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory reading %s (%zu bytes)", path, n);
    }
    *len = fread(*buf, 1, n, f);
    int err = ferror(f);
    fclose(f);
    if (err || *len != n) {
        free(*buf);
        *buf = NULL;
        return BT_FAIL(BT_STATUS_IO, "%s: read error", path);
    }
    return BT_STATUS_OK;
}

static bt_status parse(const char *path, const unsigned char *b, size_t len, bt_snapshot *s) {
    const unsigned char *at = b, *end = b + len;
    if (len < HEAD_BYTES + 32 || memcmp(b, MAGIC, 8) != 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: not a batchtune state file", path);
    uint32_t format, bom;
    at += 8;
    get(&at, &format, 4);
    get(&at, &bom, 4);
    if (bom != BOM || format != FORMAT)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: format %u (or byte order) not this build's (%u)",
                       path, bom == BOM ? format : 0u, FORMAT);
    uint8_t sum[32];
    bt_sha256 c;
    bt_sha256_init(&c);
    bt_sha256_update(&c, b, HEAD_BYTES);
    bt_sha256_final(&c, sum);
    if (memcmp(sum, b + HEAD_BYTES, 32) != 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: header checksum mismatch", path);
    bt_snapshot_head *h = &s->head;
    get(&at, h->sha256, 64);
    h->sha256[64] = '\0';
    get(&at, &h->seed, 8);
    get(&at, h->version, 64);
    h->version[63] = '\0';
    get(&at, h->family, 32);
    h->family[31] = '\0';
    get(&at, h->device, BT_SNAPSHOT_DEVICE);
    h->device[BT_SNAPSHOT_DEVICE - 1] = '\0';
    get(&at, h->data, 64);
    h->data[64] = '\0';
    get(&at, &h->tick, 8);
    int64_t n;
    get(&at, &n, 8);
    at += 32;
    if (n < 0 || (uint64_t)n > (uint64_t)(end - at) / ENTRY_BYTES)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: entry count %lld does not fit the file", path,
                       (long long)n);
    s->e = calloc((size_t)(n ? n : 1), sizeof *s->e);
    if (!s->e) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    h->n = n;
    for (int64_t i = 0; i < n; i++) {
        bt_snapshot_entry *e = &s->e[i];
        uint64_t l;
        if ((size_t)(end - at) < ENTRY_BYTES)
            return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: truncated at entry %lld", path, (long long)i);
        get(&at, &e->leader, 8);
        get(&at, &e->resource, 8);
        get(&at, &l, 8);
        const unsigned char *want = at;
        at += 32;
        if (l > (uint64_t)(end - at))
            return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: truncated in entry %lld", path, (long long)i);
        entry_sum(e->leader, e->resource, at, (size_t)l, sum);
        if (memcmp(sum, want, 32) != 0)
            return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: checksum mismatch in entry %lld", path,
                           (long long)i);
        if (e->leader < 0 || e->resource < 0)
            return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: entry %lld is out of range", path,
                           (long long)i);
        e->len = (size_t)l;
        e->blob = malloc(e->len ? e->len : 1);
        if (!e->blob) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
        get(&at, e->blob, e->len);
    }
    int64_t tn;
    if ((size_t)(end - at) != 16 || memcmp(at, TRAILER, 8) != 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: no trailer (truncated or extended)", path);
    at += 8;
    get(&at, &tn, 8);
    if (tn != n) return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: trailer count mismatch", path);
    return BT_STATUS_OK;
}

bt_status bt_snapshot_read(const char *path, bt_snapshot *out) {
    memset(out, 0, sizeof *out);
    unsigned char *b = NULL;
    size_t len = 0;
    BT_TRY(slurp(path, &b, &len));
    bt_status st = parse(path, b, len, out);
    free(b);
    if (st != BT_STATUS_OK) bt_snapshot_free(out);
    return st;
}

/* ---- writing -------------------------------------------------------------------------------- */

struct bt_snapshot_writer {
    FILE *f;
    char *path, *tmp;
    int64_t n, added;
    int bad; /* a write failed */
};

bt_status bt_snapshot_begin(bt_snapshot_writer **out, const char *path, const bt_snapshot_head *h) {
    *out = NULL;
    bt_snapshot_writer *w = calloc(1, sizeof *w);
    BT_CHECK_ALLOC(w);
    size_t n = strlen(path) + 32;
    w->path = strdup(path);
    w->tmp = malloc(n);
    if (!w->path || !w->tmp) {
        bt_snapshot_abort(w);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    /* one name, not one per process: the journal's lock keeps a single writer per results file,
     * so a file left by a killed writer is removed by the next one */
    snprintf(w->tmp, n, "%s.tmp", path);
    /* EXCL: never truncate something that is not ours (our own leftover is removed first) */
    struct stat st;
    if (lstat(w->tmp, &st) == 0 && S_ISREG(st.st_mode)) unlink(w->tmp);
    int fd = bt_wopen(w->tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    w->f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!w->f) {
        bt_status st2 = BT_FAIL(BT_STATUS_IO, "%s: %s", w->tmp, bt_wopen_error(errno));
        if (fd >= 0) close(fd);
        free(w->tmp);
        w->tmp = NULL; /* nothing of ours to remove */
        bt_snapshot_abort(w);
        return st2;
    }
    unsigned char head[HEAD_BYTES];
    uint8_t sum[32];
    head_encode(h, head);
    bt_sha256 c;
    bt_sha256_init(&c);
    bt_sha256_update(&c, head, HEAD_BYTES);
    bt_sha256_final(&c, sum);
    w->n = h->n;
    w->bad = fwrite(head, 1, HEAD_BYTES, w->f) != HEAD_BYTES || fwrite(sum, 1, 32, w->f) != 32;
    *out = w;
    return BT_STATUS_OK;
}

bt_status bt_snapshot_add(bt_snapshot_writer *w, int64_t leader, int64_t resource, const void *blob,
                          size_t len) {
    if (w->added >= w->n)
        return BT_FAIL(BT_STATUS_INTERNAL, "%s: more entries than the header's %lld", w->path,
                       (long long)w->n);
    unsigned char rec[ENTRY_BYTES], *at = rec;
    uint64_t l = len;
    put(&at, &leader, 8);
    put(&at, &resource, 8);
    put(&at, &l, 8);
    entry_sum(leader, resource, blob, len, at);
    w->bad |= fwrite(rec, 1, ENTRY_BYTES, w->f) != ENTRY_BYTES;
    w->bad |= len && fwrite(blob, 1, len, w->f) != len;
    w->added++;
    if (w->bad) return BT_FAIL(BT_STATUS_IO, "%s: write failed: %s", w->tmp, strerror(errno));
    return BT_STATUS_OK;
}

void bt_snapshot_abort(bt_snapshot_writer *w) {
    if (!w) return;
    if (w->f) fclose(w->f);
    if (w->tmp) unlink(w->tmp);
    free(w->tmp);
    free(w->path);
    free(w);
}

static bt_status fsync_dir(const char *path) {
    char dir[4096];
    bt_path_folder(path, dir, sizeof dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return BT_FAIL(BT_STATUS_IO, "%s: cannot open for fsync: %s", dir, strerror(errno));
    int rc = fsync(fd), err = errno;
    close(fd);
    /* some file systems cannot fsync a folder (EINVAL); the rename itself has still happened */
    if (rc != 0 && err != EINVAL && err != ENOTSUP)
        return BT_FAIL(BT_STATUS_IO, "%s: fsync failed: %s", dir, strerror(err));
    return BT_STATUS_OK;
}

bt_status bt_snapshot_commit(bt_snapshot_writer *w) {
    bt_status st = BT_STATUS_OK;
    if (w->added != w->n)
        st = BT_FAIL(BT_STATUS_INTERNAL, "%s: %lld entries of %lld", w->path, (long long)w->added,
                     (long long)w->n);
    if (st == BT_STATUS_OK) {
        w->bad |= fwrite(TRAILER, 1, 8, w->f) != 8 || fwrite(&w->n, 1, 8, w->f) != 8;
        w->bad |= fflush(w->f) != 0 || fsync(fileno(w->f)) != 0;
        int closed = fclose(w->f) == 0;
        w->f = NULL;
        if (w->bad || !closed)
            st = BT_FAIL(BT_STATUS_IO, "%s: write failed: %s", w->tmp, strerror(errno));
    }
    if (st == BT_STATUS_OK && rename(w->tmp, w->path) != 0)
        st = BT_FAIL(BT_STATUS_IO, "%s: cannot rename %s over it: %s", w->path, w->tmp,
                     strerror(errno));
    if (st != BT_STATUS_OK) {
        bt_snapshot_abort(w);
        return st;
    }
    st = fsync_dir(w->path);
    free(w->tmp);
    w->tmp = NULL;
    bt_snapshot_abort(w);
    return st;
}
