"""Parity of batchtune's XGBoost knobs with xgboost 1.7 (tree_method=hist), on scikit-learn's
breast cancer set (exact cuts: max_bin 1024):
- scale_pos_weight: per-round validation logloss, auc and error equal xgboost.train's within
  1e-4 relative, for binary:logistic and reg:squarederror (0/1 labels: XGBoost weighs rows
  labelled exactly 1 in both), over several eta/max_depth/lambda/... settings;
- early_stopping_rounds: the same stopping round and best_iteration as xgboost.train with
  early_stopping_rounds (the last eval_metric watched; auc maximized), the same per-round metric
  up to the stop, and final valid margins equal to xgboost's prediction with
  iteration_range=(0, best_iteration + 1) (batchtune keeps the best round's model)."""
import os
import sys

from btutil import need

need("numpy", "xgboost")
import numpy as np  # noqa: E402

from gbdt_common import load_csv, rel_err, run_fit, skip, split  # noqa: E402
from test_gbdt_parity import check_case  # noqa: E402

try:
    import xgboost as xgb
except ImportError:
    skip("xgboost not installed")

TOL = 1e-4


def check_spw(Xtr, ytr, Xva, yva, report, ties):
    bad = 0
    binm = ["logloss", "auc", "error"]
    for i, spw in enumerate([3.0, 0.4]):
        base = {"objective": "binary:logistic", "max_bin": 1024, "base_score": 0.5,
                "scale_pos_weight": spw}
        bad += check_case("spw%g" % spw, Xtr, ytr, Xva, yva, base, binm, 6, 20 + i, report, ties)
    reg = {"objective": "reg:squarederror", "max_bin": 1024, "base_score": 0.5,
           "scale_pos_weight": 2.5}
    bad += check_case("spw_reg", Xtr, ytr, Xva, yva, reg, ["rmse"], 4, 30, report, ties)
    return bad


def xgb_early(Xtr, ytr, Xva, yva, trial, rounds, metrics, esr):
    p = {"tree_method": "hist", "nthread": 1}
    p.update({k: v for k, v in trial.items() if k not in ("eval_metric", "early_stopping_rounds")})
    p["eval_metric"] = list(metrics)
    dtr = xgb.DMatrix(Xtr, label=ytr, missing=np.nan)
    dva = xgb.DMatrix(Xva, label=yva, missing=np.nan)
    ev = {}
    bst = xgb.train(p, dtr, rounds, evals=[(dva, "v")], evals_result=ev, verbose_eval=False,
                    early_stopping_rounds=esr)
    margin = bst.predict(dva, output_margin=True, iteration_range=(0, bst.best_iteration + 1))
    return ev["v"], bst.best_iteration, bst.num_boosted_rounds(), margin


def check_early(Xtr, ytr, Xva, yva):
    """Each case: metrics listed to xgboost (the last one is watched), trial parameters."""
    rounds = 300
    cases = [
        (["auc", "logloss"], {"eta": 0.3, "max_depth": 4}, 5),
        (["logloss", "auc"], {"eta": 0.3, "max_depth": 3, "lambda": 2.0}, 4),
        (["error", "logloss"], {"eta": 0.5, "max_depth": 6, "scale_pos_weight": 2.0}, 3),
        (["logloss"], {"eta": 0.1, "max_depth": 2, "min_child_weight": 3.0}, 10),
    ]
    trials = []
    for metrics, t, esr in cases:
        tr = {"objective": "binary:logistic", "max_bin": 1024, "base_score": 0.5,
              "early_stopping_rounds": esr}
        tr.update(t)
        if len(metrics) > 1:  # one case relies on the default: the objective's own metric
            tr["eval_metric"] = ",".join(metrics)
        trials.append(tr)
    watched = sorted({m for ms, _, _ in cases for m in ms})
    res, d = run_fit("early", Xtr, ytr, Xva, yva, trials, rounds, watched, export=True)
    bad = 0
    for ti, ((metrics, t, esr), tr, r) in enumerate(zip(cases, trials, res)):
        ev, best_it, n_rounds, margin = xgb_early(Xtr, ytr, Xva, yva, tr, rounds, metrics, esr)
        w = metrics[-1]
        ours = np.array(r["metrics"][w], dtype=np.float64)
        # ours: the curve up to the stop, then the best round's value for every later step
        assert n_rounds < rounds, "xgboost did not stop: choose a case that does"
        e = rel_err(ours[:n_rounds - 1], ev[w][:n_rounds - 1])
        flat = ours[n_rounds - 1:]
        our_best = ours[best_it]
        # stopped on xgboost's round: the curve follows xgboost's up to there, and from there
        # on holds the best round's value (which a later or earlier stop would not)
        ok = np.all(e <= TOL) and np.all(flat == our_best) and ours[n_rounds - 2] != our_best
        mg = np.fromfile(os.path.join(d, "trial_%d.margin.f32" % ti), dtype=np.float32)
        me = float(np.max(np.abs(mg - margin) / np.maximum(np.abs(margin), 1e-6)))
        print("early %s esr %d watching %-8s xgboost: best_iteration %d, %d rounds; curve max "
              "rel err %.3g, best-round margins max rel err %.3g" %
              (t, esr, w, best_it, n_rounds, float(np.max(e)), me))
        if not ok or me > TOL:
            bad += 1
            print("MISMATCH early stopping case %d" % ti)
    return bad


def main():
    X, y = load_csv("breast_cancer.csv")
    Xtr, ytr, Xva, yva = split(X, y, seed=4)
    report, ties = [], []
    bad = check_spw(Xtr, ytr, Xva, yva, report, ties)
    for name, m, w in report:
        print("parity %-12s %-8s max rel err %.3g" % (name, m, w))
    for name, m, t, i, diff in ties:
        print("float tie %s %s round %d: %s" % (name, m, i, t))
    if len(ties) > 3:
        print("FAIL: too many float ties (%d)" % len(ties))
        return 1
    bad += check_early(Xtr, ytr, Xva, yva)
    if bad:
        print("FAIL: %d mismatches beyond %g" % (bad, TOL))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
