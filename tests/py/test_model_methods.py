"""method bayes and tpe through the executor: each trial is proposed when it starts, from the
reports before it. The proposals are a pure function of the sweep, its seed and the ordered
reports, so: two runs agree exactly; a run killed at arbitrary moments and resumed agrees with an
uninterrupted one (with a scheduler too, where the model learns from rungs); the pack size never
changes a result; the results list the proposed configurations and `export` retrains any trial of
them; the first trials are the seeded random draws random search makes."""
import os

from btutil import BIN, Checker, SRC, kill_at_progress, results_tables, run, sweep_file, workdir, write_sweep, need

need("h5py", "numpy")
import h5py
import numpy as np

c = Checker("test_model_methods")
d = workdir("model_methods")
data = os.path.join(SRC, "sweeps", "examples")


def sweep(method, sched=None, max_pack=64, run_cap=20):
    s = sweep_file("breast-cancer-asha.json")
    s["method"] = method
    s["run_cap"] = run_cap
    del s["scheduler"]
    s["model"]["num_round"] = 30
    if sched:
        s["scheduler"] = sched
        del s["model"]["num_round"]
    s["execution"] = {"max_pack": max_pack}
    return s


def write(name, s):
    return write_sweep(os.path.join(d, name + ".json"), s, data)


for method in ("bayes", "tpe"):
    a = write(method, sweep(method))
    ra, rb = os.path.join(d, method + "-a.h5"), os.path.join(d, method + "-b.h5")
    run("run", a, "--out", ra, "--fresh", "--quiet", check=0)
    run("run", a, "--out", rb, "--fresh", "--quiet", check=0)
    ta, ha, _ = results_tables(ra)
    tb, hb, _ = results_tables(rb)
    c.check(len(ta) == 20, f"{method}: 20 trials listed, got {len(ta)}")
    c.check(np.array_equal(ta, tb) and np.array_equal(ha, hb), f"{method}: two runs identical")
    with h5py.File(ra) as f:
        eta = f["trials"]["eta"][:]
    c.check(len(set(np.round(eta, 12))) == 20, f"{method}: 20 distinct proposals")
    c.check(np.all((eta >= 0.01) & (eta <= 0.5)), f"{method}: proposals inside the space")

    # the initial design is random search's: the first trials equal a random sweep's
    r = write(method + "-random", dict(sweep("random"), run_cap=20))
    rr = os.path.join(d, method + "-random.h5")
    run("run", r, "--out", rr, "--fresh", "--quiet", check=0)
    trand, _, _ = results_tables(rr)
    c.check(np.array_equal(ta["eta"][:4], trand["eta"][:4]), f"{method}: initial design = random draws")
    c.check(not np.array_equal(ta["eta"], trand["eta"]), f"{method}: later trials come from the model")

    # packing never changes a proposal (concurrency, not max_pack, sets the batch)
    p1 = write(method + "-p1", sweep(method, max_pack=1))
    r1 = os.path.join(d, method + "-p1.h5")
    run("run", p1, "--out", r1, "--fresh", "--quiet", check=0)
    t1, h1, _ = results_tables(r1)
    c.check(np.array_equal(t1, ta) and np.array_equal(h1, ha), f"{method}: max_pack 1 == max_pack 64")

    # a different concurrency is a different (but still deterministic) sweep
    s8 = sweep(method)
    s8["execution"]["concurrency"] = 8
    p8 = write(method + "-c8", s8)
    r8 = os.path.join(d, method + "-c8.h5")
    run("run", p8, "--out", r8, "--fresh", "--quiet", check=0)
    t8, _, _ = results_tables(r8)
    c.check(np.array_equal(t8["eta"][:4], ta["eta"][:4]), f"{method}: concurrency 8 shares the initial design")

    # export retrains a non-best trial from the configuration the results recorded
    with h5py.File(ra) as f:
        best = int(f["best"].attrs["trial_id"])
    other = (best + 7) % 20
    m = os.path.join(d, f"{method}-model{other}.json")
    rc = run("export", ra, "--trial", other, "-o", m).returncode
    c.check(rc == 0 and os.path.getsize(m) > 100, f"{method}: export of trial {other} (exit {rc})")

# kill and resume, with ASHA (the model learns from the highest rung with enough reports)
for method in ("bayes", "tpe"):
    s = sweep(method, sched={"type": "asha", "min_resource": 3, "max_resource": 27, "eta": 3}, run_cap=30)
    p = write(method + "-asha", s)
    ref = os.path.join(d, method + "-asha-ref.h5")
    run("run", p, "--out", ref, "--fresh", "--quiet", check=0)
    ref_t, ref_h, ref_r = results_tables(ref)
    c.check(len(ref_t) == 30 and set(ref_t["status"]) <= {b"completed", b"pruned"}, f"{method}+asha: 30 trials")
    c.check(b"pruned" in set(ref_t["status"]), f"{method}+asha: ASHA pruned some")
    out = os.path.join(d, method + "-asha-killed.h5")
    kills = kill_at_progress(p, out, ref + ".journal", attempts=4, seed=99)
    rc = run("run", p, "--out", out, "--quiet").returncode
    c.check(rc == 0, f"{method}+asha: final run exit {rc}")
    c.check(kills >= 1, f"{method}+asha: killed {kills} times")
    t, h, r = results_tables(out)
    c.check(np.array_equal(t, ref_t) and np.array_equal(h, ref_h) and np.array_equal(r, ref_r),
            f"{method}+asha: identical after {kills} kills")

# bayes with Hyperband: the brackets' rungs feed the model (BOHB's rule); deterministic
s = sweep("bayes", sched={"type": "hyperband", "min_resource": 1, "max_resource": 9, "eta": 3}, run_cap=0)
del s["run_cap"]
p = write("bayes-hb", s)
o1, o2 = os.path.join(d, "bayes-hb-1.h5"), os.path.join(d, "bayes-hb-2.h5")
run("run", p, "--out", o1, "--fresh", "--quiet", check=0)
run("run", p, "--out", o2, "--fresh", "--quiet", check=0)
t1, h1, r1 = results_tables(o1)
t2, h2, r2 = results_tables(o2)
c.check(len(t1) > 10 and b"pruned" in set(t1["status"]), f"bayes+hyperband: {len(t1)} trials")
c.check(np.array_equal(t1, t2) and np.array_equal(h1, h2) and np.array_equal(r1, r2), "bayes+hyperband: identical")
c.check(len(set(t1["bracket"])) > 1, "bayes+hyperband: several brackets")

# validate shows the method and how trials are proposed
out = run("validate", write("bayes-v", sweep("bayes")), check=0).stdout
c.check("bayes" in out and "proposed" in out, out)

c.finish()
