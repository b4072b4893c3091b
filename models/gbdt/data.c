/* The gbdt family's per-dataset cache: the train set binned once per max_bin (every pack of that
 * shape reads the same matrix) and the class count inferred from the labels. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/gbdt/trainer.h"

static int forced_mode = 0;

void bt_gbdt_set_mode(int mode) {
    forced_mode = mode;
}

static void binning_free(bt_gbdt_binning *b) {
    if (!b) return;
    bt_bin_cuts_free(&b->cuts);
    bt_binned_free(&b->train);
    free(b->off);
    free(b->missing_bin);
    free(b->order);
    free(b->cols);
    free(b);
}

static bt_status binning_make(const bt_dataset *train, int32_t max_bin, int threads,
                              bt_gbdt_binning **out) {
    bt_gbdt_binning *b = calloc(1, sizeof *b);
    BT_CHECK_ALLOC(b);
    int32_t F = train->n_features;
    b->max_bin = max_bin;
    bt_status st = bt_bin_cuts_fit(&b->cuts, train->X, train->n_rows, F, max_bin, threads);
    if (st == BT_STATUS_OK) {
        uint8_t *miss = malloc((size_t)F);
        if (!miss) {
            st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
        } else {
            bt_binned_missing(train->X, train->n_rows, F, miss);
            const uint8_t *sets[1] = {miss};
            int32_t width = bt_binned_width(&b->cuts, sets, 1);
            free(miss);
            st = bt_binned_init(&b->train, &b->cuts, train->X, train->n_rows, width, threads);
        }
    }
    if (st == BT_STATUS_OK) {
        b->off = malloc(((size_t)F + 1) * sizeof *b->off);
        b->missing_bin = malloc((size_t)F * sizeof *b->missing_bin);
        if (!b->off || !b->missing_bin) st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    if (st != BT_STATUS_OK) {
        binning_free(b);
        return st;
    }
    uint32_t o = 0;
    for (int32_t f = 0; f < F; f++) {
        b->off[f] = o;
        b->missing_bin[f] = bt_bin_cuts_nbins(&b->cuts, f);
        o += (uint32_t)b->missing_bin[f] + 1;
    }
    b->off[F] = o;
    int64_t n = train->n_rows;
    int32_t w = b->train.width;
    b->cols = malloc((size_t)n * (size_t)F * (size_t)w);
    if (!b->cols) {
        binning_free(b);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    for (int64_t r0 = 0; r0 < n; r0 += 4096) { /* blocked transpose */
        int64_t r1 = r0 + 4096 < n ? r0 + 4096 : n;
        for (int32_t f = 0; f < F; f++)
            for (int64_t r = r0; r < r1; r++) {
                if (w == 1)
                    ((uint8_t *)b->cols)[(int64_t)f * n + r] =
                        ((const uint8_t *)b->train.bins)[r * F + f];
                else
                    ((uint16_t *)b->cols)[(int64_t)f * n + r] =
                        ((const uint16_t *)b->train.bins)[r * F + f];
            }
    }
    if (forced_mode == 2 || (forced_mode == 0 && bt_gbdt_col_mode(n, F, o))) {
        /* counting sort of each feature's rows by bin (stable: ties keep row order) */
        b->order = malloc((size_t)n * (size_t)F * sizeof *b->order);
        int64_t *start = malloc(((size_t)max_bin + 2) * sizeof *start);
        if (!b->order || !start) {
            free(start);
            binning_free(b);
            return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
        }
        for (int32_t f = 0; f < F; f++) {
            int32_t nb = b->missing_bin[f] + 1;
            memset(start, 0, ((size_t)nb + 1) * sizeof *start);
            for (int64_t r = 0; r < n; r++) start[bt_binned_get(&b->train, r, f) + 1]++;
            for (int32_t k = 0; k < nb; k++) start[k + 1] += start[k];
            int32_t *ord = b->order + (int64_t)f * n;
            for (int64_t r = 0; r < n; r++)
                ord[start[bt_binned_get(&b->train, r, f)]++] = (int32_t)r;
        }
        free(start);
    }
    *out = b;
    return BT_STATUS_OK;
}

static bt_status check_data(const bt_model_data *data) {
    const bt_dataset *tr = data->train, *va = data->valid;
    if (!tr || tr->n_rows <= 0 || tr->n_features <= 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "gbdt: empty train set");
    if (tr->n_rows > INT32_MAX)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "gbdt: at most %d train rows", INT32_MAX);
    if (va && va->n_rows > 0 && va->n_features != tr->n_features)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "gbdt: valid set has %d features, train set %d",
                       va->n_features, tr->n_features);
    return BT_STATUS_OK;
}

bt_status bt_gbdt_binning_get(bt_model_data *data, int32_t max_bin, const bt_gbdt_binning **out) {
    bt_gbdt_shared *sh = data->shared;
    if (!sh) {
        BT_TRY(check_data(data));
        sh = calloc(1, sizeof *sh);
        BT_CHECK_ALLOC(sh);
        data->shared = sh;
        float mx = 0;
        for (int64_t i = 0; i < data->train->n_rows; i++)
            if (data->train->y[i] > mx) mx = data->train->y[i];
        if (data->task == BT_TASK_MULTICLASS)
            sh->n_classes = data->n_classes > 0 ? data->n_classes : (int32_t)mx + 1;
        if (data->valid)
            for (int64_t i = 0; i < data->valid->n_rows; i++)
                if (data->valid->y[i] > mx) mx = data->valid->y[i];
        sh->max_label = mx;
    }
    for (int i = 0; i < sh->n_binnings; i++)
        if (sh->binnings[i]->max_bin == max_bin) {
            *out = sh->binnings[i];
            return BT_STATUS_OK;
        }
    bt_gbdt_binning **nb = realloc(sh->binnings, (size_t)(sh->n_binnings + 1) * sizeof *nb);
    BT_CHECK_ALLOC(nb);
    sh->binnings = nb;
    bt_gbdt_binning *b = NULL;
    BT_TRY(binning_make(data->train, max_bin, data->threads, &b));
    sh->binnings[sh->n_binnings++] = b;
    *out = b;
    return BT_STATUS_OK;
}

void bt_gbdt_data_free(bt_model_data *data) {
    if (!data || !data->shared) return;
    bt_gbdt_shared *sh = data->shared;
    for (int i = 0; i < sh->n_binnings; i++) binning_free(sh->binnings[i]);
    free(sh->binnings);
    free(sh);
    data->shared = NULL;
}
