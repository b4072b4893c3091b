/* Internal to the HDF5 loader: the reading itself (hdf5.c), which hdf5_child.c runs in a child
 * process so that a crash of libhdf5 on a corrupt file is a message, not the end of the sweep.
 * Ownership: the sink owns where X and y go; bt_hdf5_read only writes through the pointers the
 * sink returns and fills *shape (n_rows, n_features, image shape; no buffers). */
#ifndef BT_DATASETS_HDF5_READ_H
#define BT_DATASETS_HDF5_READ_H

#include "datasets/loaders.h"

/* Called once the shapes of X and y are known and checked: returns where the n_rows x
 * n_features floats of X and the n_rows of y are to be read. */
typedef bt_status (*bt_hdf5_sink)(void *ctx, const bt_dataset *shape, float **X, float **y);

/* Opens PATH, checks X's and y's metadata (presence, type, shape, declared size against memory
 * and against what the file stores), asks the sink for buffers, then reads both as float. */
bt_status bt_hdf5_read(const char *path, bt_hdf5_sink sink, void *ctx, bt_dataset *shape);

/* bt_dataset_load_hdf5 in this process, unguarded (the fuzz harness and the child use it). */
bt_status bt_dataset_load_hdf5_here(const char *path, bt_dataset *out);

#endif
