"""A stand-in training program for batchtune's program-mode tests (stdlib only). It reads W&B-style
--name=value arguments and reports {"epoch": e, "val_loss": ...} JSON lines; --mode picks a
misbehaviour: crash, hang, noisy, silent, nan, child (leaves a grandchild in its process group),
env (reports what batchtune put in its environment), flaky (fails its first attempt)."""
import json
import os
import subprocess
import sys
import time

args = {}
for a in sys.argv[1:]:
    k, _, v = a.lstrip("-").partition("=")
    args[k] = v
mode = args.get("mode", "ok")
lr = float(args.get("lr", "0.1"))
epochs = int(args.get("epochs", "5"))
delay = float(args.get("delay", "0"))
out = os.environ.get("BATCHTUNE_OUT_DIR", ".")

with open(os.path.join(out, "argv.json"), "w") as f:
    json.dump(sys.argv[1:], f)
with open(os.path.join(out, "pid"), "w") as f:
    f.write(str(os.getpid()))

if mode == "child":  # a grandchild that would outlive us if batchtune forgot the group
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    with open(os.path.join(out, "grandchild"), "w") as f:
        f.write(str(p.pid))
if mode == "env":
    keys = ["BATCHTUNE_TRIAL_ID", "BATCHTUNE_PARAMS", "BATCHTUNE_OUT_DIR", "CUDA_VISIBLE_DEVICES",
            "WANDB_SWEEP_ID", "WANDB_RUN_ID", "WANDB_SWEEP_PARAM_PATH", "BATCHTUNE_ATTEMPT"]
    with open(os.path.join(out, "env.json"), "w") as f:
        json.dump({k: os.environ.get(k) for k in keys}, f)
if mode == "flaky" and os.environ.get("BATCHTUNE_ATTEMPT") == "1":
    sys.exit(3)
if mode == "silent":
    sys.exit(0)
if mode == "noisy":
    line = "x" * 1000 + "\n"
    for _ in range(3000):
        sys.stdout.write(line)
if mode == "hang":
    print(json.dumps({"epoch": 1, "val_loss": 1.0}), flush=True)
    time.sleep(600)
for e in range(1, epochs + 1):
    if delay:
        time.sleep(delay)
    loss = float("nan") if mode == "nan" and e >= 2 else lr * 10.0 / e
    print(json.dumps({"epoch": e, "val_loss": loss, "train": {"loss": loss * 2}}), flush=True)
    if mode == "crash" and e == 2:
        sys.stderr.write("Traceback (most recent call last):\nRuntimeError: boom at epoch 2\n")
        sys.exit(7)
