"""MPI ranks (docs/cluster.md): `mpirun -np N batchtune run` gives exactly one process's /trials,
/history and /rungs with 1, 2 and 3 ranks (ASHA and Hyperband); a hung rank makes rank 0 save and
stop the job with 75; a killed rank or a killed rank 0 leaves a journal the same mpirun resumes
to the same results. Skips (77) without mpirun or without MPI in the build."""
import os
import shutil
import signal
import subprocess
import time

from btutil import BIN, Checker, asha_sweep, need, need_mpi, rank_pids, same_results, run, sweep_file, wait_journal, workdir, write_sweep, SRC

need("h5py", "numpy")
import numpy as np

MPI = need_mpi()

c = Checker("test_mpi_ranks")
d = workdir("mpi_ranks")
env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")  # Open MPI's own allocations are no leak of ours


def mpi(n, *args, **kw):
    return [*MPI, "-np", str(n), BIN, "run", *map(str, args)]


def mpi_run(n, *args, timeout=300):
    return subprocess.run(mpi(n, *args), capture_output=True, text=True, timeout=timeout, env=env)


def same(a, b, what):
    same_results(c, a, b, what)


def devices(path):
    import h5py
    with h5py.File(path) as f:
        return [v.decode() for v in f["trials"]["device"]]


def fresh(out):
    for f in (out, out + ".journal", out + ".state"):
        if os.path.exists(f):
            os.remove(f)


asha = asha_sweep(d, run_cap=40)
s = sweep_file("breast-cancer-asha.json")
s["run_cap"] = 30
s["scheduler"] = {"type": "hyperband", "min_resource": 3, "max_resource": 81, "eta": 3}
hb = write_sweep(os.path.join(d, "hb.json"), s, os.path.join(SRC, "sweeps", "examples"))

# a lazily proposed sweep: rank 0 proposes each trial and sends its configuration to the rank
# that trains it
s = sweep_file("breast-cancer-asha.json")
s["method"] = "tpe"
s["run_cap"] = 24
s["execution"]["concurrency"] = 4  # (the default for 24 trials is 1: one rank would train all)
tpe = write_sweep(os.path.join(d, "tpe.json"), s, os.path.join(SRC, "sweeps", "examples"))

# 1, 2, 3 ranks: one process's results exactly; every rank trained a share
for name, sweep, ranks in (("asha", asha, (1, 2, 3)), ("hb", hb, (2, 3)), ("tpe", tpe, (2, 3))):
    ref = os.path.join(d, f"{name}-ref.h5")
    run("run", sweep, "--out", ref, "--fresh", "--quiet", check=0)
    for n in ranks:
        out = os.path.join(d, f"{name}-{n}.h5")
        log = os.path.join(d, f"{name}-{n}.log")
        fresh(log)
        p = mpi_run(n, sweep, "--out", out, "--fresh", "--quiet", "--log", log)
        c.check(p.returncode == 0, f"{name} -np {n}: exit {p.returncode}\n{p.stderr[-2000:]}")
        if p.returncode != 0:
            continue
        same(ref, out, f"{name} -np {n}")
        # /trials.device names the rank that trained each trial (one process: its device alone)
        dev = set(devices(out))
        want = {"cpu"} if n == 1 else {f"cpu@rank{w}" for w in range(n)}
        c.check(dev == want, f"{name} -np {n}: devices {sorted(dev)}, expected {sorted(want)}")
        c.check(p.stdout.count("trials (") == 1, f"{name} -np {n}: one summary, from rank 0")
        units = [l for l in open(log) if '"event":"ranks"' in l]
        if n > 1:
            c.check(len(units) == 1, f"{name} -np {n}: a ranks event")
            if units:
                import json
                u = json.loads(units[0])["units"]
                c.check(len(u) == n and all(x > 0 for x in u), f"{name} -np {n}: units {u}")

# execution.broadcast_data: only rank 0 can read the dataset (the others start from a folder
# holding the sweep file alone, by MPMD); they get rank 0's data and the results do not change
for sub, with_data in (("has-data", True), ("no-data", False)):
    os.makedirs(os.path.join(d, sub, "data"), exist_ok=True)
    sb = sweep_file("breast-cancer-asha.json")
    sb["run_cap"] = 40
    sb["execution"]["broadcast_data"] = True
    if with_data:
        shutil.copy(os.path.join(SRC, "sweeps", "examples", "data", "breast_cancer.csv"),
                    os.path.join(d, sub, "data"))
    write_sweep(os.path.join(d, sub, "asha.json"), sb)
out = os.path.join(d, "bcast.h5")
cmd = [*MPI, "-np", "1", BIN, "run", os.path.join(d, "has-data", "asha.json"), "--out", out,
       "--fresh", "--quiet", ":", "-np", "2", BIN, "run", os.path.join(d, "no-data", "asha.json"),
       "--out", out, "--fresh", "--quiet"]
p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
c.check(p.returncode == 0, f"broadcast_data: exit {p.returncode}\n{p.stderr[-2000:]}")
if p.returncode == 0:
    same(os.path.join(d, "asha-ref.h5"), out, "broadcast_data")
    c.check(not os.path.exists(os.path.join(d, "no-data", "data", "breast_cancer.csv")), "no data")

ref = os.path.join(d, "asha-ref.h5")
ref_lines = sum(1 for _ in open(ref + ".journal"))


def interrupt(out, rank, sig, frac, extra=()):
    """Runs 3 ranks and sends sig to `rank` once the journal holds frac of the reference's
    lines: (exit code, stderr), or None when the sweep finished first."""
    fresh(out)
    p = subprocess.Popen(mpi(3, asha, "--out", out, "--quiet", *extra), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    if not wait_journal(p, out + ".journal", frac * ref_lines):
        p.communicate()
        return None
    pid = rank_pids(p.pid).get(rank)
    if pid is None:
        p.kill()
        p.communicate()
        return None
    os.kill(pid, sig)
    _, err = p.communicate(timeout=300)
    return p.returncode, err


def resume_same(out, what):
    p = mpi_run(3, asha, "--out", out, "--quiet")
    c.check(p.returncode == 0, f"{what}: re-run exit {p.returncode}\n{p.stderr[-2000:]}")
    c.check("(resumed)" in p.stdout, f"{what}: the re-run resumed")
    if p.returncode == 0:
        same(ref, out, what)


# a hung rank (SIGSTOP): rank 0 waits --rank-timeout, saves, stops every rank, exits 75.
# A killed rank: mpirun stops the job (SIGTERM, then SIGKILL a second later); rank 0 saves and
# aborts with 75, but mpirun reports the killed rank's signal (137) when that came first.
# Rank 0 killed: the journal it wrote is resumed as after any kill.
cases = (("hung rank", 1, signal.SIGSTOP, 0.3, ("--rank-timeout", "2"), (75,), "rank 1 sent no answer"),
         ("killed rank", 2, signal.SIGKILL, 0.4, (), (75, 137), None),
         ("killed rank 0", 0, signal.SIGKILL, 0.5, (), None, None))
for what, rank, sig, frac, extra, codes, says in cases:
    out = os.path.join(d, what.replace(" ", "-") + ".h5")
    got = interrupt(out, rank, sig, frac, extra)
    if got is None:
        print(f"note: {what}: the sweep finished before the signal")
        continue
    rc, err = got
    c.check(rc in codes if codes else rc != 0, f"{what}: exit {rc}\n{err[-2000:]}")
    c.check(says is None or says in err, f"{what}: rank 0 says which rank")
    c.check(rank == 0 or os.path.exists(out), f"{what}: rank 0 wrote the results")
    resume_same(out, what)

c.finish()
