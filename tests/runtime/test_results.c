/* results.h5 round trip and crash safety: random results (every parameter kind, a string column,
 * a name with '.', a sweep text past HDF5's 64 KiB compact-attribute limit, a binary model) are
 * written, read back and compared field by field; failing writes leave the old file intact. */
#define _POSIX_C_SOURCE 200809L
#include "runtime/store/results.h"
#include "tests/bt_test.h"
#include "tests/fsize_limit.h"

#include <dirent.h>
#include <hdf5.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng_state;
static uint64_t rnd(void) {
    /* splitmix64: enough for test data, and reproducible from the printed seed */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static int64_t rnd_int(int64_t lo, int64_t hi) {
    return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}
static double rnd_double(void) {
    switch (rnd() % 8) {
    case 0:
        return NAN;
    case 1:
        return -0.0;
    case 2: { /* any finite bit pattern */
        uint64_t b;
        double d;
        do {
            b = rnd();
            memcpy(&d, &b, sizeof d);
        } while (!isfinite(d));
        return d;
    }
    default:
        return (double)(rnd() >> 11) / 9007199254740992.0 * 10.0 - 2.0;
    }
}
static char *rnd_string(size_t max_len) {
    static const char *alphabet = "abcXYZ019 ,.\"'_-\xc3\xa9"; /* includes é as two bytes */
    size_t n = (size_t)rnd_int(0, (int64_t)max_len);
    char *s = malloc(n + 1);
    size_t k = strlen(alphabet);
    for (size_t i = 0; i < n; i++) s[i] = alphabet[rnd() % k];
    s[n] = '\0';
    /* never end inside the two-byte é */
    if (n > 0 && (unsigned char)s[n - 1] == 0xc3) s[n - 1] = 'e';
    return s;
}
static char *dupstr(const char *s) {
    char *d = malloc(strlen(s) + 1);
    strcpy(d, s);
    return d;
}

static const struct {
    const char *name;
    bt_value_kind kind;
} param_cols[] = {
    {"eta", BT_VALUE_FLOAT},      {"max_depth", BT_VALUE_INT}, {"optimizer.lr", BT_VALUE_FLOAT},
    {"booster", BT_VALUE_STRING}, {"use_gpu", BT_VALUE_BOOL},  {"tree.method", BT_VALUE_STRING},
};
enum { N_PARAM_COLS = sizeof param_cols / sizeof param_cols[0] };

static void make_random(bt_results *r, int64_t n_trials) {
    memset(r, 0, sizeof *r);
    r->batchtune_version = dupstr("0.1.0");
    r->created = dupstr("2026-11-23T15:00:00Z");
    /* 100 KB: past the 64 KiB limit of a compact attribute */
    size_t sweep_len = 100000;
    r->sweep_text = malloc(sweep_len + 1);
    for (size_t i = 0; i < sweep_len; i++)
        r->sweep_text[i] = (char)(i % 61 == 60 ? '\n' : 'a' + (int)(rnd() % 26));
    r->sweep_text[sweep_len] = '\0';
    r->sweep_sha256 = dupstr("3b1f0c7d2e9a4f5b6c8d7e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d");
    r->sweep_path = dupstr("sweeps/caf\xc3\xa9 sweep.json");
    r->seed = rnd();
    r->host = dupstr("node-7");
    r->command_line = dupstr("batchtune sweeps/x.json --out 'a b.h5'");
    r->metric_name = dupstr("val.mse");
    r->maximize = (int)(rnd() % 2);
    r->scheduler = dupstr("asha");
    r->model_type = dupstr("gbdt");
    r->n_params = N_PARAM_COLS;
    r->params = calloc(N_PARAM_COLS, sizeof *r->params);
    for (int j = 0; j < N_PARAM_COLS; j++) {
        r->params[j].name = dupstr(param_cols[j].name);
        r->params[j].kind = param_cols[j].kind;
    }
    r->n_trials = n_trials;
    r->trials = calloc((size_t)(n_trials > 0 ? n_trials : 1), sizeof *r->trials);
    static const char *devices[] = {"cpu", "cuda:0", "cuda:12", "abcdefghijklmno"};
    for (int64_t t = 0; t < n_trials; t++) {
        bt_trial_row *tr = &r->trials[t];
        tr->trial_id = t * 3 + rnd_int(0, 2);
        tr->status = (bt_trial_status)rnd_int(0, 4);
        tr->metric = rnd_double();
        tr->best_metric = rnd_double();
        tr->resource = rnd_int(-5, INT64_C(1) << 40);
        tr->bracket = (int32_t)rnd_int(-1, 6);
        tr->rung = (int32_t)rnd_int(-3, 1000000);
        strcpy(tr->device, devices[rnd() % 4]);
        tr->seconds = rnd_double();
        tr->params = calloc(N_PARAM_COLS, sizeof *tr->params);
        for (int j = 0; j < N_PARAM_COLS; j++) {
            switch (param_cols[j].kind) {
            case BT_VALUE_FLOAT:
                tr->params[j] = bt_value_float(rnd_double());
                break;
            case BT_VALUE_INT:
                tr->params[j] = bt_value_int((int64_t)rnd());
                break;
            case BT_VALUE_BOOL:
                tr->params[j] = bt_value_bool((int)(rnd() % 2));
                break;
            default:
                tr->params[j] = bt_value_string(rnd_string(j == 3 ? 40 : 3));
                break;
            }
        }
    }
    r->n_metric_names = 3;
    r->metric_names = calloc(3, sizeof *r->metric_names);
    r->metric_names[0] = dupstr("val.mse");
    r->metric_names[1] = dupstr("train.mse");
    r->metric_names[2] = dupstr("never-used-metric"); /* must survive without history rows */
    r->n_history = n_trials * 4;
    r->cap_history = r->n_history;
    r->history = calloc((size_t)(r->n_history > 0 ? r->n_history : 1), sizeof *r->history);
    for (int64_t h = 0; h < r->n_history; h++) {
        r->history[h].trial_id = rnd_int(0, 1000);
        r->history[h].resource = rnd_int(1, 1000);
        r->history[h].metric = (int32_t)rnd_int(0, 1);
        r->history[h].value = rnd_double();
        r->history[h].time = rnd_double();
    }
    r->n_rungs = n_trials / 2;
    r->rungs = calloc((size_t)(r->n_rungs > 0 ? r->n_rungs : 1), sizeof *r->rungs);
    for (int64_t k = 0; k < r->n_rungs; k++) {
        r->rungs[k].bracket = (int32_t)rnd_int(0, 5);
        r->rungs[k].rung = (int32_t)rnd_int(0, 5);
        r->rungs[k].trial = rnd_int(0, 1000);
        r->rungs[k].resource = rnd_int(1, 81);
        r->rungs[k].metric = rnd_double();
        r->rungs[k].promoted = (int)(rnd() % 2);
    }
    r->best_trial = n_trials > 0 ? r->trials[rnd() % (uint64_t)n_trials].trial_id : -1;
    if (n_trials > 0) {
        r->best_model_len = 1000;
        r->best_model = malloc(r->best_model_len);
        for (size_t i = 0; i < r->best_model_len; i++) r->best_model[i] = (char)(rnd() & 0xff);
        r->best_model[5] = '\0'; /* binary-safe */
        r->best_model_format = dupstr("xgboost-json");
    }
    /* provenance (one left out at random: absent, read back as "") and a /system table */
    char **prov[] = {&r->git_commit, &r->train_sha256,   &r->valid_sha256,
                     &r->note,       &r->tags,           &r->cpu_model,
                     &r->gpu_names,  &r->driver_version, &r->cuda_version};
    size_t skip = rnd() % 10;
    for (size_t i = 0; i < sizeof prov / sizeof prov[0]; i++)
        *prov[i] = i == skip ? NULL : rnd_string(30);
    r->git_dirty = r->git_commit && *r->git_commit ? (int)(rnd() % 2) : 0;
    static const char *sys_cols[] = {"time", "cpu_percent", "rss_bytes", "gpu3_util"};
    r->n_system_cols = 4;
    r->system_cols = calloc(4, sizeof *r->system_cols);
    for (int c = 0; c < 4; c++) r->system_cols[c] = dupstr(sys_cols[c]);
    r->n_system = n_trials;
    r->system = calloc((size_t)(n_trials > 0 ? n_trials : 1) * 4, sizeof *r->system);
    for (int64_t i = 0; i < 4 * n_trials; i++) r->system[i] = rnd_double();
}

static int same_double(double a, double b) {
    return memcmp(&a, &b, sizeof a) == 0;
}
#define CHECK_SAME_DOUBLE(a, b) CHECK_MSG(same_double((a), (b)), "%.17g vs %.17g", (a), (b))

static void compare(const bt_results *a, const bt_results *b) {
    CHECK_STR(a->batchtune_version, b->batchtune_version);
    CHECK_STR(a->created, b->created);
    CHECK(strcmp(a->sweep_text, b->sweep_text) == 0);
    CHECK_STR(a->sweep_sha256, b->sweep_sha256);
    CHECK_STR(a->sweep_path, b->sweep_path);
    CHECK(a->seed == b->seed);
    CHECK_STR(a->host, b->host);
    CHECK_STR(a->command_line, b->command_line);
    CHECK_STR(a->metric_name, b->metric_name);
    CHECK_EQ_INT(a->maximize, b->maximize);
    CHECK_STR(a->scheduler, b->scheduler);
    CHECK_STR(a->model_type, b->model_type);
    CHECK_EQ_INT(a->n_params, b->n_params);
    for (int j = 0; j < a->n_params && j < b->n_params; j++) {
        CHECK_STR(a->params[j].name, b->params[j].name);
        CHECK_EQ_INT(a->params[j].kind, b->params[j].kind);
    }
    CHECK_EQ_INT(a->n_trials, b->n_trials);
    for (int64_t t = 0; t < a->n_trials && t < b->n_trials && a->n_params == b->n_params; t++) {
        const bt_trial_row *x = &a->trials[t], *y = &b->trials[t];
        CHECK_EQ_INT(x->trial_id, y->trial_id);
        CHECK_EQ_INT(x->status, y->status);
        CHECK_SAME_DOUBLE(x->metric, y->metric);
        CHECK_SAME_DOUBLE(x->best_metric, y->best_metric);
        CHECK_EQ_INT(x->resource, y->resource);
        CHECK_EQ_INT(x->bracket, y->bracket);
        CHECK_EQ_INT(x->rung, y->rung);
        CHECK_STR(x->device, y->device);
        CHECK_SAME_DOUBLE(x->seconds, y->seconds);
        for (int j = 0; j < a->n_params; j++) {
            bt_value u = x->params[j], v = y->params[j];
            CHECK_EQ_INT(u.kind, v.kind);
            if (u.kind == BT_VALUE_STRING && v.kind == BT_VALUE_STRING)
                CHECK_STR(u.s, v.s);
            else if (u.kind == BT_VALUE_FLOAT)
                CHECK_SAME_DOUBLE(u.f, v.f);
            else
                CHECK_EQ_INT(u.i, v.i);
        }
    }
    CHECK_EQ_INT(a->n_metric_names, b->n_metric_names);
    for (int i = 0; i < a->n_metric_names && i < b->n_metric_names; i++)
        CHECK_STR(a->metric_names[i], b->metric_names[i]);
    CHECK_EQ_INT(a->n_history, b->n_history);
    for (int64_t h = 0; h < a->n_history && h < b->n_history; h++) {
        CHECK_EQ_INT(a->history[h].trial_id, b->history[h].trial_id);
        CHECK_EQ_INT(a->history[h].resource, b->history[h].resource);
        CHECK_EQ_INT(a->history[h].metric, b->history[h].metric);
        CHECK_SAME_DOUBLE(a->history[h].value, b->history[h].value);
        CHECK_SAME_DOUBLE(a->history[h].time, b->history[h].time);
    }
    CHECK_EQ_INT(a->n_rungs, b->n_rungs);
    for (int64_t k = 0; k < a->n_rungs && k < b->n_rungs; k++) {
        CHECK_EQ_INT(a->rungs[k].bracket, b->rungs[k].bracket);
        CHECK_EQ_INT(a->rungs[k].rung, b->rungs[k].rung);
        CHECK_EQ_INT(a->rungs[k].trial, b->rungs[k].trial);
        CHECK_EQ_INT(a->rungs[k].resource, b->rungs[k].resource);
        CHECK_SAME_DOUBLE(a->rungs[k].metric, b->rungs[k].metric);
        CHECK_EQ_INT(a->rungs[k].promoted, b->rungs[k].promoted);
    }
    CHECK_EQ_INT(a->best_trial, b->best_trial);
    CHECK_EQ_INT(a->best_model_len, b->best_model_len);
    CHECK((a->best_model == NULL) == (b->best_model == NULL));
    if (a->best_model && b->best_model && a->best_model_len == b->best_model_len)
        CHECK(memcmp(a->best_model, b->best_model, a->best_model_len) == 0);
    if (a->best_model_format && b->best_model_format)
        CHECK_STR(a->best_model_format, b->best_model_format);
    const char *pa[] = {a->git_commit, a->train_sha256, a->valid_sha256,   a->note,        a->tags,
                        a->cpu_model,  a->gpu_names,    a->driver_version, a->cuda_version};
    const char *pb[] = {b->git_commit, b->train_sha256, b->valid_sha256,   b->note,        b->tags,
                        b->cpu_model,  b->gpu_names,    b->driver_version, b->cuda_version};
    for (size_t i = 0; i < sizeof pa / sizeof pa[0]; i++)
        CHECK_STR(pa[i] ? pa[i] : "", pb[i] ? pb[i] : "");
    CHECK_EQ_INT(a->git_dirty, b->git_dirty);
    CHECK_EQ_INT(a->n_system, b->n_system);
    if (a->n_system > 0 && a->n_system == b->n_system) {
        CHECK_EQ_INT(a->n_system_cols, b->n_system_cols);
        for (int c = 0; c < a->n_system_cols && c < b->n_system_cols; c++)
            CHECK_STR(a->system_cols[c], b->system_cols[c]);
        for (int64_t i = 0; i < a->n_system * a->n_system_cols; i++)
            CHECK_SAME_DOUBLE(a->system[i], b->system[i]);
    }
}

static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    *n = fread(buf, 1, (size_t)len, f);
    fclose(f);
    return buf;
}

/* Counts names in dir that contain ".tmp." (leftover temporary files). */
static int count_tmp(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, ".tmp.")) n++;
    closedir(d);
    return n;
}

static void test_round_trip(const char *dir, int64_t n_trials) {
    char path[1024];
    snprintf(path, sizeof path, "%s/results_rt_%lld.h5", dir, (long long)n_trials);
    bt_results a, b;
    make_random(&a, n_trials);
    CHECK_OK(bt_results_write(&a, path));
    CHECK_OK(bt_results_read(path, &b));
    compare(&a, &b);
    /* writing what was read gives the same content again (overwrite in place) */
    CHECK_OK(bt_results_write(&b, path));
    bt_results c;
    CHECK_OK(bt_results_read(path, &c));
    compare(&a, &c);
    bt_results_free(&a);
    bt_results_free(&b);
    bt_results_free(&c);
    CHECK_EQ_INT(b.n_trials, 0); /* free resets */
    CHECK_EQ_INT(b.best_trial, -1);
    unlink(path);
}

static void test_empty(const char *dir) {
    char path[1024];
    snprintf(path, sizeof path, "%s/results_empty.h5", dir);
    bt_results a, b;
    memset(&a, 0, sizeof a);
    a.best_trial = -1;
    CHECK_OK(bt_results_write(&a, path));
    CHECK_OK(bt_results_read(path, &b));
    CHECK_EQ_INT(b.n_trials, 0);
    CHECK_EQ_INT(b.n_params, 0);
    CHECK_EQ_INT(b.n_history, 0);
    CHECK_EQ_INT(b.n_rungs, 0);
    CHECK_EQ_INT(b.best_trial, -1);
    CHECK(b.best_model == NULL);
    CHECK_STR(b.sweep_text, "");
    CHECK(strlen(b.created) == 20); /* filled in when missing: 2026-11-23T15:00:00Z */
    bt_results_free(&b);
    /* parameters but no trials: the columns still exist */
    make_random(&a, 0);
    CHECK_OK(bt_results_write(&a, path));
    CHECK_OK(bt_results_read(path, &b));
    compare(&a, &b);
    bt_results_free(&a);
    bt_results_free(&b);
    unlink(path);
}

static void test_crash_safety(const char *dir) {
    char path[1024], tmp[1200], blocker[1024];
    snprintf(path, sizeof path, "%s/results_safe.h5", dir);
    bt_results a, other;
    make_random(&a, 10);
    make_random(&other, 20);
    CHECK_OK(bt_results_write(&a, path));
    size_t n0 = 0, n1 = 0;
    char *before = slurp(path, &n0);
    CHECK(before != NULL && n0 > 0);

    /* 1. the temporary name is taken by a folder: creating the file fails */
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    CHECK(mkdir(tmp, 0755) == 0);
    bt_status s = bt_results_write(&other, path);
    CHECK_EQ_INT(s, BT_STATUS_IO);
    CHECK(strstr(bt_status_message(), "cannot create") != NULL);
    char *after = slurp(path, &n1);
    CHECK(after && n1 == n0 && memcmp(before, after, n0) == 0);
    free(after);
    rmdir(tmp);

    /* 2. the folder does not exist */
    char missing[1100];
    snprintf(missing, sizeof missing, "%s/no-such-folder/r.h5", dir);
    s = bt_results_write(&other, missing);
    CHECK_EQ_INT(s, BT_STATUS_IO);
    CHECK_MSG(strstr(bt_status_message(), "No such file") != NULL, "message: %s",
              bt_status_message());

    /* 3. the rename fails after a complete temporary file was written: it must be removed */
    snprintf(blocker, sizeof blocker, "%s/results_blocker.h5", dir);
    char inner[1100];
    snprintf(inner, sizeof inner, "%s/keep", blocker);
    CHECK(mkdir(blocker, 0755) == 0);
    CHECK(mkdir(inner, 0755) == 0);
    s = bt_results_write(&other, blocker);
    CHECK_EQ_INT(s, BT_STATUS_IO);
    CHECK(strstr(bt_status_message(), "rename") != NULL);
    rmdir(inner);
    rmdir(blocker);

    /* 4. an unwritable folder (only meaningful when not root: root writes anyway) */
    if (geteuid() != 0) {
        char ro[1024], ro_path[1100];
        snprintf(ro, sizeof ro, "%s/results_ro", dir);
        mkdir(ro, 0755);
        snprintf(ro_path, sizeof ro_path, "%s/r.h5", ro);
        CHECK_OK(bt_results_write(&a, ro_path));
        char *ro_before = slurp(ro_path, &n0);
        chmod(ro, 0555);
        CHECK_EQ_INT(bt_results_write(&other, ro_path), BT_STATUS_IO);
        chmod(ro, 0755);
        char *ro_after = slurp(ro_path, &n1);
        CHECK(ro_before && ro_after && n0 == n1 && memcmp(ro_before, ro_after, n0) == 0);
        CHECK_EQ_INT(count_tmp(ro), 0);
        free(ro_before);
        free(ro_after);
        unlink(ro_path);
        rmdir(ro);
    }

    /* 5. the disk fills up half-way (EFBIG past a file-size limit, as ENOSPC would): 74 with a
     * message, the old file intact, the temporary removed, and HDF5 left in a state its exit
     * handler is happy with (this process exits normally below) */
    CHECK(bt_test_fsize_limit(n0 / 2) == 0);
    s = bt_results_write(&other, path);
    CHECK(bt_test_fsize_limit(0) == 0);
    CHECK_EQ_INT(s, BT_STATUS_IO);
    CHECK_MSG(strstr(bt_status_message(), "File too large") != NULL, "%s", bt_status_message());
    after = slurp(path, &n1);
    CHECK(after && n1 == n0 && memcmp(before, after, n0) == 0);
    free(after);
    CHECK_EQ_INT(count_tmp(dir), 0);
    CHECK_OK(bt_results_write(&other, path)); /* and with room again, it writes */
    CHECK_OK(bt_results_write(&a, path));
    free(before);
    before = slurp(path, &n0);

    /* 6. a parameter named like a fixed column (a W&B sweep of `device`) gets the column
     * "param:NAME" and reads back under its own name; a name that already looks so round-trips */
    static const char *const odd[][2] = {{"status", "param:status"},
                                         {"error", "param:error"},
                                         {"param:device", "param:param:device"},
                                         {"param:eta", "param:eta"}};
    for (int i = 0; i < 4; i++) {
        char col[64];
        CHECK_STR(bt_results_param_column(odd[i][0], col, sizeof col), odd[i][1]);
        CHECK_STR(bt_results_column_param(odd[i][1]), odd[i][0]);
        free(other.params[2].name);
        other.params[2].name = dupstr(odd[i][0]);
        CHECK_OK(bt_results_write(&other, path));
        bt_results odd_back;
        CHECK_OK(bt_results_read(path, &odd_back));
        if (odd_back.n_params > 2) CHECK_STR(odd_back.params[2].name, odd[i][0]);
        bt_results_free(&odd_back);
    }
    CHECK_OK(bt_results_write(&a, path));
    free(before);
    before = slurp(path, &n0);

    /* bad input is refused before any file is made */
    free(other.params[2].name);
    other.params[2].name = dupstr("eta");
    CHECK_EQ_INT(bt_results_write(&other, path), BT_STATUS_BAD_INPUT);

    /* the old file is still intact and readable, and no temporary file is left anywhere */
    after = slurp(path, &n1);
    CHECK(after && n1 == n0 && memcmp(before, after, n0) == 0);
    free(after);
    bt_results back;
    CHECK_OK(bt_results_read(path, &back));
    compare(&a, &back);
    bt_results_free(&back);
    CHECK_EQ_INT(count_tmp(dir), 0);
    free(before);
    bt_results_free(&a);
    bt_results_free(&other);
    unlink(path);
}

static void test_read_errors(const char *dir) {
    char path[1024];
    bt_results r;
    snprintf(path, sizeof path, "%s/results_missing.h5", dir);
    unlink(path);
    CHECK_EQ_INT(bt_results_read(path, &r), BT_STATUS_NO_INPUT);
    CHECK_EQ_INT(r.n_trials, 0);

    snprintf(path, sizeof path, "%s/results_text.h5", dir);
    FILE *f = fopen(path, "w");
    fputs("not hdf5\n", f);
    fclose(f);
    CHECK_EQ_INT(bt_results_read(path, &r), BT_STATUS_BAD_INPUT);

    /* an HDF5 file that is not ours */
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(file >= 0);
    H5Fclose(file);
    CHECK_EQ_INT(bt_results_read(path, &r), BT_STATUS_BAD_INPUT);
    CHECK(strstr(bt_status_message(), "not a batchtune results file") != NULL);
    unlink(path);
}

static void test_status_names(void) {
    for (int s = BT_TRIAL_PENDING; s <= BT_TRIAL_FAILED; s++) {
        bt_trial_status back;
        const char *name = bt_trial_status_name((bt_trial_status)s);
        CHECK(strlen(name) <= 10); /* fits the /trials status field */
        CHECK_OK(bt_trial_status_parse(name, &back));
        CHECK_EQ_INT(back, s);
    }
    bt_trial_status x;
    CHECK_EQ_INT(bt_trial_status_parse("done", &x), BT_STATUS_BAD_INPUT);
    bt_results_free(NULL);
}

int main(void) {
    const char *env = getenv("BT_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) ^ (uint64_t)getpid();
    printf("test_results: seed %llu (BT_TEST_SEED to repeat)\n", (unsigned long long)seed);
    rng_state = seed;
    const char *dir = bt_test_tmpdir();
    test_status_names();
    test_round_trip(dir, 1);
    test_round_trip(dir, 37);
    test_round_trip(dir, 5000); /* several chunks */
    test_empty(dir);
    test_crash_safety(dir);
    test_read_errors(dir);
    return bt_test_finish("test_results");
}
