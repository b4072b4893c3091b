"""bench/bench_nn_gpu.py (batchtune vs PyTorch on ResNet trials) runs end to end in a tiny CPU
mode against this build's batchtune, so the GPU run on a lent machine is not its first run: its
three sides train (the PyTorch losses fall, and the vmap side's trial losses equal the same trials
trained one at a time: the same network, init, row order and optimizer), every side counts the
same images, and the JSON has the date, commit, command, device and ratios. Needs a python3 with
torch and numpy: this interpreter, else $BT_TORCH_PYTHON (cmake -DBT_TORCH_PYTHON=...); SKIP
(77) without one."""
import json
import os
import subprocess
import sys

from btutil import BIN, Checker, SRC, workdir

c = Checker("test_bench_nn_gpu")
d = workdir("bench_nn_gpu")
out = os.path.join(d, "resnet.json")
trials, seq_trials, rows, epochs = 2, 1, 256, 2
args = ["--device", "cpu", "--batchtune", BIN, "--out-json", out, "--trials", trials,
        "--seq-trials", seq_trials, "--images", rows, "--valid-rows", 64, "--hw", 8, "--width", 4,
        "--depth", 8, "--batch", 32, "--epochs", epochs, "--timeout", 120]
env = dict(os.environ, OMP_NUM_THREADS="1")  # torch's threads fight over busy cores otherwise
p = None
for py in dict.fromkeys(x for x in (sys.executable, os.environ.get("BT_TORCH_PYTHON")) if x):
    if os.path.exists(out):
        os.remove(out)
    p = subprocess.run([py, os.path.join(SRC, "bench", "bench_nn_gpu.py"), *map(str, args)],
                       capture_output=True, text=True, env=env, timeout=300)
    if p.returncode != 77:  # 77: this python has no torch 2.x / numpy
        break
if p is None or p.returncode == 77:
    print("SKIP: no python3 with torch and numpy (set BT_TORCH_PYTHON or cmake -DBT_TORCH_PYTHON)")
    sys.exit(77)
c.check(p.returncode == 0, f"bench_nn_gpu.py -> {p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
c.check(f"written: {out}" in p.stdout, p.stdout[-2000:])
r = json.load(open(out)) if os.path.exists(out) else {}
c.check(r.get("date", "").endswith("Z") and "bench_nn_gpu.py" in r.get("command", ""), r.get("date"))
c.check(r.get("commit") is None or len(r["commit"]) >= 40, r.get("commit"))
dev = r.get("device", {})
c.check(dev.get("type") == "cpu" and dev.get("torch") and dev.get("name"), dev)
cfg = r.get("config", {})
c.check(cfg.get("model") == "resnet8" and cfg.get("image") == [3, 8, 8] and cfg.get("parameters", 0) > 0, cfg)
for side, n in (("pytorch_sequential", seq_trials), ("pytorch_vmap", trials), ("batchtune", trials)):
    s = r.get(side, {})
    c.check("error" not in s, f"{side}: {s.get('error')} {s.get('traceback', '')} {s.get('detail', '')}")
    c.check(s.get("trials") == n and s.get("images") == n * epochs * rows, f"{side}: {s}")
    c.check(s.get("seconds", 0) > 0 and abs(s["images_per_s"] * s["seconds"] - s["images"]) < 1e-6 * s["images"],
            f"{side}: images/s = images / seconds")
    if side != "batchtune":
        # it trains: every trial's loss falls from its first steps to its last, and it learns
        c.check(s.get("trials_loss_decreased") == n, f"{side}: losses {s}")
        c.check(s.get("loss_last_steps_mean", 9) < s.get("loss_first_steps_mean", 0) - 0.05, f"{side}: {s}")
        c.check(s.get("valid_accuracy_mean", 0) > 0.15, f"{side}: accuracy {s.get('valid_accuracy_mean')}")
        c.check(s.get("warmup_seconds", 0) > 0, f"{side}: warm-up measured apart")
vm = r.get("pytorch_vmap", {})
c.check(isinstance(vm.get("bn_running_stats"), bool), vm.get("bn_running_stats"))
lv = vm.get("loss_vs_sequential", {})
c.check(lv.get("trials") == seq_trials and lv.get("max_abs_diff", 1) < 1e-4,
        f"vmap trial losses equal the same trial trained alone (fp32 on the CPU): {lv}")
bt = r.get("batchtune", {})
c.check(bt.get("trained_on") == "cpu" and "--device cpu" in bt.get("command", ""), bt.get("command"))
c.check(bt.get("bench", {}).get("rows") == rows and bt.get("bench", {}).get("valid_rows") == 64, "same data")
ra = r.get("ratios", {})
for k in ("batchtune_over_pytorch_sequential", "batchtune_over_pytorch_vmap"):
    c.check(k in ra and ra[k]["ratio"] > 0 and isinstance(ra[k]["met"], bool), f"{k}: {ra.get(k)}")
c.check(abs(ra.get("batchtune_over_pytorch_vmap", {}).get("ratio", 0) * vm.get("images_per_s", 0)
            - bt.get("images_per_s", -1)) < 1e-6 * bt.get("images_per_s", 1), "ratio = bt / vmap")
c.finish()
