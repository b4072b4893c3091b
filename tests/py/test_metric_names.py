"""Metric names and the classification scores through the CLI: f1, precision and recall of the
gbdt family (as the sweep spells them: val_f1, validation/precision, val/recall) equal
scikit-learn's on the predictions of the exported models -- binary on breast-cancer (class 1
positive), macro-averaged on wine (3 classes); the results keep the canonical name in `metric` and
the spelling in `metric_as_written`; an mlp sweep ranks by val_f1 too; and a misspelt accuracy is
never offered auc."""
import os

from btutil import Checker, SRC, run, workdir, write_sweep, need

need("h5py", "numpy", "xgboost", "pandas", "sklearn")
import h5py
import numpy as np
import pandas
import xgboost as xgb
from sklearn.metrics import f1_score, precision_score, recall_score

c = Checker("test_metric_names")
d = workdir("metric_names")
data = os.path.join(SRC, "sweeps", "examples", "data")


def split(name, target):
    df = pandas.read_csv(os.path.join(data, name))
    rng = np.random.default_rng(11)
    idx = rng.permutation(len(df))
    cut = int(0.7 * len(df))
    tr, va = df.iloc[idx[:cut]], df.iloc[idx[cut:]]
    stem = name.split(".")[0]
    tr.to_csv(os.path.join(d, stem + "_train.csv"), index=False)
    va.to_csv(os.path.join(d, stem + "_valid.csv"), index=False)
    return stem, va.drop(columns=[target]).to_numpy(dtype=np.float32), va[target].to_numpy()


SCORES = {"f1": f1_score, "precision": precision_score, "recall": recall_score}


def check_gbdt(csv, target, objective, spelling, canonical, extra):
    stem, Xv, yv = split(csv, target)
    sweep = {
        "method": "grid",
        "metric": {"name": spelling},
        "parameters": {"eta": {"values": [0.05, 0.3]}, "max_depth": {"values": [1, 3]}},
        "model": {"type": "gbdt", "objective": objective, "num_round": 8, **extra},
        "dataset": {"train": stem + "_train.csv", "valid": stem + "_valid.csv", "target": target},
    }
    p = write_sweep(os.path.join(d, f"{stem}-{canonical}.json"), sweep, d)
    out = os.path.join(d, f"{stem}-{canonical}.h5")
    run("run", p, "--out", out, "--fresh", "--quiet", check=0)
    f = h5py.File(out)
    c.check(f.attrs["metric"] == canonical, f"{spelling}: metric attribute {f.attrs['metric']}")
    c.check(f.attrs["metric_as_written"] == spelling, f"{spelling}: {f.attrs.get('metric_as_written')}")
    c.check(f.attrs["goal"] == "maximize", f"{spelling}: goal {f.attrs['goal']}")
    df = pandas.DataFrame(f["trials"][:])
    f.close()
    average = "binary" if objective.startswith("binary") else "macro"
    for trial in range(len(df)):
        m = os.path.join(d, f"{stem}-{canonical}-{trial}.json")
        run("export", out, "--trial", trial, "-o", m, check=0)
        pr = xgb.Booster(model_file=m).predict(xgb.DMatrix(Xv))
        pred = (pr > 0.5).astype(int) if pr.ndim == 1 else pr.argmax(axis=1)
        want = SCORES[canonical](yv, pred, average=average, zero_division=0)
        got = float(df.metric[trial])
        c.check(abs(got - want) <= 1e-12, f"{stem} trial {trial} {spelling}: batchtune {got!r}, sklearn {want!r}")
    # the scores are not trivial here
    c.check(0 < df.metric.min() < 1, f"{stem} {spelling}: {list(df.metric)}")


check_gbdt("breast_cancer.csv", "target", "binary:logistic", "val_f1", "f1", {})
check_gbdt("breast_cancer.csv", "target", "binary:logistic", "validation/precision", "precision", {})
check_gbdt("breast_cancer.csv", "target", "binary:logistic", "val/recall", "recall", {})
check_gbdt("wine.csv", "target", "multi:softprob", "f1_score", "f1", {"num_class": 3})
check_gbdt("wine.csv", "target", "multi:softprob", "valid_precision", "precision", {"num_class": 3})
check_gbdt("wine.csv", "target", "multi:softprob", "eval/recall", "recall", {"num_class": 3})

# an mlp sweep ranks by val_f1 (macro over wine's classes); history records it beside the rest
stem = "wine"
sweep = {
    "method": "grid",
    "metric": {"name": "val_f1"},
    "parameters": {"lr": {"values": [0.003, 0.03]}},
    "model": {"type": "mlp", "width": 16, "depth": 1, "epochs": 3},
    "dataset": {"train": "wine_train.csv", "valid": "wine_valid.csv", "target": "target"},
}
p = write_sweep(os.path.join(d, "mlp-f1.json"), sweep, d)
out = os.path.join(d, "mlp-f1.h5")
run("run", p, "--out", out, "--fresh", "--quiet", check=0)
with h5py.File(out) as f:
    c.check(f.attrs["metric"] == "f1" and f.attrs["goal"] == "maximize", dict(f.attrs))
    df = pandas.DataFrame(f["trials"][:])
    names = [n.decode() if isinstance(n, bytes) else n for n in f.attrs["metric_names"]]
c.check(all(0 <= v <= 1 for v in df.metric), list(df.metric))
c.check(names[0] == "f1" and "accuracy" in names and "precision" not in names, names)

# validate shows the canonical name; a misspelt accuracy gets accuracy, never auc
for spelling, want in (("val_acc", "accuracy"), ("Validation/Accuracy", "accuracy"), ("loss", "logloss")):
    sweep = {"method": "random", "run_cap": 2, "metric": {"name": spelling},
             "parameters": {"eta": {"values": [0.1, 0.2]}},
             "model": {"type": "gbdt", "objective": "binary:logistic"},
             "dataset": {"path": os.path.join(data, "breast_cancer.csv"), "target": "target"}}
    p = write_sweep(os.path.join(d, "v.json"), sweep)
    r = run("validate", p, check=0)
    c.check(f"metric     {want} (" in r.stdout, r.stdout)
sweep["metric"] = {"name": "val_accurracy"}
p = write_sweep(os.path.join(d, "v.json"), sweep)
r = run("validate", p, check=65)
c.check("did you mean 'accuracy'?" in r.stderr and "auc" not in r.stderr, r.stderr)
c.finish()
