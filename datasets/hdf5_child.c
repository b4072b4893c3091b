/* The HDF5 loader's guard: libhdf5 (Debian's 1.10 among others) crashes on some corrupt files,
 * a NULL read deep in its B-tree or heap code that nothing in-process can catch. So the file is
 * read by a forked child into an anonymous shared file (memfd): a header (status, message, shape)
 * and the floats of X and y. The parent copies them out in slices, giving each slice's pages back
 * as it goes, so the peak stays near one copy of the data. A child killed by a signal, or exiting
 * without its header, makes a BAD_INPUT message naming the file; the sweep goes on to its exit
 * code 65. Where fork or memfd is unavailable the file is read in this process. */
#define _GNU_SOURCE
#include "datasets/hdf5_read.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAGIC 0x35464448746274ULL /* "btHDF5" */

typedef struct child_header {
    uint64_t magic; /* set only by a child that got to the end */
    int32_t status;
    int32_t line;
    char file[128];
    char message[1024];
    int64_t n_rows;
    int32_t n_features, channels, height, width;
} child_header;

/* X starts on a page boundary after the header, y right after X. */
static size_t data_offset(void) {
    long page = sysconf(_SC_PAGESIZE);
    size_t p = page > 0 ? (size_t)page : 4096;
    return (sizeof(child_header) + p - 1) / p * p;
}

typedef struct shm_sink {
    int fd;
    void *map;
    size_t len;
} shm_sink;

static bt_status shm_buffers(void *ctx, const bt_dataset *shape, float **X, float **y) {
    shm_sink *m = ctx;
    size_t cells = (size_t)shape->n_rows * (size_t)shape->n_features;
    m->len = data_offset() + (cells + (size_t)shape->n_rows) * sizeof(float);
    if (ftruncate(m->fd, (off_t)m->len) != 0)
        return BT_FAIL(BT_STATUS_INTERNAL, "no memory for the data (%s)", strerror(errno));
    m->map = mmap(NULL, m->len, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
    if (m->map == MAP_FAILED) {
        m->map = NULL;
        return BT_FAIL(BT_STATUS_INTERNAL, "no memory for the data (%s)", strerror(errno));
    }
    *X = (float *)((char *)m->map + data_offset());
    *y = *X + cells;
    return BT_STATUS_OK;
}

/* The child's exit codes without a header: 1 is a sanitizer's report of a fault (a crash in a
 * sanitizer build); NO_HANDOVER its own failure to hand the header over. */
enum { NO_HANDOVER = 3 };

/* The child: read, write the header, leave without running the parent's exit handlers. It dies
 * with the parent (a parent killed outright leaves no reader holding the data's memory behind)
 * and leaves stop signals to the parent, which stops after loading as it would have in-process
 * (the handlers it inherited would print the parent's "stopping" line a second time). */
static void child_main(const char *path, int fd, pid_t parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(NO_HANDOVER);
    static const int stops[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    for (size_t k = 0; k < sizeof stops / sizeof *stops; k++) signal(stops[k], SIG_IGN);
    shm_sink m = {.fd = fd};
    bt_dataset shape;
    bt_status s = bt_hdf5_read(path, shm_buffers, &m, &shape);
    child_header h = {.status = (int32_t)s};
    if (s != BT_STATUS_OK) {
        snprintf(h.message, sizeof h.message, "%s", bt_status_message());
        const char *where = bt_status_where(), *colon = strrchr(where, ':');
        snprintf(h.file, sizeof h.file, "%.*s", colon ? (int)(colon - where) : 0, where);
        h.line = colon ? atoi(colon + 1) : 0;
    } else {
        h.n_rows = shape.n_rows, h.n_features = shape.n_features;
        h.channels = shape.channels, h.height = shape.height, h.width = shape.width;
    }
    if (m.map) munmap(m.map, m.len);
    h.magic = MAGIC;
    _exit(pwrite(fd, &h, sizeof h, 0) == (ssize_t)sizeof h ? 0 : NO_HANDOVER);
}

/* Copies LEN bytes at OFFSET of the shared file into DST, freeing its pages slice by slice. */
static bt_status take(int fd, size_t offset, void *dst, size_t len, const char *path) {
    const size_t slice = (size_t)64 << 20;
    for (size_t done = 0; done < len;) {
        size_t n = len - done < slice ? len - done : slice;
        ssize_t got = pread(fd, (char *)dst + done, n, (off_t)(offset + done));
        if (got <= 0)
            return BT_FAIL(BT_STATUS_INTERNAL, "%s: reading the loaded data back failed (%s)", path,
                           got < 0 ? strerror(errno) : "short");
        fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(offset + done), got);
        done += (size_t)got;
    }
    return BT_STATUS_OK;
}

static bt_status collect(int fd, pid_t pid, const char *path, bt_dataset *out) {
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR)
            return BT_FAIL(BT_STATUS_INTERNAL, "%s: lost the HDF5 reader process (%s)", path,
                           strerror(errno));
    child_header h = {0};
    ssize_t got = pread(fd, &h, sizeof h, 0);
    /* A child that did not finish: a fault (the library crashing on the file; in a sanitizer
     * build, the sanitizer's report and exit 1) says the file is corrupt; a kill (the OOM
     * killer's SIGKILL, SIGBUS from shared memory that could not be backed) says nothing of it. */
    int sig = WIFSIGNALED(ws) ? WTERMSIG(ws) : 0;
    int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    if (sig == SIGSEGV || sig == SIGABRT || sig == SIGFPE || sig == SIGILL || sig == SIGTRAP ||
        sig == SIGSYS || (!sig && code == 1))
        return BT_FAIL(BT_STATUS_BAD_INPUT,
                       "%s: the HDF5 library crashed reading this file (%s %d%s%s): the file is "
                       "corrupt",
                       path, sig ? "signal" : "its reader exited with", sig ? sig : code,
                       sig ? ", " : "", sig ? strsignal(sig) : "");
    if (sig)
        return BT_FAIL(BT_STATUS_INTERNAL,
                       "%s: the process reading this HDF5 file was killed (signal %d, %s)%s", path,
                       sig, strsignal(sig),
                       sig == SIGKILL || sig == SIGBUS ? ": out of memory?" : "");
    if (code != 0 || got != (ssize_t)sizeof h || h.magic != MAGIC)
        return BT_FAIL(BT_STATUS_INTERNAL,
                       "%s: the process reading this HDF5 file could not hand its data over "
                       "(exit %d)",
                       path, code);
    h.message[sizeof h.message - 1] = h.file[sizeof h.file - 1] = '\0';
    if (h.status != BT_STATUS_OK)
        return bt_fail((bt_status)h.status, h.file[0] ? h.file : __FILE__, h.line, "%s", h.message);
    /* The child checked the size against the memory available; checking again here would
     * count the shared copy, released slice by slice below, as if it stayed. */
    size_t xb = (size_t)h.n_rows * (size_t)h.n_features * sizeof(float);
    size_t yb = (size_t)h.n_rows * sizeof(float);
    struct stat st;
    if (h.n_rows < 1 || h.n_features < 1 || fstat(fd, &st) != 0 ||
        (size_t)st.st_size < data_offset() + xb + yb)
        return BT_FAIL(BT_STATUS_INTERNAL, "%s: the HDF5 reader handed over a bad shape", path);
    out->n_rows = h.n_rows, out->n_features = h.n_features;
    out->X = malloc(xb);
    out->y = malloc(yb);
    if (!out->X || !out->y)
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for %lld x %d dataset",
                       (long long)h.n_rows, h.n_features);
    out->channels = h.channels, out->height = h.height, out->width = h.width;
    BT_TRY(take(fd, data_offset(), out->X, xb, path));
    BT_TRY(take(fd, data_offset() + xb, out->y, yb, path));
    out->source = bt_strdup_(path);
    BT_CHECK_ALLOC(out->source);
    return BT_STATUS_OK;
}

bt_status bt_dataset_load_hdf5(const char *path, bt_dataset *out) {
    memset(out, 0, sizeof *out);
    BT_TRY(bt_file_check(path));
    int fd = memfd_create("batchtune-hdf5", MFD_CLOEXEC);
    if (fd < 0) return bt_dataset_load_hdf5_here(path, out);
    pid_t parent = getpid(), pid = fork();
    if (pid < 0) {
        close(fd);
        return bt_dataset_load_hdf5_here(path, out);
    }
    if (pid == 0) child_main(path, fd, parent);
    bt_status s = collect(fd, pid, path, out);
    close(fd);
    if (s != BT_STATUS_OK) bt_dataset_free(out);
    return s;
}
