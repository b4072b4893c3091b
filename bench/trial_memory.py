#!/usr/bin/env python3
"""Memory of `run` against the trials it started (issue 15, sweeps/plan.h): sweeps of 10^8 trials
(random, ASHA, Hyperband, a swept budget past the grouping bound, a 10^7-point grid, and program
mode) each run for T seconds and then get SIGINT; the peak RSS (wait4) and the trials the results
file lists give the memory per started trial, as the slope between a short and a long run (so the
process's fixed part -- binary, data, HDF5 -- drops out). Before the incremental plan a 10^8-trial
`run` was refused with 65, and a 10^6-trial ASHA sweep held 1.99 GB from its start.
Usage: bench/trial_memory.py BUILD_DIR [--short S] [--long L] [--json OUT]"""
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time

build = sys.argv[1]
arg = lambda k, d: sys.argv[sys.argv.index(k) + 1] if k in sys.argv else d
short, long_ = float(arg("--short", "3")), float(arg("--long", "12"))
bt = os.path.abspath(os.path.join(build, "batchtune"))
d = tempfile.mkdtemp(prefix="bt-trial-memory-")


sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "py"))
from trial_bombs import gbdt, grid_1e7, program, swept_budget  # noqa: E402

sweeps = {
    "random": gbdt(run_cap=100_000_000),
    "asha": gbdt(run_cap=100_000_000, scheduler={"type": "asha", "resource": "num_round",
                                                 "min_resource": 1, "max_resource": 9}),
    "hyperband": gbdt(run_cap=100_000_000, early_terminate={"type": "hyperband", "min_iter": 1,
                                                            "max_iter": 9, "eta": 3}),
    "swept-budget": swept_budget(100_000_000),
    "grid-1e7": grid_1e7(),
    "program": program(d),
}


def run_for(path, seconds):
    out = path + ".h5"
    p = subprocess.Popen([bt, "run", path, "--out", out, "--fresh", "--quiet"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(seconds)
    p.send_signal(signal.SIGINT)
    _, status, ru = os.wait4(p.pid, 0)
    err = p.stderr.read()
    code = os.waitstatus_to_exitcode(status)
    if code != 75:
        raise SystemExit(f"{path}: exit {code}\n{err}")
    with tempfile.TemporaryFile("w+") as f:  # this process stays small: see below
        subprocess.run([bt, "report", out, "--format", "csv"], stdout=f, check=True)
        f.seek(0)
        n = sum(1 for _ in f) - 1
    # ru_maxrss of a child counts the RSS it had at the fork, a copy of this process's: small
    return n, ru.ru_maxrss * 1024


res = {"bench": "trial_memory", "date": time.strftime("%Y-%m-%d"), "host": "cpu-vm",
       "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
       "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip(),
       "command": " ".join(["bench/trial_memory.py"] + sys.argv[1:]), "sweeps": {}}
for name, sw in sweeps.items():
    path = os.path.join(d, name + ".json")
    json.dump(sw, open(path, "w"))
    n1, r1 = run_for(path, short)
    n2, r2 = run_for(path, long_)
    per = (r2 - r1) / (n2 - n1) if n2 > n1 else float("nan")
    res["sweeps"][name] = {"trials_planned": 10_000_000 if name == "grid-1e7" else 100_000_000,
                           "short": {"seconds": short, "trials_started": n1, "peak_rss_mb": round(r1 / 2**20, 1)},
                           "long": {"seconds": long_, "trials_started": n2, "peak_rss_mb": round(r2 / 2**20, 1)},
                           "bytes_per_started_trial": round(per)}
    print(f"{name:13s} {n1:8d} trials {r1 / 2**20:7.1f} MB | {n2:8d} trials {r2 / 2**20:7.1f} MB"
          f" | {per:7.0f} B per started trial", flush=True)
out = arg("--json", None)
if out:
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
