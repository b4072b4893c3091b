"""A W&B sweep file with `program` / `command` and a `model` block: batchtune trains the model
natively and says that the program is not run -- on stderr (validate, run, bench), in the event log
(a `warning` event after sweep_start) and in the results (the `warnings` attribute); without a
program nothing is said."""
import json
import os

from btutil import Checker, SRC, run, workdir, write_sweep, need

need("h5py")
import h5py

c = Checker("test_cli_program_warning")
d = workdir("cli_program_warning")
data = os.path.join(SRC, "sweeps", "examples", "data")
sweep = {
    "program": "train.py",
    "command": ["${env}", "python", "${program}", "${args}"],
    "method": "random",
    "run_cap": 2,
    "parameters": {"eta": {"values": [0.1, 0.3]}},
    "model": {"type": "xgboost", "num_round": 3},
    "dataset": {"path": os.path.join(data, "boston.csv"), "target": "MEDV"},
}
p = write_sweep(os.path.join(d, "prog.json"), sweep)
said = "program 'train.py' (and command"
r = run("validate", p, check=0)
c.check(said in r.stderr and "is not run" in r.stderr and "trained natively" in r.stderr, r.stderr)
out, log = os.path.join(d, "prog.h5"), os.path.join(d, "prog.jsonl")
if os.path.exists(log):
    os.remove(log)
r = run("run", p, "--out", out, "--fresh", "--quiet", "--log", log, check=0)
c.check(r.stderr.count(said) == 1, r.stderr)
events = [json.loads(x) for x in open(log)]
names = [e["event"] for e in events]
warn = [e for e in events if e["event"] == "warning"]
c.check(names[0] == "sweep_start" and len(warn) == 1 and "is not run" in warn[0]["message"], events[:3])
with h5py.File(out) as f:
    w = [x.decode() if isinstance(x, bytes) else x for x in f.attrs["warnings"]]
c.check(len(w) == 1 and said in w[0] and "gbdt" in w[0], w)
r = run("bench", p, "--rounds", 2, check=0)
c.check(said in r.stderr, r.stderr)

# command alone, and neither
del sweep["program"]
p = write_sweep(os.path.join(d, "cmd.json"), sweep)
r = run("validate", p, check=0)
c.check("the sweep's command [" in r.stderr and "is not run" in r.stderr, r.stderr)
del sweep["command"]
p = write_sweep(os.path.join(d, "plain.json"), sweep)
r = run("validate", p, check=0)
c.check("warning" not in r.stderr, r.stderr)
out = os.path.join(d, "plain.h5")
run("run", p, "--out", out, "--fresh", "--quiet", check=0)
with h5py.File(out) as f:
    c.check("warnings" not in f.attrs, list(f.attrs))
c.finish()
