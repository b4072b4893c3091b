/* libFuzzer harness: the LIBSVM loader (datasets/libsvm.c). */
#include "datasets/loaders.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = bt_fuzz_file("data", ".svm", data, size);
    bt_dataset d = {0};
    int64_t *lines = NULL;
    if (bt_dataset_load_libsvm(path, &d, &lines) == BT_STATUS_OK)
        bt_dataset_check_labels(&d, BT_TASK_MULTICLASS, 0, path, lines);
    free(lines);
    bt_dataset_free(&d);
    return 0;
}
