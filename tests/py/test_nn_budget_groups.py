"""Budget-prefix groups for nn trials: trials that differ only in `epochs` share one run when the
learning-rate schedule does not depend on the budget (constant, or cosine with t_max), and do not
when it does (cosine over `epochs`): each such trial must score exactly what it scores alone."""
import json
import os

from btutil import Checker, SRC, run, workdir, write_sweep

c = Checker("test_nn_budget_groups")
d = workdir("nn_budget_groups")


def sweep(name, epochs, model):
    return write_sweep(os.path.join(d, name), {
        "method": "grid",
        "metric": {"name": "accuracy", "goal": "maximize"},
        "parameters": {"epochs": {"values": epochs}},
        "model": {"type": "mlp", "width": 16, "depth": 1, "batch_size": 64, "lr": 0.05,
                  "optimizer": "sgd", "momentum": 0.9, **model},
        "dataset": {"path": "data/digits.csv.gz", "target": "target", "valid_fraction": 0.2,
                    "split_seed": 3},
        "seed": 5,
    }, os.path.join(SRC, "sweeps", "examples"))


def scores(path):
    out = os.path.join(d, os.path.basename(path) + ".h5")
    run("run", path, "--out", out, "--fresh", "--quiet", check=0)
    p = run("report", out, "--format", "json", check=0)
    return {r["epochs"]: r["accuracy"] for r in json.loads(p.stdout)}


# Trial 1 (6 epochs) must not depend on trial 0's budget (2 or 3 epochs). Shared runs belong to
# the group's leader (trial 0, whose key they use), so where sharing is sound trial 1 is trial 0's
# run at 6 epochs either way; with cosine over `epochs` a shared run would follow the leader's
# horizon (2 or 3) and trial 1 would differ between the two sweeps.
for name, model, runs in (("cos", {"lr_schedule": "cosine"}, 2),
                          ("tmax", {"lr_schedule": "cosine", "t_max": 6}, 1),
                          ("const", {}, 1)):
    a = sweep(name + "_2.json", [2, 6], model)
    b = sweep(name + "_3.json", [3, 6], model)
    plan = run("validate", a, check=0).stdout
    c.check(f"({runs} training run" in plan, f"{name}: {runs} training run(s) planned: {plan}")
    sa, sb = scores(a), scores(b)
    c.check(sa[6] == sb[6], f"{name}: the 6-epoch trial scores {sa[6]!r} beside a 2-epoch trial, "
            f"{sb[6]!r} beside a 3-epoch one")
c.finish()
