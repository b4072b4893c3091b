/* The sweep journal: JSON lines appended with write(2), fsync'd at checkpoints, read back up to
 * the last whole tick (see journal.h). */
#include "runtime/store/journal.h"
#include "runtime/store/wopen.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BT_JOURNAL_FORMAT "batchtune-journal"

struct bt_journal {
    int fd;
    char *path;
    char *buf; /* records of the tick in progress, written out at its TICK marker */
    size_t len, cap;
};

static const char *const kind_names[] = {"job",   "hist", "report", "tick", "end",
                                         "start", "line", "finish", "exit"};
enum { N_KINDS = sizeof kind_names / sizeof *kind_names };

static bt_status read_all(const char *path, char **text, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return BT_FAIL(BT_STATUS_NO_INPUT, "%s: no such file", path);
        return BT_FAIL(BT_STATUS_IO, "%s: %s", path, strerror(errno));
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory reading %s", path);
    }
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                fclose(f);
                return BT_FAIL(BT_STATUS_INTERNAL, "out of memory reading %s", path);
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return BT_STATUS_OK;
}

static int64_t get_i64(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
}

static double get_f64(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsNumber(v)) return v->valuedouble;
    return NAN; /* written as null */
}

static bt_status push(bt_journal_log *log, const bt_jrec *r, char *text) {
    if (log->n == log->cap) {
        int64_t cap = log->cap ? log->cap * 2 : 1024;
        bt_jrec *nr = realloc(log->recs, (size_t)cap * sizeof *nr);
        if (nr) log->recs = nr;
        char **nt = realloc(log->texts, (size_t)cap * sizeof *nt);
        if (nt) log->texts = nt;
        if (!nr || !nt) {
            free(text);
            return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
        }
        log->cap = cap;
    }
    log->texts[log->n] = text;
    log->recs[log->n++] = *r;
    return BT_STATUS_OK;
}

/* Parses text; *whole = bytes up to and including the last whole tick (or end) line. */
static bt_status parse(const char *path, char *text, size_t len, bt_journal_log *out,
                       size_t *whole) {
    memset(out, 0, sizeof *out);
    out->last_tick = -1;
    *whole = 0;
    int64_t committed = 0; /* records up to the last tick */
    size_t pos = 0;
    int line_no = 0;
    while (pos < len) {
        char *nl = memchr(text + pos, '\n', len - pos);
        if (!nl) break; /* partial last line: dropped */
        *nl = '\0';
        line_no++;
        cJSON *o = cJSON_Parse(text + pos);
        size_t next = (size_t)(nl - text) + 1;
        if (!o) {
            /* a torn line can only be the last one written; stop at it */
            break;
        }
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "k");
        const char *ks = cJSON_IsString(k) ? k->valuestring : "";
        if (line_no == 1) {
            const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(o, "format");
            const cJSON *sha = cJSON_GetObjectItemCaseSensitive(o, "sha256");
            const cJSON *seed = cJSON_GetObjectItemCaseSensitive(o, "seed");
            if (strcmp(ks, "header") != 0 || !cJSON_IsString(fmt) ||
                strcmp(fmt->valuestring, BT_JOURNAL_FORMAT) != 0 || !cJSON_IsString(sha)) {
                cJSON_Delete(o);
                bt_journal_log_free(out);
                return BT_FAIL(BT_STATUS_BAD_INPUT, "%s:1: not a batchtune journal", path);
            }
            snprintf(out->sha256, sizeof out->sha256, "%s", sha->valuestring);
            const cJSON *ver = cJSON_GetObjectItemCaseSensitive(o, "batchtune");
            snprintf(out->version, sizeof out->version, "%s",
                     cJSON_IsString(ver) ? ver->valuestring : "?");
            out->seed = cJSON_IsString(seed) ? strtoull(seed->valuestring, NULL, 10) : 0;
            const cJSON *cap = cJSON_GetObjectItemCaseSensitive(o, "run_cap");
            out->run_cap = cJSON_IsString(cap) ? strtoll(cap->valuestring, NULL, 10) : 0;
            *whole = next;
            cJSON_Delete(o);
            pos = next;
            continue;
        }
        bt_jrec r;
        memset(&r, 0, sizeof r);
        int kind = -1;
        for (int i = 0; i < N_KINDS; i++)
            if (strcmp(ks, kind_names[i]) == 0) kind = i;
        if (kind < 0) {
            cJSON_Delete(o);
            break;
        }
        r.kind = (bt_jrec_kind)kind;
        r.tick = get_i64(o, "tick");
        r.trial = get_i64(o, "trial");
        r.resource = get_i64(o, "resource");
        r.value = get_f64(o, "value");
        r.time = get_f64(o, "time");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "metric");
        if (cJSON_IsString(m)) snprintf(r.metric, sizeof r.metric, "%s", m->valuestring);
        const cJSON *tx = cJSON_GetObjectItemCaseSensitive(o, "text");
        char *rtext = cJSON_IsString(tx) ? strdup(tx->valuestring) : NULL;
        cJSON_Delete(o);
        bt_status st = push(out, &r, rtext);
        if (st != BT_STATUS_OK) {
            bt_journal_log_free(out);
            return st;
        }
        if (r.kind == BT_JREC_TICK || r.kind == BT_JREC_END) {
            committed = out->n;
            *whole = next;
            if (r.kind == BT_JREC_TICK) out->last_tick = r.tick;
            if (r.kind == BT_JREC_END) out->finished = 1;
        }
        pos = next;
    }
    if (line_no == 0) { /* created (and locked) but never written: no journal yet */
        bt_journal_log_free(out);
        return BT_FAIL(BT_STATUS_NO_INPUT, "%s: empty journal", path);
    }
    for (int64_t i = committed; i < out->n; i++) {
        free(out->texts[i]);
        out->texts[i] = NULL;
    }
    out->n = committed;
    return BT_STATUS_OK;
}

bt_status bt_journal_read(const char *path, bt_journal_log *out) {
    char *text = NULL;
    size_t len = 0, whole = 0;
    BT_TRY(read_all(path, &text, &len));
    bt_status st = parse(path, text, len, out, &whole);
    free(text);
    return st;
}

void bt_journal_log_free(bt_journal_log *log) {
    if (!log) return;
    for (int64_t i = 0; log->texts && i < log->n; i++) free(log->texts[i]);
    free(log->texts);
    free(log->recs);
    memset(log, 0, sizeof *log);
    log->last_tick = -1;
}

static bt_status write_all(bt_journal *j, const char *buf, size_t n) {
    while (n > 0) {
        ssize_t w = write(j->fd, buf, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return BT_FAIL(BT_STATUS_IO, "%s: write: %s", j->path, strerror(errno));
        }
        buf += w;
        n -= (size_t)w;
    }
    return BT_STATUS_OK;
}

static bt_status flush(bt_journal *j) {
    if (j->len == 0) return BT_STATUS_OK;
    bt_status st = write_all(j, j->buf, j->len);
    j->len = 0;
    return st;
}

bt_status bt_journal_open(bt_journal **out, const char *path, int fresh, const char *sha256,
                          uint64_t seed, int64_t run_cap) {
    *out = NULL;
    size_t keep = 0;
    if (!fresh) {
        char *text = NULL;
        size_t len = 0;
        bt_status st = read_all(path, &text, &len);
        if (st == BT_STATUS_NO_INPUT) {
            fresh = 1;
        } else if (st != BT_STATUS_OK) {
            return st;
        } else {
            bt_journal_log log;
            st = parse(path, text, len, &log, &keep);
            free(text);
            if (st != BT_STATUS_OK) return st;
            bt_journal_log_free(&log);
        }
    }
    bt_journal *j = calloc(1, sizeof *j);
    BT_CHECK_ALLOC(j);
    j->path = strdup(path);
    if (!j->path) {
        free(j);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    j->fd = bt_wopen(path, O_WRONLY | O_CREAT | (fresh ? O_TRUNC : 0), 0644);
    if (j->fd < 0) {
        bt_status st =
            BT_FAIL(BT_STATUS_IO, "%s: cannot open journal: %s", path, bt_wopen_error(errno));
        bt_journal_close(j);
        return st;
    }
    if (!fresh) {
        if (ftruncate(j->fd, (off_t)keep) != 0 || lseek(j->fd, 0, SEEK_END) < 0) {
            bt_status st = BT_FAIL(BT_STATUS_IO, "%s: %s", path, strerror(errno));
            bt_journal_close(j);
            return st;
        }
    } else {
        char head[320], cap[48] = "";
        if (run_cap > 0) snprintf(cap, sizeof cap, ",\"run_cap\":\"%" PRId64 "\"", run_cap);
        int n = snprintf(head, sizeof head,
                         "{\"k\":\"header\",\"format\":\"" BT_JOURNAL_FORMAT
                         "\",\"version\":1,\"batchtune\":\"%s\",\"sha256\":\"%s\",\"seed\":"
                         "\"%" PRIu64 "\"%s}\n",
                         BT_VERSION, sha256, seed, cap);
        bt_status st = write_all(j, head, (size_t)n);
        if (st == BT_STATUS_OK) st = bt_journal_sync(j);
        if (st != BT_STATUS_OK) {
            bt_journal_close(j);
            return st;
        }
    }
    *out = j;
    return BT_STATUS_OK;
}

static int fmt_num(char *buf, size_t cap, double v) {
    if (!isfinite(v)) return snprintf(buf, cap, "null");
    return snprintf(buf, cap, "%.17g", v);
}

/* A program record: any text, so cJSON writes it (escaping included). */
static char *program_line(const bt_jrec *r, const char *text) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "k", kind_names[r->kind]);
    cJSON_AddNumberToObject(o, "trial", (double)r->trial);
    if (r->kind == BT_JREC_LINE || r->kind == BT_JREC_EXIT || r->kind == BT_JREC_FINISH)
        cJSON_AddNumberToObject(o, "resource", (double)r->resource);
    if (r->kind != BT_JREC_LINE) {
        if (isfinite(r->value))
            cJSON_AddNumberToObject(o, "value", r->value);
        else
            cJSON_AddNullToObject(o, "value");
    }
    if (isfinite(r->time)) cJSON_AddNumberToObject(o, "time", r->time);
    if (text) cJSON_AddStringToObject(o, "text", text);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static bt_status buffer_add(bt_journal *j, const char *line, size_t n) {
    if (j->len + n > j->cap) {
        size_t cap = j->cap ? j->cap : 1 << 16;
        while (cap < j->len + n) cap *= 2;
        char *nb = realloc(j->buf, cap);
        BT_CHECK_ALLOC(nb);
        j->buf = nb;
        j->cap = cap;
    }
    memcpy(j->buf + j->len, line, n);
    j->len += n;
    return BT_STATUS_OK;
}

bt_status bt_journal_append_text(bt_journal *j, const bt_jrec *r, const char *text) {
    if (r->kind < BT_JREC_START) return BT_FAIL(BT_STATUS_INTERNAL, "not a program record");
    char *s = program_line(r, text);
    BT_CHECK_ALLOC(s);
    bt_status st = buffer_add(j, s, strlen(s));
    if (st == BT_STATUS_OK) st = buffer_add(j, "\n", 1);
    cJSON_free(s);
    return st;
}

bt_status bt_journal_append(bt_journal *j, const bt_jrec *r) {
    char line[512], v[40], t[40];
    int n = 0;
    if (r->kind >= BT_JREC_START) return bt_journal_append_text(j, r, NULL);
    switch (r->kind) {
    case BT_JREC_JOB:
        n = snprintf(line, sizeof line,
                     "{\"k\":\"job\",\"tick\":%" PRId64 ",\"trial\":%" PRId64
                     ",\"resource\":%" PRId64 "}\n",
                     r->tick, r->trial, r->resource);
        break;
    case BT_JREC_HIST:
        fmt_num(v, sizeof v, r->value);
        fmt_num(t, sizeof t, r->time);
        n = snprintf(line, sizeof line,
                     "{\"k\":\"hist\",\"trial\":%" PRId64 ",\"resource\":%" PRId64
                     ",\"metric\":\"%s\",\"value\":%s,\"time\":%s}\n",
                     r->trial, r->resource, r->metric, v, t);
        break;
    case BT_JREC_REPORT:
        fmt_num(v, sizeof v, r->value);
        n = snprintf(line, sizeof line,
                     "{\"k\":\"report\",\"trial\":%" PRId64 ",\"resource\":%" PRId64
                     ",\"value\":%s}\n",
                     r->trial, r->resource, v);
        break;
    case BT_JREC_TICK:
        fmt_num(t, sizeof t, r->time);
        n = snprintf(line, sizeof line, "{\"k\":\"tick\",\"tick\":%" PRId64 ",\"time\":%s}\n",
                     r->tick, t);
        break;
    case BT_JREC_END:
        n = snprintf(line, sizeof line, "{\"k\":\"end\"}\n");
        break;
    default:
        break;
    }
    if (n <= 0 || (size_t)n >= sizeof line)
        return BT_FAIL(BT_STATUS_INTERNAL, "journal record too long");
    BT_TRY(buffer_add(j, line, (size_t)n));
    /* one write(2) per tick: a kill loses at most the tick in progress, which replay drops */
    if (r->kind == BT_JREC_TICK || r->kind == BT_JREC_END) return flush(j);
    return BT_STATUS_OK;
}

bt_status bt_journal_sync(bt_journal *j) {
    BT_TRY(flush(j));
    if (fsync(j->fd) != 0) return BT_FAIL(BT_STATUS_IO, "%s: fsync: %s", j->path, strerror(errno));
    return BT_STATUS_OK;
}

void bt_journal_close(bt_journal *j) {
    if (!j) return;
    if (j->fd >= 0) {
        flush(j);
        close(j->fd);
    }
    free(j->buf);
    free(j->path);
    free(j);
}
