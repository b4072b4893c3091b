"""Allocation bombs from a small sweep file (issue 15, item 4): run_cap 10^8, a 10^7-point grid,
Hyperband and ASHA with run_cap 10^8, and a program sweep of 10^8 trials. `validate` plans only
the first trials (its memory and time do not grow with run_cap or the grid); `run` checks the
per-trial state against the machine's available memory before allocating it and refuses with
exit 65 and a message naming run_cap, leaving no results file."""
import json
import os
import resource
import time

from btutil import Checker, run, workdir

c = Checker("test_cli_trial_bomb")
d = workdir("cli_trial_bomb")
RSS_MB = 60  # validate of any of these stays far below (about 20 MB measured)


def write(name, sweep):
    p = os.path.join(d, name + ".json")
    with open(p, "w") as f:
        json.dump(sweep, f)
    return p


def gbdt(**kw):
    s = {"method": "random", "metric": {"name": "validation/rmse", "goal": "minimize"},
         "parameters": {"eta": {"distribution": "log_uniform_values", "min": 0.01, "max": 0.5},
                        "max_depth": {"values": [2, 3, 4]}},
         "model": {"type": "gbdt", "objective": "reg:squarederror", "num_round": 9},
         "dataset": {"synthetic": "friedman1", "rows": 100, "features": 5}}
    s.update(kw)
    return s


def validate_bounded(path, what, expect):
    t0 = time.time()
    p = run("validate", path, timeout=120)
    secs = time.time() - t0
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # max over children
    c.check(p.returncode == 0, f"{what}: validate exit {p.returncode}\n{p.stderr[:800]}")
    c.check(expect in p.stdout, f"{what}: wanted {expect!r} in\n{p.stdout[:800]}")
    c.check(rss < RSS_MB, f"{what}: validate peak RSS {rss:.0f} MB")
    c.check(secs < 20, f"{what}: validate took {secs:.1f} s")


def run_refused(path, what, msg, env=None):
    out = os.path.join(d, os.path.basename(path) + ".h5")
    t0 = time.time()
    p = run("run", path, "--out", out, "--fresh", "--quiet", timeout=120, env=env)
    secs = time.time() - t0
    c.check(p.returncode == 65, f"{what}: run exit {p.returncode}\n{p.stderr[:800]}")
    c.check(msg in p.stderr and "lower run_cap" in p.stderr, f"{what}: {p.stderr[:800]}")
    c.check(secs < 20, f"{what}: run took {secs:.1f} s to refuse")
    c.check(not os.path.exists(out), f"{what}: left {out}")


big = write("random", gbdt(run_cap=100_000_000))
validate_bounded(big, "random, run_cap 1e8", "trials     100000000 (the first 10000")
run_refused(big, "random, run_cap 1e8", "run_cap: 100000000 trials need about")

grid = gbdt(method="grid")  # 7 parameters of 10 values: 10^7 points
grid["parameters"] = {
    "max_depth": {"values": list(range(1, 11))},
    "max_bin": {"values": list(range(16, 26))},
    "eta": {"values": [0.05 * (i + 1) for i in range(10)]},
    "subsample": {"values": [0.55 + 0.05 * i for i in range(10)]},
    "gamma": {"values": list(range(10))},
    "reg_lambda": {"values": list(range(1, 11))},
    "min_child_weight": {"values": list(range(1, 11))}}
gp = write("grid", grid)
validate_bounded(gp, "grid of 1e7 points", "trials     10000000 (the first 10000")

validate_bounded(write("hyperband", gbdt(run_cap=100_000_000, early_terminate={
    "type": "hyperband", "min_iter": 1, "max_iter": 9, "eta": 3})), "hyperband, run_cap 1e8",
    "trials     ")
asha = write("asha", gbdt(run_cap=100_000_000, scheduler={
    "type": "asha", "resource": "num_round", "min_resource": 1, "max_resource": 9}))
validate_bounded(asha, "asha, run_cap 1e8", "trials     100000000 (the first 10000")

# the check reads the machine's available memory; BT_MEM_AVAILABLE stands in for a small machine
small = write("small", gbdt(run_cap=10_000))
env = dict(os.environ, BT_MEM_AVAILABLE=str(1 << 20))
run_refused(small, "run_cap 1e4 on a 1 MiB machine", "run_cap: 10000 trials need about", env)

# program mode: the same two checks
prog = os.path.join(d, "train.sh")
with open(prog, "w") as f:
    f.write("#!/bin/sh\necho '{\"loss\": 1}'\n")
os.chmod(prog, 0o755)
ps = write("program", {"program": "train.sh", "command": ["${program}", "${args}"],
                       "method": "random", "run_cap": 100_000_000,
                       "metric": {"name": "loss", "goal": "minimize"},
                       "parameters": {"x": {"distribution": "uniform", "min": 0, "max": 1}}})
validate_bounded(ps, "program, run_cap 1e8", "100000000 trials")
run_refused(ps, "program, run_cap 1e8", "trials need about")
c.finish()
