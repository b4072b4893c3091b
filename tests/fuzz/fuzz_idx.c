/* libFuzzer harness: the IDX loader (datasets/idx.c); the first byte chooses which of the two
 * files (images, labels) the rest becomes, the other a fixed 2-item file. */
#include "datasets/loaders.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const uint8_t images[] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2,
                                     0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8};
    static const uint8_t labels[] = {0, 0, 8, 1, 0, 0, 0, 2, 0, 1};
    if (size < 1) return 0;
    int fuzz_labels = data[0] & 1;
    const char *ip = bt_fuzz_file("images", "", fuzz_labels ? images : data + 1,
                                  fuzz_labels ? sizeof images : size - 1);
    const char *lp = bt_fuzz_file("labels", "", fuzz_labels ? data + 1 : labels,
                                  fuzz_labels ? size - 1 : sizeof labels);
    bt_dataset d = {0};
    bt_dataset_load_idx(ip, lp, &d);
    bt_dataset_free(&d);
    return 0;
}
