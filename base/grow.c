/* bt_grow (grow.h). */
#include "base/grow.h"

#include <stdlib.h>

void *bt_grow(void *p, int64_t *cap, int64_t need, size_t size, int64_t first) {
    if (need <= *cap) return p;
    int64_t c = *cap > 0 ? 2 * *cap : first;
    if (c < need) c = need;
    void *q = realloc(p, (size_t)c * size);
    if (q) *cap = c;
    return q;
}
