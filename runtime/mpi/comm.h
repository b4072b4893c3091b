/* The ranks of an MPI job (mpirun, srun): whether this process is one of several, and the few
 * byte messages the executor's ranks exchange. No MPI type shows here: MPI itself is in
 * libbatchtune_mpi.so (mpi_module.h), opened only under a launcher; outside one, or without MPI
 * in the build (CMake BT_MPI=OFF, or not found), every process is rank 0 of 1.
 * Ownership: bt_comm_recv's buffer is the caller's (free()); everything else is borrowed. */
#ifndef BT_COMM_H
#define BT_COMM_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "sweeps/spec/spec.h"
#include "base/status.h"

/* Whether MPI is compiled in, and the library's version line ("no" without; why the module
 * (libbatchtune_mpi.so) did not load, when it did not). */
int bt_comm_built(void);
const char *bt_comm_version(void);

/* Joins the MPI job when a launcher's variables say there is one (OMPI_COMM_WORLD_SIZE,
 * PMI_SIZE, PMI_RANK, PMIX_RANK): a plain run never loads or initializes MPI, so it needs no
 * mpirun and pays nothing. A job of several ranks with a build without MPI is refused (2).
 * Idempotent. */
bt_status bt_comm_start(void);
/* This process's rank, the job's size (1 outside MPI), and the rank among those on this host. */
int bt_comm_rank(void);
int bt_comm_size(void);
int bt_comm_local_rank(void);

/* Marks the job as broken (a rank stopped answering): bt_comm_end then aborts every rank. */
void bt_comm_mark_lost(void);
int bt_comm_lost(void);
/* bt_comm_mark_lost, and the error rank 0 reports for rank w (why: "sent no answer in ..."):
 * BT_STATUS_INTERRUPTED, progress saved, run the same command again; `more` ends the message. */
bt_status bt_comm_rank_lost(int w, const char *why, const char *more);
/* Leaves the job: MPI_Finalize, or, after bt_comm_mark_lost, MPI_Abort with code (every rank
 * stops; the launcher exits with code). A no-op outside MPI. */
void bt_comm_end(int code);

/* Sends bytes to rank `to`, polling until the transfer is done, `timeout` seconds pass (<= 0:
 * no limit) or *stop is set (stop may be NULL): BT_STATUS_INTERRUPTED then. */
bt_status bt_comm_send(int to, int tag, const void *buf, size_t bytes, double timeout,
                       volatile sig_atomic_t *stop);
/* bt_comm_send, calling idle(ctx) between polls: receiving the other direction while a large
 * send waits for its receiver, so two ranks sending to each other at once both progress. An
 * error from idle cancels the send and is returned. */
typedef bt_status (*bt_comm_idle_fn)(void *ctx);
bt_status bt_comm_send_pending(int to, int tag, const void *buf, size_t bytes, double timeout,
                               volatile sig_atomic_t *stop, bt_comm_idle_fn idle, void *ctx);
/* Whether a message from `from` with `tag` is waiting (its size in *bytes); never blocks. */
int bt_comm_ready(int from, int tag, size_t *bytes);
/* Receives a waiting message (bt_comm_ready said so) into a new buffer. */
bt_status bt_comm_take(int from, int tag, size_t bytes, void **buf);
/* Waits for one message from `from`, as bt_comm_send waits. */
bt_status bt_comm_recv(int from, int tag, void **buf, size_t *bytes, double timeout,
                       volatile sig_atomic_t *stop);
/* Polling pause: spins briefly, then sleeps up to ~1 ms, so a waiting rank costs little CPU but
 * a quick answer is seen in microseconds. *spins counts the calls since the last progress. */
void bt_comm_nap(int *spins);
/* Broadcasts bytes from root (blocking, collective). */
bt_status bt_comm_bcast(void *buf, size_t bytes, int root);

/* What every rank of a job must agree on: the sweep file's bytes, its seed and --run-cap. Sent
 * as raw bytes (every rank runs the same binary). */
typedef struct bt_comm_ident {
    char sha256[72];
    uint64_t seed;
    int64_t run_cap;
} bt_comm_ident;
void bt_comm_ident_of(const bt_spec *spec, bt_comm_ident *id);
/* OK when rank w's identity (bytes long) equals this rank's; else BAD_INPUT naming the sweep
 * file and rank w. */
bt_status bt_comm_ident_check(const bt_spec *spec, const void *got, size_t bytes, int w);

#endif
