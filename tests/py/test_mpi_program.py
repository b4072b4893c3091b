"""Program mode over MPI ranks (docs/cluster.md): `mpirun -np N batchtune run` on a program sweep
starts the trials' processes on every rank (each on its own slots, by local rank on fake GPUs),
streams their reports to rank 0, and gives one process's /trials (but device), /history and
/rungs with 1, 2 and 3 ranks; /trials.device names the rank (checked against the rank the
program itself saw); a hung rank stops the job with 75 and the same command resumes it; a rank
that fails says why at once (75, resumable); a stopped sweep gives up on a hung rank's trials 2 s
past their SIGKILL; large orders and a flood of output cross without blocking.
Skips (77) without mpirun or without MPI in the build."""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from btutil import BIN, Checker, need, need_mpi, rank_pids, same_results, run, wait_journal, workdir  # noqa: E402

need("h5py", "numpy")
import h5py  # noqa: E402
import numpy as np  # noqa: E402

MPI = need_mpi()

c = Checker("test_mpi_program")
d = workdir("mpi_program")
env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
env.pop("BATCHTUNE_GPUS", None)

# the training program: reports a metric that depends on its arguments alone, and records which
# rank's batchtune started it (Open MPI's variables are inherited) and the GPU it was given
with open(os.path.join(d, "train.py"), "w") as f:
    f.write('''import json, os, sys, time
a = dict(x.lstrip("-").split("=", 1) for x in sys.argv[1:])
lr, epochs = float(a["lr"]), int(a["epochs"])
with open(os.path.join(os.environ["BATCHTUNE_OUT_DIR"], "where.json"), "w") as f:
    json.dump({"rank": os.environ.get("OMPI_COMM_WORLD_RANK"), "pid": os.getpid(),
               "gpu": os.environ.get("CUDA_VISIBLE_DEVICES")}, f)
sys.stderr.write(("x" * 199 + "\\n") * int(a.get("flood", "0")))
for e in range(1, epochs + 1):
    time.sleep(float(a.get("delay", "0")))
    print(json.dumps({"epoch": e, "loss": lr * 10 / e, "acc": 1 - lr / e}), flush=True)
    print("epoch", e, "done", file=sys.stderr, flush=True)
''')


def sweep(name, delay=0.0, n=8, more=None, execution=None):
    body = {"program": "train.py", "method": "grid",
            "metric": {"name": "loss", "goal": "minimize"},
            "parameters": {"lr": {"values": [round(0.05 * (i + 1), 2) for i in range(n)]},
                           "epochs": {"value": 4}, "delay": {"value": delay}, **(more or {})},
            "command": ["${env}", sys.executable, "${program}", "${args}"],
            "execution": {"concurrency": 2, **(execution or {})}}
    path = os.path.join(d, name)
    with open(path, "w") as f:
        json.dump(body, f)
    return path


def mpi(n, *args):
    return [*MPI, "-np", str(n), BIN, "run", *map(str, args)]


def fresh(out):
    for suffix in ("", ".journal"):
        if os.path.exists(out + suffix):
            os.remove(out + suffix)
    shutil.rmtree(out + ".logs", ignore_errors=True)


def same(a, b, what):
    same_results(c, a, b, what)


def placed(out):
    """Per trial: (the device column, the rank and GPU the program saw)."""
    with h5py.File(out) as f:
        t = f["trials"][:]
    got = []
    for r in t:
        where = json.load(open(os.path.join(out + ".logs", f"trial-{r['trial_id']}", "where.json")))
        got.append((r["device"].decode(), where["rank"], where["gpu"]))
    return got


s = sweep("grid.json")
ref = os.path.join(d, "ref.h5")
fresh(ref)
p = subprocess.run([BIN, "run", s, "--out", ref, "--quiet"], capture_output=True, text=True,
                   env=env, timeout=120)
c.check(p.returncode == 0, f"one process: exit {p.returncode}\n{p.stderr[-2000:]}")

for n in (1, 2, 3):
    out = os.path.join(d, f"grid-{n}.h5")
    fresh(out)
    p = subprocess.run(mpi(n, s, "--out", out, "--quiet"), capture_output=True, text=True,
                       env=env, timeout=120)
    c.check(p.returncode == 0, f"-np {n}: exit {p.returncode}\n{p.stderr[-2000:]}")
    if p.returncode != 0:
        continue
    c.check(p.stdout.count("trials (") == 1, f"-np {n}: one summary, from rank 0")
    same(ref, out, f"-np {n}")
    got = placed(out)
    ranks = {int(r) for _, r, _ in got}
    c.check(len(ranks) == n, f"-np {n}: trials ran on ranks {sorted(ranks)}")
    for dev, rank, gpu in got:
        want = "cpu" if n == 1 else f"cpu@rank{rank}"
        c.check(dev == want and gpu is None, f"-np {n}: device {dev}, the program saw rank {rank}")
    # stderr lines reach rank 0's log of each trial
    log = open(os.path.join(out + ".logs", "trial-0.log")).read()
    c.check("epoch 4 done" in log, f"-np {n}: trial 0's stderr in its log")

# fake GPUs: ranks on one host split them by local rank, per_gpu slots each
out = os.path.join(d, "gpus.h5")
fresh(out)
p = subprocess.run(mpi(3, s, "--out", out, "--quiet"), capture_output=True, text=True,
                   env=dict(env, BATCHTUNE_GPUS="0,1"), timeout=120)
c.check(p.returncode == 0, f"fake GPUs: exit {p.returncode}\n{p.stderr[-2000:]}")
if p.returncode == 0:
    same(ref, out, "fake GPUs")
    for dev, rank, gpu in placed(out):
        g = int(rank) % 2
        c.check(dev == f"cuda:{g}@rank{rank}" and gpu == str(g),
                f"fake GPUs: device {dev}, the program saw rank {rank} and GPU {gpu}")

# a hung rank (SIGSTOP): rank 0 hears nothing for --rank-timeout, saves, stops the job (75); the
# same command resumes to the same results
def one_process(sweep_path, name):
    """The sweep's results from one process (the reference), its path."""
    ref = os.path.join(d, name)
    fresh(ref)
    p = subprocess.run([BIN, "run", sweep_path, "--out", ref, "--quiet"], capture_output=True,
                       text=True, env=env, timeout=120)
    c.check(p.returncode == 0, f"{name}, one process: exit {p.returncode}\n{p.stderr[-2000:]}")
    return ref


slow = sweep("slow.json", delay=0.3)
sref = one_process(slow, "slow-ref.h5")
out = os.path.join(d, "hung.h5")
fresh(out)
p = subprocess.Popen(mpi(3, slow, "--out", out, "--quiet", "--rank-timeout", "2"),
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
pid = None
if wait_journal(p, out + ".journal", 6):
    pid = rank_pids(p.pid).get(1)
if pid is None:
    p.kill()
    p.communicate()
    print("note: hung rank: the sweep finished before the signal")
else:
    os.kill(pid, signal.SIGSTOP)
    _, err = p.communicate(timeout=120)
    c.check(p.returncode == 75, f"hung rank: exit {p.returncode}\n{err[-2000:]}")
    c.check("rank 1 sent nothing" in err, f"hung rank: rank 0 says which rank\n{err[-2000:]}")
    q = subprocess.run(mpi(3, slow, "--out", out, "--quiet"), capture_output=True, text=True,
                       env=env, timeout=120)
    c.check(q.returncode == 0 and "(resumed)" in q.stdout,
            f"hung rank: re-run exit {q.returncode}\n{q.stderr[-2000:]}")
    if q.returncode == 0:
        same(sref, out, "hung rank, resumed")

# a rank that fails (here by a test hook: what a full disk or an unwritable folder on that host
# would do) says so at once, naming itself and why: 75, progress saved, resumable
out = os.path.join(d, "failed.h5")
fresh(out)
t0 = time.time()
p = subprocess.run(mpi(3, slow, "--out", out, "--quiet", "--rank-timeout", "60"), capture_output=True,
                   text=True, env=dict(env, BATCHTUNE_TEST_RANK_FAIL="2"), timeout=120)
took = time.time() - t0
c.check(p.returncode == 75, f"failed rank: exit {p.returncode}\n{p.stderr[-2000:]}")
c.check("rank 2 failed: BATCHTUNE_TEST_RANK_FAIL" in p.stderr and took < 30,
        f"failed rank: named with its message in {took:.1f} s\n{p.stderr[-2000:]}")
q = subprocess.run(mpi(2, slow, "--out", out, "--quiet"), capture_output=True, text=True,
                   env=env, timeout=120)
c.check(q.returncode == 0, f"failed rank: re-run exit {q.returncode}\n{q.stderr[-2000:]}")
if q.returncode == 0:
    same(sref, out, "failed rank, resumed")


def lines_of(stream, got):
    for line in stream:
        got.append((time.time(), line))


# a stopped sweep (SIGTERM to rank 0) whose other rank hangs: its trials are given up 2 s after
# their SIGKILL (grace 1 s), not after --rank-timeout
stuck = sweep("stuck.json", delay=0.5, execution={"grace": 1})
out = os.path.join(d, "stuck.h5")
fresh(out)
p = subprocess.Popen(mpi(2, stuck, "--out", out, "--quiet", "--rank-timeout", "60"),
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
pids = rank_pids(p.pid) if wait_journal(p, out + ".journal", 6) else {}
if len(pids) < 2:
    p.kill()
    p.communicate()
    print("note: stuck rank: the sweep finished before the signal")
else:
    got = []
    reader = threading.Thread(target=lines_of, args=(p.stderr, got), daemon=True)
    reader.start()
    os.kill(pids[1], signal.SIGSTOP)
    t0 = time.time()
    os.kill(pids[0], signal.SIGTERM)
    while time.time() - t0 < 30 and not any("interrupted" in l or "rank 1" in l for _, l in got):
        time.sleep(0.05)
    os.kill(pids[1], signal.SIGCONT)
    p.wait(timeout=60)
    reader.join(timeout=10)
    said = [(t - t0, l) for t, l in got if "interrupted" in l or "rank 1" in l]
    c.check(said and "interrupted: progress saved" in said[0][1] and said[0][0] < 15,
            f"stuck rank: stopped {said[:1]}, exit {p.returncode}")

# a large order (long arguments) while the other rank sends a flood of output: neither send
# waits for the other (--rank-timeout would stop the job)
big = sweep("big.json", n=12, more={"tag": {"value": "t" * 40000}, "flood": {"value": 5000}})
bref = one_process(big, "big-ref.h5")
out = os.path.join(d, "big.h5")
fresh(out)
p = subprocess.run(mpi(2, big, "--out", out, "--quiet", "--rank-timeout", "15"), capture_output=True,
                   text=True, env=env, timeout=120)
c.check(p.returncode == 0, f"big orders: exit {p.returncode}\n{p.stderr[-2000:]}")
if p.returncode == 0 and os.path.exists(bref):
    same(bref, out, "big orders")

c.finish()
