"""The GPU benchmark kit (bench/gpu/run_all.sh) runs end to end in --smoke mode on whatever this
build trains on, and its JSON has what bench/README.md promises: date, commit, command, the
Boston runs with a metric check against the CPU, the synthetic packed/sequential figures from
`batchtune bench`, and the XGBoost peer or the reason it is missing."""
import glob
import json
import os
import shutil
import subprocess
import sys

from btutil import BIN, Checker, SRC, need, workdir

need("numpy", "h5py")
c = Checker("test_gpu_kit")
d = workdir("gpu_kit")
out = os.path.join(d, "out")
shutil.rmtree(out, ignore_errors=True)
bin_dir = os.path.dirname(os.path.abspath(BIN))
env = dict(os.environ, PYTHON=sys.executable)
env.pop("OUT", None)
p = subprocess.run([os.path.join(SRC, "bench", "gpu", "run_all.sh"), bin_dir, out, "--smoke",
                    "--repeat", "1", "--skip", "tests,hist,sanitizer", "--xgb-timeout", "120"],
                   capture_output=True, text=True, env=env, timeout=600)
c.check(p.returncode == 0, f"run_all.sh -> {p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
c.check("== batchtune GPU benchmark ==" in p.stdout and "written" in p.stdout, p.stdout[-2000:])
files = glob.glob(os.path.join(out, "*-gpu-*-smoke.json"))
c.check(len(files) == 1, files)
if files:
    r = json.load(open(files[0]))
    c.check(r["date"].endswith("Z") and r["command"] and "batchtune" in r["batchtune_version"], r)
    c.check(r["git_commit"] is None or len(r["git_commit"]) >= 40, r["git_commit"])
    b = r["boston"]
    c.check(len(b["wall_seconds"]) == 1 and b["wall_seconds_median"] > 0, b.get("wall_seconds"))
    c.check(b["metrics_identical_to_cpu"] is True, "the default device's metrics equal the cpu's")
    c.check(b["bench"]["trials"] == 252 and b["bench"]["metrics_identical"] is True, "bench")
    c.check(b["device"] == b["sweep_start"]["device"] or b["device"].startswith(
        b["sweep_start"]["device"]), f"{b['device']} / {b['sweep_start']}")
    s = r["synthetic"]
    c.check(s["trials"] == 8 and s["packed_bench"]["trials"] == 8, s.get("trials"))
    c.check(s["sequential_bench"]["metrics_identical"] is True, "packed == sequential")
    c.check(s["speedup_packed_over_sequential"] > 0 and s["run_wall_seconds"] > 0, s)
    x = r["xgboost"]
    if x.get("available"):
        c.check(x["trials_done"] == 8 and x["device"] in ("cpu", "gpu"), x)
        # same rows, same grid: XGBoost's mse is within a few percent (binning differs)
        c.check(x["agreement_with_batchtune_mse"]["median_rel_diff"] < 0.05, x)
    else:
        c.check(bool(x.get("why")), x)
    c.check("tests" not in r and "hist" not in r and "sanitizer" not in r,
            "skipped steps are absent")
    st = r["selftest"]  # 0 on a GPU, 69 (no usable GPU, with the reason) without one
    c.check(st["rc"] in (0, 69) and (st["rc"] == 69 or st["failed"] == 0), st)
    rn = r.get("resnet", {})  # bench_nn_gpu.py: measured (torch here) or why not
    c.check((rn.get("available") is False and bool(rn.get("why"))) or
            (rn.get("run", {}).get("rc") == 0 and "batchtune" in (rn.get("result") or {})), rn)
c.finish()
