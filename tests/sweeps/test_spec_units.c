/* The spec's building blocks: SHA-256 against FIPS 180-4 vectors, did-you-mean suggestions and
 * edit distances, and JSON positions (bt_jpos) by path and of syntax errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweeps/spec/didyoumean.h"
#include "sweeps/spec/json_locate.h"
#include "base/sha256.h"
#include "tests/bt_test.h"

static void test_sha256(void) {
    char hex[65];
    bt_sha256_hex("", 0, hex);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    bt_sha256_hex("abc", 3, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    bt_sha256_hex(two, strlen(two), hex);
    CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* one million 'a', fed in uneven pieces: exercises partial blocks and the padding paths */
    char *a = malloc(1000000);
    memset(a, 'a', 1000000);
    bt_sha256 c;
    bt_sha256_init(&c);
    size_t off = 0, step = 1;
    while (off < 1000000) {
        size_t n = step < 1000000 - off ? step : 1000000 - off;
        bt_sha256_update(&c, a + off, n);
        off += n;
        step = step * 7 % 1000 + 1;
    }
    uint8_t d[32];
    bt_sha256_final(&c, d);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
    CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* lengths around the 55/56/64-byte padding boundaries agree between one-shot and pieces */
    for (size_t n = 50; n < 130; n++) {
        char h1[65], h2[65];
        bt_sha256_hex(a, n, h1);
        bt_sha256_init(&c);
        bt_sha256_update(&c, a, n / 3);
        bt_sha256_update(&c, a + n / 3, n - n / 3);
        bt_sha256_final(&c, d);
        for (int i = 0; i < 32; i++) snprintf(h2 + 2 * i, 3, "%02x", d[i]);
        CHECK_STR(h1, h2);
    }
    free(a);
}

static void test_didyoumean(void) {
    CHECK_EQ_INT(bt_edit_distance("", "abc"), 3);
    CHECK_EQ_INT(bt_edit_distance("kitten", "sitting"), 3);
    CHECK_EQ_INT(bt_edit_distance("metirc", "metric"), 1); /* one transposition */
    CHECK_EQ_INT(bt_edit_distance("ETA", "eta"), 0);
    static const char *const keys[] = {"method", "metric", "parameters", "run_cap", NULL};
    CHECK_STR(bt_didyoumean("metirc", keys, -1), "metric");
    CHECK_STR(bt_didyoumean("paramters", keys, -1), "parameters");
    CHECK_STR(bt_didyoumean("runcap", keys, 4), "run_cap");
    CHECK_STR(bt_didyoumean("param", keys, -1), "parameters"); /* truncated */
    CHECK(bt_didyoumean("zzz", keys, -1) == NULL);
    CHECK(bt_didyoumean("seed", keys, -1) == NULL);
}

static void test_positions(void) {
    const char *text = "{\n"
                       "  \"a\": 1,\n"
                       "  \"b\": {\"c\": [10, {\"d\": \"x\"}]},\n"
                       "  \"\xc3\xa9t\xc3\xa9\": true, \"f\": null\n"
                       "}\n";
    cJSON *root = cJSON_Parse(text);
    CHECK(root != NULL);
    bt_jpos m;
    CHECK_OK(bt_jpos_build(&m, text, root));
    int line = 0, col = 0;
    const char *pa[] = {"a"};
    CHECK(bt_jpos_locate(&m, root, pa, 1, 0, &line, &col));
    CHECK(line == 2 && col == 8);
    CHECK(bt_jpos_locate(&m, root, pa, 1, 1, &line, &col));
    CHECK(line == 2 && col == 3);
    const char *pd[] = {"b", "c", "1", "d"};
    CHECK(bt_jpos_locate(&m, root, pd, 4, 1, &line, &col));
    CHECK(line == 3 && col == 20);
    CHECK(bt_jpos_locate(&m, root, pd, 4, 0, &line, &col));
    CHECK(line == 3 && col == 25);
    const char *pc[] = {"b", "c", "0"};
    CHECK(bt_jpos_locate(&m, root, pc, 3, 1, &line, &col)); /* array element: its value */
    CHECK(line == 3 && col == 15);
    const char *pf[] = {"f"};
    CHECK(bt_jpos_locate(&m, root, pf, 1, 1, &line, &col)); /* columns count characters */
    CHECK_MSG(line == 4 && col == 16, "%d:%d", line, col);
    const char *px[] = {"b", "zz"};
    CHECK(!bt_jpos_locate(&m, root, px, 2, 0, &line, &col));
    bt_jpos_free(&m);
    cJSON_Delete(root);

    size_t off;
    char msg[128];
    CHECK(!bt_json_find_error(text, &off, msg, sizeof msg));
    CHECK(bt_json_find_error("{\"a\": [1, 2,]}", &off, msg, sizeof msg));
    CHECK(off == 11 && strstr(msg, "trailing comma"));
    CHECK(bt_json_find_error("{\"a\": 01}", &off, msg, sizeof msg));
    CHECK(off == 6 && strstr(msg, "invalid number"));
    CHECK(bt_json_find_error("{\"a\": True}", &off, msg, sizeof msg));
    CHECK(off == 6 && strstr(msg, "lower case"));
    CHECK(bt_json_find_error("{\"a\" 1}", &off, msg, sizeof msg));
    CHECK(off == 5 && strstr(msg, "expected ':'"));
    CHECK(bt_json_find_error("{\"a\": \"x\n\"}", &off, msg, sizeof msg));
    CHECK(off == 6 && strstr(msg, "unterminated string"));
    CHECK(bt_json_find_error("{} {}", &off, msg, sizeof msg));
    CHECK(off == 3 && strstr(msg, "after the end"));
    CHECK(bt_json_find_error("{\"a\": 1 \"b\": 2}", &off, msg, sizeof msg));
    CHECK(off == 8 && strstr(msg, "missing ','"));
    bt_json_text_linecol("ab\ncd\nef", 7, &line, &col);
    CHECK(line == 3 && col == 2);
}

int main(void) {
    test_sha256();
    test_didyoumean();
    test_positions();
    return bt_test_finish("test_spec_units");
}
