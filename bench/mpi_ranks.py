#!/usr/bin/env python3
"""MPI ranks (docs/cluster.md) on one host: (1) the per-tick message overhead -- a sweep whose
steps cost almost nothing (gbdt on 200 rows x 5 features, 3 trials, 1500 rounds: 1500 ticks), run by one
process and by `mpirun -np N`: the difference in the sweep's own elapsed time (the sweep_end
event, so MPI's start-up is left out) divided by the ticks; (2) strong scaling: a real sweep
(sweeps/examples/digits-hyperband.json) with one thread per rank, 1 process vs N ranks, and one
process using every core. Results are checked identical to one process's before a time counts.
Usage: bench/mpi_ranks.py BUILD_DIR [--ranks 2,3] [--repeat R] [--json-tick OUT] [--json-scaling OUT]"""
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

build = sys.argv[1]
arg = lambda k, d: sys.argv[sys.argv.index(k) + 1] if k in sys.argv else d
ranks = [int(x) for x in arg("--ranks", "2,3").split(",")]
repeat = int(arg("--repeat", "3"))
bt = os.path.abspath(os.path.join(build, "batchtune"))
src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
d = tempfile.mkdtemp(prefix="bt-mpi-bench-")
mpirun = [shutil.which("mpirun") or sys.exit("no mpirun"), "--oversubscribe", "--allow-run-as-root",
          "--bind-to", "none"]
sys.path.insert(0, os.path.join(src, "tests", "py"))


def elapsed(log):
    for line in open(log):
        e = json.loads(line)
        if e["event"] == "sweep_end":
            return e["elapsed"]
    raise SystemExit(f"{log}: no sweep_end")


def one(sweep, n, tag):
    """Seconds of the sweep itself (sweep_end's elapsed), its results path."""
    out, log = os.path.join(d, f"{tag}.h5"), os.path.join(d, f"{tag}.log")
    if os.path.exists(log):
        os.remove(log)
    cmd = [bt, "run", sweep, "--out", out, "--fresh", "--quiet", "--log", log]
    if n > 0:
        cmd = [*mpirun, "-np", str(n), *cmd]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(p.stderr)
    return elapsed(log), out


def same(a, b):
    try:
        from btutil import results_tables
        import numpy as np
    except ImportError:
        return None
    def drop_device(t):  # under ranks /trials.device names the rank that trained the trial
        return t[[n for n in t.dtype.names if n != "device"]] if "device" in t.dtype.names else t
    return all(x.dtype == y.dtype and np.array_equal(drop_device(x), drop_device(y))
               for x, y in zip(results_tables(a), results_tables(b)))


def best_of(sweep, n, tag, ref=None):
    ts, ok = [], None
    for i in range(repeat):
        t, out = one(sweep, n, f"{tag}-{i}")
        ts.append(round(t, 4))
        if ref:
            ok = same(ref, out) if ok is not False else ok
    return ts, ok, out


meta = {"date": time.strftime("%Y-%m-%d"), "host": "cpu-vm",
        "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                 text=True, cwd=src).stdout.strip(),
        "command": " ".join(["bench/mpi_ranks.py", *sys.argv[1:]]),
        "mpi": subprocess.run([bt, "info"], capture_output=True, text=True).stdout.split("mpi     ")[1].split("\n")[0]}

# (1) per-tick overhead
tick = os.path.join(d, "tick.json")
rounds = 1500
json.dump({"method": "grid", "metric": {"name": "validation/rmse"},
           "parameters": {"eta": {"values": [0.1, 0.2, 0.3]}},
           "model": {"type": "gbdt", "objective": "reg:squarederror", "num_round": rounds, "max_depth": 2},
           "dataset": {"synthetic": "friedman1", "rows": 200, "features": 5, "seed": 0},
           "execution": {"threads": 1}}, open(tick, "w"))
t1, _, ref = best_of(tick, 0, "tick-1")
res_tick = {"bench": "mpi_tick", **meta, "ticks": rounds, "trials": 3,
            "single_process_s": t1, "single_process_ms_per_tick": round(1000 * min(t1) / rounds, 4)}
for n in ranks:
    tn, ok, _ = best_of(tick, n, f"tick-{n}", ref)
    res_tick[f"ranks_{n}_s"] = tn
    res_tick[f"ranks_{n}_ms_per_tick"] = round(1000 * min(tn) / rounds, 4)
    res_tick[f"ranks_{n}_overhead_ms_per_tick"] = round(1000 * (min(tn) - min(t1)) / rounds, 4)
    res_tick[f"ranks_{n}_identical"] = ok
print(json.dumps(res_tick, indent=1))

# (2) strong scaling
ex = json.load(open(os.path.join(src, "sweeps", "examples", "digits-hyperband.json")))
ex["dataset"]["path"] = os.path.join(src, "sweeps", "examples", ex["dataset"]["path"])
res_scal = {"bench": "mpi_scaling", **meta, "sweep": "sweeps/examples/digits-hyperband.json"}
for threads in (1, os.cpu_count()):
    ex.setdefault("execution", {})["threads"] = threads
    sw = os.path.join(d, f"scal-{threads}.json")
    json.dump(ex, open(sw, "w"))
    t, _, ref = best_of(sw, 0, f"scal-{threads}-1")
    res_scal[f"threads_{threads}_single_process_s"] = t
    if threads != 1:
        continue
    for n in ranks:
        tn, ok, _ = best_of(sw, n, f"scal-1-{n}", ref)
        res_scal[f"threads_1_ranks_{n}_s"] = tn
        res_scal[f"threads_1_ranks_{n}_speedup"] = round(min(t) / min(tn), 3)
        res_scal[f"threads_1_ranks_{n}_identical"] = ok
print(json.dumps(res_scal, indent=1))
for key, res in (("--json-tick", res_tick), ("--json-scaling", res_scal)):
    if key in sys.argv:
        with open(arg(key, None), "w") as f:
            json.dump(res, f, indent=1)
