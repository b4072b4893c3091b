#!/usr/bin/python3
"""Search quality of batchtune's methods against Optuna's TPESampler, on a GBDT sweep whose metric
batchtune computes exactly as XGBoost does: scikit-learn's breast-cancer data (one fixed
train/valid split, written as CSV for both sides), six deterministic knobs (eta, max_depth,
min_child_weight, reg_lambda, reg_alpha, gamma), 50 rounds, 40 trials, 10 seeds. For each seed
and method: the best validation logloss after 40 trials. batchtune runs `random`, `bayes` and
`tpe` (at their defaults, and bayes at other concurrencies with --concurrency); Optuna runs its
TPESampler sequentially on the same space with xgboost.train as the objective. Both sides get
base_score explicitly (XGBoost 1.7's default differs from XGBoost 2's and batchtune's), and before
the sweeps six configurations drawn from the space are scored by both: the bench stops if they
differ by more than 1e-4 relative. Reports medians and the ratio to Optuna's median; the JSON
goes to bench/results/. --task boston (reg:squarederror, rmse) and --task wine (multi:softprob,
mlogloss) run the same comparison on scikit-learn's other CSVs.

Optuna comes from PyPI into a venv that sees Debian's xgboost/numpy/h5py:
  python3 -m venv --system-site-packages bench/.venv && bench/.venv/bin/pip install optuna
  bench/.venv/bin/python bench/bayes_quality.py
(the script itself needs h5py and xgboost; Optuna only for its column: --no-optuna skips it).
Nothing here runs at test time."""
import argparse
import datetime
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SKDATA = "/usr/lib/python3/dist-packages/sklearn/datasets/data"
# The tasks: scikit-learn's CSV (rows to skip before the numbers), XGBoost's objective, the
# validation metric both sides report. breast_cancer is the benchmark; the others check
# that the ranking holds on a regression and a multiclass objective.
TASKS = {
    "breast_cancer": {"file": "breast_cancer.csv", "skip": 1, "objective": "binary:logistic",
                      "metric": "logloss", "xgb": {}},
    "boston": {"file": "boston_house_prices.csv", "skip": 2, "objective": "reg:squarederror",
               "metric": "rmse", "xgb": {}},
    "wine": {"file": "wine_data.csv", "skip": 1, "objective": "multi:softprob",
             "metric": "mlogloss", "xgb": {"num_class": 3}},
}
TASK = TASKS["breast_cancer"]

SPACE = {
    "eta": {"distribution": "log_uniform_values", "min": 0.01, "max": 0.5},
    "max_depth": {"distribution": "int_uniform", "min": 2, "max": 10},
    "min_child_weight": {"distribution": "log_uniform_values", "min": 0.1, "max": 10.0},
    "reg_lambda": {"distribution": "log_uniform_values", "min": 0.01, "max": 10.0},
    "reg_alpha": {"distribution": "log_uniform_values", "min": 0.001, "max": 1.0},
    "gamma": {"distribution": "uniform", "min": 0.0, "max": 2.0},
}
ROUNDS = 50
# XGBoost 1.7 starts every binary model from 0.5; XGBoost 2 and batchtune estimate the intercept
# from the labels unless it is given. Both sides get it explicitly, so they optimize one objective.
BASE_SCORE = 0.5


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repo", default=os.path.dirname(HERE))
    p.add_argument("--batchtune", default=None, help="binary (default: REPO/build/batchtune)")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--first-seed", type=int, default=0, help="seeds FIRST..FIRST+SEEDS-1")
    p.add_argument("--trials", type=int, default=40)
    p.add_argument("--task", default="breast_cancer", choices=sorted(TASKS))
    p.add_argument("--methods", default="random,bayes,tpe")
    p.add_argument("--concurrency", default="", help="extra bayes/tpe concurrencies, e.g. 1,8,40")
    p.add_argument("--no-optuna", action="store_true")
    p.add_argument("--out-json", default=None)
    return p.parse_args()


def write_data(d):
    a = np.loadtxt(os.path.join(SKDATA, TASK["file"]), delimiter=",", skiprows=TASK["skip"])
    label = repr if TASK["objective"].startswith("reg:") else (lambda v: str(int(v)))
    rng = np.random.default_rng(7)
    idx = rng.permutation(len(a))
    k = int(0.75 * len(a))
    cols = [f"f{i}" for i in range(a.shape[1] - 1)] + ["target"]
    paths = {}
    for name, rows in (("train", idx[:k]), ("valid", idx[k:])):
        paths[name] = os.path.join(d, name + ".csv")
        with open(paths[name], "w") as f:
            f.write(",".join(cols) + "\n")
            for r in a[rows]:
                f.write(",".join(repr(float(v)) for v in r[:-1]) + f",{label(float(r[-1]))}\n")
    return paths, a[idx[:k]], a[idx[k:]]


def run_batchtune(bin_, d, paths, method, seed, trials, concurrency=None, parameters=None):
    """Best validation metric of one batchtune sweep, and its wall time."""
    sweep = {
        "method": method, "run_cap": trials, "seed": seed,
        "metric": {"name": "validation/" + TASK["metric"], "goal": "minimize"},
        "parameters": parameters or SPACE,
        "model": {"type": "gbdt", "objective": TASK["objective"], "num_round": ROUNDS,
                  "base_score": BASE_SCORE},
        "dataset": {"train": paths["train"], "valid": paths["valid"], "target": "target"},
        "execution": {"device": "cpu", "threads": 1},
    }
    if concurrency:
        sweep["execution"]["concurrency"] = concurrency
    tag = f"{method}-{concurrency or 'd'}-{seed}"
    sp, out = os.path.join(d, tag + ".json"), os.path.join(d, tag + ".h5")
    with open(sp, "w") as f:
        json.dump(sweep, f)
    t0 = time.time()
    subprocess.run([bin_, "run", sp, "--out", out, "--fresh", "--quiet"], check=True,
                   stdout=subprocess.DEVNULL)
    wall = time.time() - t0
    import h5py
    with h5py.File(out) as f:
        m = f["trials"]["metric"][:]
    return float(np.nanmin(m)), wall


def dmatrices(train, valid):
    import xgboost as xgb
    return (xgb.DMatrix(train[:, :-1], label=train[:, -1]),
            xgb.DMatrix(valid[:, :-1], label=valid[:, -1]))


def xgb_metric(dtr, dva, knobs):
    """XGBoost's validation metric after ROUNDS rounds for the six knobs: the Optuna objective."""
    import xgboost as xgb
    p = {"objective": TASK["objective"], "tree_method": "hist", "max_bin": 256, "nthread": 1,
         "eval_metric": TASK["metric"], "base_score": BASE_SCORE, **TASK["xgb"]}
    p.update(knobs)
    ev = {}
    xgb.train(p, dtr, ROUNDS, evals=[(dva, "v")], evals_result=ev, verbose_eval=False)
    return ev["v"][TASK["metric"]][-1]


def draw_knobs(rng):
    """One configuration drawn from SPACE."""
    out = {}
    for k, v in SPACE.items():
        if v["distribution"] == "int_uniform":
            out[k] = int(rng.integers(v["min"], v["max"] + 1))
        elif v["distribution"] == "uniform":
            out[k] = float(rng.uniform(v["min"], v["max"]))
        else:
            out[k] = float(np.exp(rng.uniform(np.log(v["min"]), np.log(v["max"]))))
    return out


def parity_check(bin_, d, paths, train, valid, n=6):
    """Both sides must score a configuration alike, or they would be searching different
    objectives: n configurations drawn from the space, each trained by batchtune (a one-point
    grid) and by XGBoost. Returns the record for the JSON; exits when they differ."""
    dtr, dva = dmatrices(train, valid)
    rng = np.random.default_rng(11)
    rows, worst = [], 0.0
    for i in range(n):
        knobs = draw_knobs(rng)
        ours, _ = run_batchtune(bin_, d, paths, "grid", i, 1,
                                parameters={k: {"value": v} for k, v in knobs.items()})
        ref = xgb_metric(dtr, dva, knobs)
        err = abs(ours - ref) / abs(ref)
        worst = max(worst, err)
        rows.append({"knobs": knobs, "batchtune": ours, "xgboost": ref, "rel_err": err})
    print(f"parity with xgboost: {n} configurations, max rel err {worst:.2g}", flush=True)
    if worst > 1e-4:
        for r in rows:
            print("  ", r)
        sys.exit("batchtune and XGBoost score the same configuration differently: the comparison "
                 "would not be on one objective")
    return {"configurations": rows, "max_rel_err": worst}


def run_optuna(train, valid, seed, trials):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dtr, dva = dmatrices(train, valid)

    def objective(trial):
        return xgb_metric(dtr, dva, {
            "eta": trial.suggest_float("eta", 0.01, 0.5, log=True),
            "max_depth": trial.suggest_int("max_depth", 2, 10),
            "min_child_weight": trial.suggest_float("min_child_weight", 0.1, 10.0, log=True),
            "reg_lambda": trial.suggest_float("reg_lambda", 0.01, 10.0, log=True),
            "reg_alpha": trial.suggest_float("reg_alpha", 0.001, 1.0, log=True),
            "gamma": trial.suggest_float("gamma", 0.0, 2.0),
        })

    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    t0 = time.time()
    study.optimize(objective, n_trials=trials)
    return float(study.best_value), time.time() - t0, optuna.__version__


def write_doc(repo, benchmark, setup, out, **fields):
    """The JSON for bench/results/: what ran where and when, then fields; to out, or by default
    bench/results/DATE-cpu-vm-BENCHMARK.json."""
    commit = subprocess.run(["git", "-C", repo, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    doc = {"benchmark": benchmark, "date": datetime.date.today().isoformat(),
           "host": socket.gethostname(), "machine": platform.processor() or platform.machine(),
           "commit": commit, "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
           "setup": setup}
    doc.update(fields)
    out = out or os.path.join(repo, "bench", "results",
                              f"{doc['date']}-cpu-vm-{benchmark.replace('_', '-')}.json")
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
    print("wrote", out)


def main():
    global TASK
    a = parse_args()
    TASK = TASKS[a.task]
    bin_ = a.batchtune or os.path.join(a.repo, "build", "batchtune")
    runs = [(m, None) for m in a.methods.split(",") if m]
    for c in filter(None, a.concurrency.split(",")):
        runs += [("bayes", int(c)), ("tpe", int(c))]
    res = {}
    seeds = range(a.first_seed, a.first_seed + a.seeds)
    with tempfile.TemporaryDirectory() as d:
        paths, train, valid = write_data(d)
        parity = parity_check(bin_, d, paths, train, valid)
        for method, conc in runs:
            key = method if conc is None else f"{method}@{conc}"
            best, walls = [], []
            for seed in seeds:
                b, w = run_batchtune(bin_, d, paths, method, seed, a.trials, conc)
                best.append(b)
                walls.append(w)
            res[key] = {"best": best, "median": statistics.median(best), "wall_s": sum(walls)}
            print(f"{key:12s} median best {TASK['metric']} {res[key]['median']:.5f}  (seeds: "
                  f"{' '.join(f'{x:.4f}' for x in best)})  {sum(walls):.1f} s", flush=True)
        if not a.no_optuna:
            best, walls = [], []
            ver = None
            for seed in seeds:
                b, w, ver = run_optuna(train, valid, seed, a.trials)
                best.append(b)
                walls.append(w)
            res["optuna-tpe"] = {"best": best, "median": statistics.median(best), "wall_s": sum(walls),
                                 "optuna_version": ver}
            print(f"{'optuna-tpe':12s} median best {TASK['metric']} {res['optuna-tpe']['median']:.5f}  (seeds: "
                  f"{' '.join(f'{x:.4f}' for x in best)})  {sum(walls):.1f} s", flush=True)
    ref = res.get("optuna-tpe")
    for k, v in res.items():
        if ref and k != "optuna-tpe":
            v["ratio_to_optuna"] = v["median"] / ref["median"]
            # seed by seed: how often this method's best is below Optuna's on the same seed
            v["seeds_below_optuna"] = sum(x < y for x, y in zip(v["best"], ref["best"]))
    write_doc(a.repo, "bayes_quality" + ("" if a.task == "breast_cancer" else "_" + a.task),
              f"{TASK['file']} ({TASK['objective']}), 75/25 split (seed 7), {ROUNDS} rounds, {a.trials} trials, "
              f"{a.seeds} seeds ({seeds[0]}..{seeds[-1]}); space {json.dumps(SPACE)}; metric: best "
              f"validation {TASK['metric']} over the trials (lower is better); Optuna: TPESampler(seed) "
              "defaults, sequential, xgboost.train(hist, max_bin 256) as objective; base_score "
              f"{BASE_SCORE} on both sides", a.out_json, parity_with_xgboost=parity, results=res)


if __name__ == "__main__":
    main()
