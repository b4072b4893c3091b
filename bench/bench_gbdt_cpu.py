#!/usr/bin/python3
"""batchtune versus an in-process XGBoost loop on the CPU, side by side on one machine with one
thread count: the 252-trial Boston grid and a synthetic 1M-row, 28-feature regression sweep.
Both sides see the same train/valid rows (written here as NPY); results go to bench/results/."""
import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repo", default=os.path.dirname(HERE),
                   help="batchtune repository to measure (default: the one holding this script)")
    p.add_argument("--batchtune", default=None, help="binary (default: REPO/build/batchtune)")
    p.add_argument("--threads", type=int, default=os.cpu_count(),
                   help="threads for both sides (default: all cores)")
    p.add_argument("--rows", type=int, default=1_000_000,
                   help="rows of the synthetic set, train + valid (default 1000000)")
    p.add_argument("--quick", action="store_true",
                   help="CI-sized smoke run: 20k rows, 8 trials, 20 rounds")
    p.add_argument("--skip-1m", action="store_true", help="run only the Boston grid")
    p.add_argument("--skip-boston", action="store_true", help="run only the synthetic sweep")
    p.add_argument("--repeat", type=int, default=1,
                   help="runs of each side of the Boston grid; the fastest counts (default 1)")
    p.add_argument("--out-json", default=None,
                   help="result file (default REPO/bench/results/DATE-cpu-HOST.json)")
    p.add_argument("--workdir", default=None, help="where data, sweeps and results.h5 go "
                   "(default: a temporary folder, removed afterwards)")
    p.add_argument("--xgboost-only", action="store_true",
                   help="development aid: run only the XGBoost loop, write no JSON")
    a = p.parse_args()
    if a.threads < 1:
        p.error("--threads must be >= 1")
    if a.quick and a.rows == 1_000_000:
        a.rows = 20_000
    if a.rows < 100:
        p.error("--rows must be >= 100")
    a.repo = os.path.abspath(a.repo)
    a.batchtune = os.path.abspath(a.batchtune or os.path.join(a.repo, "build", "batchtune"))
    return a


def die(msg, code=1):
    print(f"bench_gbdt_cpu: {msg}", file=sys.stderr)
    sys.exit(code)


# ---------------------------------------------------------------------------------------------
# machine and provenance


def cpu_info():
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "kernel": platform.release(),
            "python": platform.python_version()}


def git_commit(repo):
    def git(*args):
        r = subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else None
    return {"commit": git("rev-parse", "HEAD"), "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def host_tag():
    h = socket.gethostname().split(".")[0]
    h = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in h)
    return h if h and h != "localhost" else "dev"


# ---------------------------------------------------------------------------------------------
# data: both sides read the very same float32 rows


def save_split(d, name, Xt, yt, Xv, yv):
    paths = {}
    for key, arr in (("train", Xt), ("train_labels", yt), ("valid", Xv), ("valid_labels", yv)):
        paths[key] = os.path.join(d, f"{name}-{key}.npy")
        np.save(paths[key], np.ascontiguousarray(arr, dtype=np.float32))
    return paths


def split(X, y, valid_fraction, seed):
    """Seeded shuffle; the first valid_fraction of the permutation is the valid set."""
    perm = np.random.default_rng(seed).permutation(len(y))
    n_valid = int(round(valid_fraction * len(y)))
    v, t = perm[:n_valid], perm[n_valid:]
    return X[t], y[t], X[v], y[v]


def boston_table(repo):
    """Boston housing from the repository's sweep data, else Debian's sklearn copy (same rows)."""
    import pandas
    mine = os.path.join(repo, "sweeps", "examples", "data", "boston.csv")
    if os.path.exists(mine):
        df, src = pandas.read_csv(mine), mine
    else:
        src = "/usr/lib/python3/dist-packages/sklearn/datasets/data/boston_house_prices.csv"
        df = pandas.read_csv(src, skiprows=1)
    y = df.pop("MEDV").to_numpy(np.float32)
    return df.to_numpy(np.float32), y, src


def synthetic_table(rows, features, seed):
    """Friedman #1 extended to 28 features: smooth and interacting terms on the first ten, the
    rest pure noise columns, plus Gaussian label noise. Generated in float32, seeded."""
    rng = np.random.default_rng(seed)
    X = rng.random((rows, features), dtype=np.float32)
    x = [X[:, i].astype(np.float64) for i in range(10)]
    y = (10 * np.sin(np.pi * x[0] * x[1]) + 20 * (x[2] - 0.5) ** 2 + 10 * x[3] + 5 * x[4]
         + 4 * x[5] * x[6] + 3 * np.cos(2 * np.pi * x[7]) + 2 * (x[8] > 0.5) * x[9])
    y += rng.standard_normal(rows)
    return X, y.astype(np.float32)


# ---------------------------------------------------------------------------------------------
# sweeps


def grid_configs(params):
    """Every config of a grid sweep's parameters, last parameter fastest (batchtune's order)."""
    names = list(params)
    configs = [{}]
    for n in names:
        p = params[n]
        vals = p["values"] if "values" in p else [p["value"]]
        configs = [dict(c, **{n: v}) for c in configs for v in vals]
    return configs


def boston_sweep(repo, data, threads):
    with open(os.path.join(repo, "sweeps", "examples", "boston-grid.json")) as f:
        s = json.load(f)
    s["dataset"] = dict(data)
    s["execution"] = {"device": "cpu", "threads": threads}
    return s


def synthetic_sweep(data, threads, quick):
    if quick:
        params = {"eta": {"values": [0.1, 0.3]}, "reg_lambda": {"values": [1.0, 2.0]},
                  "min_child_weight": {"values": [1.0, 16.0]}}
        rounds = 20
    else:
        params = {"eta": {"values": [0.05, 0.1, 0.2, 0.3]},
                  "reg_lambda": {"values": [0.5, 1.0, 2.0, 4.0]},
                  "min_child_weight": {"values": [1.0, 4.0, 16.0, 64.0]}}
        rounds = 200
    return {
        "name": "synthetic-friedman28-grid",
        "description": "bench/bench_gbdt_cpu.py: Friedman-like 28-feature regression, grid over "
                       "eta x reg_lambda x min_child_weight, fixed depth and rounds.",
        "method": "grid",
        "metric": {"name": "validation/mse", "goal": "minimize"},
        "parameters": params,
        "model": {"type": "gbdt", "objective": "reg:squarederror", "max_depth": 8,
                  "num_round": rounds, "max_bin": 256},
        "dataset": dict(data),
        "execution": {"device": "cpu", "threads": threads},
        "seed": 1,
    }


# ---------------------------------------------------------------------------------------------
# the two sides


def run_batchtune(binary, sweep, workdir, name, threads):
    """Runs the whole sweep in one process; returns (wall seconds, CPU seconds, {config key: row},
    command)."""
    import h5py
    sweep_path = os.path.join(workdir, f"{name}.json")
    out = os.path.join(workdir, f"{name}.h5")
    with open(sweep_path, "w") as f:
        json.dump(sweep, f, indent=2)
    cmd = [binary, "run", sweep_path, "--out", out, "--fresh", "--quiet"]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    if p.returncode != 0:
        die(f"batchtune failed (exit {p.returncode}): {' '.join(cmd)}\n"
            f"stdout:\n{p.stdout[-4000:]}\nstderr:\n{p.stderr[-4000:]}")
    with h5py.File(out, "r") as f:
        trials = f["trials"][:]
    names = list(trials.dtype.names)
    hp = names[9:]
    rows = {}
    for r in trials:
        st = r["status"]
        st = st.decode() if isinstance(st, bytes) else str(st)
        cfg = {n: r[n].item() for n in hp}
        rows[config_key(cfg)] = {"trial_id": int(r["trial_id"]), "status": st,
                                 "metric": float(r["metric"]), "resource": int(r["resource"])}
    return wall, cpu, rows, cmd


def config_key(cfg):
    return tuple(sorted((k, round(float(v), 9)) for k, v in cfg.items()))


XGB_NAMES = {"reg_lambda": "lambda", "reg_alpha": "alpha", "learning_rate": "eta",
             "min_split_loss": "gamma"}


def run_xgboost(sweep, configs, data, threads):
    """One xgb.train per config, as a per-trial tuner would run it; DMatrix built once, outside
    the timed loop. Returns (loop seconds, loop CPU seconds, DMatrix seconds, {config key: mse})."""
    import xgboost as xgb
    t0 = time.perf_counter()
    Xt, yt = np.load(data["train"]), np.load(data["train_labels"])
    Xv, yv = np.load(data["valid"]), np.load(data["valid_labels"])
    dtrain = xgb.DMatrix(Xt, label=yt, nthread=threads)
    dvalid = xgb.DMatrix(Xv, label=yv, nthread=threads)
    dmatrix_s = time.perf_counter() - t0
    base_score = float(np.mean(yt.astype(np.float64)))
    fixed = {k: v for k, v in sweep["model"].items() if k != "type"}
    metrics = {}
    c0 = time.process_time()
    t0 = time.perf_counter()
    for i, cfg in enumerate(configs):
        if len(configs) <= 64 and i and i % 8 == 0:
            print(f"   xgboost loop   {i}/{len(configs)} trials, "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)
        params = dict(fixed)
        params.update(cfg)
        num_round = int(params.pop("num_round"))
        params = {XGB_NAMES.get(k, k): v for k, v in params.items()}
        params.update(tree_method="hist", nthread=threads, max_bin=int(params.get("max_bin", 256)),
                      base_score=base_score, eval_metric="rmse")
        res = {}
        xgb.train(params, dtrain, num_boost_round=num_round, evals=[(dvalid, "valid")],
                  evals_result=res, verbose_eval=False)
        metrics[config_key(cfg)] = res["valid"]["rmse"][-1] ** 2  # xgboost prints full precision
    loop_s = time.perf_counter() - t0
    return loop_s, time.process_time() - c0, dmatrix_s, metrics


def agreement(bt_rows, xgb_metrics, tol=1e-4):
    rel, missing, not_done = [], 0, 0
    for key, m_xgb in xgb_metrics.items():
        r = bt_rows.get(key)
        if r is None:
            missing += 1
            continue
        if r["status"] != "completed" or not np.isfinite(r["metric"]):
            not_done += 1
            continue
        rel.append(abs(r["metric"] - m_xgb) / m_xgb)
    rel = np.array(rel)
    return {
        "trials": len(xgb_metrics),
        "compared": int(rel.size),
        "missing_in_batchtune": missing,
        "not_completed_in_batchtune": not_done,
        "rel_diff_max": float(rel.max()) if rel.size else None,
        "rel_diff_median": float(np.median(rel)) if rel.size else None,
        "tolerance": tol,
        "within_tolerance": int((rel <= tol).sum()),
    }


def bench_one(args, name, sweep, configs, data, workdir):
    print(f"\n== {name}: {len(configs)} trials, threads {args.threads}", flush=True)
    xgb_runs, bt_runs, xgb_cpu, bt_cpu = [], [], [], []
    repeat = args.repeat if name.startswith("boston") else 1
    xgb_metrics = bt_rows = cmd = dmatrix_s = None
    load = []
    for i in range(repeat):
        if not args.xgboost_only:
            load.append(os.getloadavg()[0])
            wall, cpu, bt_rows, cmd = run_batchtune(args.batchtune, sweep, workdir, name,
                                                    args.threads)
            bt_runs.append(wall)
            bt_cpu.append(cpu)
            print(f"   batchtune run  run {i + 1}: {wall:9.3f} s  (CPU {cpu:.3f} s)", flush=True)
        load.append(os.getloadavg()[0])
        loop_s, loop_cpu, dmatrix_s, xgb_metrics = run_xgboost(sweep, configs, data, args.threads)
        xgb_runs.append(loop_s)
        xgb_cpu.append(loop_cpu)
        print(f"   xgboost loop   run {i + 1}: {loop_s:9.3f} s  (CPU {loop_cpu:.3f} s, DMatrix "
              f"{dmatrix_s:.2f} s)", flush=True)
    load.append(os.getloadavg()[0])
    res = {"trials": len(configs), "rows_train": int(np.load(data["train_labels"]).size),
           "rows_valid": int(np.load(data["valid_labels"]).size),
           "features": int(np.load(data["train"], mmap_mode="r").shape[1]),
           "sweep": sweep, "xgboost_loop_s": min(xgb_runs), "xgboost_loop_runs_s": xgb_runs,
           "xgboost_loop_median_s": statistics.median(xgb_runs),
           "xgboost_loop_cpu_runs_s": xgb_cpu,
           "xgboost_dmatrix_s": dmatrix_s,
           "loadavg_1min": load}  # before each side and at the end: others sharing the CPU
    if not args.xgboost_only:
        res.update(batchtune_s=min(bt_runs), batchtune_runs_s=bt_runs, batchtune_command=cmd,
                   batchtune_median_s=statistics.median(bt_runs), batchtune_cpu_runs_s=bt_cpu,
                   ratio_xgboost_over_batchtune=min(xgb_runs) / min(bt_runs),
                   ratio_median=statistics.median(xgb_runs) / statistics.median(bt_runs),
                   ratio_cpu_median=statistics.median(xgb_cpu) / statistics.median(bt_cpu),
                   ratio_xgboost_with_dmatrix_over_batchtune=(min(xgb_runs) + dmatrix_s)
                   / min(bt_runs),
                   agreement=agreement(bt_rows, xgb_metrics),
                   batchtune_trials=len(bt_rows),
                   per_trial=[{"config": cfg, "mse_xgboost": xgb_metrics[config_key(cfg)],
                               "mse_batchtune": bt_rows.get(config_key(cfg), {}).get("metric"),
                               "trial_id": bt_rows.get(config_key(cfg), {}).get("trial_id"),
                               "status": bt_rows.get(config_key(cfg), {}).get("status")}
                              for cfg in configs])
        if len(bt_rows) != len(configs):
            print(f"   WARNING: batchtune wrote {len(bt_rows)} distinct configs, expected "
                  f"{len(configs)}", flush=True)
    return res


def print_table(results, threads):
    print(f"\n{'benchmark':<20}{'trials':>7}{'rows':>8}{'xgboost s':>11}{'batchtune s':>13}"
          f"{'xgb/bt':>8}{'median':>8}{'cpu':>7}{'agree':>10}{'max rel':>10}{'med rel':>10}")
    for name, r in results.items():
        bt = r.get("batchtune_s")
        ag = r.get("agreement")
        fmt = lambda v: f"{v:10.2e}" if v is not None else f"{'-':>10}"  # noqa: E731
        print(f"{name:<20}{r['trials']:>7}{r['rows_train']:>8}{r['xgboost_loop_s']:>11.3f}"
              + (f"{bt:>13.3f}{r['ratio_xgboost_over_batchtune']:>8.2f}{r['ratio_median']:>8.2f}"
                 f"{r['ratio_cpu_median']:>7.2f}"
                 f"{ag['within_tolerance']:>5}/{ag['trials']:<4}"
                 f"{fmt(ag['rel_diff_max'])}{fmt(ag['rel_diff_median'])}" if bt else
                 f"{'-':>13}{'-':>8}{'-':>8}{'-':>7}{'-':>10}{'-':>10}{'-':>10}"))
    print(f"(threads {threads}; xgb/bt: fastest runs, median: median runs, cpu: median CPU "
          f"seconds; > 1 means batchtune is faster; agree = trials with |mse_bt - mse_xgb| / "
          f"mse_xgb <= 1e-4; rows = train rows)")


def main():
    args = parse_args()
    try:
        import h5py  # noqa: F401  (needed by run_batchtune; fail early)
        import xgboost
    except ImportError as e:
        die(f"missing python module: {e}")
    if not args.xgboost_only and not (os.path.isfile(args.batchtune)
                                      and os.access(args.batchtune, os.X_OK)):
        die(f"batchtune binary not found at {args.batchtune}: build it first "
            "(cmake -S . -B build -DBT_CUDA=OFF -DCMAKE_BUILD_TYPE=Release && "
            "cmake --build build) or pass --batchtune PATH")

    workdir = args.workdir or tempfile.mkdtemp(prefix="bt-bench-")
    os.makedirs(workdir, exist_ok=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    results = {}
    try:
        if not args.skip_boston:
            X, y, src = boston_table(args.repo)
            data = save_split(workdir, "boston", *split(X, y, 0.2, 42))
            sweep = boston_sweep(args.repo, data, args.threads)
            configs = grid_configs(sweep["parameters"])
            results["boston"] = bench_one(args, "boston", sweep, configs, data, workdir)
            results["boston"]["source"] = src
            # Boston's features have at most 504 distinct values: with max_bin 512 both sides
            # cut at every distinct value, so any metric difference is the trainer's, not the
            # choice of bin edges (XGBoost's weighted quantile sketch vs batchtune's binning).
            exact = json.loads(json.dumps(sweep))
            exact["model"]["max_bin"] = 512
            name = "boston_max_bin_512"
            results[name] = bench_one(args, name, exact, configs, data, workdir)
            results[name]["source"] = src
        if not args.skip_1m:
            t0 = time.perf_counter()
            X, y = synthetic_table(args.rows, 28, seed=20261123)
            data = save_split(workdir, "synthetic", *split(X, y, 0.2, 42))
            del X, y
            gen_s = time.perf_counter() - t0
            sweep = synthetic_sweep(data, args.threads, args.quick)
            configs = grid_configs(sweep["parameters"])
            name = "synthetic"
            results[name] = bench_one(args, name, sweep, configs, data, workdir)
            results[name]["generate_s"] = gen_s
            results[name]["rows_total"] = args.rows
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    print_table(results, args.threads)
    if args.xgboost_only:
        return 0

    bt_version = subprocess.run([args.batchtune, "--version"], capture_output=True,
                                text=True).stdout.strip()
    report = {
        "benchmark": "bench_gbdt_cpu",
        "date": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "device": cpu_info(),
        "host": socket.gethostname(),
        "threads": args.threads,
        "repo": args.repo,
        "git": git_commit(args.repo),
        "batchtune_binary": args.batchtune,
        "batchtune_version": bt_version,
        "xgboost_version": xgboost.__version__,
        "numpy_version": np.__version__,
        "command": [sys.executable, *sys.argv],
        # XGBoost's OpenMP threads spin at barriers unless this says passive; on a busy machine
        # that costs it far more than the work itself (batchtune always runs passive)
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "quick": args.quick,
        "notes": "batchtune_s: wall time of the whole `batchtune run` process (data loading, "
                 "binning, HDF5 output included). xgboost_loop_s: one xgb.train per trial "
                 "(tree_method=hist, max_bin=256, base_score = train label mean, evals on the "
                 "valid set), DMatrix built once outside the loop (xgboost_dmatrix_s). Both read "
                 "the same float32 NPY train/valid files. Timings: fastest of --repeat runs (ratio_xgboost_over_"
                 "batchtune); ratio_median compares medians, ratio_cpu_median the medians of CPU "
                 "seconds (user + system: batchtune's whole process, the XGBoost loop's process "
                 "time), which a busy machine inflates less than wall time.",
        "results": results,
    }
    out = args.out_json or os.path.join(
        args.repo, "bench", "results",
        f"{started.strftime('%Y-%m-%d')}-cpu{'-quick' if args.quick else ''}-{host_tag()}.json")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
