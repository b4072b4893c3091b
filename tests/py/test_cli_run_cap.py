"""--run-cap N and --log -: a capped run trains the first N grid points (or N random trials), as
`validate --run-cap N` plans; the journal remembers the cap, so a resume needs the same one (a
different cap or none is another sweep: 65), and a capped run killed mid-way resumes to the results
of an uninterrupted capped run. With --log - stdout holds only JSON lines (the summary goes to
stderr), and re-running a finished sweep emits sweep_start and sweep_end with already_finished."""
import itertools
import json
import os
import subprocess

from btutil import BIN, Checker, SRC, results_tables, run, sweep_file, wait_journal, workdir, write_sweep, need

need("h5py", "numpy")
import h5py
import numpy as np

c = Checker("test_cli_run_cap")
d = workdir("cli_run_cap")
data = os.path.join(SRC, "sweeps", "examples")

# a W&B grid with int_uniform and q_uniform: 4 x 4 x 2 points
grid = {
    "method": "grid",
    "metric": {"name": "val_loss"},
    "parameters": {
        "max_depth": {"distribution": "int_uniform", "min": 2, "max": 5},
        "eta": {"distribution": "q_uniform", "min": 0.1, "max": 0.5, "q": 0.1},
        "lambda": {"values": [0.5, 2.0]},
    },
    "model": {"type": "gbdt", "num_round": 6},
    "dataset": {"path": "data/boston.csv", "target": "MEDV"},
}
g = write_sweep(os.path.join(d, "grid.json"), grid, data)
points = list(itertools.product(range(2, 6), np.arange(0.1, 0.5, 0.1).tolist(), [0.5, 2.0]))

r = run("validate", g, check=0)
c.check("trials     32 (" in r.stdout and "int_uniform [2, 5], 4 grid points" in r.stdout, r.stdout)
r = run("validate", g, "--run-cap", 5, check=0)
c.check("trials     5 (" in r.stdout, r.stdout)
c.check("run cap    5 (--run-cap; the sweep's: none; the first 5 of 32 grid points)" in r.stdout, r.stdout)
for bad in ("0", "-3", "x", "2.5"):
    r = run("validate", g, "--run-cap", bad, check=2)
    c.check("--run-cap takes an integer >= 1" in r.stderr, r.stderr)
run("run", g, "--run-cap", "0", check=2)

# the full grid, then a capped run: its trials are the first 5 points, bit for bit
full = os.path.join(d, "full.h5")
run("run", g, "--out", full, "--fresh", "--quiet", check=0)
with h5py.File(full) as f:
    t = f["trials"][:]
    c.check(len(t) == 32 and "run_cap_override" not in f.attrs, len(t))
    got = [(int(a), float(b), float(l)) for a, b, l in zip(t["max_depth"], t["eta"], t["lambda"])]
    c.check(got == points, f"grid order and values {got[:6]} vs {points[:6]}")
    c.check(f.attrs["metric"] == "rmse" and f.attrs["metric_as_written"] == "val_loss", dict(f.attrs))
capped = os.path.join(d, "capped.h5")
run("run", g, "--out", capped, "--fresh", "--quiet", "--run-cap", 5, check=0)
with h5py.File(capped) as f:
    tc = f["trials"][:]
    c.check(len(tc) == 5 and int(f.attrs["run_cap_override"]) == 5, len(tc))
c.check(all(np.array_equal(tc[n], t[:5][n]) for n in tc.dtype.names if n not in ("seconds", "device")),
        "the capped trials are the full grid's first 5")
header = json.loads(open(capped + ".journal").readline())
c.check(header.get("run_cap") == "5", header)

# the cap is part of the sweep's identity for a resume
r = run("run", g, "--out", capped, "--quiet", check=65)
c.check("was started with --run-cap 5 and this run has no --run-cap" in r.stderr, r.stderr)
r = run("run", g, "--out", capped, "--quiet", "--run-cap", 6, check=65)
c.check("--run-cap 5 and this run has --run-cap 6" in r.stderr, r.stderr)
r = run("run", g, "--out", full, "--quiet", "--run-cap", 5, check=65)
c.check("was started with no --run-cap and this run has --run-cap 5" in r.stderr, r.stderr)
r = run("run", g, "--out", capped, "--quiet", "--run-cap", 5, check=0)
c.check("already finished (5 trials)" in r.stdout, r.stdout)

# random search: --run-cap overrides the file's run_cap
s = sweep_file("breast-cancer-asha.json")
s["run_cap"] = 60
s["execution"] = {"max_pack": 16}
asha = write_sweep(os.path.join(d, "asha.json"), s, data)
ref = os.path.join(d, "asha-ref.h5")
run("run", asha, "--out", ref, "--fresh", "--quiet", "--run-cap", 24, check=0)
ref_t, ref_h, ref_r = results_tables(ref)
c.check(len(ref_t) == 24, len(ref_t))
r = run("validate", asha, "--run-cap", 24, check=0)
c.check("trials     24 (" in r.stdout and "the sweep's: 60)" in r.stdout, r.stdout)

# a capped run killed mid-way resumes (with its cap) to the uninterrupted capped results
out = os.path.join(d, "asha-killed.h5")
for stale in (out, out + ".journal"):
    if os.path.exists(stale):
        os.remove(stale)
ref_lines = sum(1 for _ in open(ref + ".journal"))
p = subprocess.Popen([BIN, "run", asha, "--out", out, "--fresh", "--quiet", "--run-cap", "24",
                      "--checkpoint-every", "0.05"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
killed = wait_journal(p, out + ".journal", ref_lines // 2)
if killed:
    p.kill()
p.wait()
if not killed:
    print("note: the capped sweep finished before the kill")
run("run", asha, "--out", out, "--quiet", check=65)  # without the cap: refused, nothing changed
run("run", asha, "--out", out, "--quiet", "--run-cap", 24, check=0)
t2, h2, r2 = results_tables(out)
c.check(np.array_equal(t2, ref_t) and np.array_equal(h2, ref_h) and np.array_equal(r2, ref_r),
        "killed capped run + resume == uninterrupted capped run")

# --log -: stdout is JSON lines only; the summary is on stderr
logged = os.path.join(d, "logged.h5")
r = run("run", g, "--out", logged, "--fresh", "--log", "-", "--run-cap", 4, check=0)
lines = r.stdout.splitlines()
events = [json.loads(x) for x in lines]  # every line parses
names = [e["event"] for e in events]
c.check(names[0] == "sweep_start" and names[-1] == "sweep_end", names)
c.check(events[0]["already_finished"] is False and events[-1]["already_finished"] is False, events[-1])
c.check("trial_start" in names and "report" in names, names)
c.check("4 trials (4 completed" in r.stderr and "see: batchtune report" in r.stderr, r.stderr)
# a finished sweep: exactly sweep_start and sweep_end, both already_finished
r = run("run", g, "--out", logged, "--log", "-", "--run-cap", 4, check=0)
events = [json.loads(x) for x in r.stdout.splitlines()]
c.check([e["event"] for e in events] == ["sweep_start", "sweep_end"], r.stdout)
c.check(all(e["already_finished"] is True for e in events), events)
c.check(events[-1]["completed"] == 4 and events[-1]["status"] == "finished", events[-1])
c.check("already finished" in r.stderr and "training on" not in r.stderr, r.stderr)
# the same through a log file
logf = os.path.join(d, "events.jsonl")
if os.path.exists(logf):
    os.remove(logf)
run("run", g, "--out", logged, "--log", logf, "--run-cap", 4, check=0)
events = [json.loads(x) for x in open(logf)]
c.check([e["event"] for e in events] == ["sweep_start", "sweep_end"], events)
c.finish()
