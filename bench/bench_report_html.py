#!/usr/bin/env python3
"""`batchtune report --html` on a 10,000-trial sweep: seconds to build the page (goal: under 2 s)
and its size (goal: under ~5 MB). The sweep is real: breast-cancer-asha's search space with
run_cap N (default 10000) and ASHA rungs at 3, 9, 27 and 81 rounds, trained by batchtune here
(its run time is recorded too). The page is built 5 times; the best and median are kept; then
headless Chromium loads and draws it once (seconds, and the parallel-coordinates lines drawn).
Usage: bench/bench_report_html.py BUILD_DIR [N] [--json OUT.json]"""
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

build = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 and not sys.argv[2].startswith("-") else 10000
src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
bt = os.path.abspath(os.path.join(build, "batchtune"))
d = tempfile.mkdtemp(prefix="bt-report-bench-")
sweep = json.load(open(os.path.join(src, "sweeps", "examples", "breast-cancer-asha.json")))
sweep.update(name="report-bench", run_cap=n)
sweep["scheduler"].update(min_resource=3, max_resource=81)
sweep["dataset"]["path"] = os.path.join(src, "sweeps", "examples", sweep["dataset"]["path"])
path = os.path.join(d, "sweep.json")
json.dump(sweep, open(path, "w"))
out, page = os.path.join(d, "r.h5"), os.path.join(d, "r.html")
t0 = time.perf_counter()
p = subprocess.run([bt, "run", path, "--out", out, "--fresh", "--quiet"], capture_output=True,
                   text=True)
run_s = time.perf_counter() - t0
if p.returncode != 0:
    sys.exit(p.stderr)
times = []
for _ in range(5):
    t0 = time.perf_counter()
    p = subprocess.run([bt, "report", out, "--html", page], capture_output=True, text=True)
    times.append(time.perf_counter() - t0)
    if p.returncode != 0:
        sys.exit(p.stderr)
t0 = time.perf_counter()
subprocess.run([bt, "report", out, "--format", "csv"], capture_output=True, check=True)
csv_s = time.perf_counter() - t0
import h5py  # noqa: E402 (only for the counts)
with h5py.File(out) as f:
    n_hist, n_trials = len(f["history"]), len(f["trials"])
# the page drawn in headless Chromium (when there is one): seconds to load and draw, lines drawn
chrome, chrome_s, lines = shutil.which("chromium"), None, None
if chrome:
    t0 = time.perf_counter()
    p = subprocess.run([chrome, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                        "file://" + page], capture_output=True, text=True, timeout=300)
    chrome_s = round(time.perf_counter() - t0, 2)
    lines = len(re.findall(r'<polyline class="pc-line', p.stdout))
res = {
    "bench": "report_html", "date": time.strftime("%Y-%m-%d"), "host": "cpu-vm",
    "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
    "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, cwd=src).stdout.strip(),
    "command": " ".join(["bench/bench_report_html.py", build, str(n)]),
    "trials": n_trials, "history_rows": n_hist, "results_bytes": os.path.getsize(out),
    "sweep_run_seconds": round(run_s, 2),
    "report_html_seconds": [round(x, 3) for x in times],
    "report_html_best_s": round(min(times), 3),
    "report_html_median_s": round(statistics.median(times), 3),
    "report_csv_seconds": round(csv_s, 3),
    "html_bytes": os.path.getsize(page),
    "chromium_dump_dom_s": chrome_s, "chromium_pc_lines": lines,
    "goal": "report --html under 2 s, page under ~5 MB",
    "note": "2-core development VM shared with other workers; CPU-only build (BT_CUDA=OFF), "
            "Release; the times include reading the results file",
}
print(json.dumps(res, indent=1))
if "--json" in sys.argv:
    with open(sys.argv[sys.argv.index("--json") + 1], "w") as f:
        json.dump(res, f, indent=1)
