/* Op table suite nn_optim (kernels/optest.h): bt_nn_optim_step_cuda against
 * bt_nn_optim_step_ref over 25 successive steps on fresh random parameters and gradients: every
 * slot of one launch has its own optimizer (sgd with and without momentum / Nesterov, adam,
 * adamw, rmsprop with and without momentum), learning rate, weight decay, betas, alpha, eps and
 * step count; some slots inactive (must stay untouched, and their step counts do not advance), n
 * from 1 to 100003. SGD and RMSprop must be bit-identical (the same float operations, unfused);
 * Adam and AdamW within tol (1e-6) relative of the update size (their bias corrections come from
 * the device's double pow). */
#include "kernels/cuda/optest/nn_optest.cuh"

extern "C" {
#include "kernels/nn_optim.h"
}

static bt_nn_optim_hp random_hp(int s) {
    bt_nn_optim_hp h;
    memset(&h, 0, sizeof h);
    h.kind = (bt_nn_opt)(s % 4);
    h.lr = (float)exp(log(1e-4) + urand() * (log(0.3) - log(1e-4)));
    h.momentum = urand() < 0.3 ? 0.0f : frand(0.5f, 0.99f);
    h.nesterov = h.kind == BT_NN_OPT_SGD && urand() < 0.5;
    h.beta1 = frand(0.8f, 0.95f);
    h.beta2 = frand(0.9f, 0.9999f);
    h.alpha = frand(0.9f, 0.999f);
    h.eps = urand() < 0.5 ? 1e-8f : frand(1e-6f, 1e-3f);
    h.weight_decay = urand() < 0.3 ? 0.0f : frand(0.0f, 0.05f);
    return h;
}

/* tol: Adam's and AdamW's bound, relative to the update size */
static void optim_case(int S, int64_t n, int steps, double tol) {
    slot_buf<float> w, g, m, v;
    w.init(S, (size_t)n);
    g.init(S, (size_t)n);
    m.init(S, (size_t)n);
    v.init(S, (size_t)n);
    w.fill([] { return frand(-1, 1); });
    m.fill([] { return 0.0f; });
    v.fill([] { return 0.0f; });
    w.upload();
    m.upload();
    v.upload();
    std::vector<bt_nn_optim_hp> hp((size_t)S);
    std::vector<int64_t> t((size_t)S, 0);
    std::vector<int32_t> active((size_t)S);
    for (int s = 0; s < S; s++) hp[s] = random_hp(s);
    bt_nn_optim_hp *dhp = dev_from(hp);
    int64_t *dt = dev_zero<int64_t>((size_t)S);
    int32_t *dact = dev_zero<int32_t>((size_t)S);
    for (int k = 0; k < steps; k++) {
        g.fill([] { return urand() < 0.1 ? 0.0f : frand(-2, 2); });
        g.upload();
        /* the reference runs the active slots only, as a pack leaves failed slots out */
        const bool masked = k % 2 == 1; /* every other step passes NULL: every slot steps */
        std::vector<int> idx;
        for (int s = 0; s < S; s++) {
            active[s] = !masked || S == 1 || urand() < 0.8;
            if (active[s]) {
                t[s]++;
                idx.push_back(s);
            }
        }
        CUDA_OK(cudaMemcpy(dt, t.data(), (size_t)S * sizeof(int64_t), cudaMemcpyHostToDevice));
        CUDA_OK(
            cudaMemcpy(dact, active.data(), (size_t)S * sizeof(int32_t), cudaMemcpyHostToDevice));
        CHECK_OK(bt_nn_optim_step_cuda(S, n, dhp, dt, w.dev(), g.cdev(), m.dev(), v.dev(),
                                       masked ? dact : NULL, NULL));
        std::vector<bt_nn_optim_hp> h2;
        std::vector<int64_t> t2;
        std::vector<float *> pw, pm, pv;
        std::vector<const float *> pg;
        for (int s : idx) {
            h2.push_back(hp[s]);
            t2.push_back(t[s]);
            pw.push_back(w.hp[s]);
            pg.push_back(g.hp[s]);
            pm.push_back(m.hp[s]);
            pv.push_back(v.hp[s]);
        }
        bt_nn_optim_step_ref((int)idx.size(), n, h2.data(), t2.data(), pw.data(), pg.data(),
                             pm.data(), pv.data());
    }
    for (int s = 0; s < S; s++) {
        char what[96];
        snprintf(what, sizeof what, "optim %d n %lld slot %d", (int)hp[s].kind, (long long)n, s);
        std::vector<float> gw = w.download(s), gm = m.download(s), gv = v.download(s);
        if (hp[s].kind == BT_NN_OPT_SGD || hp[s].kind == BT_NN_OPT_RMSPROP) {
            nn_exact((std::string(what) + " w").c_str(), gw.data(), w.h[s].data(),
                     (size_t)n * sizeof(float));
            nn_exact((std::string(what) + " m").c_str(), gm.data(), m.h[s].data(),
                     (size_t)n * sizeof(float));
            nn_exact((std::string(what) + " v").c_str(), gv.data(), v.h[s].data(),
                     (size_t)n * sizeof(float));
        } else {
            nn_close((std::string(what) + " w").c_str(), gw.data(), w.h[s].data(), (size_t)n, tol,
                     tol);
            nn_close((std::string(what) + " m").c_str(), gm.data(), m.h[s].data(), (size_t)n, tol,
                     tol);
            nn_close((std::string(what) + " v").c_str(), gv.data(), v.h[s].data(), (size_t)n, tol,
                     tol);
        }
    }
    cudaFree(dhp);
    cudaFree(dt);
    cudaFree(dact);
    w.release();
    g.release();
    m.release();
    v.release();
}

/* p: slots (slot s runs optimizer s % 4), steps, elements (-1: each of 1, 255, 4097, 100003) */
BT_OPTEST_RUNNER(run) {
    const int64_t ns[] = {1, 255, 4097, 100003};
    for (int64_t n : ns) {
        if (c->p[2] >= 0 && n != ns[0]) break;
        optim_case((int)c->p[0], c->p[2] >= 0 ? c->p[2] : n, (int)c->p[1], c->tol);
    }
}

/* bad arguments are refused, not launched */
BT_OPTEST_RUNNER(run_args) {
    CHECK(bt_nn_optim_step_cuda(1, -1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL) ==
          BT_STATUS_BAD_INPUT);
    bt_status_clear();
}

static const bt_op_case cases[] = {
    {"sgd, adam, adamw, rmsprop: 8 slots, 25 steps, n 1 .. 100003", run, {8, 25, -1}, 1e-6},
    {"sgd: 1 slot, 10 steps, n 1000", run, {1, 10, 1000}, 0},
    {"sgd, adam, adamw, rmsprop: 100 slots, 5 steps, n 777", run, {100, 5, 777}, 1e-6},
    {"bad arguments are refused", run_args, {0}, 0},
};
BT_OPTEST_SUITE(nn_optim, cases);
