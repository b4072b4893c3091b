/* NCCL loaded at run time (kernels/cuda/nccl_load.c), against the fake libnccl.so.2 of
 * tests/emu/fake_nccl.c on LD_LIBRARY_PATH: the versioned name is taken first and its calls
 * reach the library, the unversioned name is the fallback, a missing library or call is refused
 * with a reason, and NCCL's version codes read as versions. Builds the loader against the
 * emulation's <cuda_runtime.h> (types only); the CUDA module has the same file. */
#include <string.h>

#include "kernels/cuda/nccl_api.h"
#include "tests/bt_test.h"

static void check_get(void) {
    const bt_nccl *nc = bt_nccl_get();
    CHECK_MSG(nc != NULL, "%s", bt_nccl_status());
    if (!nc) return;
    CHECK_STR(nc->name, "libnccl.so.2");
    CHECK_EQ_INT(nc->version, 22809);
    CHECK_STR(bt_nccl_status(), "NCCL 2.28.9, libnccl.so.2, loaded at run time");
    /* the fake's calls, not a real NCCL's */
    CHECK_STR(nc->error_string(ncclSuccess), "fake NCCL: no error");
    ncclComm_t comm[2] = {NULL, NULL};
    const int devs[2] = {0, 1};
    CHECK(nc->comm_init_all(comm, 2, devs) == ncclSuccess && comm[0] && comm[1] != comm[0]);
    CHECK(nc->group_start() == ncclSuccess);
    char buf[4] = {0};
    CHECK(nc->broadcast(buf, buf, sizeof buf, ncclUint8, 0, comm[1], NULL) == ncclSuccess);
    CHECK(nc->broadcast(buf, buf, sizeof buf, ncclUint8, 1, comm[1], NULL) != ncclSuccess);
    CHECK(nc->group_end() == ncclSuccess);
    CHECK(nc->comm_destroy(comm[0]) == ncclSuccess && nc->comm_destroy(comm[1]) == ncclSuccess);
    CHECK(bt_nccl_get() == nc); /* opened once */
}

static void check_open(void) {
    bt_nccl t;
    char why[256];
    const char *none[] = {"libbt-no-such-nccl.so.2", NULL};
    CHECK_EQ_INT(bt_nccl_open(none, &t, why, sizeof why), BT_STATUS_NO_INPUT);
    CHECK_MSG(strstr(why, "libbt-no-such-nccl.so.2") != NULL, "why: %s", why);
    bt_status_clear();
    const char *fallback[] = {"libbt-no-such-nccl.so.2", "libnccl.so", NULL};
    CHECK_EQ_INT(bt_nccl_open(fallback, &t, why, sizeof why), BT_STATUS_OK);
    CHECK_STR(t.name, "libnccl.so");
    CHECK_EQ_INT(t.version, 22809);
    const char *no_calls[] = {"libm.so.6", NULL}; /* a library, without NCCL in it */
    CHECK_EQ_INT(bt_nccl_open(no_calls, &t, why, sizeof why), BT_STATUS_INTERNAL);
    CHECK_MSG(strstr(why, "libm.so.6 lacks ncclCommInitAll") != NULL, "why: %s", why);
    bt_status_clear();
}

static void check_versions(void) {
    char v[32];
    bt_nccl_version_string(22809, v, sizeof v);
    CHECK_STR(v, "2.28.9");
    bt_nccl_version_string(2708, v, sizeof v); /* NCCL 2.7.8's code: before 2.9, X*1000+Y*100+Z */
    CHECK_STR(v, "2.7.8");
    bt_nccl_version_string(0, v, sizeof v);
    CHECK_STR(v, "(version unknown)");
}

int main(void) {
    check_get();
    check_open();
    check_versions();
    return bt_test_finish("test_nccl_load_emu");
}
