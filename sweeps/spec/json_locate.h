/* Source positions for cJSON trees. cJSON keeps no line numbers, so bt_jpos walks the raw text in
 * step with an already parsed tree and records, for every item, where its key and its value start
 * and end. Validation then reports "FILE:LINE:COL" for any item it holds. Other readers that build
 * the same trees (the YAML reader, yaml_read.h) fill a bt_jpos with bt_jpos_begin/add/finish.
 * Ownership: a bt_jpos owns its tables and borrows the text and tree it was built from, which
 * must outlive it. */
#ifndef BT_JSON_LOCATE_H
#define BT_JSON_LOCATE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "base/status.h"

typedef struct bt_jpos_entry {
    const cJSON *item;
    size_t key_off; /* offset of the key's opening quote (object members), else val_off */
    size_t val_off; /* first character of the value */
    size_t val_end; /* one past its last character */
    size_t num;     /* numbers of other readers: 1 + offset of their JSON literal in tokens; 0:
                       the literal is the text at val_off..val_end */
} bt_jpos_entry;

typedef struct bt_jpos {
    const char *text;
    bt_jpos_entry *e; /* sorted by item pointer */
    size_t n;
    size_t *line_starts; /* offset of each line's first character */
    size_t n_lines;
    size_t *memo; /* in line_starts' block: the last position bt_jpos_linecol counted (its line's
                     start, its offset, its column), so errors along one long line (a minified
                     file) cost the distance between them, not the line each */
    char *tokens; /* number literals given to bt_jpos_add, each NUL-terminated */
    size_t n_tokens, cap_tokens, cap_e;
} bt_jpos;

/* Indexes every item of root (parsed from text by cJSON) by its position in text. */
bt_status bt_jpos_build(bt_jpos *m, const char *text, const cJSON *root);
void bt_jpos_free(bt_jpos *m);

/* For other readers: bt_jpos_begin indexes text's lines ("\n", "\r\n" and a lone "\r" end one);
 * bt_jpos_add records item (num: how a number would be written in JSON, e.g. "31" for YAML's 0x1F,
 * or NULL) and returns its index, or -1 when out of memory; entries whose item is set to NULL
 * later are dropped by bt_jpos_finish, which sorts the map for lookups. */
bt_status bt_jpos_begin(bt_jpos *m, const char *text);
long bt_jpos_add(bt_jpos *m, const cJSON *item, size_t key_off, size_t val_off, size_t val_end,
                 const char *num);
void bt_jpos_finish(bt_jpos *m);

/* The entry of item, or NULL if item is not part of the indexed tree. */
const bt_jpos_entry *bt_jpos_find(const bt_jpos *m, const cJSON *item);
/* The literal the number item was written as (JSON's text, or the literal bt_jpos_add was given)
 * and its length in *len; NULL if item is not indexed. */
const char *bt_jpos_number(const bt_jpos *m, const cJSON *item, size_t *len);
/* 1-based line and column (in characters, not bytes) of text offset off. */
void bt_jpos_linecol(const bt_jpos *m, size_t off, int *line, int *col);
/* Line and column of item's value (want_key = 0) or of its key (want_key = 1; the value for
 * array elements and the root). Unknown items give 1:1. */
void bt_jpos_item(const bt_jpos *m, const cJSON *item, int want_key, int *line, int *col);
/* Follows path (object keys; array indices written as decimal strings like "2") from root and
 * gives the position as bt_jpos_item does. Returns 0 and sets nothing if the path does not exist.
 */
int bt_jpos_locate(const bt_jpos *m, const cJSON *root, const char *const *path, int n_path,
                   int want_key, int *line, int *col);

/* Line and column of a cJSON syntax error at offset err_off of text (no tree needed). */
void bt_json_text_linecol(const char *text, size_t err_off, int *line, int *col);

/* Finds the first JSON syntax error in text (cJSON's own error offset can sit a token late):
 * returns 1 with *err_off and a short message in msg, or 0 if text is valid JSON. */
int bt_json_find_error(const char *text, size_t *err_off, char *msg, int n_msg);
#endif
