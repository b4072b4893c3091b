/* Progress for people and machines: a live status line on a terminal (a plain line every few
 * seconds otherwise) and JSON-lines events for --log. Ownership: borrows the FILE handles. */
#ifndef BT_PROGRESS_H
#define BT_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef struct bt_progress {
    FILE *out;     /* NULL: no progress lines */
    int live;      /* rewrite in place with \r */
    FILE *log;     /* NULL: no events; set to NULL when a write to it fails */
    FILE *warn;    /* where that failure is said, once; NULL: nowhere */
    double t0;     /* sweep start, bt_now() */
    double last;   /* last line printed */
    int line_open; /* a live line is on screen */
    int muted;     /* replaying a journal: events were already written the first time */
} bt_progress;

typedef struct bt_progress_counts {
    int64_t total, done, running, pruned, failed, completed;
    int32_t rung;
    double best;
    int64_t best_trial;
    const char *metric;
} bt_progress_counts;

/* Seconds since the epoch, monotonic enough for intervals (CLOCK_REALTIME). */
double bt_now(void);
/* Seconds from a monotonic clock. */
double bt_clock(void);

void bt_progress_update(bt_progress *p, const bt_progress_counts *c, int force);
/* Whether an unforced bt_progress_update would print now (so callers count only then). */
int bt_progress_due(const bt_progress *p);
/* Ends a live line so later output starts on a fresh line. */
void bt_progress_finish(bt_progress *p);
/* Writes one event: {"event":name,"time":...,"elapsed":...,<fields>}. fields is a JSON fragment
 * without braces ("\"trial\":3,\"metric\":0.5") or NULL. */
void bt_progress_event(bt_progress *p, const char *name, const char *fields);
/* A warning: "batchtune: warning: MSG" on p->warn and a "warning" event whose message is msg with
 * quotes, backslashes and control characters as spaces (truncated past 1 KiB). */
void bt_progress_warn(bt_progress *p, const char *msg);
/* s for a JSON event's string into out (n bytes, truncated): quotes, backslashes and control
 * characters become spaces. */
void bt_progress_json_safe(char *out, size_t n, const char *s);

#endif
