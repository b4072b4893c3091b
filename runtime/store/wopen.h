/* Opening the files batchtune writes (journal, lock, logs, reports, exports) without ever writing
 * through a symlink or a hard link that batchtune did not make: the one place for that rule.
 * Ownership: the caller owns the returned descriptor / FILE. */
#ifndef BT_RUNTIME_STORE_WOPEN_H
#define BT_RUNTIME_STORE_WOPEN_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* open(2) for writing with O_NOFOLLOW | O_CLOEXEC added: a symlink at PATH fails (ELOOP), as do a
 * folder (EISDIR), a regular file with other hard links (EMLINK) and anything but a regular file,
 * a pipe or a character device (EINVAL). O_TRUNC
 * is applied only after those checks (ftruncate), so it never reaches a file through a link.
 * Returns the descriptor, or -1 with errno set (describe it with bt_wopen_error). */
int bt_wopen(const char *path, int flags, mode_t mode);
/* bt_wopen as a FILE: mode "w" (create or truncate), "a" (create or append), "x" (create; EEXIST
 * if anything is there). NULL with errno set. */
FILE *bt_wfopen(const char *path, const char *mode);
/* The folder holding path, into out (n bytes): "." for a bare name, "/" for a file at the root. */
void bt_path_folder(const char *path, char *out, size_t n);
/* strerror(err), worded for the cases bt_wopen refuses. */
const char *bt_wopen_error(int err);

#endif
