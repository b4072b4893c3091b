/* IDX loader (MNIST, Fashion-MNIST, EMNIST): an unsigned-byte images file (magic 0x00000803 for
 * N x H x W, any rank accepted) and a labels file (0x00000801), plain or gzip'd. Pixels become
 * float pixel/255, the shape goes to channels (1), height and width. */
#include "datasets/loaders.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct idx_file {
    unsigned char *buf;
    size_t len;
    int ndim;
    int64_t dims[8];
    int64_t count;
    const unsigned char *data;
} idx_file;

static bt_status read_idx(const char *path, idx_file *f) {
    memset(f, 0, sizeof *f);
    BT_TRY(bt_file_read_all(path, &f->buf, &f->len));
    if (f->len < 4 || f->buf[0] != 0 || f->buf[1] != 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: not an IDX file (bad magic)", path);
    if (f->buf[2] != 0x08)
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "%s: IDX element type 0x%02x is not supported (only unsigned bytes, 0x08)",
                       path, f->buf[2]);
    f->ndim = f->buf[3];
    if (f->ndim < 1 || f->ndim > 8)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: IDX rank %d is not supported", path, f->ndim);
    size_t head = 4 + 4 * (size_t)f->ndim;
    if (f->len < head) return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: truncated IDX header", path);
    f->count = 1;
    for (int k = 0; k < f->ndim; k++) {
        const unsigned char *p = f->buf + 4 + 4 * k;
        f->dims[k] = ((int64_t)p[0] << 24) | ((int64_t)p[1] << 16) | ((int64_t)p[2] << 8) | p[3];
        f->count *= f->dims[k];
        if (f->count > (int64_t)f->len) break; /* truncated; also keeps the product in range */
    }
    if (f->count > (int64_t)f->len || f->len - head < (size_t)f->count)
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "%s: truncated IDX data: %zu bytes, header promises %lld", path,
                       f->len - head, (long long)f->count);
    f->data = f->buf + head;
    return BT_STATUS_OK;
}

/* "train-images-idx3-ubyte[.gz]" -> "train-labels-idx1-ubyte[.gz]" (MNIST's naming). */
static char *labels_name(const char *images) {
    const char *base = strrchr(images, '/');
    base = base ? base + 1 : images;
    const char *hit = strstr(base, "images-idx3-ubyte");
    if (!hit) hit = strstr(base, "images.idx3-ubyte");
    if (!hit) return NULL;
    size_t n = strlen(images);
    char *out = malloc(n + 1);
    if (!out) return NULL;
    memcpy(out, images, n + 1);
    size_t at = (size_t)(hit - images);
    memcpy(out + at, "labels", 6);
    out[at + 6] = hit[6]; /* '-' or '.' */
    memcpy(out + at + 7, "idx1", 4);
    return out;
}

bt_status bt_dataset_load_idx(const char *images_path, const char *labels_path, bt_dataset *out) {
    memset(out, 0, sizeof *out);
    char *derived = NULL;
    if (!labels_path) {
        derived = labels_name(images_path);
        if (!derived)
            return BT_FAIL(BT_STATUS_BAD_INPUT,
                           "%s: cannot derive the labels file name (expected '...images-idx3-"
                           "ubyte'); set dataset.train_labels / valid_labels",
                           images_path);
        labels_path = derived;
    }
    idx_file im, lb = {0};
    bt_status s = read_idx(images_path, &im);
    if (s == BT_STATUS_OK) s = read_idx(labels_path, &lb);
    if (s == BT_STATUS_OK && lb.ndim != 1)
        s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s: labels file has rank %d, expected 1", labels_path,
                    lb.ndim);
    if (s == BT_STATUS_OK && im.dims[0] != lb.dims[0])
        s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s has %lld images but %s has %lld labels", images_path,
                    (long long)im.dims[0], labels_path, (long long)lb.dims[0]);
    if (s == BT_STATUS_OK && im.dims[0] == 0)
        s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s: no images", images_path);
    int64_t nf = im.dims[0] ? im.count / im.dims[0] : 0;
    if (s == BT_STATUS_OK && (nf < 1 || nf > INT32_MAX))
        s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s: %lld pixels per image", images_path, (long long)nf);
    if (s == BT_STATUS_OK) s = bt_dataset_alloc(out, im.dims[0], (int32_t)nf);
    if (s == BT_STATUS_OK) {
        for (int64_t k = 0; k < im.count; k++) out->X[k] = (float)im.data[k] / 255.0f;
        for (int64_t i = 0; i < out->n_rows; i++) out->y[i] = (float)lb.data[i];
        if (im.ndim == 3) {
            out->channels = 1;
            out->height = (int32_t)im.dims[1];
            out->width = (int32_t)im.dims[2];
        }
        out->source = bt_strdup_(images_path);
        if (!out->source) s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    free(im.buf);
    free(lb.buf);
    free(derived);
    if (s != BT_STATUS_OK) bt_dataset_free(out);
    return s;
}
