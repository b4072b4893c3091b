/* Internal interface of the dataset layer: one loader per file format, the synthetic generators,
 * the train/valid split and small helpers they share (dataset.c). bt_dataset_from_spec (load.c) is
 * the only public entry point; tests call these directly.
 * Ownership: every loader fills a zeroed *out that the caller releases with bt_dataset_free, also
 * on failure (a loader leaves *out zeroed when it fails). *row_lines, when asked for, is a malloc'd
 * array of n_rows 1-based line numbers the caller frees; loaders of binary formats set it to NULL.
 */
#ifndef BT_DATASETS_LOADERS_H
#define BT_DATASETS_LOADERS_H

#include <stddef.h>
#include <stdint.h>

#include "base/memavail.h" /* bt_mem_available */
#include "datasets/dataset.h"

/* ---- shared helpers (dataset.c, fileread.c) ------------------------------------------------ */

/* Limits of whole-file reading (fileread.c, docs/limits.md): a file that is not regular (a pipe,
 * /proc) is read to its end up to BT_DATA_STREAM_MAX bytes; gzip'd data may inflate to
 * BT_GZIP_RATIO times its size, at least BT_GZIP_FLOOR bytes, at most half the free memory. */
#define BT_DATA_STREAM_MAX ((size_t)1 << 30)
#define BT_GZIP_RATIO 100
#define BT_GZIP_FLOOR ((size_t)64 << 20)
/* Reads a whole file (to its end, whatever its size claims) into a malloc'd, NUL-terminated
 * buffer, gunzipping it when it starts with the gzip magic (whatever its name). NO_INPUT when
 * missing, BAD_INPUT for a folder, corrupt gzip or anything over the limits above. */
bt_status bt_file_read_all(const char *path, unsigned char **buf, size_t *len);
/* BAD_INPUT "PATH: WHAT needs N GiB, more than ... available" when bytes exceed bt_mem_available
 * (base/memavail.h). */
bt_status bt_data_fits(const char *path, const char *what, double bytes);
/* An excerpt of file text for a message: at most BT_EXCERPT_CHARS characters of s[0..n) (n < 0:
 * up to its NUL), non-printable bytes as \xNN, "..." when cut. Returns out. */
#define BT_EXCERPT_CHARS 40
#define BT_EXCERPT_SIZE (4 * BT_EXCERPT_CHARS + 8)
const char *bt_excerpt(const char *s, long n, char out[BT_EXCERPT_SIZE]);
/* NO_INPUT unless path names an existing regular file. */
bt_status bt_file_check(const char *path);
/* Allocates X (n_rows x n_features) and y of a zeroed dataset; BAD_INPUT when they would not fit
 * in the memory available. */
bt_status bt_dataset_alloc(bt_dataset *d, int64_t n_rows, int32_t n_features);
/* strdup that never takes NULL (returns NULL only when out of memory). */
char *bt_strdup_(const char *s);

/* Format names as in the `dataset.format` key. */
typedef enum bt_data_format {
    BT_FORMAT_UNKNOWN = 0,
    BT_FORMAT_CSV,
    BT_FORMAT_LIBSVM,
    BT_FORMAT_NPY,
    BT_FORMAT_HDF5,
    BT_FORMAT_IDX,
    BT_FORMAT_CIFAR,
} bt_data_format;

bt_data_format bt_data_format_parse(const char *name);
/* Guesses the format from a file name (.csv[.gz], .svm/.libsvm/.txt[.gz], .npy, .h5/.hdf5,
 * *-idx3-ubyte[.gz], .bin). */
bt_data_format bt_data_format_from_name(const char *path);

/* Checks every label against the task; messages say "FILE:LINE:" when row_lines is given, else
 * "FILE: row N:". n_classes <= 0 accepts any non-negative integer for multiclass. */
bt_status bt_dataset_check_labels(const bt_dataset *d, bt_task task, int32_t n_classes,
                                  const char *path, const int64_t *row_lines);

/* ---- loaders ----------------------------------------------------------------------------- */

/* CSV with a header row (csv.c). The target column is target_name when given, else
 * target_index (negative counts from the end, -1 = last). Missing cells (empty, NA, N/A, NaN,
 * null, ?) become NaN in X; a missing label is an error. */
bt_status bt_dataset_load_csv(const char *path, const char *target_name, int target_index,
                              bt_dataset *out, int64_t **row_lines);
/* LIBSVM / SVMlight text: "label idx:val ..." with 1-based indices; absent entries are missing
 * (NaN), as XGBoost reads them (libsvm.c). */
bt_status bt_dataset_load_libsvm(const char *path, bt_dataset *out, int64_t **row_lines);
/* NumPy .npy: X from x_path (1-D, 2-D, or N x H x W / N x C x H x W images), y from y_path
 * (npy.c). Float, integer and bool dtypes of either byte order; C or Fortran order. */
bt_status bt_dataset_load_npy(const char *x_path, const char *y_path, bt_dataset *out);
/* HDF5 file with datasets `X` (rows x features, any numeric type) and `y` (hdf5.c). */
bt_status bt_dataset_load_hdf5(const char *path, bt_dataset *out);
/* IDX (MNIST, Fashion-MNIST): unsigned-byte images and labels, plain or gzip'd; X = pixel/255
 * (idx.c). labels_path NULL derives it ("...-images-idx3-ubyte" -> "...-labels-idx1-ubyte"). */
bt_status bt_dataset_load_idx(const char *images_path, const char *labels_path, bt_dataset *out);
/* CIFAR-10 binary batch: records of 1 label byte + 3072 CHW pixel bytes; X = pixel/255
 * (cifar.c). */
bt_status bt_dataset_load_cifar(const char *path, bt_dataset *out);

/* ---- synthetic sets (synthetic.c) --------------------------------------------------------- */

/* sklearn's make_friedman1: n_features >= 5 uniform [0,1) features, y = 10 sin(pi x0 x1) +
 * 20 (x2 - 0.5)^2 + 10 x3 + 5 x4 + noise * N(0,1). */
bt_status bt_dataset_synthetic_friedman1(int64_t n_rows, int32_t n_features, double noise,
                                         uint64_t seed, bt_dataset *out);
/* A make_classification-like set: n_classes balanced classes, each two Gaussian clusters around
 * hypercube vertices in the informative features, then redundant (linear combinations) and noise
 * features; a fraction flip_y of labels is replaced by random classes. */
bt_status bt_dataset_synthetic_classification(int64_t n_rows, int32_t n_features, int32_t n_classes,
                                              double flip_y, uint64_t seed, bt_dataset *out);

/* ---- split (split.c) ---------------------------------------------------------------------- */

/* Splits all into train and valid: round(valid_fraction * n_rows) rows go to valid, chosen by a
 * Philox shuffle keyed by seed; with stratify the count is shared out per class (largest
 * remainder) so each class keeps its proportion. Both parts keep the file's row order. BAD_INPUT
 * when train or valid would be empty or a class would be missing from train. */
bt_status bt_dataset_split(const bt_dataset *all, double valid_fraction, uint64_t seed,
                           int stratify, bt_dataset *train, bt_dataset *valid);

#endif
