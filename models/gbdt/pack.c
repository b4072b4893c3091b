/* A gbdt pack: trial slots sharing one binned train set. slot_start resolves a trial's
 * hyperparameters and allocates its model; step computes every listed slot's gradients, grows one
 * round of trees for all of them together (grow.c), updates valid margins, checks for divergence
 * and applies early stopping. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gbdt_sample.h"
#include "models/gbdt/trainer.h"

static int wave_cap = 0;

void bt_gbdt_set_wave_cap(int cap) {
    wave_cap = cap;
}

static const bt_dataset *eval_set(const bt_pack *p) {
    const bt_dataset *va = p->data->valid;
    return va && va->n_rows > 0 ? va : NULL;
}

static void slot_free(bt_gbdt_slot *s) {
    if (!s) return;
    for (int64_t t = 0; t < s->n_trees; t++) free(s->trees[t].nodes);
    free(s->trees);
    if (!s->margins_lent) {
        free(s->margin_train);
        free(s->margin_valid);
    }
    free(s->best_valid);
    free(s->lin_w);
    free(s->lin_best);
    free(s); /* growth buffers belong to the pack */
}

static void gbuf_free(bt_gbdt_gbuf *b) {
    free(b->g);
    free(b->h);
    free(b->gh);
    free(b->rows);
    free(b->n_sampled);
    free(b->eg);
    free(b->eh);
}

bt_status bt_gbdt_pack_init(bt_pack **out, bt_model_data *data, const bt_hparams *shape_hp,
                            int capacity) {
    *out = NULL;
    if (capacity < 1) return BT_FAIL(BT_STATUS_INTERNAL, "pack capacity must be >= 1");
    const bt_gbdt_binning *bin = NULL;
    BT_TRY(bt_gbdt_binning_get(data, (int32_t)shape_hp->v[BT_GBDT_MAX_BIN].i, &bin));
    bt_pack *p = calloc(1, sizeof *p);
    BT_CHECK_ALLOC(p);
    p->slots = calloc((size_t)capacity, sizeof *p->slots);
    if (!p->slots) {
        free(p);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory for %d slots", capacity);
    }
    p->data = data;
    p->bin = bin;
    p->capacity = capacity;
    p->threads = data->threads > 0 ? data->threads : 1;
    const char *booster = shape_hp->v[BT_GBDT_BOOSTER].s;
    p->linear = booster && strcmp(booster, "gblinear") == 0;
    if (p->linear) {
        bt_status st = bt_gbdt_linear_init(p);
        if (st != BT_STATUS_OK) {
            bt_gbdt_pack_free(p);
            return st;
        }
    }
    *out = p;
    return BT_STATUS_OK;
}

void bt_gbdt_pack_free(bt_pack *p) {
    if (!p) return;
    for (int i = 0; i < p->capacity; i++) slot_free(p->slots[i]);
    free(p->slots);
    for (int i = 0; i < p->n_gbufs; i++) gbuf_free(&p->gbufs[i]);
    free(p->gbufs);
    bt_gbdt_grow_free(p->grow);
    bt_gbdt_cols_free(p->cols);
    free(p->col_off);
    free(p->col_row);
    free(p->col_val);
    free(p);
}

void bt_gbdt_slot_clear(bt_pack *p, int slot) {
    if (!p || slot < 0 || slot >= p->capacity) return;
    slot_free(p->slots[slot]);
    p->slots[slot] = NULL;
}

static bt_gbdt_objective objective_of(const char *name) {
    if (name && strcmp(name, "binary:logistic") == 0) return BT_GBDT_OBJ_LOGISTIC;
    if (name && strcmp(name, "multi:softprob") == 0) return BT_GBDT_OBJ_SOFTPROB;
    return BT_GBDT_OBJ_SQUARED;
}

/* Adds part to the pack's note unless it says it already. */
static void note_add(bt_pack *p, const char *part) {
    if (strstr(p->note, part)) return;
    size_t len = strlen(p->note);
    snprintf(p->note + len, sizeof p->note - len, "%s%s", len ? "; " : "", part);
}

/* What the user should know about a trial's knobs that batchtune accepts without doing what
 * XGBoost would, into the pack's note (each said once per pack). */
static void note_knobs(bt_pack *p, const bt_value *v) {
    char part[256];
    const char *tm = v[BT_GBDT_TREE_METHOD].s, *dev = v[BT_GBDT_DEVICE].s;
    const char *here = p->on_gpu ? "the GPU" : "the CPU";
    if (tm && strcmp(tm, "auto") != 0 && strcmp(tm, "hist") != 0 &&
        !(p->on_gpu && strcmp(tm, "gpu_hist") == 0)) {
        snprintf(part, sizeof part,
                 "tree_method '%s' accepted: batchtune grows histogram trees (XGBoost's hist) on "
                 "the device it chose, here %s",
                 tm, here);
        note_add(p, part);
    }
    if (dev && (p->on_gpu ? strcmp(dev, "cpu") == 0
                          : strcmp(dev, "cuda") == 0 || strcmp(dev, "gpu") == 0)) {
        snprintf(part, sizeof part,
                 "device '%s' accepted: batchtune trains on the device it chose "
                 "(execution.device, --device), here %s",
                 dev, here);
        note_add(p, part);
    }
    if (!p->on_gpu && v[BT_GBDT_N_JOBS].i > 0 && v[BT_GBDT_N_JOBS].i != p->threads) {
        snprintf(part, sizeof part,
                 "n_jobs %lld not applied: this pack uses %d CPU threads (execution.threads; "
                 "n_jobs fixed in the model block sets them)",
                 (long long)v[BT_GBDT_N_JOBS].i, p->threads);
        note_add(p, part);
    }
}

const char *bt_gbdt_note(const bt_pack *p) {
    return p && p->note[0] ? p->note : NULL;
}

/* What early stopping watches: the last of eval_metric (XGBoost's rule), else the sweep's metric,
 * else the objective's default metric (XGBoost's default eval_metric). */
static void early_stop_metric(const bt_pack *p, bt_gbdt_slot *s, const char *eval_metric) {
    const char *last = eval_metric && *eval_metric ? strrchr(eval_metric, ',') : NULL;
    const char *name = last                          ? last + 1
                       : eval_metric && *eval_metric ? eval_metric
                                                     : p->data->metric;
    int m = bt_gbdt_metric_id(name);
    if (m < 0) m = bt_gbdt_default_metric_id(s->obj);
    s->es_metric = m;
    s->es_maximize = bt_gbdt_metric_maximize(bt_gbdt_metric_name(m));
}

bt_status bt_gbdt_slot_start(bt_pack *p, int slot, const bt_hparams *hp, uint64_t key) {
    if (slot < 0 || slot >= p->capacity)
        return BT_FAIL(BT_STATUS_INTERNAL, "slot %d out of range [0, %d)", slot, p->capacity);
    bt_gbdt_slot_clear(p, slot);
    const bt_value *v = hp->v;
    if (v[BT_GBDT_MAX_BIN].i != p->bin->max_bin)
        return BT_FAIL(BT_STATUS_INTERNAL, "slot_start: trial has max_bin %lld, the pack %d",
                       (long long)v[BT_GBDT_MAX_BIN].i, p->bin->max_bin);
    const bt_dataset *tr = p->data->train, *va = eval_set(p);
    const bt_gbdt_shared *sh = p->data->shared;
    bt_gbdt_slot *s = calloc(1, sizeof *s);
    BT_CHECK_ALLOC(s);
    s->used = 1;
    s->obj = objective_of(v[BT_GBDT_OBJECTIVE].s);
    s->n_out = 1;
    if (s->obj == BT_GBDT_OBJ_SOFTPROB) {
        s->n_out = v[BT_GBDT_NUM_CLASS].i > 0 ? (int32_t)v[BT_GBDT_NUM_CLASS].i : sh->n_classes;
        if (s->n_out >= 2 && sh->max_label >= (float)s->n_out) {
            int32_t nc = s->n_out;
            free(s);
            return BT_FAIL(BT_STATUS_BAD_INPUT,
                           "num_class %d: the data has label %g; labels must be < num_class", nc,
                           (double)sh->max_label);
        }
        if (s->n_out < 2) {
            int32_t nc = s->n_out;
            free(s);
            return BT_FAIL(BT_STATUS_BAD_INPUT, "multi:softprob needs num_class >= 2, got %d", nc);
        }
    }
    const char *booster = v[BT_GBDT_BOOSTER].s;
    if ((booster && strcmp(booster, "gblinear") == 0) != p->linear) {
        free(s);
        return BT_FAIL(BT_STATUS_INTERNAL, "slot_start: trial has booster %s, the pack %s",
                       booster ? booster : "gbtree", p->linear ? "gblinear" : "gbtree");
    }
    /* XGBoost's defaults differ by booster: eta 0.3 / 0.5, lambda 1 / 0 (gbtree / gblinear) */
    const double eta = v[BT_GBDT_ETA].f, lambda = v[BT_GBDT_LAMBDA].f;
    s->eta = (float)(!isnan(eta) ? eta : p->linear ? 0.5 : 0.3);
    s->selector = bt_gbdt_linear_selector(v[BT_GBDT_FEATURE_SELECTOR].s);
    s->top_k = (int32_t)v[BT_GBDT_TOP_K].i;
    s->gamma = (float)v[BT_GBDT_GAMMA].f;
    s->max_depth = (int32_t)v[BT_GBDT_MAX_DEPTH].i;
    s->sp.min_child_weight = (float)v[BT_GBDT_MIN_CHILD_WEIGHT].f;
    s->sp.lambda = (float)(!isnan(lambda) ? lambda : p->linear ? 0.0 : 1.0);
    s->sp.alpha = (float)v[BT_GBDT_ALPHA].f;
    s->subsample = v[BT_GBDT_SUBSAMPLE].f;
    s->colsample_bytree = v[BT_GBDT_COLSAMPLE_BYTREE].f;
    s->colsample_bylevel = v[BT_GBDT_COLSAMPLE_BYLEVEL].f;
    s->early_stopping_rounds = (int32_t)v[BT_GBDT_EARLY_STOPPING_ROUNDS].i;
    s->scale_pos_weight = (float)v[BT_GBDT_SCALE_POS_WEIGHT].f;
    s->key = bt_philox_key(key, (uint64_t)v[BT_GBDT_SEED].i);
    double bs = v[BT_GBDT_BASE_SCORE].f;
    if (isnan(bs)) {
        double mean = 0;
        for (int64_t i = 0; i < tr->n_rows; i++) mean += tr->y[i];
        mean /= (double)tr->n_rows;
        if (s->obj == BT_GBDT_OBJ_SQUARED)
            bs = mean;
        else if (s->obj == BT_GBDT_OBJ_LOGISTIC)
            bs = mean > 0 && mean < 1 ? mean : 0.5;
        else
            bs = 0.5;
    }
    s->base_score = (float)bs;
    if (s->obj == BT_GBDT_OBJ_LOGISTIC) {
        if (!(s->base_score > 0.0f && s->base_score < 1.0f)) {
            free(s);
            return BT_FAIL(BT_STATUS_BAD_INPUT,
                           "binary:logistic needs base_score in (0, 1), got %g", bs);
        }
        s->base_margin = -logf(1.0f / s->base_score - 1.0f);
    } else {
        s->base_margin = s->base_score;
    }
    int64_t n = tr->n_rows, nv = va ? va->n_rows : 0;
    s->margin_train = malloc((size_t)n * (size_t)s->n_out * sizeof(float));
    s->margin_valid = malloc((size_t)(nv > 0 ? nv : 1) * (size_t)s->n_out * sizeof(float));
    if (!s->margin_train || !s->margin_valid) {
        slot_free(s);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory starting a trial");
    }
    for (int64_t i = 0; i < n * s->n_out; i++) s->margin_train[i] = s->base_margin;
    for (int64_t i = 0; i < nv * s->n_out; i++) s->margin_valid[i] = s->base_margin;
    early_stop_metric(p, s, v[BT_GBDT_EVAL_METRIC].s);
    s->best_round = 0;
    s->best_metric = NAN;
    if (p->linear) {
        bt_status st = bt_gbdt_linear_slot_init(p, s);
        if (st != BT_STATUS_OK) {
            slot_free(s);
            return st;
        }
    }
    p->slots[slot] = s;
    if (!p->linear) note_knobs(p, v);
    return BT_STATUS_OK;
}

int bt_gbdt_slot_failed(const bt_pack *p, int slot) {
    if (!p || slot < 0 || slot >= p->capacity || !p->slots[slot]) return 0;
    return p->slots[slot]->failed;
}

/* Lends growth buffers to a slot for one step, growing them to its size. */
static int gbuf_attach(bt_gbdt_gbuf *b, bt_gbdt_slot *s, int64_t n) {
    int64_t kn = n * s->n_out;
    if (b->cap_rows < kn) {
        free(b->g);
        free(b->h);
        free(b->gh);
        free(b->rows);
        b->g = malloc((size_t)kn * sizeof *b->g);
        b->h = malloc((size_t)kn * sizeof *b->h);
        b->gh = malloc((size_t)kn * sizeof *b->gh);
        b->rows = malloc((size_t)kn * sizeof *b->rows);
        b->cap_rows = b->g && b->h && b->gh && b->rows ? kn : 0;
        if (!b->cap_rows) return 0;
    }
    if (b->cap_out < s->n_out) {
        free(b->n_sampled);
        free(b->eg);
        free(b->eh);
        b->n_sampled = calloc((size_t)s->n_out, sizeof *b->n_sampled);
        b->eg = calloc((size_t)s->n_out, sizeof *b->eg);
        b->eh = calloc((size_t)s->n_out, sizeof *b->eh);
        b->cap_out = b->n_sampled && b->eg && b->eh ? s->n_out : 0;
        if (!b->cap_out) return 0;
    }
    s->g = b->g;
    s->h = b->h;
    s->gh = b->gh;
    s->rows = b->rows;
    s->n_sampled = b->n_sampled;
    s->eg = b->eg;
    s->eh = b->eh;
    return 1;
}

static void gbuf_detach(bt_gbdt_slot *s) {
    s->g = s->h = NULL;
    s->gh = NULL;
    s->rows = NULL;
    s->n_sampled = NULL;
    s->eg = s->eh = NULL;
}

/* Gradients, their fixed-point form and the sampled rows of every class; 0 if they diverged. */
static int slot_gradients(bt_gbdt_slot *s, const bt_dataset *tr) {
    int64_t n = tr->n_rows;
    bt_gbdt_grad_ref(s->obj, s->margin_train, tr->y, n, s->n_out, s->scale_pos_weight, s->g, s->h);
    for (int32_t k = 0; k < s->n_out; k++) {
        const float *g = s->g + (int64_t)k * n, *h = s->h + (int64_t)k * n;
        double mg = 0, mh = 0;
        for (int64_t i = 0; i < n; i++) {
            double ag = fabs((double)g[i]), ah = fabs((double)h[i]);
            if (!(ag <= 1e300) || !(ah <= 1e300)) return 0; /* NaN or inf */
            if (ag > mg) mg = ag;
            if (ah > mh) mh = ah;
        }
        s->eg[k] = bt_gbdt_quant_exponent(mg, n);
        s->eh[k] = bt_gbdt_quant_exponent(mh, n);
        bt_gbdt_quantize_ref(g, h, n, s->eg[k], s->eh[k], s->gh + (int64_t)k * n);
        uint64_t tree = (uint64_t)s->round * (uint64_t)s->n_out + (uint64_t)k;
        s->n_sampled[k] =
            bt_gbdt_sample_rows_ref(s->key, tree, n, s->subsample, s->rows + (int64_t)k * n);
    }
    return 1;
}

/* After a slot's trees of the round are grown: valid margins, divergence, early stopping. */
static void finish_round(const bt_pack *p, bt_gbdt_slot *s, size_t scratch_bytes) {
    const bt_dataset *tr = p->data->train, *va = eval_set(p);
    const int64_t n = tr->n_rows, nv = va ? va->n_rows : 0;
    int64_t t0 = (int64_t)s->round * s->n_out;
    for (int32_t k = 0; k < s->n_out; k++)
        if (va)
            bt_gbdt_predict_add_ref(s->trees[t0 + k].nodes, va->X, va->n_features, NULL, nv,
                                    s->margin_valid, s->n_out, k);
    s->n_trees = t0 + s->n_out;
    s->round++;
    int bad = 0;
    for (int64_t j = 0; j < nv * s->n_out && !bad; j++) bad = !isfinite(s->margin_valid[j]);
    for (int64_t j = 0; j < n * s->n_out && !bad; j++) bad = !isfinite(s->margin_train[j]);
    if (bad) {
        s->failed = 1;
        return;
    }
    if (s->early_stopping_rounds > 0) {
        void *scratch = malloc(scratch_bytes + (size_t)s->n_out * sizeof(float));
        int stopped_now;
        if (scratch) bt_gbdt_early_stop(p, s, scratch, &stopped_now);
        free(scratch);
    }
}

/* Buffers a slot needs for its next step. */
static bt_status slot_prepare(bt_gbdt_slot *s, int64_t nv) {
    if (s->n_trees + s->n_out > s->cap_trees) {
        int64_t cap = s->cap_trees ? 2 * s->cap_trees : 64 * s->n_out;
        bt_gbdt_tree *t = realloc(s->trees, (size_t)cap * sizeof *t);
        BT_CHECK_ALLOC(t);
        s->trees = t;
        s->cap_trees = cap;
    }
    if (s->early_stopping_rounds > 0 && !s->best_valid) {
        s->best_valid = malloc((size_t)(nv > 0 ? nv : 1) * (size_t)s->n_out * sizeof(float));
        BT_CHECK_ALLOC(s->best_valid);
    }
    return BT_STATUS_OK;
}

bt_status bt_gbdt_step_begin(bt_pack *p, const int *slots, int n_slots, int64_t nv,
                             bt_gbdt_slot **act, int *act_slot, int *n_act) {
    bt_status st = BT_STATUS_OK;
    *n_act = 0;
    for (int i = 0; i < n_slots && st == BT_STATUS_OK; i++) {
        int sl = slots[i];
        if (sl < 0 || sl >= p->capacity || !p->slots[sl]) {
            st = BT_FAIL(BT_STATUS_INTERNAL, "step: slot %d is not started", sl);
            break;
        }
        bt_gbdt_slot *s = p->slots[sl];
        if (s->failed || s->stopped) continue;
        if (s->in_step) {
            st = BT_FAIL(BT_STATUS_INTERNAL, "step: slot %d listed twice", sl);
            break;
        }
        s->in_step = 1;
        if (act_slot) act_slot[*n_act] = sl;
        act[(*n_act)++] = s;
        st = slot_prepare(s, nv);
    }
    for (int i = 0; i < *n_act; i++) act[i]->in_step = 0;
    return st;
}

/* Column mode: each slot's whole round (gradients, trees, valid margins) runs in one thread with
 * that thread's growth buffers, so small trees need no barrier per level and one parallel region
 * serves the whole step. Every slot's arithmetic is its own: results do not depend on which thread
 * ran it. */
static bt_status step_cols(bt_pack *p, bt_gbdt_slot **act, int n_act) {
    const bt_dataset *tr = p->data->train, *va = eval_set(p);
    const int64_t n = tr->n_rows, nv = va ? va->n_rows : 0;
    const int nt = p->threads;
    if (n_act == 0) return BT_STATUS_OK;
    BT_TRY(bt_gbdt_cols_prepare(p, act, n_act));
    if (p->n_gbufs < nt) {
        bt_gbdt_gbuf *nb = realloc(p->gbufs, (size_t)nt * sizeof *nb);
        BT_CHECK_ALLOC(nb);
        memset(nb + p->n_gbufs, 0, (size_t)(nt - p->n_gbufs) * sizeof *nb);
        p->gbufs = nb;
        p->n_gbufs = nt;
    }
    /* deepest trees first, so that the last ones to start are short (dynamic schedule) */
    int *ord = malloc((size_t)n_act * sizeof *ord);
    bt_status *sts = malloc((size_t)n_act * sizeof *sts);
    if (!ord || !sts) {
        free(ord);
        free(sts);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    int32_t dmax = 0;
    for (int i = 0; i < n_act; i++)
        if (act[i]->max_depth > dmax) dmax = act[i]->max_depth;
    for (int32_t d = dmax, k = 0; d >= 0 && k < n_act; d--)
        for (int i = 0; i < n_act; i++)
            if (act[i]->max_depth == d || (d == 0 && act[i]->max_depth < 0)) ord[k++] = i;
    size_t scratch_bytes = bt_gbdt_metric_scratch_bytes(nv > 0 ? nv : n, 64);
    const int64_t work = (int64_t)n_act * n * p->bin->train.n_features;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (bt_gbdt_par_ok(nt, n_act, work))
    for (int i = 0; i < n_act; i++) {
        bt_gbdt_slot *s = act[ord[i]];
        const int tid = bt_gbdt_thread_id();
        bt_status st = BT_STATUS_OK;
        if (!gbuf_attach(&p->gbufs[tid], s, n)) {
            st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory for growth buffers");
        } else if (!slot_gradients(s, tr)) {
            s->failed = 1;
        } else {
            st = bt_gbdt_cols_grow(p, s, tid);
            if (st == BT_STATUS_OK) finish_round(p, s, scratch_bytes);
        }
        gbuf_detach(s);
        sts[ord[i]] = st;
    }
    /* a worker thread's message is its own (thread-local): say it again from this thread */
    int bad = -1;
    for (int i = 0; i < n_act && bad < 0; i++)
        if (sts[i] != BT_STATUS_OK) bad = i;
    bt_status st = bad < 0 ? BT_STATUS_OK
                           : BT_FAIL(sts[bad], "gbdt step: growing a trial's trees failed "
                                               "(out of memory?)");
    free(ord);
    free(sts);
    return st;
}

bt_status bt_gbdt_step(bt_pack *p, const int *slots, int n_slots) {
    const bt_dataset *tr = p->data->train, *va = eval_set(p);
    const int64_t n = tr->n_rows, nv = va ? va->n_rows : 0;
    const int nt = p->threads;
    bt_gbdt_slot **act = malloc((size_t)(n_slots > 0 ? n_slots : 1) * sizeof *act);
    BT_CHECK_ALLOC(act);
    int n_act = 0;
    bt_status st = bt_gbdt_step_begin(p, slots, n_slots, nv, act, NULL, &n_act);
    if (st != BT_STATUS_OK || p->bin->order || p->linear) {
        if (st == BT_STATUS_OK)
            st = p->linear ? bt_gbdt_linear_step(p, act, n_act) : step_cols(p, act, n_act);
        free(act);
        return st;
    }
    /* Slots advance in waves that share the pack's growth buffers: a wave's gradients, row lists
     * and histograms stay in cache, and a big pack needs buffers for one wave only. */
    int32_t max_out = 1;
    for (int i = 0; i < n_act; i++)
        if (act[i]->n_out > max_out) max_out = act[i]->n_out;
    int64_t per_slot = n * max_out * (int64_t)(2 * sizeof(float) + sizeof(bt_gbdt_gh) + 4);
    int wave = (int)((64ll << 20) / (per_slot > 0 ? per_slot : 1));
    if (wave < 2 * nt) wave = 2 * nt;
    if (wave_cap > 0 && wave > wave_cap) wave = wave_cap;
    if (wave > n_act) wave = n_act;
    if (wave > p->n_gbufs) {
        bt_gbdt_gbuf *nb = realloc(p->gbufs, (size_t)wave * sizeof *nb);
        if (!nb) {
            free(act);
            return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
        }
        memset(nb + p->n_gbufs, 0, (size_t)(wave - p->n_gbufs) * sizeof *nb);
        p->gbufs = nb;
        p->n_gbufs = wave;
    }
    int *ok = malloc((size_t)(n_act > 0 ? n_act : 1) * sizeof *ok);
    bt_gbdt_slot **grow = malloc((size_t)(n_act > 0 ? n_act : 1) * sizeof *grow);
    if (!ok || !grow) {
        free(ok);
        free(grow);
        free(act);
        return BT_FAIL(BT_STATUS_INTERNAL, "out of memory");
    }
    size_t scratch_bytes = bt_gbdt_metric_scratch_bytes(nv > 0 ? nv : n, 64);
    for (int w0 = 0; w0 < n_act && st == BT_STATUS_OK; w0 += wave) {
        const int w1 = w0 + wave < n_act ? w0 + wave : n_act;
        for (int i = w0; i < w1 && st == BT_STATUS_OK; i++)
            if (!gbuf_attach(&p->gbufs[i - w0], act[i], n))
                st = BT_FAIL(BT_STATUS_INTERNAL, "out of memory for growth buffers");
        if (st == BT_STATUS_OK) {
#pragma omp parallel for schedule(dynamic, 1)                                                      \
    num_threads(nt) if (bt_gbdt_par_ok(nt, w1 - w0, (w1 - w0) * n))
            for (int i = w0; i < w1; i++) ok[i] = slot_gradients(act[i], tr);
            int n_grow = 0;
            for (int i = w0; i < w1; i++) {
                if (ok[i])
                    grow[n_grow++] = act[i];
                else
                    act[i]->failed = 1;
            }
            st = bt_gbdt_grow_round(p, grow, n_grow);
            if (st == BT_STATUS_OK) {
#pragma omp parallel for schedule(dynamic, 1)                                                      \
    num_threads(nt) if (bt_gbdt_par_ok(nt, n_grow, n_grow * (n + nv)))
                for (int i = 0; i < n_grow; i++) finish_round(p, grow[i], scratch_bytes);
            }
        }
        for (int i = w0; i < w1; i++) gbuf_detach(act[i]);
    }
    free(ok);
    free(grow);
    free(act);
    return st;
}

bt_status bt_gbdt_eval(bt_pack *p, int slot, const char *metric, double *out) {
    if (slot < 0 || slot >= p->capacity || !p->slots[slot])
        return BT_FAIL(BT_STATUS_INTERNAL, "eval: slot %d is not started", slot);
    int m = bt_gbdt_metric_id(metric);
    if (m < 0) return BT_FAIL(BT_STATUS_BAD_INPUT, "gbdt: unknown metric \"%s\"", metric);
    const bt_gbdt_slot *s = p->slots[slot];
    if (s->failed) {
        *out = NAN;
        return BT_STATUS_OK;
    }
    const bt_dataset *va = eval_set(p);
    int64_t nr = va ? va->n_rows : p->data->train->n_rows;
    void *scratch = malloc(bt_gbdt_metric_scratch_bytes(nr, s->n_out));
    BT_CHECK_ALLOC(scratch);
    *out = bt_gbdt_slot_metric(p, s, m, scratch);
    free(scratch);
    return BT_STATUS_OK;
}

bt_status bt_gbdt_export(bt_pack *p, int slot, const char *format, char **out, size_t *len) {
    if (slot < 0 || slot >= p->capacity || !p->slots[slot])
        return BT_FAIL(BT_STATUS_INTERNAL, "export: slot %d is not started", slot);
    if (!format || strcmp(format, "xgboost-json") != 0)
        return BT_FAIL(BT_STATUS_BAD_INPUT, "gbdt: unknown export format \"%s\"",
                       format ? format : "(null)");
    return bt_gbdt_export_json(p, p->slots[slot], out, len);
}
