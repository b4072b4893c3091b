/* Loading a sweep's data and training one of its trials alone: what `run`, `bench` and `export`
 * add to a plan (sweeps/plan.h) before anything trains. The data belongs to the bt_sweep (freed by
 * bt_sweep_free). */
#ifndef BT_SWEEP_DATA_H
#define BT_SWEEP_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "sweeps/plan.h"

/* Reads the dataset (unless sw->train already holds data: an MPI rank's, sent by rank 0), checks
 * every trial's hyperparameters against the task and prepares the family's shared structures
 * (binning). threads >= 1. */
bt_status bt_sweep_load_data(bt_sweep *sw, int threads);

/* Trains one trial alone to `resource` with the sweep's pack ops (sw->packs) and serializes it
 * (export, best model); *metric (if not NULL) gets its validation metric there. */
bt_status bt_sweep_train_export(bt_sweep *sw, int64_t trial, int64_t resource, const char *format,
                                char **out, size_t *len, double *metric);

#endif
