/* The MPI module's interface: libbatchtune_mpi.so (runtime/mpi/module/) is the only code that
 * links MPI; comm.c opens it with dlopen only when a launcher started this process, so a plain
 * run neither loads MPI's libraries nor needs them installed (as the CUDA module). The module
 * exports bt_mpi_module_entry, which hands over this table. Calls return 0 on success.
 * Ownership: the table is static in the module, which stays loaded until exit; a request
 * (isend) is the module's until test says done or cancel frees it. */
#ifndef BT_MPI_MODULE_H
#define BT_MPI_MODULE_H

#include <stddef.h>

#define BT_MPI_MODULE_ABI 1
#define BT_MPI_MODULE_ENTRY "bt_mpi_module_entry"

typedef struct bt_mpi_ops {
    int abi;                      /* BT_MPI_MODULE_ABI */
    size_t size;                  /* sizeof(bt_mpi_ops) */
    const char *(*version)(void); /* the library's version line */
    /* MPI_Init (funneled: only the main thread calls MPI); rank, size and the rank on this host */
    int (*init)(int *rank, int *size, int *local);
    void (*finalize)(void);
    void (*abort)(int code); /* does not return */
    int (*isend)(const void *buf, size_t bytes, int to, int tag, void **req);
    int (*test)(void *req, int *done); /* done: the request is freed */
    void (*cancel)(void *req);         /* and frees it */
    int (*iprobe)(int from, int tag, int *ready, size_t *bytes);
    int (*recv)(void *buf, size_t bytes, int from, int tag);
    int (*bcast)(void *buf, size_t bytes, int root);
} bt_mpi_ops;

typedef const bt_mpi_ops *(*bt_mpi_module_entry_fn)(void);

#endif
