/* Op table suite nn_train (kernels/optest.h): the training-bookkeeping kernels (kernels/nn_train.h)
 * against their C references on fresh random inputs, outputs poisoned: row gathers of floats and
 * int32 (every slot its own random row order, a batch starting at `first`; exact), the
 * divergence check (finite, NaN and infinite losses, slots already dead; exact), and the
 * validation metric sums (classification with 2..1000 classes, tied logits so the first-index
 * rule matters, p_y under the 1e-15 clip; regression in label units) and the per-class counts
 * behind precision, recall and F1 (exact), added onto non-zero accumulators: counts exact, sums
 * within tol (1e-9) relative (the float softmax terms of the reference, summed in double in another
 * order; expf may differ by an ulp: tol 1e-6 on the log-loss). */
#include "kernels/cuda/optest/nn_optest.cuh"

extern "C" {
#include "kernels/nn_train.h"
}

static void gather_case(int S, int64_t n_src, int rows, int width) {
    std::vector<float> src((size_t)(n_src * width));
    std::vector<int32_t> isrc((size_t)(n_src * width));
    for (auto &v : src) v = frand(-5, 5);
    for (auto &v : isrc) v = (int32_t)rnd_u64();
    const int64_t first = irand(7);
    slot_buf<int32_t> idx;
    idx.init(S, (size_t)(first + rows));
    idx.fill([n_src] { return (int32_t)irand(n_src); });
    idx.upload();
    slot_buf<float> dst;
    slot_buf<int32_t> idst;
    dst.init(S, (size_t)rows * width);
    idst.init(S, (size_t)rows * width);
    dst.poison();
    idst.poison();
    float *dsrc = dev_from(src);
    int32_t *disrc = dev_from(isrc);
    CHECK_OK(bt_nn_gather_f32_cuda(S, rows, width, dsrc, idx.cdev(), first, dst.dev(), NULL));
    CHECK_OK(bt_nn_gather_i32_cuda(S, rows, width, disrc, idx.cdev(), first, idst.dev(), NULL));
    bt_nn_gather_f32_ref(S, rows, width, src.data(), idx.crefp(), first, dst.refp());
    bt_nn_gather_i32_ref(S, rows, width, isrc.data(), idx.crefp(), first, idst.refp());
    for (int s = 0; s < S; s++) {
        nn_exact("gather f32", dst.download(s).data(), dst.h[s].data(), dst.n * sizeof(float));
        nn_exact("gather i32", idst.download(s).data(), idst.h[s].data(), idst.n * 4);
    }
    cudaFree(dsrc);
    cudaFree(disrc);
    idx.release();
    dst.release();
    idst.release();
}

static void loss_check_case(int S) {
    std::vector<double> loss((size_t)S), sum((size_t)S);
    std::vector<int32_t> alive((size_t)S);
    std::vector<int64_t> t((size_t)S);
    for (int s = 0; s < S; s++) {
        double u = urand();
        loss[s] = u < 0.1 ? NAN : u < 0.2 ? INFINITY : u < 0.25 ? -INFINITY : urand() * 3;
        sum[s] = urand() * 100;
        alive[s] = urand() < 0.9;
        t[s] = irand(1000);
    }
    const int rows = 1 + (int)irand(300);
    double *dl = dev_from(loss), *ds = dev_from(sum);
    int32_t *da = dev_from(alive);
    int64_t *dt = dev_from(t);
    CHECK_OK(bt_nn_loss_check_cuda(S, rows, dl, da, dt, ds, NULL));
    bt_nn_loss_check_ref(S, rows, loss.data(), alive.data(), t.data(), sum.data());
    std::vector<double> gs = host_from(ds, (size_t)S);
    std::vector<int32_t> ga = host_from(da, (size_t)S);
    std::vector<int64_t> gt = host_from(dt, (size_t)S);
    nn_exact("loss_check sum", gs.data(), sum.data(), (size_t)S * sizeof(double));
    nn_exact("loss_check alive", ga.data(), alive.data(), (size_t)S * sizeof(int32_t));
    nn_exact("loss_check t", gt.data(), t.data(), (size_t)S * sizeof(int64_t));
    cudaFree(dl);
    cudaFree(ds);
    cudaFree(da);
    cudaFree(dt);
}

/* tol: the log-loss sum's relative bound (+ tol / 1000); the count of correct rows is exact up
 * to the double accumulator's rounding */
static void class_case(int S, int rows, int k, double tol) {
    slot_buf<float> z;
    z.init(S, (size_t)rows * k);
    /* coarse values: ties are common; some rows with a very confident wrong class (p_y < 1e-15) */
    z.fill([] { return (float)(irand(9) - 4); });
    for (int s = 0; s < S; s++)
        for (int r = 0; r < rows; r += 7) z.h[s][(size_t)r * k + (size_t)irand(k)] = 80.0f;
    z.upload();
    std::vector<int32_t> lab((size_t)rows);
    for (auto &v : lab) v = (int32_t)irand(k);
    int32_t *dlab = dev_from(lab);
    std::vector<double> acc((size_t)2 * S);
    for (auto &v : acc) v = urand() * 10;
    double *dacc = dev_from(acc);
    CHECK_OK(bt_nn_class_metrics_cuda(S, rows, k, z.cdev(), dlab, dacc, NULL));
    bt_nn_class_metrics_ref(S, rows, k, z.crefp(), lab.data(), acc.data());
    std::vector<double> got = host_from(dacc, (size_t)2 * S);
    for (int s = 0; s < S; s++) {
        char what[96];
        snprintf(what, sizeof what, "class metrics rows %d k %d slot %d correct", rows, k, s);
        nn_close_d(what, got[2 * s], acc[2 * s], 1e-15, 0);
        snprintf(what, sizeof what, "class metrics rows %d k %d slot %d logloss", rows, k, s);
        nn_close_d(what, got[2 * s + 1], acc[2 * s + 1], tol, tol / 1000);
    }
    cudaFree(dlab);
    cudaFree(dacc);
    z.release();
}

/* exact: the counts are small integers, added onto integer counts already there */
static void counts_case(int S, int rows, int k) {
    slot_buf<float> z;
    z.init(S, (size_t)rows * k);
    z.fill([] { return (float)(irand(5) - 2); }); /* ties are common: the first index wins */
    z.upload();
    std::vector<int32_t> lab((size_t)rows);
    for (auto &v : lab) v = (int32_t)irand(k);
    int32_t *dlab = dev_from(lab);
    std::vector<double> cnt((size_t)3 * k * S);
    for (auto &v : cnt) v = (double)irand(4);
    double *dcnt = dev_from(cnt);
    CHECK_OK(bt_nn_class_counts_cuda(S, rows, k, z.cdev(), dlab, dcnt, NULL));
    bt_nn_class_counts_ref(S, rows, k, z.crefp(), lab.data(), cnt.data());
    std::vector<double> got = host_from(dcnt, cnt.size());
    char what[96];
    snprintf(what, sizeof what, "class counts rows %d k %d slots %d", rows, k, S);
    nn_exact(what, got.data(), cnt.data(), cnt.size() * sizeof(double));
    cudaFree(dlab);
    cudaFree(dcnt);
    z.release();
}

/* tol: the sums' relative bound (+ tol / 1000) */
static void reg_case(int S, int rows, double tol) {
    slot_buf<float> p;
    p.init(S, (size_t)rows);
    p.fill([] { return frand(-3, 3); });
    p.upload();
    std::vector<float> tgt((size_t)rows);
    for (auto &v : tgt) v = frand(-3, 3);
    float *dt = dev_from(tgt);
    std::vector<double> acc((size_t)2 * S);
    for (auto &v : acc) v = urand() * 10;
    double *dacc = dev_from(acc);
    const double ym = urand() * 100 - 50, ys = urand() * 10 + 0.1;
    CHECK_OK(bt_nn_reg_metrics_cuda(S, rows, p.cdev(), dt, ym, ys, dacc, NULL));
    bt_nn_reg_metrics_ref(S, rows, p.crefp(), tgt.data(), ym, ys, acc.data());
    std::vector<double> got = host_from(dacc, (size_t)2 * S);
    for (int s = 0; s < 2 * S; s++) nn_close_d("reg metrics", got[s], acc[s], tol, tol / 1000);
    cudaFree(dt);
    cudaFree(dacc);
    p.release();
}

/* p: slots, source rows, rows, width */
BT_OPTEST_RUNNER(run_gather) {
    gather_case((int)c->p[0], c->p[1], (int)c->p[2], (int)c->p[3]);
}

BT_OPTEST_RUNNER(run_loss_check) {
    for (int S : {1, 7, 300}) loss_check_case(S);
}

BT_OPTEST_RUNNER(run_class) {
    for (int k : {2, 3, 10, 33, 1000})
        for (int rows : {1, 31, 500}) class_case(1 + (int)irand(5), rows, k, c->tol);
}

BT_OPTEST_RUNNER(run_counts) {
    for (int k : {2, 3, 10, 33, 1000})
        for (int rows : {1, 31, 500}) counts_case(1 + (int)irand(5), rows, k);
}

BT_OPTEST_RUNNER(run_reg) {
    for (int rows : {1, 257, 3000}) reg_case(1 + (int)irand(5), rows, c->tol);
}

static const bt_op_case cases[] = {
    {"gather: 1 slot, 1 row of 1", run_gather, {1, 1, 1, 1}, 0},
    {"gather: 5 slots, 128 of 1000 rows, width 64", run_gather, {5, 1000, 128, 64}, 0},
    {"gather: 3 slots, 33 of 50 rows, width 784", run_gather, {3, 50, 33, 784}, 0},
    {"gather: 64 slots, 32 of 1797 rows, width 1", run_gather, {64, 1797, 32, 1}, 0},
    {"divergence check: 1, 7, 300 slots", run_loss_check, {0}, 0},
    {"class metrics: 2 .. 1000 classes x 1 .. 500 rows, 1 .. 5 slots", run_class, {0}, 1e-6},
    {"class counts: 2 .. 1000 classes x 1 .. 500 rows, 1 .. 5 slots", run_counts, {0}, 0},
    {"regression metrics: 1 .. 3000 rows, 1 .. 5 slots", run_reg, {0}, 1e-9},
};
BT_OPTEST_SUITE(nn_train, cases);
