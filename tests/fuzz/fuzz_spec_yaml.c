/* libFuzzer harness: the sweep-file parser and validator on YAML text (sweeps/spec). */
#include "sweeps/spec/spec.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0'; /* the reader refuses NUL bytes before parsing; so does this */
    bt_spec s;
    bt_diags d;
    bt_diags_init(&d);
    if (bt_spec_parse("fuzz/sweep.yaml", text, &s, &d) == BT_STATUS_OK) bt_spec_free(&s);
    bt_diags_free(&d);
    free(text);
    return 0;
}
