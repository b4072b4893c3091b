/* Several emulated GPUs (tests/emu/emu.h, BT_EMU_DEVICES): the device count, a current GPU per
 * host thread, memory and its budget per GPU, a kernel refused on another GPU's stream, a copy
 * whose device side is on another GPU flagged, and the NCCL stand-in's grouped broadcast over
 * three GPUs with NCCL's own refusals (a rank outside a group, a buffer on the wrong GPU). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/bt_test.h"
#include "tests/emu/device/nccl.h"
#include "tests/emu/emu.h"

static void nop(void *arg) {
    (void)arg;
}

static int64_t violations(void) {
    bt_emu_stats s;
    bt_emu_stats_get(&s);
    return s.violations;
}

static void *other_thread(void *arg) {
    int *dev = arg;
    cudaGetDevice(dev); /* a fresh thread starts on GPU 0 */
    return NULL;
}

static void check_current(void) {
    int n = 0, dev = -1;
    CHECK(cudaGetDeviceCount(&n) == cudaSuccess && n == 3);
    CHECK(cudaSetDevice(3) == cudaErrorInvalidDevice);
    CHECK(cudaSetDevice(1) == cudaSuccess);
    CHECK(cudaGetDevice(&dev) == cudaSuccess && dev == 1);
    int seen = -1;
    pthread_t t;
    pthread_create(&t, NULL, other_thread, &seen);
    pthread_join(t, NULL);
    CHECK_EQ_INT(seen, 0);
    cudaSetDevice(0);
}

static void check_memory(void) {
    const size_t K = 1024;
    bt_emu_set_mem_budget(1024 * K);
    void *a = NULL, *b = NULL, *c = NULL;
    CHECK(cudaMalloc(&a, 768 * K) == cudaSuccess); /* GPU 0 */
    cudaSetDevice(1);
    CHECK(cudaMalloc(&b, 768 * K) == cudaSuccess); /* its own budget */
    CHECK(cudaMalloc(&c, 768 * K) == cudaErrorMemoryAllocation);
    size_t fr = 0, tot = 0;
    cudaMemGetInfo(&fr, &tot);
    CHECK(tot == 1024 * K && fr == 256 * K);
    CHECK_EQ_INT(bt_emu_ptr_device(a), 0);
    CHECK_EQ_INT(bt_emu_ptr_device(b), 1);
    cudaSetDevice(0);
    cudaFree(b); /* freed from another GPU: allowed, its GPU's budget comes back */
    cudaSetDevice(1);
    CHECK(cudaMalloc(&b, 768 * K) == cudaSuccess);
    cudaFree(b);
    cudaSetDevice(0);
    cudaFree(a);
    bt_emu_set_mem_budget(0);
}

static void check_streams(void) {
    cudaStream_t s1 = NULL;
    cudaSetDevice(1);
    CHECK(cudaStreamCreateWithFlags(&s1, cudaStreamNonBlocking) == cudaSuccess);
    CHECK_EQ_INT(bt_emu_stream_device(s1), 1);
    char host[64] = {0};
    void *d0 = NULL, *d1 = NULL;
    CHECK(cudaMalloc(&d1, 64) == cudaSuccess);
    CHECK(bt_emu_enqueue(s1, nop, NULL, 0, 1) == cudaSuccess);
    cudaSetDevice(0);
    CHECK(cudaMalloc(&d0, 64) == cudaSuccess);
    int64_t v = violations();
    CHECK(bt_emu_enqueue(s1, nop, NULL, 0, 1) == cudaErrorInvalidResourceHandle);
    CHECK(violations() == v + 1);
    CHECK(strstr(bt_emu_violation(), "GPU 1 while GPU 0 is current") != NULL);
    /* copies may be issued from any GPU, but the device side must be the stream's */
    CHECK(cudaMemcpyAsync(d1, host, 64, cudaMemcpyHostToDevice, s1) == cudaSuccess);
    CHECK(violations() == v + 1);
    CHECK(cudaMemcpyAsync(d0, host, 64, cudaMemcpyHostToDevice, s1) == cudaErrorInvalidValue);
    CHECK(violations() == v + 2);
    CHECK(cudaMemcpyAsync(d0, d1, 64, cudaMemcpyDeviceToDevice, s1) == cudaSuccess); /* peer */
    CHECK(violations() == v + 2);
    cudaStreamSynchronize(s1);
    cudaStreamDestroy(s1);
    cudaFree(d0);
    cudaFree(d1);
    bt_emu_stats_reset();
}

static void check_nccl(void) {
    ncclComm_t comm[3] = {NULL, NULL, NULL};
    const int devs[3] = {0, 2, 1};
    CHECK(ncclCommInitAll(comm, 3, devs) == ncclSuccess);
    const int dup[2] = {1, 1};
    ncclComm_t bad[2];
    CHECK(ncclCommInitAll(bad, 2, dup) == ncclInvalidArgument);
    unsigned char *buf[3];
    cudaStream_t st[3];
    const size_t n = 1000;
    unsigned char want[1000], got[1000];
    for (size_t i = 0; i < n; i++) want[i] = (unsigned char)(i * 7 + 3);
    for (int r = 0; r < 3; r++) {
        cudaSetDevice(devs[r]);
        CHECK(cudaMalloc((void **)&buf[r], n) == cudaSuccess);
        CHECK(cudaStreamCreateWithFlags(&st[r], cudaStreamNonBlocking) == cudaSuccess);
        cudaMemsetAsync(buf[r], 0, n, st[r]);
    }
    cudaSetDevice(devs[1]); /* the root's data, still queued on its stream at the broadcast */
    CHECK(cudaMemcpyAsync(buf[1], want, n, cudaMemcpyHostToDevice, st[1]) == cudaSuccess);
    /* one rank alone outside a group would wait for the others forever: refused */
    CHECK(ncclBroadcast(buf[1], buf[1], n, ncclUint8, 1, comm[1], st[1]) == ncclInvalidUsage);
    /* a buffer on another GPU than the rank's */
    CHECK(ncclBroadcast(buf[0], buf[0], n, ncclUint8, 1, comm[1], st[1]) == ncclInvalidArgument);
    int64_t b0 = 0, c0 = 0, b1 = 0, c1 = 0;
    bt_emu_nccl_stats(&b0, &c0);
    CHECK(ncclGroupStart() == ncclSuccess);
    for (int r = 0; r < 3; r++)
        CHECK(ncclBroadcast(buf[r], buf[r], n, ncclUint8, 1, comm[r], st[r]) == ncclSuccess);
    CHECK(ncclGroupEnd() == ncclSuccess);
    bt_emu_nccl_stats(&b1, &c1);
    CHECK(b1 - b0 == 2 * (int64_t)n && c1 - c0 == 3);
    for (int r = 0; r < 3; r++) {
        cudaSetDevice(devs[r]);
        cudaStreamSynchronize(st[r]);
        memset(got, 0, n);
        CHECK(cudaMemcpy(got, buf[r], n, cudaMemcpyDeviceToHost) == cudaSuccess);
        CHECK_MSG(memcmp(got, want, n) == 0, "rank %d did not receive the root's bytes", r);
        cudaStreamDestroy(st[r]);
        cudaFree(buf[r]);
    }
    /* a group missing a rank is refused */
    cudaSetDevice(devs[0]);
    CHECK(cudaMalloc((void **)&buf[0], n) == cudaSuccess);
    CHECK(cudaStreamCreateWithFlags(&st[0], cudaStreamNonBlocking) == cudaSuccess);
    ncclGroupStart();
    ncclBroadcast(buf[0], buf[0], n, ncclUint8, 0, comm[0], st[0]);
    CHECK(ncclGroupEnd() == ncclInvalidUsage);
    cudaStreamDestroy(st[0]);
    cudaFree(buf[0]);
    for (int r = 0; r < 3; r++) ncclCommDestroy(comm[r]);
    cudaSetDevice(0);
}

int main(void) {
    setenv("BT_EMU_DEVICES", "3", 1); /* read at the first device call */
    check_current();
    check_memory();
    check_streams();
    check_nccl();
    CHECK_EQ_INT(violations(), 0);
    return bt_test_finish("test_devices_emu");
}
