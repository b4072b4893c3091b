/* bt_dataset: a dense float table (rows x features) with one label per row, as every loader
 * produces it (dataset.c), and the floor's entry point that turns a sweep's `dataset` block into
 * train and valid sets (bt_dataset_from_spec, datasets/load.c).
 * Ownership: a bt_dataset owns X, y, feature_names and source; bt_dataset_free releases them
 * (and is a no-op on a zeroed struct). */
#ifndef BT_DATASET_H
#define BT_DATASET_H

#include <stdint.h>

#include "base/status.h"
#include "datasets/dataset_spec.h"

/* The most classes a classification task may have (num_class, dataset.classes, or inferred from
 * the labels): a label at or above it is refused rather than made into that many classes. */
#define BT_MAX_CLASSES 10000

typedef enum bt_task {
    BT_TASK_REGRESSION = 0,
    BT_TASK_BINARY,     /* labels 0/1 */
    BT_TASK_MULTICLASS, /* labels 0..n_classes-1 */
} bt_task;

typedef struct bt_dataset {
    int64_t n_rows;
    int32_t n_features;
    float *X;                        /* row-major n_rows x n_features; NaN marks a missing cell */
    float *y;                        /* n_rows labels */
    char **feature_names;            /* n_features names, or NULL */
    char *source;                    /* human-readable origin, e.g. "boston.csv (rows 1-404)" */
    int32_t channels, height, width; /* image shape when the format has one, else 0 */
} bt_dataset;

void bt_dataset_free(bt_dataset *d);

/* Loads train and valid sets as the sweep's dataset block says (explicit files, a single file
 * split by valid_fraction -- stratified for classification -- or a synthetic set), checking labels
 * against the task (binary: 0/1; multiclass: integers in [0, n_classes), n_classes <= 0 means
 * "infer"). Errors: BT_STATUS_NO_INPUT for a missing file, BT_STATUS_BAD_INPUT with "FILE:LINE:
 * message" for bad content. */
bt_status bt_dataset_from_spec(const bt_dataset_spec *spec, bt_task task, int32_t n_classes,
                               bt_dataset *train, bt_dataset *valid);

#endif
