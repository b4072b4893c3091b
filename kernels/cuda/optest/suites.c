/* The op table's suites, one per CUDA op (kernels/optest.h; kernels/cuda/optest/<op>.cu), in the
 * order selftest runs them: gbdt first (the family whose GPU pack is verified), then nn. */
#include <stddef.h>

#include "kernels/optest.h"

#define SUITE(op) extern const bt_op_suite bt_optest_suite_##op;

/* ---- gbdt ---- */
SUITE(gbdt_hist)

/* ---- nn ---- */
SUITE(nn_act)
SUITE(nn_batchnorm)
SUITE(nn_conv2d)
SUITE(nn_linear)
SUITE(nn_loss)
SUITE(nn_optim)
SUITE(nn_train)

#undef SUITE

const bt_op_suite *const bt_optest_suites[] = {
    /* ---- gbdt ---- */
    &bt_optest_suite_gbdt_hist,

    /* ---- nn ---- */
    &bt_optest_suite_nn_act,
    &bt_optest_suite_nn_batchnorm,
    &bt_optest_suite_nn_conv2d,
    &bt_optest_suite_nn_linear,
    &bt_optest_suite_nn_loss,
    &bt_optest_suite_nn_optim,
    &bt_optest_suite_nn_train,

    NULL,
};
