/* The op table's suites, one per CUDA op (kernels/optest.h; kernels/cuda/optest/<op>.cu), in the
 * order selftest runs them: gbdt first (the family whose GPU pack is verified), then nn. */
#include <stddef.h>

#include "kernels/optest.h"

#define SUITE(op) extern const bt_op_suite bt_optest_suite_##op;

/* ---- gbdt ---- */
SUITE(gbdt_hist)

/* ---- nn ---- */

#undef SUITE

const bt_op_suite *const bt_optest_suites[] = {
    /* ---- gbdt ---- */
    &bt_optest_suite_gbdt_hist,

    /* ---- nn ---- */

    NULL,
};
