#!/usr/bin/env python3
"""The GPU benchmark kit's driver (bench/gpu/run_all.sh calls it; see bench/README.md).

On one machine, with no network and no build step, from a batchtune bundle (scripts/bundle.sh,
unpacked) or a build folder, it runs and records as JSON:
  tests      the bundled GPU test programs (gpu_test_*: 0 pass, 77 skip, else fail)
  boston     the 252-trial Boston grid: `batchtune run` wall time, setup included (target < 1 s),
             on the default device (auto: the GPU) and once on the CPU, whose per-trial metrics
             must equal the GPU's; plus `batchtune bench --compare sequential`
  synthetic  1M rows x 28 features, 64 trials x 200 rounds, depth 8: `batchtune bench` packed vs
             one at a time (target >= 5x) and the `batchtune run` wall time
  xgboost    the same 64 trials on the same rows with XGBoost if it imports (GPU build if it
             trains on the GPU, else the CPU on every core; which one is recorded)
  hist       bt_hist_bandwidth: the batched histogram kernel against a device-to-device copy
  resnet     bench/bench_nn_gpu.py when torch imports and sees the GPU: 64 ResNet-20 trials,
             batchtune packed vs PyTorch one at a time vs PyTorch torch.func vmap (images/s)
  selftest   `batchtune selftest --all-packs`: every kernel of the op table against its C reference
             and a pack round per family against the CPU pack (--quick and full runs)
  sanitizer  compute-sanitizer on small GPU tests, when it is found: memcheck on the op table's
             gbdt_hist and nn_linear suites and the gbdt pack test; racecheck on the partition,
             sampling and split suites; initcheck on the histogram suite
Everything lands in OUT/DATE-gpu-DEVICE.json with the device, date, git commit and commands.

--quick is the run for a lent GPU with minutes to spare (at most about 6 minutes on an H100):
selftest, the GPU tests, the sanitizer, Boston (2 runs), a reduced 1M x 28 sweep (16 trials x 40
rounds packed, 4 of them one at a time), the histogram bandwidth; no XGBoost or resnet step.
--smoke runs the kit itself anywhere in seconds (20k rows, 8 trials, 10 rounds): the CI test."""
import argparse
import datetime
import glob
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--bin", required=True,
                   help="an unpacked bundle (with bin/) or a build folder (with batchtune)")
    p.add_argument("--out", default=os.environ.get("OUT") or os.path.join(REPO, "bench", "results"),
                   help="where the JSON goes (default $OUT, else bench/results)")
    p.add_argument("--workdir", default=None, help="data, sweeps, results (default OUT/gpu-work)")
    p.add_argument("--repeat", type=int, default=3, help="Boston runs on the GPU (default 3)")
    p.add_argument("--rows", type=int, default=1_000_000, help="synthetic rows (train + valid)")
    p.add_argument("--seq-trials", type=int, default=8,
                   help="trials trained one at a time for the sequential figure (default 8 of "
                        "64, scaled up: every trial has the same depth and rounds)")
    p.add_argument("--full-sequential", action="store_true",
                   help="train all 64 trials one at a time (slow) instead of --seq-trials")
    p.add_argument("--xgb-timeout", type=float, default=150,
                   help="seconds for the XGBoost loop; trials not done by then are extrapolated")
    p.add_argument("--step-timeout", type=float, default=600, help="seconds per command")
    p.add_argument("--resnet-timeout", type=float, default=420,
                   help="seconds for the resnet step, all three sides (default 420; its "
                        "batchtune side gets at most half)")
    p.add_argument("--skip", default="", help="comma-separated steps to skip: "
                   "selftest,tests,sanitizer,boston,synthetic,xgboost,hist,resnet")
    p.add_argument("--quick", action="store_true",
                   help="the lent-GPU run, at most about 6 minutes: selftest, tests, sanitizer, "
                        "boston x2, a reduced 1M x 28 sweep, hist (no xgboost, resnet)")
    p.add_argument("--smoke", action="store_true",
                   help="smoke run of the kit itself: 20k rows, 8 trials, 10 rounds")
    a = p.parse_args()
    a.skip = {s for s in a.skip.split(",") if s}
    if a.smoke:
        a.rows = min(a.rows, 20_000)
    if a.quick:
        a.repeat = min(a.repeat, 2)
        a.seq_trials = min(a.seq_trials, 4)
        a.step_timeout = min(a.step_timeout, 120)
        a.skip |= {"xgboost", "resnet"}
    return a


# --------------------------------------------------------------------------------------------
# where things are


def find_tools(d):
    d = os.path.abspath(d)
    cand = [os.path.join(d, "bin"), d]
    bt = next((os.path.join(c, "batchtune") for c in cand
               if os.access(os.path.join(c, "batchtune"), os.X_OK)), None)
    if not bt:
        sys.exit(f"gpu_bench: no batchtune in {d}/bin or {d}")
    hist = next((os.path.join(c, "bt_hist_bandwidth") for c in cand
                 if os.access(os.path.join(c, "bt_hist_bandwidth"), os.X_OK)), None)
    tests = sorted(set(glob.glob(os.path.join(d, "bin", "gpu_test_*")) +
                       glob.glob(os.path.join(d, "tests", "gpu_test_*"))))
    return bt, hist, [t for t in tests if os.access(t, os.X_OK)]


def git_commit(bin_dir):
    for d in (REPO, bin_dir):
        try:
            c = subprocess.run(["git", "-C", d, "rev-parse", "HEAD"], capture_output=True,
                               text=True, timeout=10)
            if c.returncode == 0:
                dirty = subprocess.run(["git", "-C", d, "status", "--porcelain", "-uno"],
                                       capture_output=True, text=True, timeout=10).stdout.strip()
                return c.stdout.strip() + ("-dirty" if dirty else "")
        except (OSError, subprocess.SubprocessError):
            pass
    return os.environ.get("BT_GIT_COMMIT")


def gpu_meta():
    """nvidia-smi's view (None without it): name, memory, driver."""
    try:
        q = subprocess.run(["nvidia-smi", "--query-gpu=index,name,memory.total,driver_version,"
                            "clocks.max.sm,power.limit", "--format=csv,noheader"],
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    if q.returncode != 0:
        return None
    gpus = []
    for line in q.stdout.strip().splitlines():
        f = [x.strip() for x in line.split(",")]
        if len(f) >= 4:
            gpus.append({"index": int(f[0]), "name": f[1], "memory": f[2], "driver": f[3],
                         "max_sm_clock": f[4] if len(f) > 4 else None,
                         "power_limit": f[5] if len(f) > 5 else None})
    return gpus


def slug(s):
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")[:40] or "unknown"


# --------------------------------------------------------------------------------------------
# running things


def run(cmd, timeout, env=None):
    """Runs cmd; returns a record with wall seconds, exit code and output tails."""
    t0 = time.perf_counter()
    try:
        p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                           timeout=timeout, env=env)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc = "timeout"
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
    wall = time.perf_counter() - t0
    return {"command": " ".join(str(c) for c in cmd), "rc": rc, "seconds": wall,
            "stdout": out, "stderr_tail": err[-3000:]}


def bench_json(rec):
    try:
        return json.loads(rec["stdout"])
    except (ValueError, TypeError):
        return None


def strip(rec):
    r = dict(rec)
    r.pop("stdout", None)
    return r


def results_metrics(path):
    """Per-trial metric (float64 array) and the device attribute of a results file."""
    import h5py
    import numpy as np
    with h5py.File(path, "r") as h:
        dev = h.attrs.get("device", "")
        dev = dev.decode() if isinstance(dev, bytes) else str(dev)
        return np.array(h["trials"]["metric"], dtype=np.float64), dev


def sweep_events(log):
    try:
        with open(log) as f:
            return [json.loads(x) for x in f]
    except (OSError, ValueError):
        return []


# --------------------------------------------------------------------------------------------
# the steps


def step_tests(a, tests, res):
    env = dict(os.environ, BT_SOURCE_DIR=REPO, BT_TEST_TMP=os.path.join(a.workdir, "tests"),
               OMP_WAIT_POLICY="passive")
    os.makedirs(env["BT_TEST_TMP"], exist_ok=True)
    out = []
    for t in tests:
        r = run([t], min(a.step_timeout, 300), env)
        status = {0: "pass", 77: "skip"}.get(r["rc"], "fail")
        out.append({"test": os.path.basename(t), "status": status, "rc": r["rc"],
                    "seconds": round(r["seconds"], 3),
                    "tail": (r["stdout"][-1500:] + r["stderr_tail"][-1500:]) if status == "fail"
                    else r["stdout"].strip().splitlines()[-1:]})
        print(f"  {status:5s} {os.path.basename(t)} ({r['seconds']:.1f} s)", flush=True)
    res["tests"] = {"programs": out, "passed": sum(o["status"] == "pass" for o in out),
                    "skipped": sum(o["status"] == "skip" for o in out),
                    "failed": sum(o["status"] == "fail" for o in out)}


def step_selftest(a, bt, res):
    """batchtune selftest: the op table and the pack rounds, as a user runs it."""
    seed = int(time.time())
    r = run([bt, "selftest", "--all-packs", "--seed", seed], a.step_timeout)
    rows = [ln for ln in r["stdout"].splitlines() if ln.startswith(("pass", "FAIL"))]
    res["selftest"] = {"rc": r["rc"], "seconds": r["seconds"], "seed": seed,
                       "cases": len(rows), "failed": sum(ln.startswith("FAIL") for ln in rows),
                       "table": r["stdout"][-20000:], "stderr_tail": r["stderr_tail"]}
    print(f"  selftest: rc {r['rc']}, {len(rows)} cases, {res['selftest']['failed']} failed "
          f"({r['seconds']:.1f} s)", flush=True)


def step_sanitizer(a, tests, res):
    """compute-sanitizer memcheck on two small GPU tests: out-of-bounds and misaligned device
    accesses, uninitialized reads of device memory, leaks."""
    cs = shutil.which("compute-sanitizer") or next(
        (p for p in ("/usr/local/cuda/bin/compute-sanitizer",
                     os.path.join(os.environ.get("CUDA_HOME", "/usr/local/cuda"), "bin",
                                  "compute-sanitizer")) if os.access(p, os.X_OK)), None)
    if not cs:
        res["sanitizer"] = {"available": False, "why": "compute-sanitizer not found"}
        print("  compute-sanitizer not found", flush=True)
        return
    by_name = {os.path.basename(t): t for t in tests}
    jobs = []  # (name, tool, command, environment)
    ops = by_name.get("gpu_test_ops")
    if ops:
        jobs += [("ops gbdt_hist", "memcheck", [ops], {"BT_OPS_ONLY": "gbdt_hist"}),
                 ("ops nn_linear", "memcheck", [ops], {"BT_OPS_ONLY": "nn_linear"})]
    if "gpu_test_gbdt_pack_cuda" in by_name:
        jobs.append(("gbdt pack", "memcheck", [by_name["gpu_test_gbdt_pack_cuda"]], {}))
    if ops:  # shared-memory hazards of the kernels with block-wide scans and reductions
        jobs += [(f"ops {op}", "racecheck", [ops], {"BT_OPS_ONLY": op})
                 for op in ("gbdt_partition", "gbdt_sample", "gbdt_split")]
        jobs.append(("ops gbdt_hist", "initcheck", [ops], {"BT_OPS_ONLY": "gbdt_hist"}))
    out = []
    for name, tool, cmd, extra in jobs:
        env = dict(os.environ, BT_SOURCE_DIR=REPO, BT_TEST_TMP=os.path.join(a.workdir, "tests"),
                   **extra)
        opts = ["--leak-check", "full"] if tool == "memcheck" else []
        r = run([cs, "--tool", tool] + opts + ["--error-exitcode", "99"] + cmd,
                min(a.step_timeout, 90 if a.quick else 300), env)
        errors = re.search(r"ERROR SUMMARY: (\d+) error", r["stdout"] + r["stderr_tail"])
        out.append({"test": name, "tool": tool, "rc": r["rc"], "seconds": round(r["seconds"], 2),
                    "errors": int(errors.group(1)) if errors else None,
                    "tail": (r["stdout"][-3000:] + r["stderr_tail"][-2000:])})
        print(f"  {tool} {name}: rc {r['rc']}, errors {out[-1]['errors']} "
              f"({r['seconds']:.1f} s)", flush=True)
    res["sanitizer"] = {"available": True, "tool": cs, "runs": out,
                        "clean": all(o["rc"] == 0 and o["errors"] == 0 for o in out)}


def step_boston(a, bt, res):
    import numpy as np
    with open(os.path.join(HERE, "boston-grid.json")) as f:
        sw = json.load(f)
    sw["dataset"]["path"] = os.path.join(REPO, "sweeps", "examples", "data", "boston.csv")
    path = os.path.join(a.workdir, "boston-grid.json")
    with open(path, "w") as f:
        json.dump(sw, f, indent=2)
    runs, metrics, device, events = [], None, None, None
    for i in range(a.repeat):
        out = os.path.join(a.workdir, "boston-auto.h5")
        log = os.path.join(a.workdir, f"boston-auto-{i}.log")
        if os.path.exists(log):
            os.remove(log)
        r = run([bt, "run", path, "--out", out, "--fresh", "--quiet", "--log", log],
                a.step_timeout)
        runs.append(strip(r))
        if r["rc"] == 0:
            metrics, device = results_metrics(out)
            events = [e for e in sweep_events(log) if e.get("event") == "sweep_start"]
        print(f"  boston run {i + 1}/{a.repeat}: {r['seconds']:.3f} s (rc {r['rc']})", flush=True)
    r = run([bt, "run", path, "--out", os.path.join(a.workdir, "boston-cpu.h5"), "--fresh",
             "--quiet", "--device", "cpu"], a.step_timeout)
    cpu = strip(r)
    identical = None
    if r["rc"] == 0 and metrics is not None:
        m_cpu, _ = results_metrics(os.path.join(a.workdir, "boston-cpu.h5"))
        identical = bool(np.array_equal(m_cpu, metrics, equal_nan=True))
        cpu["max_rel_diff_to_default_device"] = float(
            np.nanmax(np.abs(m_cpu - metrics) / np.maximum(np.abs(m_cpu), 1e-300)))
    print(f"  boston on the cpu: {r['seconds']:.3f} s; metrics identical: {identical}", flush=True)
    walls = sorted(x["seconds"] for x in runs if x["rc"] == 0)
    b = run([bt, "bench", path, "--compare", "sequential", "--json"], a.step_timeout)
    res["boston"] = {
        "sweep": path, "trials": 252, "device": device,
        "sweep_start": events[0] if events else None,
        "wall_seconds": [round(x["seconds"], 4) for x in runs],
        "wall_seconds_median": walls[len(walls) // 2] if walls else None,
        "target_seconds": 1.0,
        "target_met": bool(walls and walls[len(walls) // 2] < 1.0),
        "runs": runs, "cpu_run": cpu, "metrics_identical_to_cpu": identical,
        "bench": bench_json(b), "bench_run": strip(b)}


def synthetic_data(a):
    """The 1M x 28 set as NPY (bench_gbdt_cpu.py's generator and split), written once."""
    sys.path.insert(0, os.path.join(REPO, "bench"))
    import numpy as np
    import bench_gbdt_cpu as cpu
    d = os.path.join(a.workdir, f"synthetic-{a.rows}")
    paths = {k: os.path.join(d, f"synthetic-{k}.npy")
             for k in ("train", "train_labels", "valid", "valid_labels")}
    if not all(os.path.exists(p) for p in paths.values()):
        os.makedirs(d, exist_ok=True)
        X, y = cpu.synthetic_table(a.rows, 28, 7)
        Xt, yt, Xv, yv = cpu.split(X, y, 0.2, 42)
        for k, v in (("train", Xt), ("train_labels", yt), ("valid", Xv), ("valid_labels", yv)):
            np.save(paths[k], np.ascontiguousarray(v))
    return dict(paths, format="npy")


def synthetic_sweep(a, data):
    with open(os.path.join(HERE, "synthetic-1m.json")) as f:
        sw = json.load(f)
    sw["dataset"] = data
    if a.smoke:
        sw["parameters"] = {"eta": {"values": [0.1, 0.3]}, "reg_lambda": {"values": [1.0, 2.0]},
                            "min_child_weight": {"values": [1.0, 16.0]}}
        sw["model"]["num_round"] = 10
    elif a.quick:  # 16 of the 64 trials, 40 rounds: the same work per round, a quarter of it
        sw["parameters"] = {"eta": {"values": [0.1, 0.3]}, "reg_lambda": {"values": [1.0, 2.0]},
                            "min_child_weight": {"values": [1.0, 4.0, 16.0, 64.0]}}
        sw["model"]["num_round"] = 40
    path = os.path.join(a.workdir, "synthetic.json")
    with open(path, "w") as f:
        json.dump(sw, f, indent=2)
    return sw, path


def step_synthetic(a, bt, res):
    import numpy as np
    t0 = time.perf_counter()
    data = synthetic_data(a)
    sw, path = synthetic_sweep(a, data)
    data_s = time.perf_counter() - t0
    n_trials = 1
    for p in sw["parameters"].values():
        n_trials *= len(p["values"])
    print(f"  data ready ({data_s:.1f} s); packed: {n_trials} trials", flush=True)
    packed = run([bt, "bench", path, "--json"], a.step_timeout)
    pj = bench_json(packed)
    k = n_trials if a.full_sequential else min(a.seq_trials, n_trials)
    print(f"  packed bench: {packed['seconds']:.1f} s (rc {packed['rc']}); sequential: {k} "
          f"trials", flush=True)
    seq = run([bt, "bench", path, "--trials", k, "--compare", "sequential", "--json"],
              a.step_timeout)
    sj = bench_json(seq)
    speedup = None
    if pj and sj:
        seq_all = sj["sequential"]["train_seconds"] * n_trials / k
        speedup = seq_all / pj["packed"]["train_seconds"]
    print(f"  sequential bench: {seq['seconds']:.1f} s (rc {seq['rc']}); speedup {speedup}",
          flush=True)
    out = os.path.join(a.workdir, "synthetic.h5")
    r = run([bt, "run", path, "--out", out, "--fresh", "--quiet"], a.step_timeout)
    metrics, device = (results_metrics(out) if r["rc"] == 0 else (None, None))
    print(f"  batchtune run: {r['seconds']:.1f} s (rc {r['rc']}) on {device}", flush=True)
    # the same sweep cut into 4 packs, stepped side by side on 4 streams (GPU families)
    split = max(1, n_trials // 4)
    r4 = run([bt, "run", path, "--out", os.path.join(a.workdir, "synthetic-4packs.h5"), "--fresh",
              "--quiet", "--pack", split, "--streams", 4], a.step_timeout)
    same4 = None
    if r4["rc"] == 0 and metrics is not None:
        m4, _ = results_metrics(os.path.join(a.workdir, "synthetic-4packs.h5"))
        same4 = bool(np.array_equal(m4, metrics, equal_nan=True))
    print(f"  batchtune run, 4 packs of {split} on 4 streams: {r4['seconds']:.1f} s (rc "
          f"{r4['rc']}); same metrics: {same4}", flush=True)
    res["synthetic"] = {
        "sweep": path, "trials": n_trials, "rows": a.rows, "data_seconds": data_s,
        "packed_bench": pj, "packed_bench_run": strip(packed),
        "sequential_trials": k, "sequential_bench": sj, "sequential_bench_run": strip(seq),
        "sequential_train_seconds_all_trials": (sj["sequential"]["train_seconds"] * n_trials / k)
        if sj else None,
        "sequential_extrapolated": k < n_trials,
        "speedup_packed_over_sequential": speedup, "target_speedup": 5.0,
        "target_met": speedup is not None and speedup >= 5.0,
        "run": strip(r), "run_wall_seconds": r["seconds"], "device": device,
        "run_4_packs": strip(r4), "run_4_packs_wall_seconds": r4["seconds"],
        "run_4_packs_metrics_identical": same4,
        "best_mse": float(min(metrics)) if metrics is not None and len(metrics) else None}
    return sw, data, metrics


XGB_NAMES = {"reg_lambda": "lambda", "reg_alpha": "alpha", "learning_rate": "eta",
             "min_split_loss": "gamma"}


def xgb_child(spec_path):
    """Runs in a child process: the XGBoost loop, one JSON line per trial, so a timeout keeps
    what was done."""
    import numpy as np
    import xgboost as xgb
    with open(spec_path) as f:
        spec = json.load(f)
    data, sw, mode = spec["data"], spec["sweep"], spec["mode"]
    t0 = time.perf_counter()
    Xt, yt = np.load(data["train"]), np.load(data["train_labels"])
    Xv, yv = np.load(data["valid"]), np.load(data["valid_labels"])
    threads = os.cpu_count()
    dtrain = xgb.DMatrix(Xt, label=yt, nthread=threads)
    dvalid = xgb.DMatrix(Xv, label=yv, nthread=threads)
    print(json.dumps({"dmatrix_seconds": time.perf_counter() - t0}), flush=True)
    base_score = float(np.mean(yt.astype(np.float64)))
    fixed = {k: v for k, v in sw["model"].items() if k != "type"}
    names = list(sw["parameters"])
    configs = [{}]
    for n in names:  # grid order, last parameter fastest (batchtune's)
        configs = [dict(c, **{n: v}) for c in configs for v in sw["parameters"][n]["values"]]
    for i, cfg in enumerate(configs):
        params = dict(fixed)
        params.update(cfg)
        rounds = int(params.pop("num_round"))
        params = {XGB_NAMES.get(k, k): v for k, v in params.items()}
        params.update(tree_method="hist", max_bin=int(params.get("max_bin", 256)),
                      base_score=base_score, eval_metric="rmse", nthread=threads)
        if mode == "gpu":
            params["device"] = "cuda"
        t = time.perf_counter()
        ev = {}
        xgb.train(params, dtrain, num_boost_round=rounds, evals=[(dvalid, "valid")],
                  evals_result=ev, verbose_eval=False)
        print(json.dumps({"trial": i, "seconds": time.perf_counter() - t,
                          "mse": ev["valid"]["rmse"][-1] ** 2}), flush=True)


def xgb_probe():
    """(version, mode, why): mode 'gpu' when XGBoost trains on the GPU here, else 'cpu'."""
    code = ("import json, numpy as np, xgboost as xgb\n"
            "d = xgb.DMatrix(np.random.rand(256, 4).astype('f4'), label=np.random.rand(256))\n"
            "gpu = False\n"
            "try:\n"
            "    xgb.train({'device': 'cuda', 'tree_method': 'hist'}, d, 2)\n"
            "    gpu = bool(xgb.build_info().get('USE_CUDA'))\n"
            "except Exception as e:\n"
            "    why = str(e).splitlines()[0][:200]\n"
            "print(json.dumps({'version': xgb.__version__, 'gpu': gpu}))\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        return None, None, (p.stderr.strip().splitlines() or ["import failed"])[-1]
    info = json.loads(p.stdout.strip().splitlines()[-1])
    return info["version"], "gpu" if info["gpu"] else "cpu", None


def step_xgboost(a, sw, data, bt_metrics, res):
    import numpy as np
    wheels = os.environ.get("BT_XGB_WHEELS")
    version, mode, why = xgb_probe()
    if version is None and wheels:  # carried wheels, installed offline into the work folder
        target = os.path.join(a.workdir, "pylib")
        subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--find-links",
                        wheels, "--target", target, "xgboost"], capture_output=True, timeout=300)
        os.environ["PYTHONPATH"] = target + os.pathsep + os.environ.get("PYTHONPATH", "")
        version, mode, why = xgb_probe()
    if version is None:
        res["xgboost"] = {"available": False, "why": why}
        print(f"  xgboost: not importable ({why})", flush=True)
        return
    spec = os.path.join(a.workdir, "xgb-spec.json")
    with open(spec, "w") as f:
        json.dump({"data": data, "sweep": sw, "mode": mode}, f)
    n_trials = len(bt_metrics) if bt_metrics is not None else 64
    print(f"  xgboost {version} on the {mode}, up to {a.xgb_timeout:.0f} s", flush=True)
    r = run([sys.executable, os.path.abspath(__file__), "--xgb-child", spec], a.xgb_timeout)
    lines = [json.loads(x) for x in r["stdout"].splitlines() if x.startswith("{")]
    trials = [x for x in lines if "trial" in x]
    dm = next((x["dmatrix_seconds"] for x in lines if "dmatrix_seconds" in x), None)
    loop = sum(x["seconds"] for x in trials)
    est = loop * n_trials / len(trials) if trials else None
    agree = None
    if trials and bt_metrics is not None:
        rel = [abs(bt_metrics[x["trial"]] - x["mse"]) / x["mse"] for x in trials]
        agree = {"trials": len(rel), "max_rel_diff": float(max(rel)),
                 "median_rel_diff": float(np.median(rel))}
    res["xgboost"] = {
        "available": True, "version": version, "device": mode,
        "threads": os.cpu_count() if mode == "cpu" else None,
        "peer": "xgboost GPU (device=cuda)" if mode == "gpu"
        else f"xgboost CPU hist, {os.cpu_count()} threads",
        "dmatrix_seconds": dm, "trials_done": len(trials), "trials": n_trials,
        "loop_seconds_done": loop, "loop_seconds_all_trials": est,
        "extrapolated": len(trials) < n_trials, "agreement_with_batchtune_mse": agree,
        "run": strip(r)}
    print(f"  xgboost: {len(trials)}/{n_trials} trials in {loop:.1f} s "
          f"(all trials: {est} s)", flush=True)


def step_hist(a, hist, res):
    if not hist:
        res["hist"] = {"available": False, "why": "no bt_hist_bandwidth (a build without CUDA?)"}
        return
    r = run([hist, "--rows", a.rows, "--trials", 8 if a.smoke else 64], a.step_timeout)
    res["hist"] = {"result": bench_json(r), "run": strip(r)}
    print(f"  hist_bandwidth: rc {r['rc']} ({r['seconds']:.1f} s)", flush=True)


def torch_probe(py):
    """'cuda', 'cpu' (torch without a visible GPU) or None (no torch) for interpreter py."""
    try:
        p = subprocess.run([py, "-c", "import torch; print('cuda' if torch.cuda.is_available() "
                            "else 'cpu')"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    return p.stdout.strip().splitlines()[-1] if p.returncode == 0 and p.stdout.strip() else None


def step_resnet(a, bt, res):
    """bench/bench_nn_gpu.py (next to this folder, in a checkout and in a bundle) with this
    kit's batchtune; its JSON goes into the kit's. On the GPU at full size (about 1-2 minutes
    on an H100/H200 if the targets hold); with --smoke and torch but no GPU, a tiny CPU run."""
    script = os.path.join(os.path.dirname(HERE), "bench_nn_gpu.py")
    if not os.path.exists(script):
        res["resnet"] = {"available": False, "why": f"{script} missing"}
        return
    dev = torch_probe(sys.executable)
    if dev is None or (dev == "cpu" and not a.smoke):
        res["resnet"] = {"available": False, "why": "no torch in this python" if dev is None
                         else "torch sees no CUDA device"}
        print(f"  resnet: {res['resnet']['why']}", flush=True)
        return
    out = os.path.join(a.workdir, "resnet.json")
    cmd = [sys.executable, script, "--batchtune", bt, "--out-json", out, "--device", dev,
           "--timeout", int(a.resnet_timeout / 2)]
    if a.smoke:
        cmd += ["--trials", 2, "--seq-trials", 1, "--images", 256, "--valid-rows", 64,
                "--hw", 8, "--width", 4, "--depth", 8, "--batch", 32, "--epochs", 2]
    env = dict(os.environ, BT_GIT_COMMIT=res.get("git_commit") or "")
    if dev == "cpu":
        env["OMP_NUM_THREADS"] = "1"
    if os.path.exists(out):
        os.remove(out)
    r = run(cmd, a.resnet_timeout, env)
    result = None
    if os.path.exists(out):
        with open(out) as f:
            result = json.load(f)
    res["resnet"] = {"available": True, "device": dev, "result": result, "run": strip(r)}
    print(f"  bench_nn_gpu: rc {r['rc']} ({r['seconds']:.1f} s)", flush=True)


# --------------------------------------------------------------------------------------------


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--xgb-child":
        xgb_child(sys.argv[2])
        return
    a = parse_args()
    bt, hist, tests = find_tools(a.bin)
    os.makedirs(a.out, exist_ok=True)
    a.workdir = os.path.abspath(a.workdir or os.path.join(a.out, "gpu-work"))
    os.makedirs(a.workdir, exist_ok=True)
    gpus = gpu_meta()
    now = datetime.datetime.now(datetime.timezone.utc)
    res = {
        "kit": "bench/gpu/run_all.sh", "date": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_commit": git_commit(a.bin), "command": " ".join(sys.argv),
        "host": socket.gethostname(), "python": platform.python_version(),
        "cpu_cores": os.cpu_count(), "gpus_nvidia_smi": gpus,
        "batchtune": bt, "batchtune_version": run([bt, "--version"], 30)["stdout"].strip(),
        "batchtune_info": run([bt, "info"], 60)["stdout"], "quick": a.quick, "smoke": a.smoke}
    def run_steps(steps):
        for name, fn in steps:
            if name in a.skip:
                continue
            print(f"[{name}]", flush=True)
            try:
                fn()
            except Exception as e:  # record and go on: one broken step must not lose the others
                res[name] = {"error": f"{type(e).__name__}: {e}"}
                print(f"  {name} failed: {e}", flush=True)

    run_steps([("selftest", lambda: step_selftest(a, bt, res)),
               ("tests", lambda: step_tests(a, tests, res)),
               ("sanitizer", lambda: step_sanitizer(a, tests, res)),
               ("boston", lambda: step_boston(a, bt, res))])
    sw = data = metrics = None
    if "synthetic" not in a.skip:
        print("[synthetic]", flush=True)
        try:
            sw, data, metrics = step_synthetic(a, bt, res)
        except Exception as e:
            res["synthetic"] = {"error": f"{type(e).__name__}: {e}"}
            print(f"  synthetic failed: {e}", flush=True)
    if "xgboost" not in a.skip:
        print("[xgboost]", flush=True)
        try:
            if data is None:
                data = synthetic_data(a)
                sw, _ = synthetic_sweep(a, data)
            step_xgboost(a, sw, data, metrics, res)
        except Exception as e:
            res["xgboost"] = {"error": f"{type(e).__name__}: {e}"}
            print(f"  xgboost failed: {e}", flush=True)
    run_steps([("hist", lambda: step_hist(a, hist, res)),
               ("resnet", lambda: step_resnet(a, bt, res))])
    dev = gpus[0]["name"] if gpus else "nogpu"
    tag = "-quick" if a.quick else "-smoke" if a.smoke else ""
    name = f"{now.strftime('%Y-%m-%d')}-gpu-{slug(dev)}{tag}.json"
    path = os.path.join(a.out, name)
    with open(path, "w") as f:
        json.dump(res, f, indent=1, default=str)
    summary(res, path)


def summary(res, path):
    def g(d, *ks):
        for k in ks:
            if not isinstance(d, dict):
                return None
            d = d.get(k)
        return d

    def n(x, unit=""):
        return "n/a" if x is None else f"{x:.3g}{unit}" if isinstance(x, float) else f"{x}{unit}"

    gpus = res.get("gpus_nvidia_smi") or [{}]
    print("\n== batchtune GPU benchmark ==")
    print(f"device   {gpus[0].get('name', 'no GPU (nvidia-smi)')}  commit {res['git_commit']}  "
          f"{res['date']}")
    t = res.get("tests")
    if t and "programs" in t:
        print(f"tests    {t['passed']} passed, {t['skipped']} skipped, {t['failed']} failed")
    b = res.get("boston", {})
    if not b:
        print("boston   skipped")
    else:
        print(f"boston   252 trials, run wall median {n(g(b, 'wall_seconds_median'), ' s')} on "
              f"{g(b, 'device')} (target < 1 s: {g(b, 'target_met')}); metrics == cpu's: "
              f"{g(b, 'metrics_identical_to_cpu')}")
    s = res.get("synthetic", {})
    if not s:
        print("1M x 28  skipped")
    else:
        packed = n(g(s, 'packed_bench', 'packed', 'train_seconds'), ' s')
        scaled = (f" (scaled from {g(s, 'sequential_trials')})"
                  if g(s, 'sequential_extrapolated') else "")
        print(f"1M x 28  {g(s, 'trials')} trials: packed {packed}, one at a time "
              f"{n(g(s, 'sequential_train_seconds_all_trials'), ' s')}{scaled}, speedup "
              f"{n(g(s, 'speedup_packed_over_sequential'), 'x')} (target >= 5x: "
              f"{g(s, 'target_met')}); run wall {n(g(s, 'run_wall_seconds'), ' s')} on "
              f"{g(s, 'device')}, as 4 packs on 4 streams {n(g(s, 'run_4_packs_wall_seconds'), ' s')}")
    x = res.get("xgboost")
    if x is None:
        print("xgboost  skipped")
    elif x.get("available"):
        print(f"xgboost  {x['peer']}: {n(x['loop_seconds_all_trials'], ' s')} for {x['trials']} "
              f"trials{' (scaled from ' + str(x['trials_done']) + ')' if x['extrapolated'] else ''}"
              f"; mse vs batchtune: {g(x, 'agreement_with_batchtune_mse')}")
    else:
        print(f"xgboost  unavailable: {x.get('why') or x.get('error')}")
    h = g(res, "hist", "result")
    if h and "scenarios" in h:
        print(f"memcpy   device to device {h['memcpy_d2d']['bytes_per_s']:.3e} B/s (read + write)")
        for sc in h["scenarios"]:
            print(f"hist     {sc['name']}: {sc['best']['unique_bytes_per_s']:.3e} B/s unique = "
                  f"{sc['best']['unique_fraction_of_memcpy']:.2f} of memcpy, "
                  f"{sc['best']['median_ms']:.3f} ms; matches reference {sc['matches_reference']}")
    else:
        print(f"hist     {g(res, 'hist', 'why') or g(res, 'hist', 'error') or g(h, 'error') or 'skipped'}")
    rn = res.get("resnet")
    if rn is None:
        print("resnet   skipped")
    elif rn.get("result"):
        r = rn["result"]
        sides = ", ".join(f"{k} {n(g(r, k, 'images_per_s'))}" if g(r, k, "images_per_s")
                          else f"{k} {g(r, k, 'error')}" for k in
                          ("pytorch_sequential", "pytorch_vmap", "batchtune") if k in r)
        ratios = ", ".join(f"{k[len('batchtune_over_'):]} {v['ratio']:.2f}x (target "
                           f"{v['target']}x)" for k, v in r.get("ratios", {}).items())
        print(f"resnet   {g(r, 'config', 'trials')} x {g(r, 'config', 'model')} on "
              f"{g(r, 'device', 'name')}, images/s: {sides}; batchtune over {ratios or 'n/a'}")
    else:
        print(f"resnet   {rn.get('why') or rn.get('error') or g(rn, 'run', 'stderr_tail')}")
    print(f"written  {path}")


if __name__ == "__main__":
    main()
