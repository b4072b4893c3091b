/* The model-state file (runtime/snapshot.h): entries written are read back as they were; a missing
 * file is NO_INPUT; any flipped byte (header, entry record, blob, trailer), a truncation at any
 * length or bytes appended make the whole file BAD_INPUT, never a partial read; an aborted write
 * leaves the previous file untouched and no temporary file behind. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/store/snapshot.h"
#include "tests/bt_test.h"
#include "tests/fsize_limit.h"

static bt_snapshot_head head(int64_t n) {
    bt_snapshot_head h;
    memset(&h, 0, sizeof h);
    memset(h.sha256, 'a', 64);
    h.seed = 42;
    snprintf(h.version, sizeof h.version, "9.9.9");
    snprintf(h.family, sizeof h.family, "mlp");
    snprintf(h.device, sizeof h.device, "cpu");
    h.tick = 17;
    h.n = n;
    return h;
}

static unsigned char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n ? *n : 1);
    if (fread(b, 1, *n, f) != *n) *n = 0;
    fclose(f);
    return b;
}

static void write_all(const char *path, const unsigned char *b, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(b, 1, n, f);
    fclose(f);
}

int main(void) {
    char path[1024], tmp[1100];
    snprintf(path, sizeof path, "%s/test_snapshot.state", bt_test_tmpdir());
    snprintf(tmp, sizeof tmp, "%s.tmp", path); /* the writer's one temporary name */
    unlink(path);
    bt_snapshot s;
    CHECK(bt_snapshot_read(path, &s) == BT_STATUS_NO_INPUT);

    /* three entries: blobs of 1000, 0 and 37 bytes */
    const size_t lens[3] = {1000, 0, 37};
    unsigned char *blobs[3];
    for (int i = 0; i < 3; i++) {
        blobs[i] = malloc(lens[i] + 1);
        for (size_t k = 0; k < lens[i]; k++) blobs[i][k] = (unsigned char)(k * 7 + (size_t)i);
    }
    bt_snapshot_head h = head(3);
    bt_snapshot_writer *w = NULL;
    CHECK_OK(bt_snapshot_begin(&w, path, &h));
    for (int i = 0; i < 3 && w; i++) CHECK_OK(bt_snapshot_add(w, 10 + i, 5 - i, blobs[i], lens[i]));
    if (w) CHECK_OK(bt_snapshot_commit(w));
    CHECK(access(tmp, F_OK) != 0);
    CHECK_OK(bt_snapshot_read(path, &s));
    CHECK_STR(s.head.sha256, h.sha256);
    CHECK_EQ_INT(s.head.seed, 42);
    CHECK_STR(s.head.version, "9.9.9");
    CHECK_STR(s.head.family, "mlp");
    CHECK_STR(s.head.device, "cpu");
    CHECK_EQ_INT(s.head.tick, 17);
    CHECK_EQ_INT(s.head.n, 3);
    for (int i = 0; i < 3 && s.e; i++) {
        CHECK_EQ_INT(s.e[i].leader, 10 + i);
        CHECK_EQ_INT(s.e[i].resource, 5 - i);
        CHECK_EQ_INT(s.e[i].len, lens[i]);
        CHECK(lens[i] == 0 || memcmp(s.e[i].blob, blobs[i], lens[i]) == 0);
    }
    bt_snapshot_free(&s);

    /* every single-byte corruption and every truncation is caught */
    size_t n = 0;
    unsigned char *good = read_all(path, &n);
    CHECK(good && n > 1000);
    int missed = 0;
    for (size_t at = 0; good && at < n; at++) {
        good[at] ^= 0x10;
        write_all(path, good, n);
        good[at] ^= 0x10;
        bt_status st = bt_snapshot_read(path, &s);
        if (st != BT_STATUS_BAD_INPUT && missed++ < 5)
            fprintf(stderr, "byte %zu flipped: read gives %d\n", at, (int)st);
        CHECK(s.e == NULL && s.head.n == 0); /* nothing half-read is handed out */
    }
    CHECK_MSG(missed == 0, "%d flipped bytes went unnoticed", missed);
    missed = 0;
    for (size_t len = 0; good && len < n; len += len < 200 ? 1 : 97) {
        write_all(path, good, len);
        if (bt_snapshot_read(path, &s) != BT_STATUS_BAD_INPUT) missed++;
    }
    CHECK_MSG(missed == 0, "%d truncations went unnoticed", missed);
    unsigned char *longer = malloc(n + 1);
    memcpy(longer, good, n);
    longer[n] = 0;
    write_all(path, longer, n + 1);
    CHECK(bt_snapshot_read(path, &s) == BT_STATUS_BAD_INPUT);
    free(longer);

    /* an aborted write (and one with too few entries) leaves the last good file */
    write_all(path, good, n);
    CHECK_OK(bt_snapshot_begin(&w, path, &h));
    if (w) CHECK_OK(bt_snapshot_add(w, 1, 1, blobs[0], 10));
    bt_snapshot_abort(w);
    CHECK(access(tmp, F_OK) != 0);
    CHECK_OK(bt_snapshot_begin(&w, path, &h));
    if (w) CHECK(bt_snapshot_commit(w) != BT_STATUS_OK);
    CHECK(access(tmp, F_OK) != 0);
    CHECK_OK(bt_snapshot_read(path, &s));
    CHECK_EQ_INT(s.head.n, 3);
    bt_snapshot_free(&s);
    /* more entries than announced is refused */
    h = head(0);
    CHECK_OK(bt_snapshot_begin(&w, path, &h));
    if (w) {
        CHECK(bt_snapshot_add(w, 1, 1, blobs[0], 10) == BT_STATUS_INTERNAL);
        CHECK_OK(bt_snapshot_commit(w));
    }
    CHECK_OK(bt_snapshot_read(path, &s));
    CHECK_EQ_INT(s.head.n, 0);
    bt_snapshot_free(&s);
    bt_status_clear();

    /* a full disk (EFBIG past a file-size limit, as ENOSPC): BT_STATUS_IO, the last good file
     * stays, the temporary goes */
    write_all(path, good, n);
    h = head(2);
    size_t big_n = 1 << 20;
    unsigned char *big = calloc(big_n, 1);
    CHECK(bt_test_fsize_limit(n) == 0);
    bt_status st = bt_snapshot_begin(&w, path, &h);
    if (st == BT_STATUS_OK) st = bt_snapshot_add(w, 1, 1, big, big_n);
    if (st == BT_STATUS_OK) st = bt_snapshot_add(w, 2, 1, big, 10);
    if (st == BT_STATUS_OK) {
        st = bt_snapshot_commit(w);
    } else if (w) {
        bt_snapshot_abort(w);
    }
    CHECK(bt_test_fsize_limit(0) == 0);
    CHECK_EQ_INT(st, BT_STATUS_IO);
    CHECK_MSG(strstr(bt_status_message(), "File too large") != NULL, "%s", bt_status_message());
    CHECK(access(tmp, F_OK) != 0);
    size_t n2 = 0;
    unsigned char *after = read_all(path, &n2);
    CHECK(after && n2 == n && memcmp(after, good, n) == 0);
    free(after);
    free(big);
    bt_status_clear();

    free(good);
    for (int i = 0; i < 3; i++) free(blobs[i]);
    unlink(path);
    return bt_test_finish("test_snapshot");
}
