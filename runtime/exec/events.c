/* What the executor tells people and machines about a sweep (exec_internal.h): warnings, the
 * sweep_start event and line, trial_stop events, and the counts behind progress lines and the
 * summary. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "runtime/exec/exec_internal.h"

/* A warning for the caller's warnings stream and the event log. */
void bt_exec_warn(bt_exec *e, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    bt_progress_warn(&e->prog, msg);
}

/* The sweep_start event, and the line saying where it trains. */
void bt_exec_announce(bt_exec *e, const bt_spec *spec, int resumed, int finished) {
    const bt_device_choice *dev = &e->dev.choice;
    char f[1024], name[256], reason[192], desc[320];
    bt_progress_json_safe(name, sizeof name, dev->name);
    bt_progress_json_safe(reason, sizeof reason, dev->reason);
    snprintf(f, sizeof f,
             "\"sweep\":\"%s\",\"trials\":%" PRId64 ",\"device\":\"%s\",\"threads\":%d,"
             "\"resumed\":%s,\"device_name\":\"%s\",\"device_memory_bytes\":%.0f,"
             "\"device_free_bytes\":%.0f,\"device_reason\":\"%s\",\"streams\":%d,"
             "\"already_finished\":%s",
             spec->sha256, e->sw.n_trials, e->dev.label, e->dev.threads, resumed ? "true" : "false",
             name, (double)dev->total_mem, (double)dev->free_mem, reason, e->slots.streams,
             finished ? "true" : "false");
    bt_progress_event(&e->prog, "sweep_start", f);
    FILE *out = e->o->progress;
    if (!out || finished) return;
    bt_device_describe(dev, desc, sizeof desc);
    if (dev->cuda)
        fprintf(out, "batchtune: training on %s [%s]; up to %d packs at once\n", desc, dev->reason,
                e->sw.packs->concurrent_steps ? e->slots.streams : 1);
    else
        fprintf(out, "batchtune: training on the cpu, %d thread%s [%s]\n", e->dev.threads,
                e->dev.threads == 1 ? "" : "s", dev->reason);
}

void bt_exec_counts(const bt_exec *e, bt_progress_counts *c) {
    memset(c, 0, sizeof *c);
    c->total = e->sw.n_trials;
    c->metric = e->sw.metric;
    for (int64_t t = 0; t < e->sw.n_ready; t++) { /* the rest are pending */
        bt_trial_status s = bt_sched_trial_status(e->sw.sched, t);
        if (s == BT_TRIAL_COMPLETED)
            c->completed++;
        else if (s == BT_TRIAL_PRUNED)
            c->pruned++;
        else if (s == BT_TRIAL_FAILED)
            c->failed++;
        else if (s == BT_TRIAL_RUNNING)
            c->running++;
        if (s == BT_TRIAL_RUNNING && e->ts[t].has_job) {
            int32_t b, rung;
            bt_sched_trial_place(e->sw.sched, t, &b, &rung);
            if (rung > c->rung) c->rung = rung;
        }
    }
    c->done = c->completed + c->pruned + c->failed;
    c->best_trial = bt_exec_best_trial(e);
    c->best = c->best_trial >= 0 ? e->ts[c->best_trial].metric : NAN;
}

/* A trial_stop event for each member of the run that stopped and has not had one. */
void bt_exec_log_trial_stops(bt_exec *e, int64_t leader) {
    const bt_sweep *sw = &e->sw;
    const int64_t run = sw->trials[leader].run;
    for (int64_t k = sw->mem_ptr[run]; k < sw->mem_ptr[run + 1]; k++) {
        int64_t t = sw->members[k];
        bt_trial_status s = bt_sched_trial_status(sw->sched, t);
        if (e->ts[t].stop_logged ||
            (s != BT_TRIAL_COMPLETED && s != BT_TRIAL_PRUNED && s != BT_TRIAL_FAILED))
            continue;
        e->ts[t].stop_logged = 1;
        char f[160];
        snprintf(f, sizeof f, "\"trial\":%" PRId64 ",\"status\":\"%s\",\"resource\":%" PRId64, t,
                 bt_trial_status_name(s), e->ts[t].resource);
        bt_progress_event(&e->prog, "trial_stop", f);
    }
}
