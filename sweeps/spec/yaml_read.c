/* The YAML reader (yaml_read.h): libyaml's event parser drives a small tree builder that makes
 * the cJSON tree the JSON path would, and records every item's key and value position from
 * libyaml's marks (character indexes, turned into byte offsets by a cursor over the text).
 * Aliases are copied (cJSON has no shared nodes), each copy counted against the expansion cap;
 * merge keys are flattened at the end of their mapping in PyYAML's order. */
#include "sweeps/spec/yaml_read.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int has_suffix(const char *path, const char *ext) {
    size_t n = strlen(path), k = strlen(ext);
    if (n <= k) return 0;
    for (size_t i = 0; i < k; i++)
        if (tolower((unsigned char)path[n - k + i]) != ext[i]) return 0;
    return 1;
}

/* What every JSON sweep file starts with (kept out of function bodies, whose braces are counted).
 */
static const char json_first[] = "{[";

int bt_yaml_is_yaml(const char *path, const char *text) {
    if (has_suffix(path, ".yaml") || has_suffix(path, ".yml")) return 1;
    if (has_suffix(path, ".json")) return 0;
    const unsigned char *p = (const unsigned char *)text;
    if (p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) p += 3;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return !(*p && strchr(json_first, *p));
}

#ifndef BT_HAVE_YAML

const char *bt_yaml_version(void) {
    return NULL;
}

bt_status bt_yaml_read(const char *file, const char *text, cJSON **root, bt_jpos *pos,
                       bt_diags *diags) {
    (void)text;
    *root = NULL;
    memset(pos, 0, sizeof *pos);
    bt_diags_add(diags,
                 "%s:1:1: this batchtune was built without libyaml, so it reads no YAML: install "
                 "libyaml-dev (Debian, Ubuntu; libyaml-devel elsewhere) and rebuild, or give the "
                 "sweep as JSON",
                 file);
    return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: YAML needs libyaml (libyaml-dev)", file);
}

#else

#include <yaml.h>

#include "sweeps/spec/yaml_scalar.h"

/* Caps on what aliases add beyond the file's own text (a value takes at least 2 bytes of it), so
 * a long plain list is never taken for a bomb. */
#define MAX_NODES 1000000
#define MAX_BYTES ((size_t)64 << 20)
#define MAX_DEPTH 500

/* ---- a hash table: (owner, key string or none) -> value -------------------------------------- */

typedef struct slot {
    uint64_t owner, hash;
    char *key; /* owned copy, NULL for pointer keys */
    size_t val;
    int used;
} slot;

typedef struct table {
    slot *s;
    size_t cap, n;
} table;

static uint64_t hash_of(uint64_t owner, const char *key) {
    uint64_t h = owner ^ 1469598103934665603ull;
    for (const char *p = key; p && *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ull; /* splitmix64's finalizer: pointers differ */
    h = (h ^ (h >> 27)) * 0x94D049BB133111EBull; /* only in their middle bits */
    return h ^ (h >> 31);
}

static slot *tab_slot(const table *t, uint64_t owner, const char *key, uint64_t h) {
    for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        slot *s = &t->s[i];
        if (!s->used) return s;
        if (s->hash == h && s->owner == owner && (key ? s->key && !strcmp(s->key, key) : !s->key))
            return s;
    }
}

static int tab_get(const table *t, uint64_t owner, const char *key, size_t *val) {
    if (!t->cap) return 0;
    const slot *s = tab_slot(t, owner, key, hash_of(owner, key));
    if (!s->used) return 0;
    *val = s->val;
    return 1;
}

/* Inserts or overwrites; -1 when out of memory. */
static int tab_set(table *t, uint64_t owner, const char *key, size_t val) {
    if (2 * (t->n + 1) > t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        slot *s = calloc(cap, sizeof *s);
        if (!s) return -1;
        table nt = {s, cap, t->n};
        for (size_t i = 0; i < t->cap; i++)
            if (t->s[i].used) *tab_slot(&nt, t->s[i].owner, t->s[i].key, t->s[i].hash) = t->s[i];
        free(t->s);
        *t = nt;
    }
    uint64_t h = hash_of(owner, key);
    slot *s = tab_slot(t, owner, key, h);
    if (!s->used) {
        char *k = key ? strdup(key) : NULL;
        if (key && !k) return -1;
        *s = (slot){owner, h, k, 0, 1};
        t->n++;
    }
    s->val = val;
    return 0;
}

static void tab_free(table *t) {
    for (size_t i = 0; i < t->cap; i++) free(t->s[i].key);
    free(t->s);
    memset(t, 0, sizeof *t);
}

/* ---- item -> its entry in the position map --------------------------------------------------- */

/* Pointers as keys: nothing is freed while reading (dropped nodes wait in the grave), so a pointer
 * names one item. Fibonacci hashing on the pointer, linear probing, slots of 16 bytes. */
typedef struct pslot {
    uintptr_t k; /* 0: empty */
    size_t v;
} pslot;

typedef struct pmap {
    pslot *s;
    size_t cap, n;
    int shift;
} pmap;

static pslot *pmap_slot(const pmap *m, uintptr_t k) {
    size_t i = (size_t)((k * 0x9E3779B97F4A7C15ull) >> m->shift);
    while (m->s[i].k && m->s[i].k != k) i = (i + 1) & (m->cap - 1);
    return &m->s[i];
}

static int pmap_get(const pmap *m, const void *p, size_t *v) {
    if (!m->cap) return 0;
    const pslot *s = pmap_slot(m, (uintptr_t)p);
    if (!s->k) return 0;
    *v = s->v;
    return 1;
}

/* Room for n more keys at most half full; -1 when out of memory. */
static int pmap_reserve(pmap *m, size_t n) {
    if (2 * (m->n + n) <= m->cap) return 0;
    size_t cap = 64;
    int bits = 6;
    while (cap < 2 * (m->n + n)) cap *= 2, bits++;
    pmap nm = {calloc(cap, sizeof(pslot)), cap, m->n, 64 - bits};
    if (!nm.s) return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->s[i].k) *pmap_slot(&nm, m->s[i].k) = m->s[i];
    free(m->s);
    *m = nm;
    return 0;
}

static int pmap_put(pmap *m, const void *p, size_t v) {
    if (pmap_reserve(m, 1) != 0) return -1;
    pslot *s = pmap_slot(m, (uintptr_t)p);
    if (!s->k) m->n++;
    *s = (pslot){(uintptr_t)p, v};
    return 0;
}

/* ---- the reader's state ---------------------------------------------------------------------- */

typedef struct anchor {
    char *name;
    cJSON *node; /* a mapping or sequence (lives until the end: dropped nodes go to the grave) */
    char *text;  /* a scalar: as written, rebuilt at every alias */
    size_t len;
    char *tag;
    int plain, done;
} anchor;

/* A mapping or sequence being built. Its node joins its parent at its end event. */
typedef struct frame {
    cJSON *node;
    int is_map;
    uint64_t id;    /* mapping: its namespace in the table of keys */
    size_t val_off; /* where it starts */
    long anchor;    /* index in anchors, or -1 */
    char *key;      /* mapping: the key waiting for its value; NULL: a key comes next */
    size_t key_off;
    int key_merge, skip; /* the waiting key is '<<' / a duplicate (its value is dropped) */
    cJSON *merges;       /* the values of its '<<' keys, in order, or NULL */
    int index;           /* sequence: the next item's index */
} frame;

typedef struct yr {
    const char *file, *text;
    bt_diags *diags;
    bt_jpos *pos;
    yaml_parser_t p;
    int n_err, fatal, oom;
    size_t ci, bo, bom; /* cursor: character index ci is byte bo; bom: bytes of a byte order mark */
    frame *st;
    int depth, cap_st;
    cJSON *root, *grave; /* grave: dropped nodes, kept until the end so anchors stay valid */
    anchor *an;
    size_t n_an, cap_an;
    pmap ptrs;     /* item -> its entry in pos */
    table keys;    /* (mapping id, key) -> the key's offset */
    table anchors; /* name -> index in an */
    size_t n_nodes, n_bytes, max_nodes, max_bytes;
    uint64_t next_id;
} yr;

/* Byte offset of a libyaml mark (whose index counts characters after any byte order mark). */
static size_t at(yr *r, yaml_mark_t m) {
    const unsigned char *t = (const unsigned char *)r->text;
    while (r->ci < m.index && t[r->bo]) {
        do r->bo++;
        while ((t[r->bo] & 0xC0) == 0x80);
        r->ci++;
    }
    while (r->ci > m.index && r->bo > r->bom) {
        do r->bo--;
        while (r->bo > r->bom && (t[r->bo] & 0xC0) == 0x80);
        r->ci--;
    }
    return r->bo;
}

/* "parameters.lr.values[2]": where the builder is now (the waiting key, the next index). */
static void cur_path(const yr *r, char *buf, size_t n) {
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < r->depth && len < n; i++) {
        const frame *f = &r->st[i];
        if (f->is_map && f->key)
            len += (size_t)snprintf(buf + len, n - len, "%s%s", len ? "." : "", f->key);
        else if (!f->is_map)
            len += (size_t)snprintf(buf + len, n - len, "[%d]", f->index);
    }
}

static void report(yr *r, size_t off, int with_path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void report(yr *r, size_t off, int with_path, const char *fmt, ...) {
    char msg[768], path[512] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (with_path) cur_path(r, path, sizeof path);
    int line, col;
    bt_jpos_linecol(r->pos, off, &line, &col);
    if (path[0])
        bt_diags_add(r->diags, "%s:%d:%d: %s: %s", r->file, line, col, path, msg);
    else
        bt_diags_add(r->diags, "%s:%d:%d: %s", r->file, line, col, msg);
    r->n_err++;
}

/* One more value of `bytes` text; 0 (and a fatal error) past the expansion cap. */
static int count(yr *r, size_t bytes, size_t off) {
    r->n_nodes++;
    r->n_bytes += bytes;
    if (r->n_nodes <= r->max_nodes && r->n_bytes <= r->max_bytes) return 1;
    report(r, off, 1,
           "the file expands to more than %d values or %zu MiB of text through its aliases (an "
           "alias bomb?); batchtune stops there",
           MAX_NODES, MAX_BYTES >> 20);
    r->fatal = 1;
    return 0;
}

static void note(yr *r, const cJSON *it, size_t key_off, size_t val_off, size_t val_end,
                 const char *lit, size_t lit_num) {
    long k = bt_jpos_add(r->pos, it, key_off, val_off, val_end, lit);
    if (k < 0 || pmap_put(&r->ptrs, it, (size_t)k) != 0) {
        r->oom = r->fatal = 1;
        return;
    }
    if (lit_num) r->pos->e[k].num = lit_num;
}

/* Puts a detached item in the grave, its positions (and its descendants') forgotten. */
static void forget(yr *r, const cJSON *it) {
    size_t k;
    if (pmap_get(&r->ptrs, it, &k)) r->pos->e[k].item = NULL;
    for (const cJSON *c = it->child; c; c = c->next) forget(r, c);
}

static void append(cJSON *parent, cJSON *it) {
    it->next = it->prev = NULL;
    cJSON_AddItemToArray(parent, it);
}

static void drop(yr *r, cJSON *it) {
    forget(r, it);
    append(r->grave, it);
}

/* A deep copy of src (an anchored node) at nesting depth `depth`, each item at its original's
 * position; the root's own position is the caller's to note. */
static cJSON *copy_node(yr *r, const cJSON *src, int depth, int note_root, size_t off) {
    if (depth > MAX_DEPTH) {
        report(r, off, 1, "nested more than %d levels deep (through aliases)", MAX_DEPTH);
        r->fatal = 1;
        return NULL;
    }
    size_t bytes =
        (src->valuestring ? strlen(src->valuestring) : 0) + (src->string ? strlen(src->string) : 0);
    if (!count(r, bytes, off)) return NULL;
    cJSON *d = cJSON_IsObject(src)  ? cJSON_CreateObject()
               : cJSON_IsArray(src) ? cJSON_CreateArray()
                                    : cJSON_Duplicate(src, 0);
    if (d && src->string && !d->string) d->string = strdup(src->string);
    if (!d || (src->string && !d->string)) {
        cJSON_Delete(d);
        r->oom = r->fatal = 1;
        return NULL;
    }
    size_t k;
    if (note_root && pmap_get(&r->ptrs, src, &k)) {
        bt_jpos_entry e = r->pos->e[k];
        note(r, d, e.key_off, e.val_off, e.val_end, NULL, e.num);
    }
    for (const cJSON *c = src->child; c && !r->fatal; c = c->next) {
        cJSON *dc = copy_node(r, c, depth + 1, 1, off);
        if (dc) append(d, dc);
    }
    if (r->fatal) {
        drop(r, d);
        return NULL;
    }
    return d;
}

/* ---- building -------------------------------------------------------------------------------- */

static frame *top(yr *r) {
    return r->depth ? &r->st[r->depth - 1] : NULL;
}

static void clear_key(frame *f) {
    free(f->key);
    f->key = NULL;
    f->key_merge = f->skip = 0;
}

/* The value of a '<<' key: a mapping, or a sequence of mappings. */
static void add_merge(yr *r, frame *f, cJSON *it, size_t off) {
    int ok = cJSON_IsObject(it) || cJSON_IsArray(it);
    for (const cJSON *c = cJSON_IsArray(it) ? it->child : NULL; c; c = c->next)
        ok &= cJSON_IsObject(c);
    if (!ok) {
        report(r, off, 1, "'<<' (a merge key) takes a mapping or a list of mappings, not %s",
               cJSON_IsArray(it) ? "a list holding other values" : "a single value");
        drop(r, it);
        return;
    }
    if (!f->merges && !(f->merges = cJSON_CreateArray())) {
        r->oom = r->fatal = 1;
        drop(r, it);
        return;
    }
    free(it->string); /* a merge value has no key of its own */
    it->string = NULL;
    append(f->merges, it);
}

/* it, a finished value at val_off..val_end, joins the node being built. */
static void attach(yr *r, cJSON *it, size_t val_off, size_t val_end, const char *lit) {
    frame *f = top(r);
    if (!f) {
        note(r, it, val_off, val_off, val_end, lit, 0);
        r->root = it;
        return;
    }
    if (!f->is_map) {
        note(r, it, val_off, val_off, val_end, lit, 0);
        append(f->node, it);
        f->index++;
        return;
    }
    note(r, it, f->key_off, val_off, val_end, lit, 0);
    if (f->skip) {
        drop(r, it);
    } else if (f->key_merge) {
        add_merge(r, f, it, val_off);
    } else {
        it->string = f->key;
        f->key = NULL;
        append(f->node, it);
    }
    clear_key(f);
}

static void on_key(yr *r, frame *f, const char *text, size_t off, int plain, const char *tag) {
    f->key = strdup(text);
    f->key_off = off;
    if (!f->key) {
        r->oom = r->fatal = 1;
        return;
    }
    if ((plain && !tag && strcmp(text, "<<") == 0) || (tag && !strcmp(tag, BT_YAML_TAG("merge")))) {
        f->key_merge = 1;
        return;
    }
    size_t first;
    if (tab_get(&r->keys, f->id, text, &first)) {
        int line, col;
        bt_jpos_linecol(r->pos, first, &line, &col);
        report(r, off, 1, "duplicate key (first given at %d:%d)", line, col);
        f->skip = 1;
    } else if (tab_set(&r->keys, f->id, text, off) != 0) {
        r->oom = r->fatal = 1;
    }
}

static void make_value(yr *r, const char *text, size_t n, int plain, const char *tag, size_t off,
                       size_t end) {
    if (!count(r, n, off)) return;
    char *lit, err[256];
    cJSON *it = bt_yaml_scalar(text, n, plain, tag, &lit, err, sizeof err);
    if (!it && err[0]) {
        report(r, off, 1, "%s", err);
        it = cJSON_CreateNull(); /* a stand-in, so the rest of the file is still read */
    }
    if (!it) {
        r->oom = r->fatal = 1;
        return;
    }
    attach(r, it, off, end, lit);
    free(lit);
}

static long new_anchor(yr *r, const char *name) {
    if (r->n_an == r->cap_an) {
        size_t cap = r->cap_an ? 2 * r->cap_an : 16;
        anchor *a = realloc(r->an, cap * sizeof *a);
        if (!a) return -1;
        r->an = a;
        r->cap_an = cap;
    }
    anchor *a = &r->an[r->n_an];
    memset(a, 0, sizeof *a);
    a->name = strdup(name);
    if (!a->name || tab_set(&r->anchors, 0, name, r->n_an) != 0) {
        free(a->name);
        return -1;
    }
    return (long)r->n_an++;
}

static void on_scalar(yr *r, const yaml_event_t *e) {
    const char *text = (const char *)e->data.scalar.value;
    const char *tag = (const char *)e->data.scalar.tag;
    size_t n = e->data.scalar.length;
    int plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    size_t off = at(r, e->start_mark), end = at(r, e->end_mark);
    if (e->data.scalar.anchor) {
        long k = new_anchor(r, (const char *)e->data.scalar.anchor);
        anchor *a = k < 0 ? NULL : &r->an[k];
        if (a && (a->text = malloc(n + 1)) && (!tag || (a->tag = strdup(tag)))) {
            memcpy(a->text, text, n + 1);
            a->len = n;
            a->plain = plain;
            a->done = 1;
        } else {
            r->oom = r->fatal = 1;
            return;
        }
    }
    frame *f = top(r);
    if (f && f->is_map && !f->key)
        on_key(r, f, text, off, plain, tag);
    else
        make_value(r, text, n, plain, tag, off, end);
}

static void on_start(yr *r, const yaml_event_t *e, int is_map) {
    const char *tag =
        (const char *)(is_map ? e->data.mapping_start.tag : e->data.sequence_start.tag);
    const char *name =
        (const char *)(is_map ? e->data.mapping_start.anchor : e->data.sequence_start.anchor);
    size_t off = at(r, e->start_mark);
    frame *f = top(r);
    if (f && f->is_map && !f->key) {
        report(r, off, 1, "a key must be a single value (a name), not a %s",
               is_map ? "mapping" : "list");
        r->fatal = 1;
        return;
    }
    if (tag && strcmp(tag, "!") && strcmp(tag, is_map ? BT_YAML_TAG("map") : BT_YAML_TAG("seq"))) {
        char buf[128];
        report(r, off, 1, "the tag '%s' does not apply to a %s (batchtune reads !!map and !!seq)",
               bt_yaml_tag_name(tag, buf, sizeof buf), is_map ? "mapping" : "list");
    }
    if (r->depth >= MAX_DEPTH) {
        report(r, off, 1, "nested more than %d levels deep", MAX_DEPTH);
        r->fatal = 1;
        return;
    }
    if (!count(r, 0, off)) return;
    if (r->depth == r->cap_st) {
        int cap = r->cap_st ? 2 * r->cap_st : 16;
        frame *st = realloc(r->st, (size_t)cap * sizeof *st);
        if (!st) {
            r->oom = r->fatal = 1;
            return;
        }
        r->st = st;
        r->cap_st = cap;
    }
    cJSON *node = is_map ? cJSON_CreateObject() : cJSON_CreateArray();
    long k = name ? new_anchor(r, name) : -1;
    if (!node || (name && k < 0)) {
        cJSON_Delete(node);
        r->oom = r->fatal = 1;
        return;
    }
    if (k >= 0) r->an[k].node = node;
    r->st[r->depth++] = (frame){node, is_map, ++r->next_id, off, k, NULL, 0, 0, 0, NULL, 0};
}

/* The pairs of a '<<' value in PyYAML's order (a list's mappings last to first) into pairs (or
 * only counted when pairs is NULL). */
static size_t merge_pairs(const cJSON *m, cJSON **pairs, size_t i) {
    if (cJSON_IsObject(m)) {
        for (cJSON *c = m->child; c; c = c->next, i++)
            if (pairs) pairs[i] = c;
        return i;
    }
    for (const cJSON *s = m->child ? m->child->prev : NULL; s; s = s == m->child ? NULL : s->prev)
        i = merge_pairs(s, pairs, i);
    return i;
}

/* PyYAML's merge: the pairs of every '<<' value and then the mapping's own, each key at its
 * first place with its last value: own keys win, and of two merged mappings the earlier one in
 * a list. Merged pairs are copies; the '<<' values go to the grave. */
static void merge(yr *r, frame *f) {
    size_t n = 0, n_merged, n_win = 0, i = 0, j;
    for (const cJSON *m = f->merges->child; m; m = m->next) n = merge_pairs(m, NULL, n);
    n_merged = n;
    n += (size_t)cJSON_GetArraySize(f->node);
    cJSON **pairs = malloc((n + 1) * sizeof *pairs);
    size_t *win = malloc((n + 1) * sizeof *win);
    table seen = {0};
    if (!pairs || !win) goto oom;
    for (const cJSON *m = f->merges->child; m; m = m->next) i = merge_pairs(m, pairs, i);
    for (cJSON *c = f->node->child; c; c = c->next) pairs[i++] = c;
    for (i = 0; i < n; i++) {
        if (tab_get(&seen, 1, pairs[i]->string, &j)) {
            win[j] = i;
        } else {
            if (tab_set(&seen, 1, pairs[i]->string, n_win) != 0) goto oom;
            win[n_win++] = i;
        }
    }
    f->node->child = NULL;
    for (j = 0; j < n_win; j++) {
        cJSON *c = pairs[win[j]];
        if (win[j] < n_merged) c = r->fatal ? NULL : copy_node(r, c, r->depth + 1, 1, f->val_off);
        if (c) append(f->node, c);
    }
    tab_free(&seen);
    free(pairs);
    free(win);
    drop(r, f->merges);
    f->merges = NULL;
    return;
oom:
    tab_free(&seen);
    free(pairs);
    free(win);
    r->oom = r->fatal = 1;
}

static void on_end(yr *r, const yaml_event_t *e) {
    frame *t = &r->st[r->depth - 1];
    if (t->merges) merge(r, t);
    frame f = *t;
    r->depth--;
    if (f.anchor >= 0) r->an[f.anchor].done = 1;
    clear_key(&f);
    if (f.merges) drop(r, f.merges);
    attach(r, f.node, f.val_off, at(r, e->end_mark), NULL);
}

static void on_alias(yr *r, const yaml_event_t *e) {
    const char *name = (const char *)e->data.alias.anchor;
    size_t off = at(r, e->start_mark), end = at(r, e->end_mark), k;
    frame *f = top(r);
    int as_key = f && f->is_map && !f->key;
    if (!tab_get(&r->anchors, 0, name, &k)) {
        report(r, off, 1, "unknown alias *%s (no anchor &%s before it)", name, name);
        if (as_key)
            on_key(r, f, "", off, 0, NULL);
        else
            make_value(r, "", 0, 1, NULL, off, end);
        return;
    }
    const anchor *a = &r->an[k];
    if (a->text) {
        if (as_key)
            on_key(r, f, a->text, off, a->plain, a->tag);
        else
            make_value(r, a->text, a->len, a->plain, a->tag, off, end);
        return;
    }
    if (as_key)
        report(r, off, 1,
               "a key must be a single value (a name), not an alias of a mapping or list");
    else if (!a->done)
        report(r, off, 1, "alias *%s is inside its own anchor &%s (a loop)", name, name);
    if (as_key || !a->done) {
        r->fatal = 1;
        return;
    }
    cJSON *c = copy_node(r, a->node, r->depth + 1, 0, off);
    if (!c) return;
    free(c->string);
    c->string = NULL;
    attach(r, c, off, end, NULL);
}

/* ---- the document ---------------------------------------------------------------------------- */

static void syntax_error(yr *r) {
    const yaml_parser_t *p = &r->p;
    if (p->error == YAML_MEMORY_ERROR) {
        r->oom = 1;
        return;
    }
    const char *problem = p->problem ? p->problem : "not valid YAML";
    if (p->error == YAML_READER_ERROR) { /* its offset counts bytes */
        size_t off = p->problem_offset;
        size_t len = strlen(r->text);
        report(r, off < len ? off : len, 0, "%s (is the file UTF-8 text?)", problem);
        return;
    }
    size_t off = at(r, p->problem_mark);
    char ctx[160] = "";
    if (p->context) {
        int line, col;
        bt_jpos_linecol(r->pos, at(r, p->context_mark), &line, &col);
        snprintf(ctx, sizeof ctx, " (%s at %d:%d)", p->context, line, col);
    }
    const char *tab = r->text[off] == '\t' || strstr(problem, "tab")
                          ? "; YAML indents with spaces, not tabs"
                          : "";
    report(r, off, 0, "%s%s%s", problem, ctx, tab);
}

static void on_event(yr *r, const yaml_event_t *e, int *docs) {
    switch (e->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++*docs > 1) {
            report(r, at(r, e->start_mark), 0,
                   "a second YAML document (after '---'); a sweep file holds one document");
            r->fatal = 1;
        }
        break;
    case YAML_SCALAR_EVENT:
        on_scalar(r, e);
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        on_start(r, e, e->type == YAML_MAPPING_START_EVENT);
        break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        on_end(r, e);
        break;
    case YAML_ALIAS_EVENT:
        on_alias(r, e);
        break;
    default:
        break;
    }
}

static void free_reader(yr *r) {
    for (int i = r->depth - 1; i >= 0; i--) { /* unfinished mappings and lists (after an error) */
        free(r->st[i].key);
        cJSON_Delete(r->st[i].merges);
        cJSON_Delete(r->st[i].node);
    }
    free(r->st);
    for (size_t i = 0; i < r->n_an; i++) {
        free(r->an[i].name);
        free(r->an[i].text);
        free(r->an[i].tag);
    }
    free(r->an);
    free(r->ptrs.s);
    tab_free(&r->keys);
    tab_free(&r->anchors);
    cJSON_Delete(r->grave);
    yaml_parser_delete(&r->p);
}

bt_status bt_yaml_read(const char *file, const char *text, cJSON **root, bt_jpos *pos,
                       bt_diags *diags) {
    *root = NULL;
    BT_TRY(bt_jpos_begin(pos, text));
    size_t len = strlen(text);
    yr r = {.file = file,
            .text = text,
            .diags = diags,
            .pos = pos,
            .max_nodes = MAX_NODES + len / 2,
            .max_bytes = MAX_BYTES + len};
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) r.bo = r.bom = 3;
    r.grave = cJSON_CreateArray();
    /* about one value per 8 bytes of a dense flow list: sized once for most files */
    if (!r.grave || pmap_reserve(&r.ptrs, len / 8) != 0 || !yaml_parser_initialize(&r.p)) {
        free(r.ptrs.s);
        cJSON_Delete(r.grave);
        bt_jpos_free(pos);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory reading %s", file);
    }
    yaml_parser_set_input_string(&r.p, (const unsigned char *)text, len);
    int docs = 0;
    for (int end = 0; !end && !r.fatal;) {
        yaml_event_t e;
        if (!yaml_parser_parse(&r.p, &e)) {
            syntax_error(&r);
            break;
        }
        on_event(&r, &e, &docs);
        end = e.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&e);
    }
    if (!r.n_err && !r.oom && docs == 0)
        report(&r, len, 0, "empty file (expected a YAML mapping: method, parameters, ...)");
    int oom = r.oom, bad = r.n_err > 0;
    if (oom || bad) {
        cJSON_Delete(r.root);
        r.root = NULL;
    }
    free_reader(&r);
    if (oom || bad) {
        bt_jpos_free(pos);
        if (oom) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory reading %s", file);
        return BT_FAIL(BT_STATUS_BAD_INPUT, "%s: not a valid YAML sweep file", file);
    }
    bt_jpos_finish(pos);
    *root = r.root;
    return BT_STATUS_OK;
}

const char *bt_yaml_version(void) {
    return yaml_get_version_string();
}

#endif
