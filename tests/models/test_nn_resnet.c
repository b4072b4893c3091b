/* The resnet family through its pack ops and internals: the whole network's gradient (depth 8,
 * width 4, a 2x6x6 input, label smoothing, crop and flip on) against central finite differences;
 * a trial trained alone on one thread and the same trial in a pack of 6 (groups of 2 or 3, 2 or 3
 * threads, other optimizers and schedules, a slot joining late, a diverging slot, rotating slot
 * order) end with identical weights and metrics; training learns a synthetic image task; the
 * crop/flip gather does what resnet.h says; parameters, shapes and metrics behave; the parameter
 * layout is 16-byte aligned and its initial weights do not depend on the padding. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/philox.h"
#include "models/nn/resnet.h"
#include "tests/bt_test.h"
#include "tests/nn_gradcheck.h"

static double gauss(void) {
    double u = urand() + 1e-12, v = urand();
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* n images (c x s x s, channel-major rows) of 3 classes: class k is brighter in band k of the
 * rows (channel 0) plus noise; channel 1 (if any) is noise with an offset. */
static void make_images(bt_dataset *d, int64_t n, int c, int s, int with_shape) {
    memset(d, 0, sizeof *d);
    const int F = c * s * s;
    d->n_rows = n;
    d->n_features = F;
    d->X = malloc((size_t)n * F * sizeof(float));
    d->y = malloc((size_t)n * sizeof(float));
    if (with_shape) d->channels = c, d->height = s, d->width = s;
    for (int64_t i = 0; i < n; i++) {
        int k = (int)(urand() * 3);
        d->y[i] = (float)k;
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < s; y++)
                for (int x = 0; x < s; x++) {
                    double v = 0.4 * gauss() + (ch == 0 && y * 3 / s == k ? 1.5 : 0.0);
                    d->X[i * F + ((int64_t)ch * s + y) * s + x] = (float)(v * 60 + 100);
                }
    }
}

static void defaults(bt_value *hp) {
    for (int i = 0; i < BT_RESNET_N_PARAMS; i++) hp[i] = bt_resnet_params[i].def;
    hp[BT_RESNET_DEPTH] = bt_value_int(8);
    hp[BT_RESNET_WIDTH] = bt_value_int(4);
    hp[BT_RESNET_BATCH_SIZE] = bt_value_int(16);
}

/* ---- the whole network's gradient ----------------------------------------------------------- */

typedef struct net_ctx {
    bt_resnet_pack *p;
    bt_nn_slot *s;
    const int32_t *idx;
    int rows;
    double loss;
} net_ctx;

static double net_f(void *c) {
    net_ctx *m = c;
    bt_resnet_fwd_bwd(m->p, &m->s, 1, &m->idx, m->rows, 3, &m->loss);
    return m->loss;
}

static void test_gradient(void) {
    bt_dataset tr;
    make_images(&tr, 12, 2, 6, 0);
    bt_model_data data = {.train = &tr, .task = BT_TASK_MULTICLASS, .n_classes = 3, .threads = 1};
    bt_value hp[BT_RESNET_N_PARAMS];
    defaults(hp);
    hp[BT_RESNET_INPUT_SHAPE] = bt_value_string("2x6x6");
    hp[BT_RESNET_BATCH_SIZE] = bt_value_int(4);
    hp[BT_RESNET_LABEL_SMOOTHING] = bt_value_float(0.1);
    hp[BT_RESNET_CROP_PADDING] = bt_value_int(1);
    hp[BT_RESNET_HFLIP] = bt_value_bool(1);
    bt_hparams h = {hp};
    bt_pack *pk = NULL;
    CHECK_OK(bt_resnet_cpu_packs.pack_init(&pk, &data, &h, 1));
    if (!pk) return;
    bt_resnet_pack *p = (bt_resnet_pack *)pk;
    CHECK_OK(
        bt_resnet_cpu_packs.slot_start(pk, 0, &h, bt_philox_key(5, (uint64_t)(urand() * 1e6))));
    CHECK_EQ_INT(p->n_conv, 9); /* stem, 3 blocks x 2, 2 projections */
    CHECK_EQ_INT(p->feat, 16);
    int32_t idx[4];
    for (int r = 0; r < 4; r++) idx[r] = (int32_t)(urand() * 12);
    net_ctx c = {p, p->slots[0], idx, 4, 0};
    c.s->epoch = 1;
    /* the running statistics move on every call but never enter the training loss */
    net_f(&c);
    const int64_t P = p->n_params;
    float *g = malloc((size_t)P * sizeof(float));
    memcpy(g, c.s->g, (size_t)P * sizeof(float));
    double g2 = 0;
    for (int64_t i = 0; i < P; i++) g2 += (double)g[i] * g[i];
    CHECK_MSG(g2 > 1e-6, "gradient is zero (%g)", g2);
    /* A step of the central difference may cross a relu kink of this tiny batch; such an entry
     * gets a second, smaller step. A wrong backward pass is off for whole tensors, not for a
     * stray entry or two, so at most 2% may still disagree. Every parameter tensor is checked:
     * batch norm scales and shifts whole, 12 random entries of each weight tensor. */
    int bad = 0, checked = 0;
    double e2 = 0, a2 = 0;
    int64_t *todo = malloc((size_t)P * sizeof *todo);
    int n_todo = 0;
    for (int u = 0; u <= p->n_conv; u++) {
        const bt_rn_conv *cv = u < p->n_conv ? &p->conv[u] : NULL;
        const int64_t lo = cv ? cv->w_off : p->fc_w;
        const int64_t nw = cv ? (int64_t)cv->sh.k * cv->sh.k * cv->sh.c_in * cv->sh.c_out
                              : (int64_t)p->feat * p->K;
        for (int k = 0; k < 12; k++) todo[n_todo++] = lo + (int64_t)(urand() * (double)nw);
        /* the layout's tensors, not its alignment gaps: gamma and beta, or the classifier bias */
        const int64_t co = cv ? cv->sh.c_out : p->K;
        for (int64_t i = 0; i < co; i++) todo[n_todo++] = (cv ? cv->gam_off : p->fc_b) + i;
        for (int64_t i = 0; cv && i < co; i++) todo[n_todo++] = cv->bet_off + i;
    }
    for (int t_i = 0; t_i < n_todo; t_i++) {
        const int64_t i = todo[t_i];
        checked++;
        double fd = 0;
        int ok = 0;
        for (int t = 0; t < 3 && !ok; t++) {
            const float hs = t == 0 ? 3e-3f : t == 1 ? 5e-4f : 1e-4f, keep = c.s->w[i];
            c.s->w[i] = keep + hs;
            double lp = net_f(&c);
            c.s->w[i] = keep - hs;
            double lm = net_f(&c);
            c.s->w[i] = keep;
            fd = (lp - lm) / (2.0 * hs);
            ok = close_enough(fd, g[i], t == 0 ? 1e-3 : t == 1 ? 2e-3 : 5e-3, 3e-2);
        }
        if (!ok && bad++ < 5)
            fprintf(stderr, "resnet gradient [%lld]: finite difference %.8g, analytic %.8g\n",
                    (long long)i, fd, (double)g[i]);
        e2 += (fd - g[i]) * (fd - g[i]);
        a2 += (double)g[i] * g[i];
    }
    CHECK_MSG(bad <= checked / 50, "%d of %d gradient entries differ", bad, checked);
    CHECK_MSG(sqrt(e2 / a2) < 0.05, "relative gradient error %g", sqrt(e2 / a2));
    printf("resnet gradient: %d of %d entries off (kinks), relative error %.3g\n", bad, checked,
           sqrt(e2 / a2));
    free(todo);
    free(g);
    bt_resnet_cpu_packs.pack_free(pk);
    bt_resnet_family.data_free(&data);
    bt_dataset_free(&tr);
}

/* ---- the parameter layout ------------------------------------------------------------------- */

/* Every tensor of a slot's block (convolution weights, gamma, beta, the classifier's W and b) and
 * the block itself at a multiple of 4 floats, the 16-byte alignment the GPU's GEMMs need
 * (kernels/nn_blas.h), with odd sizes everywhere; the initial weights keyed by the logical index
 * (the unpadded layout's: trials start where they always did); the gaps 0, and still 0 after an
 * epoch. */
static void test_layout(void) {
    bt_dataset tr;
    make_images(&tr, 12, 2, 5, 0);
    bt_model_data data = {.train = &tr, .task = BT_TASK_MULTICLASS, .n_classes = 3, .threads = 1};
    bt_value hp[BT_RESNET_N_PARAMS];
    defaults(hp);
    hp[BT_RESNET_INPUT_SHAPE] = bt_value_string("2x5x5");
    hp[BT_RESNET_WIDTH] = bt_value_int(3);
    hp[BT_RESNET_BATCH_SIZE] = bt_value_int(5);
    hp[BT_RESNET_OPTIMIZER] = bt_value_string("adamw");
    hp[BT_RESNET_WEIGHT_DECAY] = bt_value_float(0.01);
    bt_hparams h = {hp};
    bt_pack *pk = NULL;
    CHECK_OK(bt_resnet_cpu_packs.pack_init(&pk, &data, &h, 1));
    if (!pk) return;
    bt_resnet_pack *p = (bt_resnet_pack *)pk;
    CHECK_OK(bt_resnet_cpu_packs.slot_start(pk, 0, &h, bt_philox_key(11, 2)));
    const bt_nn_slot *s = p->slots[0];
    const int64_t P = p->n_params;
    CHECK_MSG(P % 4 == 0, "n_params %lld", (long long)P);
    unsigned char *used = calloc((size_t)P, 1);
    int64_t q = 0, prev_end = 0; /* logical index; end of the previous tensor */
    int bad = 0;
    for (int u = 0; u <= p->n_conv; u++) {
        const bt_rn_conv *c = u < p->n_conv ? &p->conv[u] : NULL;
        const int64_t fan_in = c ? (int64_t)c->sh.k * c->sh.k * c->sh.c_in : p->feat;
        const int64_t co = c ? c->sh.c_out : p->K;
        const int64_t off[3] = {c ? c->w_off : p->fc_w, c ? c->gam_off : p->fc_b,
                                c ? c->bet_off : -1};
        const int64_t len[3] = {fan_in * co, co, c ? co : 0};
        for (int t = 0; t < 3; t++) {
            if (!len[t]) continue;
            CHECK_MSG(off[t] % 4 == 0 && off[t] >= prev_end && off[t] + len[t] <= P,
                      "unit %d tensor %d at %lld (previous ends at %lld)", u, t, (long long)off[t],
                      (long long)prev_end);
            prev_end = off[t] + len[t];
            memset(used + off[t], 1, (size_t)len[t]);
        }
        /* convolutions: He uniform, then gamma 1 and beta 0 (no draws); the classifier: W and b */
        const float bound = c ? sqrtf(6.0f / (float)fan_in) : 1.0f / sqrtf((float)fan_in);
        const int64_t drawn = c ? fan_in * co : fan_in * co + co;
        for (int64_t i = 0; i < drawn; i++, q++) {
            double r = bt_philox_uniform(s->key, (uint64_t)q, BT_NN_STREAM_INIT);
            float want = (float)(2.0 * r - 1.0) * bound;
            float got = s->w[i < fan_in * co ? off[0] + i : off[1] + (i - fan_in * co)];
            bad += memcmp(&want, &got, sizeof want) != 0;
        }
        for (int64_t j = 0; c && j < co; j++)
            CHECK(s->w[off[1] + j] == 1.0f && s->w[off[2] + j] == 0.0f);
        if (c) q += 2 * co;
    }
    CHECK_MSG(bad == 0, "%d initial weights not the logical index's draws", bad);
    int step_slot = 0;
    CHECK_OK(bt_resnet_cpu_packs.step(pk, &step_slot, 1));
    CHECK(!s->failed && s->epoch == 1);
    int64_t gaps = 0, nonzero = 0;
    for (int64_t i = 0; i < P; i++) {
        if (used[i]) continue;
        gaps++;
        nonzero += s->w[i] != 0.0f || s->g[i] != 0.0f || s->m[i] != 0.0f || s->v[i] != 0.0f;
    }
    CHECK_MSG(gaps > 0 && nonzero == 0, "%lld of %lld gap entries not 0 after an epoch",
              (long long)nonzero, (long long)gaps);
    free(used);
    bt_resnet_cpu_packs.pack_free(pk);
    bt_resnet_family.data_free(&data);
    bt_dataset_free(&tr);
}

/* ---- pack independence ---------------------------------------------------------------------- */

static void variant(bt_value *hp, int k) {
    static const char *const opts[] = {"sgd", "nesterov", "adam", "adamw", "rmsprop"};
    static const char *const sched[] = {"constant", "step", "cosine"};
    hp[BT_RESNET_OPTIMIZER] = bt_value_string(opts[k % 5]);
    hp[BT_RESNET_LR] = bt_value_float(k % 5 < 2 ? 0.05 : 0.002 * (1 + k % 3));
    hp[BT_RESNET_LR_SCHEDULE] = bt_value_string(sched[k % 3]);
    hp[BT_RESNET_WARMUP_EPOCHS] = bt_value_int(k % 2);
    hp[BT_RESNET_LABEL_SMOOTHING] = bt_value_float(0.05 * (k % 2));
    hp[BT_RESNET_CROP_PADDING] = bt_value_int(k % 3);
    hp[BT_RESNET_HFLIP] = bt_value_bool(k % 2);
    hp[BT_RESNET_WEIGHT_DECAY] = bt_value_float(k % 4 == 0 ? 5e-4 : 0);
}

typedef struct trained {
    double metric[2];
    float *w;
    int failed;
} trained;

/* Trains (hp, key) for `epochs`: alone (capacity 1, 1 thread) or at slot 4 of a pack of 6 with
 * groups of `group` slots on `threads` threads; slot 1 diverges, slot 5 joins at epoch 1. */
static trained train(bt_model_data *data, const bt_value *shape, const bt_value *hp, uint64_t key,
                     int epochs, int packed, int group, int threads) {
    const bt_pack_ops *vt = &bt_resnet_cpu_packs;
    bt_hparams sh = {shape}, h = {hp};
    trained out = {{0}, NULL, 0};
    const int cap = packed ? 6 : 1, me = packed ? 4 : 0;
    data->threads = packed ? threads : 1;
    bt_pack *pk = NULL;
    CHECK_OK(vt->pack_init(&pk, data, &sh, cap));
    if (!pk) return out;
    bt_resnet_pack *p = (bt_resnet_pack *)pk;
    if (packed) CHECK(p->group == cap); /* tiny network: the whole pack fits one group */
    if (packed && group < p->group) p->group = group;
    bt_value others[6][BT_RESNET_N_PARAMS];
    for (int k = 0; k < cap; k++) {
        memcpy(others[k], shape, sizeof others[k]);
        variant(others[k], k);
        if (k == 1) { /* diverges */
            others[k][BT_RESNET_OPTIMIZER] = bt_value_string("sgd");
            /* batch norm keeps even lr 1e38 finite; a momentum of 1e6 (the spec allows at most
             * 0.9999) overflows the buffer within a few steps */
            others[k][BT_RESNET_MOMENTUM] = bt_value_float(1e6);
            others[k][BT_RESNET_LR_SCHEDULE] = bt_value_string("constant");
            others[k][BT_RESNET_WARMUP_EPOCHS] = bt_value_int(0);
        }
    }
    int slots[6], n = 0;
    for (int k = 0; k < cap; k++) {
        if (packed && k == 5) continue;
        bt_hparams ho = {others[k]};
        CHECK_OK(vt->slot_start(pk, k, k == me ? &h : &ho, k == me ? key : bt_philox_key(3, k)));
        slots[n++] = k;
    }
    for (int e = 0; e < epochs; e++) {
        if (packed && e == 1) {
            bt_hparams ho = {others[5]};
            CHECK_OK(vt->slot_start(pk, 5, &ho, bt_philox_key(3, 5)));
            slots[n++] = 5;
        }
        int order[6];
        for (int i = 0; i < n; i++) order[i] = slots[(i + e) % n];
        CHECK_OK(vt->step(pk, order, n));
    }
    CHECK_OK(vt->eval(pk, me, "accuracy", &out.metric[0]));
    CHECK_OK(vt->eval(pk, me, "mlogloss", &out.metric[1]));
    out.failed = vt->slot_failed(pk, me);
    out.w = malloc((size_t)p->n_params * sizeof(float));
    memcpy(out.w, p->slots[me]->w, (size_t)p->n_params * sizeof(float));
    if (packed) {
        CHECK_MSG(vt->slot_failed(pk, 1), "the momentum-1e6 slot diverged");
        double x = 0;
        CHECK_OK(vt->eval(pk, 1, "accuracy", &x));
        CHECK(isnan(x));
        for (int k = 0; k < cap; k++)
            if (k != 1) CHECK_MSG(!vt->slot_failed(pk, k), "slot %d failed", k);
    }
    vt->pack_free(pk);
    return out;
}

static void test_packing(void) {
    bt_dataset tr, va;
    make_images(&tr, 120, 1, 8, 1);
    make_images(&va, 60, 1, 8, 1);
    bt_model_data data = {.train = &tr, .valid = &va, .task = BT_TASK_MULTICLASS, .threads = 1};
    bt_value shape[BT_RESNET_N_PARAMS], hp[BT_RESNET_N_PARAMS];
    defaults(shape);
    memcpy(hp, shape, sizeof hp);
    hp[BT_RESNET_OPTIMIZER] = bt_value_string("nesterov");
    hp[BT_RESNET_LR] = bt_value_float(0.1);
    hp[BT_RESNET_WEIGHT_DECAY] = bt_value_float(5e-4);
    hp[BT_RESNET_LR_SCHEDULE] = bt_value_string("cosine");
    hp[BT_RESNET_EPOCHS] = bt_value_int(3);
    hp[BT_RESNET_CROP_PADDING] = bt_value_int(1);
    hp[BT_RESNET_HFLIP] = bt_value_bool(1);
    hp[BT_RESNET_LABEL_SMOOTHING] = bt_value_float(0.1);
    uint64_t key = bt_philox_key(42, (uint64_t)(urand() * 1e9));
    trained a = train(&data, shape, hp, key, 3, 0, 1, 1);
    trained b = train(&data, shape, hp, key, 3, 1, 2, 2);
    trained c = train(&data, shape, hp, key, 3, 1, 3, 3);
    CHECK(!a.failed && !b.failed && !c.failed);
    CHECK_MSG(memcmp(a.metric, b.metric, sizeof a.metric) == 0 &&
                  memcmp(a.metric, c.metric, sizeof a.metric) == 0,
              "alone %.17g %.17g vs packed %.17g %.17g / %.17g %.17g", a.metric[0], a.metric[1],
              b.metric[0], b.metric[1], c.metric[0], c.metric[1]);
    bt_pack *pk = NULL;
    bt_hparams sh = {shape};
    CHECK_OK(bt_resnet_cpu_packs.pack_init(&pk, &data, &sh, 1));
    const size_t P = pk ? (size_t)((bt_resnet_pack *)pk)->n_params : 0;
    bt_resnet_cpu_packs.pack_free(pk);
    CHECK_MSG(a.w && b.w && c.w && memcmp(a.w, b.w, P * sizeof(float)) == 0 &&
                  memcmp(a.w, c.w, P * sizeof(float)) == 0,
              "weights differ between alone and packed");
    printf("synthetic image accuracy %.3f after 3 epochs\n", a.metric[0]);
    CHECK_MSG(a.metric[0] > 0.75, "synthetic image accuracy %g after 3 epochs", a.metric[0]);
    trained d = train(&data, shape, hp, key ^ 1, 1, 0, 1, 1); /* another key, another trial */
    CHECK(d.w && memcmp(a.w, d.w, P * sizeof(float)) != 0);
    free(a.w), free(b.w), free(c.w), free(d.w);
    bt_resnet_family.data_free(&data);
    bt_dataset_free(&tr);
    bt_dataset_free(&va);
}

/* ---- augmentation ---------------------------------------------------------------------------- */

static void test_gather(void) {
    bt_dataset tr;
    make_images(&tr, 20, 2, 5, 1);
    bt_model_data data = {.train = &tr, .task = BT_TASK_MULTICLASS, .threads = 1};
    bt_value hp[BT_RESNET_N_PARAMS];
    defaults(hp);
    bt_hparams h = {hp};
    bt_pack *pk = NULL;
    CHECK_OK(bt_resnet_cpu_packs.pack_init(&pk, &data, &h, 1));
    if (!pk) return;
    bt_resnet_pack *p = (bt_resnet_pack *)pk;
    CHECK(p->C == 2 && p->H == 5 && p->W == 5);
    /* normalized: each channel has mean 0 and std 1 over the train images */
    double s[2] = {0}, ss[2] = {0};
    float img[50], ref[50];
    for (int i = 0; i < 20; i++) {
        bt_resnet_gather(p, tr.X + i * 50, NULL, 0, img);
        for (int q = 0; q < 50; q++) s[q % 2] += img[q], ss[q % 2] += (double)img[q] * img[q];
    }
    for (int c = 0; c < 2; c++) {
        CHECK_NEAR(s[c] / 500, 0.0, 1e-4);
        CHECK_NEAR(ss[c] / 500, 1.0, 1e-3);
    }
    bt_nn_slot sl = {.key = 77, .crop_pad = 2, .hflip = 1, .epoch = 3};
    int seen[5][5][2] = {{{0}}};
    bt_resnet_gather(p, tr.X, NULL, 0, ref);
    for (uint32_t pos = 0; pos < 400; pos++) {
        bt_resnet_gather(p, tr.X, &sl, pos, img);
        /* find the (oy, ox, flip) that explains the output */
        int found = 0;
        for (int oy = -2; oy <= 2 && !found; oy++)
            for (int ox = -2; ox <= 2 && !found; ox++)
                for (int f = 0; f < 2 && !found; f++) {
                    int ok = 1;
                    for (int y = 0; y < 5 && ok; y++)
                        for (int x = 0; x < 5 && ok; x++) {
                            int sy = y + oy, sx = (f ? 4 - x : x) + ox;
                            for (int c = 0; c < 2; c++) {
                                float want = sy < 0 || sy > 4 || sx < 0 || sx > 4
                                                 ? 0.0f
                                                 : ref[(sy * 5 + sx) * 2 + c];
                                ok = ok && img[(y * 5 + x) * 2 + c] == want;
                            }
                        }
                    if (ok) seen[oy + 2][ox + 2][f]++, found = 1;
                }
        CHECK_MSG(found, "position %u: output is no crop/flip of the input", pos);
    }
    int cells = 0;
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 5; b++)
            for (int f = 0; f < 2; f++) cells += seen[a][b][f] > 0;
    CHECK_MSG(cells == 50, "only %d of the 50 (oy, ox, flip) cases drawn in 400 images", cells);
    /* the same (key, epoch, pos) gives the same image; another epoch another one somewhere */
    float again[50];
    bt_resnet_gather(p, tr.X, &sl, 17, img);
    bt_resnet_gather(p, tr.X, &sl, 17, again);
    CHECK(memcmp(img, again, sizeof img) == 0);
    bt_resnet_cpu_packs.pack_free(pk);
    bt_resnet_family.data_free(&data);
    bt_dataset_free(&tr);
}

/* ---- parameters, shapes, metrics ---------------------------------------------------------------
 */

static void test_family(void) {
    const bt_model_family *fam = bt_model_find("resnet");
    CHECK(fam == &bt_resnet_family && fam->cpu == &bt_resnet_cpu_packs);
    CHECK(bt_model_find("cnn") == &bt_resnet_family);
    CHECK(bt_model_param_index(fam, "learning_rate") == BT_RESNET_LR);
    CHECK(bt_model_param_index(fam, "crop_padding") == BT_RESNET_CROP_PADDING);
    CHECK(fam->budget_param == BT_RESNET_EPOCHS);
    const bt_pack_ops *vt = fam->cpu;
    int n_shape = 0;
    for (int i = 0; i < bt_resnet_family.n_params; i++) n_shape += bt_resnet_family.params[i].shape;
    CHECK_EQ_INT(n_shape, 4); /* depth, width, batch_size, input_shape */
    bt_value hp[BT_RESNET_N_PARAMS];
    defaults(hp);
    bt_hparams h = {hp};
    CHECK_OK(bt_resnet_family.check(&h, BT_TASK_MULTICLASS));
    CHECK(bt_resnet_family.check(&h, BT_TASK_REGRESSION) == BT_STATUS_BAD_INPUT);
    hp[BT_RESNET_DEPTH] = bt_value_int(10);
    CHECK(bt_resnet_family.check(&h, BT_TASK_MULTICLASS) == BT_STATUS_BAD_INPUT);
    defaults(hp);
    CHECK(bt_resnet_family.metric_ok("accuracy", BT_TASK_MULTICLASS) &&
          !bt_resnet_family.metric_ok("rmse", BT_TASK_MULTICLASS));

    bt_dataset d = {0};
    d.n_features = 64;
    int32_t c, hh, w;
    CHECK_OK(bt_resnet_input_shape(&d, "auto", &c, &hh, &w));
    CHECK(c == 1 && hh == 8 && w == 8);
    CHECK_OK(bt_resnet_input_shape(&d, "4x4x4", &c, &hh, &w));
    CHECK(c == 4 && hh == 4 && w == 4);
    CHECK_OK(bt_resnet_input_shape(&d, "2x32", &c, &hh, &w));
    CHECK(c == 1 && hh == 2 && w == 32);
    CHECK(bt_resnet_input_shape(&d, "3x8x8", &c, &hh, &w) == BT_STATUS_BAD_INPUT);
    CHECK(bt_resnet_input_shape(&d, "8x8x", &c, &hh, &w) == BT_STATUS_BAD_INPUT);
    CHECK(bt_resnet_input_shape(&d, "0x8x8", &c, &hh, &w) == BT_STATUS_BAD_INPUT);
    d.n_features = 3 * 32 * 32;
    d.channels = 3, d.height = 32, d.width = 32;
    CHECK_OK(bt_resnet_input_shape(&d, NULL, &c, &hh, &w));
    CHECK(c == 3 && hh == 32 && w == 32);
    d.n_features = 30;
    d.channels = 0;
    CHECK(bt_resnet_input_shape(&d, "auto", &c, &hh, &w) == BT_STATUS_BAD_INPUT);

    /* metrics: merror = 1 - accuracy; an unknown metric or unstarted slot is an error */
    bt_dataset tr;
    make_images(&tr, 40, 1, 8, 0);
    bt_model_data data = {.train = &tr, .task = BT_TASK_MULTICLASS, .threads = 1};
    bt_pack *p = NULL;
    CHECK_OK(bt_resnet_family.data_prepare(&data, &h));
    CHECK_OK(vt->pack_init(&p, &data, &h, 2));
    CHECK_OK(vt->slot_start(p, 1, &h, 9));
    int s = 1;
    CHECK_OK(vt->step(p, &s, 1));
    double acc = 0, err = 0, ll = 0;
    CHECK_OK(vt->eval(p, 1, "accuracy", &acc));
    CHECK_OK(vt->eval(p, 1, "merror", &err));
    CHECK_OK(vt->eval(p, 1, "mlogloss", &ll));
    CHECK(acc + err == 1.0 && ll > 0 && isfinite(ll));
    CHECK(vt->eval(p, 1, "auc", &acc) == BT_STATUS_BAD_INPUT);
    s = 0;
    CHECK(vt->step(p, &s, 1) == BT_STATUS_INTERNAL);
    vt->slot_clear(p, 1);
    CHECK(vt->eval(p, 1, "accuracy", &acc) == BT_STATUS_INTERNAL);
    vt->pack_free(p);
    bt_resnet_family.data_free(&data);
    hp[BT_RESNET_INPUT_SHAPE] = bt_value_string("2x4x4");
    CHECK(bt_resnet_family.data_prepare(&data, &h) ==
          BT_STATUS_BAD_INPUT); /* 32 values for 64 features */
    bt_resnet_family.data_free(&data);
    bt_dataset_free(&tr);
    vt->pack_free(NULL);
}

int main(void) {
    const char *seed = getenv("BT_TEST_SEED");
    bt_gc_rng = seed ? strtoull(seed, NULL, 10) : (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull | 1;
    printf("seed %llu\n", (unsigned long long)bt_gc_rng);
    (void)check_grad; /* the header's strict checker suits smooth functions; see test_gradient */
    test_family();
    test_gather();
    test_gradient();
    test_layout();
    test_packing();
    return bt_test_finish("test_nn_resnet");
}
