/* libFuzzer harness: the sweep-file parser and validator on JSON text (sweeps/spec). */
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bt_fuzz_spec("fuzz/sweep.json", data, size);
    return 0;
}
