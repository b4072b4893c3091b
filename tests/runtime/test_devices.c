/* bt_device_choose: which devices `--device auto|cpu|cuda|cuda:all|cuda:N[,M...]` train on, for
 * every situation a machine can be in (no CUDA build, a family without a CUDA pack, no GPU, several
 * GPUs), with made-up GPU lists -- no GPU needed. */
#include <time.h>

#include "runtime/devices/devices.h"
#include "runtime/devices/resolve.h"
#include "tests/bt_test.h"

static bt_gpu_info gpu(int index, const char *name, double total_gib, double free_gib) {
    bt_gpu_info g;
    memset(&g, 0, sizeof g);
    g.index = index;
    snprintf(g.name, sizeof g.name, "%s", name);
    g.total_mem = (size_t)(total_gib * 1073741824.0);
    g.free_mem = (size_t)(free_gib * 1073741824.0);
    g.cc_major = 9;
    return g;
}

static bt_device_env env_of(int build, int family, const bt_gpu_info *g, int n) {
    bt_device_env e = {build, "gbdt", family, g, n, NULL, NULL};
    return e;
}

static void expect_fail(const char *req, const bt_device_env *env, const char *needle) {
    bt_device_choice c;
    bt_status st = bt_device_choose(req, env, BT_STATUS_USAGE, "--device", &c);
    CHECK_MSG(st == BT_STATUS_USAGE, "%s: status %d", req, (int)st);
    CHECK_MSG(strstr(bt_status_message(), needle) != NULL, "%s: message '%s' lacks '%s'", req,
              bt_status_message(), needle);
    CHECK_MSG(strstr(bt_status_message(), "--device") != NULL, "%s: no 'where' in '%s'", req,
              bt_status_message());
}

/* Which GPU packs a sweep is offered (execution.gpu_packs), and the reason the choice then gives.
 */
static void test_gpu_packs(void) {
    const bt_pack_ops stable = {.device = "cuda"},
                      experimental = {.device = "cuda", .experimental = 1};
    char why[160];
    CHECK(!bt_gpu_pack_offered("gbdt", NULL, "all", why, sizeof why));
    CHECK(strstr(why, "gbdt has no CUDA pack") != NULL);
    CHECK(bt_gpu_pack_offered("gbdt", &stable, NULL, why, sizeof why) && why[0] == '\0');
    CHECK(bt_gpu_pack_offered("gbdt", &stable, "stable", why, sizeof why));
    CHECK(!bt_gpu_pack_offered("mlp", &experimental, NULL, why, sizeof why));
    CHECK(strstr(why, "mlp's GPU pack is experimental") && strstr(why, "gpu_packs"));
    CHECK(!bt_gpu_pack_offered("mlp", &experimental, "stable", why, sizeof why));
    CHECK(bt_gpu_pack_offered("resnet", &experimental, "all", why, sizeof why));
    CHECK(bt_gpu_packs_valid(NULL) && bt_gpu_packs_valid("stable") && bt_gpu_packs_valid("all"));
    CHECK(!bt_gpu_packs_valid("yes") && !bt_gpu_packs_valid(""));
    /* the reason reaches the choice: auto stays on the cpu, cuda is refused with it */
    bt_gpu_info one = gpu(0, "NVIDIA H100 80GB HBM3", 79.1, 70.0);
    bt_device_env env = env_of(1, 0, &one, 1);
    bt_gpu_pack_offered("mlp", &experimental, NULL, why, sizeof why);
    env.family_cuda_why = why;
    bt_device_choice c;
    CHECK_OK(bt_device_choose("auto", &env, BT_STATUS_USAGE, "--device", &c));
    CHECK(!c.cuda && strstr(c.reason, "auto: model mlp's GPU pack is experimental"));
    expect_fail("cuda:0", &env, "experimental");
}

int main(void) {
    test_gpu_packs();
    bt_gpu_info two[2] = {gpu(0, "NVIDIA H100 80GB HBM3", 79.1, 10.0),
                          gpu(1, "NVIDIA H100 80GB HBM3", 79.1, 70.5)};
    bt_device_choice c;

    /* auto falls back to the CPU, saying why */
    bt_device_env none = env_of(0, 0, NULL, 0);
    CHECK_OK(bt_device_choose(NULL, &none, BT_STATUS_USAGE, "--device", &c));
    CHECK(!c.cuda);
    CHECK_EQ_INT(c.index, -1);
    CHECK_STR(c.label, "cpu");
    CHECK(strstr(c.reason, "no CUDA") != NULL);
    bt_device_env nofam = env_of(1, 0, two, 2);
    CHECK_OK(bt_device_choose("auto", &nofam, BT_STATUS_USAGE, "--device", &c));
    CHECK(!c.cuda && strstr(c.reason, "gbdt has no CUDA pack") != NULL);
    bt_device_env nogpu = env_of(1, 1, NULL, 0);
    CHECK_OK(bt_device_choose("auto", &nogpu, BT_STATUS_USAGE, "--device", &c));
    CHECK(!c.cuda && strstr(c.reason, "no GPU visible") != NULL);

    /* auto on a GPU box: every GPU, in index order, described */
    bt_device_env box = env_of(1, 1, two, 2);
    CHECK_OK(bt_device_choose("auto", &box, BT_STATUS_USAGE, "--device", &c));
    CHECK(c.cuda);
    CHECK_EQ_INT(c.index, 0);
    CHECK(c.n_gpus == 2 && c.gpus[0] == 0 && c.gpus[1] == 1);
    CHECK_STR(c.label, "cuda:0,1");
    CHECK(strstr(c.reason, "every GPU (2)") != NULL);
    char desc[320];
    bt_device_describe(&c, desc, sizeof desc);
    CHECK_MSG(strncmp(desc, "cuda:0,1 (2 GPUs; cuda:0: ", 26) == 0, "%s", desc);
    CHECK_OK(bt_device_choose("cuda:1", &box, BT_STATUS_USAGE, "--device", &c));
    CHECK_STR(c.label, "cuda:1");
    CHECK(c.n_gpus == 1 && c.gpus[0] == 1);
    CHECK_STR(c.name, "NVIDIA H100 80GB HBM3");
    CHECK(c.total_mem == two[1].total_mem && c.free_mem == two[1].free_mem);
    bt_device_describe(&c, desc, sizeof desc);
    CHECK_STR(desc, "cuda:1 (NVIDIA H100 80GB HBM3, 79.1 GiB, 70.5 GiB free)");
    bt_device_env one = env_of(1, 1, two, 1);
    CHECK_OK(bt_device_choose(NULL, &one, BT_STATUS_USAGE, "--device", &c));
    CHECK(c.cuda && c.index == 0 && c.n_gpus == 1 && strcmp(c.label, "cuda:0") == 0);

    /* cpu still works on a GPU box; cuda and cuda:N */
    CHECK_OK(bt_device_choose("cpu", &box, BT_STATUS_USAGE, "--device", &c));
    CHECK(!c.cuda && strcmp(c.label, "cpu") == 0);
    bt_device_describe(&c, desc, sizeof desc);
    CHECK_STR(desc, "cpu");
    CHECK_OK(bt_device_choose("cuda", &box, BT_STATUS_USAGE, "--device", &c));
    CHECK(c.cuda && c.n_gpus == 2 && strcmp(c.label, "cuda:0,1") == 0);
    CHECK_OK(bt_device_choose("cuda:all", &box, BT_STATUS_USAGE, "--device", &c));
    CHECK(c.cuda && c.n_gpus == 2 && strcmp(c.label, "cuda:0,1") == 0);
    CHECK_OK(bt_device_choose("cuda:1,0", &box, BT_STATUS_USAGE, "--device", &c));
    CHECK(c.n_gpus == 2 && c.gpus[0] == 1 && c.gpus[1] == 0 && c.index == 1);
    CHECK_STR(c.label, "cuda:1,0");
    CHECK_OK(bt_device_choose("cuda:0", &box, BT_STATUS_USAGE, "--device", &c));
    CHECK(c.cuda && c.index == 0 && strcmp(c.label, "cuda:0") == 0);
    CHECK_OK(bt_device_choose("cpu", &none, BT_STATUS_USAGE, "--device", &c));

    /* errors name the request and the reason, with the caller's status */
    expect_fail("cuda:2", &box, "2 GPUs visible");
    expect_fail("cuda:1", &one, "1 GPU visible");
    expect_fail("cuda:0,2", &box, "no GPU 2");
    expect_fail("cuda:0,1,0", &box, "GPU 0 listed twice");
    expect_fail("cuda:0,", &box, "expected cuda, cuda:all");
    expect_fail("cuda:", &box, "expected cuda, cuda:all");
    expect_fail("cuda:-1", &box, "expected cuda, cuda:all");
    expect_fail("cuda:1x", &box, "expected cuda, cuda:all");
    expect_fail("cuda:al", &box, "expected cuda, cuda:all");
    expect_fail("cudax", &box, "expected auto, cpu, cuda");
    expect_fail("gpu", &box, "expected auto, cpu, cuda");
    expect_fail("", &box, "expected auto, cpu, cuda");
    expect_fail("cuda", &none, "no CUDA backend");
    expect_fail("cuda:0", &nofam, "gbdt has no CUDA pack");
    expect_fail("cuda", &nogpu, "no GPU visible");
    bt_status st = bt_device_choose("gpu", &box, BT_STATUS_BAD_INPUT, "execution.device", &c);
    CHECK_EQ_INT(st, BT_STATUS_BAD_INPUT);
    CHECK(strstr(bt_status_message(), "execution.device gpu") != NULL);

    /* fresh random GPU lists (indices shuffled): auto takes every GPU in index order, a list
     * those asked for in its order */
    unsigned seed = (unsigned)time(NULL);
    printf("seed %u\n", seed);
    srand(seed);
    for (int rep = 0; rep < 200; rep++) {
        bt_gpu_info g[8];
        int n = 1 + rand() % 8;
        for (int i = 0; i < n; i++) g[i] = gpu(i, "GPU", 80, (double)(rand() % 4) * 10);
        for (int i = n - 1; i > 0; i--) {
            int j = rand() % (i + 1);
            bt_gpu_info t = g[i];
            g[i] = g[j];
            g[j] = t;
        }
        bt_device_env env = env_of(1, 1, g, n);
        CHECK_OK(bt_device_choose("auto", &env, BT_STATUS_USAGE, "--device", &c));
        CHECK_EQ_INT(c.n_gpus, n);
        for (int i = 0; i < c.n_gpus; i++) CHECK_EQ_INT(c.gpus[i], i);
        int k = rand() % n, k2 = (k + 1) % n;
        char req[32];
        snprintf(req, sizeof req, "cuda:%d", k);
        CHECK_OK(bt_device_choose(req, &env, BT_STATUS_USAGE, "--device", &c));
        CHECK(c.index == k && c.n_gpus == 1);
        if (n > 1) {
            snprintf(req, sizeof req, "cuda:%d,%d", k, k2);
            CHECK_OK(bt_device_choose(req, &env, BT_STATUS_USAGE, "--device", &c));
            CHECK(c.n_gpus == 2 && c.gpus[0] == k && c.gpus[1] == k2);
        }
    }
    return bt_test_finish("test_devices");
}
