/* Whole-file reading for the loaders with bounded memory: a regular file up to the memory
 * available, a pipe or /proc file read to its end (its size says nothing) up to BT_DATA_STREAM_MAX,
 * gzip'd data inflated only after a counting pass proved it fits (docs/limits.md). */
#include "datasets/loaders.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

bt_status bt_data_fits(const char *path, const char *what, double bytes) {
    double avail = (double)bt_mem_available();
    if (avail < 0 || bytes <= avail) return BT_STATUS_OK; /* unknown: the allocation says */
    return BT_FAIL(BT_STATUS_BAD_INPUT,
                   "%s: %s needs %.3g GiB, more than the %.3g GiB of memory available", path, what,
                   bytes / (1 << 30), avail / (1 << 30));
}

bt_status bt_file_check(const char *path) {
    struct stat st;
    if (!path || !*path) return BT_FAIL(BT_STATUS_NO_INPUT, "no file name given");
    if (stat(path, &st) != 0)
        return BT_FAIL(BT_STATUS_NO_INPUT, "%s: %s", path,
                       errno == ENOENT ? "no such file" : strerror(errno));
    if (S_ISDIR(st.st_mode))
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: is a folder, not a file", path);
    return BT_STATUS_OK;
}

/* Reads what path holds to its end; a regular file's size only sizes the first buffer. */
static bt_status read_raw(const char *path, unsigned char **buf, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return BT_FAIL(BT_STATUS_NO_INPUT, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return BT_FAIL(BT_STATUS_NO_INPUT, "%s: %s", path, strerror(errno));
    }
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) { /* /dev/zero, /dev/urandom: endless */
        fclose(f);
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: a device, not a data file", path);
    }
    int regular = S_ISREG(st.st_mode) && st.st_size > 0;
    size_t size = regular ? (size_t)st.st_size : 0;
    if (regular) {
        bt_status s = bt_data_fits(path, "reading the file", (double)size);
        if (s != BT_STATUS_OK) {
            fclose(f);
            return s;
        }
    }
    size_t limit = size > BT_DATA_STREAM_MAX ? size : BT_DATA_STREAM_MAX;
    size_t cap = regular ? size + 1 : (size_t)1 << 16, n = 0;
    unsigned char *p = malloc(cap + 1);
    bt_status s = BT_STATUS_OK;
    while (p) {
        if (n == cap) {
            if (n >= limit) {
                s = BT_FAIL(BT_STATUS_BAD_INPUT,
                            "%s: more than %zu MiB and not a regular file of that size (a device "
                            "like /dev/zero?)",
                            path, limit >> 20);
                break;
            }
            size_t grown = cap * 2 < limit ? cap * 2 : limit;
            unsigned char *q = realloc(p, grown + 1);
            if (!q) break;
            p = q;
            cap = grown;
        }
        size_t got = fread(p + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (!p) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory reading %s", path);
    if (s == BT_STATUS_OK && n == cap && n < limit) /* realloc failed */
        s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory reading %s", path);
    if (s == BT_STATUS_OK && err) s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s: read error", path);
    if (s != BT_STATUS_OK) {
        free(p);
        return s;
    }
    p[n] = '\0';
    *buf = p;
    *len = n;
    return BT_STATUS_OK;
}

/* Inflates every gzip member of in[0..n) (trailing non-gzip bytes are ignored, as gunzip does)
 * into dst, or only counts the bytes when dst is NULL; more than cap bytes stops it with *over. */
static bt_status inflate_all(const char *path, const unsigned char *in, size_t n,
                             unsigned char *dst, size_t cap, size_t *total, int *over) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return BT_FAIL(BT_STATUS_INTERNAL, "%s: cannot start zlib", path);
    unsigned char scratch[1 << 14];
    const unsigned char *end = in + n;
    z.next_in = (unsigned char *)in;
    *total = 0;
    *over = 0;
    bt_status s = BT_STATUS_OK;
    for (;;) {
        if (z.avail_in == 0) {
            size_t rest = (size_t)(end - z.next_in);
            z.avail_in = (uInt)(rest < (1u << 30) ? rest : (1u << 30));
        }
        int direct = dst && *total < cap;
        size_t room = direct ? cap - *total : sizeof scratch;
        if (room > (1u << 30)) room = 1u << 30;
        z.next_out = direct ? dst + *total : scratch;
        z.avail_out = (uInt)room;
        int r = inflate(&z, Z_NO_FLUSH);
        *total += room - z.avail_out;
        if (*total > cap) {
            *over = 1;
            break;
        }
        if (r == Z_STREAM_END) {
            size_t rest = (size_t)(end - z.next_in);
            if (rest >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b) {
                inflateReset(&z);
                z.avail_in = 0;
                continue;
            }
            break;
        }
        if (r == Z_BUF_ERROR && z.next_in == end) {
            s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s: truncated gzip file", path);
            break;
        }
        if (r != Z_OK && r != Z_BUF_ERROR) {
            s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s: corrupt gzip data (%s)", path,
                        z.msg ? z.msg : "bad stream");
            break;
        }
    }
    inflateEnd(&z);
    return s;
}

/* A counting pass first, so a gzip bomb is refused before anything of its size is allocated. */
static bt_status gunzip(const char *path, const unsigned char *in, size_t n, unsigned char **buf,
                        size_t *len) {
    double ratio_cap = (double)BT_GZIP_RATIO * (double)n;
    size_t cap = ratio_cap > (double)BT_GZIP_FLOOR ? (size_t)ratio_cap : BT_GZIP_FLOOR;
    int64_t avail = bt_mem_available();
    if (avail >= 0 && (double)cap > (double)avail / 2) cap = (size_t)(avail / 2);
    size_t total = 0;
    int over = 0;
    BT_TRY(inflate_all(path, in, n, NULL, cap, &total, &over));
    if (over)
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "%s: gzip data inflates to more than %zu MiB from %zu KiB (limit: %dx the "
                       "compressed size, at least %zu MiB, at most half the free memory); a gzip "
                       "bomb? If it is real data, unpack it and name the unpacked file",
                       path, cap >> 20, n >> 10, BT_GZIP_RATIO, BT_GZIP_FLOOR >> 20);
    unsigned char *p = malloc(total + 1);
    if (!p) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory unpacking %s", path);
    size_t again = 0;
    bt_status s = inflate_all(path, in, n, p, total, &again, &over);
    if (s == BT_STATUS_OK && (over || again != total))
        s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s: changed while it was read", path);
    if (s != BT_STATUS_OK) {
        free(p);
        return s;
    }
    p[total] = '\0';
    *buf = p;
    *len = total;
    return BT_STATUS_OK;
}

bt_status bt_file_read_all(const char *path, unsigned char **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    BT_TRY(bt_file_check(path));
    unsigned char *raw = NULL;
    size_t n = 0;
    BT_TRY(read_raw(path, &raw, &n));
    if (n < 2 || raw[0] != 0x1f || raw[1] != 0x8b) {
        *buf = raw;
        *len = n;
        return BT_STATUS_OK;
    }
    bt_status s = gunzip(path, raw, n, buf, len);
    free(raw);
    return s;
}
