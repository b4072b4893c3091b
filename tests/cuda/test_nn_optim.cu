/* bt_nn_optim_step_cuda against bt_nn_optim_step_ref over 25 successive steps on fresh random
 * parameters and gradients: every slot of one launch has its own optimizer (sgd with and
 * without momentum / Nesterov, adam, adamw, rmsprop with and without momentum), learning rate,
 * weight decay, betas, alpha, eps and step count; some slots inactive (must stay untouched, and
 * their step counts do not advance), n from 1 to 100003. SGD and RMSprop must be bit-identical
 * (the same float operations, unfused); Adam and AdamW within 1e-6 relative of the update size
 * (their bias corrections come from the device's double pow). */
#include "tests/cuda/gpu_test.h"
#include "tests/cuda/nn_test.h"

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

static void optim_case(int S, int64_t n, int steps) {
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
            nn_close((std::string(what) + " w").c_str(), gw.data(), w.h[s].data(), (size_t)n, 1e-6,
                     1e-6);
            nn_close((std::string(what) + " m").c_str(), gm.data(), m.h[s].data(), (size_t)n, 1e-6,
                     1e-6);
            nn_close((std::string(what) + " v").c_str(), gv.data(), v.h[s].data(), (size_t)n, 1e-6,
                     1e-6);
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

int main(void) {
    BT_GPU_TEST_REQUIRE_GPU();
    bt_gpu_test_seed("test_nn_optim");
    const int64_t ns[] = {1, 255, 4097, 100003};
    for (int64_t n : ns) optim_case(8, n, 25);
    optim_case(1, 1000, 10);
    optim_case(100, 777, 5);
    CHECK(bt_nn_optim_step_cuda(1, -1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL) ==
          BT_STATUS_BAD_INPUT);
    return bt_test_finish("test_nn_optim");
}
