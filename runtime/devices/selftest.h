/* The self-test of a GPU (`batchtune selftest`, the op tests, and `--device auto` before it trusts
 * a GPU it has not verified): the op table -- every CUDA kernel against its C reference on fresh
 * random inputs (kernels/optest.h) -- and one short pack round per family, the GPU pack against
 * the CPU pack on the same small synthetic data and trials. No GPU code here: both parts run
 * through the CUDA module's table. No ownership: rows are handed to the callback and gone after
 * it returns. */
#ifndef BT_SELFTEST_H
#define BT_SELFTEST_H

#include <stdint.h>

#include "base/status.h"
#include "kernels/optest.h"
#include "runtime/devices/cuda_module.h"

typedef struct bt_selftest_row {
    const char *part; /* "op" or "pack" */
    const char *name; /* the op ("gbdt_hist") or the family ("gbdt") */
    const char *desc; /* the case */
    bt_op_result r;
    double seconds;
    int passed;
} bt_selftest_row;

typedef void (*bt_selftest_cb)(void *ctx, const bt_selftest_row *row);

typedef struct bt_selftest_opts {
    int gpu;          /* the GPU to test */
    uint64_t seed;    /* inputs of every case (printed, to replay) */
    int ops, packs;   /* which parts run */
    const char *only; /* run only ops / families whose name contains this (NULL: all) */
    int only_exact;   /* ... whose name is exactly `only` */
    int experimental; /* also the experimental GPU packs (mlp, resnet) */
} bt_selftest_opts;

typedef struct bt_selftest_summary {
    int rows, failed;
    char first_failure[320]; /* "gbdt_hist (u8...): gbdt_hist.cu:97: ..." or "" */
} bt_selftest_summary;

/* Runs the chosen parts on GPU o->gpu. BT_STATUS_NO_DEVICE (69) when there is no usable GPU, with
 * the reason (no module, no driver, no GPU, a driver that refuses); otherwise OK, with every row
 * reported and the failures counted in sum (a mismatch is a failed row, not an error). */
bt_status bt_selftest_run(const bt_selftest_opts *o, bt_selftest_cb cb, void *ctx,
                          bt_selftest_summary *sum);

/* The pack part for one family alone: its GPU pack against its CPU pack (used by `--device auto`
 * before trusting a GPU). *ok is 1 when they agree. */
bt_status bt_selftest_family(const char *family, int gpu, uint64_t seed, int *ok, char *why,
                             size_t why_n);

#endif
