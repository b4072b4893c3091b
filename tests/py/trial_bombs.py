"""The sweeps of a few hundred bytes that ask for 10^7 or 10^8 trials (issue 15, item 4): shared
by tests/py/test_cli_trial_bomb.py and bench/trial_memory.py."""
import os


def gbdt(**kw):
    """A random gbdt sweep on a tiny synthetic set (each trial takes well under a millisecond)."""
    s = {"method": "random", "metric": {"name": "validation/rmse", "goal": "minimize"},
         "parameters": {"eta": {"distribution": "log_uniform_values", "min": 0.01, "max": 0.5},
                        "max_depth": {"values": [2, 3, 4]}},
         "model": {"type": "gbdt", "objective": "reg:squarederror", "num_round": 9},
         "dataset": {"synthetic": "friedman1", "rows": 100, "features": 5}}
    s.update(kw)
    return s


def grid_1e7():
    """7 parameters of 10 values: a grid of 10^7 points."""
    s = gbdt(method="grid")
    s["parameters"] = {
        "max_depth": {"values": list(range(1, 11))},
        "max_bin": {"values": list(range(16, 26))},
        "eta": {"values": [0.05 * (i + 1) for i in range(10)]},
        "subsample": {"values": [0.55 + 0.05 * i for i in range(10)]},
        "gamma": {"values": list(range(10))},
        "reg_lambda": {"values": list(range(1, 11))},
        "min_child_weight": {"values": list(range(1, 11))}}
    return s


def swept_budget(run_cap):
    """num_round swept without a scheduler: budget-prefix groups up to 2^20 trials."""
    s = gbdt(run_cap=run_cap)
    s["parameters"] = dict(s["parameters"], num_round={"values": [3, 6, 9]})
    s["model"] = {k: v for k, v in s["model"].items() if k != "num_round"}
    return s


def program(folder, run_cap=100_000_000):
    """A program sweep whose program (train.sh, written into folder) reports one line at once."""
    prog = os.path.join(folder, "train.sh")
    with open(prog, "w") as f:
        f.write("#!/bin/sh\necho '{\"loss\": 1}'\n")
    os.chmod(prog, 0o755)
    return {"program": "train.sh", "command": ["${program}", "${args}"], "method": "random",
            "run_cap": run_cap, "metric": {"name": "loss", "goal": "minimize"},
            "parameters": {"x": {"distribution": "uniform", "min": 0, "max": 1}}}
