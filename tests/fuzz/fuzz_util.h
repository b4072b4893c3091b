/* Shared by the libFuzzer harnesses (tests/fuzz): the loaders read files, so an input is written
 * to one private file per process first. Status messages are per thread and never printed. */
#ifndef BT_FUZZ_UTIL_H
#define BT_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes data to $TMPDIR/bt_fuzz_<pid>_<tag><suffix> and returns that path (static storage). */
static inline const char *bt_fuzz_file(const char *tag, const char *suffix, const uint8_t *data,
                                       size_t size) {
    static char paths[4][512];
    static int next;
    char *path = paths[next++ % 4];
    const char *dir = getenv("TMPDIR");
    snprintf(path, 512, "%s/bt_fuzz_%ld_%s%s", dir && *dir ? dir : "/tmp", (long)getpid(), tag,
             suffix);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    return path;
}

/* Every harness: what a file declares is checked against 256 MiB, not the machine's memory, so
 * a legal but large allocation is not mistaken for a bomb by libFuzzer's -malloc_limit_mb. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    setenv("BT_MEM_AVAILABLE", "268435456", 1);
    return 0;
}

/* The sweep-file parser and validator on data as text named `name` (its suffix picks JSON or
 * YAML). */
#include "sweeps/spec/spec.h"
static inline void bt_fuzz_spec(const char *name, const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) return;
    memcpy(text, data, size);
    text[size] = '\0'; /* the reader refuses NUL bytes before parsing; so does this */
    bt_spec s;
    bt_diags d;
    bt_diags_init(&d);
    if (bt_spec_parse(name, text, &s, &d) == BT_STATUS_OK) bt_spec_free(&s);
    bt_diags_free(&d);
    free(text);
}

#endif
