/* The C tests' own generator, xorshift64*: a test seeds it from the seed it prints
 * (bt_test_rng_seed), so BT_TEST_SEED replays the same inputs. Header-only. */
#ifndef BT_TEST_RNG_H
#define BT_TEST_RNG_H

#include <stdint.h>

static uint64_t bt_test_rng = 1;

static inline void bt_test_rng_seed(uint64_t seed) {
    bt_test_rng = seed * 0x9E3779B97F4A7C15ull + 1;
}

/* Uniform in [0, 1), 53 bits. */
static inline double urand(void) {
    bt_test_rng ^= bt_test_rng >> 12;
    bt_test_rng ^= bt_test_rng << 25;
    bt_test_rng ^= bt_test_rng >> 27;
    return (double)((bt_test_rng * 0x2545F4914F6CDD1Dull) >> 11) * (1.0 / 9007199254740992.0);
}

#endif
