"""The mlp family end to end through the CLI: a small MLP grid on digits reaches >= 97% validation
accuracy with per-epoch history; the same sweep run one trial at a time (max_pack 1) gives
bit-identical metrics; an ASHA sweep over epochs prunes and promotes; a regression MLP on Boston
beats predicting the mean; sweeps/mlp-digits.json validates."""
import os

from btutil import Checker, SRC, run, sweep_file, workdir, write_sweep, need

need("h5py", "pandas", "numpy")
import h5py
import numpy as np
import pandas

c = Checker("test_nn_digits")
d = workdir("nn_digits")
data = os.path.join(SRC, "sweeps", "examples")


def run_sweep(name, sweep):
    path = write_sweep(os.path.join(d, name + ".json"), sweep, data)
    out = os.path.join(d, name + ".h5")
    run("run", path, "--out", out, "--fresh", "--quiet", check=0, timeout=300)
    f = h5py.File(out)
    return pandas.DataFrame(f["trials"][:]), pandas.DataFrame(f["history"][:])


digits = {
    "method": "grid",
    "metric": {"name": "validation/accuracy", "goal": "maximize"},
    "parameters": {
        "lr": {"values": [0.003, 0.01]},
        "optimizer": {"values": ["adam", "sgd"]},
    },
    "model": {"type": "mlp", "width": 64, "depth": 1, "batch_size": 32, "epochs": 15,
              "nesterov": True},
    "dataset": {"path": "data/digits.csv.gz", "target": "target", "valid_fraction": 0.2, "split_seed": 3},
    "seed": 7,
}
df, hist = run_sweep("digits", digits)
c.check(len(df) == 4 and (df.status == b"completed").all(), df.status.tolist())
c.check(df.metric.max() >= 0.97, f"best validation accuracy {df.metric.max()}")
c.check(set(df.columns[9:]) == {"lr", "optimizer"}, list(df.columns))
acc = hist[hist.metric == b"accuracy"]
c.check(sorted(acc.resource.unique()) == list(range(1, 16)), sorted(acc.resource.unique()))
best = df.loc[df.metric.idxmax()].trial_id
curve = acc[acc.trial_id == best].sort_values("resource").value.to_numpy()
c.check(len(curve) == 15 and curve[-1] > curve[0], f"accuracy curve {curve}")
ll = hist[(hist.metric == b"mlogloss") & (hist.trial_id == best)]
c.check(len(ll) == 1 and ll.value.iloc[0] < 0.2, ll.to_string())
c.check(set(hist.metric.unique()) == {b"accuracy", b"merror", b"mlogloss"}, hist.metric.unique())

# one trial at a time: the same numbers, to the bit
alone = dict(digits, execution={"max_pack": 1})
df1, hist1 = run_sweep("digits_alone", alone)
c.check(np.array_equal(df.metric.to_numpy(), df1.metric.to_numpy()),
        f"{df.metric.tolist()} != {df1.metric.tolist()}")
m = hist.merge(hist1, on=["trial_id", "resource", "metric"])
c.check(len(m) == len(hist) and (m.value_x == m.value_y).all(), "history identical")

# ASHA over epochs
asha = {
    "method": "random",
    "run_cap": 12,
    "metric": {"name": "mlogloss", "goal": "minimize"},
    "parameters": {
        "lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 3e-2},
        "dropout": {"values": [0.0, 0.2]},
    },
    "scheduler": {"type": "asha", "min_resource": 1, "max_resource": 9, "eta": 3},
    "model": {"type": "mlp", "width": 32, "depth": 1, "batch_size": 64},
    "dataset": {"path": "data/digits.csv.gz", "target": "target", "valid_fraction": 0.2, "split_seed": 3},
    "seed": 3,
}
df, hist = run_sweep("digits_asha", asha)
c.check(len(df) == 12, len(df))
c.check((df.status == b"pruned").sum() > 0 and (df.resource == 9).sum() >= 1, df[["status", "resource"]].to_string())
c.check(set(df.resource.unique()) <= {1, 3, 9}, sorted(df.resource.unique()))

# regression on Boston: rmse well under the target's std (about 9)
boston = {
    "method": "grid",
    "metric": {"name": "rmse", "goal": "minimize"},
    "parameters": {"lr": {"values": [0.003, 0.01]}},
    "model": {"type": "mlp", "objective": "regression", "width": 32, "depth": 2, "epochs": 30,
              "batch_size": 32, "weight_decay": 1e-4},
    "dataset": {"path": "data/boston.csv", "target": "MEDV", "valid_fraction": 0.2, "split_seed": 1},
    "seed": 1,
}
df, hist = run_sweep("boston", boston)
c.check((df.status == b"completed").all() and df.metric.min() < 5.0, f"rmse {df.metric.tolist()}")
c.check(set(hist.metric.unique()) == {b"rmse", b"mse", b"mae"}, hist.metric.unique())

# the example sweep file parses as it is
p = run("validate", os.path.join(SRC, "sweeps", "examples", "mlp-digits.json"), check=0)
c.finish()
