#!/usr/bin/env python3
"""Whole-process time of a sweep, two builds side by side in one run: what a user waits for from
`batchtune SWEEP` to the results file, start-up included (loading shared libraries, and for a
build that links CUDA, the CUDA libraries even on a machine without a GPU). Runs BEFORE and AFTER
alternately, --runs times each, and reports the medians, their ratio, the peak RSS of each (also
of `--version`), and whether both wrote the same trials, history and rungs.

  bench/process_time.py --before OLD/batchtune --after build/batchtune \\
      [--sweep sweeps/examples/boston-grid.json] [--runs 15] [--maxrss build/tests/tools/bt_maxrss]
      [--json bench/results/DATE-...json]

Needs /usr/bin/python3 with h5py and numpy for the equality check (skipped without them)."""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def timed(cmd, maxrss=None):
    """(seconds, peak RSS in KiB or None, completed process)."""
    if maxrss:
        cmd = [maxrss] + cmd
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    m = re.search(r"maxrss_kib (\d+)", p.stderr) if maxrss else None
    return dt, int(m.group(1)) if m else None, p


def tables(path):
    import h5py
    import numpy as np
    with h5py.File(path) as f:
        t, h, r = f["trials"][:], f["history"][:], f["rungs"][:]
    keep = [n for n in t.dtype.names if n not in ("seconds", "device")]
    hk = [n for n in h.dtype.names if n not in ("time", "seconds")]
    return t[keep], np.sort(h[hk], order=["trial_id", "resource", "metric"]), r


def same(a, b):
    import numpy as np
    for x, y in zip(a, b):
        if x.dtype.names != y.dtype.names or x.shape != y.shape:
            return False
        for n in x.dtype.names:
            u, v = x[n], y[n]
            if u.dtype.kind == "f":
                u, v = u.view(f"u{u.dtype.itemsize}"), v.view(f"u{v.dtype.itemsize}")
            if not np.array_equal(u, v):
                return False
    return True


def git_commit():
    try:
        return subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        return ""


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", required=True)
    ap.add_argument("--sweep", default=os.path.join(REPO, "sweeps", "examples", "boston-grid.json"))
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--maxrss", default=None, help="bt_maxrss (tests/tools) for peak RSS")
    ap.add_argument("--json", default=None, help="write the result here")
    ap.add_argument("--label-before", default="before")
    ap.add_argument("--label-after", default="after")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="bt-process-time-")
    sides = {"before": a.before, "after": a.after}
    wall = {k: [] for k in sides}
    rss = {k: None for k in sides}
    version = {k: {} for k in sides}
    for k, b in sides.items():  # start-up alone, once warm
        timed([b, "--version"])
        dts = [timed([b, "--version"])[0] for _ in range(5)]
        _, kib, _ = timed([b, "--version"], a.maxrss)
        version[k] = {"median_seconds": statistics.median(dts), "peak_rss_kib": kib}
    outs = {k: os.path.join(work, f"{k}.h5") for k in sides}
    for i in range(a.runs + 1):  # the first round warms the page cache and is dropped
        for k, b in (sides.items() if i % 2 == 0 else reversed(list(sides.items()))):
            dt, kib, p = timed([b, "run", a.sweep, "--out", outs[k], "--fresh", "--quiet"],
                               a.maxrss)
            if p.returncode != 0:
                sys.exit(f"{b} exited {p.returncode}: {p.stderr}")
            if i > 0:
                wall[k].append(dt)
                if kib is not None:
                    rss[k] = max(rss[k] or 0, kib)
    try:
        equal = same(tables(outs["before"]), tables(outs["after"]))
    except ImportError:
        equal = None
    med = {k: statistics.median(v) for k, v in wall.items()}
    result = {
        "benchmark": "whole-process time of a sweep (start-up included), two builds in one run",
        "date": datetime.date.today().isoformat(),
        "commit": git_commit(),
        "command": " ".join(sys.argv),
        "device": f"cpu: {cpu_model()}, {os.cpu_count()} cores (no GPU)",
        "sweep": os.path.relpath(a.sweep, REPO),
        "runs": a.runs,
        "before": {"binary": a.before, "label": a.label_before,
                   "median_seconds": med["before"], "min_seconds": min(wall["before"]),
                   "peak_rss_kib": rss["before"], "version": version["before"]},
        "after": {"binary": a.after, "label": a.label_after,
                  "median_seconds": med["after"], "min_seconds": min(wall["after"]),
                  "peak_rss_kib": rss["after"], "version": version["after"]},
        "ratio_before_over_after": med["before"] / med["after"],
        "results_identical": equal,
    }
    print(f"{result['sweep']}: {a.label_before} {med['before']:.3f} s, {a.label_after} "
          f"{med['after']:.3f} s (medians of {a.runs}): {result['ratio_before_over_after']:.2f}x; "
          f"--version {version['before']['median_seconds'] * 1e3:.0f} ms / "
          f"{version['after']['median_seconds'] * 1e3:.0f} ms, RSS "
          f"{version['before']['peak_rss_kib']} / {version['after']['peak_rss_kib']} KiB; "
          f"results identical: {equal}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")
    return 0 if equal in (True, None) else 1


if __name__ == "__main__":
    sys.exit(main())
