"""The example sweeps run as they are: the ASHA search prunes and promotes by its rule, the
Hyperband sweep follows the R=81, eta=3 bracket table, and a W&B sweep file with only `model`
and `dataset` added runs unchanged (early_terminate included)."""
import json
import os
import shutil

from btutil import Checker, SRC, run, workdir, need

need("h5py", "numpy", "pandas")
import h5py
import numpy as np
import pandas

c = Checker("test_sweeps_examples")
d = workdir("examples")


def run_example(name):
    out = os.path.join(d, os.path.splitext(name)[0] + ".h5")
    run("run", os.path.join(SRC, "sweeps", "examples", name), "--out", out, "--fresh", "--quiet", check=0, timeout=600)
    f = h5py.File(out)
    return f, pandas.DataFrame(f["trials"][:]), pandas.DataFrame(f["rungs"][:])


# ASHA on breast cancer
f, df, rungs = run_example("breast-cancer-asha.json")
c.check(len(df) == 200, len(df))
st = df.status.value_counts()
c.check(st.get(b"pruned", 0) > 100 and st.get(b"completed", 0) >= 1, dict(st))
c.check(set(df.resource.unique()) <= {9, 27, 81, 243}, sorted(df.resource.unique()))
c.check((df[df.status == b"completed"].resource == 243).all(), "completed trials reached 243")
c.check(df.metric.notna().all(), "every trial has a metric")
c.check(df.metric.min() < 0.2, f"best logloss {df.metric.min()}")

# Hyperband on digits
f, df, rungs = run_example("digits-hyperband.json")
c.check(len(df) == 143, len(df))
for b, sizes in enumerate([[81, 27, 9, 3, 1], [34, 11, 3, 1], [15, 5, 1], [8, 2], [5]]):
    got = [int(((rungs.bracket == b) & (rungs.rung == k)).sum()) for k in range(len(sizes))]
    c.check(got == sizes, f"bracket {b}: {got} != {sizes}")
c.check((df.status == b"completed").sum() == 10, "one survivor per rung-ladder end: 1+1+1+2+5")
best = df.loc[df.metric.idxmin()]
c.check(best.resource == 81 and best.metric < 0.3, f"best mlogloss {best.metric} at {best.resource}")
acc = pandas.DataFrame(f["history"][:])
acc = acc[(acc.metric == b"accuracy") & (acc.resource == 81)]
c.check(len(acc) == 10 and acc.value.max() > 0.93, f"accuracy at 81 rounds: {acc.value.max()}")

# W&B file unchanged
f, df, rungs = run_example("wandb-early-terminate.json")
c.check(len(df) == 40, len(df))
c.check(set(df.columns[9:]) == {"learning_rate", "max_depth", "subsample", "num_boost_round"}, list(df.columns))
c.check((df.status == b"pruned").sum() > 0, "the hyperband rule stopped some runs")
c.check(set(df.resource.unique()) <= {3, 9, 27, 60}, sorted(df.resource.unique()))
pruned = df[df.status == b"pruned"]
c.check(len(pruned) > 0 and (pruned.resource < 60).all(), "pruned runs stopped before 60 rounds")
h = pandas.DataFrame(f["history"][:])
c.check(h.groupby("trial_id").resource.max().loc[pruned.trial_id].lt(60).all(),
        "no pruned trial trained past its band")
c.check(f.attrs["scheduler"] in ("wandb-hyperband", b"wandb-hyperband"), f.attrs["scheduler"])
# W&B's XGBoost tutorial sweep, YAML with only model and dataset added: random and bayes
for name in ("wandb-xgboost.yaml", "wandb-xgboost-bayes.yaml"):
    f, df, _ = run_example(name)
    c.check(len(df) == 20 and (df.status == b"completed").all(), f"{name}: 20 completed")
    c.check(set(df.booster.unique()) <= {b"gbtree", b"gblinear"}, f"{name}: boosters {df.booster.unique()}")
    c.check(df.metric.max() > 0.95, f"{name}: best accuracy {df.metric.max()}")
    c.check(f.attrs["metric"] in ("accuracy", b"accuracy"), f"{name}: metric {f.attrs['metric']}")
c.check(len(set(df.booster.unique())) == 2, "bayes tried both boosters")

c.finish()

