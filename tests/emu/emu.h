/* The host emulation of the CUDA runtime (tests/emu): control and inspection calls for tests, and
 * the queue the emulated kernel launchers (emu_kernels.c), and the device emulation's kernel
 * launches and cuBLAS mock (tests/emu/device, which runs the real kernels), put their work on.
 *
 * What the emulation proves, and what it does not. "Device" memory is malloc'd and poisoned,
 * streams are queues that run only when the host synchronizes (so a result read before its
 * stream is synchronized is stale, as it may be on a GPU), graph capture records launches and
 * replays them, and every launcher runs the C reference of its kernel item by item with the
 * launcher's documented item semantics, checking that the pointers and per-item ranges it is given
 * lie inside live device allocations. So host code that drives kernels -- buffer sizing, item
 * layouts and offsets, launch order, synchronization points, what a captured graph contains, the
 * reaction to out-of-memory -- runs for real. The CUDA kernels do not, with these launchers: their
 * arithmetic, barriers and shared memory run under tests/emu/device (docs/cuda.md, "The device
 * emulation"); races between blocks are the race log's (BT_EMU_RACECHECK); occupancy, timing,
 * races within a block and the GPU's memory ordering need a GPU (tests/cuda). Ownership: the
 * emulation owns its allocations, streams and graphs; tests only read counters. */
#ifndef BT_EMU_H
#define BT_EMU_H

#include <stddef.h>
#include <stdint.h>

#include "tests/emu/cuda_runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Device memory the emulated cudaMalloc may hand out in all (0: unlimited, the default); an
 * allocation past it fails with cudaErrorMemoryAllocation. cudaMemGetInfo reports it as the
 * total (80 GiB when unlimited). */
void bt_emu_set_mem_budget(size_t bytes);
/* The byte fresh allocations are filled with (default 0xA5: negative ints, tiny floats; 0xFF
 * gives NaN floats and -1 ints). */
void bt_emu_set_poison(int byte);

/* Several emulated GPUs: BT_EMU_DEVICES=N (1..16, default 1) is what cudaGetDeviceCount reports.
 * Each host thread has a current GPU (cudaSetDevice/cudaGetDevice, 0 at first); an allocation
 * and a stream belong to the GPU current when they were made, the memory budget holds per GPU,
 * and cudaMemGetInfo reports the current one's. Violations (bt_emu_violation): a kernel launched
 * on a stream of a GPU other than the current one (also refused, as CUDA does, with
 * cudaErrorInvalidResourceHandle), a launcher's pointer, a host copy's or memset's device side on
 * another GPU than the stream's. Device-to-device copies may join two GPUs (peer copies). */
int bt_emu_device_count(void);
/* The GPU a stream belongs to (the legacy stream: the caller's current one; -2: no such
 * stream), and the GPU a device pointer lies on (-1: not device memory). */
int bt_emu_stream_device(cudaStream_t stream);
int bt_emu_ptr_device(const void *p);
/* The NCCL stand-in (tests/emu/device/nccl.h, emu_nccl.c): bytes received by non-root ranks of
 * broadcasts, and broadcasts (one per rank call), since the start. */
void bt_emu_nccl_stats(int64_t *bytes, int64_t *calls);

/* The next n cudaMallocHost calls fail with cudaErrorMemoryAllocation (0: none, the default). */
void bt_emu_fail_host_allocs(int n);

/* Whether a synchronous cudaMemcpy from pageable host memory to the device is deferred to the
 * legacy stream, as CUDA allows (1, the default; see cudaMemcpy in emu_runtime.c), or completes
 * before it returns (0: the behaviour code that relies on it wrongly expects). */
void bt_emu_set_pageable_deferred(int on);

/* Pinned host memory: cudaMallocHost blocks are tracked. An asynchronous copy whose host side
 * lies in one is captured into a graph like a kernel; one with a pageable host side is refused
 * in a capture (cudaErrorStreamCaptureUnsupported) and invalidates it (see cudaMemcpyAsync).
 * Freeing a block that a queued copy still uses, or launching a graph whose captured copy uses a
 * freed block, is a violation.
 *
 * Graph capture (see "capture rules" in emu_runtime.c). The rules the CUDA programming guide
 * documents are always checked: a potentially unsafe call (allocation, a synchronous copy or
 * memset, synchronizing the legacy stream) is refused, and the captures that forbid it are
 * invalidated, by the calling thread's interaction mode (cudaThreadExchangeStreamCaptureMode,
 * default global: its own capture unless relaxed, or another thread's global-mode capture);
 * synchronizing the device is refused, and invalidates every open capture, in any mode from any
 * thread; using the legacy stream invalidates every capture of a blocking stream. On (1),
 * cudaFree and cudaFreeHost are device synchronizations too (their implicit wait for the device,
 * as field reports read it; default 0: only the documented rules). */
void bt_emu_set_free_syncs_device(int on);
/* The next n cudaGraphInstantiate calls fail with cudaErrorMemoryAllocation (0: none). */
void bt_emu_fail_instantiations(int n);
/* fn(arg) runs on the capturing thread right after each cudaStreamBeginCapture that began a
 * capture, outside the emulation's lock (so another thread may call in meanwhile: a test's
 * deterministic way to meet a capture); NULL removes it. */
void bt_emu_set_capture_hook(void (*fn)(void *arg), void *arg);

typedef struct bt_emu_stats {
    int64_t launches;       /* launcher calls enqueued directly on a stream (not by a graph) */
    int64_t kernels_run;    /* launcher items executed (direct or replayed) */
    int64_t copies;         /* memcpy/memset operations enqueued directly on a stream */
    int64_t syncs;          /* cudaStreamSynchronize / cudaDeviceSynchronize calls */
    int64_t captures;       /* completed cudaStreamEndCapture */
    int64_t instantiations; /* cudaGraphInstantiate */
    int64_t graph_launches; /* cudaGraphLaunch */
    int64_t mallocs, failed_mallocs;
    int64_t violations; /* out-of-allocation pointers or ranges seen by a launcher or copy */
    size_t bytes_live, bytes_peak;
    /* cudaStreamEndCapture calls that found their capture invalidated */
    int64_t captures_invalidated;
    /* Bytes copied between the device and host memory, by direction and host memory (pinned: a
     * live cudaMallocHost block), counted when a copy runs (a graph's copies at each launch);
     * pageable_copies counts the copies with a pageable host side. */
    int64_t h2d_pageable, h2d_pinned, d2h_pageable, d2h_pinned, pageable_copies;
} bt_emu_stats;

void bt_emu_stats_get(bt_emu_stats *out);
void bt_emu_stats_reset(void); /* zeroes the counters (not bytes_live) and sets peak = live */
/* The first violation's description ("" if none). */
const char *bt_emu_violation(void);

/* ---- for the emulated launchers ---- */

/* Enqueues fn(arg) on stream (NULL: the legacy stream); arg is copied (bytes). While the stream
 * is capturing, the operation goes into the graph instead. `is_kernel` selects the counter. */
cudaError_t bt_emu_enqueue(cudaStream_t stream, void (*fn)(void *arg), const void *arg,
                           size_t bytes, int is_kernel);
/* Whether [p, p + bytes) lies inside one live device allocation (bytes 0: p inside or at the end of
 * one). A failure is recorded as a violation with `what` in its description. */
int bt_emu_check(const void *p, size_t bytes, const char *what);
/* Whether [base + offset, + bytes) lies in the live allocation that holds base (offset in bytes,
 * >= 0); a failure is recorded as a violation. */
int bt_emu_check_at(const void *base, int64_t offset, size_t bytes, const char *what);
/* Counts one executed kernel item batch (called by the launchers' run functions). */
void bt_emu_count_kernel(void);
/* Sets the error cudaGetLastError / cudaPeekAtLastError report (a refused launch). */
void bt_emu_set_last_error(cudaError_t e);
/* A device fault (the cuBLAS mock's cudaErrorMisalignedAddress): the context is lost, as on a
 * GPU -- every later synchronization, copy, launch and cudaGetLastError returns e, which no call
 * clears. cudaSuccess ends it: only tests that caused a fault on purpose do that (on a GPU only a
 * new process would). bt_emu_sticky_error: the current one (cudaSuccess: none). */
void bt_emu_set_sticky_error(cudaError_t e);
cudaError_t bt_emu_sticky_error(void);

/* A device allocation: bytes at p. */
typedef struct bt_emu_range {
    const char *p;
    size_t bytes;
} bt_emu_range;
/* The live device allocations sorted by address, malloc'd (the caller frees it; NULL when there
 * are none or memory is short), their count in *n: the device emulation's race log reads them at
 * each launch (from a running operation, so under the emulation's lock). */
bt_emu_range *bt_emu_alloc_table(size_t *n);
/* Whether the emulated kernels of this module have their stores instrumented for the race log
 * (BT_EMU_RACECHECK): only libbatchtune_cuda_emurace.so's, which GCC builds without BT_SANITIZE
 * make (ThreadSanitizer's instrumentation, which the log uses, does not combine with ASan). */
int bt_emu_race_instrumented(void);

#ifdef __cplusplus
}
#endif

#endif
