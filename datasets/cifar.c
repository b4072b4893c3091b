/* CIFAR-10 binary loader: a batch file is a run of 3073-byte records, one label byte (0-9) then
 * 32x32 pixels per channel (R plane, G plane, B plane). X keeps that CHW order as float pixel/255,
 * with channels 3, height 32, width 32. */
#include "datasets/loaders.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CIFAR_PIXELS = 3 * 32 * 32, CIFAR_RECORD = 1 + CIFAR_PIXELS };

bt_status bt_dataset_load_cifar(const char *path, bt_dataset *out) {
    memset(out, 0, sizeof *out);
    unsigned char *buf;
    size_t len;
    BT_TRY(bt_file_read_all(path, &buf, &len));
    bt_status s = BT_STATUS_OK;
    if (len == 0)
        s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s: empty file", path);
    else if (len % CIFAR_RECORD != 0)
        s = BT_FAIL(BT_STATUS_BAD_INPUT,
                    "%s: %zu bytes is not a whole number of %d-byte CIFAR-10 records (truncated, "
                    "or CIFAR-100's 2-label format?)",
                    path, len, CIFAR_RECORD);
    int64_t n = (int64_t)(len / CIFAR_RECORD);
    for (int64_t i = 0; s == BT_STATUS_OK && i < n; i++)
        if (buf[(size_t)i * CIFAR_RECORD] > 9)
            s = BT_FAIL(BT_STATUS_BAD_INPUT,
                        "%s: record %lld has label byte %d; CIFAR-10 labels are 0-9", path,
                        (long long)i + 1, buf[(size_t)i * CIFAR_RECORD]);
    if (s == BT_STATUS_OK) s = bt_dataset_alloc(out, n, CIFAR_PIXELS);
    if (s == BT_STATUS_OK) {
        for (int64_t i = 0; i < n; i++) {
            const unsigned char *rec = buf + (size_t)i * CIFAR_RECORD;
            out->y[i] = (float)rec[0];
            float *x = out->X + (size_t)i * CIFAR_PIXELS;
            for (int k = 0; k < CIFAR_PIXELS; k++) x[k] = (float)rec[1 + k] / 255.0f;
        }
        out->channels = 3;
        out->height = 32;
        out->width = 32;
        out->source = bt_strdup_(path);
        if (!out->source) s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    free(buf);
    if (s != BT_STATUS_OK) bt_dataset_free(out);
    return s;
}
