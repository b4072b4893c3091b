/* The op table's suites, one per CUDA op (kernels/optest.h; kernels/cuda/optest/<op>.cu), in the
 * order selftest runs them: gbdt first (the family whose GPU pack is verified), then nn. */
#include <stddef.h>

#include "kernels/optest.h"

#define SUITE(op) extern const bt_op_suite bt_optest_suite_##op;

/* ---- gbdt ---- */
SUITE(gbdt_hist)
SUITE(gbdt_hist_zero)
SUITE(gbdt_objective)
SUITE(gbdt_sample)
SUITE(gbdt_round_init)
SUITE(gbdt_level)
SUITE(gbdt_partition)
SUITE(gbdt_split)
SUITE(gbdt_apply)
SUITE(gbdt_predict)
SUITE(gbdt_metric)
SUITE(gbdt_round)

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
    &bt_optest_suite_gbdt_hist_zero,
    &bt_optest_suite_gbdt_objective,
    &bt_optest_suite_gbdt_sample,
    &bt_optest_suite_gbdt_round_init,
    &bt_optest_suite_gbdt_level,
    &bt_optest_suite_gbdt_partition,
    &bt_optest_suite_gbdt_split,
    &bt_optest_suite_gbdt_apply,
    &bt_optest_suite_gbdt_predict,
    &bt_optest_suite_gbdt_metric,
    &bt_optest_suite_gbdt_round,

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
