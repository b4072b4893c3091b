/* `--device auto`'s trust on first use (verify.h): the key of a build, driver, GPU and family,
 * the cache of keys that passed, and the family's pack round of the self-test when the key is
 * new. A cache that cannot be read or written only means checking again next time. */
#include "runtime/devices/verify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/devices/cuda_module.h"
#include "runtime/devices/selftest.h"

/* The cache file's path, or 0 when there is no home for it. */
static int cache_path(char *out, size_t n, int make_dir) {
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char dir[1024];
    int k;
    if (xdg && *xdg)
        k = snprintf(dir, sizeof dir, "%s/batchtune", xdg);
    else if (home && *home)
        k = snprintf(dir, sizeof dir, "%s/.cache/batchtune", home);
    else
        return 0;
    if (k < 0 || (size_t)k >= sizeof dir) return 0;
    if (make_dir) {
        char parent[1024];
        snprintf(parent, sizeof parent, "%s", dir);
        char *slash = strrchr(parent, '/');
        if (slash) *slash = '\0';
        if (mkdir(parent, 0700) != 0 && errno != EEXIST) return 0;
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) return 0;
    }
    k = snprintf(out, n, "%s/verified-gpus", dir);
    return k > 0 && (size_t)k < n;
}

/* One line naming what a pass vouches for. */
static void make_key(char *key, size_t n, const char *family, const bt_gpu_info *g) {
    const bt_cuda_module *m = bt_cuda_module_get();
    snprintf(key, n, "batchtune %s | %s | %s | %s cc %d.%d %s | %s", BT_VERSION,
             m && m->build ? m->build : "?", bt_cuda_version_string(), g->name, g->cc_major,
             g->cc_minor, g->pci_bus_id, family);
    for (char *c = key; *c; c++)
        if (*c == '\n') *c = ' ';
}

static int cached(const char *key) {
    char path[1100];
    if (!cache_path(path, sizeof path, 0)) return 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return 0;
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        return 0;
    }
    char line[1024];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        found = strcmp(line, key) == 0;
    }
    fclose(f);
    return found;
}

static void remember(const char *key) {
    char path[1100];
    if (!cache_path(path, sizeof path, 1)) return;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return;
    char line[1100];
    int k = snprintf(line, sizeof line, "%s\n", key);
    if (k > 0 && (size_t)k < sizeof line && write(fd, line, (size_t)k) != k) {
        /* a cache that cannot be written: verify again next time */
    }
    close(fd);
}

int bt_device_verify(const char *family, const bt_gpu_info *g, int *fresh, char *why, size_t n) {
    *fresh = 0;
    if (n) why[0] = '\0';
    const char *env = getenv("BT_GPU_VERIFY");
    if (env && strcmp(env, "0") == 0) return 1;
    char key[900];
    make_key(key, sizeof key, family, g);
    if (cached(key)) return 1;
    *fresh = 1;
    int ok = 0;
    char detail[320] = "";
    if (bt_selftest_family(family, g->index, 1, &ok, detail, sizeof detail) != BT_STATUS_OK) {
        snprintf(why, n, "%s", bt_status_message());
        bt_status_clear();
        return 0;
    }
    if (!ok) {
        snprintf(why, n, "%s", detail);
        return 0;
    }
    remember(key);
    return 1;
}
