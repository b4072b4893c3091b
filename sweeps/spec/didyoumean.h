/* "Did you mean ...?" suggestions for misspelled names (sweep keys, parameters, metrics), by
 * optimal-string-alignment (restricted Damerau-Levenshtein) distance, case-insensitive.
 * Ownership: returns borrowed pointers into the candidate list; allocates nothing lasting. */
#ifndef BT_DIDYOUMEAN_H
#define BT_DIDYOUMEAN_H

#include <stddef.h>

/* Edit distance where insert, delete, substitute and swapping two adjacent characters cost 1. */
int bt_edit_distance(const char *a, const char *b);

/* The candidate closest to word if it is close enough to be a plausible typo (distance at most
 * max(1, strlen(word) / 3), or one is a prefix of the other with at least 4 characters), else
 * NULL. NULL entries in cands are skipped; n < 0 means the list is NULL-terminated. */
const char *bt_didyoumean(const char *word, const char *const *cands, int n);
/* As bt_didyoumean, but of equally close candidates the one sharing the longest prefix with word
 * wins (the first of those on a tie): "ac" suggests "acc" rather than "auc". */
const char *bt_didyoumean_prefix(const char *word, const char *const *cands, int n);

#endif
