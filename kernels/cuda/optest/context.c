/* The running case's context the op-table suites share (optest.cuh): per host thread, the result
 * checks record into and the case's generator. One definition for the whole module, so code a
 * suite instantiates from a shared header records into the case that runs. */
#include <stdint.h>

#include "kernels/optest.h"

/* The running case of this host thread (optest.cuh): one context for every suite. */
static _Thread_local bt_op_result *running;
static _Thread_local uint64_t rng_state = 1;

bt_op_result **bt_optest_result_slot(void);
uint64_t *bt_optest_rng_state(void);

bt_op_result **bt_optest_result_slot(void) {
    return &running;
}

uint64_t *bt_optest_rng_state(void) {
    return &rng_state;
}
