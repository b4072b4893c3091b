"""YAML sweep files through the CLI: `validate x.yaml` prints the same plan as its JSON twin,
`batchtune x.yaml` and `batchtune x.yml` (the bare form) run and give the JSON twin's results,
report and export read a YAML sweep's results, problems are reported at YAML's LINE:COL, and the
examples' YAML twins match their JSON files. Skips when this build has no libyaml."""
import json
import os
import shutil

from btutil import Checker, SRC, run, sweep_file, workdir, need

need("h5py", "numpy")
import h5py
import numpy as np

try:
    import yaml  # PyYAML, W&B's reader: only to compare the example twins
except ImportError:
    yaml = None

c = Checker("test_cli_yaml")
d = workdir("cli_yaml")
examples = os.path.join(SRC, "sweeps", "examples")

info = run("info", check=0).stdout
if "yaml    no" in info:
    p = run("validate", os.path.join(examples, "boston-grid.yaml"), check=65)
    c.check("libyaml-dev" in p.stderr, p.stderr)
    if c.failed:
        c.finish()
    print("SKIP: this batchtune was built without libyaml (its refusal was checked)")
    raise SystemExit(77)
c.check("yaml    libyaml" in info, info)

# the examples' YAML twins are their JSON files (as PyYAML, W&B's reader, sees them too)
for name in ("boston-grid", "wandb-early-terminate") if yaml else ():
    with open(os.path.join(examples, name + ".yaml")) as f:
        c.check(yaml.safe_load(f) == sweep_file(name + ".json"), f"{name}.yaml differs from its JSON")

# validate: the same plan, the file name aside
data = os.path.join(SRC, "tests", "data", "sweeps")
pj = run("validate", os.path.join(data, "wandb_random.json"), check=0)
py = run("validate", os.path.join(data, "wandb_random.yaml"), check=0)
c.check(pj.stdout.replace("wandb_random.json", "X") == py.stdout.replace("wandb_random.yaml", "X"),
        f"plans differ:\n{pj.stdout}\n---\n{py.stdout}")

# a small grid written as YAML, in the bare form, .yaml and .yml; and its JSON twin
sweep_yaml = f"""# a W&B sweep file, plus model and dataset
method: grid
metric:
  name: val_loss      # the task's loss: mse here
  goal: minimize
parameters:
  eta:
    values: [1e-1, .3]   # YAML 1.2 numbers, as W&B users write them
  max_depth:
    values: [2, 0x4]
  num_round:
    value: !!int "15"
model:
  type: xgboost
  objective: reg:squarederror
dataset:
  path: {os.path.join(examples, "data", "boston.csv")}
  target: MEDV
seed: 3
"""
twin = {
    "method": "grid",
    "metric": {"name": "val_loss", "goal": "minimize"},
    "parameters": {"eta": {"values": [0.1, 0.3]}, "max_depth": {"values": [2, 4]}, "num_round": {"value": 15}},
    "model": {"type": "xgboost", "objective": "reg:squarederror"},
    "dataset": {"path": os.path.join(examples, "data", "boston.csv"), "target": "MEDV"},
    "seed": 3,
}
with open(os.path.join(d, "grid.yaml"), "w") as f:
    f.write(sweep_yaml)
shutil.copy(os.path.join(d, "grid.yaml"), os.path.join(d, "grid.yml"))
with open(os.path.join(d, "grid.json"), "w") as f:
    json.dump(twin, f)

p = run("validate", os.path.join(d, "grid.yaml"), check=0)
c.check("trials     4" in p.stdout, p.stdout)
results = {}
for name in ("grid.yaml", "grid.yml", "grid.json"):
    out = os.path.join(d, name.replace(".", "_") + ".h5")
    if os.path.exists(out):
        os.remove(out)
    # the bare form: `batchtune FILE`, run from the folder with a name and no '/'
    p = run(name, "--out", out, "--fresh", "--quiet", cwd=d, check=0)
    c.check("best: trial" in p.stdout, p.stdout)
    with h5py.File(out) as f:
        results[name] = f["trials"][:]
        if name == "grid.yaml":
            text = f.attrs["sweep"]
            text = text.decode() if isinstance(text, bytes) else text
            c.check(text == sweep_yaml, "the YAML text is stored verbatim")
for name in ("grid.yml", "grid.json"):
    c.check(np.array_equal(results["grid.yaml"]["metric"], results[name]["metric"]), f"{name}: other metrics")
    c.check(results["grid.yaml"].dtype.names == results[name].dtype.names, f"{name}: other columns")

# report and export read the results of a YAML sweep (export re-reads the stored YAML)
out = os.path.join(d, "grid_yaml.h5")
p = run("report", out, "--format", "csv", check=0)
c.check(p.stdout.startswith("trial_id,status,rmse,"), p.stdout)  # named by the metric (val_loss: rmse)
p = run("export", out, "--trial", 1, "-o", os.path.join(d, "m.json"), check=0)
c.check(json.load(open(os.path.join(d, "m.json"))).get("learner") is not None, "an XGBoost model")

# problems at YAML's positions, every one of them
bad = os.path.join(d, "bad.yaml")
with open(bad, "w") as f:
    f.write("method: grid\n"
            "metric: {name: mse, gaol: minimize}\n"
            "parameters:\n"
            "  eta:\n"
            "    values: [0.1, 0.2, high]\n"
            "model: {type: gbdt}\n"
            "dataset: {synthetic: friedman1}\n")
p = run("validate", bad, check=65)
c.check(f"{bad}:2:21: metric.gaol: unknown key 'gaol'" in p.stderr, p.stderr)
c.check(f"{bad}:5:24: parameters.eta.values[2]: eta takes a number" in p.stderr, p.stderr)
with open(bad, "w") as f:
    f.write("method: grid\nmethod: random\n---\nmethod: grid\n")
p = run("validate", bad, check=65)
c.check(f"{bad}:2:1: method: duplicate key (first given at 1:1)" in p.stderr, p.stderr)
with open(bad, "w") as f:
    f.write("method: grid\nparameters:\n\teta: 1\n")
p = run(bad, check=65)
c.check(f"{bad}:3:1:" in p.stderr and "tabs" in p.stderr, p.stderr)

# a file with no known extension is YAML unless it starts with '{' or '['
plain = os.path.join(d, "sweep")
shutil.copy(os.path.join(d, "grid.yaml"), plain)
run("validate", plain, check=0)

c.finish()
