/* Progress line and --log events (see progress.h). */
#include "runtime/exec/progress.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

double bt_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double bt_clock(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void fmt_eta(char *buf, size_t cap, double s) {
    if (!(s >= 0) || !isfinite(s))
        snprintf(buf, cap, "?");
    else if (s < 60)
        snprintf(buf, cap, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, cap, "%.0fm%02.0fs", floor(s / 60), fmod(s, 60));
    else
        snprintf(buf, cap, "%.0fh%02.0fm", floor(s / 3600), floor(fmod(s, 3600) / 60));
}

int bt_progress_due(const bt_progress *p) {
    return p->out && bt_clock() - p->last >= (p->live ? 0.2 : 5.0);
}

void bt_progress_update(bt_progress *p, const bt_progress_counts *c, int force) {
    if (!p->out) return;
    double now = bt_clock();
    if (!force && !bt_progress_due(p)) return;
    p->last = now;
    double el = now - p->t0;
    char eta[32];
    fmt_eta(eta, sizeof eta,
            c->done > 0 ? el * (double)(c->total - c->done) / (double)c->done : -1);
    char best[96] = "-";
    if (c->best_trial >= 0)
        snprintf(best, sizeof best, "%s %.6g (trial %lld)", c->metric, c->best,
                 (long long)c->best_trial);
    fprintf(p->out,
            "%s[%5.1fs] done %lld/%lld  running %lld  pruned %lld  failed %lld  rung %d  "
            "best %s  ETA %s%s",
            p->live ? "\r\033[K" : "", el, (long long)c->done, (long long)c->total,
            (long long)c->running, (long long)c->pruned, (long long)c->failed, (int)c->rung, best,
            eta, p->live ? "" : "\n");
    fflush(p->out);
    p->line_open = p->live;
}

void bt_progress_finish(bt_progress *p) {
    if (p->out && p->line_open) {
        fputc('\n', p->out);
        fflush(p->out);
    }
    p->line_open = 0;
}

void bt_progress_event(bt_progress *p, const char *name, const char *fields) {
    if (!p->log || p->muted) return;
    int bad = fprintf(p->log, "{\"event\":\"%s\",\"time\":%.6f,\"elapsed\":%.6f%s%s}\n", name,
                      bt_now(), bt_clock() - p->t0, fields ? "," : "", fields ? fields : "") < 0;
    bad |= fflush(p->log) != 0;
    if (bad) {
        /* a closed pipe (`--log - | head`) or a full disk costs the events, never the sweep */
        int err = errno;
        if (p->warn)
            fprintf(p->warn, "batchtune: warning: stopped writing --log events: %s\n",
                    strerror(err));
        p->log = NULL;
    }
}

void bt_progress_json_safe(char *out, size_t n, const char *s) {
    size_t k = 0;
    for (; s && *s && k + 1 < n; s++)
        out[k++] = (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20) ? ' ' : *s;
    out[k] = '\0';
}

void bt_progress_warn(bt_progress *p, const char *msg) {
    char m[1024], f[1200];
    if (p->warn) fprintf(p->warn, "batchtune: warning: %s\n", msg);
    bt_progress_json_safe(m, sizeof m, msg);
    snprintf(f, sizeof f, "\"message\":\"%s\"", m);
    bt_progress_event(p, "warning", f);
}
