"""End to end through the CLI: the Boston grid runs, results read in one line with h5py+pandas
exactly as the README shows, report/validate/info/help behave, reruns and changed sweeps do the
documented thing, and exit codes match the table."""
import json
import os
import shutil
import subprocess

from btutil import Checker, SRC, run, sweep_file, workdir, write_sweep, need

need("h5py", "pandas", "numpy")
import h5py
import numpy as np
import pandas

c = Checker("test_cli_e2e")
d = workdir("cli_e2e")
data = os.path.join(SRC, "sweeps", "examples")
sweep = write_sweep(os.path.join(d, "boston.json"), sweep_file("boston-grid.json"), data)
out = os.path.join(d, "boston.h5")

# run (--log appends: an earlier test run's events would come first)
if os.path.exists(os.path.join(d, "events.jsonl")):
    os.remove(os.path.join(d, "events.jsonl"))
p = run("run", sweep, "--out", out, "--fresh", "--quiet", "--log", os.path.join(d, "events.jsonl"), check=0)
c.check("best: trial" in p.stdout, p.stdout)

# the README's one-liner
df = pandas.DataFrame(h5py.File(out)["trials"][:])
c.check(len(df) == 252, f"{len(df)} rows")
cols = list(df.columns)
c.check(cols[:9] == ["trial_id", "status", "metric", "best_metric", "resource", "bracket", "rung", "device", "seconds"], cols)
c.check(cols[9:] == ["eta", "max_depth", "num_round", "reg_lambda"], cols)
c.check((df.status == b"completed").all(), df.status.unique())
c.check((df.resource == df.num_round).all(), "resource equals each trial's own num_round")
c.check(np.isfinite(df.metric).all() and (df.metric > 0).all(), "finite positive mse")
# grid order: last parameter fastest
c.check(list(df.reg_lambda[:3]) == [0.9, 1.0, 1.1], list(df.reg_lambda[:3]))
c.check(list(df.num_round[:12:3]) == [20, 30, 40, 50], list(df.num_round[:12]))

with h5py.File(out) as f:
    a = f.attrs
    c.check(a["format"] in ("batchtune-results", b"batchtune-results"), a["format"])
    sweep_text = a["sweep"].decode() if isinstance(a["sweep"], bytes) else a["sweep"]
    c.check(json.loads(sweep_text)["method"] == "grid", "sweep stored verbatim")
    h = pandas.DataFrame(f["history"][:])
    c.check(len(h) >= 252 * 20, f"history rows {len(h)}")
    c.check("best" in f and "trial_id" in f["best"].attrs, "best group")
    best = int(f["best"].attrs["trial_id"])
    c.check(abs(df.metric[best] - df.metric.min()) < 1e-12, "best is the minimum mse")
    c.check("model" in f["best"], "best model stored")

# a prefix trial's metric equals the same run's curve at its own budget
h = h[h.metric == b"mse"]
for t in (0, 1, 5):
    row = df.iloc[t]
    curve = h[h.trial_id == t].sort_values("resource")
    c.check(len(curve) == row.num_round, f"trial {t} curve has {len(curve)} points")
    c.check(curve.value.iloc[-1] == row.metric, f"trial {t} metric is the curve's last point")

# report CSV
p = run("report", out, "--format", "csv", "--top", "5", check=0)
lines = p.stdout.strip().splitlines()
# the metric column is named by the metric (mse), not a bare "metric"
c.check(lines[0].startswith("trial_id,status,mse,resource,eta,max_depth,num_round,reg_lambda"), lines[0])
c.check(len(lines) == 6, f"{len(lines)} lines")
c.check(int(lines[1].split(",")[0]) == best, "report is best first")
run("report", out, check=0)
pj = run("report", out, "--format", "json", check=0)
json.loads(pj.stdout)

# events
ev = [json.loads(l) for l in open(os.path.join(d, "events.jsonl"))]
kinds = {e["event"] for e in ev}
for k in ("sweep_start", "trial_start", "report", "trial_stop", "checkpoint", "sweep_end"):
    c.check(k in kinds, f"event {k}")
c.check(all("time" in e for e in ev), "timestamps")

# rerun: finished already
p = run("run", sweep, "--out", out, "--quiet", check=0, timeout=60)
c.check("already finished" in p.stdout, p.stdout)

# a finished rerun replays silently: only sweep_start and sweep_end, both already_finished
n_ev = sum(1 for _ in open(os.path.join(d, "events.jsonl")))
run("run", sweep, "--out", out, "--quiet", "--log", os.path.join(d, "events.jsonl"), check=0)
more = [json.loads(l) for l in open(os.path.join(d, "events.jsonl"))][n_ev:]
c.check([e["event"] for e in more] == ["sweep_start", "sweep_end"], f"events from a replay: {more}")
c.check(all(e["already_finished"] is True for e in more), more)
c.check(ev[0]["already_finished"] is False and ev[-1]["already_finished"] is False, "a live run's")

# one process per results file: a second run on the same --out is refused while the first runs
import subprocess
from btutil import BIN
first = subprocess.Popen([BIN, "run", sweep, "--out", os.path.join(d, "busy.h5"), "--fresh", "--quiet"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
import time
while first.poll() is None and not os.path.exists(os.path.join(d, "busy.h5.journal")):
    time.sleep(0.001)
second = run("run", sweep, "--out", os.path.join(d, "busy.h5"), "--quiet")
if first.poll() is None:
    c.check(second.returncode == 74 and "in use" in second.stderr, second.stderr)
first.wait()

# --fresh with a bad dataset keeps the earlier results
bad_sweep = json.load(open(sweep))
bad_sweep["dataset"]["path"] = os.path.join(d, "nowhere.csv")
write_sweep(os.path.join(d, "bad_data.json"), bad_sweep)
shutil.copy(out, os.path.join(d, "keep.h5"))
run("run", os.path.join(d, "bad_data.json"), "--out", os.path.join(d, "keep.h5"), "--fresh", "--quiet", check=66)
c.check(os.path.exists(os.path.join(d, "keep.h5")), "earlier results survive a failed --fresh")
c.check(not os.path.exists(os.path.join(d, "keep.h5.journal")), "no journal left by a failed start")

# changed sweep file refused
s2 = json.load(open(sweep))
s2["seed"] = 99
write_sweep(sweep, s2)
p = run("run", sweep, "--out", out, "--quiet", check=65)
c.check("--fresh" in p.stderr, p.stderr)

# validate
p = run("validate", os.path.join(SRC, "sweeps", "examples", "boston-grid.json"), check=0)
c.check("252" in p.stdout, p.stdout)
bad = os.path.join(d, "bad.json")
with open(bad, "w") as f:
    f.write('{\n  "method": "grid",\n  "parameters": {\n    "eta": {"min": 0.5, "max": 0.1}\n  },\n'
            '  "model": {"type": "gbdt"},\n  "dataset": {"synthetic": "friedman1", "rows": 100}\n}\n')
p = run("validate", bad, check=65)
c.check(f"{bad}:4:" in p.stderr and "parameters.eta" in p.stderr, p.stderr)
# an ASHA sweep too small to promote anyone: valid, with a warning naming the fix
tiny = {"method": "random", "run_cap": 2, "metric": {"name": "rmse", "goal": "minimize"},
        "parameters": {"eta": {"min": 0.1, "max": 0.3}},
        "model": {"type": "gbdt"}, "dataset": {"synthetic": "friedman1", "rows": 100},
        "scheduler": {"type": "asha", "min_resource": 1, "max_resource": 9, "eta": 3}}
tiny_path = os.path.join(d, "tiny-asha.json")
write_sweep(tiny_path, tiny)
p = run("validate", tiny_path, check=0)
c.check("warning" in p.stdout and "at least 9 trials" in p.stdout, p.stdout)
tiny["run_cap"] = 9
write_sweep(tiny_path, tiny)
p = run("validate", tiny_path, check=0)
c.check("warning" not in p.stdout, p.stdout)

# missing input, usage
run("run", os.path.join(d, "nope.json"), check=66)
run("report", os.path.join(d, "nope.h5"), check=66)
run("run", check=2)
run("frobnicate", check=2)
for cmd in ("run", "validate", "report", "export", "info"):
    p = run(cmd, "--help", check=0)
    c.check("usage" in p.stdout, cmd)
p = run("--help", check=0)
c.check("75" in p.stdout, "exit codes in --help")
p = run("--version", check=0)
c.check(p.stdout.startswith("batchtune "), p.stdout)
p = run("info", check=0)
c.check("cpu:" in p.stdout and "hdf5" in p.stdout, p.stdout)
c.finish()
