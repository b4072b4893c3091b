"""An mlp ASHA sweep killed (SIGKILL) at progress points and re-run ends with exactly the results
of an uninterrupted run: in-flight trials are retrained from their keys to where they were, so
every history value and rung decision matches to the bit."""
import os
import subprocess
import time

from btutil import BIN, results_tables, kill_at_progress, Checker, SRC, run, workdir, write_sweep, need

need("h5py", "numpy")
import h5py
import numpy as np

c = Checker("test_nn_resume")
d = workdir("nn_resume")
sweep = write_sweep(os.path.join(d, "asha.json"), {
    "method": "random",
    "run_cap": 16,
    "metric": {"name": "accuracy", "goal": "maximize"},
    "parameters": {
        "lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 3e-2},
        "optimizer": {"values": ["adam", "sgd", "rmsprop"]},
        "dropout": {"values": [0.0, 0.3]},
    },
    "scheduler": {"type": "asha", "min_resource": 1, "max_resource": 9, "eta": 3, "concurrency": 6},
    "model": {"type": "mlp", "width": 24, "depth": 1, "batch_size": 64, "t_max": 9, "lr_schedule": "cosine"},
    "dataset": {"path": "data/digits.csv.gz", "target": "target", "valid_fraction": 0.2, "split_seed": 3},
    "seed": 11,
}, os.path.join(SRC, "sweeps", "examples"))


table = results_tables


ref = os.path.join(d, "ref.h5")
run("run", sweep, "--out", ref, "--fresh", "--quiet", check=0)
ref_t, ref_h, ref_r = table(ref)
c.check(len(ref_t) == 16 and (ref_t["status"] == b"pruned").sum() > 0, ref_t["status"])
ref_lines = sum(1 for _ in open(ref + ".journal"))

out = os.path.join(d, "killed.h5")
kills = kill_at_progress(sweep, out, ref + ".journal", attempts=3, seed=99, lo=0.2, hi=0.8)
rc = run("run", sweep, "--out", out, "--quiet", timeout=300).returncode
c.check(rc == 0, f"final run exit {rc}")
print(f"killed {kills} times of {ref_lines} journal lines")
c.check(kills >= 1, f"killed {kills} times")
t, h, r = table(out)
c.check(t.dtype == ref_t.dtype and np.array_equal(t, ref_t), "trials identical after kills")
c.check(np.array_equal(h, ref_h), "history identical after kills")
c.check(np.array_equal(r, ref_r), "rung decisions identical after kills")
c.finish()
