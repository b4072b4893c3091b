/* The journal: records round-trip exactly (NaN too), only whole ticks are read back, a torn tail
 * is cut off on reopen so appends continue cleanly, the header keeps a --run-cap, and foreign
 * files are refused. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "runtime/store/journal.h"
#include "tests/bt_test.h"
#include "tests/fsize_limit.h"

#include <sys/stat.h>

int main(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/test_journal.journal", bt_test_tmpdir());
    bt_journal *j = NULL;
    CHECK_OK(bt_journal_open(&j, path, 1, "abc123", 42, 0));
    bt_jrec recs[] = {
        {BT_JREC_JOB, 0, 3, 9, 0, 0, ""},
        {BT_JREC_HIST, 0, 3, 1, 0.1 + 0.2, 1e-3, "rmse"},
        {BT_JREC_HIST, 0, 3, 2, NAN, 2e-3, "rmse"},
        {BT_JREC_REPORT, 0, 3, 9, 1.0 / 3.0, 0, ""},
        {BT_JREC_TICK, 0, -1, -1, 0, 0.5, ""},
        {BT_JREC_JOB, 1, 4, 9, 0, 0, ""}, /* torn: no tick marker follows */
    };
    for (int i = 0; i < 6; i++) CHECK_OK(bt_journal_append(j, &recs[i]));
    bt_journal_close(j);
    /* a half-written line, as after SIGKILL */
    FILE *f = fopen(path, "a");
    fputs("{\"k\":\"hist\",\"tri", f);
    fclose(f);

    bt_journal_log log;
    CHECK_OK(bt_journal_read(path, &log));
    CHECK_STR(log.sha256, "abc123");
    CHECK_EQ_INT(log.seed, 42);
    CHECK_EQ_INT(log.run_cap, 0); /* no --run-cap */
    CHECK_EQ_INT(log.n, 5);
    CHECK_EQ_INT(log.last_tick, 0);
    CHECK(!log.finished);
    CHECK(log.recs[1].value == 0.1 + 0.2);
    CHECK(isnan(log.recs[2].value));
    CHECK(log.recs[3].value == 1.0 / 3.0);
    CHECK_STR(log.recs[1].metric, "rmse");
    CHECK_EQ_INT(log.recs[0].trial, 3);
    CHECK_EQ_INT(log.recs[0].resource, 9);
    bt_journal_log_free(&log);

    /* reopen: the torn tail goes, appends continue after tick 0 */
    CHECK_OK(bt_journal_open(&j, path, 0, "abc123", 42, 0));
    bt_jrec more[] = {{BT_JREC_JOB, 1, 5, 3, 0, 0, ""},
                      {BT_JREC_TICK, 1, -1, -1, 0, 0, ""},
                      {BT_JREC_END, 2, -1, -1, 0, 0, ""}};
    for (int i = 0; i < 3; i++) CHECK_OK(bt_journal_append(j, &more[i]));
    CHECK_OK(bt_journal_sync(j));
    bt_journal_close(j);
    CHECK_OK(bt_journal_read(path, &log));
    CHECK_EQ_INT(log.n, 8);
    CHECK_EQ_INT(log.recs[5].trial, 5);
    CHECK_EQ_INT(log.last_tick, 1);
    CHECK(log.finished);
    bt_journal_log_free(&log);

    /* a --run-cap run's header says so (and a reopen keeps it) */
    CHECK_OK(bt_journal_open(&j, path, 1, "abc123", 42, 7));
    CHECK_OK(bt_journal_append(j, &more[1]));
    bt_journal_close(j);
    CHECK_OK(bt_journal_open(&j, path, 0, "abc123", 42, 7));
    bt_journal_close(j);
    CHECK_OK(bt_journal_read(path, &log));
    CHECK_EQ_INT(log.run_cap, 7);
    CHECK_EQ_INT(log.n, 1);
    bt_journal_log_free(&log);

    /* a full disk (EFBIG past a file-size limit, as ENOSPC): the tick's write fails with
     * BT_STATUS_IO and a message; what was written before reads back as it was */
    CHECK_OK(bt_journal_open(&j, path, 1, "abc123", 42, 0));
    for (int i = 0; i < 5; i++) CHECK_OK(bt_journal_append(j, &recs[i]));
    bt_journal_close(j);
    struct stat jst;
    CHECK(stat(path, &jst) == 0);
    CHECK_OK(bt_journal_open(&j, path, 0, "abc123", 42, 0));
    CHECK(bt_test_fsize_limit((rlim_t)jst.st_size + 10) == 0);
    bt_status full = BT_STATUS_OK;
    for (int i = 0; i < 5 && full == BT_STATUS_OK; i++) full = bt_journal_append(j, &recs[i]);
    if (full == BT_STATUS_OK) full = bt_journal_sync(j);
    bt_journal_close(j);
    CHECK(bt_test_fsize_limit(0) == 0);
    CHECK_EQ_INT(full, BT_STATUS_IO);
    CHECK_MSG(strstr(bt_status_message(), "File too large") != NULL, "%s", bt_status_message());
    CHECK_OK(bt_journal_read(path, &log));
    CHECK_EQ_INT(log.last_tick, 0); /* the torn tick is dropped, the first one kept */
    bt_journal_log_free(&log);

    /* not a journal */
    f = fopen(path, "w");
    fputs("{\"hello\": 1}\n", f);
    fclose(f);
    CHECK_EQ_INT(bt_journal_read(path, &log), BT_STATUS_BAD_INPUT);
    remove(path);
    CHECK_EQ_INT(bt_journal_read(path, &log), BT_STATUS_NO_INPUT);
    return bt_test_finish("test_journal");
}
