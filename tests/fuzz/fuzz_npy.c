/* libFuzzer harness: the .npy loader (datasets/npy.c); the input is X, a fixed 4-row file y. */
#include "datasets/loaders.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* y: 4 float32 labels 0, 1, 0, 1 behind a header padded to 128 bytes, as numpy writes it */
    static uint8_t y[128 + 16];
    static const char head[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }";
    memset(y, ' ', 128);
    memcpy(y, "\x93NUMPY\x01\x00\x76\x00", 10);
    memcpy(y + 10, head, sizeof head - 1);
    y[127] = '\n';
    const float labels[4] = {0, 1, 0, 1};
    memcpy(y + 128, labels, sizeof labels);
    const char *yp = bt_fuzz_file("y", ".npy", y, sizeof y);
    const char *xp = bt_fuzz_file("x", ".npy", data, size);
    bt_dataset d = {0};
    bt_dataset_load_npy(xp, yp, &d);
    bt_dataset_free(&d);
    return 0;
}
