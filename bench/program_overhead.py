#!/usr/bin/env python3
"""Program mode's controller overhead: a sweep of N trials whose program reports once and exits
(tests/tools/program_standin.c, --epochs=1), run by `batchtune run`; trials per second and
milliseconds of wall time per trial, with the machine's cores as concurrency (the default).
Usage: bench/program_overhead.py BUILD_DIR [N] [--json OUT.json]"""
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

build = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 and not sys.argv[2].startswith("-") else 2000
exe = os.path.abspath(os.path.join(build, "tests", "tools", "bt_program_standin"))
bt = os.path.abspath(os.path.join(build, "batchtune"))
d = tempfile.mkdtemp(prefix="bt-program-bench-")
sweep = os.path.join(d, "sweep.json")
json.dump({"method": "random", "run_cap": n, "metric": {"name": "val_loss"},
           "command": [exe, "${args}", "--epochs=1"],
           "parameters": {"lr": {"min": 0.1, "max": 1.0}}}, open(sweep, "w"))
runs = []
for _ in range(3):
    t0 = time.perf_counter()
    p = subprocess.run([bt, "run", sweep, "--out", os.path.join(d, "r.h5"), "--fresh", "--quiet"],
                       capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(p.stderr)
    runs.append(dt)
best = min(runs)
res = {
    "bench": "program_overhead", "date": time.strftime("%Y-%m-%d"), "host": "cpu-vm",
    "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
    "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip(),
    "command": " ".join(["bench/program_overhead.py", build, str(n)]),
    "trials": n, "seconds": [round(x, 3) for x in runs],
    "trials_per_s": round(n / best, 1), "ms_per_trial": round(1000 * best / n, 3),
    "program": "tests/tools/program_standin.c --epochs=1 (one JSON line, exit 0)",
}
print(json.dumps(res, indent=1))
if "--json" in sys.argv:
    with open(sys.argv[sys.argv.index("--json") + 1], "w") as f:
        json.dump(res, f, indent=1)
