/* The "none" scheduler: every trial 0..n-1 trains once, straight to max_resource. It is the
 * degenerate synchronous bracket (one rung, nobody stopped), so the SHA engine in sched_sha.c runs
 * it; this file only lays out that plan. */
#include "sweeps/sched/sched_impl.h"

bt_status bt_sched_none_setup(bt_sched *s, int64_t n_trials) {
    BT_TRY(bt_sched_brackets_alloc(s, 1));
    bt_sched_bracket *b = &s->brackets[0];
    b->n_rungs = 1;
    b->first_trial = 0;
    b->n_trials = n_trials;
    b->rungs[0].resource = s->max_resource;
    b->rungs[0].n_planned = n_trials;
    s->n_trials = n_trials;
    return BT_STATUS_OK;
}
