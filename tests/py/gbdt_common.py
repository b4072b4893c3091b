"""Helpers shared by the gbdt python tests: data sets, running bt_gbdt_fit on a pack of trials,
and running the same trials one by one with xgboost for comparison."""
import json
import os
import subprocess
import sys

import numpy as np

SK = "/usr/lib/python3/dist-packages/sklearn/datasets/data/"


def skip(msg):
    print("SKIP:", msg)
    sys.exit(77)


def tool():
    d = os.environ.get("BT_TOOLS_DIR")
    if not d:
        here = os.path.dirname(os.path.abspath(__file__))
        d = os.path.join(here, "..", "..", "build", "tests", "tools")
    exe = os.path.join(d, "bt_gbdt_fit")
    if not os.path.exists(exe):
        skip("bt_gbdt_fit not built")
    return exe


def tmpdir(name):
    base = os.environ.get("BT_TEST_TMP", "/tmp")
    d = os.path.join(base, name)
    os.makedirs(d, exist_ok=True)
    return d


def load_csv(name):
    path = SK + name
    if not os.path.exists(path):
        skip("missing " + path)
    a = np.loadtxt(path, delimiter=",", skiprows=2 if name.startswith("boston") else 1,
                   dtype=np.float64)
    return a[:, :-1].astype(np.float32), a[:, -1].astype(np.float32)


def split(X, y, seed=0, frac=0.8):
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(y))
    k = int(frac * len(y))
    return X[idx[:k]], y[idx[:k]], X[idx[k:]], y[idx[k:]]


def run_fit(name, Xtr, ytr, Xva, yva, trials, rounds, metrics, threads=1, export=False, seed=0):
    d = tmpdir(name)
    files = {}
    for k, a in (("xtr", Xtr), ("ytr", ytr), ("xva", Xva), ("yva", yva)):
        files[k] = os.path.join(d, k + ".f32")
        np.ascontiguousarray(a, dtype=np.float32).tofile(files[k])
    tpath = os.path.join(d, "trials.txt")
    with open(tpath, "w") as f:
        for t in trials:
            f.write(" ".join("%s=%s" % (k, repr(v) if isinstance(v, float) else v)
                             for k, v in t.items()) + "\n")
    cmd = [tool(), "--train", files["xtr"], files["ytr"], str(Xtr.shape[0]), str(Xtr.shape[1]),
           "--valid", files["xva"], files["yva"], str(Xva.shape[0]), "--trials", tpath,
           "--rounds", str(rounds), "--metrics", ",".join(metrics), "--threads", str(threads),
           "--seed", str(seed)]
    if export:
        cmd += ["--export", d]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    res = json.loads(out)["trials"]
    return res, d


def run_xgb(Xtr, ytr, Xva, yva, trial, rounds, metrics, nthread=1):
    import xgboost as xgb
    p = {"tree_method": "hist", "nthread": nthread}
    p.update(trial)
    p["eval_metric"] = list(metrics)
    dtr = xgb.DMatrix(Xtr, label=ytr, missing=np.nan)
    dva = xgb.DMatrix(Xva, label=yva, missing=np.nan)
    ev = {}
    bst = xgb.train(p, dtr, rounds, evals=[(dva, "v")], evals_result=ev, verbose_eval=False)
    return {m: ev["v"][m] for m in metrics}, bst


def rel_err(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return np.abs(a - b) / np.maximum(np.abs(b), 1e-6)
