#!/usr/bin/python3
"""How rugged is bayes_quality.py's objective? A random sweep of N trials (batchtune, the same
data, space, rounds and base_score as bayes_quality.py) gives the landscape's best; then each of
the K best configurations is moved M times by N(0, s^2) in every coordinate of the unit cube (log
scale for the log-uniform knobs, max_depth's integers as equal cells, gamma linear; clipped to
the cube) and XGBoost scores the moved configurations. The standard deviation of the logloss over
the moves, at scales s = 0.001, 0.01, 0.1 of each range, says how much of a 40-trial sweep's best
is aim and how much luck: at s = 0.001 a smooth function would barely move.

  bench/.venv/bin/python bench/bayes_landscape.py --batchtune build/batchtune [--trials 4000]
      [--top 10] [--moves 30] [--out-json FILE]

Needs h5py and xgboost (Debian's python3-xgboost). Nothing here runs at test time."""
import argparse
import json
import math
import os
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bayes_quality as bq  # noqa: E402

SCALES = (0.001, 0.01, 0.1)


def to_cube(knobs):
    u = []
    for k, v in bq.SPACE.items():
        x = knobs[k]
        if v["distribution"] == "int_uniform":
            u.append((x - v["min"] + 0.5) / (v["max"] - v["min"] + 1))
        elif v["distribution"] == "uniform":
            u.append((x - v["min"]) / (v["max"] - v["min"]))
        else:
            lo, hi = math.log(v["min"]), math.log(v["max"])
            u.append((math.log(x) - lo) / (hi - lo))
    return np.array(u)


def from_cube(u):
    out = {}
    for (k, v), x in zip(bq.SPACE.items(), np.clip(u, 0.0, 1.0)):
        if v["distribution"] == "int_uniform":
            out[k] = int(min(v["max"], math.floor(v["min"] + x * (v["max"] - v["min"] + 1))))
        elif v["distribution"] == "uniform":
            out[k] = float(v["min"] + x * (v["max"] - v["min"]))
        else:
            lo, hi = math.log(v["min"]), math.log(v["max"])
            out[k] = float(math.exp(lo + x * (hi - lo)))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repo", default=os.path.dirname(HERE))
    p.add_argument("--batchtune", default=None, help="binary (default: REPO/build/batchtune)")
    p.add_argument("--trials", type=int, default=4000)
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--moves", type=int, default=30)
    p.add_argument("--seed", type=int, default=123)
    p.add_argument("--out-json", default=None)
    a = p.parse_args()
    bin_ = a.batchtune or os.path.join(a.repo, "build", "batchtune")
    rng = np.random.default_rng(3)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        paths, train, valid = bq.write_data(d)
        bq.parity_check(bin_, d, paths, train, valid)
        _, wall = bq.run_batchtune(bin_, d, paths, "random", a.seed, a.trials)
        import h5py
        with h5py.File(os.path.join(d, f"random-d-{a.seed}.h5")) as f:
            t = f["trials"][:]
        metric = t["metric"]
        order = np.argsort(metric)
        dtr, dva = bq.dmatrices(train, valid)
        for rank in order[:a.top]:
            knobs = {k: (int(t[k][rank]) if bq.SPACE[k]["distribution"] == "int_uniform"
                         else float(t[k][rank])) for k in bq.SPACE}
            u0 = to_cube(knobs)
            row = {"batchtune": float(metric[rank]), "xgboost": bq.xgb_metric(dtr, dva, knobs),
                   "knobs": knobs}
            for s in SCALES:
                v = [bq.xgb_metric(dtr, dva, from_cube(u0 + s * rng.standard_normal(len(u0))))
                     for _ in range(a.moves)]
                row[f"scale_{s:g}"] = {"mean": float(np.mean(v)), "sd": float(np.std(v)),
                                       "min": float(np.min(v))}
            rows.append(row)
            print(f"{row['batchtune']:.4f} " + " ".join(
                f"s={s:g}: sd {row[f'scale_{s:g}']['sd']:.4f}" for s in SCALES), flush=True)
    q = np.quantile(metric, [0.0, 0.001, 0.01, 0.1, 0.5])
    summary = {f"sd_at_{s:g}": [min(r[f"scale_{s:g}"]["sd"] for r in rows),
                                float(np.median([r[f"scale_{s:g}"]["sd"] for r in rows])),
                                max(r[f"scale_{s:g}"]["sd"] for r in rows)] for s in SCALES}
    print(f"{a.trials} random trials in {wall:.1f} s: best {q[0]:.4f}, quantiles 0.1% {q[1]:.4f} "
          f"1% {q[2]:.4f} 10% {q[3]:.4f} 50% {q[4]:.4f}; sd of the moves (min, median, max): "
          + "; ".join(f"{k} {v[0]:.4f} {v[1]:.4f} {v[2]:.4f}" for k, v in summary.items()))
    bq.write_doc(a.repo, "bayes_landscape",
                 f"bayes_quality.py's objective; random sweep of {a.trials} trials (seed "
                 f"{a.seed}); the {a.top} best each moved {a.moves} times per scale", a.out_json,
                 random_sweep={"trials": a.trials, "wall_s": wall, "best": float(q[0]),
                               "quantiles_0.1_1_10_50_pct": [float(x) for x in q[1:]],
                               "below_0.0899": int((metric < 0.0899).sum())},
                 sd_of_moves_min_median_max=summary, configurations=rows)


if __name__ == "__main__":
    main()
