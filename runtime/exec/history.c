/* The learning curves (exec_internal.h): every (trial, resource, metric, value, time) a sweep
 * recorded, kept for the results, with the metric names they refer to by id. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "runtime/exec/exec_internal.h"

static int metric_id(bt_exec *e, const char *name) {
    bt_exec_history *h = &e->hist;
    for (int i = 0; i < h->n_names; i++)
        if (strcmp(h->names[i], name) == 0) return i;
    char **nm = realloc(h->names, (size_t)(h->n_names + 1) * sizeof *nm);
    if (!nm) return -1;
    h->names = nm;
    h->names[h->n_names] = strdup(name);
    if (!h->names[h->n_names]) return -1;
    return h->n_names++;
}

bt_status bt_exec_history_init(bt_exec *e) {
    const bt_sweep *sw = &e->sw;
    bt_exec_history *h = &e->hist;
    if (metric_id(e, sw->metric) < 0) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    for (int m = 0; sw->family->metrics && sw->family->metrics[m] && h->n_extra < 16; m++) {
        const char *name = sw->family->metrics[m];
        if (strcmp(name, sw->metric) == 0) continue;
        if (sw->family->metric_ok && !sw->family->metric_ok(name, sw->task)) continue;
        h->extra[h->n_extra++] = name;
    }
    return BT_STATUS_OK;
}

bt_status bt_exec_hist_add(bt_exec *e, int64_t trial, int64_t resource, const char *metric,
                           double value, double time) {
    bt_exec_history *hs = &e->hist;
    bt_history_row *nh = bt_grow(hs->rows, &hs->cap, hs->n + 1, sizeof *nh, 4096);
    BT_CHECK_ALLOC(nh);
    hs->rows = nh;
    int id = metric_id(e, metric);
    if (id < 0) return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    bt_history_row *h = &hs->rows[hs->n++];
    h->trial_id = trial;
    h->resource = resource;
    h->metric = id;
    h->value = value;
    h->time = time;
    return BT_STATUS_OK;
}

/* Records the task's other metrics for trial t (a member of run L) at the run's resource:
 * evaluated when live, read back from the journal when replaying. */
bt_status bt_exec_extra_metrics(bt_exec *e, int64_t L, int64_t t, double now) {
    bt_exec_run *r = &e->runs[L];
    for (int m = 0; m < e->hist.n_extra; m++) {
        const char *name = e->hist.extra[m];
        double v = NAN;
        if (!e->jnl.replaying && !r->failed) {
            bt_status st = bt_exec_ranks_eval(e, L, name, &v); /* on the run's rank */
            if (bt_exec_ranks_lost(e)) return st;
            if (st != BT_STATUS_OK) v = NAN;
        }
        bt_jrec h = {BT_JREC_HIST, e->tick, t, r->resource, v, now, ""};
        snprintf(h.metric, sizeof h.metric, "%s", name);
        BT_TRY(bt_exec_jrec(e, &h));
        BT_TRY(bt_exec_hist_add(e, t, r->resource, h.metric, h.value, h.time));
    }
    return BT_STATUS_OK;
}

void bt_exec_history_free(bt_exec *e) {
    bt_exec_history *h = &e->hist;
    free(h->rows);
    for (int i = 0; i < h->n_names; i++) free(h->names[i]);
    free(h->names);
    memset(h, 0, sizeof *h);
}
