/* The neural-net families' per-dataset cache: features standardized once with the train set's
 * mean and standard deviation (every pack of every shape reads the same copy), labels converted
 * to class ids or, for regression, standardized targets. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/nn/nn.h"

static void shared_free(bt_nn_shared *sh) {
    if (!sh) return;
    free(sh->x_train);
    free(sh->x_valid);
    free(sh->c_train);
    free(sh->c_valid);
    free(sh->t_train);
    free(sh->t_valid);
    free(sh->mean);
    free(sh->std);
    free(sh);
}

void bt_nn_data_free(bt_model_data *data) {
    if (!data || !data->shared) return;
    shared_free(data->shared);
    data->shared = NULL;
}

static void standardize(const bt_nn_shared *sh, const bt_dataset *d, float *out) {
    const int32_t F = sh->n_features;
    for (int64_t i = 0; i < d->n_rows; i++)
        for (int32_t f = 0; f < F; f++) {
            float x = d->X[i * F + f];
            out[i * F + f] = isnan(x) ? 0.0f : (x - sh->mean[f]) / sh->std[f];
        }
}

static bt_status labels(bt_nn_shared *sh, const bt_dataset *d, const char *which, int32_t *cls,
                        float *tgt) {
    for (int64_t i = 0; i < d->n_rows; i++) {
        float y = d->y[i];
        if (!isfinite(y))
            return BT_FAIL(BT_STATUS_BAD_INPUT, "%s label of row %lld is not finite", which,
                           (long long)i + 1);
        if (sh->regression) {
            tgt[i] = (float)(((double)y - sh->y_mean) / sh->y_std);
        } else {
            if (y != floorf(y) || y < 0 || y >= (float)sh->n_out)
                return BT_FAIL(BT_STATUS_BAD_INPUT,
                               "%s label of row %lld is %g: classification needs integer labels "
                               "in [0, %d)",
                               which, (long long)i + 1, (double)y, sh->n_out);
            cls[i] = (int32_t)y;
        }
    }
    return BT_STATUS_OK;
}

/* Per-feature mean and population std over the train rows that have a value, and both sets
 * standardized with them. */
static bt_status standardize_all(bt_nn_shared *sh, const bt_dataset *tr, const bt_dataset *va) {
    const int32_t F = sh->n_features;
    sh->mean = malloc((size_t)F * sizeof *sh->mean);
    sh->std = malloc((size_t)F * sizeof *sh->std);
    sh->x_train = malloc((size_t)tr->n_rows * (size_t)F * sizeof(float));
    sh->x_valid = malloc((size_t)va->n_rows * (size_t)F * sizeof(float));
    if (!sh->mean || !sh->std || !sh->x_train || !sh->x_valid)
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for the standardized data");
    for (int32_t f = 0; f < F; f++) {
        double s = 0, ss = 0;
        int64_t n = 0;
        for (int64_t i = 0; i < tr->n_rows; i++) {
            float x = tr->X[i * F + f];
            if (isnan(x)) continue;
            s += x;
            n++;
        }
        double mean = n ? s / (double)n : 0.0;
        for (int64_t i = 0; i < tr->n_rows; i++) {
            float x = tr->X[i * F + f];
            if (isnan(x)) continue;
            ss += ((double)x - mean) * ((double)x - mean);
        }
        double sd = n ? sqrt(ss / (double)n) : 0.0;
        sh->mean[f] = (float)mean;
        sh->std[f] = sd > 1e-12 && isfinite(sd) ? (float)sd : 1.0f; /* constant column */
    }
    standardize(sh, tr, sh->x_train);
    standardize(sh, va, sh->x_valid);
    return BT_STATUS_OK;
}

static bt_status build(bt_model_data *data, bt_nn_shared *sh, int features) {
    const bt_dataset *tr = data->train, *va = data->valid;
    if (!tr || tr->n_rows <= 0 || tr->n_features <= 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "empty train set");
    if (tr->n_rows > INT32_MAX)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "at most %d train rows", INT32_MAX);
    if (va && va->n_rows > 0 && va->n_features != tr->n_features)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "valid set has %d features, train set %d",
                       va->n_features, tr->n_features);
    if (!va || va->n_rows <= 0) va = tr; /* metrics on the train set when there is no valid set */
    const int32_t F = tr->n_features;
    sh->regression = data->task == BT_TASK_REGRESSION;
    sh->n_features = F;
    sh->n_train = tr->n_rows;
    sh->n_valid = va->n_rows;
    if (sh->regression) {
        sh->n_out = 1;
    } else {
        int32_t k = data->n_classes;
        if (k <= 0)
            for (int64_t i = 0; i < tr->n_rows; i++)
                if (isfinite(tr->y[i]) && tr->y[i] + 1 > k) k = (int32_t)tr->y[i] + 1;
        if (k < 2) k = 2;
        sh->n_out = k;
    }
    if (sh->regression) {
        sh->t_train = malloc((size_t)tr->n_rows * sizeof(float));
        sh->t_valid = malloc((size_t)va->n_rows * sizeof(float));
    } else {
        sh->c_train = malloc((size_t)tr->n_rows * sizeof(int32_t));
        sh->c_valid = malloc((size_t)va->n_rows * sizeof(int32_t));
    }
    if (sh->regression ? !sh->t_train || !sh->t_valid : !sh->c_train || !sh->c_valid)
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for the labels");
    if (features) BT_TRY(standardize_all(sh, tr, va));
    if (sh->regression) {
        double s = 0, ss = 0;
        for (int64_t i = 0; i < tr->n_rows; i++) s += tr->y[i];
        sh->y_mean = s / (double)tr->n_rows;
        for (int64_t i = 0; i < tr->n_rows; i++)
            ss += ((double)tr->y[i] - sh->y_mean) * ((double)tr->y[i] - sh->y_mean);
        sh->y_std = sqrt(ss / (double)tr->n_rows);
        if (!(sh->y_std > 1e-12) || !isfinite(sh->y_std)) sh->y_std = 1.0;
    }
    BT_TRY(labels(sh, tr, "train", sh->c_train, sh->t_train));
    BT_TRY(labels(sh, va, va == tr ? "train" : "valid", sh->c_valid, sh->t_valid));
    return BT_STATUS_OK;
}

static bt_status prepare(bt_model_data *data, int features) {
    if (data->shared) return BT_STATUS_OK;
    bt_nn_shared *sh = calloc(1, sizeof *sh);
    BT_CHECK_ALLOC(sh);
    bt_status st = build(data, sh, features);
    if (st != BT_STATUS_OK) {
        shared_free(sh);
        return st;
    }
    data->shared = sh;
    return BT_STATUS_OK;
}

bt_status bt_nn_data_prepare(bt_model_data *data) {
    return prepare(data, 1);
}

bt_status bt_nn_data_prepare_labels(bt_model_data *data) {
    return prepare(data, 0);
}

const bt_dataset *bt_nn_eval_set(const bt_model_data *data) {
    return data->valid && data->valid->n_rows > 0 ? data->valid : data->train;
}
