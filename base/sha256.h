/* SHA-256 (FIPS 180-4), used to fingerprint the sweep file so a journal can tell whether it is
 * resumed with the same sweep. Ownership: the context is a plain struct the caller owns; no
 * allocation anywhere. */
#ifndef BT_SHA256_H
#define BT_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct bt_sha256 {
    uint32_t h[8];
    uint64_t n_bytes; /* total fed so far */
    uint8_t buf[64];  /* partial block */
    size_t n_buf;
} bt_sha256;

void bt_sha256_init(bt_sha256 *c);
void bt_sha256_update(bt_sha256 *c, const void *data, size_t n);
void bt_sha256_final(bt_sha256 *c, uint8_t digest[32]);
/* One-shot: hex digest (64 lowercase characters and a NUL) of data[0..n). */
void bt_sha256_hex(const void *data, size_t n, char hex[65]);

#endif
