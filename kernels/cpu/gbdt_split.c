/* C reference of the split scan (see kernels/gbdt_split.h). Empty bins are skipped: their
 * candidate repeats the previous one exactly and could never be strictly better. Candidates are
 * handled in chunks: a sequential pass forms the exact prefix sums, a branch-free pass computes
 * every candidate's loss (the compiler vectorizes its divisions), and a final pass keeps the first
 * strictly best one -- the same candidates, order and float arithmetic as one-by-one. */
#include "kernels/gbdt_split.h"

#define CHUNK 64

typedef struct chunk {
    double gl[CHUNK], hl[CHUNK], gr[CHUNK], hr[CHUNK]; /* integer sums as doubles */
    float loss[CHUNK];
    int32_t idx[CHUNK];
    int64_t ag[CHUNK], ah[CHUNK]; /* running sums */
} chunk;

/* Losses of the m candidates gathered in c (bt_gbdt_split_loss; invalid ones get -inf). The
 * parameters are read once as doubles, outside the loop. no-trapping-math lets GCC vectorize the
 * loss's selects; values are unchanged (IEEE operations round the same in SSE2 and AVX2 lanes, and
 * ISO C mode keeps a*b+c uncontracted). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((optimize("no-trapping-math"), target_clones("avx2", "default")))
#endif
static void
chunk_losses(chunk *c, int m, double gu, double hu, const bt_gbdt_split_param *p, float root_gain) {
    const double alpha = p->alpha, lambda = p->lambda, mcw = p->min_child_weight;
    for (int j = 0; j < m; j++)
        c->loss[j] = bt_gbdt_split_loss(c->gl[j], c->hl[j], c->gr[j], c->hr[j], gu, hu, alpha,
                                        lambda, mcw, root_gain);
}

void bt_gbdt_split_scan_ref(const bt_gbdt_gh *e, const int32_t *bin_ids, int32_t n,
                            const float *cuts, float min_value, int32_t feature, bt_gbdt_gh total,
                            double g_unit, double h_unit, const bt_gbdt_split_param *p,
                            float root_gain, bt_gbdt_split *best) {
    chunk c;
    int64_t ag = 0, ah = 0;
    for (int dir = 0; dir < 2; dir++) {
        if (dir == 1) {
            if (ag == total.g && ah == total.h) return; /* no missing value in the node */
            ag = ah = 0;
        }
        int32_t i = dir == 0 ? 0 : n - 1;
        const int32_t step = dir == 0 ? 1 : -1;
        /* forward: the running sum goes left; backward: it goes right, missing rows left */
        double *acc_g = dir == 0 ? c.gl : c.gr, *acc_h = dir == 0 ? c.hl : c.hr;
        double *rest_g = dir == 0 ? c.gr : c.gl, *rest_h = dir == 0 ? c.hr : c.hl;
        while (dir == 0 ? i < n : i >= 0) {
            int m = 0;
            /* branch-free: every bin is written, only non-empty ones advance m */
            for (; m < CHUNK && (dir == 0 ? i < n : i >= 0); i += step) {
                int64_t g = e[i].g, h = e[i].h;
                ag += g;
                ah += h;
                c.ag[m] = ag;
                c.ah[m] = ah;
                c.idx[m] = i;
                m += (g | h) != 0;
            }
            for (int j = 0; j < m; j++) {
                acc_g[j] = (double)c.ag[j];
                acc_h[j] = (double)c.ah[j];
                rest_g[j] = (double)(total.g - c.ag[j]);
                rest_h[j] = (double)(total.h - c.ah[j]);
            }
            chunk_losses(&c, m, g_unit, h_unit, p, root_gain);
            for (int j = 0; j < m; j++) {
                if (!(c.loss[j] > best->loss_chg)) continue;
                int32_t bin = bin_ids ? bin_ids[c.idx[j]] : c.idx[j];
                bt_gbdt_gh a = {c.ag[j], c.ah[j]}, r = {total.g - c.ag[j], total.h - c.ah[j]};
                best->loss_chg = c.loss[j];
                best->feature = feature;
                if (dir == 0) {
                    best->left = a;
                    best->right = r;
                    best->bin = bin;
                    best->default_left = 0;
                    best->split_cond = cuts[bin];
                } else {
                    best->left = r;
                    best->right = a;
                    best->bin = bin - 1;
                    best->default_left = 1;
                    best->split_cond = bin == 0 ? min_value : cuts[bin - 1];
                }
            }
        }
    }
}

void bt_gbdt_split_scan_prefix_ref(const int64_t *pg, const int64_t *ph, const int32_t *bin,
                                   int32_t m, const float *cuts, float min_value, int32_t feature,
                                   bt_gbdt_gh total, double g_unit, double h_unit,
                                   const bt_gbdt_split_param *p, float root_gain,
                                   bt_gbdt_split *best) {
    if (m <= 0) return;
    chunk c;
    const int64_t sg = pg[m - 1], sh = ph[m - 1]; /* all non-missing rows */
    for (int dir = 0; dir < 2; dir++) {
        if (dir == 1 && sg == total.g && sh == total.h) return; /* no missing value */
        for (int32_t j0 = 0; j0 < m; j0 += CHUNK) {
            int k = m - j0 < CHUNK ? m - j0 : CHUNK;
            /* forward: candidate j sends prefix j left; backward (visited from the top bin):
             * candidate j sends bins >= bin[j] right, i.e. all non-missing minus prefix j-1 */
            for (int t = 0; t < k; t++) {
                int32_t j = dir == 0 ? j0 + t : m - 1 - (j0 + t);
                int64_t ag, ah;
                if (dir == 0) {
                    ag = pg[j];
                    ah = ph[j];
                } else {
                    ag = sg - (j > 0 ? pg[j - 1] : 0);
                    ah = sh - (j > 0 ? ph[j - 1] : 0);
                }
                c.ag[t] = ag;
                c.ah[t] = ah;
                c.idx[t] = j;
                double a_g = (double)ag, a_h = (double)ah;
                double r_g = (double)(total.g - ag), r_h = (double)(total.h - ah);
                c.gl[t] = dir == 0 ? a_g : r_g;
                c.hl[t] = dir == 0 ? a_h : r_h;
                c.gr[t] = dir == 0 ? r_g : a_g;
                c.hr[t] = dir == 0 ? r_h : a_h;
            }
            chunk_losses(&c, k, g_unit, h_unit, p, root_gain);
            for (int t = 0; t < k; t++) {
                if (!(c.loss[t] > best->loss_chg)) continue;
                int32_t b = bin[c.idx[t]];
                bt_gbdt_gh a = {c.ag[t], c.ah[t]}, r = {total.g - c.ag[t], total.h - c.ah[t]};
                best->loss_chg = c.loss[t];
                best->feature = feature;
                if (dir == 0) {
                    best->left = a;
                    best->right = r;
                    best->bin = b;
                    best->default_left = 0;
                    best->split_cond = cuts[b];
                } else {
                    best->left = r;
                    best->right = a;
                    best->bin = b - 1;
                    best->default_left = 1;
                    best->split_cond = b == 0 ? min_value : cuts[b - 1];
                }
            }
        }
    }
}
