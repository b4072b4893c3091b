/* The memory available now (memavail.h): the environment's override, the kernel's MemAvailable
 * and a container's cgroup v2 limit. */
#include "base/memavail.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* A container's room (cgroup v2 memory.max minus memory.current), or -1 without a limit. */
static int64_t cgroup_room(void) {
    long long max = 0, cur = 0;
    FILE *f = fopen("/sys/fs/cgroup/memory.max", "r");
    int ok = f && fscanf(f, "%lld", &max) == 1; /* "max": no limit */
    if (f) fclose(f);
    if (!ok || max < 0) return -1;
    f = fopen("/sys/fs/cgroup/memory.current", "r");
    if (!f || fscanf(f, "%lld", &cur) != 1) cur = 0;
    if (f) fclose(f);
    return max > cur ? (int64_t)(max - cur) : 0;
}

int64_t bt_mem_available(void) {
    const char *env = getenv("BT_MEM_AVAILABLE");
    if (env && *env) {
        char *end;
        long long v = strtoll(env, &end, 10);
        if (!*end && v >= 0) return (int64_t)v;
    }
    int64_t avail = -1;
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        long long kb = -1;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1) break;
        fclose(f);
        if (kb >= 0) avail = (int64_t)kb * 1024;
    }
    if (avail < 0) {
        long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);
        if (pages > 0 && size > 0) avail = (int64_t)pages * size;
    }
    int64_t room = cgroup_room();
    return room >= 0 && (avail < 0 || room < avail) ? room : avail;
}
