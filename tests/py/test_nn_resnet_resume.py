"""A resnet ASHA sweep killed (SIGKILL) at progress points and run again ends with exactly the
results of an uninterrupted run (trials, every history value, rung decisions): augmentation,
shuffles and initialization are keyed by (seed, trial, epoch), so retrained trials land on the
same bits."""
import os

from btutil import Checker, SRC, kill_at_progress, results_tables, run, workdir, write_sweep, need

need("h5py", "numpy")
import numpy as np

c = Checker("test_nn_resnet_resume")
d = workdir("nn_resnet_resume")
sweep = write_sweep(os.path.join(d, "asha.json"), {
    "method": "random",
    "run_cap": 6,
    "metric": {"name": "accuracy", "goal": "maximize"},
    "parameters": {"lr": {"distribution": "log_uniform_values", "min": 1e-3, "max": 0.3},
                   "optimizer": {"values": ["nesterov", "adam"]}, "hflip": {"values": [True, False]}},
    "scheduler": {"type": "asha", "min_resource": 1, "max_resource": 3, "eta": 3, "concurrency": 3},
    "model": {"type": "resnet", "depth": 8, "width": 4, "batch_size": 128, "crop_padding": 1,
              "t_max": 3, "lr_schedule": "cosine", "input_shape": "8x8"},
    "dataset": {"path": "data/digits.csv.gz", "target": "target", "valid_fraction": 0.5, "split_seed": 3},
    "seed": 5,
}, os.path.join(SRC, "sweeps", "examples"))

ref = os.path.join(d, "ref.h5")
run("run", sweep, "--out", ref, "--fresh", "--quiet", check=0, timeout=600)
ref_t, ref_h, ref_r = results_tables(ref)
c.check(len(ref_t) == 6 and (ref_t["status"] == b"pruned").sum() > 0, ref_t["status"])
out = os.path.join(d, "killed.h5")
kills = kill_at_progress(sweep, out, ref + ".journal", attempts=2, seed=7, lo=0.2, hi=0.8)
c.check(run("run", sweep, "--out", out, "--quiet", timeout=600).returncode == 0, "final run")
c.check(kills >= 1, f"killed {kills} times")
t, h, r = results_tables(out)
c.check(t.dtype == ref_t.dtype and np.array_equal(t, ref_t), "trials identical after kills")
c.check(np.array_equal(h, ref_h), "history identical after kills")
c.check(np.array_equal(r, ref_r), "rung decisions identical after kills")
c.finish()
