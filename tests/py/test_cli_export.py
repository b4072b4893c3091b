"""Export round trip through the CLI: the best trial's model (stored in results.h5) and another
trial's (retrained from the recorded sweep) load in xgboost.Booster and reproduce the validation
metric batchtune recorded; and bad data files exit 65 naming file and line."""
import json
import os

from btutil import Checker, SRC, run, workdir, write_sweep, need

need("h5py", "numpy", "xgboost", "pandas")
import h5py
import numpy as np
import pandas
import xgboost as xgb

c = Checker("test_cli_export")
d = workdir("cli_export")
rng = np.random.default_rng(5)

# explicit train/valid CSVs so the test knows the validation rows
n, f = 600, 6
X = np.round(rng.normal(size=(n, f)), 2)
X[rng.random((n, f)) < 0.05] = np.nan
logit = X[:, 0] - 0.5 * np.nan_to_num(X[:, 1]) + 0.3 * X[:, 2] * np.nan_to_num(X[:, 3])
y = (np.nan_to_num(logit) + rng.normal(scale=0.5, size=n) > 0).astype(int)
cols = [f"f{i}" for i in range(f)]
pandas.DataFrame(np.c_[X[:450], y[:450]], columns=cols + ["label"]).to_csv(os.path.join(d, "train.csv"), index=False)
pandas.DataFrame(np.c_[X[450:], y[450:]], columns=cols + ["label"]).to_csv(os.path.join(d, "valid.csv"), index=False)
Xv, yv = X[450:], y[450:]

sweep = {
    "method": "grid",
    "metric": {"name": "logloss", "goal": "minimize"},
    "parameters": {"eta": {"values": [0.1, 0.3]}, "max_depth": {"values": [2, 4]}, "lambda": {"values": [0.5, 2.0]}},
    "model": {"type": "gbdt", "objective": "binary:logistic", "num_round": 25},
    "dataset": {"train": "train.csv", "valid": "valid.csv", "target": "label"},
}
p = write_sweep(os.path.join(d, "sweep.json"), sweep)
out = os.path.join(d, "r.h5")
run("run", p, "--out", out, "--fresh", "--quiet", check=0)
df = pandas.DataFrame(h5py.File(out)["trials"][:])
best = int(h5py.File(out)["best"].attrs["trial_id"])


def logloss(pr, yy):
    pr = np.clip(pr, 1e-16, 1 - 1e-16)
    return float(np.mean(-(yy * np.log(pr) + (1 - yy) * np.log(1 - pr))))


for trial in (best, (best + 3) % len(df)):
    m = os.path.join(d, f"model{trial}.json")
    run("export", out, "--trial", trial, "-o", m, check=0)
    json.load(open(m))
    bst = xgb.Booster(model_file=m)
    pr = bst.predict(xgb.DMatrix(Xv, missing=np.nan))
    ll = logloss(pr, yv)
    rec = float(df.metric[trial])
    c.check(abs(ll - rec) <= 1e-5 * max(1.0, abs(rec)), f"trial {trial}: xgboost says {ll}, batchtune recorded {rec}")

# a trial the results never trained is refused before the data is read (here it is gone)
os.rename(os.path.join(d, "train.csv"), os.path.join(d, "train.csv.away"))
r = run("export", out, "--trial", 9999, "-o", os.path.join(d, "none.json"), check=2)
c.check("never trained" in r.stderr, r.stderr)
os.rename(os.path.join(d, "train.csv.away"), os.path.join(d, "train.csv"))

# bad data: exit 65 with file:line
bad = os.path.join(d, "ragged.csv")
with open(bad, "w") as fh:
    fh.write("a,b,label\n1,2,0\n3,4\n5,6,1\n")
sweep["dataset"] = {"path": "ragged.csv", "target": "label"}
p = write_sweep(os.path.join(d, "bad.json"), sweep)
r = run("run", p, "--out", os.path.join(d, "bad.h5"), "--fresh", "--quiet", check=65)
c.check("ragged.csv:3" in r.stderr, r.stderr)
with open(bad, "w") as fh:
    fh.write("a,b,label\n1,2,0\n3,x,1\n5,6,1\n")
r = run("run", p, "--out", os.path.join(d, "bad.h5"), "--fresh", "--quiet", check=65)
c.check("ragged.csv:3" in r.stderr, r.stderr)
with open(bad, "w") as fh:
    fh.write("a,b,label\n1,2,0\n3,4,2\n5,6,1\n")
r = run("run", p, "--out", os.path.join(d, "bad.h5"), "--fresh", "--quiet", check=65)
c.check("ragged.csv:3" in r.stderr or "label" in r.stderr, r.stderr)
sweep["dataset"] = {"path": "missing.csv", "target": "label"}
p = write_sweep(os.path.join(d, "missing.json"), sweep)
run("run", p, "--out", os.path.join(d, "bad.h5"), "--fresh", "--quiet", check=66)
c.finish()
