/* The device copies of the data a sweep's CUDA gbdt packs share: the binned train set, its cuts,
 * labels and raw features, one copy per (device, binning), hung off bt_gbdt_shared.cuda, made on
 * a pack's first use and freed with the data (bt_gbdt_cuda_data_release). With several GPUs and
 * NCCL (BT_HAVE_NCCL, the library loaded at run time), only the first GPU's copy is uploaded from
 * the host; the others are broadcast to from it (uploaded from the host when NCCL is missing or
 * refuses). */
#include "models/gbdt/trainer.h"

#if BT_HAVE_CUDA

#include <stdlib.h>

#include "models/gbdt/cuda/internal.h"
#if BT_HAVE_NCCL
#include "kernels/cuda/nccl_api.h"
#endif

static void dev_data_free(dev_data *d) {
    if (!d) return;
    /* cudaFree of NULL is a no-op; errors at teardown have nowhere to go */
    cudaSetDevice(d->device);
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

/* The arrays of a device copy: where each lives on the device, its host source and size. */
typedef struct dev_array {
    void **dev;
    const void *host;
    size_t bytes;
} dev_array;

enum { N_ARRAYS = 8 };

static int dev_arrays(const bt_model_data *data, const bt_gbdt_binning *B, dev_data *d,
                      dev_array a[N_ARRAYS]) {
    const bt_binned *bm = &B->train;
    const size_t n = (size_t)bm->n_rows, F = (size_t)bm->n_features;
    const bt_dataset *tr = data->train, *va = data->valid;
    int k = 0;
    a[k++] = (dev_array){&d->bins, bm->bins, n * F * (size_t)bm->width};
    a[k++] = (dev_array){(void **)&d->off, B->off, (F + 1) * sizeof(uint32_t)};
    a[k++] = (dev_array){(void **)&d->cut_ptr, B->cuts.ptr, (F + 1) * sizeof(uint32_t)};
    a[k++] = (dev_array){(void **)&d->cut_values, B->cuts.values,
                         (size_t)B->cuts.ptr[F] * sizeof(float)};
    a[k++] = (dev_array){(void **)&d->min_values, B->cuts.min_values, F * sizeof(float)};
    a[k++] = (dev_array){(void **)&d->y_train, tr->y, n * sizeof(float)};
    a[k++] = (dev_array){(void **)&d->X_train, tr->X, n * F * sizeof(float)};
    if (va && va->n_rows > 0)
        a[k++] = (dev_array){(void **)&d->X_valid, va->X, (size_t)va->n_rows * F * sizeof(float)};
    return k;
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
    dev_array a[N_ARRAYS];
    const int k = dev_arrays(data, B, d, a);
    for (int i = 0; i < k; i++) BT_TRY(upload(a[i].dev, a[i].host, a[i].bytes, s));
    return BT_STATUS_OK;
}

#if BT_HAVE_NCCL
/* Frees d's arrays (after a failed broadcast: the host's upload makes them again). */
static void dev_arrays_free(const bt_model_data *data, const bt_gbdt_binning *B, dev_data *d) {
    dev_array a[N_ARRAYS];
    const int k = dev_arrays(data, B, d, a);
    for (int i = 0; i < k; i++) {
        bt_cuda_free(*a[i].dev);
        *a[i].dev = NULL;
    }
}

#define NC(nc, expr)                                                                               \
    do {                                                                                           \
        ncclResult_t nc_r_ = (expr);                                                               \
        if (nc_r_ != ncclSuccess)                                                                  \
            return BT_FAIL(BT_STATUS_INTERNAL, "%s: %s", #expr, (nc)->error_string(nc_r_));        \
    } while (0)

/* Every array of `src` (on another GPU) broadcast into d's, on stream s of d's GPU (current)
 * and ss of src's: one NCCL group over a two-rank communicator, the source GPU the root. */
static bt_status broadcast_group(const bt_nccl *nc, const dev_array *from, const dev_array *to,
                                 int k, ncclComm_t comm[2], cudaStream_t ss, cudaStream_t s) {
    NC(nc, nc->group_start());
    ncclResult_t r = ncclSuccess;
    for (int i = 0; i < k && r == ncclSuccess; i++) {
        if (!to[i].bytes) continue;
        r = nc->broadcast(*from[i].dev, *from[i].dev, to[i].bytes, ncclUint8, 0, comm[0], ss);
        if (r == ncclSuccess)
            r = nc->broadcast(*to[i].dev, *to[i].dev, to[i].bytes, ncclUint8, 0, comm[1], s);
    }
    ncclResult_t end = nc->group_end(); /* the group is closed whatever failed */
    NC(nc, r);
    NC(nc, end);
    return BT_STATUS_OK;
}

static bt_status dev_data_broadcast(const bt_nccl *nc, const bt_model_data *data,
                                    const bt_gbdt_binning *B, const dev_data *src, dev_data *d,
                                    cudaStream_t s) {
    dev_array from[N_ARRAYS], to[N_ARRAYS];
    const int k = dev_arrays(data, B, (dev_data *)src, from); /* only reads src's pointers */
    dev_arrays(data, B, d, to);
    for (int i = 0; i < k; i++) CU(bt_cuda_malloc(to[i].dev, to[i].bytes ? to[i].bytes : 1));
    const int devs[2] = {src->device, d->device};
    ncclComm_t comm[2] = {NULL, NULL};
    NC(nc, nc->comm_init_all(comm, 2, devs));
    cudaStream_t ss = NULL;
    bt_status st = BT_STATUS_OK;
    if (cudaSetDevice(src->device) != cudaSuccess ||
        cudaStreamCreateWithFlags(&ss, cudaStreamNonBlocking) != cudaSuccess)
        st = BT_FAIL(BT_STATUS_INTERNAL, "a stream on GPU %d for the broadcast", src->device);
    cudaSetDevice(d->device);
    if (st == BT_STATUS_OK) st = broadcast_group(nc, from, to, k, comm, ss, s);
    if (ss) {
        cudaSetDevice(src->device);
        cudaStreamSynchronize(ss);
        cudaStreamDestroy(ss);
        cudaSetDevice(d->device);
    }
    nc->comm_destroy(comm[0]);
    nc->comm_destroy(comm[1]);
    return st;
}
#endif

/* The device copies, complete when it returns: every copy runs on a stream of its own that is
 * synchronized before any pack stream may read the data. */
static bt_status dev_data_make(const bt_model_data *data, const bt_gbdt_binning *B, int device,
                               const dev_data *peer, dev_data *d) {
    const int32_t F = B->train.n_features;
    d->device = device;
    d->bin = B;
    cudaStream_t s = NULL;
    CU(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    bt_status st = BT_STATUS_INTERNAL;
#if BT_HAVE_NCCL
    const bt_nccl *nc = peer ? bt_nccl_get() : NULL; /* NULL: no libnccl on this machine */
    if (nc) {
        st = dev_data_broadcast(nc, data, B, peer, d, s);
        if (st != BT_STATUS_OK) { /* NCCL refused: the host's copy */
            bt_status_clear();
            cudaStreamSynchronize(s);
            dev_arrays_free(data, B, d);
        }
    }
#else
    (void)peer;
#endif
    if (st != BT_STATUS_OK) st = dev_data_upload(data, B, d, s);
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
    const dev_data *peer = NULL; /* a copy on another GPU to broadcast from */
    for (dev_data *d = sh->cuda; d; d = d->next) {
        if (d->device == device && d->bin == B) {
            *out = d;
            return BT_STATUS_OK;
        }
        if (d->bin == B) peer = d;
    }
    dev_data *d = calloc(1, sizeof *d);
    BT_CHECK_ALLOC(d);
    bt_status st = dev_data_make(data, B, device, peer, d);
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
