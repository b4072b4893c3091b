/* libFuzzer harness: the HDF5 loader (datasets/hdf5.c), in this process (not its forked guard,
 * whose coverage the fuzzer could not see). The HDF5 library itself is not
 * instrumented: this finds what batchtune does with what the library hands it (shapes, types). */
#include "datasets/hdf5_read.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = bt_fuzz_file("data", ".h5", data, size);
    bt_dataset d = {0};
    bt_dataset_load_hdf5_here(path, &d);
    bt_dataset_free(&d);
    return 0;
}
