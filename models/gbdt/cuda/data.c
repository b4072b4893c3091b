/* The device copies of the data a sweep's CUDA gbdt packs share: the binned train set, its cuts,
 * labels and raw features, one copy per (device, binning), hung off bt_gbdt_shared.cuda, made on
 * a pack's first use and freed with the data (bt_gbdt_cuda_data_release). */
#include "models/gbdt/trainer.h"

#if BT_HAVE_CUDA

#include <stdlib.h>

#include "models/gbdt/cuda/internal.h"

static void dev_data_free(dev_data *d) {
    if (!d) return;
    /* cudaFree of NULL is a no-op; errors at teardown have nowhere to go */
    bt_cuda_free(d->bins);
    bt_cuda_free(d->off);
    bt_cuda_free(d->cut_ptr);
    bt_cuda_free(d->cut_values);
    bt_cuda_free(d->min_values);
    bt_cuda_free(d->y_train);
    bt_cuda_free(d->X_train);
    bt_cuda_free(d->X_valid);
    free(d);
}

void bt_gbdt_cuda_data_release(bt_model_data *data) {
    if (data && data->shared) {
        bt_gbdt_shared *sh = data->shared;
        dev_data *d = sh->cuda;
        while (d) {
            dev_data *nx = d->next;
            dev_data_free(d);
            d = nx;
        }
        sh->cuda = NULL;
    }
}

/* cudaMalloc + an asynchronous copy of `bytes` on `stream` (at least one byte is allocated, so
 * pointers are never NULL for an empty array). The caller synchronizes the stream: a synchronous
 * cudaMemcpy from pageable memory may return before its DMA completed (CUDA's "API
 * synchronization behavior"), on the legacy stream, which the packs' non-blocking streams do not
 * wait for. */
static bt_status upload(void **dst, const void *src, size_t bytes, cudaStream_t stream) {
    CU(bt_cuda_malloc(dst, bytes ? bytes : 1));
    if (bytes) CU(cudaMemcpyAsync(*dst, src, bytes, cudaMemcpyHostToDevice, stream));
    return BT_STATUS_OK;
}

static bt_status dev_data_upload(const bt_model_data *data, const bt_gbdt_binning *B, dev_data *d,
                                 cudaStream_t s) {
    const bt_binned *bm = &B->train;
    const int64_t n = bm->n_rows;
    const int32_t F = bm->n_features;
    const bt_dataset *tr = data->train, *va = data->valid;
    BT_TRY(upload(&d->bins, bm->bins, (size_t)n * (size_t)F * (size_t)bm->width, s));
    BT_TRY(upload((void **)&d->off, B->off, (size_t)(F + 1) * sizeof(uint32_t), s));
    BT_TRY(upload((void **)&d->cut_ptr, B->cuts.ptr, (size_t)(F + 1) * sizeof(uint32_t), s));
    BT_TRY(
        upload((void **)&d->cut_values, B->cuts.values, (size_t)B->cuts.ptr[F] * sizeof(float), s));
    BT_TRY(upload((void **)&d->min_values, B->cuts.min_values, (size_t)F * sizeof(float), s));
    BT_TRY(upload((void **)&d->y_train, tr->y, (size_t)n * sizeof(float), s));
    BT_TRY(upload((void **)&d->X_train, tr->X, (size_t)n * (size_t)F * sizeof(float), s));
    if (va && va->n_rows > 0)
        BT_TRY(
            upload((void **)&d->X_valid, va->X, (size_t)va->n_rows * (size_t)F * sizeof(float), s));
    return BT_STATUS_OK;
}

/* The device copies, complete when it returns: every copy runs on a stream of its own that is
 * synchronized before any pack stream may read the data. */
static bt_status dev_data_make(const bt_model_data *data, const bt_gbdt_binning *B, int device,
                               dev_data *d) {
    const int32_t F = B->train.n_features;
    d->device = device;
    d->bin = B;
    cudaStream_t s = NULL;
    CU(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    bt_status st = dev_data_upload(data, B, d, s);
    cudaError_t e = cudaStreamSynchronize(s); /* also after a failure: queued copies finish */
    cudaStreamDestroy(s);
    BT_TRY(st);
    CU(e);
    d->max_entries = 1;
    for (int32_t f = 0; f < F; f++)
        if ((int32_t)(B->off[f + 1] - B->off[f]) > d->max_entries)
            d->max_entries = (int32_t)(B->off[f + 1] - B->off[f]);
    return BT_STATUS_OK;
}

/* The device copy for the current device and binning, made on first use (not thread-safe, like
 * bt_gbdt_binning_get). */
bt_status bt_gcu_data_get(bt_model_data *data, const bt_gbdt_binning *B, const dev_data **out) {
    bt_gbdt_shared *sh = data->shared;
    int device = 0;
    CU(cudaGetDevice(&device));
    for (dev_data *d = sh->cuda; d; d = d->next)
        if (d->device == device && d->bin == B) {
            *out = d;
            return BT_STATUS_OK;
        }
    dev_data *d = calloc(1, sizeof *d);
    BT_CHECK_ALLOC(d);
    bt_status st = dev_data_make(data, B, device, d);
    if (st != BT_STATUS_OK) {
        dev_data_free(d);
        return st;
    }
    d->next = sh->cuda;
    sh->cuda = d;
    *out = d;
    return BT_STATUS_OK;
}

#endif /* BT_HAVE_CUDA */
