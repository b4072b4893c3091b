/* The op table: every CUDA kernel compared with its C reference on fresh random inputs, case by
 * case, in the spirit of ggml's test-backend-ops. A suite is one op (gbdt_hist, nn_linear, ...)
 * with its cases (shapes, sizes, options: p[]) and a runner that builds the inputs from a seed,
 * runs the reference and the kernel on the current GPU and compares them with the case's
 * tolerance (0: bit for bit). The suites live in the CUDA module (kernels/cuda/optest/) and reach
 * the binary through its table, so `batchtune selftest` on a user's GPU and the op tests
 * (tests/cuda/test_ops.c) on a GPU or the device emulation run the same cases.
 * Ownership: cases and suites are static; a result is the caller's. */
#ifndef BT_OPTEST_H
#define BT_OPTEST_H

#include <stdint.h>

#include "base/status.h"

typedef struct bt_op_result {
    int64_t checks;   /* comparisons made */
    int64_t failures; /* comparisons that failed */
    double worst;     /* worst error seen (relative where the case says so), 0 when exact */
    char first[256];  /* the first failure, "" when none */
    bt_status status; /* a call that failed outright (launch, allocation), else OK */
    char status_msg[256];
} bt_op_result;

typedef struct bt_op_case bt_op_case;
/* Runs one case with inputs from `seed` on the current GPU; fills r (zeroed by the caller).
 * Returns BT_STATUS_OK when the case ran (whether or not it matched). */
typedef bt_status (*bt_op_run_fn)(const bt_op_case *c, uint64_t seed, bt_op_result *r);

struct bt_op_case {
    const char *desc; /* "u8, 256 entries, 7 features, 3 trials x 4 nodes" */
    bt_op_run_fn run;
    int64_t p[8]; /* the case's parameters, as its runner reads them */
    double tol;   /* the case's tolerance (0: exact; the runner says in what unit) */
};

typedef struct bt_op_suite {
    const char *op;          /* "gbdt_hist" */
    const bt_op_case *cases; /* n_cases of them */
    int n_cases;
} bt_op_suite;

#endif
