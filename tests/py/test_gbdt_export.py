"""xgboost-json export: every trial of a pack, exported by batchtune, loads in xgboost 1.7
(Booster(model_file=...)) and predicts -- margins and probabilities -- what batchtune computed for
the same validation rows, within 1e-5 relative. Covers the three objectives, missing values,
subsampling and column sampling (the export must hold whatever trees were grown)."""
import os
import sys

import numpy as np

from gbdt_common import load_csv, run_fit, skip, split

try:
    import xgboost as xgb
except ImportError:
    skip("xgboost not installed")


def softmax(m):
    e = np.exp(m - m.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def close(a, b, tol=1e-5):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-3)))


def case(name, X, y, base, trials, rounds=8):
    rng = np.random.default_rng(len(name))
    X = X.copy()
    X[rng.random(X.shape) < 0.1] = np.nan
    Xtr, ytr, Xva, yva = split(X, y, seed=3)
    ts = [dict(base, **t) for t in trials]
    res, d = run_fit("export_" + name, Xtr, ytr, Xva, yva, ts, rounds, [], export=True, seed=11)
    worst = 0.0
    for i, t in enumerate(ts):
        path = os.path.join(d, "trial_%d.json" % i)
        bst = xgb.Booster(model_file=path)
        dva = xgb.DMatrix(Xva, missing=np.nan)
        margin = bst.predict(dva, output_margin=True)
        prob = bst.predict(dva)
        k = int(t.get("num_class", 1)) if t["objective"] == "multi:softprob" else 1
        ours = np.fromfile(os.path.join(d, "trial_%d.margin.f32" % i), dtype=np.float32)
        ours = ours.reshape(len(yva), k)
        if k == 1:
            ours = ours[:, 0]
            our_prob = 1 / (1 + np.exp(-ours.astype(np.float64))) \
                if t["objective"] == "binary:logistic" else ours
        else:
            our_prob = softmax(ours.astype(np.float64))
        e = max(close(ours, margin), close(our_prob, prob))
        worst = max(worst, e)
        n_trees = len(bst.get_dump())
        assert n_trees == rounds * k, (name, n_trees)
        if e > 1e-5:
            print("MISMATCH %s trial %d: rel err %.3g" % (name, i, e))
            return worst, 1
    return worst, 0


def main():
    bad = 0
    trials = [{"eta": 0.3, "max_depth": 4},
              {"eta": 0.5, "max_depth": 6, "lambda": 0.5, "alpha": 0.2, "subsample": 0.7},
              {"eta": 0.2, "max_depth": 3, "colsample_bytree": 0.6, "colsample_bylevel": 0.7},
              {"eta": 1.0, "max_depth": 2, "gamma": 1.0, "min_child_weight": 3}]
    X, y = load_csv("boston_house_prices.csv")
    w, b = case("reg", X, y, {"objective": "reg:squarederror"}, trials)
    print("export reg: max rel err %.3g" % w)
    bad += b
    X, y = load_csv("breast_cancer.csv")
    w, b = case("bin", X, y, {"objective": "binary:logistic"}, trials)
    print("export bin: max rel err %.3g" % w)
    bad += b
    X, y = load_csv("wine_data.csv")
    w, b = case("multi", X, y, {"objective": "multi:softprob", "num_class": 3}, trials)
    print("export multi: max rel err %.3g" % w)
    bad += b
    print("FAIL" if bad else "PASS")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
