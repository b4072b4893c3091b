"""Allocation bombs from a small sweep file (issue 15, item 4): run_cap 10^8, a 10^7-point grid,
Hyperband and ASHA with run_cap 10^8, and a program sweep of 10^8 trials. `validate` plans only
the first trials (its memory and time do not grow with run_cap or the grid). `run` plans trials
as it starts them (sweeps/plan.h): each of these sweeps starts at once, runs in a memory that
follows the trials started, stops on SIGINT with exit 75 and resumes. Only a sweep whose plan
must be made up front (a swept budget without a scheduler: its budget-prefix groups need every
configuration) checks its per-trial state against the available memory first and refuses with
exit 65 and a message naming run_cap, leaving no results file."""
import json
import os
import resource
import signal
import subprocess
import tempfile
import time

from btutil import BIN, Checker, run, workdir
from trial_bombs import gbdt, grid_1e7, program, swept_budget

c = Checker("test_cli_trial_bomb")
d = workdir("cli_trial_bomb")
RSS_MB = 60  # validate of any of these stays far below (about 20 MB measured)


def write(name, sweep):
    p = os.path.join(d, name + ".json")
    with open(p, "w") as f:
        json.dump(sweep, f)
    return p


def wait_rss(args, timeout=120):
    """Runs batchtune to its end: exit code, stdout, stderr and its own peak RSS in MB (wait4:
    RUSAGE_CHILDREN would be the largest of every child so far)."""
    with tempfile.TemporaryFile("w+") as o, tempfile.TemporaryFile("w+") as e:
        p = subprocess.Popen([BIN, *args], stdout=o, stderr=e, text=True)
        t0 = time.time()
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.time() - t0 > timeout:
                p.kill()
            time.sleep(0.02)
        p.returncode = os.waitstatus_to_exitcode(status)
        o.seek(0)
        e.seek(0)
        return p.returncode, o.read(), e.read(), ru.ru_maxrss / 1024


def validate_bounded(path, what, expect):
    t0 = time.time()
    code, out, err, rss = wait_rss(["validate", path])
    secs = time.time() - t0
    c.check(code == 0, f"{what}: validate exit {code}\n{err[:800]}")
    c.check(expect in out, f"{what}: wanted {expect!r} in\n{out[:800]}")
    c.check(rss < RSS_MB, f"{what}: validate peak RSS {rss:.0f} MB")
    c.check(secs < 20, f"{what}: validate took {secs:.1f} s")


def run_refused(path, what, msg, env):
    out = os.path.join(d, os.path.basename(path) + ".h5")
    for f in (out, out + ".journal"):
        if os.path.exists(f):
            os.unlink(f)
    t0 = time.time()
    p = run("run", path, "--out", out, "--fresh", "--quiet", timeout=120, env=env)
    secs = time.time() - t0
    c.check(p.returncode == 65, f"{what}: run exit {p.returncode}\n{p.stderr[:800]}")
    c.check(msg in p.stderr and "lower run_cap" in p.stderr, f"{what}: {p.stderr[:800]}")
    c.check(secs < 20, f"{what}: run took {secs:.1f} s to refuse")
    c.check(not os.path.exists(out), f"{what}: left {out}")


# a run of any of these, 4 s in: about 60-110 MB measured (150-260 MB in the AddressSanitizer
# build, whose shadow memory and quarantine of freed blocks count too); a plan of 10^8 trials made
# up front would need tens of GB
with open(BIN, "rb") as f:
    ASAN = b"__asan_init" in f.read()
RUN_RSS_MB = 600 if ASAN else 250


def h5_trials(path):
    """Rows of /trials in a results file, counted from `report --format csv` in a file: this
    process stays small, since every child's peak RSS (wait4) counts the parent's at the fork."""
    with tempfile.TemporaryFile("w+") as f:
        p = subprocess.run([BIN, "report", path, "--format", "csv"], stdout=f,
                           stderr=subprocess.PIPE, text=True, timeout=120)
        c.check(p.returncode == 0, f"report {path}: {p.stderr[:400]}")
        f.seek(0)
        return sum(1 for _ in f) - 1 if p.returncode == 0 else -1


def run_interrupted(path, what, seconds=4.0, fresh=True):
    """Runs for `seconds`, then SIGINT: exit 75, peak RSS bounded; the trials it started."""
    out = os.path.join(d, os.path.basename(path) + ".h5")
    args = [BIN, "run", path, "--out", out, "--quiet"] + (["--fresh"] if fresh else [])
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(seconds)
    p.send_signal(signal.SIGINT)
    try:
        _, status, ru = os.wait4(p.pid, 0)
    except ChildProcessError:
        status, ru = 0, None
    err = p.stderr.read()
    p.stdout.close()
    p.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    rss = ru.ru_maxrss / 1024 if ru else 0
    c.check(code == 75, f"{what}: run exit {code} after SIGINT\n{err[:800]}")
    c.check(rss < RUN_RSS_MB, f"{what}: run peak RSS {rss:.0f} MB")
    n = h5_trials(out) if os.path.exists(out) else -1
    c.check(n > 0, f"{what}: results hold {n} trials")
    print(f"{what}: {n} trials started in {seconds:.0f} s, peak RSS {rss:.0f} MB")
    return n


def run_and_resume(path, what):
    n1 = run_interrupted(path, what)
    n2 = run_interrupted(path, what + " (resumed)", seconds=3.0, fresh=False)
    c.check(n2 > n1, f"{what}: the resume went on from {n1} trials to {n2}")


big = write("random", gbdt(run_cap=100_000_000))
validate_bounded(big, "random, run_cap 1e8", "trials     100000000 (the first 10000")
run_and_resume(big, "random, run_cap 1e8")

gp = write("grid", grid_1e7())
validate_bounded(gp, "grid of 1e7 points", "trials     10000000 (the first 10000")
run_interrupted(gp, "grid of 1e7 points")

hb = write("hyperband", gbdt(run_cap=100_000_000, early_terminate={
    "type": "hyperband", "min_iter": 1, "max_iter": 9, "eta": 3}))
validate_bounded(hb, "hyperband, run_cap 1e8", "trials     ")
run_interrupted(hb, "hyperband, run_cap 1e8")
asha = write("asha", gbdt(run_cap=100_000_000, scheduler={
    "type": "asha", "resource": "num_round", "min_resource": 1, "max_resource": 9}))
validate_bounded(asha, "asha, run_cap 1e8", "trials     100000000 (the first 10000")
run_and_resume(asha, "asha, run_cap 1e8")
sha = write("sha", gbdt(run_cap=100_000_000, scheduler={
    "type": "sha", "resource": "num_round", "min_resource": 1, "max_resource": 9}))
run_interrupted(sha, "sha, run_cap 1e8")

# a swept budget without a scheduler: up to 2^20 trials, trials that differ only in it share a run
# (budget-prefix groups), which needs every configuration, so that plan is made up front and
# checked against the machine's available memory (BT_MEM_AVAILABLE stands in for a small
# machine); past 2^20 trials each trial trains to its own budget and the plan is incremental
bp = write("budget", swept_budget(100_000_000))
validate_bounded(bp, "swept budget, run_cap 1e8", "runs are shared only in sweeps of up to 1048576")
run_interrupted(bp, "swept budget, run_cap 1e8")
grouped = write("grouped", swept_budget(1_000_000))
validate_bounded(grouped, "swept budget, run_cap 1e6", "share one run where training allows")
run_refused(grouped, "swept budget, run_cap 1e6 on a 64 MiB machine",
            "run_cap: 1000000 trials need about", dict(os.environ, BT_MEM_AVAILABLE=str(64 << 20)))
env = dict(os.environ, BT_MEM_AVAILABLE=str(1 << 20))
run_refused(write("small", swept_budget(10_000)),
            "swept budget, run_cap 1e4 on a 1 MiB machine", "run_cap: 10000 trials need about", env)

# program mode: trials are processes, started as slots free up
ps = write("program", program(d))
validate_bounded(ps, "program, run_cap 1e8", "100000000 trials")
run_and_resume(ps, "program, run_cap 1e8")
c.finish()
