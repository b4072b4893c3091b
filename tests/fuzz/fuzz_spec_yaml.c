/* libFuzzer harness: the sweep-file parser and validator on YAML text (sweeps/spec). */
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bt_fuzz_spec("fuzz/sweep.yaml", data, size);
    return 0;
}
