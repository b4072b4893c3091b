/* A program trial's surroundings (prog_internal.h): the GPUs its slots share out through
 * CUDA_VISIBLE_DEVICES, an NVIDIA MPS daemon for the sweep, OUT.logs with the wandb compatibility
 * package (embedded in the library from runtime/program/python/wandb/__init__.py), and the
 * environment: BATCHTUNE_* and the W&B variables scripts read. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/devices/devices.h"
#include "runtime/mpi/comm.h"
#include "runtime/program/prog_internal.h"
#include "runtime/store/wopen.h"

extern char **environ;

static const unsigned char shim_py[] = {
#include "runtime/program/wandb_shim.inc"
};

void bt_prun_interpreter(char *buf, size_t n) {
    char path[1024];
    snprintf(buf, n, "%s", bt_proc_which("python", NULL, path, sizeof path) ? "python" : "python3");
}

void bt_prun_kill_leftovers(const bt_prun *r) {
    DIR *d = opendir("/proc");
    if (!d) return;
    char want[4200];
    int wn = snprintf(want, sizeof want, "BATCHTUNE_OUT_DIR=%s/trial-", r->logs_dir);
    struct dirent *de;
    static char env[1 << 16];
    while ((de = readdir(d))) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 1 || pid == (long)getpid()) continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/%ld/environ", pid);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        size_t n = fread(env, 1, sizeof env - 1, f);
        fclose(f);
        env[n] = '\0';
        for (size_t i = 0; i < n; i += strlen(env + i) + 1)
            if (strncmp(env + i, want, (size_t)wn) == 0) {
                kill((pid_t)pid, SIGKILL);
                break;
            }
    }
    closedir(d);
}

/* ---- GPUs and MPS --------------------------------------------------------------------------- */

/* "0,1,3" into ids (at most cap); returns the count, -1 if malformed. */
static int parse_ids(const char *s, int *ids, int cap) {
    int n = 0;
    while (*s && n < cap) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 0) return -1;
        ids[n++] = (int)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return -1;
    }
    return n;
}

static void warn(bt_prun *r, const char *msg) {
    bt_progress_warn(&r->prog, msg);
}

/* Runs argv (no shell) with stdin from `input` (NULL: none) and waits; returns its status. */
static int run_wait(char *const *argv, const char *path, const char *input) {
    int fds[2];
    if (input && pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        if (input) {
            dup2(fds[0], 0);
            close(fds[0]);
            close(fds[1]);
        }
        execve(path, argv, environ);
        _exit(127);
    }
    if (input) {
        close(fds[0]);
        ssize_t w = write(fds[1], input, strlen(input));
        (void)w;
        close(fds[1]);
    }
    int st = -1;
    if (pid > 0) waitpid(pid, &st, 0);
    return st;
}

static void mps_start(bt_prun *r) {
    char path[1024];
    if (r->n_gpus == 0) {
        warn(r, "execution.mps: no GPU to run MPS on; trials run without it");
        return;
    }
    if (!bt_proc_which("nvidia-cuda-mps-control", NULL, path, sizeof path)) {
        warn(r, "execution.mps: nvidia-cuda-mps-control is not on PATH (it comes with NVIDIA's "
                "driver utilities); trials share the GPUs without MPS");
        return;
    }
    snprintf(r->mps_dir, sizeof r->mps_dir, "%s/mps", r->logs_dir);
    mkdir(r->logs_dir, 0755);
    mkdir(r->mps_dir, 0755);
    setenv("CUDA_MPS_PIPE_DIRECTORY", r->mps_dir, 1);
    setenv("CUDA_MPS_LOG_DIRECTORY", r->mps_dir, 1);
    char *argv[] = {"nvidia-cuda-mps-control", "-d", NULL};
    int st = run_wait(argv, path, NULL);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        warn(r, "execution.mps: nvidia-cuda-mps-control -d failed; trials run without MPS");
        return;
    }
    r->mps_started = 1;
    bt_progress_event(&r->prog, "mps_start", NULL);
}

bt_status bt_prun_gpus(bt_prun *r) {
    int ids[256], n = 0;
    const char *fake = getenv("BATCHTUNE_GPUS");
    const char *dev = r->o->device ? r->o->device : r->spec->exec.device;
    if (fake) {
        n = parse_ids(fake, ids, 256);
        if (n < 0) return BT_FAIL(BT_STATUS_USAGE, "BATCHTUNE_GPUS: give GPU ids such as 0,1");
    } else if (dev && strncmp(dev, "cuda:", 5) == 0 && strcmp(dev + 5, "all") != 0) {
        n = parse_ids(dev + 5, ids, 256);
        if (n < 0) return BT_FAIL(BT_STATUS_USAGE, "--device %s: give cuda:0,1,...", dev);
    } else if (!dev || strcmp(dev, "cpu") != 0) {
        n = bt_gpu_count();
        const char *vis = getenv("CUDA_VISIBLE_DEVICES");
        int vn = vis ? parse_ids(vis, ids, 256) : -1; /* keep the ids batchtune was given */
        for (int i = vn >= n ? n : 0; i < n; i++) ids[i] = i;
        if (dev && strncmp(dev, "cuda", 4) == 0 && n == 0) /* cuda, cuda:all */
            return BT_FAIL(BT_STATUS_NO_DEVICE, "--device %s: no GPU visible", dev);
    }
    /* the ranks of a job on one host split its GPUs by local rank (docs/cluster.md); an explicit
     * cuda:N list is taken as given on every rank */
    const int listed = !fake && dev && strncmp(dev, "cuda:", 5) == 0 && strcmp(dev + 5, "all");
    if (n > 1 && bt_comm_size() > 1 && !listed) {
        ids[0] = ids[bt_comm_local_rank() % n];
        n = 1;
    }
    if (n > 0) {
        r->gpu_ids = malloc((size_t)n * r->spec->prog.per_gpu * sizeof *r->gpu_ids);
        BT_CHECK_ALLOC(r->gpu_ids);
        /* slot i runs on gpu_ids[i % n_gpus]: consecutive slots go to different GPUs */
        for (int i = 0; i < n; i++) r->gpu_ids[i] = ids[i];
        r->n_gpus = n;
    }
    return BT_STATUS_OK;
}

int bt_prun_slot_count(const bt_prun *r) {
    int64_t n = bt_spec_concurrency(r->spec);
    if (n <= 0) n = r->n_gpus > 0 ? (int64_t)r->n_gpus * r->spec->prog.per_gpu : bt_cpu_cores();
    return n < 1 ? 1 : (int)n;
}

void bt_prun_gpus_free(bt_prun *r) {
    if (r->mps_started) {
        char path[1024];
        if (bt_proc_which("nvidia-cuda-mps-control", NULL, path, sizeof path)) {
            char *argv[] = {"nvidia-cuda-mps-control", NULL};
            run_wait(argv, path, "quit\n");
        }
        r->mps_started = 0;
    }
    free(r->gpu_ids);
    r->gpu_ids = NULL;
}

/* ---- files ---------------------------------------------------------------------------------- */

static int python_program(const bt_spec *spec) {
    if (spec->program) {
        size_t n = strlen(spec->program);
        if (n > 3 && strcmp(spec->program + n - 3, ".py") == 0) return 1;
    }
    return !spec->prog.command || bt_cmdline_uses(spec, "${interpreter}");
}

bt_status bt_prun_files(bt_prun *r) {
    if (mkdir(r->logs_dir, 0755) != 0 && errno != EEXIST)
        return BT_FAIL(BT_STATUS_IO, "%s: %s", r->logs_dir, strerror(errno));
    if (r->spec->prog.mps) mps_start(r);
    const char *mode = r->spec->prog.wandb;
    if (mode ? strcmp(mode, "shim") != 0 : !python_program(r->spec)) return BT_STATUS_OK;
    size_t n = strlen(r->logs_dir) + 64;
    r->shim_dir = malloc(n);
    BT_CHECK_ALLOC(r->shim_dir);
    snprintf(r->shim_dir, n, "%s/python", r->logs_dir);
    char pkg[1200], file[1300], tmp[1420];
    snprintf(pkg, sizeof pkg, "%s/wandb", r->shim_dir);
    snprintf(file, sizeof file, "%s/__init__.py", pkg);
    /* the ranks of an MPI job on one host (or on hosts sharing the folder, where pids repeat)
     * write the same package: each through a file of its own */
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    snprintf(tmp, sizeof tmp, "%s.tmp-%.63s-%d-%ld", file, host, bt_comm_rank(), (long)getpid());
    mkdir(r->shim_dir, 0755);
    mkdir(pkg, 0755);
    FILE *f = bt_wfopen(tmp, "w");
    if (!f) return BT_FAIL(BT_STATUS_IO, "%s: %s", tmp, bt_wopen_error(errno));
    size_t w = fwrite(shim_py, 1, sizeof shim_py, f);
    if (fclose(f) != 0 || w != sizeof shim_py || rename(tmp, file) != 0)
        return BT_FAIL(BT_STATUS_IO, "%s: %s", file, strerror(errno));
    return BT_STATUS_OK;
}

/* ---- the environment ------------------------------------------------------------------------ */

static bt_status env_set(bt_argv *env, const char *name, const char *value) {
    size_t n = strlen(name);
    for (int i = 0; i < env->n; i++)
        if (strncmp(env->v[i], name, n) == 0 && env->v[i][n] == '=') {
            free(env->v[i]);
            env->v[i] = env->v[--env->n];
            env->v[env->n] = NULL;
            break;
        }
    bt_sbuf b = {0};
    bt_sbuf_str(&b, name);
    bt_sbuf_str(&b, "=");
    bt_sbuf_str(&b, value);
    char *s = bt_sbuf_take(&b);
    bt_status st = bt_argv_push(env, s);
    free(s);
    return st;
}

/* {"a": v, "b": w} (the ${args_json} text, json.dumps' form) as {"a": {"value": v}, "b": {"value":
 * w}}, each value's text kept as it is (so 1.0 stays 1.0 and big integers keep their digits). */
static void config_of_args(const char *json, bt_sbuf *out) {
    int depth = 0, in_str = 0, in_value = 0;
    for (const char *p = json; *p; p++) {
        char c = *p;
        if (in_str) {
            if (c == '\\' && p[1]) {
                bt_sbuf_add(out, p++, 2);
                continue;
            }
            in_str = c != '"';
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 1 && in_value) bt_sbuf_str(out, "}");
            depth--;
        } else if (depth == 1 && c == ':' && !in_value) {
            bt_sbuf_str(out, ": {\"value\":");
            in_value = 1;
            continue;
        } else if (depth == 1 && c == ',') {
            bt_sbuf_str(out, "}");
            in_value = 0;
        }
        bt_sbuf_add(out, p, 1);
    }
}

bt_status bt_prun_env(bt_prun *r, int64_t t, int attempt, int gpu, const char *args_json,
                      const char *outdir, bt_argv *env) {
    memset(env, 0, sizeof *env);
    for (char **e = environ; *e; e++) BT_TRY(bt_argv_push(env, *e));
    const bt_spec *spec = r->spec;
    char num[64], run_id[64], cfg[1200];
    snprintf(num, sizeof num, "%" PRId64, t);
    snprintf(run_id, sizeof run_id, "%s-%" PRId64, r->sweep_id, t);
    snprintf(cfg, sizeof cfg, "%s/config-%s.yaml", outdir, run_id);
    /* W&B's agent writes the trial's config as {name: {value: v}} for wandb.init to read */
    bt_sbuf text = {0};
    config_of_args(args_json, &text);
    FILE *f = text.oom ? NULL : bt_wfopen(cfg, "w");
    if (f) {
        fprintf(f, "%s\n", text.s ? text.s : "{}"); /* JSON is YAML */
        fclose(f);
    }
    free(text.s);
    BT_TRY(env_set(env, "BATCHTUNE_TRIAL_ID", num));
    BT_TRY(env_set(env, "BATCHTUNE_PARAMS", args_json));
    BT_TRY(env_set(env, "BATCHTUNE_OUT_DIR", outdir));
    BT_TRY(env_set(env, "BATCHTUNE_SWEEP_ID", r->sweep_id));
    snprintf(num, sizeof num, "%d", attempt);
    BT_TRY(env_set(env, "BATCHTUNE_ATTEMPT", num));
    BT_TRY(env_set(env, "WANDB_SWEEP_ID", r->sweep_id));
    BT_TRY(env_set(env, "WANDB_RUN_ID", run_id));
    BT_TRY(env_set(env, "WANDB_SWEEP_PARAM_PATH", cfg));
    if (!getenv("WANDB_DIR")) BT_TRY(env_set(env, "WANDB_DIR", outdir));
    if (spec->project) BT_TRY(env_set(env, "WANDB_PROJECT", spec->project));
    if (spec->entity) BT_TRY(env_set(env, "WANDB_ENTITY", spec->entity));
    /* reports must arrive as they are printed, not when a pipe's buffer fills */
    BT_TRY(env_set(env, "PYTHONUNBUFFERED", "1"));
    if (spec->prog.wandb && strcmp(spec->prog.wandb, "off") == 0)
        BT_TRY(env_set(env, "WANDB_MODE", "disabled"));
    if (r->shim_dir) {
        const char *pp = getenv("PYTHONPATH");
        bt_sbuf b = {0};
        bt_sbuf_str(&b, r->shim_dir);
        if (pp && *pp) {
            bt_sbuf_str(&b, ":");
            bt_sbuf_str(&b, pp);
        }
        char *s = bt_sbuf_take(&b);
        bt_status st = env_set(env, "PYTHONPATH", s);
        free(s);
        BT_TRY(st);
        BT_TRY(env_set(env, "WANDB_MODE", "offline"));
    }
    if (gpu >= 0) {
        snprintf(num, sizeof num, "%d", gpu);
        BT_TRY(env_set(env, "CUDA_VISIBLE_DEVICES", num));
    }
    return BT_STATUS_OK;
}
