/* libFuzzer harness: the CIFAR-10 binary loader (datasets/cifar.c). */
#include "datasets/loaders.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = bt_fuzz_file("data", ".bin", data, size);
    bt_dataset d = {0};
    bt_dataset_load_cifar(path, &d);
    bt_dataset_free(&d);
    return 0;
}
