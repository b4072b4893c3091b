/* Stepping runs (exec_internal.h): one model call per pack instance, the packs stepped side by
 * side on pool threads when the family allows it, each run's sweep metric read right after. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/exec/exec_internal.h"

/* Whether run L records the sweep metric at resource res (some member's budget reaches it). */
static int run_records(const bt_exec *e, int64_t L, int64_t res) {
    const bt_sweep *sw = &e->sw;
    const int64_t run = sw->trials[L].run;
    for (int64_t k = sw->mem_ptr[run]; k < sw->mem_ptr[run + 1]; k++) {
        int64_t budget = sw->trials[sw->members[k]].budget;
        if (budget < 0 || budget >= res) return 1;
    }
    return 0;
}

/* Steps job j's pack once and, when asked, reads the sweep metric of each stepped run into its
 * bt_exec_run (step_value, failed). Each run belongs to one job, so jobs on different threads
 * write disjoint runs; everything else they read stays unchanged until the batch is over. */
static void step_job_run(void *ctx, int j) {
    bt_exec *e = ctx;
    bt_exec_step_job *sj = &e->slots.jobs[j];
    const bt_pack_ops *ops = e->sw.packs;
    bt_pack *pk = e->slots.inst[sj->inst].pack;
    sj->st = bt_exec_pack_bind(e, sj->inst); /* a pool thread's current GPU is the pack's */
    if (sj->st == BT_STATUS_OK) sj->st = ops->step(pk, sj->slots, sj->n);
    for (int i = 0; i < sj->n && sj->st == BT_STATUS_OK && sj->eval; i++) {
        int64_t L = sj->leaders[i];
        bt_exec_run *r = &e->runs[L];
        r->step_value = NAN;
        if (!run_records(e, L, r->resource + 1)) continue;
        if (!r->failed && ops->slot_failed && ops->slot_failed(pk, r->slot)) r->failed = 1;
        if (!r->failed && ops->eval(pk, r->slot, e->sw.metric, &r->step_value) != BT_STATUS_OK)
            r->failed = 1;
        if (r->failed) r->step_value = NAN;
    }
    if (sj->st != BT_STATUS_OK)
        snprintf(sj->msg, sizeof sj->msg, "%s (%s)", bt_status_message(), bt_status_where());
}

/* Room for n leaders' slots and a job per pack instance. */
static bt_status scratch_reserve(bt_exec_slots *s, int64_t n) {
    if (s->cap_jobs < s->n_inst) {
        bt_exec_step_job *nj = realloc(s->jobs, (size_t)s->n_inst * sizeof *nj);
        BT_CHECK_ALLOC(nj);
        memset(nj + s->cap_jobs, 0, (size_t)(s->n_inst - s->cap_jobs) * sizeof *nj);
        s->jobs = nj;
        s->cap_jobs = s->n_inst;
    }
    if (s->cap_step < n) {
        int *ns = realloc(s->step_slots, (size_t)n * sizeof *ns);
        BT_CHECK_ALLOC(ns);
        s->step_slots = ns;
        int64_t *nl = realloc(s->step_leaders, (size_t)n * sizeof *nl);
        BT_CHECK_ALLOC(nl);
        s->step_leaders = nl;
        s->cap_step = n;
    }
    return BT_STATUS_OK;
}

/* Steps every listed leader's slot once, one model call per pack instance (in instance order;
 * leaders ascending within it); with eval, also reads each run's sweep metric (run_records). */
bt_status bt_exec_step_leaders(bt_exec *e, const int64_t *leaders, int64_t n, int eval) {
    if (n == 0) return BT_STATUS_OK;
    bt_exec_slots *s = &e->slots;
    BT_TRY(scratch_reserve(s, n));
    /* bucket the leaders by instance: counts, then offsets, then fill (stable) */
    int n_jobs = 0;
    for (int i = 0; i < s->n_inst; i++) s->inst[i].n_step = 0;
    for (int64_t i = 0; i < n; i++) s->inst[e->runs[leaders[i]].inst].n_step++;
    int64_t off = 0;
    for (int i = 0; i < s->n_inst; i++) {
        if (s->inst[i].n_step == 0) continue;
        bt_exec_step_job *sj = &s->jobs[n_jobs++];
        sj->inst = i;
        sj->slots = s->step_slots + off;
        sj->leaders = s->step_leaders + off;
        sj->n = 0;
        sj->eval = eval;
        sj->st = BT_STATUS_OK;
        sj->msg[0] = '\0';
        s->inst[i].job = n_jobs - 1;
        off += s->inst[i].n_step;
    }
    for (int64_t i = 0; i < n; i++) {
        bt_exec_step_job *sj = &s->jobs[s->inst[e->runs[leaders[i]].inst].job];
        sj->slots[sj->n] = e->runs[leaders[i]].slot;
        sj->leaders[sj->n++] = leaders[i];
    }
    if (e->sw.packs->concurrent_steps && s->streams > 1 && n_jobs > 1) {
        if (!s->pool) BT_TRY(bt_pool_init(&s->pool, s->streams));
        bt_pool_run(s->pool, n_jobs, step_job_run, e);
    } else {
        for (int j = 0; j < n_jobs && (j == 0 || s->jobs[j - 1].st == BT_STATUS_OK); j++)
            step_job_run(e, j);
    }
    /* failures surface in pack order, whatever thread saw them first */
    for (int j = 0; j < n_jobs; j++)
        if (s->jobs[j].st != BT_STATUS_OK)
            return BT_FAIL(s->jobs[j].st, "pack %d: %s", s->jobs[j].inst, s->jobs[j].msg);
    for (int64_t i = 0; i < n; i++) e->runs[leaders[i]].state_res++;
    /* what a pack says the user should know (a math fallback), once per pack, in pack order */
    for (int i = 0; e->sw.packs->note && i < s->n_inst; i++) {
        const char *note = s->inst[i].noted ? NULL : e->sw.packs->note(s->inst[i].pack);
        if (!note) continue;
        s->inst[i].noted = 1;
        bt_exec_warn(e, "pack %d: %s", i, note);
    }
    return BT_STATUS_OK;
}
