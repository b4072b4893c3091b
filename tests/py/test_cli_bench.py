"""`batchtune bench` through the CLI: on a slice of the Boston grid the JSON is complete and
consistent (rates match counts over seconds, packed and sequential metrics are bit-identical, no
results file is written), --out-json writes the same object, the table says "metrics identical:
yes", a random-search sweep on fresh random data benches too, and bad arguments exit 2, a missing
sweep 66."""
import json
import os
import random

from btutil import Checker, SRC, run, sweep_file, workdir, write_sweep

c = Checker("test_cli_bench")
d = workdir("cli_bench")
data = os.path.join(SRC, "sweeps", "examples")
sweep = write_sweep(os.path.join(d, "boston.json"), sweep_file("boston-grid.json"), data)


def close(a, b, rel=1e-9):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300)


def check_mode(m, r, name):
    c.check(m["train_seconds"] > 0, f"{name}: train_seconds {m['train_seconds']}")
    for k in ("trials_per_s", "runs_per_s", "trial_rounds_per_s", "row_rounds_per_s"):
        c.check(m[k] > 0, f"{name}.{k} = {m[k]}")
    s = m["train_seconds"]
    c.check(close(m["trials_per_s"], r["trials"] / s), f"{name}: trials/s = trials / seconds")
    c.check(close(m["trial_rounds_per_s"], r["trial_rounds"] / s), f"{name}: trial-rounds/s")
    c.check(close(m["row_rounds_per_s"], r["trial_rounds"] * r["rows"] / s), f"{name}: rows x rounds/s")
    c.check(m["peak_rss_bytes"] > 1 << 20, f"{name}: peak RSS {m['peak_rss_bytes']}")
    c.check(m["peak_device_memory_bytes"] is None and m["sm_utilization"] is None,
            f"{name}: no GPU fields on a CPU run: {m}")
    c.check(m["failed_runs"] == 0, f"{name}: failed runs {m['failed_runs']}")


# --- the brief's case: 8 trials, 10 rounds, compared with sequential, as JSON -----------------
os.chdir(d)
for f in os.listdir(d):  # an earlier run's outputs would hide what this one writes
    if f.endswith((".h5", ".journal")) or f == "bench.json":
        os.remove(os.path.join(d, f))
before = set(os.listdir(d))
p = run("bench", sweep, "--trials", 8, "--rounds", 10, "--compare", "sequential", "--json",
        "--out-json", os.path.join(d, "bench.json"), check=0, timeout=120)
r = json.loads(p.stdout)
c.check(r["trials"] == 8 and r["rounds"] == 10, f"trials {r['trials']} rounds {r['rounds']}")
# grid order is last-parameter-fastest with num_round second to last: trials 0..8 cover
# 3 distinct (eta, max_depth, reg_lambda) runs; with --rounds every run trains 10 rounds
c.check(r["runs"] == 3, f"runs {r['runs']}")
c.check(r["trial_rounds"] == r["runs"] * 10, f"trial_rounds {r['trial_rounds']}")
c.check(r["rows"] == 405 and r["valid_rows"] == 101 and r["features"] == 13,
        f"rows {r['rows']} valid {r['valid_rows']} features {r['features']}")
c.check(r["model"] == "gbdt" and r["metric"] == "mse", f"{r['model']} {r['metric']}")
c.check(r["threads"] >= 1 and r["device"]["cores"] >= 1 and r["device"]["cpu"], r["device"])
c.check(r["setup_seconds"] > 0, f"setup {r['setup_seconds']}")
check_mode(r["packed"], r, "packed")
check_mode(r["sequential"], r, "sequential")
c.check(r["packed"]["pack"] >= 2 and r["sequential"]["pack"] == 1,
        f"packs {r['packed']['pack']} {r['sequential']['pack']}")
c.check(r["speedup"] > 0 and close(r["speedup"], r["sequential"]["train_seconds"] / r["packed"]["train_seconds"]),
        f"speedup {r['speedup']}")
c.check(r["metrics_identical"] is True and r["first_mismatch"] is None, "metrics identical")
with open(os.path.join(d, "bench.json")) as f:
    c.check(json.load(f) == r, "--out-json writes the object --json prints")
after = set(os.listdir(d))
c.check(after - before == {"bench.json"}, f"bench writes no results or journal: {after - before}")

# --- the table, --pack and the default budget ---------------------------------------------------
p = run("bench", sweep, "--trials", 12, "--pack", 2, "--compare", "sequential", check=0, timeout=120)
c.check("metrics identical: yes" in p.stdout, p.stdout)
c.check("speedup" in p.stdout and "trials/s" in p.stdout and "rows x rounds/s" in p.stdout, p.stdout)
p = run("bench", sweep, "--trials", 12, "--pack", 2, "--json", check=0, timeout=120)
r = json.loads(p.stdout)
# without --rounds each run trains to its furthest trial's own num_round (20, 30, 40, 50 -> 50)
c.check(r["rounds"] is None and r["runs"] == 3 and r["trial_rounds"] == 3 * 50, r)
c.check(r["packed"]["pack"] == 2 and r["sequential"] is None and r["metrics_identical"] is None, r)

# --- fresh random data, a random search with a shape parameter (several packs) -----------------
rng = random.Random()
seed = rng.randrange(1 << 30)
rows = [[rng.gauss(0, 1) for _ in range(5)] for _ in range(300)]
with open(os.path.join(d, "rand.csv"), "w") as f:
    f.write("a,b,c,d,e,y\n")
    for x in rows:
        y = x[0] - 2 * x[1] * x[2] + 0.1 * rng.gauss(0, 1)
        f.write(",".join(f"{v:.6g}" for v in x + [y]) + "\n")
rs = {
    "method": "random", "run_cap": 10, "seed": seed,
    "metric": {"name": "rmse", "goal": "minimize"},
    "parameters": {"eta": {"min": 0.05, "max": 0.5}, "max_depth": {"values": [2, 4, 6]},
                   "max_bin": {"values": [16, 64]}, "subsample": {"min": 0.5, "max": 1.0}},
    "model": {"type": "gbdt", "objective": "reg:squarederror", "num_round": 15},
    "dataset": {"path": os.path.join(d, "rand.csv"), "target": "y", "valid_fraction": 0.25},
}
rsp = write_sweep(os.path.join(d, "rand.json"), rs)
p = run("bench", rsp, "--compare", "sequential", "--pack", 4, "--json", check=0, timeout=120)
r = json.loads(p.stdout)
c.check(r["trials"] == 10 and r["runs"] == 10 and r["trial_rounds"] == 150, f"seed {seed}: {r}")
c.check(r["packs"] >= 1 and r["metrics_identical"] is True, f"seed {seed}: packs {r['packs']}")

# --- errors ----------------------------------------------------------------------------------------
for args in (["bench"], ["bench", sweep, "--rounds", 0], ["bench", sweep, "--rounds", "x"],
             ["bench", sweep, "--trials", -3], ["bench", sweep, "--compare", "parallel"],
             ["bench", sweep, "--frobnicate"], ["bench", sweep, sweep], ["bench", sweep, "--pack"]):
    p = run(*args)
    c.check(p.returncode == 2, f"{args} -> {p.returncode}: {p.stderr}")
p = run("bench", os.path.join(d, "no-such-sweep.json"))
c.check(p.returncode == 66, f"missing sweep -> {p.returncode}: {p.stderr}")
p = run("bench", "--help", check=0)
c.check("--compare sequential" in p.stdout, p.stdout)
c.finish()
