/* bt_spec_load: reads a sweep file whole (refusing a folder, a file over BT_SWEEP_FILE_MAX or one
 * with a NUL byte, with the position of the first one) and parses it with bt_spec_parse. The
 * sweeps floor does no I/O, so the reading lives here. */
#include "runtime/store/sweep_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweeps/spec/json_locate.h"

/* Real sweeps are a few KB; the cap bounds memory for /dev/zero, a FIFO or a mistaken data file.
 * The reader never holds more than the cap + 1 bytes, whatever the file claims. */
#define BT_SWEEP_FILE_MAX ((size_t)16 << 20)

bt_status bt_spec_load(const char *path, bt_spec *out, bt_diags *diags) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        bt_diags_add(diags, "%s: cannot open: %s", path, strerror(e));
        return BT_FAIL(BT_STATUS_NO_INPUT, "%s: cannot open: %s", path, strerror(e));
    }
    size_t cap = 1 << 14, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory reading %s", path);
    }
    for (;;) {
        if (n > BT_SWEEP_FILE_MAX) {
            free(buf);
            fclose(f);
            bt_diags_add(diags,
                         "%s: larger than %zu MiB, the limit for a sweep file (is it the "
                         "sweep, not a data file?)",
                         path, BT_SWEEP_FILE_MAX >> 20);
            return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: sweep file over %zu MiB", path,
                           BT_SWEEP_FILE_MAX >> 20);
        }
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                fclose(f);
                return BT_FAIL(BT_STATUS_INTERNAL, "out of memory reading %s", path);
            }
            buf = nb;
        }
        size_t want = cap - 1 - n, room = BT_SWEEP_FILE_MAX + 1 - n;
        size_t got = fread(buf + n, 1, want < room ? want : room, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        bt_diags_add(diags, "%s: cannot read (is it a folder?)", path);
        return BT_FAIL(BT_STATUS_NO_INPUT, "%s: cannot read", path);
    }
    buf[n] = '\0';
    if (strlen(buf) != n) {
        int line, col;
        bt_json_text_linecol(buf, strlen(buf), &line, &col);
        bt_diags_add(diags, "%s:%d:%d: NUL byte in the file (not a text file?)", path, line, col);
        free(buf);
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: not a text file", path);
    }
    bt_status st = bt_spec_parse(path, buf, out, diags);
    free(buf);
    return st;
}
