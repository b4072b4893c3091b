"""Resume: a sweep killed with SIGKILL at arbitrary moments, then re-run (again and again), ends
with exactly the results of an uninterrupted run; SIGTERM stops cleanly with exit 75 and the
re-run completes it; a second signal exits at once leaving the last good file readable."""
import os
import signal
import subprocess
import time

from btutil import BIN, results_tables, Checker, SRC, kill_at_progress, run, sweep_file, wait_journal, workdir, write_sweep, need

need("h5py", "numpy")
import h5py
import numpy as np

c = Checker("test_resume")
d = workdir("resume")
data = os.path.join(SRC, "sweeps", "examples")
s = sweep_file("breast-cancer-asha.json")
s["run_cap"] = 60
s["execution"] = {"max_pack": 16}
sweep = write_sweep(os.path.join(d, "asha.json"), s, data)


table = results_tables


ref = os.path.join(d, "ref.h5")
t0 = time.time()
run("run", sweep, "--out", ref, "--fresh", "--quiet", check=0)
full = time.time() - t0
ref_t, ref_h, ref_r = table(ref)
c.check(len(ref_t) == 60, "60 trials")
c.check(set(ref_t["status"]) <= {b"completed", b"pruned"}, set(ref_t["status"]))

out = os.path.join(d, "killed.h5")
kills = kill_at_progress(sweep, out, ref + ".journal", attempts=6, seed=1234)
rc = run("run", sweep, "--out", out, "--quiet", timeout=300).returncode
c.check(rc == 0, f"final run exit {rc}")
print(f"killed {kills} times")
c.check(kills >= 2, f"killed {kills} times")
t, h, r = table(out)
c.check(t.dtype == ref_t.dtype and np.array_equal(t, ref_t), "trials identical after kills")
c.check(np.array_equal(h, ref_h), "history identical after kills")
c.check(np.array_equal(r, ref_r), "rung decisions identical after kills")

# SIGTERM: clean stop with 75, then resume to the same result
out2 = os.path.join(d, "term.h5")
for stale in (out2, out2 + ".journal"):  # an earlier test run's journal would look like progress
    if os.path.exists(stale):
        os.remove(stale)
p = subprocess.Popen([BIN, "run", sweep, "--out", out2, "--fresh", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
# by progress, not wall time (the sweep takes ~0.1 s; a fixed sleep could land before the handler
# is installed): once the journal holds a third of the reference's lines
ref_lines = sum(1 for _ in open(ref + ".journal"))
wait_journal(p, out2 + ".journal", ref_lines // 3)
p.send_signal(signal.SIGTERM)
rc = p.wait(timeout=120)
if rc == 0:
    print("note: the sweep finished before SIGTERM arrived")
else:
    c.check(rc == 75, f"SIGTERM exit {rc}")
    with h5py.File(out2) as f:
        # the trials started so far, in id order (the rest are not planned yet: sweeps/plan.h)
        ids = f["trials"]["trial_id"][:]
        c.check(0 < len(ids) <= 60 and list(ids) == list(range(len(ids))),
                f"results written at the stop: trials {list(ids)[:5]}... of 60")
run("run", sweep, "--out", out2, "--quiet", check=0)
t2, h2, r2 = table(out2)
c.check(np.array_equal(t2, ref_t) and np.array_equal(h2, ref_h), "SIGTERM + resume identical")

# max_pack changes packing, never results (scheduler none and sha are pack-independent)
g = sweep_file("boston-grid.json")
g["parameters"]["max_depth"]["values"] = [3, 6]
g["execution"] = {"max_pack": 1}
a = write_sweep(os.path.join(d, "g1.json"), g, data)
g["execution"] = {"max_pack": 500}
b = write_sweep(os.path.join(d, "g500.json"), g, data)
run("run", a, "--out", os.path.join(d, "g1.h5"), "--fresh", "--quiet", check=0)
run("run", b, "--out", os.path.join(d, "g500.h5"), "--fresh", "--quiet", check=0)
t1, h1, _ = table(os.path.join(d, "g1.h5"))
t2, h2, _ = table(os.path.join(d, "g500.h5"))
c.check(np.array_equal(t1["metric"], t2["metric"]), "pack of 1 vs pack of 500: identical metrics")
c.check(np.array_equal(h1, h2), "pack of 1 vs pack of 500: identical history (every metric)")
c.finish()
