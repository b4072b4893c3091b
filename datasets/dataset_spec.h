/* bt_dataset_spec: the `dataset` block of a sweep file as plain data -- which files or synthetic
 * set, format, target column, split -- read by bt_dataset_from_spec (datasets/load.c). It lives on
 * the datasets floor so the loaders never reach up to the sweep spec that embeds it.
 * Ownership: the strings belong to whoever fills the struct (the sweep spec: bt_spec_free). */
#ifndef BT_DATASET_SPEC_H
#define BT_DATASET_SPEC_H

#include <stdint.h>

/* Paths are resolved against the sweep file's folder. */
typedef struct bt_dataset_spec {
    char *train, *train_labels; /* file paths; *_labels for formats with separate label files */
    char *valid, *valid_labels;
    char *path;            /* single file split into train/valid by valid_fraction */
    char *format;          /* csv|libsvm|npy|hdf5|idx|cifar; NULL = from the file name */
    char *target_name;     /* CSV target column by name, or NULL */
    int target_index;      /* target column by index (negative counts from the end); default -1 */
    double valid_fraction; /* default 0.2 */
    uint64_t split_seed;   /* default 42 */
    char *synthetic;       /* "friedman1" | "classification" | NULL */
    int64_t rows;
    int32_t features, classes;
    uint64_t seed;
    double noise;
} bt_dataset_spec;

#endif
