#!/usr/bin/env python3
"""Parse time of big sweep files: `batchtune validate` of a 1e6-value `values` list and of 200k
parameter keys, in JSON and YAML (issue 15 item 5: both were quadratic, 14 s at 100k values and
over a minute at 1e6 values or 200k keys; goal: 1e6 values under 2 s). Whole-process wall time,
median of --runs; the 200k-key files name parameters the model lacks, so validate lists 200k
problems and exits 65 (its output goes to /dev/null). --before OLD/batchtune times an older build
on the same files side by side (each run cut at --timeout seconds, recorded as null).

  bench/bench_spec_parse.py --bin build-cpu/batchtune [--before OLD] [--runs 3]
      [--json bench/results/DATE-cpu-HOST-spec-parse.json]"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from process_time import cpu_model  # noqa: E402  (bench/ is no package)
MODEL_JSON = ('"model": {"type": "gbdt", "objective": "reg:squarederror"},\n'
              '"dataset": {"path": "data/boston.csv", "target": "MEDV"}')
MODEL_YAML = ("model: {type: gbdt, objective: 'reg:squarederror'}\n"
              "dataset: {path: data/boston.csv, target: MEDV}\n")


def write_files(d, n_values, n_keys):
    vals = [f"{(k + 1) / n_values:.7f}" for k in range(n_values)]  # eta in (0, 1]
    files = {}
    p = os.path.join(d, "values.json")
    with open(p, "w") as f:
        f.write('{"method": "random", "run_cap": 3,\n"parameters": {"eta": {"values": [')
        f.write(", ".join(vals))
        f.write("]}},\n" + MODEL_JSON + "}\n")
    files["values_json"] = (p, 0)
    p = os.path.join(d, "values.yaml")
    with open(p, "w") as f:
        # a flow list: a block list ("      - v" lines) would pass the 16 MiB cap
        f.write("method: random\nrun_cap: 3\nparameters:\n  eta:\n    values: [")
        f.write(", ".join(vals))
        f.write("]\n" + MODEL_YAML)
    files["values_yaml"] = (p, 0)
    p = os.path.join(d, "keys.json")
    with open(p, "w") as f:
        f.write('{"method": "random", "run_cap": 3,\n"parameters": {\n')
        f.write(",\n".join(f'"p{k}": {{"value": {k}}}' for k in range(n_keys)))
        f.write("},\n" + MODEL_JSON + "}\n")
    files["keys_json"] = (p, 65)
    p = os.path.join(d, "keys.yaml")
    with open(p, "w") as f:
        f.write("method: random\nrun_cap: 3\nparameters:\n")
        f.write("".join(f"  p{k}: {{value: {k}}}\n" for k in range(n_keys)))
        f.write(MODEL_YAML)
    files["keys_yaml"] = (p, 65)
    return files


def time_one(binary, path, want_rc, timeout):
    t0 = time.perf_counter()
    try:
        p = subprocess.run([binary, "validate", path], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    secs = time.perf_counter() - t0
    if p.returncode != want_rc:
        sys.exit(f"{binary} validate {path}: exit {p.returncode}, expected {want_rc}\n"
                 f"{p.stderr.decode()[-2000:]}")
    return secs


def git(*args):
    try:
        return subprocess.run(["git", "-C", REPO, *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(REPO, "build-cpu", "batchtune"))
    ap.add_argument("--before", help="an older batchtune to time on the same files")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--values", type=int, default=1000000)
    ap.add_argument("--keys", type=int, default=200000)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--host", default="cpu-vm")
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args()
    if not os.access(a.bin, os.X_OK):
        sys.exit(f"{a.bin}: not an executable batchtune (build it first)")
    results = {}
    with tempfile.TemporaryDirectory() as d:
        files = write_files(d, a.values, a.keys)
        for name, (path, rc) in files.items():
            row = {"file_bytes": os.path.getsize(path), "expected_exit": rc}
            for label, binary in (("after", a.bin), ("before", a.before)):
                if not binary:
                    continue
                runs = [time_one(binary, path, rc, a.timeout) for _ in range(a.runs)]
                done = [r for r in runs if r is not None]
                row[label] = {"runs_s": runs,
                              "median_s": statistics.median(done) if len(done) == len(runs) else None}
            results[name] = row
            print(f"{name:12s} {row['file_bytes'] / 1e6:6.1f} MB  after {row['after']['median_s']:.2f} s"
                  + (f"  before {row['before']['median_s']}" if "before" in row else ""), flush=True)
    out = {
        "benchmark": "bench_spec_parse",
        "date": datetime.date.today().isoformat(),
        "host": a.host,
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "git": {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))},
        "batchtune_binary": a.bin,
        "before_binary": a.before,
        "command": " ".join([os.path.relpath(__file__, REPO)] + sys.argv[1:]),
        "measured": "wall time of `batchtune validate FILE`, whole process; median of runs",
        "goal": "values_json and values_yaml under 2 s",
        "n_values": a.values,
        "n_keys": a.keys,
        "results": results,
    }
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")
        print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
