/* A rank's GPU (rank_device.h): local rank modulo the host's GPUs. */
#include "runtime/mpi/rank_device.h"

#include <stdio.h>
#include <string.h>

#include "runtime/devices/devices.h"
#include "runtime/mpi/comm.h"

const char *bt_rank_device(const char *asked, const char *family, char *buf, size_t n) {
    if (bt_comm_size() <= 1) return asked;
    const int is_auto = !asked || strcmp(asked, "auto") == 0;
    if (!is_auto && strcmp(asked, "cuda") != 0) return asked; /* the user's own choice */
    const int gpus = bt_gpu_count();
    if (gpus <= 0 || (is_auto && !bt_gpu_pack_ops(family))) return asked;
    snprintf(buf, n, "cuda:%d", bt_comm_local_rank() % gpus);
    return buf;
}
