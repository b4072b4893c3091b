/* bt_journal: the append-only record of a sweep (OUT.journal), one JSON object per line.
 * It is the truth a resume replays: every job handed out, every metric measured, every report,
 * and a marker at the end of each executor tick. Lines are written with write(2) as they happen
 * (so a SIGKILL loses at most the tick in progress) and fsync'd at checkpoints and at exit.
 * Reading keeps only whole ticks: anything after the last tick marker is dropped.
 * Ownership: bt_journal_open allocates the handle (bt_journal_close frees it); bt_journal_read
 * fills a bt_journal_log the caller releases with bt_journal_log_free. */
#ifndef BT_JOURNAL_H
#define BT_JOURNAL_H

#include <stdint.h>

#include "base/status.h"

typedef enum bt_jrec_kind {
    BT_JREC_JOB = 0, /* trial, resource: a job the scheduler handed out */
    BT_JREC_HIST,    /* trial, resource, metric name, value, time: one point of a learning curve */
    BT_JREC_REPORT,  /* trial, resource, value: a report to the scheduler */
    BT_JREC_TICK,    /* tick: end of an executor tick */
    BT_JREC_END,     /* the sweep finished */
    /* program mode (docs/program-mode.md): */
    BT_JREC_START,  /* trial, value = attempt, time; text: the trial's arguments (JSON) */
    BT_JREC_LINE,   /* trial, resource, time; text: a report's numeric keys (JSON object) */
    BT_JREC_FINISH, /* trial, value: the program ended on its own; the scheduler learns it */
    BT_JREC_EXIT,   /* trial, resource = outcome (bt_jrec_exit), value = seconds; text: why */
} bt_jrec_kind;

/* How a program trial's process ended (BT_JREC_EXIT's resource). */
typedef enum bt_jrec_exit {
    BT_JEXIT_COMPLETED = 0,
    BT_JEXIT_PRUNED,
    BT_JEXIT_FAILED,
    BT_JEXIT_RETRY, /* failed, and runs again */
} bt_jrec_exit;

typedef struct bt_jrec {
    bt_jrec_kind kind;
    int64_t tick, trial, resource;
    double value, time;
    char metric[32];
} bt_jrec;

typedef struct bt_journal_log {
    char sha256[65];
    char version[32]; /* batchtune version that wrote it */
    uint64_t seed;
    int64_t run_cap; /* the --run-cap the sweep was started with (0: none) */
    bt_jrec *recs;
    char **texts; /* per record: a program record's text, else NULL (owned by the log) */
    int64_t n, cap;
    int64_t last_tick; /* -1 if no whole tick */
    int finished;      /* an END record was read */
} bt_journal_log;

typedef struct bt_journal bt_journal;

/* Reads path. BT_STATUS_NO_INPUT if it does not exist; BT_STATUS_BAD_INPUT if it is not a
 * batchtune journal. Records after the last TICK (or END) are dropped. */
bt_status bt_journal_read(const char *path, bt_journal_log *out);
void bt_journal_log_free(bt_journal_log *log);

/* Opens path for appending. fresh (or no file yet): start it anew with a header holding sha256,
 * seed and run_cap (the --run-cap override; 0: none, left out of the header). Otherwise the file
 * is cut after its last whole tick, so what follows continues it. */
bt_status bt_journal_open(bt_journal **out, const char *path, int fresh, const char *sha256,
                          uint64_t seed, int64_t run_cap);
bt_status bt_journal_append(bt_journal *j, const bt_jrec *r);
/* A program record (BT_JREC_START ... BT_JREC_EXIT) with its text (borrowed; NULL: none). */
bt_status bt_journal_append_text(bt_journal *j, const bt_jrec *r, const char *text);
bt_status bt_journal_sync(bt_journal *j);
void bt_journal_close(bt_journal *j);

#endif
