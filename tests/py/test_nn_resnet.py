"""The resnet family end to end on scikit-learn's digits read as 1x8x8 images: a small sweep
learns (validation accuracy), and a trial's whole history is the same to the bit whether it
trains in a pack with the others or alone (execution.max_pack 1) and on 1 or 2 threads; the
example sweeps validate; a bad input shape is a clear error."""
import os

from btutil import Checker, SRC, results_tables, run, sweep_file, workdir, write_sweep, need

need("h5py", "numpy")
import h5py
import numpy as np

c = Checker("test_nn_resnet")
d = workdir("nn_resnet")
base = sweep_file("resnet-digits.json")
base["parameters"] = {"lr": {"values": [0.05, 0.2]}, "optimizer": {"values": ["nesterov", "adam"]}}
base["model"] = {k: v for k, v in base["model"].items() if k != "optimizer"}
base["model"].update({"width": 4, "epochs": 3, "batch_size": 32})


def sweep_run(name, **execution):
    s = dict(base, execution=execution) if execution else base
    path = write_sweep(os.path.join(d, name + ".json"), s, os.path.join(SRC, "sweeps", "examples"))
    out = os.path.join(d, name + ".h5")
    run("run", path, "--out", out, "--fresh", "--quiet", check=0, timeout=600)
    return out


packed = sweep_run("packed", threads=2)
t, h, r = results_tables(packed)
c.check(len(t) == 4 and (t["status"] == b"completed").all(), t["status"])
with h5py.File(packed) as f:
    hist = f["history"][:]
acc = hist[(hist["metric"] == b"accuracy") & (hist["resource"] == 3)]["value"]
c.check(len(acc) == 4 and acc.max() > 0.9, f"best accuracy after 3 epochs of width 4: {acc}")
alone = sweep_run("alone", threads=1, max_pack=1)
t1, h1, r1 = results_tables(alone)
c.check(np.array_equal(t, t1), "trials identical packed on 2 threads and alone on 1")
c.check(np.array_equal(h, h1), "history identical packed on 2 threads and alone on 1")

for name in ("resnet-digits.json", "resnet-fashion-asha.json"):
    p = run("validate", os.path.join(SRC, "sweeps", "examples", name))
    c.check(p.returncode == 0 and "resnet" in p.stdout, f"validate {name}: {p.returncode} {p.stderr}")

bad = dict(base, model=dict(base["model"], input_shape="3x8x8"))
path = write_sweep(os.path.join(d, "bad.json"), bad, os.path.join(SRC, "sweeps", "examples"))
p = run("run", path, "--out", os.path.join(d, "bad.h5"), "--fresh", "--quiet")
c.check(p.returncode == 65 and "input_shape" in p.stderr, f"{p.returncode}: {p.stderr}")
c.finish()
