/* Suggestions for misspelled names by restricted Damerau-Levenshtein distance (see
 * didyoumean.h). Names are short, so a small quadratic table on the stack or heap is fine. */
#include "sweeps/spec/didyoumean.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int min3(int a, int b, int c) {
    int m = a < b ? a : b;
    return m < c ? m : c;
}

int bt_edit_distance(const char *a, const char *b) {
    int n = (int)strlen(a), m = (int)strlen(b);
    int *d = malloc(sizeof(int) * (size_t)(n + 1) * (size_t)(m + 1));
    if (!d) return n > m ? n : m;
#define D(i, j) d[(i) * (m + 1) + (j)]
    for (int i = 0; i <= n; i++) D(i, 0) = i;
    for (int j = 0; j <= m; j++) D(0, j) = j;
    for (int i = 1; i <= n; i++) {
        for (int j = 1; j <= m; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            int cost = ca != cb;
            D(i, j) = min3(D(i - 1, j) + 1, D(i, j - 1) + 1, D(i - 1, j - 1) + cost);
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && D(i - 2, j - 2) + 1 < D(i, j))
                D(i, j) = D(i - 2, j - 2) + 1;
        }
    }
    int r = D(n, m);
#undef D
    free(d);
    return r;
}

static int is_prefix_ci(const char *pre, const char *s) {
    for (; *pre; pre++, s++)
        if (tolower((unsigned char)*pre) != tolower((unsigned char)*s)) return 0;
    return 1;
}

static int common_prefix(const char *a, const char *b) {
    int k = 0;
    while (a[k] && tolower((unsigned char)a[k]) == tolower((unsigned char)b[k])) k++;
    return k;
}

static const char *closest(const char *word, const char *const *cands, int n, int by_prefix) {
    if (!word || !cands) return NULL;
    int len = (int)strlen(word);
    int limit = len / 3 > 1 ? len / 3 : 1;
    const char *best = NULL;
    int best_d = 1 << 30;
    for (int i = 0; n < 0 ? cands[i] != NULL : i < n; i++) {
        const char *c = cands[i];
        if (!c) continue;
        int dist = bt_edit_distance(word, c);
        /* A truncated or over-long name ("learning" for "learning_rate") is a likely slip too. */
        int clen = (int)strlen(c);
        int shorter = len < clen ? len : clen;
        if (dist > limit && shorter >= 4 && (is_prefix_ci(word, c) || is_prefix_ci(c, word)))
            dist = limit;
        int better = dist < best_d || (by_prefix && dist == best_d &&
                                       common_prefix(word, c) > common_prefix(word, best));
        if (dist <= limit && better) {
            best = c;
            best_d = dist;
        }
    }
    return best;
}

const char *bt_didyoumean(const char *word, const char *const *cands, int n) {
    return closest(word, cands, n, 0);
}

const char *bt_didyoumean_prefix(const char *word, const char *const *cands, int n) {
    return closest(word, cands, n, 1);
}
