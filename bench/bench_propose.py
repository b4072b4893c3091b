#!/usr/bin/env python3
"""The model-based proposers (method bayes and tpe) on Branin and Hartmann-6, beside random search
and Optuna's TPESampler: the median over seeds of the best value after N evaluations (Branin 40,
Hartmann-6 60), the effect of the batch size, and the time per suggestion at 100 and 1000 reports.

batchtune's side runs bt_propose_bench (tests/tools/propose_bench.c, built with the tests);
Optuna's side runs in a separate Python with optuna installed: --python PATH, else the script's
own virtual environment bench/.venv (created with `pip install optuna` when missing).

Usage: bench/bench_propose.py [--tool BUILD/tests/tools/bt_propose_bench] [--python PY]
           [--seeds 10] [--quick] [--skip-optuna] [--out-json PATH]
Writes bench/results/DATE-HOST-propose.json (HOST: --host, default "cpu-vm") unless
--out-json says otherwise, and prints a table. Never run by the tests.
"""
import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
FNS = {"branin": 40, "hartmann6": 60}
OPTIMA = {"branin": 0.397887357729738, "hartmann6": -3.32236801141551}

# ---- Optuna's side: this file run under the other Python with --optuna-worker ---------------

WORKER_FNS = r'''
import math
def branin(x0, x1):
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (x1 - b * x0 * x0 + c * x0 - 6) ** 2 + 10 * (1 - t) * math.cos(x0) + 10
A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8],
     [17, 8, 0.05, 10, 0.1, 14]]
P = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886], [0.2329, 0.4135, 0.8307, 0.3736, 0.1004,
     0.9991], [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650], [0.4047, 0.8828, 0.8732, 0.5743,
     0.1091, 0.0381]]
ALPHA = [1.0, 1.2, 3.0, 3.2]
def hartmann6(*x):
    return -sum(ALPHA[i] * math.exp(-sum(A[i][j] * (x[j] - P[i][j]) ** 2 for j in range(6)))
                for i in range(4))
'''


def optuna_worker(seeds, quick):
    import optuna

    exec(WORKER_FNS, globals())
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spaces = {"branin": [(-5.0, 10.0), (0.0, 15.0)], "hartmann6": [(0.0, 1.0)] * 6}
    fns = {"branin": branin, "hartmann6": hartmann6}  # noqa: F821 (from WORKER_FNS)
    out = {"optuna_version": optuna.__version__, "python": platform.python_version(),
           "quality": {}, "speed": {}}
    for name, n_eval in FNS.items():
        best = []
        t0 = time.perf_counter()
        for s in range(seeds):
            study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=s))

            def objective(trial, name=name):
                x = [trial.suggest_float(f"x{i}", lo, hi) for i, (lo, hi) in
                     enumerate(spaces[name])]
                return fns[name](*x)

            study.optimize(objective, n_trials=n_eval)
            best.append(study.best_value)
        out["quality"][name] = {"evals": n_eval, "best": best,
                                "median": statistics.median(best),
                                "seconds": time.perf_counter() - t0}
    # time per suggestion after N reports (random reports added as finished trials)
    import random
    rng = random.Random(7)
    dists = {f"x{i}": optuna.distributions.FloatDistribution(0.0, 1.0) for i in range(6)}
    for n in ([100] if quick else [100, 1000]):
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=7))
        for _ in range(n):
            params = {k: rng.random() for k in dists}
            study.add_trial(optuna.trial.create_trial(
                params=params, distributions=dists, value=hartmann6(*params.values())))
        cpu, wall = [], []
        for _ in range(5 if quick else 20):
            c0, w0 = time.process_time(), time.perf_counter()
            trial = study.ask()
            x = [trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(6)]
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
            study.tell(trial, hartmann6(*x))
        out["speed"][str(n)] = {"cpu_seconds_per_suggestion_mean": statistics.mean(cpu),
                                "cpu_seconds_per_suggestion_median": statistics.median(cpu),
                                "wall_seconds_per_suggestion_mean": statistics.mean(wall)}
    print(json.dumps(out))


# ---- batchtune's side and the report ---------------------------------------------------------

def run_tool(tool, *args):
    r = subprocess.run([tool, *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{tool} {' '.join(map(str, args))} failed ({r.returncode}): {r.stderr.strip()}")
    return json.loads(r.stdout)


def ensure_venv():
    venv = os.path.join(ROOT, "bench", ".venv")
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([py, "-m", "pip", "install", "--quiet", "optuna"], check=True)
    return py


def git_commit():
    try:
        c = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True,
                           text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return c + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return os.environ.get("BT_GIT_COMMIT", "unknown")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
    except OSError:
        pass
    return f"{platform.processor()}, {os.cpu_count()} cores"


def loadavg():
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def main():
    if "--optuna-worker" in sys.argv:
        i = sys.argv.index("--optuna-worker")
        optuna_worker(int(sys.argv[i + 1]), "--quick" in sys.argv)
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tool", default=os.path.join(ROOT, "build-cpu", "tests", "tools",
                                                   "bt_propose_bench"))
    ap.add_argument("--python", help="a Python with optuna (default: bench/.venv, made if missing)")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="3 seeds, fewer batch sizes, 100 reports")
    ap.add_argument("--skip-optuna", action="store_true")
    ap.add_argument("--host", default="cpu-vm")
    ap.add_argument("--out-json")
    a = ap.parse_args()
    if not os.path.exists(a.tool):
        sys.exit(f"{a.tool} is missing: build the tests first (cmake --build BUILD)")
    seeds = 3 if a.quick else a.seeds
    res = {"benchmark": "model-based proposers (bayes, tpe) against random search and Optuna's "
                        "TPESampler on Branin and Hartmann-6",
           "date": datetime.date.today().isoformat(), "host": a.host, "commit": git_commit(),
           "command": " ".join(["bench/bench_propose.py"] + sys.argv[1:]),
           "device": "cpu: " + cpu_model(), "seeds": seeds, "loadavg_1min_start": loadavg(),
           "quality": {}, "batch": {}, "speed": {}}
    for fn in FNS:
        res["quality"][fn] = {m: run_tool(a.tool, "quality", "--fn", fn, "--method", m,
                                          "--seeds", seeds) for m in ("random", "bayes", "tpe")}
    for fn in FNS:
        res["batch"][fn] = {}
        for m in ("bayes", "tpe"):
            for b in ((1, 8) if a.quick else (1, 4, 8, 16)):
                q = run_tool(a.tool, "quality", "--fn", fn, "--method", m, "--seeds", seeds,
                             "--batch", b)
                res["batch"][fn][f"{m}_batch{b}"] = {"median": q["median"],
                                                     "regret_median": q["regret_median"],
                                                     "seconds_all_seeds": q["seconds"]}
    for m in ("bayes", "tpe"):
        for n in ((100,) if a.quick else (100, 1000)):
            res["speed"][f"{m}_{n}"] = run_tool(a.tool, "speed", "--method", m, "--obs", n,
                                                "--suggest", 20 if a.quick else 50)
    if not a.skip_optuna:
        py = a.python or ensure_venv()
        cmd = [py, os.path.abspath(__file__), "--optuna-worker", str(seeds)]
        r = subprocess.run(cmd + (["--quick"] if a.quick else []), capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"the Optuna side failed: {r.stderr.strip()[-2000:]}")
        opt = json.loads(r.stdout)
        res["optuna"] = opt
        res["ratios"] = {}
        for fn in FNS:
            o = opt["quality"][fn]["median"] - OPTIMA[fn]
            for m in ("random", "bayes", "tpe"):
                mine = res["quality"][fn][m]["regret_median"]
                res["ratios"][f"{fn}_{m}_regret_over_optuna_tpe"] = mine / o if o > 0 else None
        for n, s in opt["speed"].items():
            for m in ("bayes", "tpe"):
                mine = res["speed"].get(f"{m}_{n}")
                if mine:
                    res["ratios"][f"optuna_tpe_cpu_over_{m}_at_{n}"] = (
                        s["cpu_seconds_per_suggestion_mean"] /
                        mine["cpu_seconds_per_suggestion_mean"])
    res["loadavg_1min_end"] = loadavg()
    out = a.out_json or os.path.join(ROOT, "bench", "results",
                                     f"{res['date']}-{a.host}-propose.json")
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    print(f"{'':12} {'random':>10} {'bayes':>10} {'tpe':>10} {'optuna tpe':>11}   (median best)")
    for fn in FNS:
        q = res["quality"][fn]
        o = res.get("optuna", {}).get("quality", {}).get(fn, {}).get("median", math.nan)
        print(f"{fn + '@' + str(FNS[fn]):12} {q['random']['median']:10.4f} "
              f"{q['bayes']['median']:10.4f} {q['tpe']['median']:10.4f} {o:11.4f}")
    for k, s in res["speed"].items():
        print(f"{k:12} {1e3 * s['cpu_seconds_per_suggestion_mean']:8.2f} ms CPU per suggestion")
    for n, s in res.get("optuna", {}).get("speed", {}).items():
        print(f"{'optuna_' + n:12} {1e3 * s['cpu_seconds_per_suggestion_mean']:8.2f} ms CPU per "
              "suggestion")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
