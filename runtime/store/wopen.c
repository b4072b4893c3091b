/* bt_wopen: open-for-write that never follows a link (see wopen.h). A results file itself is
 * written elsewhere (a fresh temporary with O_EXCL, renamed over the old name). */
#include "runtime/store/wopen.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int bt_wopen(const char *path, int flags, mode_t mode) {
    int fd = open(path, (flags & ~O_TRUNC) | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0 && errno == ELOOP) {
        /* a link to a pipe or a terminal (`--log /dev/stderr`) holds nothing to overwrite: open
         * it, checking what was opened, not what the name pointed at a moment before */
        struct stat ls;
        if (stat(path, &ls) == 0 && (S_ISFIFO(ls.st_mode) || S_ISCHR(ls.st_mode))) {
            fd = open(path, (flags & ~(O_TRUNC | O_CREAT | O_EXCL)) | O_CLOEXEC);
            struct stat os;
            if (fd >= 0 &&
                (fstat(fd, &os) != 0 || !(S_ISFIFO(os.st_mode) || S_ISCHR(os.st_mode)))) {
                close(fd);
                errno = ELOOP;
                return -1;
            }
            return fd;
        }
        errno = ELOOP;
    }
    if (fd < 0) return -1;
    struct stat st;
    int err = 0;
    if (fstat(fd, &st) != 0)
        err = errno;
    else if (S_ISDIR(st.st_mode))
        err = EISDIR;
    else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))
        err = 0; /* a pipe or a terminal named on purpose: nothing there to overwrite */
    else if (!S_ISREG(st.st_mode))
        err = EINVAL;
    else if (st.st_nlink > 1)
        err = EMLINK;
    else if ((flags & O_TRUNC) && ftruncate(fd, 0) != 0)
        err = errno;
    if (err) {
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

FILE *bt_wfopen(const char *path, const char *mode) {
    int flags = mode[0] == 'a'   ? O_WRONLY | O_CREAT | O_APPEND
                : mode[0] == 'x' ? O_WRONLY | O_CREAT | O_EXCL
                                 : O_WRONLY | O_CREAT | O_TRUNC;
    int fd = bt_wopen(path, flags, 0644);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, mode[0] == 'a' ? "a" : "w");
    if (!f) {
        int err = errno;
        close(fd);
        errno = err;
    }
    return f;
}

void bt_path_folder(const char *path, char *out, size_t n) {
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(out, n, ".");
    else if (slash == path)
        snprintf(out, n, "/");
    else
        snprintf(out, n, "%.*s", (int)(slash - path), path);
}

const char *bt_wopen_error(int err) {
    if (err == ELOOP) return "is a symbolic link; batchtune does not write through links";
    if (err == EMLINK) return "has other hard links; batchtune does not write through links";
    if (err == EINVAL) return "is not a regular file";
    return strerror(err);
}
