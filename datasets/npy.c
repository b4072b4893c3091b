/* NumPy .npy loader (format versions 1, 2 and 3): X from one file, labels from another. Numeric
 * dtypes of either byte order are converted to float; Fortran-ordered arrays are transposed, so
 * what np.save wrote is what the model sees. */
#include "datasets/loaders.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct npy_array {
    int ndim;
    int64_t shape[8];
    int64_t count;
    float *data; /* C order */
} npy_array;

static uint64_t load_uint(const unsigned char *p, int size, int big) {
    uint64_t v = 0;
    for (int i = 0; i < size; i++) v |= (uint64_t)p[big ? size - 1 - i : i] << (8 * i);
    return v;
}

static float convert(const unsigned char *p, char kind, int size, int big) {
    uint64_t bits = load_uint(p, size, big);
    switch (kind) {
    case 'f':
        if (size == 4) {
            uint32_t b32 = (uint32_t)bits;
            float f;
            memcpy(&f, &b32, 4);
            return f;
        } else {
            double d;
            memcpy(&d, &bits, 8);
            return (float)d;
        }
    case 'i': {
        /* sign-extend from size bytes */
        int shift = 64 - 8 * size;
        int64_t v = (int64_t)(bits << shift) >> shift;
        return (float)v;
    }
    case 'u':
        return (float)bits;
    case 'b':
        return bits ? 1.0f : 0.0f;
    }
    return 0;
}

/* Parses the Python dict literal of the header: 'descr', 'fortran_order', 'shape'. */
static bt_status parse_header(const char *path, const char *h, char *kind, int *size, int *big,
                              int *fortran, npy_array *a) {
    const char *d = strstr(h, "'descr'");
    const char *fo = strstr(h, "'fortran_order'");
    const char *sh = strstr(h, "'shape'");
    if (!d || !fo || !sh)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: .npy header lacks descr, fortran_order or shape",
                       path);
    d = strchr(d + 7, '\'');
    if (!d || strlen(d) < 4)
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "%s: .npy dtype is not a simple type (structured "
                       "arrays are not supported)",
                       path);
    char order = d[1], ex[BT_EXCERPT_SIZE];
    *kind = d[2];
    *size = atoi(d + 3);
    *big = order == '>';
    int ok_size = (*kind == 'f' && (*size == 4 || *size == 8)) ||
                  ((*kind == 'i' || *kind == 'u') &&
                   (*size == 1 || *size == 2 || *size == 4 || *size == 8)) ||
                  (*kind == 'b' && *size == 1);
    if (!ok_size || (order != '<' && order != '>' && order != '|' && order != '='))
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "%s: .npy dtype '%s' is not supported (use float32/64, int, uint or bool)",
                       path, bt_excerpt(d + 1, (long)strnlen(d + 1, 6), ex));
    fo = strchr(fo + 15, ':');
    while (fo && (*fo == ':' || *fo == ' ')) fo++;
    *fortran = fo && strncmp(fo, "True", 4) == 0;
    const char *p = strchr(sh, '(');
    if (!p) return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: .npy shape is not a tuple", path);
    p++;
    a->ndim = 0;
    a->count = 1;
    for (;;) {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ')') break;
        char *e;
        long long v = strtoll(p, &e, 10);
        if (e == p || v < 0 || a->ndim == 8)
            return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: cannot read the .npy shape", path);
        if (v > 0 && a->count > INT64_MAX / v)
            return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: .npy shape is too large", path);
        a->shape[a->ndim++] = v;
        a->count *= v;
        p = e;
    }
    return BT_STATUS_OK;
}

static bt_status read_npy(const char *path, npy_array *a) {
    memset(a, 0, sizeof *a);
    unsigned char *buf;
    size_t len;
    BT_TRY(bt_file_read_all(path, &buf, &len));
    bt_status s = BT_STATUS_OK;
    size_t hdr_len = 0, off = 0;
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0) {
        s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s: not a .npy file (bad magic)", path);
    } else if (buf[6] == 1) {
        hdr_len = (size_t)load_uint(buf + 8, 2, 0);
        off = 10;
    } else if ((buf[6] == 2 || buf[6] == 3) && len >= 12) {
        hdr_len = (size_t)load_uint(buf + 8, 4, 0);
        off = 12;
    } else {
        s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s: unknown .npy format version %d", path, buf[6]);
    }
    if (s == BT_STATUS_OK && off + hdr_len > len)
        s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s: truncated .npy header", path);
    char kind = 0;
    int size = 0, big = 0, fortran = 0;
    if (s == BT_STATUS_OK) {
        char *h = malloc(hdr_len + 1);
        if (!h)
            s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
        else {
            memcpy(h, buf + off, hdr_len);
            h[hdr_len] = '\0';
            s = parse_header(path, h, &kind, &size, &big, &fortran, a);
            free(h);
        }
    }
    if (s == BT_STATUS_OK) {
        size_t data = off + hdr_len;
        size_t need = (size_t)a->count * (size_t)size;
        if ((size_t)a->count > len || len - data < need)
            s = BT_FAIL(BT_STATUS_BAD_INPUT,
                        "%s: truncated .npy data: %zu bytes for %lld elements, need %zu", path,
                        len - data, (long long)a->count, need);
        else if (fortran && a->ndim > 2)
            s = BT_FAIL(BT_STATUS_BAD_INPUT,
                        "%s: Fortran-ordered arrays of %d dimensions are not supported", path,
                        a->ndim);
        else /* 1-byte elements take 4 times their file size as floats */
            s = bt_data_fits(path, "its array as floats", (double)a->count * sizeof(float));
        if (s == BT_STATUS_OK &&
            !(a->data = malloc(a->count ? (size_t)a->count * sizeof(float) : 1)))
            s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory for %s", path);
        if (s == BT_STATUS_OK) {
            const unsigned char *src = buf + data;
            int64_t rows = a->ndim >= 1 ? a->shape[0] : 1;
            int64_t cols = a->ndim == 2 ? a->shape[1] : 1;
            for (int64_t k = 0; k < a->count; k++) {
                /* Fortran order stores element (i, j) at j * rows + i. */
                int64_t dst = fortran && a->ndim == 2 ? (k % rows) * cols + k / rows : k;
                a->data[dst] = convert(src + (size_t)k * (size_t)size, kind, size, big);
            }
        }
    }
    free(buf);
    return s;
}

bt_status bt_dataset_load_npy(const char *x_path, const char *y_path, bt_dataset *out) {
    memset(out, 0, sizeof *out);
    npy_array x, y = {0};
    BT_TRY(read_npy(x_path, &x));
    bt_status s = read_npy(y_path, &y);
    if (s == BT_STATUS_OK && (x.ndim < 1 || x.ndim > 4))
        s = BT_FAIL(BT_STATUS_BAD_INPUT,
                    "%s: X has %d dimensions; expected rows x features (or images N x H x W, "
                    "N x C x H x W)",
                    x_path, x.ndim);
    if (s == BT_STATUS_OK && !(y.ndim == 1 || (y.ndim == 2 && y.shape[1] == 1)))
        s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s: labels must be a 1-D array (has %d dimensions)",
                    y_path, y.ndim);
    if (s == BT_STATUS_OK && x.shape[0] != y.shape[0])
        s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s has %lld rows but its labels %s have %lld", x_path,
                    (long long)x.shape[0], y_path, (long long)y.shape[0]);
    if (s == BT_STATUS_OK && x.shape[0] == 0)
        s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s: no rows", x_path);
    int64_t nf = x.shape[0] ? x.count / x.shape[0] : 0;
    if (s == BT_STATUS_OK && (nf < 1 || nf > INT32_MAX))
        s = BT_FAIL(BT_STATUS_BAD_INPUT, "%s: %lld features per row", x_path, (long long)nf);
    if (s == BT_STATUS_OK) {
        out->n_rows = x.shape[0];
        out->n_features = (int32_t)nf;
        out->X = x.data;
        out->y = y.data;
        x.data = y.data = NULL;
        if (x.ndim == 3) {
            out->channels = 1;
            out->height = (int32_t)x.shape[1];
            out->width = (int32_t)x.shape[2];
        } else if (x.ndim == 4) {
            out->channels = (int32_t)x.shape[1];
            out->height = (int32_t)x.shape[2];
            out->width = (int32_t)x.shape[3];
        }
        out->source = bt_strdup_(x_path);
        if (!out->source) s = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    free(x.data);
    free(y.data);
    if (s != BT_STATUS_OK) bt_dataset_free(out);
    return s;
}
