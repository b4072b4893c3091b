/* bt_table (table.h): mmap(MAP_NORESERVE) reservations with their length in a header. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE */
#include "base/table.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

/* The header keeps the mapping's length; 64 bytes keep the elements' alignment. */
#define HEADER 64

void *bt_table_alloc(size_t n, size_t size) {
    if (n == 0) n = 1;
    if (size == 0) size = 1;
    if (n > (SIZE_MAX - HEADER) / size) return NULL;
    size_t len = HEADER + n * size;
    void *p =
        mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return NULL;
    memcpy(p, &len, sizeof len);
    return (char *)p + HEADER;
}

void bt_table_free(void *table) {
    if (!table) return;
    char *p = (char *)table - HEADER;
    size_t len;
    memcpy(&len, p, sizeof len);
    munmap(p, len);
}
